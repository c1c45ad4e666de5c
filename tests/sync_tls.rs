//! Sync over mutual TLS with the device keys, between real table daemons: tables of an
//! election sync only over TLS, a device whose key is not listed can neither connect nor
//! read, the plain screen listener serves no sync in an election, the bytes on the wire
//! are encrypted, and tables find each other by mDNS (in network namespaces).

mod daemon;
mod netlab;

use daemon::{
    Table, block_on, enrolled, eventually, free_ports, import_signed, outcome, peers_text,
    prepare_with, screen, tables_enrolled,
};
use netlab::{Lab, NetTable};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use valgbord::election::keys::{DevicePublic, DeviceSecret};
use valgbord::store::keyfile;
use valgbord::sync::tls::{TrustedKeys, http_client};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// A signed list and `mode = "election"`: sync only over TLS.
    Election,
    /// `mode = "test"`: the screen listener serves plain sync as well.
    Test,
}

/// One table to start: its polling place and whom it pulls from (URLs).
struct Spec {
    place: &'static str,
    peers: Vec<String>,
}

fn spec(place: &'static str, peers: &[String]) -> Spec {
    Spec {
        place,
        peers: peers.to_vec(),
    }
}

struct Place {
    dir: tempfile::TempDir,
    tables: Vec<Table>,
    keys: Vec<DeviceSecret>,
    /// The TLS sync port of each table.
    sync_ports: Vec<u16>,
    /// Listed in every configuration but used by no table: a legitimate device for
    /// the test's own requests.
    spare: DeviceSecret,
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf8 path")
}

/// Writes the configurations of `specs` (TLS listener on `sync_ports`, every key
/// listed) and returns them with the keys.
fn configure(
    dir: &Path,
    mode: Mode,
    specs: &[Spec],
    sync_listen: impl Fn(usize) -> String,
    extra_sync: &str,
) -> (Vec<PathBuf>, Vec<DeviceSecret>, DeviceSecret) {
    let keys: Vec<DeviceSecret> = (0..specs.len())
        .map(|i| keyfile::load_or_create(&dir.join(format!("table{}.key", i + 1))).expect("key"))
        .collect();
    let spare = DeviceSecret::generate();
    let device_list = format!(
        "{}, {}",
        tables_enrolled(keys.iter().map(|k| k.public())),
        enrolled(spare.public(), "role = \"reserve\"")
    );
    let mut configs = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let n = i as u32 + 1;
        if mode == Mode::Election {
            import_signed(dir, &dir.join(format!("table{n}.db")));
        }
        let peers = spec
            .peers
            .iter()
            .map(|u| format!("\"{u}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let config = prepare_with(
            dir,
            n,
            "127.0.0.1:0",
            "",
            &format!(
                "[sync]\nlisten = \"{}\"\npeers = [{peers}]\ndevices = [{device_list}]\n{extra_sync}",
                sync_listen(i)
            ),
        );
        let text = std::fs::read_to_string(&config).expect("config");
        let mut text = text.replace("place = \"1\"", &format!("place = \"{}\"", spec.place));
        if mode == Mode::Election {
            text = text.replace("mode = \"test\"", "mode = \"election\"");
        }
        std::fs::write(&config, text).expect("config");
        configs.push(config);
    }
    (configs, keys, spare)
}

/// Starts tables on loopback; `peers(i, sync_ports)` gives table i's peer URLs.
fn place(n: usize, mode: Mode, peers: impl Fn(usize, &[u16]) -> Vec<String>) -> Place {
    let dir = tempfile::tempdir().expect("tempdir");
    let sync_ports = free_ports(n);
    let specs: Vec<Spec> = (0..n).map(|i| spec("1", &peers(i, &sync_ports))).collect();
    let (configs, keys, spare) = configure(
        dir.path(),
        mode,
        &specs,
        |i| format!("127.0.0.1:{}", sync_ports[i]),
        "",
    );
    let tables = start_open(dir.path(), &configs);
    Place {
        dir,
        tables,
        keys,
        sync_ports,
        spare,
    }
}

/// Starts a table for each configuration and opens it.
fn start_open(dir: &Path, configs: &[PathBuf]) -> Vec<Table> {
    let tables: Vec<Table> = configs.iter().map(|c| Table::start(dir, c)).collect();
    for t in &tables {
        t.open();
    }
    tables
}

