//! The signed event log through the store's public API: chaining, what ingest accepts
//! and refuses, binding a database to an election, destroying it, and durability.

use sha2::{Digest, Sha256};
use std::path::Path;
use valgbord::election::clock::Hlc;
use valgbord::election::contest::Contest;
use valgbord::election::event::{
    self, CheckInMethod, EventBody, EventError, EventHash, EventKind, FORMAT_VERSION, SignedEvent,
    Trust,
};
use valgbord::election::keys::{DevicePublic, DeviceSecret};
use valgbord::election::roles::Enrolment;
use valgbord::store::append::{Author, Ingested};
use valgbord::store::binding::{self, Mode};
use valgbord::store::import::ImportFailure;
use valgbord::store::meta::MetaKey;
use valgbord::store::retention::{DestroyRules, ExportedReport};
use valgbord::store::{Store, StoreError, generate};

const ELECTION: &str = "kv2025";
/// 18 November 2025, 08:00 UTC.
const T0: i64 = 1_763_452_800_000;

fn author(key: &DeviceSecret) -> Author<'_> {
    Author {
        key,
        election: ELECTION,
        test: false,
    }
}

fn trust(keys: &[&DeviceSecret]) -> Trust {
    Trust {
        election: ELECTION.into(),
        enrolment: Some(Enrolment::reserves_of("1", keys.iter().map(|k| k.public()))),
        allow_test: false,
    }
}

fn opened(table_no: u32) -> EventKind {
    EventKind::TableOpened {
        place: "1".into(),
        table_no,
    }
}

fn check_in(voter: &str, table_no: u32) -> EventKind {
    EventKind::CheckIn {
        voter_id: voter.into(),
        place: "1".into(),
        table_no,
        card_code: Some(format!("card-{voter}")),
        method: CheckInMethod::Card,
        ballots: vec![Contest::Kv, Contest::Rv],
    }
}

/// `n` events of one device made in a store of its own, in order.
fn device_log(key: &DeviceSecret, n: usize) -> Vec<SignedEvent> {
    let mut s = Store::open_in_memory().unwrap();
    s.append_local(&author(key), T0, opened(1)).unwrap();
    for i in 1..n {
        s.append_local(
            &author(key),
            T0 + i as i64 * 1000,
            check_in(&format!("V{i}"), 1),
        )
        .unwrap();
    }
    s.events_after(key.public(), 0, usize::MAX).unwrap()
}

fn body_of(e: &SignedEvent) -> EventBody {
    serde_json::from_str(&e.body).unwrap()
}

/// What a refused event must leave as it was.
fn snapshot(s: &Store) -> (u64, Vec<String>, Vec<(DevicePublic, u64)>) {
    (
        s.event_count().unwrap(),
        s.projection_dump().unwrap(),
        s.version_vector().unwrap(),
    )
}

#[test]
fn local_events_are_numbered_and_chained() {
    let key = DeviceSecret::generate();
    let mut s = Store::open_in_memory().unwrap();
    let a = s.append_local(&author(&key), T0, opened(1)).unwrap();
    let b = s
        .append_local(&author(&key), T0 + 10, check_in("V1", 1))
        .unwrap();
    // The wall clock going back does not reorder the log.
    let c = s
        .append_local(&author(&key), T0 - 5_000, check_in("V2", 1))
        .unwrap();
    assert_eq!(
        [a.body.seq, b.body.seq, c.body.seq],
        [1, 2, 3],
        "sequence numbers"
    );
    assert_eq!(a.body.prev, EventHash::default());
    assert_eq!(b.body.prev, a.hash);
    assert_eq!(c.body.prev, b.hash);
    assert!(a.body.hlc < b.body.hlc && b.body.hlc < c.body.hlc);
    assert_eq!(c.body.wall_ms, T0 - 5_000);
    // Stored exactly as signed, and each verifies on its own.
    let stored = s.events_after(key.public(), 0, 10).unwrap();
    assert_eq!(stored, vec![a.signed, b.signed, c.signed.clone()]);
    let t = trust(&[&key]);
    for e in &stored {
        event::verify(e, &t).unwrap();
    }
    assert_eq!(s.version_vector().unwrap(), vec![(key.public(), 3)]);
    assert_eq!(s.events_after(key.public(), 2, 10).unwrap(), vec![c.signed]);
    assert_eq!(s.events_after(key.public(), 0, 1).unwrap().len(), 1);
}

