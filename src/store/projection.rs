//! Projections: the tables people read, derived from the events alone.
//!
//! Every rule here is independent of the order events arrive in (a peer may deliver
//! another table's events late), so the incremental result equals a rebuild from the
//! log sorted by clock. A property test checks exactly that.

use super::{Result, Store, schema::PROJECTION_TABLES};
use crate::election::contest::format_contests;
use crate::election::event::{EventBody, EventKind, RecordedMethod, SignedEvent};
use rusqlite::{Connection, OptionalExtension, params};

const HOUR_MS: i64 = 3_600_000;

pub(crate) fn apply(c: &Connection, b: &EventBody) -> Result<()> {
    let dev = b.device.to_hex();
    let seq = b.seq as i64;
    let hlc = b.hlc.0 as i64;
    let table_state = |place: &str, table_no: u32, state: &str, reason: &str| {
        set_table_state(
            c,
            place,
            table_no,
            state,
            reason,
            (hlc, &dev, seq),
            b.wall_ms,
        )
    };
    match &b.kind {
        EventKind::CheckIn {
            voter_id,
            place,
            table_no,
            card_code,
            method,
            ballots,
        } => {
            let method = RecordedMethod::from(*method).as_str();
            add_checkin(
                c,
                &dev,
                seq,
                voter_id,
                place,
                *table_no,
                hlc,
                b.wall_ms,
                method,
                &format_contests(ballots),
                card_code.as_deref(),
            )?;
        }
        EventKind::PaperRegistration {
            voter_id,
            place,
            table_no,
            fallback_to_ms,
            ..
        } => {
            // A paper mark counts at the end of the fallback: it happened then at the latest.
            add_checkin(
                c,
                &dev,
                seq,
                voter_id,
                place,
                *table_no,
                hlc,
                *fallback_to_ms,
                RecordedMethod::Paper.as_str(),
                "",
                None,
            )?;
        }
        EventKind::CheckInUndone {
            voter_id,
            target_device,
            target_seq,
            reason,
        } => {
            let target = (target_device.to_hex(), *target_seq as i64);
            undo_checkin(c, target, voter_id, reason, (hlc, &dev, seq), b.wall_ms)?;
        }
        EventKind::PlaceModeChanged {
            place,
            mode,
            reason,
        } => {
            super::place_mode::apply(c, place, *mode, reason, (hlc, &dev, seq), b.wall_ms)?;
        }
        EventKind::ListChanged { .. } => super::list_change_projection::apply_event(c, b)?,
        EventKind::CardReissued { voter_id, new_code } => {
            c.execute(
                "INSERT OR IGNORE INTO cards(code, voter_id, hlc, wall_ms) VALUES(?1, ?2, ?3, ?4)",
                params![new_code, voter_id, hlc, b.wall_ms],
            )?;
        }
        EventKind::TableOpened { place, table_no } => table_state(place, *table_no, "open", "")?,
        EventKind::TablePaused { place, table_no } => table_state(place, *table_no, "paused", "")?,
        EventKind::TableClosed {
            place,
            table_no,
            reason,
        } => table_state(place, *table_no, "closed", reason)?,
        EventKind::BallotsReconciled {
            place,
            table_no,
            handed_out,
            returned,
            exchanged,
        } => {
            let counts = [handed_out, returned, exchanged]
                .map(|l| serde_json::to_string(l).unwrap_or_default());
            reconcile(c, place, *table_no, &counts, (hlc, &dev, seq), b.wall_ms)?;
        }
        // A request to a table's screen: nothing in the projection changes.
        EventKind::ManualCheckInSent { .. } | EventKind::SentVoterNoted { .. } => {}
        EventKind::BrevstemmeExamined { .. } => super::brevstemme::apply(c, b)?,
        EventKind::DoubleRegistrationResolved {
            voter_id,
            note,
            checkins,
        } => {
            resolve_double(c, voter_id, note, *checkins, (hlc, &dev, seq))?;
        }
    }
    Ok(())
}

/// The valgsekretær's resolution of a voter's double registration: the latest by
/// clock wins.
fn resolve_double(
    c: &Connection,
    voter_id: &str,
    note: &str,
    checkins: Option<u32>,
    (hlc, dev, seq): (i64, &str, i64),
) -> Result<()> {
    c.execute(
        "INSERT INTO double_resolved(voter_id, hlc, device, seq, note, checkins)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(voter_id) DO UPDATE SET hlc=excluded.hlc, device=excluded.device,
           seq=excluded.seq, note=excluded.note, checkins=excluded.checkins
         WHERE (excluded.hlc, excluded.device, excluded.seq)
             > (double_resolved.hlc, double_resolved.device, double_resolved.seq)",
        params![voter_id, hlc, dev, seq, note, checkins],
    )?;
    Ok(())
}