fn https(port: u16) -> String {
    format!("https://127.0.0.1:{port}")
}

fn all_others(i: usize, ports: &[u16]) -> Vec<String> {
    (0..ports.len())
        .filter(|&j| j != i)
        .map(|j| https(ports[j]))
        .collect()
}

/// A sync request as a peer device sends it, over TLS as `key`, trusting `trusted`.
/// Err: the connection failed (with the reasons).
fn tls_post(
    key: &DeviceSecret,
    trusted: &[DevicePublic],
    url: &str,
    body: &Value,
) -> Result<(u16, Value), String> {
    let client = http_client(
        key,
        TrustedKeys::Listed(trusted.iter().copied().collect()),
        true,
    )
    .expect("client");
    let bytes = serde_json::to_vec(&daemon::stamped(body.clone())).expect("json");
    let sig = valgbord::sync::auth::sign_body(key, &bytes);
    block_on(async {
        let res = client
            .post(url)
            .header("content-type", "application/json")
            .header(valgbord::sync::auth::HEADER, sig)
            .body(bytes)
            .send()
            .await
            .map_err(|e| valgbord::sync::tls::error_chain(&e))?;
        let status = res.status().as_u16();
        let v: Value = res.json().await.map_err(|e| e.to_string())?;
        Ok((status, v))
    })
}

/// Accepts any server: for a test client that tries to read without a certificate.
#[derive(Debug)]
struct AnyServer(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &rustls::pki_types::CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.verify_tls12_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A POST over TLS without a client certificate.
fn anonymous_post(url: &str, body: &Value) -> Result<(u16, Value), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServer(provider)))
        .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .expect("client");
    block_on(async {
        let res = client
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| valgbord::sync::tls::error_chain(&e))?;
        let status = res.status().as_u16();
        Ok((status, res.json().await.map_err(|e| e.to_string())?))
    })
}

/// A pull asking for everything, speaking as `device`.
fn pull_body(hello: &Value, device: DevicePublic) -> Value {
    let mut hello = hello.clone();
    hello["device"] = json!(device.to_hex());
    json!({"hello": hello, "have": {}, "limit": 100})
}

#[test]
fn election_tables_sync_over_tls_and_a_check_in_is_refused_elsewhere_within_a_second() {
    let p = place(3, Mode::Election, all_others);
    assert!(
        eventually(Duration::from_secs(10), || p
            .tables
            .iter()
            .all(|t| peers_text(t).starts_with("2 af 2 forbundet"))),
        "tables did not connect over TLS: {:?}",
        p.tables.iter().map(peers_text).collect::<Vec<_>>()
    );
    let t1 = &p.tables[0];
    assert_eq!(outcome(&t1.scan("CARD-NORMAL")), "pending");
    assert_eq!(outcome(&t1.confirm()), "admitted");
    // The promise (within 1 s at every other table), asserted as in tests/sync.rs.
    let confirmed = Instant::now();
    for (i, t) in p.tables.iter().enumerate().skip(1) {
        assert!(
            eventually(
                Duration::from_secs(1).saturating_sub(confirmed.elapsed()),
                || screen(t)["persons_checked_in"] == 1
            ),
            "table {} did not learn of the check-in within 1 s",
            i + 1
        );
        assert_eq!(outcome(&t.scan("CARD-NORMAL")), "already_voted");
    }
}

