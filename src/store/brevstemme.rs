//! The valgstyrere's decisions on brevstemmer: their projection, and the one definition
//! of "brevstemmer taken into account" that the table's closing report, the paper
//! list's cover and the central tally all count (the SQL view `brevstemmer_counted`:
//! received by the office's list or changes, not struck, the decision in force
//! accepted).
//!
//! The office's mark (`voters.brevstemme`, from the signed list and changes) is never
//! changed by a decision, so the count-and-hash check of every office change still
//! finds a lost mark. Every decision is kept; the one in force per voter is the latest
//! by (clock, device, sequence) (view `brevstemme_latest`), so the result does not
//! depend on the order events arrive in.

use super::{Result, Store};
use crate::election::brevstemme::{Examination, SetAsideReason};
use crate::election::event::{EventBody, EventKind};
use rusqlite::{Connection, params};

/// Projects one `BrevstemmeExamined` event (any other kind: nothing).
pub(crate) fn apply(c: &Connection, b: &EventBody) -> Result<()> {
    let EventKind::BrevstemmeExamined {
        voter_id,
        place,
        accepted,
        reason,
        valgstyrere: [first, second],
    } = &b.kind
    else {
        return Ok(());
    };
    c.prepare_cached(
        "INSERT OR IGNORE INTO brevstemme_decisions(device, seq, hlc, wall_ms, voter_id, place,
           accepted, reason, valgstyrer1, valgstyrer2)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        b.device.to_hex(),
        b.seq as i64,
        b.hlc.0 as i64,
        b.wall_ms,
        voter_id,
        place,
        accepted,
        reason.map(SetAsideReason::code),
        first,
        second,
    ])?;
    Ok(())
}

/// One received brevstemme of a polling place, as the valgstyrere's list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrevstemmeRow {
    pub voter_id: String,
    pub name: String,
    /// As stored (ISO date).
    pub birthdate: String,
    pub list_no: i64,
    pub examination: Examination,
    pub reason: Option<SetAsideReason>,
    /// The two valgstyrere of the decision in force (empty while undecided).
    pub valgstyrere: Vec<String>,
    /// Wall time of the decision in force.
    pub decided_ms: Option<i64>,
    /// Wall time of a check-in in force of the voter (voted in person).
    pub checked_in_ms: Option<i64>,
    pub struck: Option<String>,
}

impl Store {
    /// The decision in force about a voter's brevstemme (`Some(true)`: accepted).
    pub fn brevstemme_decision(&self, voter_id: &str) -> Result<Option<bool>> {
        decision(&self.conn, voter_id)
    }

    /// The received brevstemmer of `place` in list order, with their examination.
    pub fn brevstemme_rows(&self, place: &str) -> Result<Vec<BrevstemmeRow>> {
        rows(&self.conn, place)
    }

    /// How many received brevstemmer of `place` are not yet decided.
    pub fn brevstemmer_undecided(&self, place: &str) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM voters v WHERE v.place=?1 AND v.brevstemme=1
               AND NOT EXISTS(SELECT 1 FROM brevstemme_decisions d WHERE d.voter_id=v.id)",
            [place],
            |r| r.get(0),
        )?)
    }

    /// Brevstemmer of `place` taken into account (the one definition: the view
    /// `brevstemmer_counted`).
    pub fn brevstemmer_counted(&self, place: &str) -> Result<i64> {
        counted(&self.conn, place)
    }
}

pub(crate) fn decision(c: &Connection, voter_id: &str) -> Result<Option<bool>> {
    use rusqlite::OptionalExtension;
    Ok(
        c.prepare_cached("SELECT accepted FROM brevstemme_latest WHERE voter_id=?1")?
            .query_row([voter_id], |r| r.get(0))
            .optional()?,
    )
}

/// Brevstemmer of `place` taken into account.
pub(crate) fn counted(c: &Connection, place: &str) -> Result<i64> {
    Ok(c.query_row(
        "SELECT COUNT(*) FROM brevstemmer_counted WHERE place=?1",
        [place],
        |r| r.get(0),
    )?)
}

pub(crate) fn rows(c: &Connection, place: &str) -> Result<Vec<BrevstemmeRow>> {
    let mut stmt = c.prepare(
        "SELECT v.id, v.first_names || ' ' || v.last_name, v.birthdate, v.list_no,
                b.accepted, b.reason, b.valgstyrer1, b.valgstyrer2, b.wall_ms, s.wall_ms, v.struck
         FROM voters v
         LEFT JOIN brevstemme_latest b ON b.voter_id = v.id
         LEFT JOIN voter_status s ON s.voter_id = v.id
         WHERE v.place=?1 AND v.brevstemme=1 ORDER BY v.list_no",
    )?;
    let out = stmt.query_map([place], |r| {
        let accepted: Option<bool> = r.get(4)?;
        let reason: Option<String> = r.get(5)?;
        let names: [Option<String>; 2] = [r.get(6)?, r.get(7)?];
        Ok(BrevstemmeRow {
            voter_id: r.get(0)?,
            name: r.get(1)?,
            birthdate: r.get(2)?,
            list_no: r.get(3)?,
            examination: Examination::of(accepted),
            reason: reason.as_deref().and_then(SetAsideReason::parse),
            valgstyrere: names.into_iter().flatten().collect(),
            decided_ms: r.get(8)?,
            checked_in_ms: r.get(9)?,
            struck: r.get(10)?,
        })
    })?;
    Ok(out.collect::<rusqlite::Result<_>>()?)
}

impl super::read_snapshot::ReadSnapshot<'_> {
    /// Decisions on brevstemmer held (every one, replaced or not): they only grow, so
    /// a cached count of brevstemmer is stale when this has changed.
    pub fn brevstemme_decision_count(&self) -> Result<i64> {
        Ok(self
            .tx
            .query_row("SELECT COUNT(*) FROM brevstemme_decisions", [], |r| {
                r.get(0)
            })?)
    }

    /// The received brevstemmer of `place` with their decisions, for the closing
    /// report.
    pub fn brevstemme_rows(&self, place: &str) -> Result<Vec<BrevstemmeRow>> {
        rows(&self.tx, place)
    }
}