/// An undo of the check-in `target` (device hex, seq). Two tables may undo the same
/// check-in; the earliest undo by clock is the one kept, whatever order they arrive in,
/// and the hourly count drops once.
fn undo_checkin(
    c: &Connection,
    (target_dev, target_seq): (String, i64),
    voter_id: &str,
    reason: &str,
    (hlc, dev, seq): (i64, &str, i64),
    wall_ms: i64,
) -> Result<()> {
    let existed = c
        .prepare_cached("SELECT 1 FROM undone WHERE target_device=?1 AND target_seq=?2")?
        .exists(params![target_dev, target_seq])?;
    c.execute(
        "INSERT INTO undone(target_device, target_seq, device, seq, voter_id, reason, hlc, wall_ms)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(target_device, target_seq) DO UPDATE SET device=excluded.device,
           seq=excluded.seq, voter_id=excluded.voter_id, reason=excluded.reason,
           hlc=excluded.hlc, wall_ms=excluded.wall_ms
         WHERE (excluded.hlc, excluded.device, excluded.seq) < (undone.hlc, undone.device, undone.seq)",
        params![target_dev, target_seq, dev, seq, voter_id, reason, hlc, wall_ms],
    )?;
    if !existed {
        let target: Option<(String, i64, i64)> = c
            .query_row(
                "SELECT place, table_no, wall_ms FROM checkins WHERE device=?1 AND seq=?2",
                params![target_dev, target_seq],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        if let Some((place, table_no, wall)) = target {
            bump_hourly(c, &place, table_no, wall, -1)?;
        }
    }
    refresh_voter(c, voter_id)
}

/// A table's count of ballots (JSON, handed out, returned and exchanged): the latest by
/// clock wins.
fn reconcile(
    c: &Connection,
    place: &str,
    table_no: u32,
    [handed_out, returned, exchanged]: &[String; 3],
    (hlc, dev, seq): (i64, &str, i64),
    wall_ms: i64,
) -> Result<()> {
    c.execute(
        "INSERT INTO reconciliation(place, table_no, hlc, device, seq, wall_ms, handed_out, returned,
           exchanged)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(place, table_no) DO UPDATE SET hlc=excluded.hlc, device=excluded.device,
           seq=excluded.seq, wall_ms=excluded.wall_ms, handed_out=excluded.handed_out,
           returned=excluded.returned, exchanged=excluded.exchanged
         WHERE (excluded.hlc, excluded.device, excluded.seq)
             > (reconciliation.hlc, reconciliation.device, reconciliation.seq)",
        params![place, table_no, hlc, dev, seq, wall_ms, handed_out, returned, exchanged],
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn add_checkin(
    c: &Connection,
    dev: &str,
    seq: i64,
    voter_id: &str,
    place: &str,
    table_no: u32,
    hlc: i64,
    wall_ms: i64,
    method: &str,
    ballots: &str,
    card_code: Option<&str>,
) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO checkins(device, seq, voter_id, place, table_no, hlc, wall_ms, method, ballots, card_code)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        dev, seq, voter_id, place, table_no, hlc, wall_ms, method, ballots, card_code
    ])?;
    let undone: bool = c
        .prepare_cached("SELECT 1 FROM undone WHERE target_device=?1 AND target_seq=?2")?
        .exists(params![dev, seq])?;
    if !undone {
        bump_hourly(c, place, table_no as i64, wall_ms, 1)?;
    }
    refresh_voter(c, voter_id)
}

fn bump_hourly(c: &Connection, place: &str, table_no: i64, wall_ms: i64, by: i64) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO hourly(place, table_no, hour, checkins) VALUES(?1, ?2, ?3, ?4)
         ON CONFLICT(place, table_no, hour) DO UPDATE SET checkins = checkins + excluded.checkins",
    )?
    .execute(params![place, table_no, wall_ms.div_euclid(HOUR_MS), by])?;
    Ok(())
}

