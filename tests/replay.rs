//! Replayed sync requests, attacked the way an eavesdropper on the LAN would: a pull and a
//! push a table really sent are recorded on the wire by a proxy between two tables, and
//! sent again later, byte for byte with their signature. A pull replayed must not return
//! the check-ins made since (who voted); a push replayed must be refused too. A request
//! whose time is far off the table's clock, and one without time and nonce (an older
//! version), are refused with the reason.

mod daemon;

use daemon::{Table, eventually, free_ports, outcome, prepare_with, screen, tables_enrolled};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use valgbord::election::keys::DeviceSecret;
use valgbord::store::keyfile;

/// The bytes one connection sent, growing as they come.
type Connection = Arc<Mutex<Vec<u8>>>;

/// What a recording proxy saw: the bytes of each connection from client to server.
#[derive(Clone, Default)]
struct Recording(Arc<Mutex<Vec<Connection>>>);

/// A TCP proxy on loopback that forwards to `upstream` and records every byte sent to
/// it: the eavesdropper's copy of the traffic. Returns its port.
fn recording_proxy(upstream: u16, rec: Recording) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(client) = conn else { continue };
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            let seen = Arc::new(Mutex::new(Vec::new()));
            rec.0.lock().expect("lock").push(seen.clone());
            let (Ok(mut c_read), Ok(mut s_write)) = (client.try_clone(), server.try_clone()) else {
                continue;
            };
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n) = c_read.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    seen.lock().expect("lock").extend_from_slice(&buf[..n]);
                    if s_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = s_write.shutdown(Shutdown::Write);
            });
            let (mut s_read, mut c_write) = (server, client);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s_read, &mut c_write);
                let _ = c_write.shutdown(Shutdown::Write);
            });
        }
    });
    port
}

/// A request as recorded: its signature header and body bytes.
struct Captured {
    signature: String,
    body: Vec<u8>,
}

/// The first complete `POST path` in the recording.
fn captured(rec: &Recording, path: &str) -> Option<Captured> {
    let conns = rec.0.lock().expect("lock").clone();
    for conn in conns {
        let bytes = conn.lock().expect("lock").clone();
        let mut at = 0;
        while let Some(end) = find(&bytes[at..], b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[at..at + end]).to_string();
            let body_at = at + end + 4;
            let header = |name: &str| {
                head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case(name)
                        .then(|| v.trim().to_string())
                })
            };
            let len: usize = header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if bytes.len() < body_at + len {
                break;
            }
            if head.starts_with(&format!("POST {path} "))
                && let Some(signature) = header(valgbord::sync::auth::HEADER)
            {
                return Some(Captured {
                    signature,
                    body: bytes[body_at..body_at + len].to_vec(),
                });
            }
            at = body_at + len;
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Sends recorded bytes again, with the recorded signature: the replay.
fn replay(t: &Table, path: &str, c: &Captured) -> (u16, Value) {
    send_raw(t, path, &c.body, Some(&c.signature))
}

fn send_raw(t: &Table, path: &str, body: &[u8], signature: Option<&str>) -> (u16, Value) {
    let mut req = t
        .agent
        .post(&format!("{}{path}", t.base))
        .header("content-type", "application/json");
    if let Some(s) = signature {
        req = req.header(valgbord::sync::auth::HEADER, s);
    }
    let mut res = req.send(body).expect("POST");
    let status = res.status().as_u16();
    let v: Value = res.body_mut().read_json().unwrap_or(Value::Null);
    (status, v)
}

/// Table 1, and table 2 syncing with it through a recording proxy; both opened.
struct Overheard {
    _dir: tempfile::TempDir,
    t1: Table,
    t2: Table,
    keys: Vec<DeviceSecret>,
    rec: Recording,
}

fn overheard() -> Overheard {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys: Vec<DeviceSecret> = (1..=2)
        .map(|i| keyfile::load_or_create(&dir.path().join(format!("table{i}.key"))).expect("key"))
        .collect();
    let devices = tables_enrolled(keys.iter().map(|k| k.public()));
    let port1 = free_ports(1)[0];
    let rec = Recording::default();
    let proxy = recording_proxy(port1, rec.clone());
    let c1 = prepare_with(
        dir.path(),
        1,
        &format!("127.0.0.1:{port1}"),
        "",
        &format!("[sync]\npeers = []\ndevices = [{devices}]\n"),
    );
    let c2 = prepare_with(
        dir.path(),
        2,
        "127.0.0.1:0",
        "",
        &format!("[sync]\npeers = [\"http://127.0.0.1:{proxy}\"]\ndevices = [{devices}]\n"),
    );
    let t1 = Table::start(dir.path(), &c1);
    let t2 = Table::start(dir.path(), &c2);
    t1.open();
    t2.open();
    Overheard {
        _dir: dir,
        t1,
        t2,
        keys,
        rec,
    }
}

