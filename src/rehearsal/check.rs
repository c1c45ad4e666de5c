//! The invariants of a rehearsed day, checked against every table's database and the
//! central's after they have converged and stopped.

use super::ledger::Ledger;
use crate::election::voter::Voter;
use crate::store::Store;
use anyhow::anyhow;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// What one database (a table's or the central's) holds at the end.
pub struct TableAudit {
    /// "table 3" or "central", for the messages.
    pub who: String,
    /// Check-ins in force: (voter id, table number) → how many.
    pub rows: HashMap<(String, u32), usize>,
    /// Double registrations flagged for the valgsekretær.
    pub flagged: HashSet<String>,
    /// Projections rebuilt from the log equal the incremental ones.
    pub rebuild_equal: bool,
    pub events: u64,
    /// SHA-256 over every event's device, sequence number and signature, in that
    /// order: two databases with the same hash hold the same signed events.
    pub log_sha256: String,
}

pub fn audit(who: &str, db: &Path, place: &str) -> anyhow::Result<TableAudit> {
    let mut store = Store::open(db).map_err(|e| anyhow!("{who}: {}: {e}", db.display()))?;
    let mut rows = HashMap::new();
    for row in store.live_checkins()? {
        *rows.entry(row).or_insert(0) += 1;
    }
    let flagged = store.double_registrations(place)?.into_iter().collect();
    let events = store.event_count()?;
    let log_sha256 = log_hash(&store).map_err(|e| anyhow!("{who}: {e}"))?;
    let before = store.projection_dump()?;
    store.rebuild_projections()?;
    let after = store.projection_dump()?;
    Ok(TableAudit {
        who: who.to_string(),
        rows,
        flagged,
        rebuild_equal: before == after,
        events,
        log_sha256,
    })
}

/// The hash of the whole event log by content (see [`TableAudit::log_sha256`]). The
/// signature covers every field of an event, so equal signatures are equal events.
fn log_hash(store: &Store) -> anyhow::Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    store.each_event_signature(|device, seq, sig| {
        h.update(format!("{device}\t{seq}\t{sig}\n").as_bytes())
    })?;
    Ok(hex::encode(h.finalize()))
}

/// One invariant and whether it held, with what broke it.
pub struct Verdict {
    pub name: &'static str,
    pub failures: Vec<String>,
}

impl Verdict {
    pub fn held(&self) -> bool {
        self.failures.is_empty()
    }
}

fn verdict(name: &'static str, failures: Vec<String>) -> Verdict {
    Verdict { name, failures }
}

/// What the election office's screen showed for the polling place at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfficeFigures {
    pub checked_in: u64,
    pub double_registrations: u64,
}

/// Checks every invariant. `converged` says whether the tables' health (event count and
/// projection hash) became equal and the central got every event; `office` is what the
/// central's overview showed for the place.
pub fn check(
    ledger: &Ledger,
    voters: &[Voter],
    place: &str,
    audits: &[TableAudit],
    converged: anyhow::Result<()>,
    office: Vec<(&str, anyhow::Result<OfficeFigures>)>,
) -> Vec<Verdict> {
    let mut out = Vec::new();
    out.push(verdict(
        "alle borde har samme log og samme optællinger (health: hændelser og projektionshash), og begge centraler har dem alle",
        converged.err().map(|e| e.to_string()).into_iter().collect(),
    ));
    out.push(verdict(
        "valgkontorets tal (fremmødte, dobbeltregistreringer) er bordenes, på begge centraler",
        office_agrees(audits, office),
    ));

    out.push(verdict(
        "hver bekræftet registrering findes præcis én gang på hvert bord og på begge centraler",
        confirmed_once(ledger, voters, audits),
    ));

    out.push(verdict(
        "hver dobbeltregistrering er markeret",
        doubles_flagged(ledger, voters, audits),
    ));

    out.push(verdict(
        "ingen brevstemmer, slettede eller vælgere fra andre valgsteder registreret",
        only_admissible(voters, place, audits),
    ));

    out.push(verdict(
        "optællingerne genopbygget fra loggen er lig de løbende på hvert bord og på begge centraler",
        audits
            .iter()
            .filter(|a| !a.rebuild_equal)
            .map(|a| format!("{}: rebuild differs", a.who))
            .collect(),
    ));
    out.push(verdict(
        "alle databaser (borde og begge centraler) har den samme log (sha256 over hændelserne) og de samme registreringer",
        same_log(audits),
    ));
    out.push(verdict(
        "reglerne holdt ved bordene (brevstemme, slettet, forkert valgsted, erstattet kort, gentagne forsøg, søgning)",
        ledger.violations.clone(),
    ));
    out
}

