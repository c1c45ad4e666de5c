//! Starting real `valgbord table` processes on loopback ports and talking to them as the
//! screen does. Shared by the table integration tests.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use valgbord::election::keys::{DevicePublic, DeviceSecret};
use valgbord::store::keyfile;

// The same file as `common::test_bin`: a test file may use `common`, `daemon` or both,
// and each must know the binary on its own.
#[allow(clippy::duplicate_mod)]
#[path = "../common/test_bin.rs"]
mod test_bin;

/// The `valgbord` binary the tests start: cargo's, or `VALGBORD_TEST_BIN` (CI's
/// emulated aarch64 build). `Command::new(BIN)`; [`bin`] where a `&str` is needed.
pub const BIN: test_bin::Bin = test_bin::Bin;

pub fn bin() -> &'static str {
    test_bin::path()
}
/// The test tables' valgsekretær and her personal PIN.
pub const SECRETARY: &str = "Anne Sørensen";
pub const PIN: &str = "246810";
/// A valgstyrer of the test tables, with a PIN of his own.
pub const VALGSTYRER: &str = "Jens Kragh";
pub const VALGSTYRER_PIN: &str = "135790";
/// A second valgstyrer: a brevstemme is examined by two (KRVL § 71).
pub const VALGSTYRER2: &str = "Mette Holm";
pub const VALGSTYRER2_PIN: &str = "864202";

/// The officials file of `valgbord election new` for the two above.
pub fn officials_csv() -> String {
    format!(
        "name,role,pin_hash\n{SECRETARY},valgsekretaer,{}\n{VALGSTYRER},valgstyrer,{}\n{VALGSTYRER2},valgstyrer,{}\n",
        pin_hash(PIN),
        pin_hash(VALGSTYRER_PIN),
        pin_hash(VALGSTYRER2_PIN)
    )
}

/// The `[[officials]]` of a test table's configuration: the two above.
pub fn officials_toml() -> String {
    format!(
        "[[officials]]\nname = \"{SECRETARY}\"\nrole = \"valgsekretaer\"\npin_hash = \"{}\"\n\n[[officials]]\nname = \"{VALGSTYRER}\"\nrole = \"valgstyrer\"\npin_hash = \"{}\"\n\n[[officials]]\nname = \"{VALGSTYRER2}\"\nrole = \"valgstyrer\"\npin_hash = \"{}\"\n",
        pin_hash(PIN),
        pin_hash(VALGSTYRER_PIN),
        pin_hash(VALGSTYRER2_PIN)
    )
}

pub const HEADER: &str = "vaelger_id;loebenummer;listeafsnit;fornavne;efternavn;foedselsdato;koen;adresse;postnr;by;valgsted;valgstedsnavn;kortkode;stemmeret;brevstemme;slettet";

/// One voter of each kind the rules tell apart.
pub const VOTERS: &[&str] = &[
    "V1;1;A;Jørgen Åge;Møller-Aagaard;15-03-1980;M;Æblevej 3, 2. th;8000;Aarhus C;1;Rådhushallen;CARD-NORMAL;KV+RV;nej;",
    "V2;2;A;Signe;Østergaard;02-11-1999;K;Skolevej 1;8000;Aarhus C;1;Rådhushallen;CARD-RVONLY;RV;nej;",
    "V3;3;B;Bent;Bæk;24-12-1950;M;Kirkevej 9;8000;Aarhus C;1;Rådhushallen;CARD-BREV;KV+RV;ja;",
    "V4;4;B;Inge;Holm;01-01-1940;K;Torvet 2;8000;Aarhus C;1;Rådhushallen;CARD-STRUCK;KV+RV;nej;død",
    "V5;1;A;Lars;Jensen;05-05-1975;M;Engvej 4;8200;Aarhus N;2;Vestre Skole;CARD-OTHERPLACE;KV+RV;nej;",
    "V6;5;C;Marie;Dubois;09-09-1990;K;Havnegade 7;8000;Aarhus C;1;Rådhushallen;CARD-EPONLY;EP;nej;",
    "V7;6;C;Anne;Hansen;10-10-1960;K;Storegade 5;8000;Aarhus C;1;Rådhushallen;CARD-SECOND;KV+RV;nej;",
    "V8;7;C;Peter;Nielsen;11-11-1970;M;Storegade 6;8000;Aarhus C;1;Rådhushallen;CARD-THIRD;KV+RV;nej;",
];

