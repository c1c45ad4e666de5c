//! The central's turnout snapshots (*øjebliksbilleder*) as stored: its own tables,
//! beside the store's schema in the same file, that SQLite triggers keep immutable
//! once written. Only ever created here, by the central; a rebuild of the projections
//! does not touch them. What a snapshot means is `central::snapshots`.

use super::read_snapshot::ReadSnapshot;
use super::{Result, Store};
use rusqlite::{Connection, OptionalExtension, params};

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

/// One place's figures in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRow {
    pub place: String,
    pub eligible: i64,
    pub brevstemmer: i64,
    pub checked_in: i64,
}

/// A stored snapshot's own fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotHead {
    pub id: i64,
    pub label: String,
    pub at_ms: i64,
    pub taken_ms: i64,
    pub scheduled: bool,
}

/// Creates the snapshot tables if missing (the central's database only).
pub fn ensure_schema(conn: &Connection) -> Result<()> {
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

impl Store {
    pub fn ensure_snapshot_tables(&self) -> Result<()> {
        ensure_schema(&self.conn)
    }

    /// Stores a snapshot. Returns `None` when this scheduled time was taken already
    /// (by an earlier run of the central).
    pub fn insert_snapshot(
        &self,
        head: &SnapshotHead,
        rows: &[SnapshotRow],
    ) -> Result<Option<i64>> {
        let tx = self.conn.unchecked_transaction()?;
        if head.scheduled
            && tx
                .query_row(
                    "SELECT 1 FROM central_snapshot WHERE scheduled=1 AND at_ms=?1",
                    [head.at_ms],
                    |_| Ok(()),
                )
                .optional()?
                .is_some()
        {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO central_snapshot(label, at_ms, taken_ms, scheduled) VALUES(?1, ?2, ?3, ?4)",
            params![head.label, head.at_ms, head.taken_ms, head.scheduled],
        )?;
        let id = tx.last_insert_rowid();
        for r in rows {
            tx.execute(
                "INSERT INTO central_snapshot_place(snapshot, place, eligible, brevstemmer, checked_in)
                 VALUES(?1, ?2, ?3, ?4, ?5)",
                params![id, r.place, r.eligible, r.brevstemmer, r.checked_in],
            )?;
        }
        tx.commit()?;
        Ok(Some(id))
    }

    /// The scheduled times already taken.
    pub fn scheduled_snapshots_taken(&self) -> Result<Vec<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT at_ms FROM central_snapshot WHERE scheduled=1")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }
}

impl ReadSnapshot<'_> {
    /// Whether this database has the snapshot tables (only the central's has).
    pub fn has_snapshot_tables(&self) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='central_snapshot'",
            )?
            .exists([])?)
    }

    /// Every snapshot taken, oldest first (the `id` of a head is given when
    /// stored).
    pub fn snapshot_heads(&self) -> Result<Vec<SnapshotHead>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT id, label, at_ms, taken_ms, scheduled FROM central_snapshot ORDER BY at_ms, id",
            )?
            .query_map([], |r| {
                Ok(SnapshotHead {
                    id: r.get(0)?,
                    label: r.get(1)?,
                    at_ms: r.get(2)?,
                    taken_ms: r.get(3)?,
                    scheduled: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The places of snapshot `id` as stored.
    pub fn snapshot_rows(&self, id: i64) -> Result<Vec<SnapshotRow>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT place, eligible, brevstemmer, checked_in FROM central_snapshot_place WHERE snapshot=?1",
            )?
            .query_map([id], |r| {
                Ok(SnapshotRow {
                    place: r.get(0)?,
                    eligible: r.get(1)?,
                    brevstemmer: r.get(2)?,
                    checked_in: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_can_never_be_changed() {
        let db = Store::open_in_memory().unwrap();
        db.ensure_snapshot_tables().unwrap();
        db.ensure_snapshot_tables().unwrap();
        let head = |taken_ms| SnapshotHead {
            id: 0,
            label: "09:00".into(),
            at_ms: 1_000,
            taken_ms,
            scheduled: true,
        };
        let rows = vec![SnapshotRow {
            place: "1".into(),
            eligible: 100,
            brevstemmer: 10,
            checked_in: 20,
        }];
        let id = db.insert_snapshot(&head(2_000), &rows).unwrap().unwrap();
        assert_eq!(db.insert_snapshot(&head(3_000), &rows).unwrap(), None);
        for sql in [
            "UPDATE central_snapshot SET taken_ms=5",
            "DELETE FROM central_snapshot",
            "UPDATE central_snapshot_place SET checked_in=99",
            "DELETE FROM central_snapshot_place",
        ] {
            let e = db.conn.execute(sql, []).unwrap_err();
            assert!(e.to_string().contains("immutable"), "{sql}: {e}");
        }
        let snap = db.read_snapshot().unwrap();
        let heads = snap.snapshot_heads().unwrap();
        assert_eq!(heads.len(), 1);
        assert_eq!(heads[0].id, id);
        assert_eq!(heads[0].taken_ms, 2_000);
        assert_eq!(snap.snapshot_rows(id).unwrap(), rows);
    }
}
