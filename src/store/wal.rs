//! Keeping the write-ahead log of a busy database small without holding up its writer.
//!
//! By default SQLite checkpoints inside whichever commit crosses 1,000 pages, holding up
//! that commit and every one queued behind it for the whole copy (seconds on a country's
//! database at the central). A daemon that takes that over turns the automatic
//! checkpoints off ([`checkpoint_outside_commits`]) and runs a [`Checkpointer`] beside the
//! writer. The pragmas live here so that no SQL is written outside the store.

use std::path::Path;
use std::sync::Mutex;

/// The WAL size past which the checkpointer makes the log start over (see
/// [`Checkpointer::keep_small`]); also the size SQLite truncates the file to when it does.
pub const WAL_RESTART_BYTES: u64 = 32 << 20;

/// What may be left to copy while the writer waits.
const WAL_TAIL_BYTES: i64 = 1 << 20;

impl super::Store {
    /// Stops SQLite from checkpointing inside commits on this (the writer's) connection,
    /// and has it truncate the WAL file to [`WAL_RESTART_BYTES`] when the log starts over.
    pub fn checkpoint_outside_commits(&self) -> super::Result<()> {
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        self.conn
            .pragma_update(None, "journal_size_limit", WAL_RESTART_BYTES as i64)?;
        Ok(())
    }
}

/// A connection of its own that copies the WAL back into the database.
pub struct Checkpointer {
    conn: Mutex<rusqlite::Connection>,
}

impl Checkpointer {
    pub fn open(db: &Path) -> rusqlite::Result<Checkpointer> {
        Ok(Checkpointer {
            conn: Mutex::new(rusqlite::Connection::open(db)?),
        })
    }

    /// One round of checkpointing; blocks (run it on the blocking pool).
    ///
    /// A passive checkpoint alone never lets the WAL start over while tables push
    /// without pause (each copy ends behind the newest commit), and it grew by gigabytes
    /// an hour in `bench central`. So once the WAL holds more than [`WAL_RESTART_BYTES`],
    /// passive checkpoints repeat until what is left to copy is small, and a last one
    /// runs while `hold_writer`'s guard is held: it copies only that tail
    /// (milliseconds), after which the next commit writes the WAL from its beginning. A
    /// reader on an old snapshot can still pin the WAL; that is tried again next time.
    pub fn keep_small<G>(&self, hold_writer: impl FnOnce() -> G) -> rusqlite::Result<()> {
        let c = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let page = c.query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))?;
        let mut wal = passive(&c)?;
        if wal.frames * page < WAL_RESTART_BYTES as i64 {
            return Ok(());
        }
        for _ in 0..8 {
            if wal.left() * page <= WAL_TAIL_BYTES {
                break;
            }
            wal = passive(&c)?;
        }
        if wal.left() * page <= WAL_TAIL_BYTES {
            let _writer = hold_writer();
            passive(&c)?;
        }
        Ok(())
    }
}

/// Frames in the WAL and frames copied back, after a checkpoint.
struct WalState {
    frames: i64,
    copied: i64,
}

impl WalState {
    fn left(&self) -> i64 {
        (self.frames - self.copied).max(0)
    }
}

fn passive(c: &rusqlite::Connection) -> rusqlite::Result<WalState> {
    c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok(WalState {
            frames: r.get(1)?,
            copied: r.get(2)?,
        })
    })
}