#[test]
fn another_devices_events_are_ingested_in_order() {
    let other = DeviceSecret::generate();
    let mine = DeviceSecret::generate();
    let log = device_log(&other, 4);
    let mut s = Store::open_in_memory().unwrap();
    s.append_local(&author(&mine), T0, opened(2)).unwrap();
    let t = trust(&[&other, &mine]);
    for e in &log {
        assert_eq!(s.ingest(e, &t).unwrap(), Ingested::Added);
    }
    assert_eq!(s.event_count().unwrap(), 5);
    let mut vv = s.version_vector().unwrap();
    vv.sort();
    let mut want = vec![(other.public(), 4), (mine.public(), 1)];
    want.sort();
    assert_eq!(vv, want);
    assert_eq!(s.events_after(other.public(), 0, 10).unwrap(), log);
    assert_eq!(s.persons_checked_in("1").unwrap(), 3);
    // Local events made afterwards order after everything seen.
    let last_seen = body_of(&log[3]).hlc;
    let next = s
        .append_local(&author(&mine), T0, check_in("V9", 2))
        .unwrap();
    assert!(next.body.hlc > last_seen);
    assert_eq!(next.body.seq, 2);
}

#[test]
fn a_gap_is_refused() {
    let other = DeviceSecret::generate();
    let log = device_log(&other, 3);
    let t = trust(&[&other]);
    let mut s = Store::open_in_memory().unwrap();
    let empty = snapshot(&s);
    match s.ingest(&log[1], &t) {
        Err(StoreError::Gap { expected, got, .. }) => assert_eq!((expected, got), (1, 2)),
        other => panic!("expected a gap, got {other:?}"),
    }
    assert_eq!(snapshot(&s), empty);
    s.ingest(&log[0], &t).unwrap();
    let before = snapshot(&s);
    match s.ingest(&log[2], &t) {
        Err(StoreError::Gap { expected, got, .. }) => assert_eq!((expected, got), (2, 3)),
        other => panic!("expected a gap, got {other:?}"),
    }
    assert_eq!(snapshot(&s), before);
    s.ingest(&log[1], &t).unwrap();
    s.ingest(&log[2], &t).unwrap();
    assert_eq!(s.event_count().unwrap(), 3);
}

#[test]
fn a_broken_chain_is_refused_even_when_signed() {
    let other = DeviceSecret::generate();
    let log = device_log(&other, 3);
    let t = trust(&[&other]);
    let mut s = Store::open_in_memory().unwrap();
    s.ingest(&log[0], &t).unwrap();
    let before = snapshot(&s);
    for (i, prev) in [EventHash::default(), EventHash([7; 32])]
        .into_iter()
        .enumerate()
    {
        let mut b = body_of(&log[1]);
        b.prev = prev;
        let forged = event::sign(&b, &other);
        // The signature is good: only the chain is wrong.
        event::verify(&forged.signed, &t).unwrap();
        // Signed by the device, a wrong predecessor proves another event 1 exists: the
        // log is forked, and the device's next events are refused as such.
        match (i, s.ingest(&forged.signed, &t)) {
            (0, Err(StoreError::BrokenChain { seq, .. })) => assert_eq!(seq, 2),
            (1, Err(StoreError::Forked { .. })) => {}
            (_, r) => panic!("expected a broken chain, then a forked device, got {r:?}"),
        }
        assert!(s.is_forked(other.public()).unwrap());
        assert_eq!(snapshot(&s), before);
    }
    // A first event must start from the zero hash.
    let mut fresh = Store::open_in_memory().unwrap();
    let mut b = body_of(&log[0]);
    b.prev = EventHash([1; 32]);
    assert!(matches!(
        fresh.ingest(&event::sign(&b, &other).signed, &t),
        Err(StoreError::BrokenChain { seq: 1, .. })
    ));
    assert_eq!(fresh.event_count().unwrap(), 0);
}

