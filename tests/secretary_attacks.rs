//! Issue 16, read as an attacker would, against a real table daemon: guessing the
//! valgsekretær's PIN, a check-in without a card and without the valgsekretær, a POST
//! from another site, an election screen listening beyond loopback, a card reissued
//! for a voter of another polling place. Each test does what the attacker does and
//! checks what the table then shows.

mod daemon;

use daemon::{
    BIN, PIN, Table, agent, call, eventually, import_signed, login, outcome, prepare, prepare_with,
    screen, tables_enrolled,
};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn started() -> (tempfile::TempDir, Table) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = prepare(dir.path(), 1, "");
    let t = Table::start(dir.path(), &config);
    t.open();
    (dir, t)
}

fn events(t: &Table) -> u64 {
    t.get("/api/health").1["events"].as_u64().expect("events")
}

fn error(r: &Value) -> String {
    r["error"].as_str().unwrap_or_default().to_string()
}

#[test]
fn guessing_the_pin_is_slowed_down_and_then_even_the_right_pin_waits() {
    let (_dir, t) = started();
    for _ in 0..2 {
        let (status, r) = t.post(
            "/api/secretary/login",
            json!({ "name": daemon::SECRETARY, "pin": "0000" }),
        );
        assert_eq!((status, error(&r).as_str()), (401, "Forkert PIN."));
    }
    let (status, r) = t.post(
        "/api/secretary/login",
        json!({ "name": daemon::SECRETARY, "pin": "0001" }),
    );
    assert_eq!(status, 401);
    assert_eq!(
        error(&r),
        "Forkert PIN. For mange forsøg: prøv igen om 5 sekunder."
    );
    // The attacker, or the valgsekretær who finally remembers it, must now wait: the
    // right PIN is not even checked, at the login nor at the table screen's own PIN
    // fields, which share the count.
    let (status, r) = t.post(
        "/api/secretary/login",
        json!({ "name": daemon::SECRETARY, "pin": PIN }),
    );
    assert_eq!(status, 401, "{r}");
    assert!(
        error(&r).starts_with("For mange forsøg: prøv igen om "),
        "{r}"
    );
    let (status, r) = t.post(
        "/api/undo",
        json!({"voter_id": "V1", "reason": "guess", "name": daemon::SECRETARY, "pin": PIN}),
    );
    assert_eq!(status, 422, "{r}");
    assert!(error(&r).starts_with("For mange forsøg"), "{r}");
}

/// An argon2 hash of `pin` that takes seconds to check (many passes): the table checks
/// with the parameters of the hash, so a PIN check is reliably still running while the
/// test scans a card and asks again. This is the one generous margin of the test: a
/// scan takes milliseconds, the check seconds; nothing is timed.
fn slow_pin_hash(pin: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(19_456, 100, 1, None).expect("params");
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"valgbord-test-01").expect("salt");
    a.hash_password(pin.as_bytes(), &salt)
        .expect("hash")
        .to_string()
}

fn post_from_thread(base: &str, path: &str, body: Value) -> (u16, Value) {
    let mut res = agent()
        .post(&format!("{base}{path}"))
        .send_json(body)
        .expect("POST");
    let status = res.status().as_u16();
    (status, res.body_mut().read_json().expect("json"))
}

#[test]
fn scans_are_served_while_someone_guesses_pins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = prepare(dir.path(), 1, "");
    let text = std::fs::read_to_string(&config).expect("config");
    let line = text
        .lines()
        .find(|l| l.starts_with("pin_hash = "))
        .expect("pin line")
        .to_string();
    let slow = format!("pin_hash = \"{}\"", slow_pin_hash(PIN));
    std::fs::write(&config, text.replacen(&line, &slow, 1)).expect("config");
    let t = Table::start(dir.path(), &config);
    t.open();

    // The attacker's guess runs; a second login is turned away while it does (the
    // right PIN is used for that probe, so a probe that happens to run a check itself
    // does not add to the wrong attempts).
    let mut guess = None;
    let in_progress = eventually(Duration::from_secs(60), || {
        if guess
            .as_ref()
            .is_none_or(|g: &std::thread::JoinHandle<(u16, Value)>| g.is_finished())
        {
            let base = t.base.clone();
            guess = Some(std::thread::spawn(move || {
                post_from_thread(
                    &base,
                    "/api/secretary/login",
                    json!({ "name": daemon::SECRETARY, "pin": "0000" }),
                )
            }));
        }
        let (_, r) = t.post(
            "/api/secretary/login",
            json!({ "name": daemon::SECRETARY, "pin": PIN }),
        );
        error(&r).starts_with("Vent et øjeblik")
    });
    assert!(
        in_progress,
        "no PIN attempt was ever turned away while another was checked: guesses are not limited to one at a time"
    );
    // While that check runs, the tilforordnet scans a card and gets the verdict …
    assert_eq!(outcome(&t.scan("CARD-NORMAL")), "pending");
    // … and the check is still running: the scan did not wait for it.
    let (_, r) = t.post(
        "/api/secretary/login",
        json!({ "name": daemon::SECRETARY, "pin": PIN }),
    );
    assert!(
        error(&r).starts_with("Vent et øjeblik"),
        "the PIN check ended before the scan was answered: {r}"
    );
    let (status, r) = guess.expect("guess").join().expect("guess thread");
    assert_eq!((status, error(&r).as_str()), (401, "Forkert PIN."));
}

