//! The central tally over TLS, attacked as someone on the WAN would: an election central
//! will not start without the office screen's certificate; the office screen speaks
//! only HTTPS and its session cookie is `Secure`; tables push over mutual TLS with their
//! device keys and a device the central does not enrol cannot even complete a handshake;
//! the office listener serves no sync in an election (421).

mod daemon;

use base64::Engine;
use daemon::{
    BIN, Table, block_on, enrolled, eventually, free_ports, import_signed, pin_hash, prepare_with,
    spawn_listening, tables_enrolled,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use valgbord::election::keys::DeviceSecret;
use valgbord::store::keyfile;
use valgbord::sync::tls::{TrustedKeys, http_client};

const ADMIN: (&str, &str) = ("kontor", "hemmelig-1");

fn s(p: &Path) -> &str {
    p.to_str().expect("utf8 path")
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("ascii"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A self-signed certificate for 127.0.0.1 as the municipality would provide one
/// (PEM files); returns (cert path, key path, the certificate's DER for the client).
fn office_certificate(dir: &Path) -> (PathBuf, PathBuf, Vec<u8>) {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key pair");
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("params")
        .self_signed(&pair)
        .expect("self-signed");
    let (cert_path, key_path) = (dir.join("office-cert.pem"), dir.join("office-key.pem"));
    std::fs::write(&cert_path, pem("CERTIFICATE", cert.der())).expect("cert");
    std::fs::write(&key_path, pem("PRIVATE KEY", &pair.serialize_der())).expect("key");
    (cert_path, key_path, cert.der().to_vec())
}

/// An election central's configuration with `extra` top-level keys and `tables`.
fn central_config(dir: &Path, extra: &str, tables: &str) -> PathBuf {
    let db = dir.join("central.db");
    if !db.exists() {
        import_signed(dir, &db);
    }
    let config = dir.join("central.toml");
    std::fs::write(
        &config,
        format!(
            r#"election = "kv-test"
mode = "election"
database = "{db}"
key = "{key}"
listen = "127.0.0.1:0"
{extra}
{tables}
[[users]]
name = "{admin}"
password = "{hash}"
role = "admin"
"#,
            db = s(&db),
            key = s(&dir.join("central.key")),
            admin = ADMIN.0,
            hash = pin_hash(ADMIN.1),
        ),
    )
    .expect("write central config");
    config
}

/// Runs `valgbord central` and waits (with a deadline) for it to exit: Some(stderr) if
/// it did, None if it was still running (it is then killed).
fn exits_with(config: &Path) -> Option<String> {
    let mut child = Command::new(BIN)
        .args(["central", "--config", s(config)])
        .env("VALGBORD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn central");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if child.try_wait().expect("wait").is_some() {
            let out = child.wait_with_output().expect("output");
            return Some(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A browser that trusts exactly the office certificate.
fn https_client(cert_der: &[u8]) -> reqwest::Client {
    daemon::https_client([cert_der.to_vec()])
}

/// A running election central with its office certificate.
struct Central {
    child: Child,
    /// `https://127.0.0.1:PORT` of the office screen.
    base: String,
    client: reqwest::Client,
    sync_port: u16,
    token: Option<String>,
}

impl Drop for Central {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Central {
    fn start(dir: &Path, tables: &str) -> Central {
        let (cert, key, der) = office_certificate(dir);
        let sync_port = free_ports(1)[0];
        let config = central_config(
            dir,
            &format!(
                "tls_cert = \"{}\"\ntls_key = \"{}\"\nsync_listen = \"127.0.0.1:{sync_port}\"",
                s(&cert),
                s(&key)
            ),
            tables,
        );
        let (child, base) = spawn_listening("central", &config);
        Central {
            child,
            base,
            client: https_client(&der),
            sync_port,
            token: None,
        }
    }

    /// (status, headers, body as JSON) of a request to the office screen.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Vec<String>, Value) {
        let url = format!("{}{path}", self.base);
        block_on(async {
            let mut r = match method {
                "GET" => self.client.get(&url),
                _ => self.client.post(&url).json(&body.unwrap_or(json!({}))),
            };
            if let Some(t) = &self.token {
                r = r.bearer_auth(t);
            }
            let res = r.send().await.expect("HTTPS request");
            let status = res.status().as_u16();
            let cookies = res
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_string))
                .collect();
            let v = res.json().await.unwrap_or(Value::Null);
            (status, cookies, v)
        })
    }
}

#[test]
fn an_election_central_without_the_office_certificate_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = central_config(dir.path(), "", "");
    let stderr = exits_with(&config)
        .expect("an election central without tls_cert/tls_key started on plain HTTP");
    assert!(
        stderr.contains("tls_cert") && stderr.contains("tls_key"),
        "the reason names the keys: {stderr}"
    );
    // A table URL in plain HTTP is refused too, with the key that holds it.
    let (cert, key, _) = office_certificate(dir.path());
    let plain_table = format!(
        "[[tables]]\nplace = \"1\"\ntable_no = 1\nkey = \"{}\"\nurl = \"http://127.0.0.1:1\"\n",
        DeviceSecret::generate().public().to_hex()
    );
    let config = central_config(
        dir.path(),
        &format!("tls_cert = \"{}\"\ntls_key = \"{}\"", s(&cert), s(&key)),
        &plain_table,
    );
    let stderr = exits_with(&config).expect("an http:// table URL was accepted in an election");
    assert!(stderr.contains("tables[0].url"), "{stderr}");
}

#[test]
fn the_office_screen_is_https_only_with_a_secure_cookie_and_serves_no_plain_sync() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = Central::start(dir.path(), "");
    assert!(c.base.starts_with("https://"), "{}", c.base);

    let (status, cookies, v) = c.call(
        "POST",
        "/api/login",
        Some(json!({"user": ADMIN.0, "password": ADMIN.1})),
    );
    assert_eq!(status, 200, "{v}");
    let cookie = cookies
        .iter()
        .find(|c| c.starts_with("valgbord_central="))
        .expect("session cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    c.token = v["token"].as_str().map(str::to_string);
    let (status, _, me) = c.call("GET", "/api/me", None);
    assert_eq!((status, me["user"].as_str()), (200, Some(ADMIN.0)));

    // Someone on the WAN speaking plain HTTP gets no login page, only a failed
    // handshake.
    let plain = c.base.replace("https://", "http://");
    let got = daemon::agent().get(&format!("{plain}/")).call();
    if let Ok(mut res) = got {
        let body = res.body_mut().read_to_string().unwrap_or_default();
        assert!(
            res.status().as_u16() != 200 && !body.contains("<html"),
            "plain HTTP served the office screen: {} {body}",
            res.status()
        );
    }

    // Sync on the office listener is refused with where to go instead.
    let (status, _, v) = c.call("POST", "/sync/v1/pull", Some(json!({})));
    assert_eq!(status, 421, "{v}");
}

#[test]
fn an_election_table_pushes_over_mutual_tls_and_a_stranger_cannot_handshake() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let table_key = keyfile::load_or_create(&d.join("table1.key")).expect("key");
    let central_key = keyfile::load_or_create(&d.join("central.key")).expect("key");
    let tables = format!(
        "[[tables]]\nplace = \"1\"\ntable_no = 1\nkey = \"{}\"\n",
        table_key.public().to_hex()
    );
    let mut c = Central::start(d, &tables);

    import_signed(d, &d.join("table1.db"));
    let config = prepare_with(
        d,
        1,
        "127.0.0.1:0",
        "",
        &format!(
            "[sync]\ncentral = [\"https://127.0.0.1:{}\"]\ndevices = [{}, {}]\n",
            c.sync_port,
            tables_enrolled([table_key.public()]),
            enrolled(central_key.public(), "role = \"central\"")
        ),
    );
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replace("mode = \"test\"", "mode = \"election\""),
    )
    .expect("config");
    let t = Table::start(d, &config);
    t.open();
    let scanned = t.scan("CARD-NORMAL");
    assert_eq!(scanned["view"]["kind"], "pending", "{scanned}");
    assert_eq!(t.confirm()["view"]["kind"], "admitted");

    let (status, _, v) = c.call(
        "POST",
        "/api/login",
        Some(json!({"user": ADMIN.0, "password": ADMIN.1})),
    );
    assert_eq!(status, 200, "{v}");
    c.token = v["token"].as_str().map(str::to_string);
    let pushed = eventually(Duration::from_secs(20), || {
        let (_, _, o) = c.call("GET", "/api/overview", None);
        o["places"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["id"] == "1" && p["figures"]["checked_in"] == 1)
    });
    let (_, _, o) = c.call("GET", "/api/overview", None);
    assert!(pushed, "the check-in never reached the central: {o}");

    // The enrolled table key completes a handshake on the sync port; a key the central
    // does not enrol does not.
    let hello = format!("https://127.0.0.1:{}/sync/v1/hello", c.sync_port);
    let get = |key: &DeviceSecret| {
        let client = http_client(key, TrustedKeys::Any, true).expect("client");
        block_on(async { client.get(&hello).send().await.map(|r| r.status().as_u16()) })
    };
    assert_eq!(get(&table_key).expect("an enrolled table connects"), 200);
    let stranger = DeviceSecret::generate();
    let e = get(&stranger).expect_err("a stranger's key completed a TLS handshake");
    let why = valgbord::sync::tls::error_chain(&e);
    assert!(!why.is_empty());
}

/// Every table of the election office holds a sync connection to the central for its
/// pushes all day. A municipality has hundreds of tables and the country about 10,000:
/// the central's sync listener must admit one connection from each enrolled table, not
/// a fixed few hundred (it had a cap of 512, so table 513 onward was turned away).
#[test]
fn the_central_holds_a_sync_connection_from_each_of_its_enrolled_tables() {
    const TABLES: u32 = 700;
    let dir = tempfile::tempdir().expect("tempdir");
    let keys: Vec<DeviceSecret> = (0..TABLES).map(|_| DeviceSecret::generate()).collect();
    let tables: String = keys
        .iter()
        .zip(1..)
        .map(|(k, no)| {
            format!(
                "[[tables]]\nplace = \"1\"\ntable_no = {no}\nkey = \"{}\"\n",
                k.public().to_hex()
            )
        })
        .collect();
    let c = Central::start(dir.path(), &tables);
    let hello = format!("https://127.0.0.1:{}/sync/v1/hello", c.sync_port);
    // One client per table, each keeping its connection open after its first answer,
    // as a table's sync client does between pushes (one runtime, so the connections
    // live on between the requests).
    let held = block_on(async {
        let mut held = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let client = http_client(key, TrustedKeys::Any, true).expect("client");
            match client.get(&hello).send().await {
                Ok(r) => assert_eq!(r.status().as_u16(), 200, "table {}", i + 1),
                Err(e) => panic!(
                    "table {} of {TABLES} could not connect while {i} tables held theirs: {}",
                    i + 1,
                    valgbord::sync::tls::error_chain(&e)
                ),
            }
            held.push(client);
        }
        held
    });
    assert_eq!(held.len(), TABLES as usize);
}
