//! Events: every state change of a table, signed by the device that made it and
//! chained to that device's previous event.
//!
//! The signed bytes are the body exactly as stored and sent (a JSON text), never a
//! re-serialisation, so a verifier on another version of serde sees the same bytes.
//!
//! One event has one encoding: `verify` refuses a body that is not the canonical
//! serialisation of what it says and a signature in anything but lower-case hex, and the
//! hash covers the body and the raw signature bytes. Otherwise a device relaying an
//! honest event could re-encode it into a second "version" with another hash, and the
//! log of its author would seem to fork.

use super::clock::Hlc;
use super::contest::Contest;
use super::keys::{DevicePublic, DeviceSecret};
use super::roles::{Enrolment, RoleError, Scope};
use ed25519_dalek::{Signature, Verifier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Domain separation: an event signature can never be replayed as another signed thing.
const SIGNING_CONTEXT: &[u8] = b"valgbord-event-v1\0";
pub const FORMAT_VERSION: u32 = 1;

/// What a table did with a voter sent to it without a card ([`EventKind::SentVoterNoted`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentNote {
    /// The send arrived: the voter is pending there, or queued behind the one pending.
    Received,
    /// The tilforordnet cancelled the voter.
    Cancelled,
    /// The table's verdict refused the voter (closed meanwhile, struck, …).
    Refused,
}

/// How a check-in was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckInMethod {
    /// The valgkort was scanned.
    Card,
    /// The valgsekretær found the voter by search; identity confirmed by birthdate/address.
    Manual,
}

/// How a check-in in force was made: by an event's [`CheckInMethod`], or as a mark on
/// the paper list entered after a fallback. Its text is what the projections store and
/// the browser and reports read, so it is written and matched only through this type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordedMethod {
    Card,
    Manual,
    /// A `PaperRegistration`: the voter was marked on the paper list.
    Paper,
}

impl RecordedMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordedMethod::Card => "card",
            RecordedMethod::Manual => "manual",
            RecordedMethod::Paper => "paper",
        }
    }
}

impl From<CheckInMethod> for RecordedMethod {
    fn from(m: CheckInMethod) -> RecordedMethod {
        match m {
            CheckInMethod::Card => RecordedMethod::Card,
            CheckInMethod::Manual => RecordedMethod::Manual,
        }
    }
}

/// A check-in method text that is none of card, manual or paper: a database written by
/// something else than this build's projections.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown check-in method \"{0}\"")]
pub struct UnknownMethod(pub String);

impl std::str::FromStr for RecordedMethod {
    type Err = UnknownMethod;