/// The persons the tables hold as checked in, against each central's office screen.
fn office_agrees(
    audits: &[TableAudit],
    office: Vec<(&str, anyhow::Result<OfficeFigures>)>,
) -> Vec<String> {
    let mut fail = Vec::new();
    for (central, shown) in office {
        match (shown, audits.first()) {
            (Err(e), _) => fail.push(format!("{central}: {e}")),
            (Ok(_), None) => fail.push("no database was read".into()),
            (Ok(seen), Some(a)) => {
                let persons: HashSet<&str> = a.rows.keys().map(|(v, _)| v.as_str()).collect();
                let want = OfficeFigures {
                    checked_in: persons.len() as u64,
                    double_registrations: a.flagged.len() as u64,
                };
                if seen != want {
                    fail.push(format!(
                        "{central}: the office screen showed {seen:?}, the tables hold {want:?}"
                    ));
                }
            }
        }
    }
    fail
}

/// Expected rows per (voter, table): confirmed, plus confirms that got no answer.
fn confirmed_once(ledger: &Ledger, voters: &[Voter], audits: &[TableAudit]) -> Vec<String> {
    let mut greens: HashMap<(String, u32), usize> = HashMap::new();
    for g in &ledger.greens {
        *greens
            .entry((voters[g.voter].id.clone(), g.table as u32 + 1))
            .or_insert(0) += 1;
    }
    let mut unsure: HashMap<(String, u32), usize> = HashMap::new();
    for (v, t) in &ledger.unsure {
        *unsure
            .entry((voters[*v].id.clone(), *t as u32 + 1))
            .or_insert(0) += 1;
    }
    let mut fail = Vec::new();
    for a in audits {
        for (key, &n) in &greens {
            let have = a.rows.get(key).copied().unwrap_or(0);
            let extra = unsure.get(key).copied().unwrap_or(0);
            if have < n || have > n + extra {
                fail.push(format!(
                    "{}: {} checked in at table {} {have} times, confirmed {n} times",
                    a.who, key.0, key.1
                ));
            }
        }
        for (key, &have) in &a.rows {
            if !greens.contains_key(key) && have > unsure.get(key).copied().unwrap_or(0) {
                fail.push(format!(
                    "{}: {} checked in at table {} without anyone being told",
                    a.who, key.0, key.1
                ));
            }
        }
    }
    fail
}

/// A voter checked in (or confirmed) more than once is flagged, and only such a voter.
fn doubles_flagged(ledger: &Ledger, voters: &[Voter], audits: &[TableAudit]) -> Vec<String> {
    let mut fail = Vec::new();
    let mut confirmed_twice: HashMap<&str, usize> = HashMap::new();
    for g in &ledger.greens {
        *confirmed_twice.entry(&voters[g.voter].id).or_insert(0) += 1;
    }
    for a in audits {
        let mut per_voter: HashMap<&str, usize> = HashMap::new();
        for ((v, _), n) in &a.rows {
            *per_voter.entry(v).or_insert(0) += n;
        }
        for (v, n) in &per_voter {
            if *n > 1 && !a.flagged.contains(*v) {
                fail.push(format!(
                    "{}: {v} checked in {n} times but not flagged",
                    a.who
                ));
            }
        }
        for v in &a.flagged {
            if per_voter.get(v.as_str()).copied().unwrap_or(0) < 2 {
                fail.push(format!("{}: {v} flagged with one check-in", a.who));
            }
        }
        for (v, n) in &confirmed_twice {
            if *n > 1 && !a.flagged.contains(*v) {
                fail.push(format!(
                    "{}: {v} confirmed {n} times but not flagged",
                    a.who
                ));
            }
        }
    }
    fail
}

/// Nobody checked in who may not vote here.
fn only_admissible(voters: &[Voter], place: &str, audits: &[TableAudit]) -> Vec<String> {
    let mut fail = Vec::new();
    let by_id: HashMap<&str, &Voter> = voters.iter().map(|v| (v.id.as_str(), v)).collect();
    for a in audits {
        for (v, _) in a.rows.keys() {
            match by_id.get(v.as_str()) {
                Some(x) if x.brevstemme => {
                    fail.push(format!("{}: brevstemmer {v} checked in", a.who))
                }
                Some(x) if x.struck.is_some() => {
                    fail.push(format!("{}: struck voter {v} checked in", a.who))
                }
                Some(x) if x.place != place => fail.push(format!(
                    "{}: {v} of polling place {} checked in",
                    a.who, x.place
                )),
                None => fail.push(format!("{}: unknown voter {v}", a.who)),
                _ => {}
            }
        }
    }
    fail
}

/// By content: every database's whole signed log, and the check-ins it projects.
fn same_log(audits: &[TableAudit]) -> Vec<String> {
    let mut fail = Vec::new();
    if let Some(first) = audits.first() {
        for a in &audits[1..] {
            if a.log_sha256 != first.log_sha256 {
                fail.push(format!(
                    "{} holds another log than {} ({} events, sha256 {}…; {} events, sha256 {}…)",
                    a.who,
                    first.who,
                    a.events,
                    &a.log_sha256[..12],
                    first.events,
                    &first.log_sha256[..12]
                ));
            }
            if a.rows != first.rows {
                fail.push(format!("{}'s check-ins differ from {}'s", a.who, first.who));
            }
        }
    }
    fail
}
