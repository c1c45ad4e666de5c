//! What the closing report (afslutningsrapport) of a polling place reads: counts from
//! the list and the projections, per table, and the log's state changes and mode
//! switches (the projections keep only the last). Plain rows; `print::report` adds
//! them up and words them.

use super::read_snapshot::ReadSnapshot;
use super::{Result, queries::UNRESOLVED};
use rusqlite::params_from_iter;

/// The polling place's own counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlaceCounts {
    pub listed: i64,
    pub eligible: i64,
    /// Taken into account (the one definition, view `brevstemmer_counted`).
    pub brevstemmer: i64,
    /// Persons checked in (each once, however many tables registered them).
    pub persons: i64,
    pub double_registrations: i64,
    pub reissued_cards: i64,
}

/// Persons in force with one set of ballots handed out (empty: a paper registration)
/// and one set of contests they may vote in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonsByBallots {
    pub ballots: String,
    pub entitled: String,
    pub persons: i64,
}

/// Check-ins in force at one table by one method with one set of ballots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckinGroup {
    pub table_no: u32,
    pub method: String,
    pub ballots: String,
    pub checkins: i64,
}

/// A table's last reconciliation, the counts as stored (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciliationRow {
    pub table_no: u32,
    pub handed_out: String,
    pub returned: String,
    pub exchanged: String,
    pub wall_ms: i64,
}

impl ReadSnapshot<'_> {
    /// The name of `place`; `None` when the list has no such place.
    pub fn place_name(&self, place: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .query_row("SELECT name FROM places WHERE id=?1", [place], |r| r.get(0))
            .ok())
    }

    pub fn place_counts(&self, place: &str) -> Result<PlaceCounts> {
        let one = |sql: &str| -> Result<i64> { Ok(self.tx.query_row(sql, [place], |r| r.get(0))?) };
        Ok(PlaceCounts {
            listed: one("SELECT COUNT(*) FROM voters WHERE place=?1")?,
            eligible: one("SELECT COUNT(*) FROM voters WHERE place=?1 AND struck IS NULL")?,
            brevstemmer: one("SELECT COUNT(*) FROM brevstemmer_counted WHERE place=?1")?,
            persons: one(
                "SELECT COUNT(*) FROM voter_status s JOIN voters v ON v.id=s.voter_id WHERE v.place=?1",
            )?,
            double_registrations: one(&format!(
                "SELECT COUNT(*) FROM voter_status s JOIN voters v ON v.id=s.voter_id
                 WHERE v.place=?1 AND s.active > 1 AND {UNRESOLVED}"
            ))?,
            reissued_cards: one(
                "SELECT COUNT(*) FROM cards c JOIN voters v ON v.id=c.voter_id WHERE v.place=?1",
            )?,
        })
    }

    /// Persons in force at `place` per set of ballots handed out and set of contests.
    pub fn persons_by_ballots(&self, place: &str) -> Result<Vec<PersonsByBallots>> {
        let mut stmt = self.tx.prepare(
            "SELECT s.ballots, v.contests, COUNT(*) FROM voter_status s
             JOIN voters v ON v.id=s.voter_id WHERE v.place=?1 GROUP BY s.ballots, v.contests",
        )?;
        let rows = stmt.query_map([place], |r| {
            Ok(PersonsByBallots {
                ballots: r.get(0)?,
                entitled: r.get(1)?,
                persons: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Check-ins at `place` not undone, grouped by table, method and ballots.
    pub fn checkin_groups(&self, place: &str) -> Result<Vec<CheckinGroup>> {
        let mut stmt = self.tx.prepare(
            "SELECT table_no, method, ballots, COUNT(*) FROM checkins k WHERE place=?1
             AND NOT EXISTS(SELECT 1 FROM undone u WHERE u.target_device=k.device AND u.target_seq=k.seq)
             GROUP BY table_no, method, ballots",
        )?;
        let rows = stmt.query_map([place], |r| {
            Ok(CheckinGroup {
                table_no: r.get(0)?,
                method: r.get(1)?,
                ballots: r.get(2)?,
                checkins: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Check-ins undone per table of `place`.
    pub fn undone_per_table(&self, place: &str) -> Result<Vec<(u32, i64)>> {
        let mut stmt = self.tx.prepare(
            "SELECT k.table_no, COUNT(*) FROM undone u
             JOIN checkins k ON k.device=u.target_device AND k.seq=u.target_seq
             WHERE k.place=?1 GROUP BY k.table_no",
        )?;
        let rows = stmt.query_map([place], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn reconciliations(&self, place: &str) -> Result<Vec<ReconciliationRow>> {
        let mut stmt = self.tx.prepare(
            "SELECT table_no, handed_out, returned, exchanged, wall_ms FROM reconciliation
             WHERE place=?1",
        )?;
        let rows = stmt.query_map([place], |r| {
            Ok(ReconciliationRow {
                table_no: r.get(0)?,
                handed_out: r.get(1)?,
                returned: r.get(2)?,
                exchanged: r.get(3)?,
                wall_ms: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The state of each table of `place` that has one: (table, state, reason).
    pub fn table_states_at(&self, place: &str) -> Result<Vec<(u32, String, String)>> {
        let mut stmt = self
            .tx
            .prepare("SELECT table_no, state, reason FROM table_state WHERE place=?1")?;
        let rows = stmt.query_map([place], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The logged events of `kinds`, in clock order: (wall time, signed JSON body).
    pub fn events_of_kinds(&self, kinds: &[&str]) -> Result<Vec<(i64, String)>> {
        let marks = vec!["?"; kinds.len()].join(", ");
        let mut stmt = self.tx.prepare(&format!(
            "SELECT wall_ms, body FROM events WHERE kind IN ({marks}) ORDER BY hlc, device, seq"
        ))?;
        let rows = stmt.query_map(params_from_iter(kinds), |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A voter's name ("Fornavne Efternavn") and polling place, for the report's list
    /// of officials' actions.
    pub fn voter_name_and_place(&self, voter_id: &str) -> Result<Option<(String, String)>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .tx
            .query_row(
                "SELECT first_names || ' ' || last_name, place FROM voters WHERE id=?1",
                [voter_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }
}
