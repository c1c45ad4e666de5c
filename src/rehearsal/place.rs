//! The rehearsed polling place on this machine: a database, a key and a configuration
//! per table, and each table a real `valgbord table --config` process on a loopback
//! port, which the faults kill -9 and start again.

use crate::store::Store;
use crate::store::binding::Mode;
use crate::store::keyfile;
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
    log: PathBuf,
    child: Option<Child>,
    /// What the configuration holds besides the clock offset.
    base_config: String,
}

impl TableProc {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Writes the configuration with this clock offset (test mode only, as in a
    /// rehearsal) and starts the daemon; returns once it listens.
    pub fn start(&mut self, clock_offset_ms: i64) -> Result<(), String> {
        std::fs::write(
            &self.config,
            format!("clock_offset_ms = {clock_offset_ms}\n{}", self.base_config),
        )
        .map_err(|e| format!("{}: {e}", self.config.display()))?;
        let exe = std::env::current_exe().map_err(|e| format!("own binary: {e}"))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("{}: {e}", self.log.display()))?;
        let mut child = Command::new(exe)
            .arg("table")
            .arg("--config")
            .arg(&self.config)
            .env("VALGBORD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start table {}: {e}", self.no))?;
        let stdout = child.stdout.take();
        self.child = Some(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let Some(out) = stdout else { return };
            let mut told = false;
            // Read to the end so the daemon never blocks on a full pipe.
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if !told && line.starts_with("valgbord table listening on ") {
                    told = true;
                    let _ = tx.send(());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(()) => Ok(()),
            Err(_) => {
                self.kill();
                Err(format!(
                    "table {} did not start within 60 s; see {}",
                    self.no,
                    self.log.display()
                ))
            }
        }
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

/// A small filesystem of its own for one table's database, so its disk can be filled.
/// Unmounted when dropped.
pub struct SmallDisk {
    pub dir: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `bytes` at `dir` (needs root).
    pub fn mount(dir: &Path, bytes: u64) -> Result<SmallDisk, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={}k,mode=0700", bytes.div_ceil(1024)))
            .arg("valgbord-rehearsal")
            .arg(dir)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
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
    pub fn fill(&self, db: &Path) -> Result<u64, String> {
        use std::io::Write;
        {
            let store = Store::open(db).map_err(|e| e.to_string())?;
            store
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(|e| format!("checkpoint of {}: {e}", db.display()))?;
        }
        let mut f = std::fs::File::create(self.filler()).map_err(|e| e.to_string())?;
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

/// Makes the tables' folders: the list imported once and copied per table, a key per
/// table (all listed in every configuration), ports, configurations.
pub struct Setup {
    pub tables: Vec<TableProc>,
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
) -> Result<Setup, String> {
    let master = dir.join("valgliste.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", master.display()));
    }
    {
        let mut store = Store::open(&master).map_err(|e| e.to_string())?;
        store
            .bind(ELECTION, Mode::Test)
            .map_err(|e| e.to_string())?;
        store
            .import_file(list, false, |_| {})
            .map_err(|e| format!("the generated list does not import: {e:?}"))?;
    }
    let db_bytes = std::fs::metadata(&master).map(|m| m.len()).unwrap_or(0);
    let ports = crate::cli::demo::demo_ports(0, tables)?;
    let keys = (1..=tables)
        .map(|t| {
            keyfile::load_or_create(&dir.join(format!("bord-{t}.key")))
                .map(|k| k.public().to_hex())
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut disk = None;
    let mut disk_problem = None;
    if let Some(d) = disk_table {
        // Room for the day's events and the WAL; the fault fills the rest.
        match SmallDisk::mount(&dir.join(format!("disk-{}", d + 1)), db_bytes + (96 << 20)) {
            Ok(m) => disk = Some((d, m)),
            Err(e) => disk_problem = Some(e),
        }
    }
    let key_list = keys
        .iter()
        .map(|k| format!("\"{k}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = Vec::new();
    for t in 1..=tables {
        let folder = match &disk {
            Some((d, m)) if *d + 1 == t as usize => m.dir.clone(),
            _ => dir.to_path_buf(),
        };
        let db = folder.join(format!("bord-{t}.db"));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        std::fs::copy(&master, &db).map_err(|e| format!("{}: {e}", db.display()))?;
        let port = ports[t as usize - 1];
        let peers = ports
            .iter()
            .filter(|&&p| p != port)
            .map(|p| format!("\"http://127.0.0.1:{p}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let base_config = format!(
            "# Written by `valgbord simulate`.\n\
             election = \"{ELECTION}\"\n\
             mode = \"test\"\n\
             database = \"{db}\"\n\
             key = \"{key}\"\n\
             place = \"{place}\"\n\
             table_no = {t}\n\
             contests = [\"KV\", \"RV\"]\n\
             listen = \"127.0.0.1:{port}\"\n\
             api_scan = true\n\
             debounce_ms = 0\n\
             [pins]\n\
             valgsekretaer = \"{pin_hash}\"\n\
             [sync]\n\
             peers = [{peers}]\n\
             keys = [{key_list}]\n",
            db = db.display(),
            key = dir.join(format!("bord-{t}.key")).display(),
        );
        out.push(TableProc {
            no: t,
            port,
            db,
            config: dir.join(format!("bord-{t}.toml")),
            device: keys[t as usize - 1].clone(),
            log: dir.join(format!("bord-{t}.log")),
            child: None,
            base_config,
        });
    }
    Ok(Setup {
        tables: out,
        disk,
        disk_problem,
    })
}
