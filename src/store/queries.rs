//! Read side: lookups the check-in needs and counts people read.

use super::{Result, Store, StoreError};
use crate::election::checkin::{PriorCheckIn, TableState};
use crate::election::contest::parse_contests;
use crate::election::voter::{Sex, Voter};
use chrono::NaiveDate;
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

pub(crate) const VOTER_COLUMNS: &str = "id, list_no, list_part, first_names, last_name, birthdate, sex, address, postcode, town, place, card_code, contests, brevstemme, struck, country";

/// The voter with this id, on a connection or inside a transaction.
pub(crate) fn voter_by_id(c: &rusqlite::Connection, id: &str) -> Result<Option<Voter>> {
    Ok(
        c.prepare_cached(&format!("SELECT {VOTER_COLUMNS} FROM voters WHERE id=?1"))?
            .query_row([id], voter_from_row)
            .optional()?,
    )
}

/// Reads a voter row selected with `VOTER_COLUMNS`.
pub(crate) fn voter_from_row(r: &Row<'_>) -> rusqlite::Result<Voter> {
    let bad = |i: usize, what: String| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            Box::<dyn std::error::Error + Send + Sync>::from(what),
        )
    };
    let birth: String = r.get(5)?;
    let sex: String = r.get(6)?;
    let contests: String = r.get(12)?;
    Ok(Voter {
        id: r.get(0)?,
        list_no: r.get(1)?,
        list_part: r.get(2)?,
        first_names: r.get(3)?,
        last_name: r.get(4)?,
        birthdate: NaiveDate::parse_from_str(&birth, "%Y-%m-%d")
            .map_err(|e| bad(5, e.to_string()))?,
        sex: Sex::parse(&sex).ok_or_else(|| bad(6, format!("sex {sex}")))?,
        address: r.get(7)?,
        postcode: r.get(8)?,
        town: r.get(9)?,
        place: r.get(10)?,
        card_code: r.get(11)?,
        contests: parse_contests(&contests).map_err(|e| bad(12, e.to_string()))?,
        brevstemme: r.get(13)?,
        struck: r.get(14)?,
        country: r.get(15)?,
    })
}

/// A card resolved to its voter.
#[derive(Debug, Clone)]
pub struct CardLookup {
    pub voter: Voter,
    /// When a newer card replaced this one.
    pub superseded_at_ms: Option<i64>,
}

/// The check-in of a person in force, with how many are in force (2+ is a double
/// registration).
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub prior: PriorCheckIn,
    pub device: String,
    pub seq: u64,
    pub method: String,
    pub active: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableCounts {
    pub place: String,
    pub table_no: u32,
    pub checkins: i64,
}

/// SQL condition on `voter_status s`: its double registration is not resolved. A
/// resolution covers the check-ins in force when it was made; one more is flagged again.
pub const UNRESOLVED: &str =
    "NOT EXISTS(SELECT 1 FROM double_resolved d WHERE d.voter_id=s.voter_id
     AND (d.checkins IS NULL OR d.checkins >= s.active))";

impl Store {
    pub fn voter(&self, id: &str) -> Result<Option<Voter>> {
        voter_by_id(&self.conn, id)
    }

