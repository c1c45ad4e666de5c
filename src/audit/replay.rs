//! Replaying a log: the list imported into a scratch database, then every event fed
//! through the path a table takes in a peer's events (`Store::ingest_many`: the one
//! `verify` with the package's roles, then sequence and hash chain), then the closing
//! report computed by the code that printed it. What the replay refuses is the first
//! thing that does not hold.

use super::bundle::BundledEvent;
use super::figures::Figures;
use super::trust::Election;
use crate::election::event::{EventError, SignedEvent, Trust};
use crate::election::list_change::SignedListChange;
use crate::print::report::ClosingReport;
use crate::store::append::Ingested;
use crate::store::{Store, StoreError};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A folder of scratch databases, removed when dropped.
pub struct Scratch {
    dir: PathBuf,
    next: usize,
    /// The list imported once per list file (by SHA-256), copied for each replay.
    templates: BTreeMap<String, PathBuf>,
}

impl Scratch {
    pub fn new() -> anyhow::Result<Scratch> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir =
            std::env::temp_dir().join(format!("valgbord-audit-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch {
            dir,
            next: 0,
            templates: BTreeMap::new(),
        })
    }

    /// A fresh database holding the list `sha` of `election`.
    fn database(&mut self, election: &Election, sha: &str) -> anyhow::Result<PathBuf> {
        let template = match self.templates.get(sha) {
            Some(t) => t.clone(),
            None => {
                let bytes = election
                    .lists
                    .get(sha)
                    .ok_or_else(|| anyhow::anyhow!("no verified list file with SHA-256 {sha}"))?;
                let path = self.dir.join(format!("liste-{}.db", self.templates.len()));
                let mut store = Store::open_scratch(&path)?;
                store
                    .import_file(bytes, true, |_| {})
                    .map_err(|e| anyhow::anyhow!("the list does not import: {e:?}"))?;
                drop(store);
                self.templates.insert(sha.to_string(), path.clone());
                path
            }
        };
        self.next += 1;
        let db = self.dir.join(format!("genspil-{}.db", self.next));
        std::fs::copy(&template, &db)?;
        Ok(db)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An event the replay refused or found wrong: its device (hex, as far as it can be
/// read), number and the reason in Danish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub device: String,
    pub seq: Option<u64>,
    pub reason: String,
}

/// Check-ins in force that fell in one hour, as the store counts them for the turnout
/// curve (undone ones taken off again).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HourCount {
    /// The hour's start, ms since the epoch.
    pub hour_ms: i64,
    pub checkins: i64,
}

/// What a replay left.
pub struct Replayed {
    /// The figures of each polling place asked for, computed from the replayed log.
    pub figures: BTreeMap<String, Figures>,
    /// Voters of each place with more than one check-in in force, unresolved.
    pub doubles: BTreeMap<String, Vec<String>>,
    /// Each place's check-ins per hour, the hours in order.
    pub hourly: BTreeMap<String, Vec<HourCount>>,
    /// Every event refused or found wrong, in the order of the bundle.
    pub refused: Vec<Refusal>,
    /// The replayed database (in the scratch folder), for further questions to it.
    pub db: PathBuf,
}

/// The device and number of an event as far as its text says, also when it is not
/// valid JSON any more (an altered byte).
pub fn claimed(body: &str) -> (String, Option<u64>) {
    let after = |key: &str| body.find(key).map(|i| &body[i + key.len()..]);
    let device = after("\"device\":\"")
        .map(|s| s.chars().take_while(|c| c.is_ascii_hexdigit()).collect())
        .unwrap_or_default();
    let seq = after("\"seq\":")
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok());
    (device, seq)
}

/// Why the store refused an event, for the examiner.
fn danish(e: &StoreError) -> String {
    match e {
        StoreError::Event(EventError::BadSignature { .. }) => {
            "signaturen passer ikke: hændelsen er ændret eller forfalsket".into()
        }
        StoreError::Event(EventError::NotAllowed { source, .. }) => {
            format!("nøglen har ikke ret til at skrive denne hændelse: {source}")
        }
        StoreError::Event(EventError::UnknownKey(k)) => {
            format!("hændelsen er signeret af en nøgle ({k}) som ingen valgpakke indskriver")
        }
        StoreError::Event(EventError::Malformed(why)) => {
            format!("hændelsen kan ikke læses (ændret?): {why}")
        }
        StoreError::Gap { expected, got, .. } => format!(
            "hul i loggen: næste hændelse skulle have nr. {expected}, men har nr. {got} (fjernet eller byttet om)"
        ),
        StoreError::BrokenChain { .. } => {
            "hash-kæden er brudt: hændelsen følger ikke enhedens forrige hændelse".into()
        }
        StoreError::Equivocation { .. } | StoreError::Forked { .. } => {
            "to forskellige hændelser med samme nummer: enhedens log er forgrenet".into()
        }
        other => format!("afvist: {other}"),
    }
}