#[test]
fn two_different_events_with_one_number_are_a_recorded_fork() {
    let other = DeviceSecret::generate();
    let t = trust(&[&other]);
    let mut first = Store::open_in_memory().unwrap();
    let a = first.append_local(&author(&other), T0, opened(1)).unwrap();
    let mut second = Store::open_in_memory().unwrap();
    let b = second
        .append_local(&author(&other), T0, check_in("V1", 1))
        .unwrap();
    assert_eq!((a.body.seq, b.body.seq), (1, 1));
    let mut s = Store::open_in_memory().unwrap();
    s.ingest(&a.signed, &t).unwrap();
    let before = snapshot(&s);
    match s.ingest(&b.signed, &t) {
        Err(StoreError::Equivocation { seq, .. }) => assert_eq!(seq, 1),
        r => panic!("expected an equivocation, got {r:?}"),
    }
    assert_eq!(snapshot(&s), before);
    assert_eq!(s.status("V1").unwrap().map(|st| st.active), None);

    // The second version is evidence: the fork is recorded, named by the table number
    // the device's events give, and once only however often the version comes again.
    assert!(s.is_forked(other.public()).unwrap());
    assert!(matches!(
        s.ingest(&b.signed, &t),
        Err(StoreError::Equivocation { .. })
    ));
    let forks = s.forks().unwrap();
    assert_eq!(forks.len(), 1, "{forks:?}");
    assert_eq!(
        (forks[0].device, forks[0].seq, forks[0].table_no),
        (other.public(), 1, Some(1))
    );
    // No new event of the device is taken, whichever version it continues; an event
    // already held is still a duplicate.
    let next_a = first
        .append_local(&author(&other), T0, check_in("V2", 1))
        .unwrap();
    let next_b = second
        .append_local(&author(&other), T0, check_in("V2", 1))
        .unwrap();
    for next in [&next_a, &next_b] {
        match s.ingest(&next.signed, &t) {
            Err(e @ StoreError::Forked { .. }) => assert!(e.to_string().contains("forked")),
            r => panic!("expected a refusal of a forked device, got {r:?}"),
        }
    }
    assert_eq!(s.ingest(&a.signed, &t).unwrap(), Ingested::Duplicate);
    assert_eq!(snapshot(&s), before);

    // The device itself, once it has seen the other version of its own log, appends
    // nothing more.
    assert!(matches!(
        first.ingest(&b.signed, &t),
        Err(StoreError::Equivocation { .. })
    ));
    assert!(matches!(
        first.append_local(&author(&other), T0, check_in("V3", 1)),
        Err(StoreError::Forked { .. })
    ));
}

#[test]
fn altered_unknown_foreign_and_test_events_are_refused() {
    let other = DeviceSecret::generate();
    let stranger = DeviceSecret::generate();
    let t = trust(&[&other]);
    let log = device_log(&other, 2);
    let mut s = Store::open_in_memory().unwrap();
    s.ingest(&log[0], &t).unwrap();
    let before = snapshot(&s);

    // Altered body: V1 becomes V2 after signing.
    let mut altered = log[1].clone();
    assert!(altered.body.contains("\"V1\""));
    altered.body = altered.body.replace("\"V1\"", "\"V2\"");
    assert!(matches!(
        s.ingest(&altered, &t),
        Err(StoreError::Event(EventError::BadSignature { seq: 2, .. }))
    ));
    // A signature that is not hex at all.
    let mut garbled = log[1].clone();
    garbled.sig = "zz".repeat(64);
    assert!(matches!(
        s.ingest(&garbled, &t),
        Err(StoreError::Event(EventError::BadSignature { .. }))
    ));
    // A key the configuration does not list.
    let strange = device_log(&stranger, 1);
    assert!(matches!(
        s.ingest(&strange[0], &t),
        Err(StoreError::Event(EventError::UnknownKey(_)))
    ));
    // Another election.
    let mut b = body_of(&log[1]);
    b.election = "fv2026".into();
    assert!(matches!(
        s.ingest(&event::sign(&b, &other).signed, &t),
        Err(StoreError::Event(EventError::ForeignElection { .. }))
    ));
    // A rehearsal's event.
    let mut b = body_of(&log[1]);
    b.test = true;
    let test_event = event::sign(&b, &other).signed;
    assert!(matches!(
        s.ingest(&test_event, &t),
        Err(StoreError::Event(EventError::TestEvent { seq: 2, .. }))
    ));
    // Not an event.
    let junk = SignedEvent {
        body: "{\"v\":1}".into(),
        sig: String::new(),
    };
    assert!(matches!(
        s.ingest(&junk, &t),
        Err(StoreError::Event(EventError::Malformed(_)))
    ));
    // Another format version.
    let mut b = body_of(&log[1]);
    b.v = FORMAT_VERSION + 1;
    assert!(matches!(
        s.ingest(&event::sign(&b, &other).signed, &t),
        Err(StoreError::Event(EventError::Version(_)))
    ));
    assert_eq!(snapshot(&s), before);

    // The genuine event still goes in; the test event too once rehearsals are allowed.
    s.ingest(&log[1], &t).unwrap();
    let mut rehearsal = Store::open_in_memory().unwrap();
    let mut tt = t.clone();
    tt.allow_test = true;
    rehearsal.ingest(&log[0], &tt).unwrap();
    assert_eq!(rehearsal.ingest(&test_event, &tt).unwrap(), Ingested::Added);
}