    /// Resolves a scanned card code: a card valgbord reissued, or the card the national
    /// system posted. Any card older than the voter's newest is superseded.
    pub fn lookup_card(&self, code: &str) -> Result<Option<CardLookup>> {
        let reissued: Option<(String, i64)> = self
            .conn
            .prepare_cached("SELECT voter_id, hlc FROM cards WHERE code=?1")?
            .query_row([code], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let (voter, card_hlc) = match reissued {
            Some((vid, hlc)) => match self.voter(&vid)? {
                Some(v) => (v, hlc),
                None => return Ok(None),
            },
            None => {
                let v = self
                    .conn
                    .prepare_cached(&format!(
                        "SELECT {VOTER_COLUMNS} FROM voters WHERE card_code=?1"
                    ))?
                    .query_row([code], voter_from_row)
                    .optional()?;
                match v {
                    Some(v) => (v, -1),
                    None => return Ok(None),
                }
            }
        };
        let superseded_at_ms: Option<i64> = self
            .conn
            .prepare_cached("SELECT MIN(wall_ms) FROM cards WHERE voter_id=?1 AND hlc>?2")?
            .query_row(params![voter.id, card_hlc], |r| r.get(0))?;
        Ok(Some(CardLookup {
            voter,
            superseded_at_ms,
        }))
    }

    /// The newest card code of a voter (a reissued one, or the posted one).
    pub fn current_card(&self, voter: &Voter) -> Result<String> {
        let code: Option<String> = self
            .conn
            .prepare_cached("SELECT code FROM cards WHERE voter_id=?1 ORDER BY hlc DESC LIMIT 1")?
            .query_row([&voter.id], |r| r.get(0))
            .optional()?;
        Ok(code.unwrap_or_else(|| voter.card_code.clone()))
    }

    pub fn status(&self, voter_id: &str) -> Result<Option<Status>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT place, table_no, wall_ms, device, seq, method, active FROM voter_status WHERE voter_id=?1",
            )?
            .query_row([voter_id], |r| {
                Ok(Status {
                    prior: PriorCheckIn {
                        place: r.get(0)?,
                        table_no: r.get(1)?,
                        wall_ms: r.get(2)?,
                    },
                    device: r.get(3)?,
                    seq: r.get::<_, i64>(4)? as u64,
                    method: r.get(5)?,
                    active: r.get(6)?,
                })
            })
            .optional()?)
    }

    pub fn table_state(&self, place: &str, table_no: u32) -> Result<(TableState, String)> {
        let row: Option<(String, String)> = self
            .conn
            .prepare_cached("SELECT state, reason FROM table_state WHERE place=?1 AND table_no=?2")?
            .query_row(params![place, table_no], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(match row {
            None => (TableState::NotOpened, String::new()),
            Some((s, reason)) => (
                match s.as_str() {
                    "open" => TableState::Open,
                    "paused" => TableState::Paused,
                    "closed" => TableState::Closed,
                    other => {
                        return Err(StoreError::Invalid(format!("unknown table state {other}")));
                    }
                },
                reason,
            ),
        })
    }

    /// The table numbers of a place that have opened, paused or closed (in the log).
    pub fn tables(&self, place: &str) -> Result<Vec<u32>> {
        let mut st = self.conn.prepare_cached(
            "SELECT DISTINCT table_no FROM table_state WHERE place=?1 ORDER BY table_no",
        )?;
        let rows = st.query_map([place], |r| r.get::<_, u32>(0))?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    pub fn place_name(&self, id: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT name FROM places WHERE id=?1")?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }

    pub fn places(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name FROM places ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Events made in test mode: a database holding any can never open an election.
    pub fn test_event_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM events WHERE test=1", [], |r| r.get(0))?)
    }

    pub fn voter_count(&self, place: Option<&str>) -> Result<i64> {
        Ok(match place {
            Some(p) => {
                self.conn
                    .query_row("SELECT COUNT(*) FROM voters WHERE place=?1", [p], |r| {
                        r.get(0)
                    })?
            }
            None => self
                .conn
                .query_row("SELECT COUNT(*) FROM voters", [], |r| r.get(0))?,
        })
    }

    /// List changes applied: what the list looks like can only differ when this does.
    pub fn list_change_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM list_changes", [], |r| r.get(0))?)
    }

    /// Persons checked in (each once, however many tables registered them).
    pub fn persons_checked_in(&self, place: &str) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM voter_status WHERE place=?1",
            [place],
            |r| r.get(0),
        )?)
    }

    /// Check-ins in force per table (a double registration counts at both tables: these
    /// are the ballots handed out).
    pub fn table_counts(&self, place: &str) -> Result<Vec<TableCounts>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT table_no, SUM(checkins) FROM hourly WHERE place=?1 GROUP BY table_no ORDER BY table_no",
        )?;
        let rows = stmt.query_map([place], |r| {
            Ok(TableCounts {
                place: place.to_string(),
                table_no: r.get(0)?,
                checkins: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Voters whose check-in is in force on more than one table and not yet resolved.
    pub fn double_registrations(&self, place: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT s.voter_id FROM voter_status s WHERE s.place=?1 AND s.active > 1
             AND {UNRESOLVED} ORDER BY s.voter_id"
        ))?;
        let rows = stmt.query_map([place], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// When the voter's double registration was resolved (the resolving event's wall
    /// clock), if a resolution covers the `active` check-ins in force.
    pub fn double_resolved_at(&self, voter_id: &str, active: u32) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT e.wall_ms FROM double_resolved d
                 JOIN events e ON e.device = d.device AND e.seq = d.seq
                 WHERE d.voter_id = ?1 AND (d.checkins IS NULL OR d.checkins >= ?2)",
            )?
            .query_row(params![voter_id, active], |r| r.get(0))
            .optional()?)
    }

    pub fn brevstemmer(&self, place: &str) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM voters WHERE place=?1 AND brevstemme=1",
            [place],
            |r| r.get(0),
        )?)
    }
}

