//! Turnout snapshots (*øjebliksbilleder*) at fixed times of the day: per polling place
//! and in total, eligible voters, accepted brevstemmer, checked in, total and percent.
//!
//! A snapshot counts the check-ins whose own time (the table's wall clock in the signed
//! event) is before the snapshot's time, not when they arrived here. It is stored once
//! and never changed: SQLite triggers refuse any update or delete. A check-in made before
//! the snapshot's time that reaches the central only afterwards (a table that was off
//! the WAN) is shown beside the snapshot as a late arrival, computed when read, so the
//! snapshot's own figures stay what was reported at the time.

use super::tally::{Figures, place_order};
use crate::store::snapshot_table::{SnapshotHead, SnapshotRow};
use crate::store::tally_queries::ElectorateCache;
use crate::store::{Store, StoreError};
use chrono::{Local, NaiveDate, NaiveTime, TimeZone};
use serde::Serialize;
use std::collections::HashMap;

/// A scheduled snapshot time on the election day, as ms since the epoch (local time).
#[derive(Debug, Clone, Serialize)]
pub struct Due {
    pub label: String,
    pub at_ms: i64,
}

/// The day's schedule. A local time that does not exist (a DST gap) takes the next
/// valid one.
pub fn schedule(day: NaiveDate, times: &[NaiveTime]) -> Vec<Due> {
    times
        .iter()
        .filter_map(|t| {
            let local = day.and_time(*t);
            let at = Local.from_local_datetime(&local).earliest().or_else(|| {
                Local
                    .from_local_datetime(&(local + chrono::Duration::hours(1)))
                    .earliest()
            })?;
            Some(Due {
                label: t.format("%H:%M").to_string(),
                at_ms: at.timestamp_millis(),
            })
        })
        .collect()
}

/// The figures of every place at `at_ms`, read in one transaction on `reader`.
pub fn figures_at(
    reader: &Store,
    at_ms: i64,
    cache: &ElectorateCache,
) -> Result<Vec<(String, Figures)>, StoreError> {
    let snap = reader.read_snapshot()?;
    let places = snap.places()?;
    let electorate = cache.get(&snap)?;
    let checked = snap.checked_in_before(at_ms)?;
    snap.finish()?;
    let mut out: Vec<(String, Figures)> = places
        .into_iter()
        .map(|(p, _)| {
            let (eligible, brev) = electorate.get(&p).copied().unwrap_or_default();
            let n = checked.get(&p).copied().unwrap_or_default();
            (p, Figures::new(eligible, brev, n))
        })
        .collect();
    out.sort_by_key(|(p, _)| place_order(p));
    Ok(out)
}

/// Stores a snapshot taken now. Returns `None` when this scheduled time was taken
/// already (by an earlier run of the central).
pub fn insert(
    writer: &Store,
    label: &str,
    at_ms: i64,
    taken_ms: i64,
    scheduled: bool,
    figures: &[(String, Figures)],
) -> Result<Option<i64>, StoreError> {
    let head = SnapshotHead {
        id: 0,
        label: label.to_string(),
        at_ms,
        taken_ms,
        scheduled,
    };
    let rows: Vec<SnapshotRow> = figures
        .iter()
        .map(|(place, f)| SnapshotRow {
            place: place.clone(),
            eligible: f.eligible,
            brevstemmer: f.brevstemmer,
            checked_in: f.checked_in,
        })
        .collect();
    writer.insert_snapshot(&head, &rows)
}

/// The scheduled times already taken.
pub fn taken(writer: &Store) -> Result<Vec<i64>, StoreError> {
    writer.scheduled_snapshots_taken()
}

#[derive(Debug, Clone, Serialize)]
pub struct SnapshotPlace {
    pub place: String,
    pub name: String,
    pub figures: Figures,
    /// Persons checked in before the snapshot's time whose check-in arrived after it was
    /// taken (negative: a late undo). Not part of the snapshot's figures.
    pub late: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub id: i64,
    pub label: String,
    pub at_ms: i64,
    pub taken_ms: i64,
    /// One of the configured times (false: taken on demand by an administrator).
    pub scheduled: bool,
    pub places: Vec<SnapshotPlace>,
    pub total: Figures,
    pub late: i64,
    /// "+3 registreret før kl. 12.00, modtaget senere", or empty.
    pub late_text: String,
}

/// Every snapshot taken, oldest first, with its late arrivals as of now.
pub fn list(reader: &Store) -> Result<Vec<Snapshot>, StoreError> {
    let snap = reader.read_snapshot()?;
    let names: HashMap<String, String> = snap.places()?.into_iter().collect();
    let mut out = Vec::new();
    for head in snap.snapshot_heads()? {
        let now_before = snap.checked_in_before(head.at_ms)?;
        let mut places: Vec<SnapshotPlace> = snap
            .snapshot_rows(head.id)?
            .into_iter()
            .map(|r| SnapshotPlace {
                name: names.get(&r.place).cloned().unwrap_or_default(),
                late: now_before.get(&r.place).copied().unwrap_or(0) - r.checked_in,
                figures: Figures::new(r.eligible, r.brevstemmer, r.checked_in),
                place: r.place,
            })
            .collect();
        places.sort_by_key(|p| place_order(&p.place));
        let mut total = Figures::default();
        for p in &places {
            total.add(&p.figures);
        }
        let late = places.iter().map(|p| p.late).sum();
        out.push(Snapshot {
            late_text: late_text(late, &head.label),
            id: head.id,
            label: head.label,
            at_ms: head.at_ms,
            taken_ms: head.taken_ms,
            scheduled: head.scheduled,
            places,
            total,
            late,
        });
    }
    snap.finish()?;
    Ok(out)
}

/// The note shown beside a snapshot about check-ins that arrived after it was taken.
/// The label keeps the configuration's "12:00"; the sentence writes the time as the
/// screens do, "kl. 12.00".
pub fn late_text(late: i64, label: &str) -> String {
    let clock = label.replace(':', ".");
    match late {
        0 => String::new(),
        n if n > 0 => format!("+{n} registreret før kl. {clock}, modtaget senere"),
        n => format!("{n} fortrudt før kl. {clock}, modtaget senere"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_keeps_its_figures_and_shows_late_arrivals_beside_them() {
        let db = Store::open_in_memory().unwrap();
        db.ensure_snapshot_tables().unwrap();
        let f = vec![("1".to_string(), Figures::new(100, 10, 20))];
        let id = insert(&db, "09:00", 1_000, 2_000, true, &f)
            .unwrap()
            .unwrap();
        assert_eq!(insert(&db, "09:00", 1_000, 3_000, true, &f).unwrap(), None);
        assert_eq!(taken(&db).unwrap(), vec![1_000]);
        let l = list(&db).unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].id, id);
        assert_eq!(l[0].total.percent, 30.0);
        // No check-ins in the log: the snapshot's 20 are now "missing", shown as a
        // negative late figure, never by changing the snapshot.
        assert_eq!(l[0].late, -20);
    }

    #[test]
    fn the_schedule_is_in_local_time_and_sorted_as_given() {
        let day = NaiveDate::from_ymd_opt(2025, 11, 18).unwrap();
        let t = |s| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        let s = schedule(day, &[t("09:00"), t("12:00")]);
        assert_eq!(s[0].label, "09:00");
        assert_eq!(s[1].at_ms - s[0].at_ms, 3 * 3_600_000);
    }

    #[test]
    fn late_text_reads_well() {
        assert_eq!(late_text(0, "12:00"), "");
        assert_eq!(
            late_text(3, "12:00"),
            "+3 registreret før kl. 12.00, modtaget senere"
        );
    }
}
