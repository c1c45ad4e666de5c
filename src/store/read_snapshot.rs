//! One read transaction over the projections, so every figure a report, a paper list
//! or the election office's overview shows is of the same moment. The queries those
//! readers need are methods on [`ReadSnapshot`], in files named after what they read
//! (`report_queries`, `paper_list_queries`, `tally_queries`, `snapshot_table`).
//!
//! A table prints from a second, read-only connection to its database file (WAL lets
//! it read beside the writer, so check-ins go on while a list prints): [`ReadOnlyDb`].
//! The central reads on its own reader [`Store`].

use super::{Result, Store};
use rusqlite::{Connection, OpenFlags, Transaction};
use std::path::Path;

/// A read-only connection to a device's database file.
pub struct ReadOnlyDb {
    conn: Connection,
}

impl ReadOnlyDb {
    pub fn open(db: &Path) -> Result<ReadOnlyDb> {
        let conn = Connection::open_with_flags(
            db,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(ReadOnlyDb { conn })
    }

    pub fn snapshot(&self) -> Result<ReadSnapshot<'_>> {
        ReadSnapshot::begin(&self.conn)
    }
}

impl Store {
    /// A read transaction on this store's connection.
    pub fn read_snapshot(&self) -> Result<ReadSnapshot<'_>> {
        ReadSnapshot::begin(&self.conn)
    }
}

/// The database as of the moment the transaction began.
pub struct ReadSnapshot<'c> {
    pub(crate) tx: Transaction<'c>,
}

impl<'c> ReadSnapshot<'c> {
    fn begin(conn: &'c Connection) -> Result<ReadSnapshot<'c>> {
        Ok(ReadSnapshot {
            tx: conn.unchecked_transaction()?,
        })
    }

    /// Ends the read transaction (dropping it does the same, without the error).
    pub fn finish(self) -> Result<()> {
        self.tx.finish()?;
        Ok(())
    }

    /// The polling places of the list (id, name), ordered by id as text.
    pub fn places(&self) -> Result<Vec<(String, String)>> {
        Ok(self
            .tx
            .prepare_cached("SELECT id, name FROM places ORDER BY id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The highest sequence number of each device in the log (device hex, seq).
    pub fn versions(&self) -> Result<Vec<(String, u64)>> {
        Ok(self
            .tx
            .prepare_cached("SELECT device, MAX(seq) FROM events GROUP BY device ORDER BY device")?
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Election-day list changes from the office applied.
    pub fn list_change_count(&self) -> Result<i64> {
        Ok(self
            .tx
            .query_row("SELECT COUNT(*) FROM list_changes", [], |r| r.get(0))?)
    }
}
