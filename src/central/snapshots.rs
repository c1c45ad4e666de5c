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
use crate::store::StoreError;
use chrono::{Local, NaiveDate, NaiveTime, TimeZone};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::collections::HashMap;

/// The central's own tables, beside the store's schema in the same file. Only ever
/// created here; a rebuild of the projections does not touch them.
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS central_snapshot(
    id INTEGER PRIMARY KEY,
    label TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    taken_ms INTEGER NOT NULL,
    scheduled INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS central_snapshot_due ON central_snapshot(at_ms) WHERE scheduled = 1;
CREATE TABLE IF NOT EXISTS central_snapshot_place(
    snapshot INTEGER NOT NULL REFERENCES central_snapshot(id),
    place TEXT NOT NULL,
    eligible INTEGER NOT NULL,
    brevstemmer INTEGER NOT NULL,
    checked_in INTEGER NOT NULL,
    PRIMARY KEY(snapshot, place)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS central_snapshot_no_update BEFORE UPDATE ON central_snapshot
BEGIN SELECT RAISE(ABORT, 'snapshots are immutable'); END;
CREATE TRIGGER IF NOT EXISTS central_snapshot_no_delete BEFORE DELETE ON central_snapshot
BEGIN SELECT RAISE(ABORT, 'snapshots are immutable'); END;
CREATE TRIGGER IF NOT EXISTS central_snapshot_place_no_update BEFORE UPDATE ON central_snapshot_place
BEGIN SELECT RAISE(ABORT, 'snapshots are immutable'); END;
CREATE TRIGGER IF NOT EXISTS central_snapshot_place_no_delete BEFORE DELETE ON central_snapshot_place
BEGIN SELECT RAISE(ABORT, 'snapshots are immutable'); END;
"#;

pub fn ensure_schema(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

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

/// Persons checked in per place by check-ins with a time before `at_ms` and not undone
/// by an undo with a time before it.
pub fn checked_in_before(
    conn: &Connection,
    at_ms: i64,
) -> Result<HashMap<String, i64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT k.place, COUNT(DISTINCT k.voter_id) FROM checkins k
         WHERE k.wall_ms < ?1 AND NOT EXISTS(SELECT 1 FROM undone u
           WHERE u.target_device=k.device AND u.target_seq=k.seq AND u.wall_ms < ?1)
         GROUP BY k.place",
    )?;
    let rows = stmt.query_map([at_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The figures of every place at `at_ms`, read in one transaction on `reader`.
pub fn figures_at(
    reader: &Connection,
    at_ms: i64,
    cache: &super::tally::ElectorateCache,
) -> Result<Vec<(String, Figures)>, StoreError> {
    let tx = reader.unchecked_transaction()?;
    let places: Vec<String> = tx
        .prepare_cached("SELECT id FROM places")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let electorate = cache.get(&tx)?;
    let checked = checked_in_before(&tx, at_ms)?;
    tx.finish()?;
    let mut out: Vec<(String, Figures)> = places
        .into_iter()
        .map(|p| {
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
    writer: &Connection,
    label: &str,
    at_ms: i64,
    taken_ms: i64,
    scheduled: bool,
    figures: &[(String, Figures)],
) -> Result<Option<i64>, StoreError> {
    let tx = writer.unchecked_transaction()?;
    if scheduled
        && tx
            .query_row(
                "SELECT 1 FROM central_snapshot WHERE scheduled=1 AND at_ms=?1",
                [at_ms],
                |_| Ok(()),
            )
            .optional()?
            .is_some()
    {
        return Ok(None);
    }
    tx.execute(
        "INSERT INTO central_snapshot(label, at_ms, taken_ms, scheduled) VALUES(?1, ?2, ?3, ?4)",
        params![label, at_ms, taken_ms, scheduled],
    )?;
    let id = tx.last_insert_rowid();
    for (place, f) in figures {
        tx.execute(
            "INSERT INTO central_snapshot_place(snapshot, place, eligible, brevstemmer, checked_in)
             VALUES(?1, ?2, ?3, ?4, ?5)",
            params![id, place, f.eligible, f.brevstemmer, f.checked_in],
        )?;
    }
    tx.commit()?;
    Ok(Some(id))
}

/// The scheduled times already taken.
pub fn taken(conn: &Connection) -> Result<Vec<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT at_ms FROM central_snapshot WHERE scheduled=1")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
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
    /// "+3 registreret før kl. 12:00, modtaget senere", or empty.
    pub late_text: String,
}

/// Every snapshot taken, oldest first, with its late arrivals as of now.
pub fn list(conn: &Connection) -> Result<Vec<Snapshot>, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let names: HashMap<String, String> = tx
        .prepare_cached("SELECT id, name FROM places")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let heads: Vec<(i64, String, i64, i64, bool)> = tx
        .prepare_cached(
            "SELECT id, label, at_ms, taken_ms, scheduled FROM central_snapshot ORDER BY at_ms, id",
        )?
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for (id, label, at_ms, taken_ms, scheduled) in heads {
        let now_before = checked_in_before(&tx, at_ms)?;
        let mut places: Vec<SnapshotPlace> = tx
            .prepare_cached(
                "SELECT place, eligible, brevstemmer, checked_in FROM central_snapshot_place WHERE snapshot=?1",
            )?
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?
            .map(|row| {
                row.map(|(place, e, b, c)| SnapshotPlace {
                    name: names.get(&place).cloned().unwrap_or_default(),
                    late: now_before.get(&place).copied().unwrap_or(0) - c,
                    figures: Figures::new(e, b, c),
                    place,
                })
            })
            .collect::<rusqlite::Result<_>>()?;
        places.sort_by_key(|p| place_order(&p.place));
        let mut total = Figures::default();
        for p in &places {
            total.add(&p.figures);
        }
        let late = places.iter().map(|p| p.late).sum();
        out.push(Snapshot {
            late_text: late_text(late, &label),
            id,
            label,
            at_ms,
            taken_ms,
            scheduled,
            places,
            total,
            late,
        });
    }
    tx.finish()?;
    Ok(out)
}

/// The note shown beside a snapshot about check-ins that arrived after it was taken.
pub fn late_text(late: i64, label: &str) -> String {
    match late {
        0 => String::new(),
        n if n > 0 => format!("+{n} registreret før kl. {label}, modtaget senere"),
        n => format!("{n} fortrudt før kl. {label}, modtaget senere"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_snapshot_can_never_be_changed() {
        let db = Store::open_in_memory().unwrap();
        ensure_schema(&db.conn).unwrap();
        ensure_schema(&db.conn).unwrap();
        let f = vec![("1".to_string(), Figures::new(100, 10, 20))];
        let id = insert(&db.conn, "09:00", 1_000, 2_000, true, &f)
            .unwrap()
            .unwrap();
        assert_eq!(
            insert(&db.conn, "09:00", 1_000, 3_000, true, &f).unwrap(),
            None
        );
        for sql in [
            "UPDATE central_snapshot SET taken_ms=5",
            "DELETE FROM central_snapshot",
            "UPDATE central_snapshot_place SET checked_in=99",
            "DELETE FROM central_snapshot_place",
        ] {
            let e = db.conn.execute(sql, []).unwrap_err();
            assert!(e.to_string().contains("immutable"), "{sql}: {e}");
        }
        let l = list(&db.conn).unwrap();
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
            "+3 registreret før kl. 12:00, modtaget senere"
        );
    }
}