    fn from_str(s: &str) -> Result<RecordedMethod, UnknownMethod> {
        [
            RecordedMethod::Card,
            RecordedMethod::Manual,
            RecordedMethod::Paper,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
        .ok_or_else(|| UnknownMethod(s.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    TableOpened {
        place: String,
        table_no: u32,
    },
    TablePaused {
        place: String,
        table_no: u32,
    },
    TableClosed {
        place: String,
        table_no: u32,
        reason: String,
    },
    CheckIn {
        voter_id: String,
        place: String,
        table_no: u32,
        card_code: Option<String>,
        method: CheckInMethod,
        ballots: Vec<Contest>,
    },
    /// Undo of a check-in; the check-in is named by its device and sequence number.
    CheckInUndone {
        voter_id: String,
        target_device: DevicePublic,
        target_seq: u64,
        reason: String,
    },
    CardReissued {
        voter_id: String,
        new_code: String,
    },
    /// A voter marked on the paper list during a fallback, entered afterwards.
    PaperRegistration {
        voter_id: String,
        place: String,
        table_no: u32,
        fallback_from_ms: i64,
        fallback_to_ms: i64,
    },
    BallotsReconciled {
        place: String,
        table_no: u32,
        /// Ballots handed out per contest, as counted by the tilforordnede.
        handed_out: Vec<(Contest, u32)>,
        /// Unused ballots handed back per contest.
        returned: Vec<(Contest, u32)>,
        /// Ballots spoiled by a voter and exchanged for a new one (ombyttet), per
        /// contest: packed and counted apart. Absent in events written before it existed.
        #[serde(default)]
        exchanged: Vec<(Contest, u32)>,
    },
    DoubleRegistrationResolved {
        voter_id: String,
        note: String,
        /// How many check-ins of the voter were in force when it was resolved: one
        /// more arriving later (a third table, a paper mark, a table that was cut off)
        /// is a new double registration and is flagged again. Absent in events of
        /// earlier versions, which resolve whatever comes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checkins: Option<u32>,
    },
    /// The valgsekretær switched how the polling place registers voters.
    PlaceModeChanged {
        place: String,
        mode: super::place_mode::PlaceMode,
        reason: String,
    },
    /// The valgsekretær found a voter without a card and sent them to a table of the
    /// place: that table shows the voter as pending, to approve or cancel as after a
    /// scan. Nothing is registered by this event; the check-in is the table's own.
    ManualCheckInSent {
        voter_id: String,
        place: String,
        table_no: u32,
    },
    /// What the table a voter was sent to did with the send: it got it (the voter is
    /// on its screen or queued there), or the tilforordnet cancelled the voter, or the
    /// rules refused the voter there. Nothing is registered by it; it lets the
    /// valgsekretær's screen, on any table, say where each send stands.
    SentVoterNoted {
        voter_id: String,
        place: String,
        table_no: u32,
        note: SentNote,
    },
    /// A change to the voter list from the election office, applied at this table. The
    /// office's signed text is carried verbatim so every receiver checks the office
    /// signature itself.
    ListChanged {
        change_id: String,
        serial: u64,
        body: String,
        signature: String,
    },
    /// Two valgstyrere examined a received brevstemme (KRVL § 71, FVL §§ 63–65) and
    /// took it into account (`accepted`) or set it aside for `reason`. `by` names the
    /// first; `valgstyrere` both, the second having confirmed with a PIN of their own.
    /// A later decision about the voter replaces an earlier one (see
    /// `election::brevstemme`).
    BrevstemmeExamined {
        voter_id: String,
        place: String,
        accepted: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<super::brevstemme::SetAsideReason>,
        valgstyrere: [String; 2],
    },
}

impl EventKind {
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::TableOpened { .. } => "table_opened",
            EventKind::TablePaused { .. } => "table_paused",
            EventKind::TableClosed { .. } => "table_closed",
            EventKind::CheckIn { .. } => "check_in",
            EventKind::CheckInUndone { .. } => "check_in_undone",
            EventKind::CardReissued { .. } => "card_reissued",
            EventKind::PaperRegistration { .. } => "paper_registration",
            EventKind::BallotsReconciled { .. } => "ballots_reconciled",
            EventKind::DoubleRegistrationResolved { .. } => "double_registration_resolved",
            EventKind::ListChanged { .. } => "list_changed",
            EventKind::PlaceModeChanged { .. } => "place_mode_changed",
            EventKind::ManualCheckInSent { .. } => "manual_check_in_sent",
            EventKind::SentVoterNoted { .. } => "sent_voter_noted",
            EventKind::BrevstemmeExamined { .. } => "brevstemme_examined",
        }
    }

    /// Whether only an official (the valgsekretær or a valgstyrer, with a personal PIN)
    /// may cause this event, so that it must name who did: the one place that decides
    /// which kinds are privileged. Check-ins by scan, opening, pausing, closing and the
    /// ballot count are the tilforordnede's; a list change carries the office's
    /// signature instead.
    pub fn needs_official(&self) -> bool {
        match self {
            EventKind::CheckInUndone { .. }
            | EventKind::CardReissued { .. }
            | EventKind::PaperRegistration { .. }
            | EventKind::DoubleRegistrationResolved { .. }
            | EventKind::PlaceModeChanged { .. }
            | EventKind::ManualCheckInSent { .. }
            | EventKind::BrevstemmeExamined { .. } => true,
            EventKind::TableOpened { .. }
            | EventKind::TablePaused { .. }
            | EventKind::TableClosed { .. }
            | EventKind::CheckIn { .. }
            | EventKind::BallotsReconciled { .. }
            | EventKind::SentVoterNoted { .. }
            | EventKind::ListChanged { .. } => false,
        }
    }

    /// Whose event this is: the table it speaks for, the polling place, or the author's
    /// own place. The roles check (`election::roles`) decides from it which keys may
    /// have written it.
    pub fn scope(&self) -> Scope<'_> {
        match self {
            EventKind::TableOpened { place, table_no }
            | EventKind::TablePaused { place, table_no }
            | EventKind::TableClosed {
                place, table_no, ..
            }
            | EventKind::CheckIn {
                place, table_no, ..
            }
            | EventKind::BallotsReconciled {
                place, table_no, ..
            }
            | EventKind::SentVoterNoted {
                place, table_no, ..
            } => Scope::OwnTable {
                place,
                table_no: *table_no,
            },
            EventKind::PlaceModeChanged { place, .. }
            | EventKind::ManualCheckInSent { place, .. }
            | EventKind::BrevstemmeExamined { place, .. }
            | EventKind::PaperRegistration { place, .. } => Scope::Place { place },
            EventKind::CheckInUndone { target_device, .. } => Scope::UndoOf {
                target: *target_device,
            },
            EventKind::CardReissued { .. }
            | EventKind::DoubleRegistrationResolved { .. }
            | EventKind::ListChanged { .. } => Scope::AuthorsPlace,
        }
    }
}

/// What is signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventBody {
    pub v: u32,
    pub election: String,
    pub device: DevicePublic,
    pub seq: u64,
    pub hlc: Hlc,
    pub wall_ms: i64,
    /// Hash of this device's previous event; all zeros for the first.
    pub prev: EventHash,
    /// Made in test mode; such events can never be part of an election.
    pub test: bool,
    pub kind: EventKind,
    /// The official who acted, for every kind that [`EventKind::needs_official`];
    /// absent (and not serialised) otherwise, so other events keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<super::official::ActedBy>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct EventHash(pub [u8; 32]);

impl Serialize for EventHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for EventHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&s, &mut out).map_err(serde::de::Error::custom)?;
        Ok(EventHash(out))
    }
}

