//! Fuzz bodies: what reaches a table from outside, fed arbitrary bytes.
//!
//! Each function takes any input, must never panic, and asserts the properties that
//! must hold whatever the input (a panic here is a bug in the code under test, not
//! in the fuzz body). The cargo-fuzz targets in `fuzz/` call them under libFuzzer on
//! nightly; `tests/fuzz_corpus.rs` runs them on stable over the checked-in corpus in
//! `fuzz/corpus/` and over seeded mutations, so CI exercises them without nightly.

use crate::election::clock::Hlc;
use crate::election::event::{
    self, CheckInMethod, EventBody, EventHash, EventKind, FORMAT_VERSION, SignedEvent, Trust,
};
use crate::election::keys::{DevicePublic, DeviceSecret};
use crate::election::roles::Enrolment;
use crate::election::{list_signature, voter_list};
use crate::print::card_payload;
use crate::scan::clean;
use crate::store::Store;
use crate::sync::protocol::{PullRequest, PullResponse, PushRequest, PushResponse};
use std::collections::HashSet;

/// The election every fuzz input is checked against.
pub const ELECTION: &str = "fuzz";

/// The one trusted device of the fuzz bodies: a fixed key, so a seed signed by it
/// (see [`seeds`]) passes verification and the fuzzer can explore what lies behind.
pub fn trusted_key() -> DeviceSecret {
    DeviceSecret::from_seed([7; 32])
}

fn trust() -> Trust {
    Trust {
        election: ELECTION.into(),
        enrolment: Some(Enrolment::reserves_of("1", [trusted_key().public()])),
        allow_test: true,
    }
}

/// A scanned text: cleaning as the scanner drivers do, then the card QR check the
/// table runs on every `VBK1.` text.
pub fn fuzz_card(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(clean) = clean::clean_scan(&text) {
        assert!(!clean.is_empty(), "a cleaned scan is never empty");
        assert!(clean.len() <= clean::MAX_SCAN, "a cleaned scan is bounded");
        assert!(
            !clean.chars().any(char::is_control),
            "a cleaned scan holds no control characters"
        );
    }
    let trusted: HashSet<DevicePublic> = [trusted_key().public()].into_iter().collect();
    let _ = card_payload::claimed_device(&text);
    if let Ok(p) = card_payload::verify_card_payload(&text, &trusted, ELECTION) {
        assert!(
            trusted.contains(&p.device),
            "accepted card of untrusted key"
        );
        assert_eq!(p.election, ELECTION, "accepted card of another election");
    }
    // A test-mode table trusts the device the card claims; the signature must still hold.
    if let Some(d) = card_payload::claimed_device(&text) {
        let claimed: HashSet<DevicePublic> = [d].into_iter().collect();
        if card_payload::verify_card_payload(&text, &claimed, ELECTION).is_ok() {
            // Only a real signature by that key gets here; the fuzzer holds no key
            // but the trusted one, so the claim must be that key.
            assert_eq!(d, trusted_key().public(), "a forged card QR verified");
        }
    }
}

/// A voter-list file: the full check of the import (every row, duplicates).
pub fn fuzz_import(data: &[u8]) {
    let _ = list_signature::read_signature(data);
    match voter_list::parse(data, |_| {}) {
        Ok(list) => {
            let mut ids = HashSet::new();
            for v in &list.voters {
                assert!(!v.id.is_empty(), "voter without id accepted");
                assert!(v.list_no > 0, "løbenummer 0 accepted");
                assert!(ids.insert(v.id.as_str()), "duplicate voter id accepted");
                assert!(!v.contests.is_empty(), "voter without contests accepted");
            }
        }
        Err(errors) => assert!(!errors.is_empty(), "refused without a reason"),
    }
}

