//! `valgbord demo`, the README's first command, run as a user runs it: a whole polling
//! place provisioned the way an election is (each device's key made in its own folder,
//! the office's signed package listing only public keys and roles, each table loading
//! it), the tables syncing over mutual TLS and pushing to the central tally, whose
//! office screen speaks HTTPS.

mod daemon;

use daemon::{BIN, eventually, outcome};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use valgbord::store::inspect::Watcher;

/// The demo process, stopped when the test ends.
struct Demo {
    child: Child,
    tables: Vec<String>,
    central: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the demo with `tables` tables in `dir` and reads the addresses it prints.
fn start(dir: &Path, tables: u32) -> Demo {
    let mut child = Command::new(BIN)
        .args(["demo", "--port", "0", "--sync-port", "0", "--voters", "600"])
        .args(["--tables", &tables.to_string()])
        .args(["--dir", dir.to_str().expect("utf8 path")])
        .env("VALGBORD_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn demo");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut urls, mut central) = (Vec::new(), None);
    for line in lines.by_ref() {
        let line = line.expect("demo output");
        if let Some(rest) = line.trim().strip_prefix("bord ") {
            urls.push(
                rest.split_once(": ")
                    .expect("bord N: URL")
                    .1
                    .trim_end_matches('/')
                    .to_string(),
            );
        }
        if let Some(rest) = line.trim().strip_prefix("valgkontoret (central tally): ") {
            central = rest
                .split_whitespace()
                .next()
                .map(|u| u.trim_end_matches('/').to_string());
        }
        if line.starts_with("Ctrl-C") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let central = central.expect("the demo printed no central tally");
    assert_eq!(urls.len(), tables as usize, "{urls:?}");
    Demo {
        child,
        tables: urls,
        central,
    }
}

fn post(base: &str, path: &str, body: Value) -> Value {
    let mut res = daemon::agent()
        .post(&format!("{base}{path}"))
        .send_json(body)
        .expect("POST");
    res.body_mut().read_json().expect("JSON")
}

/// A voter of polling place `place_id` who may vote (no brevstemme, not struck): (id, card code).
fn voter_who_may_vote(list: &Path, place_id: &str) -> (String, String) {
    let text = std::fs::read_to_string(list).expect("list");
    let mut rows = text.lines();
    let header: Vec<&str> = rows
        .next()
        .expect("header")
        .trim_start_matches('\u{feff}')
        .split(';')
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no {name} in {header:?}"))
    };
    let (id, place, card, brev, struck) = (
        col("vaelger_id"),
        col("valgsted"),
        col("kortkode"),
        col("brevstemme"),
        col("slettet"),
    );
    rows.map(|r| r.split(';').collect::<Vec<_>>())
        .find(|f| f[place] == place_id && matches!(f[brev], "" | "nej") && f[struck].is_empty())
        .map(|f| (f[id].to_string(), f[card].to_string()))
        .expect("a voter who may vote")
}

/// A client that trusts exactly the demo's self-signed office certificate.
fn office_client(cert_pem: &Path) -> reqwest::Client {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    daemon::https_client(
        CertificateDer::pem_file_iter(cert_pem)
            .expect("certificate file")
            .map(|c| c.expect("certificate").to_vec()),
    )
}

#[test]
fn the_demo_is_provisioned_like_an_election_and_its_tables_and_central_share_a_check_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = start(dir.path(), 2);

    // Provisioned like an election: every key was made in its device's own folder; the
    // office's package lists only their public halves, with roles, and no secret.
    let package: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("pakker/valgsted-1/package.json"))
            .expect("package"),
    )
    .expect("package JSON");
    let body: Value =
        serde_json::from_str(package["body"].as_str().expect("body")).expect("body JSON");
    for t in 1..=2u32 {
        let key_file = dir.path().join(format!("bord-{t}/device.key"));
        let secret = valgbord::store::keyfile::load(&key_file).expect("the table's own key");
        let listed = body["tables"]
            .as_array()
            .expect("tables")
            .iter()
            .find(|e| e["table_no"] == t)
            .unwrap_or_else(|| panic!("table {t} not in the package: {body}"));
        assert_eq!(
            listed["device"],
            json!(secret.public().to_hex()),
            "{listed}"
        );
        let secret_hex = std::fs::read_to_string(&key_file).unwrap_or_default();
        assert!(
            secret_hex.trim().is_empty() || !package.to_string().contains(secret_hex.trim()),
            "a secret key is in the package"
        );
        let config = std::fs::read_to_string(dir.path().join(format!("bord-{t}/table.toml")))
            .expect("table.toml");
        assert!(
            config.starts_with("# Written by `valgbord election load`"),
            "{config}"
        );
        assert!(config.contains("role = \"central\""), "{config}");
        assert!(config.contains("[[officials]]"), "{config}");
    }
    let central_key = valgbord::store::keyfile::load(&dir.path().join("valgkontor/device.key"))
        .expect("central key");
    assert_eq!(
        body["centrals"][0]["device"],
        json!(central_key.public().to_hex())
    );
    assert!(
        body["centrals"][0]["url"]
            .as_str()
            .unwrap_or_default()
            .starts_with("https://"),
        "{body}"
    );

    // A check-in at table 1 is refused at table 2 and reaches the central over TLS.
    let (voter, card) = voter_who_may_vote(&dir.path().join("valgliste.csv"), "1");
    let (t1, t2) = (&demo.tables[0], &demo.tables[1]);
    assert_eq!(
        outcome(&post(t1, "/api/scan", json!({ "code": card }))),
        "pending"
    );
    assert_eq!(outcome(&post(t1, "/api/confirm", json!({}))), "admitted");
    let mut last = Value::Null;
    assert!(
        eventually(Duration::from_secs(10), || {
            last = post(t2, "/api/scan", json!({ "code": card }));
            let refused = outcome(&last) == "already_voted";
            if !refused {
                post(t2, "/api/cancel", json!({}));
            }
            refused
        }),
        "table 2 did not refuse the voter checked in at table 1: {last}"
    );
    // A voter of the municipality's other polling place is sent there by name and
    // address: the demo's package carries the places' addresses as an election's does.
    let (_, other_card) = voter_who_may_vote(&dir.path().join("valgliste.csv"), "2");
    let refused = post(t2, "/api/scan", json!({ "code": other_card }));
    assert_eq!(outcome(&refused), "wrong_place", "{refused}");
    let detail = refused["view"]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("Vestre Skole, Skolevej 2, 8000 Aarhus C"),
        "{detail}"
    );
    let central_db = dir.path().join("valgkontor/valgkontor.db");
    assert!(
        eventually(Duration::from_secs(10), || Watcher::open(&central_db)
            .and_then(|w| w.holds_checkin(&voter))
            .unwrap_or(false)),
        "the central tally never held the check-in"
    );

    // The office screen answers over HTTPS with the demo's certificate, and its login works.
    let client = office_client(&dir.path().join("valgkontor/kontor-cert.pem"));
    let status = daemon::block_on(async {
        client
            .post(format!("{}/api/login", demo.central))
            .json(&json!({ "user": "valgkontor", "password": "demo" }))
            .send()
            .await
            .expect("HTTPS to the office screen")
            .status()
            .as_u16()
    });
    assert_eq!(status, 200);
}