impl EventHash {
    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }
}

/// An event as stored and sent: the body text and its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedEvent {
    pub body: String,
    /// Hex of the 64-byte ed25519 signature.
    pub sig: String,
}

/// A signed event whose signature, key and election were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvent {
    pub body: EventBody,
    pub signed: SignedEvent,
    pub hash: EventHash,
}

/// Two events of one device that cannot both be in its log: the proof that its log
/// forked, which anyone holding the device's public key can check (so it may travel
/// between devices that saw only one version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkEvidence {
    /// The version the reporting device held.
    pub first: SignedEvent,
    /// Another event with the same number, or the event after `first`'s number whose
    /// `prev` names another event than `first`.
    pub other: SignedEvent,
}

/// Whether two verified events prove a fork: the same device signed two different
/// events with one number, or one whose predecessor is not `first`.
pub fn proves_fork(first: &VerifiedEvent, other: &VerifiedEvent) -> bool {
    let (a, b) = (&first.body, &other.body);
    a.device == b.device
        && ((a.seq == b.seq && first.hash != other.hash)
            || (b.seq == a.seq + 1 && b.prev != first.hash))
}

/// Why an event was refused. Each names what was wrong so it can be reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event is not valid JSON of the event format: {0}")]
    Malformed(String),
    #[error("event format version {0} is not supported (this build reads {FORMAT_VERSION})")]
    Version(u32),
    #[error("event belongs to election \"{found}\", not \"{expected}\"")]
    ForeignElection { expected: String, found: String },
    #[error("event is signed by device {0}, which the election configuration does not list")]
    UnknownKey(String),
    #[error("signature of event {device}#{seq} does not verify: the event was altered or forged")]
    BadSignature { device: String, seq: u64 },
    #[error("event {device}#{seq} was written by a device without the right to: {source}")]
    NotAllowed {
        device: String,
        seq: u64,
        #[source]
        source: Box<RoleError>,
    },
    #[error("test-mode event {device}#{seq} cannot enter an election log")]
    TestEvent { device: String, seq: u64 },
    #[error(
        "event {device}#{seq} ({kind}) does not name the official who acted; only the valgsekretær or a valgstyrer may cause it"
    )]
    NoOfficial {
        device: String,
        seq: u64,
        kind: &'static str,
    },
    #[error(
        "event {device}#{seq} (brevstemme_examined) is not the decision of two different valgstyrere, the first of whom acted (KRVL § 71)"
    )]
    NotTwoValgstyrere { device: String, seq: u64 },
    #[error("event {device}#{seq} is not in canonical form: {why}")]
    NotCanonical {
        device: String,
        seq: u64,
        why: &'static str,
    },
}

