//! Attacks on the roles of the election's keys (issue 16, finding 1), made the way an
//! attacker who holds one enrolled key would make them: sign an event that key has no
//! right to and push it over sync to a real table daemon or the real central tally.
//! Before roles, every one of these was accepted, because any listed key could author
//! any event.

mod daemon;

use daemon::{Table, enrolled, outcome, prepare_with, tables_enrolled};
use serde_json::{Value, json};
use std::path::Path;
use valgbord::election::clock::Hlc;
use valgbord::election::contest::Contest;
use valgbord::election::event::{
    CheckInMethod, EventBody, EventHash, EventKind, FORMAT_VERSION, SignedEvent, sign,
};
use valgbord::election::keys::DeviceSecret;
use valgbord::store::keyfile;

/// An event of `key`'s log at `seq` (its first when 1), as the holder of the key makes it.
fn forged(key: &DeviceSecret, seq: u64, prev: EventHash, kind: EventKind) -> SignedEvent {
    let now = chrono::Utc::now().timestamp_millis();
    let body = EventBody {
        v: FORMAT_VERSION,
        election: "kv-test".into(),
        device: key.public(),
        seq,
        hlc: Hlc::new(now as u64, 0),
        wall_ms: now,
        prev,
        test: true,
        kind,
        by: None,
    };
    sign(&body, key).signed
}

fn check_in(place: &str, table_no: u32, voter: &str) -> EventKind {
    EventKind::CheckIn {
        voter_id: voter.into(),
        place: place.into(),
        table_no,
        card_code: None,
        method: CheckInMethod::Manual,
        ballots: vec![Contest::Kv, Contest::Rv],
    }
}

/// Pushes `events` to `t` as the device `key` (whose request it signs); the answer.
fn push(t: &Table, key: &DeviceSecret, events: &[SignedEvent]) -> Value {
    let mut hello: Value = t.get("/sync/v1/hello").1;
    hello["device"] = json!(key.public());
    let (status, r) = t.post_signed(
        "/sync/v1/push",
        json!({"hello": hello, "events": events}),
        Some(key),
    );
    assert_eq!(status, 200, "{r}");
    r
}

/// Table 1 of polling place 1, which enrols itself and table 2 as tables and `central`
/// as the central tally.
fn table_one(dir: &Path, table2: &DeviceSecret, central: &DeviceSecret) -> Table {
    let own = keyfile::load_or_create(&dir.join("table1.key")).expect("key");
    let devices = format!(
        "[sync]\ndevices = [{}, {}]\n",
        tables_enrolled([own.public(), table2.public()]),
        enrolled(central.public(), "role = \"central\"")
    );
    let t = Table::start(dir, &prepare_with(dir, 1, "127.0.0.1:0", "", &devices));
    t.open();
    t
}

fn rejected(r: &Value) -> String {
    assert_eq!(r["added"], 0, "{r}");
    r["rejected"][0].as_str().expect("a reason").to_string()
}

#[test]
fn the_central_tallys_key_cannot_check_a_voter_in_at_a_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (table2, central) = (DeviceSecret::generate(), DeviceSecret::generate());
    let t = table_one(dir.path(), &table2, &central);
    // Whoever took over the central signs a check-in of voter V1 at table 1.
    let ev = forged(&central, 1, EventHash::default(), check_in("1", 1, "V1"));
    let why = rejected(&push(&t, &central, &[ev]));
    assert!(
        why.contains("the central tally") && why.contains("check_in"),
        "{why}"
    );
    // The voter has not voted: the table admits V1.
    assert_eq!(outcome(&t.scan("CARD-NORMAL")), "pending");
    assert_eq!(outcome(&t.confirm()), "admitted");
}

#[test]
fn table_twos_key_can_neither_close_table_one_nor_check_in_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (table2, central) = (DeviceSecret::generate(), DeviceSecret::generate());
    let t = table_one(dir.path(), &table2, &central);
    let close = forged(
        &table2,
        1,
        EventHash::default(),
        EventKind::TableClosed {
            place: "1".into(),
            table_no: 1,
            reason: "lukket".into(),
        },
    );
    let why = rejected(&push(&t, &table2, &[close]));
    assert!(why.contains("table 2 of polling place 1"), "{why}");
    assert!(why.contains("table 1 of polling place 1"), "{why}");
    let ev = forged(&table2, 1, EventHash::default(), check_in("1", 1, "V1"));
    rejected(&push(&t, &table2, &[ev]));
    // Table 1 is still open and V1 has not voted.
    assert_eq!(outcome(&t.scan("CARD-NORMAL")), "pending");
    assert_eq!(outcome(&t.confirm()), "admitted");
    // Table 2's own check-ins are its right: one for V7 at table 2 is taken.
    let own = forged(&table2, 1, EventHash::default(), check_in("1", 2, "V7"));
    assert_eq!(push(&t, &table2, &[own])["added"], 1);
    assert_eq!(outcome(&t.scan("CARD-SECOND")), "already_voted");
}

#[test]
fn a_table_refuses_an_event_of_another_polling_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (table2, central) = (DeviceSecret::generate(), DeviceSecret::generate());
    let t = table_one(dir.path(), &table2, &central);
    // Table 2 of place 1 claims a switch of polling place 2 to paper.
    let ev = forged(
        &table2,
        1,
        EventHash::default(),
        EventKind::PlaceModeChanged {
            place: "2".into(),
            mode: valgbord::election::place_mode::PlaceMode::Papir,
            reason: "test".into(),
        },
    );
    let why = rejected(&push(&t, &table2, &[ev]));
    assert!(why.contains("polling place 2"), "{why}");
}

#[test]
fn a_privileged_event_that_names_no_official_is_refused_by_a_peer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (table2, central) = (DeviceSecret::generate(), DeviceSecret::generate());
    let t = table_one(dir.path(), &table2, &central);
    // Table 2's key reissues V1's card with no official named: whoever holds the key
    // (a copied USB stick) would act without anyone's PIN.
    let reissue = EventKind::CardReissued {
        voter_id: "V1".into(),
        new_code: "VB000000000001".into(),
    };
    let ev = forged(&table2, 1, EventHash::default(), reissue.clone());
    let why = rejected(&push(&t, &table2, &[ev]));
    assert!(
        why.contains("card_reissued") && why.contains("does not name the official"),
        "{why}"
    );
    // The old card still admits V1.
    assert_eq!(outcome(&t.scan("CARD-NORMAL")), "pending");
    t.post("/api/cancel", json!({}));
    // The same event naming the valgstyrer who acted is table 2's right.
    let now = chrono::Utc::now().timestamp_millis();
    let named = EventBody {
        v: FORMAT_VERSION,
        election: "kv-test".into(),
        device: table2.public(),
        seq: 1,
        hlc: Hlc::new(now as u64, 0),
        wall_ms: now,
        prev: EventHash::default(),
        test: true,
        kind: reissue,
        by: Some(valgbord::election::official::ActedBy {
            name: daemon::VALGSTYRER.into(),
            role: valgbord::election::official::OfficialRole::Valgstyrer,
        }),
    };
    let ev = sign(&named, &table2).signed;
    assert_eq!(push(&t, &table2, &[ev])["added"], 1);
}