#[test]
fn a_check_in_without_a_card_needs_the_valgsekretaers_session() {
    let (_dir, t) = started();
    let before = events(&t);
    // Anyone at the table's port stages a voter without a card and confirms.
    let (status, r) = t.post("/api/manual", json!({ "voter_id": "V8" }));
    assert_eq!(status, 401, "{r}");
    assert_eq!(error(&r), "Skærmen er låst. Indtast PIN.");
    let s = t.confirm();
    assert_ne!(outcome(&s), "admitted", "{s}");
    assert_eq!(screen(&t)["checkins_here"], 0);
    assert_eq!(events(&t), before, "nothing may be stored");
    assert_eq!(outcome(&t.scan("CARD-THIRD")), "pending");
    t.post("/api/cancel", json!({}));
    // With the valgsekretær's session it works, and the log says it was sent.
    let token = login(&t);
    let (status, r) = call(
        &t,
        &token,
        "POST",
        "/api/manual",
        Some(json!({ "voter_id": "V8" })),
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(outcome(&r), "pending");
    assert_eq!(outcome(&t.confirm()), "admitted");
    assert_eq!(screen(&t)["checkins_here"], 1);
}

/// A POST with raw headers, as a browser page of another site (or a DNS name rebound
/// to 127.0.0.1) sends it: the status code.
fn raw_post(t: &Table, path: &str, headers: &str) -> u16 {
    let addr = t.base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "POST {path} HTTP/1.1\r\n{headers}Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )
    .expect("write");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer}"))
}

#[test]
fn a_post_from_another_site_is_refused() {
    let (_dir, t) = started();
    let host = t.base.trim_start_matches("http://").to_string();
    let before = events(&t);
    // A page of evil.example the kiosk browser opened posts to the table.
    let mut res = t
        .agent
        .post(&format!("{}/api/table/close", t.base))
        .header("origin", "http://evil.example")
        .send_json(json!({ "reason": "" }))
        .expect("POST");
    assert_eq!(res.status().as_u16(), 403);
    let r: Value = res.body_mut().read_json().expect("json");
    assert!(error(&r).starts_with("Afvist"), "{r}");
    for path in ["/api/table/close", "/api/secretary/login", "/api/confirm"] {
        let origin = format!("Host: {host}\r\nOrigin: http://evil.example\r\n");
        assert_eq!(raw_post(&t, path, &origin), 403, "{path}");
        // The same page after its name was made to point at 127.0.0.1.
        let rebound = "Host: evil.example\r\nOrigin: http://evil.example\r\n";
        assert_eq!(raw_post(&t, path, rebound), 403, "{path}");
    }
    assert_eq!(screen(&t)["table_state"], "open");
    assert_eq!(events(&t), before);
    // The screen's own page still works.
    let own = format!("Host: {host}\r\nOrigin: http://{host}\r\n");
    assert_eq!(raw_post(&t, "/api/cancel", &own), 200);
}

#[test]
fn an_election_table_will_not_show_voters_beyond_loopback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("table1.db");
    import_signed(dir.path(), &db);
    let key = valgbord::store::keyfile::load_or_create(&dir.path().join("table1.key"))
        .expect("key")
        .public();
    let config = prepare_with(
        dir.path(),
        1,
        "0.0.0.0:0",
        "",
        &format!(
            "[sync]\nlisten = \"127.0.0.1:0\"\ndevices = [{}]\n",
            tables_enrolled([key])
        ),
    );
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replace("mode = \"test\"", "mode = \"election\""),
    )
    .expect("config");
    let mut child = Command::new(BIN)
        .args(["table", "--config", config.to_str().expect("utf8")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = child.kill();
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let status = status.unwrap_or_else(|| {
        panic!("the election table started with its screen on 0.0.0.0:\n{stdout}\n{stderr}")
    });
    assert!(!status.success());
    assert!(
        stderr.contains("listen = 0.0.0.0:0: in an election the table screen, which shows voters' names and birthdates, listens on loopback only (127.0.0.1)"),
        "{stderr}"
    );
    assert!(!stdout.contains("listening on"), "{stdout}");
}

#[test]
fn a_card_is_not_reissued_for_a_voter_of_another_polling_place() {
    let (_dir, t) = started();
    let before = events(&t);
    let token = login(&t);
    // Lars Jensen belongs to Vestre Skole (place 2); this table is Rådhushallen.
    let (status, r) = call(
        &t,
        &token,
        "POST",
        "/api/secretary/reissue",
        Some(json!({ "voter_id": "V5" })),
    );
    assert_eq!(status, 422, "{r}");
    assert!(
        error(&r)
            .starts_with("Vælgeren hører til Vestre Skole (valgsted 2); send vælgeren dertil."),
        "{r}"
    );
    let (status, r) = t.post(
        "/api/card/reissue",
        json!({ "voter_id": "V5", "name": daemon::SECRETARY, "pin": PIN }),
    );
    assert_eq!(status, 422, "{r}");
    assert!(
        error(&r).starts_with("Vælgeren hører til Vestre Skole"),
        "{r}"
    );
    assert_eq!(events(&t), before, "nothing may be appended");
    // The voter's card still reads as what it is here: a voter of another place.
    assert_eq!(outcome(&t.scan("CARD-OTHERPLACE")), "wrong_place");
}