#[test]
fn a_device_without_a_listed_key_can_neither_handshake_nor_read() {
    let p = place(2, Mode::Election, all_others);
    let t1 = &p.tables[0];
    assert_eq!(outcome(&t1.scan("CARD-SECOND")), "pending");
    assert_eq!(outcome(&t1.confirm()), "admitted");
    let listed: Vec<DevicePublic> = p.keys.iter().map(|k| k.public()).collect();
    let url = format!("{}/sync/v1/pull", https(p.sync_ports[0]));
    // The table's own hello, for well-formed requests.
    let hello = hello_of(p.sync_ports[0], &p.spare, listed[0]);

    // A listed device reads the log: the refusals below are about the key alone.
    let (status, page) = tls_post(
        &p.spare,
        &listed,
        &url,
        &pull_body(&hello, p.spare.public()),
    )
    .expect("a listed device connects");
    assert_eq!(status, 200, "{page}");
    assert!(
        page["events"].as_array().is_some_and(|e| !e.is_empty()),
        "{page}"
    );

    // A device whose key is not listed: the handshake is refused, nothing is answered,
    // even with a correctly signed request.
    let stranger = DeviceSecret::generate();
    let e = tls_post(
        &stranger,
        &listed,
        &url,
        &pull_body(&hello, stranger.public()),
    )
    .expect_err("an unlisted device must not get an answer");
    assert!(!e.is_empty());
    // Nor by claiming to be a listed table: the TLS identity is the key it holds.
    let e = tls_post(&stranger, &listed, &url, &pull_body(&hello, listed[1]))
        .expect_err("an unlisted device must not get an answer");
    assert!(!e.is_empty());

    // A client that presents no certificate at all (and would accept any server).
    let e = anonymous_post(&url, &pull_body(&hello, listed[1]))
        .expect_err("a client without a certificate must not get an answer");
    assert!(!e.is_empty());
    // Plain HTTP to the TLS port: no answer either.
    let mut tcp = TcpStream::connect(("127.0.0.1", p.sync_ports[0])).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    tcp.write_all(b"GET /sync/v1/hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    assert!(!contains(&answer, "HTTP/1.1 200"), "{answer:?}");
    assert!(!contains(&answer, "kv-test"), "{answer:?}");

    // A listed device speaking for another listed device over its own connection.
    let (status, e) =
        tls_post(&p.spare, &listed, &url, &pull_body(&hello, listed[1])).expect("connects");
    assert_eq!(status, 401, "{e}");
    assert!(
        e["error"]
            .as_str()
            .is_some_and(|s| s.contains("TLS connection is device")),
        "{e}"
    );

    // The client side checks the server too: a table whose key we do not list is not
    // talked to (a rogue "table" on the LAN cannot feed or read anything).
    let e = tls_post(
        &p.spare,
        &[listed[1]],
        &url,
        &pull_body(&hello, p.spare.public()),
    )
    .expect_err("a server with an unlisted key must be refused");
    assert!(e.contains("not listed"), "{e}");
}

/// The hello of the table at `port`, read over TLS by the listed device `key`.
fn hello_of(port: u16, key: &DeviceSecret, table: DevicePublic) -> Value {
    let client = http_client(key, TrustedKeys::Listed([table].into()), true).expect("client");
    block_on(async {
        client
            .get(format!("{}/sync/v1/hello", https(port)))
            .send()
            .await
            .expect("hello over TLS")
            .json()
            .await
            .expect("hello JSON")
    })
}

#[test]
fn the_screen_listener_of_an_election_table_serves_no_sync() {
    let p = place(1, Mode::Election, |_, _| vec![]);
    let t = &p.tables[0];
    let hello = hello_of(p.sync_ports[0], &p.spare, p.keys[0].public());
    // Even a correctly signed request of a listed device is not served in plain HTTP.
    let (status, v) = t.post_signed(
        "/sync/v1/pull",
        pull_body(&hello, p.spare.public()),
        Some(&p.spare),
    );
    assert_eq!(status, 421, "{v}");
    assert!(v.get("events").is_none(), "{v}");
    assert!(
        v["error"].as_str().is_some_and(|e| e.contains("TLS")),
        "{v}"
    );
    assert_eq!(t.get("/sync/v1/hello").0, 421);
    // The same request over TLS is answered.
    let url = format!("{}/sync/v1/pull", https(p.sync_ports[0]));
    let (status, v) = tls_post(
        &p.spare,
        &[p.keys[0].public()],
        &url,
        &pull_body(&hello, p.spare.public()),
    )
    .expect("TLS");
    assert_eq!(status, 200, "{v}");

    // A configuration with a plain http:// peer does not start in an election.
    let config = std::fs::read_to_string(&t.config)
        .expect("config")
        .replace("peers = []", "peers = [\"http://127.0.0.1:9\"]");
    let bad = p.dir.path().join("plain.toml");
    std::fs::write(&bad, config).expect("write");
    let out = Command::new(daemon::BIN)
        .args(["table", "--config", s(&bad)])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("plain HTTP") && err.contains("https://"),
        "{err}"
    );
}

