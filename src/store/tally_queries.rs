//! What the election office's overview and turnout curve read, for every polling place
//! at once: counts grouped by place (and table, and hour) from the list and the
//! projections. Plain maps; `central::tally` adds them up.

use super::Result;
use super::queries::UNRESOLVED;
use super::read_snapshot::ReadSnapshot;
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::Arc;

/// Two counts per place (the second 0 where a query has only one).
pub type PerPlace = HashMap<String, (i64, i64)>;

/// Eligible voters and accepted brevstemmer per place.
pub type Electorate = PerPlace;

fn grouped(conn: &Connection, sql: &str) -> Result<PerPlace> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            (
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?.unwrap_or(0),
            ),
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The eligible voters and brevstemmer per place, counted again only after an office
/// list change or a decision on a brevstemme: counting a country's 4.3 M voters took 3.5 s of every overview.
#[derive(Default)]
pub struct ElectorateCache(std::sync::Mutex<Option<(i64, Arc<Electorate>)>>);

impl ElectorateCache {
    /// The electorate as `snap` sees the list.
    pub fn get(&self, snap: &ReadSnapshot<'_>) -> Result<Arc<Electorate>> {
        // A valgstyrere's decision changes the brevstemmer as a list change does.
        let changes = snap.list_change_count()? + snap.brevstemme_decision_count()?;
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((n, e)) = c.as_ref()
            && *n == changes
        {
            return Ok(e.clone());
        }
        let e = Arc::new(snap.electorate()?);
        *c = Some((changes, e.clone()));
        Ok(e)
    }
}

/// Check-ins in force per (place, table).
pub type PerTable = HashMap<(String, u32), i64>;

impl ReadSnapshot<'_> {
    /// The eligible voters and accepted brevstemmer of each place (from the list).
    /// Brevstemmer are those taken into account (the one definition, view
    /// `brevstemmer_counted`), as the table's report and the paper list count them.
    fn electorate(&self) -> Result<Electorate> {
        let mut e = grouped(
            &self.tx,
            "SELECT place, COUNT(*), 0 FROM voters WHERE struck IS NULL GROUP BY place",
        )?;
        let counted = grouped(
            &self.tx,
            "SELECT place, COUNT(*), 0 FROM brevstemmer_counted GROUP BY place",
        )?;
        for (place, (n, _)) in counted {
            e.entry(place).or_default().1 = n;
        }
        Ok(e)
    }

    /// Persons checked in per place, and how many of them more than once.
    pub fn checked_in_per_place(&self) -> Result<PerPlace> {
        grouped(
            &self.tx,
            "SELECT place, COUNT(*), SUM(active > 1) FROM voter_status GROUP BY place",
        )
    }

    /// Unresolved double registrations per place (first of the pair).
    pub fn doubles_per_place(&self) -> Result<PerPlace> {
        grouped(
            &self.tx,
            &format!(
                "SELECT s.place, COUNT(*), 0 FROM voter_status s WHERE s.active > 1 AND {UNRESOLVED}
                 GROUP BY s.place"
            ),
        )
    }

    /// Reissued cards per place (first of the pair).
    pub fn reissued_per_place(&self) -> Result<PerPlace> {
        grouped(
            &self.tx,
            "SELECT v.place, COUNT(*), 0 FROM cards c JOIN voters v ON v.id=c.voter_id GROUP BY v.place",
        )
    }

    /// Persons in force per place and set of contests whose ballots they got: the
    /// ballots of the check-in (a paper registration records none: the voter's
    /// contests). Only the few paper registrations need the voter's row (a join over
    /// every check-in of a country took 3 s).
    pub fn persons_per_contest_set(&self) -> Result<Vec<(String, String, i64)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT place, ballots, COUNT(*) FROM voter_status WHERE ballots != ''
             GROUP BY place, ballots
             UNION ALL
             SELECT s.place, v.contests, COUNT(*) FROM voter_status s
             JOIN voters v ON v.id=s.voter_id WHERE s.ballots = '' GROUP BY s.place, v.contests",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Check-ins in force per table, from the hourly counts.
    pub fn checkins_per_table(&self) -> Result<PerTable> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT place, table_no, SUM(checkins) FROM hourly GROUP BY place, table_no",
        )?;
        let rows = stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The state of every table that has one: (place, table, state).
    pub fn table_states(&self) -> Result<Vec<(String, u32, String)>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT place, table_no, state FROM table_state")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Check-ins per place and hour (hours since the epoch).
    pub fn checkins_per_hour(&self) -> Result<Vec<(String, i64, i64)>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT place, hour, SUM(checkins) FROM hourly GROUP BY place, hour")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Persons checked in per place by check-ins with a time before `at_ms` and not
    /// undone by an undo with a time before it.
    pub fn checked_in_before(&self, at_ms: i64) -> Result<HashMap<String, i64>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT k.place, COUNT(DISTINCT k.voter_id) FROM checkins k
             WHERE k.wall_ms < ?1 AND NOT EXISTS(SELECT 1 FROM undone u
               WHERE u.target_device=k.device AND u.target_seq=k.seq AND u.wall_ms < ?1)
             GROUP BY k.place",
        )?;
        let rows = stmt.query_map([at_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Persons per place with any check-in with a time before `at_ms`, undone or not:
    /// the most a snapshot taken for `at_ms` can have counted from any part of this log.
    pub fn checked_in_ever_before(&self, at_ms: i64) -> Result<HashMap<String, i64>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT place, COUNT(DISTINCT voter_id) FROM checkins WHERE wall_ms < ?1 GROUP BY place",
        )?;
        let rows = stmt.query_map([at_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_electorate_is_counted_again_after_a_list_change() {
        let mut store = crate::store::Store::open_in_memory().unwrap();
        let mut list = Vec::new();
        crate::store::generate::write_list(&mut list, 200, 7, 2, "KV+RV").unwrap();
        store.import_file(&list, false, |_| {}).unwrap();
        let cache = ElectorateCache::default();
        let sum = |e: &Electorate| e.values().map(|e| e.0).sum::<i64>();
        let get = |store: &crate::store::Store| cache.get(&store.read_snapshot().unwrap());
        let before = get(&store).unwrap();
        // Without a list change the cached counts stand, even if rows changed.
        let struck = store
            .conn
            .execute(
                "UPDATE voters SET struck='død' WHERE list_no=1 AND struck IS NULL",
                [],
            )
            .unwrap();
        assert!(struck > 0);
        assert!(Arc::ptr_eq(&before, &get(&store).unwrap()));
        // A list change (what struck the voters) makes it count again.
        store
            .conn
            .execute(
                "INSERT INTO list_changes VALUES('c1', 1, '2025-11-18', 'død', 'd', 1, 1, 1, 2)",
                [],
            )
            .unwrap();
        let after = get(&store).unwrap();
        assert_eq!(sum(&after), sum(&before) - struck as i64);
    }
}