pub struct Table {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub child: Child,
    pub base: String,
    pub agent: ureq::Agent,
}

pub fn write_list(dir: &Path) -> PathBuf {
    write_list_with(dir, &[])
}

/// As [`write_list`], with `extra` voter lines after the test voters.
pub fn write_list_with(dir: &Path, extra: &[String]) -> PathBuf {
    let path = dir.join("list.csv");
    let mut s = String::from(HEADER);
    for v in VOTERS
        .iter()
        .copied()
        .chain(extra.iter().map(String::as_str))
    {
        s.push('\n');
        s.push_str(v);
    }
    std::fs::write(&path, s).expect("write list");
    path
}

pub fn run_ok(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("run valgbord");
    assert!(
        out.status.success(),
        "valgbord {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The election office's key pair in `root` (office.secret, office.pub); the public
/// key file, as every Pi has it installed.
pub fn office_keys(root: &Path) -> PathBuf {
    let (secret, public) = (root.join("office.secret"), root.join("office.pub"));
    run_ok(&[
        "office",
        "keygen",
        "--secret",
        secret.to_str().expect("utf8 path"),
        "--public",
        public.to_str().expect("utf8 path"),
    ]);
    public
}

/// The officials file in `root` (written on first use).
pub fn officials_file(root: &Path) -> PathBuf {
    let path = root.join("officials.csv");
    if !path.exists() {
        std::fs::write(&path, officials_csv()).expect("write officials.csv");
    }
    path
}

/// `valgbord election new` of election `id` from `list`, with the office key and the
/// enrolment file (enrol.csv) in `root`, into `out`; `extra` arguments after. Its output.
pub fn election_new(root: &Path, id: &str, list: &Path, out: &Path, extra: &[String]) -> String {
    let args = election_new_args(root, id, list, out, extra);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ok(&refs)
}

/// The arguments of [`election_new`], for a test that expects the office to be refused.
pub fn election_new_args(
    root: &Path,
    id: &str,
    list: &Path,
    out: &Path,
    extra: &[String],
) -> Vec<String> {
    let path = |p: &Path| p.to_str().expect("utf8 path").to_string();
    let mut args: Vec<String> = [
        "election",
        "new",
        "--id",
        id,
        "--name",
        "Kommunal- og regionsrådsvalg",
        "--date",
        "2025-11-18",
        "--contests",
        "KV+RV",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (flag, p) in [
        ("--list", list.to_path_buf()),
        ("--office-secret", root.join("office.secret")),
        ("--enrol", root.join("enrol.csv")),
        ("--officials", officials_file(root)),
        ("--out", out.to_path_buf()),
    ] {
        args.extend([flag.to_string(), path(&p)]);
    }
    args.extend(extra.iter().cloned());
    args
}

/// `valgbord election load` of the package folder `pkg` onto the device with key `key`
/// and state folder `state`, as its enrolment says (add `--table N` for a reserve).
pub fn election_load<'a>(
    pkg: &'a Path,
    key: &'a Path,
    office: &'a Path,
    state: &'a Path,
) -> Vec<&'a str> {
    let p = |p: &'a Path| p.to_str().expect("utf8 path");
    vec![
        "election",
        "load",
        "--package",
        p(pkg),
        "--key",
        p(key),
        "--office-key",
        p(office),
        "--state",
        p(state),
    ]
}

/// Runs the binary and expects it to fail; its stderr, for the reason.
pub fn run_fail(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("run valgbord");
    assert!(
        !out.status.success(),
        "valgbord {args:?} should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A Pi makes its own key at `path` and prints the public half for enrolment; that
/// public key (64 hex digits).
pub fn device_key(path: &Path) -> String {
    let said = run_ok(&["key", "init", "--key", path.to_str().expect("utf8 path")]);
    said.split_whitespace()
        .find(|w| w.len() == 64 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no public key in: {said}"))
        .to_string()
}

/// Imports a list file into a table database of the test election.
pub fn import(list: &Path, db: &Path) {
    run_ok(&[
        "voters",
        "import",
        list.to_str().expect("utf8 path"),
        "--db",
        db.to_str().expect("utf8 path"),
        "--election",
        "kv-test",
    ]);
}

pub fn pin_hash(pin: &str) -> String {
    let mut child = Command::new(BIN)
        .args(["pin", "hash"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn pin hash");
    writeln!(child.stdin.take().expect("stdin"), "{pin}").expect("write pin");
    let out = child.wait_with_output().expect("pin hash");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Makes a table folder: the list imported into a database and a configuration.
pub fn prepare(dir: &Path, table_no: u32, scanner_toml: &str) -> PathBuf {
    prepare_with(dir, table_no, "127.0.0.1:0", "", scanner_toml)
}

/// As [`prepare`], with the listen address, extra top-level keys and extra sections.
pub fn prepare_with(
    dir: &Path,
    table_no: u32,
    listen: &str,
    top_level: &str,
    sections: &str,
) -> PathBuf {
    let list = write_list(dir);
    let db = dir.join(format!("table{table_no}.db"));
    if !db.exists() {
        import(&list, &db);
    }
    let config = dir.join(format!("table{table_no}.toml"));
    let toml = table_toml(
        &db,
        &dir.join(format!("table{table_no}.key")),
        "1",
        table_no,
        listen,
        top_level,
        sections,
    );
    std::fs::write(&config, toml).expect("write config");
    config
}

/// A test-mode table's configuration: API scans, no debounce, the test PIN.
pub fn table_toml(
    db: &Path,
    key: &Path,
    place: &str,
    table_no: u32,
    listen: &str,
    top_level: &str,
    sections: &str,
) -> String {
    format!(
        r#"election = "kv-test"
mode = "test"
database = "{db}"
key = "{key}"
place = "{place}"
table_no = {table_no}
contests = ["KV", "RV"]
listen = "{listen}"
api_scan = true
debounce_ms = 0
{top_level}

{officials}
{sections}
"#,
        db = db.display(),
        key = key.display(),
        officials = officials_toml(),
    )
}

/// Starts `valgbord ROLE --config CONFIG` and waits for the line that says where it
/// listens: (the process, its base URL).
pub fn spawn_listening(role: &str, config: &Path) -> (Child, String) {
    let mut cmd = Command::new(BIN);
    cmd.args([role, "--config", config.to_str().expect("utf8 path")]);
    spawn_for(cmd, role).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a browser script of tests/browser in node with `args`; returns its standard
/// output after checking it succeeded and printed `passed`.
pub fn run_browser_script(script: &str, args: &[&str]) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run `npm ci --prefix tests/browser` (and `apt-get install chromium`); .ci/run does both"
    );
    let out = Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser script {script} failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("passed"), "{stdout}");
    stdout
}

impl Table {
    /// Starts `valgbord table` and waits for the line that says where it listens.
    pub fn start(dir: &Path, config: &Path) -> Table {
        let (child, base) = spawn(config).unwrap_or_else(|e| panic!("{e}"));
        Table::from_child(dir, config, child, base)
    }

    /// As [`Table::start`], with the command made by the caller (run in a network
    /// namespace, log to a file …); the table's arguments are added here.
    pub fn start_command(dir: &Path, config: &Path, mut cmd: Command) -> Table {
        cmd.args(["table", "--config", config.to_str().expect("utf8 path")]);
        let (child, base) = spawn_command(cmd).unwrap_or_else(|e| panic!("{e}"));
        Table::from_child(dir, config, child, base)
    }

    fn from_child(dir: &Path, config: &Path, child: Child, base: String) -> Table {
        Table {
            dir: dir.to_path_buf(),
            config: config.to_path_buf(),
            child,
            base,
            agent: agent(),
        }
    }

    /// Whether the daemon still runs, for a failed request's message: a connection
    /// closed without an answer is a crash only if the process is gone.
    pub fn process_state(&self) -> String {
        let pid = self.child.id();
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state is the field after the command's closing parenthesis.
            Ok(stat) => match stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next())
            {
                Some("Z") => format!("the daemon (pid {pid}) has exited"),
                Some(state) => format!("the daemon (pid {pid}) still runs (state {state})"),
                None => format!("the daemon (pid {pid}): unreadable state"),
            },
            Err(_) => format!("the daemon (pid {pid}) is gone"),
        }
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let mut res = self
            .agent
            .post(&format!("{}{path}", self.base))
            .send_json(body)
            .unwrap_or_else(|e| panic!("POST {path}: {e:?}; {}", self.process_state()));
        let status = res.status().as_u16();
        let v: Value = res.body_mut().read_json().expect("JSON body");
        (status, v)
    }

    /// A sync request signed by `key`, as a peer table sends it.
    pub fn post_signed(
        &self,
        path: &str,
        body: Value,
        key: Option<&valgbord::election::keys::DeviceSecret>,
    ) -> (u16, Value) {
        post_signed_to(&self.agent, &format!("{}{path}", self.base), body, key)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let mut res = self
            .agent
            .get(&format!("{}{path}", self.base))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e:?}; {}", self.process_state()));
        let status = res.status().as_u16();
        let v: Value = res.body_mut().read_json().expect("JSON body");
        (status, v)
    }

    pub fn scan(&self, code: &str) -> Value {
        let (status, v) = self.post("/api/scan", serde_json::json!({ "code": code }));
        assert_eq!(status, 200, "scan {code}: {v}");
        v
    }

    pub fn confirm(&self) -> Value {
        let (status, v) = self.post("/api/confirm", serde_json::json!({}));
        assert_eq!(status, 200, "confirm: {v}");
        v
    }

    pub fn open(&self) {
        self.examine_brevstemmer();
        self.open_as_is();
    }

    /// The two valgstyrere take every undecided brevstemme of the place into account,
    /// as they do before opening (KRVL § 71); nothing when all are decided or the table
    /// has not the test's valgstyrere.
    pub fn examine_brevstemmer(&self) {
        let (_, c) = self.get("/api/checklist");
        let all_decided = c["items"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| i["id"] == "brevstemmer" && i["ok"] == true);
        if all_decided {
            return;
        }
        let (status, r) = login_as(self, VALGSTYRER, VALGSTYRER_PIN);
        if status != 200 {
            // A table configured without the test's valgstyrere: nobody to examine.
            return;
        }
        let token = r["token"].as_str().expect("token").to_string();
        let (status, list) = call(self, &token, "GET", BREVSTEMMER, None);
        assert_eq!(status, 200, "brevstemmer: {list}");
        let undecided: Vec<&str> = list["brevstemmer"]
            .as_array()
            .expect("brevstemmer")
            .iter()
            .filter(|b| b["status"] == "modtaget")
            .filter_map(|b| b["voter_id"].as_str())
            .collect();
        if undecided.is_empty() {
            // Another table's decisions arrived meanwhile.
            return;
        }
        let (status, r) = examine(self, &token, &undecided, None);
        assert_eq!(status, 200, "examine brevstemmer: {r}");
    }

    /// Opens the table as its brevstemmer stand.
    pub fn open_as_is(&self) {
        // An election-mode table opens only after the scanner self-test: scan the test
        // card's two codes, as the tilforordnede do before 08:00.
        let (_, c) = self.get("/api/checklist");
        if c["ready"] == false {
            let e = c["election"].as_str().expect("election").to_string();
            for code in [format!("VBTEST-QR-{e}"), format!("VBTEST-128-{e}")] {
                self.scan(&code);
            }
        }
        let (status, v) = self.post("/api/table/open", serde_json::json!({}));
        assert_eq!(status, 200, "open: {v}");
    }

    pub fn kill9(&mut self) {
        // SIGKILL: no shutdown code runs, as in a power cut of the process.
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that returns error statuses as answers.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        // Shorter than the daemons' keep-alive (`HEADER_READ_TIMEOUT`, 10 s): a pooled
        // connection the daemon has just closed would fail the next POST ("Peer
        // disconnected"), which ureq does not retry. A browser retries such a request.
        .max_idle_age(Duration::from_secs(5))
        .build()
        .new_agent()
}

/// Starts `valgbord table --config` and waits for the line that says where it
/// listens; the process and its base URL. An error if it exits before that.
pub fn spawn(config: &Path) -> Result<(Child, String), String> {
    let mut cmd = Command::new(BIN);
    cmd.args(["table", "--config", config.to_str().expect("utf8 path")]);
    spawn_command(cmd)
}

/// As [`spawn`], for a command that runs the table some other way (e.g. under `sh` with
/// lower limits).
pub fn spawn_command(cmd: Command) -> Result<(Child, String), String> {
    spawn_for(cmd, "table")
}

/// As [`spawn_command`], for a process of `role` (`table`, `central`).
pub fn spawn_command_as(cmd: Command, role: &str) -> Result<(Child, String), String> {
    spawn_for(cmd, role)
}

/// Starts `cmd` and waits for the line `valgbord ROLE listening on URL`.
fn spawn_for(mut cmd: Command, role: &str) -> Result<(Child, String), String> {
    // The caller's log level and stderr (e.g. a log file) win.
    if !cmd.get_envs().any(|(k, _)| k == "VALGBORD_LOG") {
        cmd.env(
            "VALGBORD_LOG",
            std::env::var("VALGBORD_LOG").unwrap_or_else(|_| "warn".into()),
        );
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn table: {e}"))?;
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(url) = l.strip_prefix(&format!("valgbord {role} listening on ")) {
                    break url.trim().to_string();
                }
            }
            _ => {
                let status = child.wait().map_err(|e| e.to_string())?;
                return Err(format!("{role} exited before listening: {status}"));
            }
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok((child, base))
}

/// Free loopback ports, all held until returned so they differ from each other.
pub fn free_ports(n: usize) -> Vec<u16> {
    // Below the ephemeral range: see `valgbord::ports::ports` for why.
    valgbord::ports::ports(0, n as u32).expect("free ports")
}

/// Polls `check` until it holds or `deadline` passes; returns whether it held. This is
/// waiting for a condition, not sleeping for a guess.
pub fn eventually(deadline: Duration, mut check: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + deadline;
    loop {
        if check() {
            return true;
        }
        if std::time::Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The refusal code of a screen, or its view kind when it is not a refusal.
pub fn outcome(screen: &Value) -> String {
    let view = &screen["view"];
    match view["kind"].as_str() {
        Some("refused") => view["code"].as_str().unwrap_or("?").to_string(),
        Some(k) => k.to_string(),
        None => panic!("no view in {screen}"),
    }
}

pub struct Place {
    pub dir: tempfile::TempDir,
    pub tables: Vec<Table>,
    pub keys: Vec<DeviceSecret>,
}

/// Starts `n` tables. `links(i)` gives the indexes table i pulls from (all others by
/// default). Keys are made up front so every configuration can list all of them.
pub fn place(
    n: usize,
    links: impl Fn(usize) -> Vec<usize>,
    top_level: impl Fn(usize) -> String,
) -> Place {
    place_in(tempfile::tempdir().expect("tempdir"), n, links, top_level)
}

/// As `place`, in a folder prepared beforehand (e.g. databases imported with a signed
/// list: `prepare_with` imports only where no database exists yet).
pub fn place_in(
    dir: tempfile::TempDir,
    n: usize,
    links: impl Fn(usize) -> Vec<usize>,
    top_level: impl Fn(usize) -> String,
) -> Place {
    place_with_sync(dir, n, links, top_level, "")
}

/// As `place_in`, with `sync_extra` added to every table's `[sync]` section.
pub fn place_with_sync(
    dir: tempfile::TempDir,
    n: usize,
    links: impl Fn(usize) -> Vec<usize>,
    top_level: impl Fn(usize) -> String,
    sync_extra: &str,
) -> Place {
    let ports = free_ports(n);
    let keys: Vec<DeviceSecret> = (0..n)
        .map(|i| {
            keyfile::load_or_create(&dir.path().join(format!("table{}.key", i + 1))).expect("key")
        })
        .collect();
    let device_list = tables_enrolled(keys.iter().map(|k| k.public()));
    let mut tables = Vec::new();
    for i in 0..n {
        let peers = links(i)
            .into_iter()
            .map(|j| format!("\"http://127.0.0.1:{}\"", ports[j]))
            .collect::<Vec<_>>()
            .join(", ");
        let config = prepare_with(
            dir.path(),
            i as u32 + 1,
            &format!("127.0.0.1:{}", ports[i]),
            &top_level(i),
            &format!("[sync]\npeers = [{peers}]\ndevices = [{device_list}]\n{sync_extra}"),
        );
        tables.push(Table::start(dir.path(), &config));
    }
    let place = Place { dir, tables, keys };
    for t in &place.tables {
        t.open();
    }
    place
}

/// `body` with a fresh time and nonce, as every sync request of a device carries them
/// (unless it has a `stamp` already).
pub fn stamped(mut body: Value) -> Value {
    if let Some(o) = body.as_object_mut()
        && !o.contains_key("stamp")
    {
        let stamp =
            valgbord::sync::replay::Stamp::new(valgbord::store::now_ms(), 0).expect("random nonce");
        o.insert("stamp".into(), serde_json::to_value(stamp).expect("json"));
    }
    body
}

/// A sync request to `url` signed by `key`, as a device sends it to a table or the
/// central tally (with a fresh stamp).
pub fn post_signed_to(
    agent: &ureq::Agent,
    url: &str,
    body: Value,
    key: Option<&DeviceSecret>,
) -> (u16, Value) {
    let bytes = serde_json::to_vec(&stamped(body)).expect("json");
    let mut req = agent.post(url).header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header(
            valgbord::sync::auth::HEADER,
            &valgbord::sync::auth::sign_body(k, &bytes),
        );
    }
    let mut res = req.send(&bytes[..]).expect("POST");
    let status = res.status().as_u16();
    let v: Value = res.body_mut().read_json().expect("JSON body");
    (status, v)
}

/// The items of a `[sync] devices` array: the keys as tables 1, 2, … of the place.
pub fn tables_enrolled(keys: impl IntoIterator<Item = DevicePublic>) -> String {
    keys.into_iter()
        .enumerate()
        .map(|(i, k)| enrolled(k, &format!("role = \"table\", table_no = {}", i + 1)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One item of a `[sync] devices` array: `role` is e.g. `role = "central"`.
pub fn enrolled(key: DevicePublic, role: &str) -> String {
    format!("{{ key = \"{}\", {role} }}", key.to_hex())
}

/// Logs in at the valgsekretær screen with the test PIN; returns the session token.
pub fn login(t: &Table) -> String {
    let (status, r) = t.post(
        "/api/secretary/login",
        json!({ "name": SECRETARY, "pin": PIN }),
    );
    assert_eq!(status, 200, "{r}");
    r["token"].as_str().expect("token").to_string()
}

/// A valgsekretær API call with a session token.
pub fn call(t: &Table, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}{path}", t.base);
    let auth = format!("Bearer {token}");
    let mut res = match method {
        "GET" => t.agent.get(&url).header("authorization", &auth).call(),
        _ => t
            .agent
            .post(&url)
            .header("authorization", &auth)
            .send_json(body.unwrap_or(json!({}))),
    }
    .expect("request");
    let status = res.status().as_u16();
    (status, res.body_mut().read_json().expect("json"))
}

/// Imports the test list, signed by a fresh election office key, into `db` (an
/// election-mode table refuses an unsigned list). The office key is made once per
/// folder; returns the path of its secret, for signing list changes.
pub fn import_signed(dir: &Path, db: &Path) -> PathBuf {
    import_signed_with(dir, db, &[])
}

/// As [`import_signed`], with `extra` voter lines in the list; give the same lines for
/// every database of the folder (the list is signed once).
pub fn import_signed_with(dir: &Path, db: &Path, extra: &[String]) -> PathBuf {
    let list = write_list_with(dir, extra);
    let (secret, public, sig) = (
        dir.join("office.key"),
        dir.join("office.pub"),
        dir.join("list.sig"),
    );
    if !public.exists() {
        run_ok(&[
            "office",
            "keygen",
            "--secret",
            path_str(&secret),
            "--public",
            path_str(&public),
        ]);
        run_ok(&[
            "office",
            "sign",
            path_str(&list),
            "--secret",
            path_str(&secret),
            "--out",
            path_str(&sig),
        ]);
    }
    run_ok(&[
        "voters",
        "import",
        path_str(&list),
        "--db",
        path_str(db),
        "--election",
        "kv-test",
        "--signature",
        path_str(&sig),
        "--office-key",
        path_str(&public),
    ]);
    secret
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf8 path")
}

/// What the table's screen shows now (`GET /api/screen`).
pub fn screen(t: &Table) -> Value {
    t.get("/api/screen").1
}

/// The status bar's line about the other tables ("2 af 2 forbundet …").
pub fn peers_text(t: &Table) -> String {
    screen(t)["status"]["peers"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The body of a test-mode event of `key` as a peer (or an attacker holding the key)
/// makes it: number `seq` after `prev`, at a fixed early clock.
pub fn event_body(
    key: &DeviceSecret,
    election: &str,
    seq: u64,
    prev: valgbord::election::event::EventHash,
    kind: valgbord::election::event::EventKind,
) -> valgbord::election::event::EventBody {
    valgbord::election::event::EventBody {
        v: valgbord::election::event::FORMAT_VERSION,
        election: election.into(),
        device: key.public(),
        seq,
        hlc: valgbord::election::clock::Hlc::new(1_000 + seq, 0),
        wall_ms: 1_000,
        prev,
        test: true,
        kind,
        by: None,
    }
}

/// Runs a future of the test's async HTTP client to its end.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// The valgstyrere's route: their list (GET) and their decisions (POST).
pub const BREVSTEMMER: &str = "/api/secretary/brevstemmer";

/// The decision of the valgstyrer logged in with `token` and the second valgstyrer
/// ([`VALGSTYRER2`] with his PIN) on `voters`: taken into account (`reason` `None`)
/// or set aside for the act's `reason` (its code).
pub fn examine(t: &Table, token: &str, voters: &[&str], reason: Option<&str>) -> (u16, Value) {
    examine_with(t, token, voters, reason, (VALGSTYRER2, VALGSTYRER2_PIN))
}

/// As [`examine`], with the second official's name and PIN.
pub fn examine_with(
    t: &Table,
    token: &str,
    voters: &[&str],
    reason: Option<&str>,
    second: (&str, &str),
) -> (u16, Value) {
    let body = json!({
        "voter_ids": voters,
        "accepted": reason.is_none(),
        "reason": reason,
        "second_name": second.0,
        "second_pin": second.1,
    });
    call(t, token, "POST", BREVSTEMMER, Some(body))
}

/// A session of the valgstyrer [`VALGSTYRER`]: its token.
pub fn styrer_login(t: &Table) -> String {
    let (status, r) = login_as(t, VALGSTYRER, VALGSTYRER_PIN);
    assert_eq!(status, 200, "{r}");
    r["token"].as_str().expect("token").to_string()
}

/// Rewrites a test table's configuration to election mode.
pub fn to_election_mode(config: &Path) {
    let text = std::fs::read_to_string(config).expect("config");
    std::fs::write(
        config,
        text.replace("mode = \"test\"", "mode = \"election\""),
    )
    .expect("config");
}

/// Logs in at the valgsekretær screen as `name` with `pin`: the answer's status and body.
pub fn login_as(t: &Table, name: &str, pin: &str) -> (u16, Value) {
    t.post("/api/secretary/login", json!({ "name": name, "pin": pin }))
}

/// The text of a PDF, as `pdftotext` reads it.
pub fn pdftotext(file: &Path) -> String {
    let out = Command::new("pdftotext")
        .args([file.to_str().expect("utf8"), "-"])
        .output()
        .expect("pdftotext (Debian package poppler-utils) is needed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `valgbord report print` of polling place `place` from `db` into `out`: its text.
pub fn closing_report_text(db: &Path, place: &str, out: &Path) -> String {
    run_ok(&[
        "report",
        "print",
        "--db",
        db.to_str().expect("utf8"),
        "--place",
        place,
        "--out",
        out.to_str().expect("utf8"),
    ]);
    pdftotext(out)
}

/// A client (a browser, in effect) that trusts exactly the certificates `roots`: the
/// office screen's, from the municipality or the demo's self-signed one.
pub fn https_client(roots: impl IntoIterator<Item = Vec<u8>>) -> reqwest::Client {
    let mut store = rustls::RootCertStore::empty();
    for der in roots {
        store
            .add(rustls::pki_types::CertificateDer::from(der))
            .expect("root");
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(store)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}