/// Replays `events` onto list `sha` and computes the figures of `places`.
pub fn replay(
    scratch: &mut Scratch,
    election: &Election,
    sha: &str,
    events: &[BundledEvent],
    places: &[String],
) -> anyhow::Result<Replayed> {
    let db = scratch.database(election, sha)?;
    let mut store = Store::open_scratch(&db)?;
    let trust = Trust {
        election: election.id.clone(),
        enrolment: Some(election.enrolment.clone()),
        allow_test: election.test,
    };
    let mut refusals: Vec<Refusal> = Vec::new();
    for page in events.chunks(2000) {
        let signed: Vec<SignedEvent> = page.iter().map(BundledEvent::signed).collect();
        for (ev, r) in page.iter().zip(store.ingest_many(&signed, &trust)) {
            let reason = match r {
                Ok(Ingested::Added) => continue,
                Ok(Ingested::Duplicate) => "hændelsen står to gange i bundtet".to_string(),
                Err(e) => danish(&e),
            };
            let (device, seq) = claimed(&ev.body);
            refusals.push(Refusal {
                device,
                seq,
                reason,
            });
        }
    }
    refusals.extend(check_stored(&store, election, events)?);
    let mut out = Replayed {
        figures: BTreeMap::new(),
        doubles: BTreeMap::new(),
        hourly: hourly(&store, places)?,
        refused: Vec::new(),
        db: db.clone(),
    };
    for place in places {
        out.doubles
            .insert(place.clone(), store.double_registrations(place)?);
    }
    drop(store);
    for place in places {
        let rep = ClosingReport::read(&db, place, 0)?;
        out.figures.insert(place.clone(), Figures::from(&rep));
    }
    out.refused = refusals;
    Ok(out)
}

/// The check-ins per hour of `places` in the replayed store.
fn hourly(store: &Store, places: &[String]) -> anyhow::Result<BTreeMap<String, Vec<HourCount>>> {
    let snap = store.read_snapshot()?;
    let rows = snap.checkins_per_hour()?;
    snap.finish()?;
    let mut out: BTreeMap<String, Vec<HourCount>> = BTreeMap::new();
    for (place, hour, checkins) in rows {
        if checkins != 0 && places.contains(&place) {
            out.entry(place).or_default().push(HourCount {
                hour_ms: hour * 3_600_000,
                checkins,
            });
        }
    }
    for hours in out.values_mut() {
        hours.sort_by_key(|h| h.hour_ms);
    }
    Ok(out)
}

/// What the replayed log holds against the bundle: each event's hash as the device
/// stored it, and each list change's office signature.
fn check_stored(
    store: &Store,
    election: &Election,
    events: &[BundledEvent],
) -> anyhow::Result<Vec<Refusal>> {
    let stored_hash: BTreeMap<&str, &str> = events
        .iter()
        .map(|e| (e.body.as_str(), e.hash.as_str()))
        .collect();
    let snap = store.read_snapshot()?;
    let mut out = Vec::new();
    for e in snap.stored_events()? {
        let hash = hex::encode(&e.hash);
        if stored_hash
            .get(e.signed.body.as_str())
            .is_some_and(|h| *h != hash)
        {
            out.push(Refusal {
                device: e.device.clone(),
                seq: Some(e.seq),
                reason: format!("hashen i bundtet passer ikke til hændelsen (genberegnet {hash})"),
            });
        }
        let Ok(body) = serde_json::from_str::<crate::election::event::EventBody>(&e.signed.body)
        else {
            continue;
        };
        if let crate::election::event::EventKind::ListChanged {
            body, signature, ..
        } = body.kind
        {
            let office = (!election.test || !signature.is_empty()).then_some(election.office);
            if let Err(why) = (SignedListChange { body, signature }).open(office, &election.id) {
                out.push(Refusal {
                    device: e.device.clone(),
                    seq: Some(e.seq),
                    reason: format!(
                        "listeændringen holder ikke mod valgkontorets nøgle: {}",
                        why.danish
                    ),
                });
            }
        }
    }
    snap.finish()?;
    Ok(out)
}