/// A TCP relay that keeps a copy of every byte in both directions.
fn recording_proxy(target: u16) -> (u16, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                continue;
            };
            for (mut from, mut to) in [
                (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                ),
                (server, client),
            ] {
                let record = record.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        record.lock().expect("lock").extend_from_slice(&buf[..n]);
                    }
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
            }
        }
    });
    (port, seen)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn sync_traffic_is_encrypted_on_the_wire() {
    // Table 1 serves; table 2 reaches it only over TLS through a recording relay, table 3
    // only over plain HTTP (test mode) through another.
    let dir = tempfile::tempdir().expect("tempdir");
    let sync_ports = free_ports(3);
    let (tls_relay, tls_bytes) = recording_proxy(sync_ports[0]);
    // Table 1's screen listener gets a fixed port, so its plain relay can point at it.
    let plain_port = free_ports(1)[0];
    let (plain_relay, plain_bytes) = recording_proxy(plain_port);
    let specs = [
        spec("1", &[]),
        spec("1", &[format!("https://127.0.0.1:{tls_relay}")]),
        spec("1", &[format!("http://127.0.0.1:{plain_relay}")]),
    ];
    let (configs, _keys, _) = configure(
        dir.path(),
        Mode::Test,
        &specs,
        |i| format!("127.0.0.1:{}", sync_ports[i]),
        "",
    );
    // Table 1's screen listener on the port the plain relay forwards to.
    let c1 = std::fs::read_to_string(&configs[0])
        .expect("config")
        .replace(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"127.0.0.1:{plain_port}\""),
        );
    std::fs::write(&configs[0], c1).expect("config");
    let tables = start_open(dir.path(), &configs);
    let t1 = &tables[0];
    assert_eq!(outcome(&t1.scan("CARD-NORMAL")), "pending");
    assert_eq!(outcome(&t1.confirm()), "admitted");
    for t in &tables[1..] {
        assert!(
            eventually(Duration::from_secs(10), || screen(t)["persons_checked_in"]
                == 1),
            "the check-in did not pass the relay"
        );
    }
    let plain = plain_bytes.lock().expect("lock").clone();
    let tls = tls_bytes.lock().expect("lock").clone();
    // The plain relay carried the check-in readably: the card code, the voter, the API.
    for word in ["CARD-NORMAL", "voter_id", "/sync/v1/pull"] {
        assert!(contains(&plain, word), "plain HTTP should show {word}");
    }
    // The TLS relay carried as much, and none of it is readable.
    assert!(tls.len() > 1000, "only {} bytes through TLS", tls.len());
    for word in ["CARD-NORMAL", "voter_id", "/sync/v1", "kv-test", "hello"] {
        assert!(!contains(&tls, word), "TLS traffic shows {word}");
    }
}

// ---- mDNS discovery between tables in network namespaces --------------------------

#[test]
fn tables_find_each_other_by_mdns_and_ignore_another_polling_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = Lab::new(&["t1", "t2", "t3"]);
    // Tables 1 and 2 of polling place 1 and a table of polling place 2, all keys listed,
    // no peers configured: only mDNS can connect them.
    let specs = [spec("1", &[]), spec("1", &[]), spec("2", &[])];
    let (configs, _, _) = configure(
        dir.path(),
        Mode::Test,
        &specs,
        |_| "0.0.0.0:8443".into(),
        "mdns = true\n",
    );
    let logs: Vec<PathBuf> = (0..3)
        .map(|i| dir.path().join(format!("table{}.log", i + 1)))
        .collect();
    let tables: Vec<NetTable> = configs
        .iter()
        .enumerate()
        .map(|(i, c)| NetTable::start(lab.host(i), dir.path(), c, &logs[i]))
        .collect();
    for t in &tables {
        t.at(|t| t.open());
    }
    let log = |i: usize| tables[i].log_text();
    for (i, t) in tables.iter().enumerate().take(2) {
        let peers = || t.at(peers_text);
        assert!(
            eventually(Duration::from_secs(20), || peers()
                .starts_with("1 af 1 forbundet")),
            "table {} did not find its peer by mDNS: {:?}\n{}",
            i + 1,
            peers(),
            log(i)
        );
    }
    // Each saw the table of the other polling place and left it out.
    for i in 0..3 {
        assert!(
            eventually(Duration::from_secs(20), || log(i)
                .contains("a table of another polling place")),
            "table {} did not report ignoring the other place:\n{}",
            i + 1,
            log(i)
        );
    }
    assert!(log(0).contains("https://192.0.2.2:8443"), "{}", log(0));
    // A check-in at table 1 is refused at table 2.
    tables[0].at(|t| {
        assert_eq!(outcome(&t.scan("CARD-NORMAL")), "pending");
        assert_eq!(outcome(&t.confirm()), "admitted");
    });
    assert!(
        eventually(Duration::from_secs(5), || tables[1]
            .at(|t| screen(t)["persons_checked_in"] == 1)),
        "table 2 did not learn of the check-in"
    );
    tables[1].at(|t| assert_eq!(outcome(&t.scan("CARD-NORMAL")), "already_voted"));
    // Still one peer each; the other polling place's table has none.
    assert!(tables[0].at(peers_text).starts_with("1 af 1"));
    assert!(!tables[2].at(peers_text).starts_with("1 af"));
    drop(tables);
}

