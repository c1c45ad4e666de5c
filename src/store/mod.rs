//! The SQLite store of one device: the voter list, the signed event log, and the
//! projections people read.

pub mod append;
pub mod binding;
pub mod brevstemme;
pub mod bundle_queries;
pub mod error;
pub mod forks;
pub mod generate;
pub mod import;
pub mod inspect;
pub mod keyfile;
pub mod list_change_projection;
pub mod list_changes;
pub mod meta;
pub mod paper_list_queries;
pub mod place_mode;
pub mod projection;
pub mod queries;
pub mod read_snapshot;
pub mod report_queries;
pub mod retention;
pub mod schema;
pub mod search;
pub mod sent_voters;
pub mod snapshot_table;
pub mod tally_queries;
pub mod wal;

pub use error::{Result, StoreError};

use crate::election::clock::{Hlc, HlcClock};
use rusqlite::{Connection, OptionalExtension};
use std::path::{Path, PathBuf};

/// Removes a database file with its WAL and shared-memory files, so a scratch database
/// (a bench's, a rehearsal's) starts from nothing; a file that is not there is no error.
/// Not for an election's data, which `binding::destroy` overwrites before removing.
pub fn remove_scratch_database(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
    pub(crate) clock: HlcClock,
}

impl Store {
    /// Opens (creating if needed) a device database. WAL with synchronous=FULL: a
    /// check-in is on disk when `append` returns, and readers never block the writer.
    pub fn open(path: &Path) -> Result<Store> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // 16 MB of pages in SQLite's own cache (the default is 2 MB): the list's indexes
        // and the projections a screen reads stay there instead of being read again
        // from the OS at every check-in a peer pushes. A Pi has hundreds of MB free.
        conn.pragma_update(None, "cache_size", -16_384)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        let max: Option<i64> = conn
            .query_row("SELECT MAX(hlc) FROM events", [], |r| r.get(0))
            .optional()?
            .flatten();
        let mut clock = HlcClock::new();
        if let Some(m) = max {
            clock.observe(Hlc(m as u64));
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            clock,
        })
    }

    /// A throwaway database (the audit's replay of a bundle's log): no fsync, and the
    /// rollback journal and temporary files in memory instead of the WAL. Safe because
    /// nothing in it is kept or trusted afterwards: a crash or power cut loses only a
    /// replay, which is run again from the bundles (the evidence, never written here).
    pub fn open_scratch(path: &Path) -> Result<Store> {
        let store = Store::open(path)?;
        store.conn.pragma_update(None, "journal_mode", "MEMORY")?;
        store.conn.pragma_update(None, "synchronous", "OFF")?;
        // The savepoint taken for each event journals into a temporary file otherwise.
        store.conn.pragma_update(None, "temp_store", "MEMORY")?;
        Ok(store)
    }

    /// An in-memory store for unit tests and benchmarks.
    pub fn open_in_memory() -> Result<Store> {
        let mut conn = Connection::open_in_memory()?;
        schema::migrate(&mut conn)?;
        Ok(Store {
            conn,
            path: PathBuf::from(":memory:"),
            clock: HlcClock::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Milliseconds since the epoch by the wall clock.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests;
