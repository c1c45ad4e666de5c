//! The rehearsed polling place on this machine, provisioned as an election's is: each
//! table and central makes its own key in its own folder, the office enrols the public
//! halves and signs the package (`provision::make`), each table loads it
//! (`provision::load`, test mode) and runs from the `table.toml` that wrote, a real
//! `valgbord table --config` process with its screen on a loopback port, which the
//! faults kill -9 and start again. In a network namespace of the rehearsal's own
//! ([`super::net`]) each table also serves sync over TLS on an address of its own.

use crate::election::contest::Contest;
use crate::election::keys::{DevicePublic, DeviceSecret};
use crate::provision::load::{Network, StatePaths, load_package, own_key, peers_but};
use crate::provision::make::{OnePlace, one_place};
use crate::provision::package::{CentralEntry, ElectionInfo};
use crate::store::Store;
use crate::store::binding::Mode;
use crate::store::generate;
use crate::table::config::TableConfig;
use anyhow::anyhow;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const ELECTION: &str = "generalproeve";

/// One table's files and process.
pub struct TableProc {
    pub no: u32,
    pub port: u16,
    pub db: PathBuf,
    pub config: PathBuf,
    pub device: String,
    /// Where the other tables reach it for sync, as their configurations name it (and
    /// their status bars report it).
    pub peer_url: String,
    /// Its TLS sync listener, in a namespace of the rehearsal's own.
    pub sync_addr: Option<std::net::SocketAddr>,
    log: PathBuf,
    child: Option<Child>,
    /// The configuration `election load` wrote, as loaded, with the rehearsal's own
    /// settings; written again with the clock offset at each start.
    loaded: TableConfig,
    /// The comment lines `election load` wrote at the top, kept on every rewrite.
    header: String,
}

impl TableProc {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Writes the configuration with this clock offset (test mode only, as in a
    /// rehearsal) and starts the daemon; returns once it listens.
    pub fn start(&mut self, clock_offset_ms: i64) -> anyhow::Result<()> {
        let cfg = TableConfig {
            clock_offset_ms,
            ..self.loaded.clone()
        };
        let body = toml::to_string_pretty(&cfg)
            .map_err(|e| anyhow!("configuration of table {}: {e}", self.no))?;
        std::fs::write(
            &self.config,
            format!(
                "{}# Started by `valgbord simulate` (test mode): scans over the API, no debounce, the clock {clock_offset_ms} ms off.\n{body}",
                self.header
            ),
        )
        .map_err(|e| anyhow!("{}: {e}", self.config.display()))?;
        self.child = Some(spawn_daemon(
            "table",
            &self.config,
            &self.log,
            &format!("table {}", self.no),
        )?);
        Ok(())
    }

    /// SIGKILL: no shutdown code runs, as in a power cut.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for TableProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `valgbord ROLE --config CONFIG` with its log appended to `log`, and returns
/// once it prints the line saying where it listens (within 60 s).
pub(crate) fn spawn_daemon(
    role: &str,
    config: &Path,
    log: &Path,
    who: &str,
) -> anyhow::Result<Child> {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| anyhow!("{}: {e}", log.display()))?;
    let mut child = crate::own_binary::command()?
        .arg(role)
        .arg("--config")
        .arg(config)
        .env("VALGBORD_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .map_err(|e| anyhow!("cannot start {who}: {e}"))?;
    let stdout = child.stdout.take();
    let ready = format!("valgbord {role} listening on ");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Some(out) = stdout else { return };
        let mut told = false;
        // Read to the end so the daemon never blocks on a full pipe.
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if !told && line.starts_with(&ready) {
                told = true;
                let _ = tx.send(());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => Ok(child),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(anyhow!(
                "{who} did not start within 60 s; see {}",
                log.display()
            ))
        }
    }
}

/// One of the election office's two central tallies (`valgbord central`): every table
/// pushes to both, each pulls from one table and from the other central, as over the
/// WAN on the day (an office that cannot lose its tally runs two, in two places).
pub struct CentralProc {
    /// "centralen" or "reservecentralen", for the report and the errors.
    pub name: &'static str,
    /// The office screen (plain HTTP: test mode).
    pub port: u16,
    /// Sync over mutual TLS (`sync_listen`): where the tables push and the other central
    /// pulls.
    pub sync_port: u16,
    pub db: PathBuf,
    pub config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    /// Frozen by SIGSTOP: the WAN to the office is a black hole (connections are
    /// accepted by the kernel and never answered), the worst kind of "unreachable".
    stopped: bool,
}

/// The rehearsal's login at the central's office screen.
pub const OFFICE_USER: (&str, &str) = ("valgkontor", "generalproeve");

impl CentralProc {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn start(&mut self) -> anyhow::Result<()> {
        self.child = Some(spawn_daemon("central", &self.config, &self.log, self.name)?);
        self.stopped = false;
        Ok(())
    }