#[test]
fn a_duplicate_changes_nothing() {
    let other = DeviceSecret::generate();
    let t = trust(&[&other]);
    let log = device_log(&other, 3);
    let mut s = Store::open_in_memory().unwrap();
    for e in &log {
        s.ingest(e, &t).unwrap();
    }
    let before = snapshot(&s);
    for e in &log {
        assert_eq!(s.ingest(e, &t).unwrap(), Ingested::Duplicate);
    }
    assert_eq!(snapshot(&s), before);
    assert_eq!(s.persons_checked_in("1").unwrap(), 2);
    assert_eq!(s.status("V1").unwrap().unwrap().active, 1);
}

/// A database file with a small generated list.
fn file_store(dir: &Path, signed: bool) -> Store {
    let mut list = Vec::new();
    generate::write_list(&mut list, 30, 3, 1, "KV+RV").unwrap();
    let mut s = Store::open(&dir.join("v.db")).unwrap();
    s.import_file(&list, signed, |_| {}).unwrap();
    s
}

#[test]
fn binding_refuses_another_election_and_test_data() {
    let dir = tempfile::tempdir().unwrap();
    let key = DeviceSecret::generate();

    // A signed list bound to the election: accepted for it, refused for another.
    let signed = dir.path().join("signed");
    std::fs::create_dir(&signed).unwrap();
    let s = file_store(&signed, true);
    s.bind(ELECTION, Mode::Election).unwrap();
    s.check_binding(ELECTION, Mode::Election).unwrap();
    s.check_binding(ELECTION, Mode::Test).unwrap();
    s.bind(ELECTION, Mode::Election).unwrap();
    for mode in [Mode::Election, Mode::Test] {
        match s.check_binding("fv2026", mode) {
            Err(StoreError::Binding(m)) => {
                assert!(m.contains("\"kv2025\"") && m.contains("\"fv2026\""), "{m}")
            }
            r => panic!("expected a binding error, got {r:?}"),
        }
    }
    assert!(s.bind("fv2026", Mode::Election).is_err());
    drop(s);

    // The same, holding an event made in test mode: no longer fit for the election.
    let mut s = Store::open(&signed.join("v.db")).unwrap();
    let rehearsal = Author {
        key: &key,
        election: ELECTION,
        test: true,
    };
    s.append_local(&rehearsal, T0, opened(1)).unwrap();
    match s.check_binding(ELECTION, Mode::Election) {
        Err(StoreError::Binding(m)) => assert!(m.contains("1 testhændelser"), "{m}"),
        r => panic!("expected a binding error, got {r:?}"),
    }
    s.check_binding(ELECTION, Mode::Test).unwrap();

    // An unsigned list: fine for a rehearsal, never for the election.
    let unsigned = dir.path().join("unsigned");
    std::fs::create_dir(&unsigned).unwrap();
    let s = file_store(&unsigned, false);
    s.bind(ELECTION, Mode::Test).unwrap();
    s.check_binding(ELECTION, Mode::Test).unwrap();
    assert!(matches!(
        s.check_binding(ELECTION, Mode::Election),
        Err(StoreError::Binding(_))
    ));
    // Bound to test mode, even with a signed list and no events: refused too.
    s.set_meta(MetaKey::ListSigned, "yes").unwrap();
    assert!(matches!(
        s.check_binding(ELECTION, Mode::Election),
        Err(StoreError::Binding(_))
    ));
}