/// A decision on a brevstemme names two different valgstyrere, the first the official
/// who acted: whatever device wrote it, no table follows one valgstyrer's decision alone.
fn examined_by_two(body: &EventBody) -> bool {
    let EventKind::BrevstemmeExamined {
        valgstyrere: [first, second],
        ..
    } = &body.kind
    else {
        return true;
    };
    body.by.as_ref().is_some_and(|by| {
        by.role == super::official::OfficialRole::Valgstyrer
            && by.name == *first
            && !second.trim().is_empty()
            && first.trim() != second.trim()
    })
}

/// Which keys and election an incoming event must match.
#[derive(Debug, Clone)]
pub struct Trust {
    pub election: String,
    /// The device keys the signed election configuration lists, each with its role.
    /// `None` accepts any key in any role and is used only in test mode without a
    /// configured list (unit tests, a lone demo table).
    pub enrolment: Option<Enrolment>,
    /// Whether test-mode events are acceptable (rehearsals, demo).
    pub allow_test: bool,
}

fn signing_bytes(body: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNING_CONTEXT.len() + body.len());
    m.extend_from_slice(SIGNING_CONTEXT);
    m.extend_from_slice(body.as_bytes());
    m
}

/// The hash that names an event and chains the next one to it: over the canonical
/// body and the raw signature, so no re-encoding of either gives another hash.
fn hash_of(body: &str, sig: &[u8; 64]) -> EventHash {
    let mut h = Sha256::new();
    h.update(body.as_bytes());
    h.update([0]);
    h.update(sig);
    EventHash(h.finalize().into())
}

/// The signature's 64 bytes, if `hex` is exactly 128 lower-case hex digits (the one
/// encoding `sign` makes).
fn canonical_sig(hex_text: &str) -> Option<[u8; 64]> {
    let lower = |b: &u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
    if hex_text.len() != 128 || !hex_text.as_bytes().iter().all(lower) {
        return None;
    }
    let mut out = [0u8; 64];
    hex::decode_to_slice(hex_text, &mut out).ok()?;
    Some(out)
}

/// Signs a body. The caller (the store) chooses seq, prev and clock inside its
/// transaction, so chaining cannot race.
pub fn sign(body: &EventBody, key: &DeviceSecret) -> VerifiedEvent {
    // Serialising a struct of strings, integers and enums cannot fail.
    let text = serde_json::to_string(body).unwrap_or_default();
    let sig = key.sign(&signing_bytes(&text)).to_bytes();
    let hash = hash_of(&text, &sig);
    let signed = SignedEvent {
        body: text,
        sig: hex::encode(sig),
    };
    VerifiedEvent {
        body: body.clone(),
        signed,
        hash,
    }
}

