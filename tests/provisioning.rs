//! Provisioning from the command line to an open table: the office makes an election
//! with 2 polling places × 3 tables; each table loads its place's signed package (as
//! from a USB stick), runs the pre-opening checklist with the printed test card read by
//! the (simulated) scanner, opens only then, and checks voters in, in sync with its
//! peers. A tampered package, another election's package and a rehearsal's database are
//! refused.

mod daemon;

use daemon::{PIN, Table, eventually, free_ports, outcome, pin_hash, run_ok};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const ELECTION: &str = "kv-prov";

fn p(path: &Path) -> &str {
    path.to_str().expect("utf8 path")
}

fn run_fail(args: &[&str]) -> String {
    let out = Command::new(daemon::BIN)
        .args(args)
        .output()
        .expect("run valgbord");
    assert!(
        !out.status.success(),
        "valgbord {args:?} should have failed"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn state(root: &Path, place: u32, table: u32) -> PathBuf {
    root.join(format!("state-{place}-{table}"))
}

fn printer(root: &Path, place: u32, table: u32) -> PathBuf {
    root.join(format!("printer-{place}-{table}"))
}

/// Every text the simulated printer of a table has written, oldest first.
fn printed(dir: &Path) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter(|f| f.extension().is_some_and(|x| x == "txt"))
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect()
}

fn new_election(root: &Path, id: &str, list: &Path, out: &Path, ports: &[u16]) -> String {
    let hash = pin_hash(PIN);
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
        "--list",
        p(list),
        "--office-secret",
        p(&root.join("office.secret")),
        "--tables",
        "3",
        "--pin-hash",
        &hash,
        "--out",
        p(out),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (i, port) in ports.iter().enumerate() {
        args.push("--address".into());
        args.push(format!(
            "{}:{}=https://127.0.0.1:{port}",
            i / 3 + 1,
            i % 3 + 1
        ));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ok(&refs)
}

fn load_args<'a>(pkg: &'a Path, table: &'a str, office: &'a Path, st: &'a Path) -> Vec<&'a str> {
    vec![
        "election",
        "load",
        "--package",
        p(pkg),
        "--table",
        table,
        "--office-key",
        p(office),
        "--state",
        p(st),
    ]
}

fn checklist(t: &Table) -> Value {
    let (status, c) = t.get("/api/checklist");
    assert_eq!(status, 200, "{c}");
    c
}

fn check(c: &Value, id: &str) -> bool {
    c["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no item {id} in {c}"))["ok"]
        .as_bool()
        .expect("ok")
}

/// The card codes of the first voters of a polling place who may vote.
fn cards_of(list: &Path, place: &str) -> Vec<String> {
    std::fs::read_to_string(list)
        .expect("list")
        .lines()
        .skip(1)
        .map(|l| l.split(';').collect::<Vec<_>>())
        .filter(|c| c[10] == place && c[14] == "nej" && c[15].is_empty())
        .map(|c| c[12].to_string())
        .take(3)
        .collect()
}

#[test]
fn two_places_of_three_tables_are_provisioned_checked_opened_and_guarded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let list = root.join("list.csv");
    run_ok(&[
        "voters",
        "generate",
        "--count",
        "400",
        "--seed",
        "11",
        "--places",
        "2",
        "--out",
        p(&list),
    ]);
    run_ok(&[
        "office",
        "keygen",
        "--secret",
        p(&root.join("office.secret")),
        "--public",
        p(&root.join("office.pub")),
    ]);
    let office = root.join("office.pub");
    let all = free_ports(12);
    let (ports, screens) = all.split_at(6);
    let pkgs = root.join("usb");
    let out = new_election(root, ELECTION, &list, &pkgs, ports);
    assert!(out.contains("polling place 1"), "{out}");
    assert!(out.contains("polling place 2"), "{out}");

    // Every table loads its package and reports what it loaded.
    let mut tables = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let (place, table) = (i as u32 / 3 + 1, i as u32 % 3 + 1);
        let hw = root.join(format!("hw-{place}-{table}.toml"));
        std::fs::write(
            &hw,
            format!(
                "[printer]\nkind = \"simulated\"\ndir = \"{}\"\n",
                printer(root, place, table).display()
            ),
        )
        .expect("write");
        let pkg = pkgs.join(format!("valgsted-{place}"));
        let st = state(root, place, table);
        let t = table.to_string();
        let listen = format!("127.0.0.1:{}", screens[i]);
        let sync = format!("127.0.0.1:{port}");
        let key = pkg.join(format!("bord-{table}.key"));
        let from = format!("https://127.0.0.1:{}", ports[3]);
        let mut args = if (place, table) == (2, 3) {
            // The last table fetches its package over the LAN from table 1 of its
            // polling place, with only its own key at hand.
            vec![
                "election",
                "load",
                "--from-peer",
                &from,
                "--key",
                p(&key),
                "--table",
                &t,
                "--office-key",
                p(&office),
                "--state",
                p(&st),
            ]
        } else {
            load_args(&pkg, &t, &office, &st)
        };
        args.extend([
            "--listen",
            &listen,
            "--sync-listen",
            &sync,
            "--hardware",
            p(&hw),
        ]);
        if (place, table) == (2, 3) {
            // A device the package does not list gets nothing.
            let stranger = root.join("stranger.key");
            valgbord::store::keyfile::load_or_create(&stranger).expect("key");
            let err = run_fail(&[
                "election",
                "load",
                "--from-peer",
                &from,
                "--key",
                p(&stranger),
                "--table",
                "3",
                "--office-key",
                p(&office),
                "--state",
                p(&root.join("state-stranger")),
            ]);
            assert!(err.contains("cannot reach"), "{err}");
        }
        let said = run_ok(&args);
        if (place, table) == (2, 3) {
            assert!(said.contains("fetched the package"), "{said}");
        }
        assert!(said.contains("400 voters"), "{said}");
        assert!(said.contains(&format!("polling place {place}")), "{said}");
        tables.push(Table::start(root, &st.join("table.toml")));
    }

    for (i, t) in tables.iter().enumerate() {
        let (place, table) = (i as u32 / 3 + 1, i as u32 % 3 + 1);
        let c = checklist(t);
        assert_eq!(c["ready"], false, "{c}");
        assert!(
            check(&c, "valgliste") && check(&c, "testdata") && check(&c, "noegle"),
            "{c}"
        );
        assert!(!check(&c, "scanner"), "{c}");
        // Not ready: opening is refused and says why.
        let (status, r) = t.post("/api/table/open", json!({}));
        assert_eq!(status, 422, "{r}");
        assert!(
            r["error"].as_str().expect("error").contains("Scannertest"),
            "{r}"
        );

        // The printed test card, read by the scanner: both codes.
        let (status, r) = t.post("/api/checklist/test-card", json!({}));
        assert_eq!(status, 200, "{r}");
        let card = printed(&printer(root, place, table));
        let codes: Vec<String> = card
            .lines()
            .filter_map(|l| {
                l.strip_prefix("[QR: ")
                    .or_else(|| l.strip_prefix("[Code 128: "))
                    .map(|c| c.trim_end_matches(']').to_string())
            })
            .collect();
        assert_eq!(codes.len(), 2, "{card}");
        for code in &codes {
            let s = t.scan(code);
            assert_eq!(
                s["view"]["kind"], "ready",
                "a test card is never a check-in: {s}"
            );
        }
        assert!(
            eventually(Duration::from_secs(5), || checklist(t)["ready"] == true),
            "checklist of place {place} table {table}: {}",
            checklist(t)
        );
        let (status, r) = t.post("/api/checklist/print", json!({}));
        assert_eq!(status, 200, "{r}");
        assert!(printed(&printer(root, place, table)).contains("KLAR TIL ÅBNING"));
        t.open();
    }

    // Check-ins work and reach the other tables of the polling place.
    let cards = cards_of(&list, "1");
    let s = tables[0].scan(&cards[0]);
    assert_eq!(outcome(&s), "pending", "{s}");
    assert_eq!(outcome(&tables[0].confirm()), "admitted");
    assert!(eventually(Duration::from_secs(5), || {
        let s = tables[1].scan(&cards[0]);
        tables[1].post("/api/cancel", json!({}));
        outcome(&s) == "already_voted"
    }));
    // A voter of place 1 at a table of place 2 is sent to the right place.
    assert_eq!(outcome(&tables[3].scan(&cards[1])), "wrong_place");

    // A tampered package: one letter of the signed text changed.
    let tampered = root.join("tampered");
    std::fs::create_dir_all(&tampered).expect("mkdir");
    for f in ["package.json", "valgliste.csv", "bord-1.key"] {
        std::fs::copy(pkgs.join("valgsted-1").join(f), tampered.join(f)).expect("copy");
    }
    let text = std::fs::read_to_string(tampered.join("package.json")).expect("read");
    std::fs::write(
        tampered.join("package.json"),
        text.replacen("kv-prov", "kv-prou", 1),
    )
    .expect("write");
    let fresh = root.join("state-fresh");
    let err = run_fail(&load_args(&tampered, "1", &office, &fresh));
    assert!(err.contains("altered"), "{err}");
    // A swapped list under a genuine package.
    std::fs::copy(
        pkgs.join("valgsted-1/package.json"),
        tampered.join("package.json"),
    )
    .expect("copy");
    let mut rows = std::fs::read_to_string(&list).expect("list");
    rows.push_str(&rows.lines().last().expect("row").replacen(';', "9;", 1));
    std::fs::write(tampered.join("valgliste.csv"), rows).expect("write");
    let err = run_fail(&load_args(&tampered, "1", &office, &fresh));
    assert!(err.contains("swapped"), "{err}");

    // Another election's package on a device of this election.
    let other = root.join("usb-other");
    new_election(root, "fv-other", &list, &other, ports);
    let err = run_fail(&load_args(
        &other.join("valgsted-1"),
        "1",
        &office,
        &state(root, 1, 1),
    ));
    assert!(err.contains("kv-prov"), "{err}");

    // A rehearsal's database (test mode) can never become an election table.
    let rehearsal = root.join("state-rehearsal");
    std::fs::create_dir_all(&rehearsal).expect("mkdir");
    run_ok(&[
        "voters",
        "import",
        p(&list),
        "--db",
        p(&rehearsal.join("valgbord.db")),
        "--election",
        ELECTION,
    ]);
    let err = run_fail(&load_args(
        &pkgs.join("valgsted-1"),
        "1",
        &office,
        &rehearsal,
    ));
    assert!(err.contains("prøvekørsel"), "{err}");
}