#[test]
fn the_list_cannot_be_replaced_once_the_log_has_events() {
    let dir = tempfile::tempdir().unwrap();
    let key = DeviceSecret::generate();
    let mut s = file_store(dir.path(), true);
    s.append_local(&author(&key), T0, check_in("V00000001", 1))
        .unwrap();
    let list_hash = s.meta(MetaKey::ListSha256).unwrap();
    let mut other = Vec::new();
    generate::write_list(&mut other, 10, 4, 1, "KV+RV").unwrap();
    match s.import_file(&other, true, |_| {}) {
        Err(ImportFailure::Store(StoreError::Binding(m))) => assert!(m.contains("1 events"), "{m}"),
        Err(ImportFailure::Store(e)) => panic!("expected a binding error, got {e:?}"),
        Err(ImportFailure::List(e)) => panic!("expected a binding error, got {e:?}"),
        Ok(r) => panic!("the list was replaced: {r:?}"),
    }
    assert_eq!(s.voter_count(None).unwrap(), 30);
    assert_eq!(s.meta(MetaKey::ListSha256).unwrap(), list_hash);
    assert_eq!(s.status("V00000001").unwrap().unwrap().active, 1);
    // The database is still usable afterwards.
    s.append_local(&author(&key), T0 + 1, check_in("V00000002", 1))
        .unwrap();
    drop(s);
    assert_eq!(
        Store::open(&dir.path().join("v.db"))
            .unwrap()
            .event_count()
            .unwrap(),
        2
    );
}

fn side(db: &Path, suffix: &str) -> std::path::PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(suffix);
    p.into()
}

/// The log hash computed independently: SHA-256 over each event's hash in
/// (device, seq) order.
fn expected_log_hash(s: &Store, t: &Trust) -> String {
    let mut h = Sha256::new();
    for e in s.all_events().unwrap() {
        h.update(event::verify(&e, t).unwrap().hash.0);
    }
    hex::encode(h.finalize())
}

/// What `destroy` needs before it may go ahead: an election day whose complaint week
/// is over, and the closing report exported.
fn ready_for_destruction(s: &Store) -> DestroyRules {
    let day = chrono::NaiveDate::from_ymd_opt(2025, 11, 18).unwrap();
    s.record_election_facts(Some(day), &[Contest::Kv, Contest::Rv], None)
        .unwrap();
    s.record_exported_report(&ExportedReport {
        sha256: "ab".repeat(32),
        file: "rapport.pdf".into(),
        at: "2025-11-19T08:00:00+01:00".into(),
    })
    .unwrap();
    DestroyRules {
        today: chrono::NaiveDate::from_ymd_opt(2025, 11, 26).unwrap(),
        today_given: false,
        approved: false,
        election_day: None,
    }
}

