//! Read-only looks into a device's database for the benchmarks and the rehearsal's
//! checks, which must see the tables exactly as stored rather than through the screen.
//! No election device uses these: a table and the central read through the projections.
//! Here so that no SQL lives outside `store/`.

use super::{Result, Store};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::Path;

impl Store {
    /// The first `limit` voters in list order who may vote in person (no brevstemme,
    /// not struck), as (place, voter id): the check-ins a benchmark makes.
    pub fn in_person_voters(&self, limit: usize) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT place, id FROM voters WHERE brevstemme=0 AND struck IS NULL ORDER BY list_no LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Copies the write-ahead log into the database and truncates it; `false` while
    /// another checkpointer holds it (busy), so the caller may try again.
    pub fn checkpoint_truncate(&self) -> Result<bool> {
        let busy = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            })?;
        Ok(busy == 0)
    }

    /// No fsync per write from here on: for setting a benchmark's scene fast, never
    /// for a database an election uses.
    pub fn without_fsync(&self) -> Result<()> {
        self.conn.execute_batch("PRAGMA synchronous=OFF")?;
        Ok(())
    }

    /// Every check-in not undone, as (voter id, table number); a voter twice here was
    /// checked in twice.
    pub fn live_checkins(&self) -> Result<Vec<(String, u32)>> {
        let mut stmt = self.conn.prepare(
            "SELECT voter_id, table_no FROM checkins k WHERE NOT EXISTS(
               SELECT 1 FROM undone u WHERE u.target_device=k.device AND u.target_seq=k.seq)",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Calls `each` with every event's device, sequence number and signature, ordered
    /// by device then sequence: what two databases compare to hold the same events.
    pub fn each_event_signature(&self, mut each: impl FnMut(&str, i64, &str)) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT device, seq, sig FROM events ORDER BY device, seq")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let device: String = r.get(0)?;
            let seq: i64 = r.get(1)?;
            let sig: String = r.get(2)?;
            each(&device, seq, &sig);
        }
        Ok(())
    }
}

/// A read-only connection to a database another process (or task) is writing, for
/// watching it from outside without taking its write lock or migrating it.
pub struct Watcher(Connection);

impl Watcher {
    pub fn open(db: &Path) -> Result<Watcher> {
        Ok(Watcher(Connection::open_with_flags(
            db,
            OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?))
    }

    /// Whether the voter is checked in (an active check-in in the projection).
    pub fn holds_checkin(&self, voter_id: &str) -> Result<bool> {
        Ok(self.0.query_row(
            "SELECT EXISTS(SELECT 1 FROM voter_status WHERE voter_id = ?1 AND active = 1)",
            [voter_id],
            |r| r.get(0),
        )?)
    }

    /// If the voter is checked in: how many persons are checked in at the voter's place
    /// (what a table's screen counts), read in the same snapshot. A screen that counts
    /// at least that many was built from a state that holds this check-in.
    pub fn checked_in_count(&self, voter_id: &str) -> Result<Option<i64>> {
        Ok(self
            .0
            .query_row(
                "SELECT (SELECT COUNT(*) FROM voter_status a WHERE a.place = v.place) \
                 FROM voter_status v WHERE v.voter_id = ?1 AND v.active = 1",
                [voter_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// How many events the log holds.
    pub fn event_count(&self) -> Result<i64> {
        Ok(self
            .0
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))?)
    }
}
