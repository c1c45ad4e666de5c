//! Issue 16, finding 5: a log that cannot fork quietly. Each test attacks as the
//! finding describes, against real table daemons on loopback ports: a relaying peer that
//! re-encodes an honest event into a second "version", and a replacement Pi loaded with
//! a table's key that appends from sequence 1 on a fresh database.

mod daemon;

use daemon::{Table, eventually, outcome, place, prepare_with, screen, tables_enrolled};
use serde_json::{Value, json};
use std::time::Duration;
use valgbord::election::event::{
    EventBody, EventHash, EventKind, SignedEvent, Trust, sign, verify,
};
use valgbord::election::keys::DeviceSecret;

fn opened(key: &DeviceSecret, seq: u64, prev: EventHash, table_no: u32) -> EventBody {
    daemon::event_body(
        key,
        "kv-test",
        seq,
        prev,
        EventKind::TableOpened {
            place: "1".into(),
            table_no,
        },
    )
}

/// A push signed by `key`, as a peer table sends it.
fn push(t: &Table, key: &DeviceSecret, events: Vec<SignedEvent>) -> Value {
    let (_, mut hello) = t.get("/sync/v1/hello");
    hello["device"] = json!(key.public().to_hex());
    let (status, r) = t.post_signed(
        "/sync/v1/push",
        json!({ "hello": hello, "events": events }),
        Some(key),
    );
    assert_eq!(status, 200, "{r}");
    r
}

fn events(t: &Table) -> u64 {
    t.get("/api/health").1["events"].as_u64().expect("events")
}

fn rejected(r: &Value) -> String {
    r["rejected"][0].as_str().unwrap_or_default().to_string()
}

/// A relaying peer (table 2, whose key is listed) re-encodes an event before passing it
/// on: the signature's hex in upper case, or — signed again by the device itself — the
/// same body with whitespace and reordered keys. Each is a second "version" of one
/// event with another hash; the table refuses it as non-canonical and keeps the honest
/// version only.
#[test]
fn a_relayed_event_re_encoded_is_refused_as_non_canonical() {
    // Two tables that do not sync with each other: the test is table 2's relay.
    let p = place(2, |_| vec![], |_| String::new());
    let t1 = &p.tables[0];
    let relay = &p.keys[1];
    let before = events(t1);

    // Table 2's first event (its opening) is not at table 1 yet: relayed honestly first,
    // so the next one continues the chain.
    let (_, pulled) = p.tables[1].post_signed(
        "/sync/v1/pull",
        json!({"hello": p.tables[1].get("/sync/v1/hello").1, "have": {}, "limit": 10}),
        Some(relay),
    );
    let first: SignedEvent =
        serde_json::from_value(pulled["events"][0].clone()).expect("table 2's first event");
    let trust = Trust {
        election: "kv-test".into(),
        enrolment: None,
        allow_test: true,
    };
    let first_hash = verify(&first, &trust).expect("honest first event").hash;
    // An honest next event of table 2, and the same event with the signature's hex in
    // upper case.
    let honest = sign(&opened(relay, 2, first_hash, 2), relay);
    let mut upper = honest.signed.clone();
    upper.sig = upper.sig.to_uppercase();
    assert_eq!(push(t1, relay, vec![first])["added"], 1);

    let r = push(t1, relay, vec![upper]);
    assert_eq!(r["added"], 0, "upper-case signature hex accepted: {r}");
    assert!(rejected(&r).contains("canonical"), "{r}");

    // The same body, pretty-printed (whitespace, and keys as a map orders them), signed
    // again: the signature verifies, the bytes are not the canonical ones.
    let value: Value = serde_json::from_str(&honest.signed.body).expect("json");
    let pretty = serde_json::to_string_pretty(&value).expect("json");
    assert_ne!(pretty, honest.signed.body);
    let mut msg = b"valgbord-event-v1\0".to_vec();
    msg.extend_from_slice(pretty.as_bytes());
    let reencoded = SignedEvent {
        body: pretty,
        sig: hex::encode(relay.sign(&msg).to_bytes()),
    };
    let r = push(t1, relay, vec![reencoded]);
    assert_eq!(r["added"], 0, "non-canonical body accepted: {r}");
    assert!(rejected(&r).contains("canonical"), "{r}");

    // The honest version is taken, once.
    let r = push(t1, relay, vec![honest.signed.clone()]);
    assert_eq!(r["added"], 1, "honest event refused: {r}");
    assert_eq!(events(t1), before + 2);
}