/// A sync message: the JSON of every request and answer, each event in it through the
/// one `verify`, and — since the fuzzer cannot forge signatures — the input also as an
/// event body signed by the trusted device and ingested into a fresh store, where the
/// projections must then equal a rebuild from the log.
pub fn fuzz_sync(data: &[u8]) {
    let t = trust();
    if let Ok(req) = serde_json::from_slice::<PushRequest>(data) {
        for e in &req.events {
            if let Ok(v) = event::verify(e, &t) {
                assert_eq!(
                    v.body.device,
                    trusted_key().public(),
                    "forged event verified"
                );
            }
        }
    }
    let _ = serde_json::from_slice::<PullRequest>(data);
    let _ = serde_json::from_slice::<PushResponse>(data);
    if let Ok(resp) = serde_json::from_slice::<PullResponse>(data) {
        for e in &resp.events {
            let _ = event::verify(e, &t);
        }
    }
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let signed = sign_text(body);
    let Ok(mut store) = Store::open_in_memory() else {
        return;
    };
    // Anything the first event lets through must project the same incrementally and
    // when rebuilt; a second copy must be a duplicate, never a second event.
    if store.ingest(&signed, &t).is_ok() {
        let before = store.event_count().unwrap_or(0);
        let _ = store.ingest(&signed, &t);
        assert_eq!(
            store.event_count().unwrap_or(0),
            before,
            "an event ingested twice"
        );
        let incremental = store.projection_dump().unwrap_or_default();
        if store.rebuild_projections().is_ok() {
            let rebuilt = store.projection_dump().unwrap_or_default();
            assert_eq!(incremental, rebuilt, "rebuild differs from incremental");
        }
    }
}

/// The context `election::event` signs under (private there). If it ever changes,
/// `sign_text` stops producing valid signatures and the seed check in
/// `tests/fuzz_corpus.rs` fails, so the drift cannot go unnoticed.
const EVENT_CONTEXT: &[u8] = b"valgbord-event-v1\0";

/// `text`, exactly as given, as an event body signed by the trusted device.
pub fn sign_text(text: &str) -> SignedEvent {
    let mut msg = EVENT_CONTEXT.to_vec();
    msg.extend_from_slice(text.as_bytes());
    SignedEvent {
        body: text.to_string(),
        sig: hex::encode(trusted_key().sign(&msg).to_bytes()),
    }
}

/// Valid inputs for each target, to start the corpus from (the fuzzer mutates them).
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let key = trusted_key();
    match target {
        "card" => vec![
            card_payload::sign_card_payload(&key, ELECTION, "V1", "CARD-1", 1_700_000_000_000)
                .into_bytes(),
            b"]C1CARD-NORMAL\r\n".to_vec(),
            b"5701234567892".to_vec(),
            b"VBK1.e30.AAAA".to_vec(),
        ],
        "import" => {
            let mut list = Vec::new();
            // Writing to a Vec cannot fail.
            let _ = crate::store::generate::write_list(
                &mut list,
                6,
                1,
                2,
                crate::store::generate::DEFAULT_CONTESTS,
            );
            vec![
                list,
                "vaelger_id;loebenummer;fornavne;efternavn;foedselsdato;koen;adresse;postnr;by;valgsted;kortkode;stemmeret\r\n\
                 V1;1;\"Anne, Marie\";Hansen;01-02-1990;K;Vej 1;8000;Aarhus C;1;C1;KV+RV\r\n"
                    .as_bytes()
                    .to_vec(),
            ]
        }
        "sync" => {
            let body = EventBody {
                v: FORMAT_VERSION,
                election: ELECTION.into(),
                device: key.public(),
                seq: 1,
                hlc: Hlc(1_700_000_000_000 << 16),
                wall_ms: 1_700_000_000_000,
                prev: EventHash::default(),
                test: true,
                kind: EventKind::CheckIn {
                    voter_id: "V1".into(),
                    place: "1".into(),
                    table_no: 2,
                    card_code: Some("C1".into()),
                    method: CheckInMethod::Card,
                    ballots: vec![crate::election::contest::Contest::Kv],
                },
                by: None,
            };
            let ev = event::sign(&body, &key);
            let push = serde_json::json!({
                "hello": {"election": ELECTION, "list_sha256": "00", "software": "0.1.0",
                          "device": key.public(), "place": "1", "table_no": 2},
                "events": [ev.signed],
            });
            vec![
                ev.signed.body.clone().into_bytes(),
                serde_json::to_vec(&push).unwrap_or_default(),
            ]
        }
        _ => Vec::new(),
    }
}

/// A fuzz body.
pub type FuzzBody = fn(&[u8]);

/// The fuzz targets by name, for the stable test and the corpus writer.
pub const TARGETS: &[(&str, FuzzBody)] = &[
    ("card", fuzz_card),
    ("import", fuzz_import),
    ("sync", fuzz_sync),
];