/// A mutual-TLS connection to a table's sync listener as the listed device `key`: it
/// passes the handshake, so only the server's per-connection limits can end it.
fn enrolled_connection(
    key: &DeviceSecret,
    table: DevicePublic,
    port: u16,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let config = valgbord::sync::tls::client_config(key, TrustedKeys::Listed([table].into()))
        .expect("client config");
    let name = rustls::pki_types::ServerName::try_from("valgbord").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
    let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    // The handshake itself: a listed device is let in.
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .expect("a listed device completes the handshake");
    }
    tls
}

/// Whether the server ends the connection (closes it, or answers and closes) before
/// `deadline`, while `between` is called every half second (to trickle a body). Some
/// with what was read when it ended.
fn ended_within(
    tls: &mut rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    deadline: Duration,
    mut between: impl FnMut(&mut rustls::StreamOwned<rustls::ClientConnection, TcpStream>),
) -> Option<Vec<u8>> {
    let until = Instant::now() + deadline;
    let mut got = Vec::new();
    tls.sock
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    while Instant::now() < until {
        let mut buf = [0u8; 4096];
        match tls.read(&mut buf) {
            Ok(0) => return Some(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                between(tls)
            }
            Err(_) => return Some(got),
        }
    }
    None
}

#[test]
fn an_enrolled_device_cannot_hold_a_sync_connection_with_half_a_request() {
    let p = place(1, Mode::Election, |_, _| vec![]);
    let table = p.keys[0].public();
    let margin = Duration::from_secs(6);

    // Half a request head, then nothing (slowloris from a device that is listed).
    let mut tls = enrolled_connection(&p.spare, table, p.sync_ports[0]);
    tls.write_all(b"GET /sync/v1/hello HTTP/1.1\r\nHost: valgbord\r\n")
        .expect("write");
    tls.flush().expect("flush");
    let start = Instant::now();
    let ended = ended_within(
        &mut tls,
        valgbord::web::serve::HEADER_READ_TIMEOUT + margin,
        |_| {},
    );
    assert!(
        ended.is_some(),
        "the table held a half-sent request head for {:?}",
        start.elapsed()
    );

    // A body declared large and sent a byte at a time: cut at the request timeout.
    let mut tls = enrolled_connection(&p.spare, table, p.sync_ports[0]);
    tls.write_all(
        b"POST /sync/v1/pull HTTP/1.1\r\nHost: valgbord\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{",
    )
    .expect("write");
    tls.flush().expect("flush");
    let start = Instant::now();
    let ended = ended_within(
        &mut tls,
        valgbord::web::serve::REQUEST_TIMEOUT + margin,
        |tls| {
            // The peer may already have closed; the read above then says so.
            let _ = tls.write_all(b" ");
            let _ = tls.flush();
        },
    );
    let elapsed = start.elapsed();
    let answer =
        ended.unwrap_or_else(|| panic!("a trickled body held the connection for {elapsed:?}"));
    assert!(
        elapsed >= valgbord::web::serve::REQUEST_TIMEOUT - Duration::from_secs(1),
        "cut after {elapsed:?}, before the request timeout"
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );

    // The table still answers a well-formed request from the same device.
    let hello = hello_of(p.sync_ports[0], &p.spare, table);
    assert!(hello.is_object(), "{hello}");
}