#[test]
fn a_captured_pull_and_push_replayed_later_are_refused() {
    let o = overheard();
    // The eavesdropper records a pull and a push table 2 sends table 1.
    assert!(
        eventually(Duration::from_secs(15), || {
            captured(&o.rec, "/sync/v1/pull").is_some()
                && captured(&o.rec, "/sync/v1/push").is_some()
        }),
        "table 2 sent no pull and push through the proxy"
    );
    let pull = captured(&o.rec, "/sync/v1/pull").expect("pull");
    let push = captured(&o.rec, "/sync/v1/push").expect("push");
    // Later a voter checks in at table 1; table 2 learns of it the honest way.
    assert_eq!(outcome(&o.t1.scan("CARD-NORMAL")), "pending");
    assert_eq!(outcome(&o.t1.confirm()), "admitted");
    assert!(
        eventually(
            Duration::from_secs(10),
            || screen(&o.t2)["persons_checked_in"] == 1
        ),
        "table 2 did not learn of the check-in"
    );
    // The replayed pull would tell the eavesdropper who voted since; it is refused.
    let (status, v) = replay(&o.t1, "/sync/v1/pull", &pull);
    assert_eq!(status, 401, "a replayed pull was answered: {v}");
    assert!(v.get("events").is_none(), "{v}");
    assert!(
        v["error"].as_str().is_some_and(|e| e.contains("replay")),
        "{v}"
    );
    let (status, v) = replay(&o.t1, "/sync/v1/push", &push);
    assert_eq!(status, 401, "a replayed push was taken: {v}");
    // Table 2 itself still syncs: its fresh requests pass.
    assert_eq!(outcome(&o.t2.scan("CARD-SECOND")), "pending");
    assert_eq!(outcome(&o.t2.confirm()), "admitted");
    assert!(
        eventually(
            Duration::from_secs(10),
            || screen(&o.t1)["persons_checked_in"] == 2
        ),
        "table 1 did not learn of table 2's check-in after the replays"
    );
}

/// A random nonce as a device makes one: 16 bytes in hex.
fn nonce() -> String {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).expect("random");
    hex::encode(b)
}

#[test]
fn a_request_far_off_in_time_or_without_time_and_nonce_is_refused() {
    let o = overheard();
    let (_, hello) = o.t2.get("/sync/v1/hello");
    let key = &o.keys[1];
    let now = valgbord::store::now_ms();
    let signed = |body: Value| {
        let bytes = serde_json::to_vec(&body).expect("json");
        let sig = valgbord::sync::auth::sign_body(key, &bytes);
        send_raw(&o.t1, "/sync/v1/pull", &bytes, Some(&sig))
    };
    for (off, what) in [
        (-2 * 3_600_000, "two hours old"),
        (3_600_000, "an hour ahead"),
    ] {
        let (status, v) = signed(json!({
            "hello": hello, "have": {}, "limit": 10,
            "stamp": {"sent_ms": now + off, "peer_offset_ms": 0, "nonce": nonce()},
        }));
        assert_eq!(status, 401, "a pull {what} was answered: {v}");
        assert!(
            v["error"].as_str().is_some_and(|e| e.contains("clock")),
            "{v}"
        );
    }
    // Signed, but from a version that sends no time and nonce.
    let (status, v) = signed(json!({"hello": hello, "have": {}, "limit": 10}));
    assert_eq!(status, 401, "an unstamped pull was answered: {v}");
    assert!(
        v["error"].as_str().is_some_and(|e| e.contains("upgrade")),
        "{v}"
    );
    // The same request with a fresh time and nonce is answered.
    let (status, v) = signed(json!({
        "hello": hello, "have": {}, "limit": 10,
        "stamp": {"sent_ms": now, "peer_offset_ms": 0, "nonce": nonce()},
    }));
    assert_eq!(status, 200, "{v}");
}