/// Recomputes one voter's status: the earliest check-in in force by clock, and how many
/// are in force (more than one is a double registration).
fn refresh_voter(c: &Connection, voter_id: &str) -> Result<()> {
    let mut stmt = c.prepare_cached(
        "SELECT device, seq, place, table_no, hlc, wall_ms, method, ballots FROM checkins k
         WHERE voter_id=?1 AND NOT EXISTS(
           SELECT 1 FROM undone u WHERE u.target_device=k.device AND u.target_seq=k.seq)
         ORDER BY hlc, device, seq",
    )?;
    type Row = (String, i64, String, i64, i64, i64, String, String);
    let rows: Vec<Row> = stmt
        .query_map([voter_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    match rows.first() {
        None => {
            c.prepare_cached("DELETE FROM voter_status WHERE voter_id=?1")?
                .execute([voter_id])?;
        }
        Some((dev, seq, place, table_no, hlc, wall, method, ballots)) => {
            c.prepare_cached(
                "INSERT INTO voter_status(voter_id, device, seq, place, table_no, hlc, wall_ms, method, ballots, active)
                 VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT(voter_id) DO UPDATE SET device=excluded.device, seq=excluded.seq,
                   place=excluded.place, table_no=excluded.table_no, hlc=excluded.hlc,
                   wall_ms=excluded.wall_ms, method=excluded.method, ballots=excluded.ballots,
                   active=excluded.active",
            )?
            .execute(params![
                voter_id,
                dev,
                seq,
                place,
                table_no,
                hlc,
                wall,
                method,
                ballots,
                rows.len() as i64
            ])?;
        }
    }
    Ok(())
}

/// The latest state by (clock, device, sequence) wins: a total order, so ties on the
/// clock between two devices end the same on every table.
fn set_table_state(
    c: &Connection,
    place: &str,
    table_no: u32,
    state: &str,
    reason: &str,
    (hlc, device, seq): (i64, &str, i64),
    wall_ms: i64,
) -> Result<()> {
    c.execute(
        "INSERT INTO table_state(place, table_no, state, reason, hlc, device, seq, wall_ms)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(place, table_no) DO UPDATE SET state=excluded.state,
           reason=excluded.reason, hlc=excluded.hlc, device=excluded.device, seq=excluded.seq,
           wall_ms=excluded.wall_ms
         WHERE (excluded.hlc, excluded.device, excluded.seq)
             > (table_state.hlc, table_state.device, table_state.seq)",
        params![place, table_no, state, reason, hlc, device, seq, wall_ms],
    )?;
    Ok(())
}

impl Store {
    /// Throws the projections away and derives them again from the log, in clock order.
    /// Events were verified when they entered; here they are only parsed.
    pub fn rebuild_projections(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        super::list_change_projection::restore_imported(&tx)?;
        for t in PROJECTION_TABLES {
            tx.execute(&format!("DELETE FROM {t}"), [])?;
        }
        {
            let mut stmt = tx.prepare("SELECT body FROM events ORDER BY hlc, device, seq")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let text: String = r.get(0)?;
                let body: EventBody = serde_json::from_str(&text).map_err(|e| {
                    super::StoreError::Invalid(format!("stored event does not parse: {e}"))
                })?;
                apply(&tx, &body)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every projection row, sorted: for comparing an incremental state with a rebuild.
    pub fn projection_dump(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut queries: Vec<(&str, String)> = PROJECTION_TABLES
            .iter()
            .map(|t| (*t, format!("SELECT * FROM {t}")))
            .collect();
        // The decision in force on each brevstemme: the latest by (clock, device, seq).
        queries.push((
            "brevstemme_latest",
            "SELECT voter_id, accepted, device, seq FROM brevstemme_latest".into(),
        ));
        // Rows that office list changes made are projections too.
        queries.push((
            "voters",
            "SELECT * FROM voters WHERE id IN (SELECT voter_id FROM list_change_items)".into(),
        ));
        for (t, sql) in queries {
            let mut stmt = self.conn.prepare(&sql)?;
            let n = stmt.column_count();
            let mut rows = stmt.query([])?;
            let mut lines = Vec::new();
            while let Some(r) = rows.next()? {
                let mut line = format!("{t}:");
                for i in 0..n {
                    let v: rusqlite::types::Value = r.get(i)?;
                    line.push_str(&format!("{v:?}|"));
                }
                lines.push(line);
            }
            // The hourly table may keep zero rows after undo; they carry no information.
            lines.retain(|l| !(l.starts_with("hourly:") && l.ends_with("|Integer(0)|")));
            lines.sort();
            out.extend(lines);
        }
        Ok(out)
    }

    /// All events in log order of one device, for export and for the destroy receipt.
    pub fn all_events(&self) -> Result<Vec<SignedEvent>> {
        let mut stmt = self
            .conn
            .prepare("SELECT body, sig FROM events ORDER BY device, seq")?;
        let rows = stmt.query_map([], |r| {
            Ok(SignedEvent {
                body: r.get(0)?,
                sig: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