/// A replacement Pi is loaded with table 1's key on a fresh database. It starts with no
/// LAN (the cable not yet in), opens and checks in a voter the original table already
/// checked in: its sequence starts again at 1. When it joins the LAN and registers the
/// next voter, the two versions of table 1's log must not split the polling place
/// silently (before, table 2 refused the replacement's events one by one in its log
/// only, and never saw its check-ins): table 2, and through table 2's evidence the
/// replacement itself, show "To versioner af bord 1's log" with what the valgsekretær
/// does next, and no further event of table 1's key is taken.
#[test]
fn a_replacement_with_the_same_key_cannot_split_the_log_silently() {
    let mut p = place(2, |i| vec![1 - i], |_| String::new());
    let (t1, t2) = (&p.tables[0], &p.tables[1]);
    assert_eq!(outcome(&t1.scan("CARD-NORMAL")), "pending");
    assert_eq!(outcome(&t1.confirm()), "admitted");
    assert!(
        eventually(Duration::from_secs(5), || screen(t2)["persons_checked_in"]
            == 1),
        "table 2 did not learn of the check-in"
    );
    let address = t1.base.trim_start_matches("http://").to_string();
    let t2_url = t2.base.clone();
    p.tables[0].kill9();

    // The replacement: same key file, fresh database, no LAN yet.
    let dir = p.dir.path().join("replacement");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::copy(p.dir.path().join("table1.key"), dir.join("table1.key")).expect("copy key");
    let devices = tables_enrolled(p.keys.iter().map(|k| k.public()));
    let offline = prepare_with(
        &dir,
        1,
        &address,
        "",
        &format!("[sync]\ndevices = [{devices}]\n"),
    );
    let mut r = Table::start(&dir, &offline);
    r.open();
    let _ = r.scan("CARD-NORMAL");
    let _ = r.confirm();
    r.kill9();
    drop(r);

    // The cable goes in.
    let online = prepare_with(
        &dir,
        1,
        &address,
        "",
        &format!("[sync]\npeers = [\"{t2_url}\"]\ndevices = [{devices}]\n"),
    );
    let r = Table::start(&dir, &online);
    let t2 = &p.tables[1];
    // Both logs of table 1 end at number 2, so the version vectors agree and nothing
    // is exchanged until the replacement writes again: its next event (pushed at once)
    // follows its own event 2, not the original's.
    assert_eq!(outcome(&r.scan("CARD-SECOND")), "pending");
    let _ = r.confirm();
    let fork_shown = |t: &Table| {
        let s = screen(t);
        s["forks"].as_array().is_some_and(|f| {
            f.iter().any(|f| {
                f["title"] == "Bord 1 findes to gange"
                    && f["detail"]
                        .as_str()
                        .is_some_and(|d| d.contains("papirlisten"))
            })
        })
    };
    assert!(
        eventually(Duration::from_secs(10), || fork_shown(t2)),
        "table 2 does not show the fork: {}",
        screen(t2)
    );
    assert!(
        eventually(Duration::from_secs(10), || fork_shown(&r)),
        "the replacement does not show the fork: {}",
        screen(&r)
    );
    // The replacement registers no one any more.
    let s = r.scan("CARD-THIRD");
    if outcome(&s) == "pending" {
        let (status, v) = r.post("/api/confirm", json!({}));
        assert_ne!(outcome(&v), "admitted", "{status} {v}");
    }
    // Table 2 takes no new event of table 1's key, whichever version it continues.
    let key1 = &p.keys[0];
    let (_, pulled) = t2.post_signed(
        "/sync/v1/pull",
        json!({"hello": t2.get("/sync/v1/hello").1, "have": {}, "limit": 100}),
        Some(&p.keys[1]),
    );
    let trust = Trust {
        election: "kv-test".into(),
        enrolment: None,
        allow_test: true,
    };
    let head = pulled["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| serde_json::from_value::<SignedEvent>(e.clone()).ok())
        .filter_map(|e| verify(&e, &trust).ok())
        .filter(|v| v.body.device == key1.public())
        .max_by_key(|v| v.body.seq)
        .expect("table 1's events at table 2");
    let next = sign(&opened(key1, head.body.seq + 1, head.hash, 1), key1);
    let r2 = push(t2, key1, vec![next.signed]);
    assert_eq!(
        r2["added"], 0,
        "table 2 took a new event of a forked log: {r2}"
    );
    assert!(rejected(&r2).contains("fork"), "{r2}");
}