#[test]
fn destroy_leaves_a_true_receipt_and_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [DeviceSecret::generate(), DeviceSecret::generate()];
    let t = trust(&[&keys[0], &keys[1]]);
    let mut s = file_store(dir.path(), true);
    s.bind(ELECTION, Mode::Election).unwrap();
    for (i, k) in keys.iter().enumerate() {
        s.append_local(&author(k), T0, opened(i as u32 + 1))
            .unwrap();
        s.append_local(
            &author(k),
            T0 + 1,
            check_in(&format!("V0000000{}", i + 1), 1),
        )
        .unwrap();
    }
    let log_hash = expected_log_hash(&s, &t);
    assert_eq!(hex::encode(s.log_hash().unwrap()), log_hash);
    let list_hash = s.meta(MetaKey::ListSha256).unwrap().unwrap();
    let rules = ready_for_destruction(&s);
    let db = dir.path().join("v.db");
    // The daemon died without closing: its WAL and shared memory are still there.
    std::mem::forget(s);
    assert!(side(&db, "-wal").exists() && side(&db, "-shm").exists());

    let r = binding::destroy(&db, "table-7", &rules).unwrap();
    assert_eq!(r.closing_report_sha256, "ab".repeat(32));
    assert_eq!(r.election, ELECTION);
    assert_eq!(r.device, "table-7");
    assert_eq!(r.voters, 30);
    assert_eq!(r.events, 4);
    assert_eq!(r.log_sha256, log_hash);
    assert_eq!(r.list_sha256, list_hash);
    let mut files = r.files.clone();
    files.sort();
    assert_eq!(
        files,
        vec![
            db.display().to_string(),
            side(&db, "-shm").display().to_string(),
            side(&db, "-wal").display().to_string(),
        ]
    );
    for suffix in ["", "-wal", "-shm", "-journal"] {
        assert!(!side(&db, suffix).exists(), "{suffix} is still there");
    }
    let text = r.to_text();
    assert!(text.contains(&log_hash) && text.contains("hændelser / events:     4"));
    assert!(
        binding::destroy(&db, "table-7", &rules).is_err(),
        "nothing left to destroy"
    );
}

#[test]
fn destroy_after_a_clean_close() {
    let dir = tempfile::tempdir().unwrap();
    let key = DeviceSecret::generate();
    let mut s = file_store(dir.path(), false);
    s.bind(ELECTION, Mode::Test).unwrap();
    s.append_local(&author(&key), T0, opened(1)).unwrap();
    let log_hash = hex::encode(s.log_hash().unwrap());
    let rules = ready_for_destruction(&s);
    drop(s);
    let db = dir.path().join("v.db");
    let r = binding::destroy(&db, "x", &rules).unwrap();
    assert_eq!((r.voters, r.events), (30, 1));
    assert_eq!(r.log_sha256, log_hash);
    assert!(r.files.contains(&db.display().to_string()));
    for suffix in ["", "-wal", "-shm", "-journal"] {
        assert!(!side(&db, suffix).exists(), "{suffix} is still there");
    }
    // Nothing is left in the directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_check_in_survives_without_a_close() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let key = DeviceSecret::generate();
    let t = trust(&[&key]);
    let mut s = file_store(dir.path(), false);
    s.append_local(&author(&key), T0, opened(1)).unwrap();
    let ev = s
        .append_local(&author(&key), T0 + 60_000, check_in("V00000002", 1))
        .unwrap();
    drop(s);
    let s = Store::open(&db).unwrap();
    assert_eq!(s.event_count().unwrap(), 2);
    assert_eq!(
        s.events_after(key.public(), 1, 10).unwrap(),
        vec![ev.signed.clone()]
    );
    let st = s.status("V00000002").unwrap().expect("checked in");
    assert_eq!((st.seq, st.active, st.prior.wall_ms), (2, 1, T0 + 60_000));
    assert_eq!(s.persons_checked_in("1").unwrap(), 1);

    // Without even a drop (as after a crash): a second connection sees it all.
    let mut s2 = Store::open(&db).unwrap();
    let ev3 = s2
        .append_local(&author(&key), T0 + 120_000, check_in("V00000003", 1))
        .unwrap();
    std::mem::forget(s2);
    drop(s);
    let mut s3 = Store::open(&db).unwrap();
    assert_eq!(s3.event_count().unwrap(), 3);
    assert!(s3.status("V00000003").unwrap().is_some());
    // The chain continues from the reopened log and the clock does not run back.
    let ev4 = s3.append_local(&author(&key), T0, opened(1)).unwrap();
    assert_eq!(ev4.body.seq, 4);
    assert_eq!(ev4.body.prev, ev3.hash);
    assert!(ev4.body.hlc > ev3.body.hlc);
    assert!(ev4.body.hlc > Hlc::new((T0 + 120_000) as u64, 0));
    for e in s3.all_events().unwrap() {
        event::verify(&e, &t).unwrap();
    }
}