/// The one verification used for every event that reaches a device from outside
/// (sync, central ingest, a USB stick) and for the device's own events on reload.
/// Chain and sequence are checked by the store, which knows the previous event.
pub fn verify(signed: &SignedEvent, trust: &Trust) -> Result<VerifiedEvent, EventError> {
    let body: EventBody =
        serde_json::from_str(&signed.body).map_err(|e| EventError::Malformed(e.to_string()))?;
    if body.v != FORMAT_VERSION {
        return Err(EventError::Version(body.v));
    }
    if body.election != trust.election {
        return Err(EventError::ForeignElection {
            expected: trust.election.clone(),
            found: body.election.clone(),
        });
    }
    if let Some(enrolment) = &trust.enrolment
        && !enrolment.contains(&body.device)
    {
        return Err(EventError::UnknownKey(body.device.to_hex()));
    }
    let bad = || EventError::BadSignature {
        device: body.device.short(),
        seq: body.seq,
    };
    let not_canonical = |why| EventError::NotCanonical {
        device: body.device.short(),
        seq: body.seq,
        why,
    };
    let sig_bytes = match canonical_sig(&signed.sig) {
        Some(b) => b,
        // Hex of another case or length is a second encoding of a signature; anything
        // else that is not hex at all is simply not a signature.
        None if hex::decode(&signed.sig).is_ok_and(|b| b.len() == 64) => {
            return Err(not_canonical(
                "the signature is not 128 lower-case hex digits",
            ));
        }
        None => return Err(bad()),
    };
    if serde_json::to_string(&body).ok().as_deref() != Some(signed.body.as_str()) {
        return Err(not_canonical(
            "the body is not the exact serialisation its author makes (whitespace, key order or encoding differ)",
        ));
    }
    let sig = Signature::from_bytes(&sig_bytes);
    let vk = body.device.verifying_key().map_err(|_| bad())?;
    vk.verify(&signing_bytes(&signed.body), &sig)
        .map_err(|_| bad())?;
    if let Some(enrolment) = &trust.enrolment {
        enrolment
            .authorize(body.device, body.kind.name(), body.kind.scope())
            .map_err(|source| EventError::NotAllowed {
                device: body.device.short(),
                seq: body.seq,
                source: Box::new(source),
            })?;
    }
    if body.kind.needs_official() && body.by.is_none() {
        return Err(EventError::NoOfficial {
            device: body.device.short(),
            seq: body.seq,
            kind: body.kind.name(),
        });
    }
    if !examined_by_two(&body) {
        return Err(EventError::NotTwoValgstyrere {
            device: body.device.short(),
            seq: body.seq,
        });
    }
    if body.test && !trust.allow_test {
        return Err(EventError::TestEvent {
            device: body.device.short(),
            seq: body.seq,
        });
    }
    Ok(VerifiedEvent {
        hash: hash_of(&signed.body, &sig_bytes),
        body,
        signed: signed.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ballot_count_written_before_exchanged_ballots_existed_still_reads() {
        let old = r#"{"type":"ballots_reconciled","place":"1","table_no":2,
            "handed_out":[["KV",3]],"returned":[["KV",1]]}"#;
        let kind: EventKind = serde_json::from_str(old).unwrap();
        let EventKind::BallotsReconciled { exchanged, .. } = kind else {
            panic!("{kind:?}");
        };
        assert!(exchanged.is_empty());
    }

    #[test]
    fn a_recorded_method_reads_back_and_matches_the_event_text() {
        for m in [CheckInMethod::Card, CheckInMethod::Manual] {
            let r = RecordedMethod::from(m);
            assert_eq!(serde_json::to_value(m).unwrap(), r.as_str());
        }
        for r in [
            RecordedMethod::Card,
            RecordedMethod::Manual,
            RecordedMethod::Paper,
        ] {
            assert_eq!(r.as_str().parse::<RecordedMethod>(), Ok(r));
        }
        assert!("kort".parse::<RecordedMethod>().is_err());
    }

    fn body(key: &DeviceSecret) -> EventBody {
        EventBody {
            v: FORMAT_VERSION,
            election: "kv2025".into(),
            device: key.public(),
            seq: 1,
            hlc: Hlc::new(1000, 0),
            wall_ms: 1000,
            prev: EventHash::default(),
            test: false,
            kind: EventKind::TableOpened {
                place: "p1".into(),
                table_no: 1,
            },
            by: None,
        }
    }

    #[test]
    fn a_privileged_event_must_name_the_official() {
        let k = DeviceSecret::generate();
        let undo = EventKind::CardReissued {
            voter_id: "V1".into(),
            new_code: "VB000000000001".into(),
        };
        assert!(undo.needs_official());
        assert!(!body(&k).kind.needs_official());
        let any_key = Trust {
            enrolment: None,
            ..trust(&k)
        };
        let mut b = EventBody {
            kind: undo,
            ..body(&k)
        };
        let e = sign(&b, &k);
        assert!(matches!(
            verify(&e.signed, &any_key),
            Err(EventError::NoOfficial {
                kind: "card_reissued",
                ..
            })
        ));
        b.by = Some(crate::election::official::ActedBy {
            name: "Mette Holm".into(),
            role: crate::election::official::OfficialRole::Valgstyrer,
        });
        let e = sign(&b, &k);
        assert!(
            e.signed
                .body
                .contains(r#""by":{"name":"Mette Holm","role":"valgstyrer"}"#)
        );
        assert_eq!(verify(&e.signed, &any_key).unwrap().body, b);
        // Events that need no official keep their bytes: no "by" key at all.
        assert!(!sign(&body(&k), &k).signed.body.contains("\"by\""));
    }

    /// KRVL § 71: an event deciding a brevstemme by one valgstyrer (named twice), or
    /// naming a valgsekretær as the one who acted, is refused wherever it arrives.
    #[test]
    fn a_brevstemme_decision_needs_two_different_valgstyrere() {
        use crate::election::official::{ActedBy, OfficialRole};
        let k = DeviceSecret::generate();
        let any_key = Trust {
            enrolment: None,
            ..trust(&k)
        };
        let decided = |pair: [&str; 2], by: (&str, OfficialRole)| EventBody {
            kind: EventKind::BrevstemmeExamined {
                voter_id: "V3".into(),
                place: "p1".into(),
                accepted: true,
                reason: None,
                valgstyrere: pair.map(str::to_string),
            },
            by: Some(ActedBy {
                name: by.0.into(),
                role: by.1,
            }),
            ..body(&k)
        };
        let styrer = OfficialRole::Valgstyrer;
        let ok = decided(["Jens Kragh", "Mette Holm"], ("Jens Kragh", styrer));
        assert!(verify(&sign(&ok, &k).signed, &any_key).is_ok());
        for bad in [
            decided(["Jens Kragh", "Jens Kragh"], ("Jens Kragh", styrer)),
            decided(["Jens Kragh", " "], ("Jens Kragh", styrer)),
            decided(["Jens Kragh", "Mette Holm"], ("Mette Holm", styrer)),
            decided(
                ["Anne Sørensen", "Mette Holm"],
                ("Anne Sørensen", OfficialRole::Valgsekretaer),
            ),
        ] {
            assert!(matches!(
                verify(&sign(&bad, &k).signed, &any_key),
                Err(EventError::NotTwoValgstyrere { .. })
            ));
        }
    }

    fn trust(key: &DeviceSecret) -> Trust {
        Trust {
            election: "kv2025".into(),
            enrolment: Some(Enrolment::reserves_of("p1", [key.public()])),
            allow_test: false,
        }
    }

    #[test]
    fn signed_event_verifies() {
        let k = DeviceSecret::generate();
        let e = sign(&body(&k), &k);
        let v = verify(&e.signed, &trust(&k)).unwrap();
        assert_eq!(v.hash, e.hash);
        assert_eq!(v.body, e.body);
    }

    #[test]
    fn altered_body_is_refused() {
        let k = DeviceSecret::generate();
        let mut e = sign(&body(&k), &k).signed;
        e.body = e.body.replace("\"table_no\":1", "\"table_no\":2");
        assert!(matches!(
            verify(&e, &trust(&k)),
            Err(EventError::BadSignature { .. })
        ));
    }

    #[test]
    fn unknown_key_and_foreign_election_are_refused() {
        let k = DeviceSecret::generate();
        let other = DeviceSecret::generate();
        let e = sign(&body(&other), &other).signed;
        assert!(matches!(
            verify(&e, &trust(&k)),
            Err(EventError::UnknownKey(_))
        ));
        let mut b = body(&k);
        b.election = "fv2026".into();
        let e = sign(&b, &k).signed;
        assert!(matches!(
            verify(&e, &trust(&k)),
            Err(EventError::ForeignElection { .. })
        ));
    }

    #[test]
    fn test_events_need_test_mode() {
        let k = DeviceSecret::generate();
        let mut b = body(&k);
        b.test = true;
        let e = sign(&b, &k).signed;
        assert!(matches!(
            verify(&e, &trust(&k)),
            Err(EventError::TestEvent { .. })
        ));
        let mut t = trust(&k);
        t.allow_test = true;
        assert!(verify(&e, &t).is_ok());
    }

    #[test]
    fn a_re_encoded_signature_is_refused_as_not_canonical() {
        let k = DeviceSecret::generate();
        let e = sign(&body(&k), &k).signed;
        let mut upper = e.clone();
        upper.sig = upper.sig.to_uppercase();
        let err = verify(&upper, &trust(&k)).unwrap_err();
        assert!(matches!(err, EventError::NotCanonical { .. }), "{err}");
        assert!(err.to_string().contains("not in canonical form"), "{err}");
        let mut short = e.clone();
        short.sig.truncate(126);
        assert!(verify(&short, &trust(&k)).is_err());
    }

    #[test]
    fn a_re_encoded_body_is_refused_even_when_signed() {
        let k = DeviceSecret::generate();
        let e = sign(&body(&k), &k).signed;
        let value: serde_json::Value = serde_json::from_str(&e.body).unwrap();
        // Whitespace, and keys in the order of a map rather than of the struct.
        for text in [
            serde_json::to_string_pretty(&value).unwrap(),
            serde_json::to_string(&value).unwrap(),
            e.body.replace("\"v\":1", "\"v\": 1"),
        ] {
            assert_ne!(text, e.body);
            let resigned = SignedEvent {
                sig: hex::encode(k.sign(&signing_bytes(&text)).to_bytes()),
                body: text,
            };
            let err = verify(&resigned, &trust(&k)).unwrap_err();
            assert!(matches!(err, EventError::NotCanonical { .. }), "{err}");
        }
    }

    #[test]
    fn two_versions_of_one_number_or_a_wrong_predecessor_prove_a_fork() {
        let k = DeviceSecret::generate();
        let a = sign(&body(&k), &k);
        let mut other = body(&k);
        other.wall_ms += 1;
        let b = sign(&other, &k);
        assert!(proves_fork(&a, &b));
        assert!(!proves_fork(&a, &a));
        let mut next = body(&k);
        next.seq = 2;
        next.prev = a.hash;
        let honest_next = sign(&next, &k);
        assert!(!proves_fork(&a, &honest_next));
        next.prev = b.hash;
        assert!(proves_fork(&a, &sign(&next, &k)));
        let stranger = DeviceSecret::generate();
        assert!(!proves_fork(&a, &sign(&body(&stranger), &stranger)));
    }

    #[test]
    fn the_hash_covers_the_raw_signature_not_its_text() {
        let k = DeviceSecret::generate();
        let e = sign(&body(&k), &k);
        let sig: [u8; 64] = hex::decode(&e.signed.sig).unwrap().try_into().unwrap();
        assert_eq!(e.hash, hash_of(&e.signed.body, &sig));
        assert_eq!(verify(&e.signed, &trust(&k)).unwrap().hash, e.hash);
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let k = DeviceSecret::generate();
        for body in ["", "{", "null", "{\"v\":1}", "[1,2,3]"] {
            let e = SignedEvent {
                body: body.into(),
                sig: "00".into(),
            };
            assert!(matches!(
                verify(&e, &trust(&k)),
                Err(EventError::Malformed(_))
            ));
        }
        let mut e = sign(&body(&k), &k).signed;
        e.sig = "zz".into();
        assert!(verify(&e, &trust(&k)).is_err());
    }
}
