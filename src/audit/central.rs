//! The central tally in the audit. The central has no package and prints no closing
//! report; what it showed the election office is its tally and its snapshots. Its
//! bundle carries both, read by the store queries its overview reads, in the same read
//! transaction as its log; the audit reads the same queries on the replay of that log
//! and compares. The tally must equal the replay. A snapshot was taken earlier from
//! part of the log, so the rule for it is a bound: per polling place, its checked-in
//! figure is at most the persons with a check-in timed before the snapshot's time
//! anywhere in the log, undone or not (a table off the WAN delivers late, so a lower
//! figure is what a late arrival looks like, and the central shows those beside it).

use crate::store::Result;
use crate::store::read_snapshot::{ReadOnlyDb, ReadSnapshot};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One polling place as the central's overview counts it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceCounts {
    /// Persons checked in (in force).
    pub checked_in: i64,
    /// Of them, checked in at more than one table.
    pub more_than_once: i64,
    /// Double registrations not resolved.
    pub double_registrations: i64,
    pub reissued_cards: i64,
}

/// The central's tally: what its overview shows, per place, table and contest set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentralFigures {
    pub places: BTreeMap<String, PlaceCounts>,
    /// Check-ins in force per "place/table".
    pub tables: BTreeMap<String, i64>,
    /// Persons in force per "place/contests" (the ballots they got).
    pub contest_sets: BTreeMap<String, i64>,
}

/// One stored snapshot (immutable at the central).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotCopy {
    pub label: String,
    /// The time it counts to (ms since the epoch).
    pub at_ms: i64,
    pub taken_ms: i64,
    pub scheduled: bool,
    /// Per place: (eligible, brevstemmer, checked in).
    pub places: BTreeMap<String, (i64, i64, i64)>,
}

/// What the central's bundle carries besides its log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentralCopy {
    pub figures: CentralFigures,
    pub snapshots: Vec<SnapshotCopy>,
}

/// The tally as the central's overview reads it (`central::tally`'s queries).
pub fn figures(snap: &ReadSnapshot<'_>) -> Result<CentralFigures> {
    let mut out = CentralFigures::default();
    for (place, (n, more)) in snap.checked_in_per_place()? {
        let p = out.places.entry(place).or_default();
        p.checked_in = n;
        p.more_than_once = more;
    }
    for (place, (n, _)) in snap.doubles_per_place()? {
        out.places.entry(place).or_default().double_registrations = n;
    }
    for (place, (n, _)) in snap.reissued_per_place()? {
        out.places.entry(place).or_default().reissued_cards = n;
    }
    for ((place, table), n) in snap.checkins_per_table()? {
        out.tables.insert(format!("{place}/{table}"), n);
    }
    for (place, set, n) in snap.persons_per_contest_set()? {
        *out.contest_sets
            .entry(format!("{place}/{set}"))
            .or_default() += n;
    }
    Ok(out)
}

/// The central's copy: its tally and every snapshot, of the moment of `snap`.
pub fn copy(snap: &ReadSnapshot<'_>) -> Result<CentralCopy> {
    let mut snapshots = Vec::new();
    if snap.has_snapshot_tables()? {
        for head in snap.snapshot_heads()? {
            let places = snap
                .snapshot_rows(head.id)?
                .into_iter()
                .map(|r| (r.place, (r.eligible, r.brevstemmer, r.checked_in)))
                .collect();
            snapshots.push(SnapshotCopy {
                label: head.label,
                at_ms: head.at_ms,
                taken_ms: head.taken_ms,
                scheduled: head.scheduled,
                places,
            });
        }
    }
    Ok(CentralCopy {
        figures: figures(snap)?,
        snapshots,
    })
}

/// The central's copy against the replay of its log in `replayed_db`: each thing that
/// does not hold, in Danish.
pub fn compare(copy: &CentralCopy, replayed_db: &Path) -> anyhow::Result<Vec<String>> {
    let ro = ReadOnlyDb::open(replayed_db)?;
    let snap = ro.snapshot()?;
    let replayed = figures(&snap)?;
    let mut out: Vec<String> = super::figures::json_differences(&copy.figures, &replayed)
        .into_iter()
        .map(|d| format!("centralens optælling passer ikke med dens log: {d}"))
        .collect();
    for s in &copy.snapshots {
        let most = snap.checked_in_ever_before(s.at_ms)?;
        for (place, (_, _, checked_in)) in &s.places {
            let bound = most.get(place).copied().unwrap_or(0);
            if *checked_in > bound {
                out.push(format!(
                    "øjebliksbilledet kl. {} siger {checked_in} registrerede på valgsted {place}, men loggen har kun {bound} personer registreret før det tidspunkt",
                    s.label
                ));
            }
        }
    }
    snap.finish()?;
    Ok(out)
}