impl Store {
    /// Ballots handed out at one table per contest, from the check-ins in force there.
    pub fn table_ballots(
        &self,
        place: &str,
        table_no: u32,
    ) -> Result<Vec<(crate::election::contest::Contest, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ballots, COUNT(*) FROM checkins k WHERE place=?1 AND table_no=?2
             AND NOT EXISTS(SELECT 1 FROM undone u WHERE u.target_device=k.device AND u.target_seq=k.seq)
             GROUP BY ballots",
        )?;
        let rows = stmt.query_map(params![place, table_no], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut out: Vec<(crate::election::contest::Contest, i64)> = Vec::new();
        for row in rows {
            let (ballots, n) = row?;
            if ballots.is_empty() {
                continue;
            }
            for c in parse_contests(&ballots).map_err(|e| StoreError::Invalid(e.to_string()))? {
                match out.iter_mut().find(|(k, _)| *k == c) {
                    Some((_, m)) => *m += n,
                    None => out.push((c, n)),
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Check-ins in force at one table (ballot sets handed out there).
    pub fn checkins_at_table(&self, place: &str, table_no: u32) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(SUM(checkins), 0) FROM hourly WHERE place=?1 AND table_no=?2",
            params![place, table_no],
            |r| r.get(0),
        )?)
    }
}

impl Store {
    /// One card of each kind of voter, for trying the demo: (Danish label, card code).
    pub fn sample_cards(&self, place: &str) -> Result<Vec<(String, String)>> {
        let picks: [(&str, &str); 5] = [
            (
                "Almindelig vælger",
                "place=?1 AND brevstemme=0 AND struck IS NULL AND contests LIKE '%+%'",
            ),
            (
                "Kun regionsrådsvalg",
                "place=?1 AND brevstemme=0 AND struck IS NULL AND contests NOT LIKE '%+%'",
            ),
            ("Brevstemme modtaget", "place=?1 AND brevstemme=1"),
            ("Slettet af listen", "place=?1 AND struck IS NOT NULL"),
            ("Andet valgsted", "place<>?1"),
        ];
        let mut out = Vec::new();
        for (label, cond) in picks {
            let codes: Vec<String> = self
                .conn
                .prepare(&format!(
                    "SELECT card_code FROM voters WHERE {cond} AND id NOT IN (SELECT voter_id FROM voter_status) ORDER BY list_no LIMIT 3"
                ))?
                .query_map([place], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for c in codes {
                out.push((label.to_string(), c));
            }
        }
        out.push(("Ukendt stregkode".into(), "5701234567892".into()));
        Ok(out)
    }
}

impl Store {
    /// (table, wall time) of each check-in in force of a person, oldest first by clock.
    pub fn active_checkins(&self, voter_id: &str) -> Result<Vec<(u32, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT table_no, wall_ms FROM checkins k WHERE voter_id=?1
             AND NOT EXISTS(SELECT 1 FROM undone u WHERE u.target_device=k.device AND u.target_seq=k.seq)
             ORDER BY hlc, device",
        )?;
        let rows = stmt.query_map([voter_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl Store {
    /// The voter with this løbenummer on a polling place's list.
    pub fn voter_by_list_no(&self, place: &str, list_no: u32) -> Result<Option<Voter>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {VOTER_COLUMNS} FROM voters WHERE place=?1 AND list_no=?2"
            ))?
            .query_row(params![place, list_no], voter_from_row)
            .optional()?)
    }
}