    fn signal(&mut self, sig: rustix::process::Signal) -> anyhow::Result<()> {
        let Some(c) = &self.child else {
            return Err(anyhow!("{} is not running", self.name));
        };
        let pid = i32::try_from(c.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .ok_or_else(|| anyhow!("{} has no process id", self.name))?;
        rustix::process::kill_process(pid, sig)
            .map_err(|e| anyhow!("signal {sig:?} to {}: {e}", self.name))
    }

    /// The WAN to the office goes dead: the process is frozen (SIGSTOP).
    pub fn freeze(&mut self) -> anyhow::Result<()> {
        self.signal(rustix::process::Signal::STOP)?;
        self.stopped = true;
        Ok(())
    }

    /// The WAN is back (SIGCONT).
    pub fn thaw(&mut self) -> anyhow::Result<()> {
        self.signal(rustix::process::Signal::CONT)?;
        self.stopped = false;
        Ok(())
    }

    pub fn kill(&mut self) {
        if self.stopped {
            let _ = self.thaw();
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for CentralProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A small filesystem of its own for one table's database, so its disk can be filled.
/// Unmounted when dropped.
pub struct SmallDisk {
    pub dir: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `bytes` at `dir` (needs root).
    pub fn mount(dir: &Path, bytes: u64) -> anyhow::Result<SmallDisk> {
        std::fs::create_dir_all(dir).map_err(|e| anyhow!("{}: {e}", dir.display()))?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={}k,mode=0700", bytes.div_ceil(1024)))
            .arg("valgbord-rehearsal")
            .arg(dir)
            .output()
            .map_err(|e| anyhow!("mount: {e}"))?;
        if !out.status.success() {
            return Err(anyhow!(
                "mount -t tmpfs failed (it needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(SmallDisk {
            dir: dir.to_path_buf(),
        })
    }

    fn filler(&self) -> PathBuf {
        self.dir.join("fyld")
    }

    /// Writes a file until the disk is full; returns the bytes written. First the
    /// database's write-ahead log is checkpointed and truncated (as SQLite does when a
    /// size limit is set), so the table's next writes need new disk blocks at once
    /// rather than reusing the log's old space for a while.
    pub fn fill(&self, db: &Path) -> anyhow::Result<u64> {
        use std::io::Write;
        {
            let store = Store::open(db)?;
            store
                .checkpoint_truncate()
                .map_err(|e| anyhow!("checkpoint of {}: {e}", db.display()))?;
        }
        let mut f = std::fs::File::create(self.filler())?;
        let block = vec![0u8; 1 << 20];
        let mut written = 0u64;
        // Bounded: a tmpfs has a size; stop at 64 GiB whatever happens.
        for _ in 0..65_536 {
            match f.write(&block) {
                Ok(0) | Err(_) => break,
                Ok(n) => written += n as u64,
            }
        }
        let _ = f.sync_all();
        Ok(written)
    }

    pub fn free(&self) {
        let _ = std::fs::remove_file(self.filler());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// The rehearsed polling place, provisioned: the tables (each loaded from the signed
/// package into its own folder), the two centrals, the small disk.
pub struct Setup {
    pub tables: Vec<TableProc>,
    /// The office's central and its reserve (see [`CentralProc`]).
    pub centrals: Vec<CentralProc>,
    pub disk: Option<(usize, SmallDisk)>,
    /// Why the small disk could not be made, when it was wanted.
    pub disk_problem: Option<String>,
}

pub fn prepare(
    dir: &Path,
    list: &[u8],
    tables: u32,
    place: &str,
    pin_hash: &str,
    disk_table: Option<usize>,
    tls: bool,
) -> anyhow::Result<Setup> {
    // The centrals start from the list imported once; each table imports it itself
    // when it loads the package.
    let master = master_list(dir, list)?;
    let db_bytes = std::fs::metadata(&master).map(|m| m.len()).unwrap_or(0);
    // Four ports more, for the centrals: their office screens, then their sync ports.
    let mut ports = crate::ports::ports(0, tables + 4)?;
    let mut central_ports = ports.split_off(tables as usize);
    let central_sync_ports = central_ports.split_off(2);
    let central_keys = CENTRALS
        .iter()
        .map(|(file, _)| Ok(own_key(&dir.join(file))?.public()))
        .collect::<anyhow::Result<Vec<DevicePublic>>>()?;
    // The tables reach the office's central over the WAN, over mutual TLS as in an
    // election: in a namespace of the rehearsal's own, through the proxy on an address
    // of its own that the `wan` fault makes slow and lossy (see
    // `super::net::CENTRAL_FRONT`; the proxy passes TCP, so TLS goes through it).
    let central_urls: Vec<String> = central_sync_ports
        .iter()
        .enumerate()
        .map(|(i, p)| match (i, tls) {
            (0, true) => format!("https://{}:{p}", super::net::CENTRAL_FRONT),
            _ => format!("https://127.0.0.1:{p}"),
        })
        .collect();
    // Where the other tables and a central reach a table: its TLS sync address with a
    // network of our own, its plain screen port otherwise (test mode).
    let table_urls: Vec<String> = (0..tables as usize)
        .map(|i| match tls {
            true => format!("https://{}", super::net::sync_addr(i)),
            false => format!("http://127.0.0.1:{}", ports[i]),
        })
        .collect();
    let mut disk = None;
    let mut disk_problem = None;
    if let Some(d) = disk_table {
        // Room for the table's state (the database, the list and package kept beside
        // it), the day's events and the WAL; the fault fills the rest.
        let bytes = db_bytes + 2 * list.len() as u64 + (96 << 20);
        match SmallDisk::mount(&dir.join(format!("disk-{}", d + 1)), bytes) {
            Ok(m) => disk = Some((d, m)),
            Err(e) => disk_problem = Some(e.to_string()),
        }
    }
    // Each table's state folder (the disk-fault table's on the small disk), where it
    // makes its own key as a Pi does.
    let folders: Vec<PathBuf> = (0..tables as usize)
        .map(|i| match &disk {
            Some((d, m)) if *d == i => m.dir.clone(),
            _ => dir.join(format!("bord-{}", i + 1)),
        })
        .collect();
    let keys = folders
        .iter()
        .map(|f| own_key(f))
        .collect::<Result<Vec<_>, _>>()?;
    let publics: Vec<DevicePublic> = keys.iter().map(DeviceSecret::public).collect();
    let centrals_enrolled = central_urls
        .iter()
        .zip(&central_keys)
        .map(|(url, key)| CentralEntry {
            url: url.clone(),
            device: *key,
        })
        .collect();
    let (package, office) =
        office_package(dir, list, place, pin_hash, &publics, centrals_enrolled)?;
    let shared = Shared {
        dir,
        ports: &ports,
        tls,
        table_urls: &table_urls,
        package: &package,
        office,
    };
    let mut out = Vec::new();
    for (i, (folder, key)) in folders.iter().zip(&keys).enumerate() {
        out.push(prepare_table(&shared, i, folder, key)?);
    }
    let table_keys: Vec<String> = publics.iter().map(|k| k.to_hex()).collect();
    let mut centrals = Vec::new();
    for (i, port) in central_ports.iter().enumerate() {
        // Each pulls from a table of its own and from the other central, directly.
        let other = 1 - i;
        centrals.push(prepare_central(
            dir,
            &master,
            place,
            i,
            (*port, central_sync_ports[i]),
            &table_keys,
            &table_urls,
            (
                &format!("https://127.0.0.1:{}", central_sync_ports[other]),
                &central_keys[other].to_hex(),
            ),
        )?);
    }
    Ok(Setup {
        tables: out,
        centrals,
        disk,
        disk_problem,
    })
}

/// The list imported once into a database of its own, copied for every central.
fn master_list(dir: &Path, list: &[u8]) -> anyhow::Result<PathBuf> {
    let master = dir.join("valgliste.db");
    crate::store::remove_scratch_database(&master);
    let mut store = Store::open(&master)?;
    store.bind(ELECTION, Mode::Test)?;
    store
        .import_file(list, false, |_| {})
        .map_err(|e| anyhow!("the generated list does not import: {e:?}"))?;
    Ok(master)
}

/// The municipality list's polling places: the rehearsal's own and one other (its voters
/// are refused at the rehearsal's tables with that place's name and address).
pub(crate) const LIST_PLACES: u32 = 2;

/// The office's part, as in an election: the enrolment of the tables' public keys
/// (`enrolment.csv`), the officials (the rehearsal's valgsekretær and two valgstyrere),
/// and the polling place's package signed with the office's key
/// (`provision::make::one_place`). Returns the package's folder and the office's public
/// key, which every table has installed.
fn office_package(
    dir: &Path,
    list: &[u8],
    place: &str,
    pin_hash: &str,
    tables: &[DevicePublic],
    centrals: Vec<CentralEntry>,
) -> anyhow::Result<(PathBuf, DevicePublic)> {
    let mut csv = format!(
        "name,role,pin_hash\n{},valgsekretaer,\"{pin_hash}\"\n",
        super::client::VALGSEKRETAER
    );
    for (name, pin) in super::valgstyrere::VALGSTYRERE {
        let hash = crate::password::hash_pin(pin)?;
        csv.push_str(&format!("{name},valgstyrer,\"{hash}\"\n"));
    }
    let officials = crate::election::official::parse_csv(&csv)?;
    let election = ElectionInfo {
        id: ELECTION.into(),
        name: "Generalprøve".into(),
        date: chrono::Local::now().date_naive(),
        contests: vec![Contest::Kv, Contest::Rv],
    };
    Ok(one_place(
        dir,
        OnePlace {
            election,
            list,
            place,
            tables,
            officials: &officials,
            centrals,
            place_addresses: &generate::place_addresses(LIST_PLACES),
        },
    )?)
}

/// What every table's loading shares.
struct Shared<'a> {
    dir: &'a Path,
    /// The tables' screen ports.
    ports: &'a [u16],
    tls: bool,
    /// Where each table is reached for sync (see [`prepare`]).
    table_urls: &'a [String],
    /// The polling place's package folder, and the office key it is signed with.
    package: &'a Path,
    office: DevicePublic,
}

/// Table `i + 1` loads the package into its folder (a fresh database: the list imported,
/// its `table.toml` written) with its own key, as `valgbord election load` does.
fn prepare_table(
    s: &Shared,
    i: usize,
    folder: &Path,
    key: &DeviceSecret,
) -> anyhow::Result<TableProc> {
    let t = i as u32 + 1;
    // A rehearsal starts from an empty day, also in a folder used before.
    crate::store::remove_scratch_database(&StatePaths::in_dir(folder).database);
    let sync_addr = s.tls.then(|| super::net::sync_addr(i));
    let net = Network {
        listen: Some(format!("127.0.0.1:{}", s.ports[i])),
        sync_listen: sync_addr.map(|a| a.to_string()),
        // Without a network of our own the tables sync in plain HTTP on their screen
        // ports (test mode).
        no_sync_listener: !s.tls,
        peers: Some(peers_but(s.table_urls, i)),
        hardware: None,
    };
    let loaded = load_package(s.package, key, None, s.office, folder, &net, Mode::Test)
        .map_err(|e| anyhow!("table {t} does not load the package: {e}"))?;
    let config = loaded.paths.config;
    let text =
        std::fs::read_to_string(&config).map_err(|e| anyhow!("{}: {e}", config.display()))?;
    let header = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut cfg = TableConfig::load(&config)?;
    // The rehearsal's people scan over the screen's API, as fast as they come.
    cfg.api_scan = true;
    cfg.debounce_ms = 0;
    Ok(TableProc {
        no: t,
        port: s.ports[i],
        db: loaded.paths.database,
        config,
        device: key.public().to_hex(),
        peer_url: s.table_urls[i].clone(),
        sync_addr,
        log: s.dir.join(format!("bord-{t}.log")),
        child: None,
        loaded: cfg,
        header,
    })
}

/// The two centrals: folder name and name in the report.
const CENTRALS: [(&str, &str); 2] = [("central", "centralen"), ("central-2", "reservecentralen")];

/// Central `which`'s database (the same list), key and configuration in its own folder:
/// every enrolled table's key, one table's address to pull from besides the tables'
/// pushes (table 1 for the first, the last table for the reserve), and the other central
/// as a peer.
#[allow(clippy::too_many_arguments)]
fn prepare_central(
    dir: &Path,
    master: &Path,
    place: &str,
    which: usize,
    (port, sync_port): (u16, u16),
    keys: &[String],
    table_urls: &[String],
    other: (&str, &str),
) -> anyhow::Result<CentralProc> {
    let (file, name) = CENTRALS[which];
    let folder = dir.join(file);
    let db = folder.join("central.db");
    crate::store::remove_scratch_database(&db);
    std::fs::copy(master, &db).map_err(|e| anyhow!("{}: {e}", db.display()))?;
    let password = crate::password::hash_pin(OFFICE_USER.1)?;
    let mut config = format!(
        "# Written by `valgbord simulate`.\n\
         election = \"{ELECTION}\"\n\
         mode = \"test\"\n\
         database = \"{db}\"\n\
         key = \"{key}\"\n\
         listen = \"127.0.0.1:{port}\"\n\
         sync_listen = \"127.0.0.1:{sync_port}\"\n\
         election_name = \"Generalprøve\"\n\
         [[users]]\n\
         name = \"{user}\"\n\
         password = \"{password}\"\n\
         role = \"read\"\n",
        db = db.display(),
        key = StatePaths::in_dir(&folder).key.display(),
        user = OFFICE_USER.0,
    );
    config.push_str(&format!(
        "[[centrals]]\nurl = \"{}\"\nkey = \"{}\"\n",
        other.0, other.1
    ));
    let pulled = if which == 0 { 0 } else { keys.len() - 1 };
    for (i, (key, url)) in keys.iter().zip(table_urls).enumerate() {
        config.push_str(&format!(
            "[[tables]]\nplace = \"{place}\"\ntable_no = {}\nkey = \"{key}\"\n",
            i + 1
        ));
        if i == pulled {
            config.push_str(&format!("url = \"{url}\"\n"));
        }
    }
    let path = folder.join("central.toml");
    std::fs::write(&path, config).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok(CentralProc {
        name,
        port,
        sync_port,
        db,
        config: path,
        log: dir.join(format!("{file}.log")),
        child: None,
        stopped: false,
    })
}
