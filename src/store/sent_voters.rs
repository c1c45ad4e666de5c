//! Where each send of a voter without a card stands, read from the log alone: the
//! valgsekretær's send (`ManualCheckInSent`), what the chosen table noted about it
//! (`SentVoterNoted`: received, cancelled, refused) and the voter's check-ins. Sends are
//! rare (a few an hour), so this is read from the events when asked rather than kept
//! as a projection table; every table and the central read the same answer.
//!
//! A send is answered by what follows it for that voter: a check-in in force (at any
//! table) registers the voter; otherwise the latest note by the chosen table before the
//! voter's next send says received, cancelled or refused; otherwise nothing has come
//! back. A send made again keeps its cancellation or refusal (the line is history).

use super::{Result, Store};
use crate::election::event::{EventBody, EventKind, SentNote};
use rusqlite::OptionalExtension;

/// One send, as the log has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Send {
    pub voter_id: String,
    pub name: String,
    pub table_no: u32,
    pub sent_ms: i64,
    pub answer: SendAnswer,
    /// No later send of the same voter: only this one may be sent again.
    pub latest: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendAnswer {
    /// Nothing from the table yet.
    Unanswered,
    /// A note from the chosen table, and when it was made.
    Noted { note: SentNote, at_ms: i64 },
    /// Checked in (at the chosen table or another), not undone.
    Registered { table_no: u32, at_ms: i64 },
}

const SEND_EVENTS: &str = "SELECT hlc, wall_ms, body FROM events \
     WHERE kind IN ('manual_check_in_sent', 'sent_voter_noted') ORDER BY hlc, device, seq";

/// A send read from its event: (hlc, wall time, voter, place, table).
type SendEvent = (i64, i64, String, String, u32);

impl Store {
    /// Every send of a voter without a card to a table of `place`, newest first.
    pub fn sends(&self, place: &str) -> Result<Vec<Send>> {
        let events = self.send_events()?;
        let sends: Vec<SendEvent> = events
            .iter()
            .cloned()
            .filter_map(|(hlc, wall_ms, b)| match b.kind {
                EventKind::ManualCheckInSent {
                    voter_id,
                    place: p,
                    table_no,
                } if p == place => Some((hlc, wall_ms, voter_id, p, table_no)),
                _ => None,
            })
            .collect();
        let notes: Vec<(i64, i64, String, u32, SentNote)> = events
            .into_iter()
            .filter_map(|(hlc, wall_ms, b)| match b.kind {
                EventKind::SentVoterNoted {
                    voter_id,
                    place: p,
                    table_no,
                    note,
                } if p == place => Some((hlc, wall_ms, voter_id, table_no, note)),
                _ => None,
            })
            .collect();
        let mut out = Vec::with_capacity(sends.len());
        for (i, (hlc, wall_ms, voter_id, _, table_no)) in sends.iter().enumerate() {
            let next = sends[i + 1..]
                .iter()
                .find(|s| &s.2 == voter_id)
                .map(|s| s.0)
                .unwrap_or(i64::MAX);
            let within = |at: i64| at > *hlc && at < next;
            // The table's notes on this voter; a send that reached the table together
            // with a later one (one push, or after the table was off) is answered
            // after that one was made: then the first note after it counts.
            let of_this = |n: &&(i64, i64, String, u32, SentNote)| {
                &n.2 == voter_id && n.3 == *table_no && n.0 > *hlc
            };
            let note = notes
                .iter()
                .filter(of_this)
                .rfind(|n| within(n.0))
                .or_else(|| notes.iter().find(of_this))
                .map(|n| SendAnswer::Noted {
                    note: n.4,
                    at_ms: n.1,
                });
            let registered = self
                .checkin_after(voter_id, *hlc)?
                .map(|(table_no, at_ms)| SendAnswer::Registered { table_no, at_ms });
            let latest = next == i64::MAX;
            // A send made again keeps what became of it (cancelled, refused) before the
            // next; the latest says what is true now, so a check-in comes first.
            let closed = note.clone().filter(|n| {
                matches!(
                    n,
                    SendAnswer::Noted {
                        note: SentNote::Cancelled | SentNote::Refused,
                        ..
                    }
                )
            });
            let answer = if latest {
                registered.or(note)
            } else {
                closed.or(registered).or(note)
            }
            .unwrap_or(SendAnswer::Unanswered);
            out.push(Send {
                name: self
                    .voter(voter_id)?
                    .map(|v| v.full_name())
                    .unwrap_or_else(|| voter_id.clone()),
                voter_id: voter_id.clone(),
                table_no: *table_no,
                sent_ms: *wall_ms,
                answer,
                latest,
            });
        }
        out.reverse();
        Ok(out)
    }

    /// The sends and the tables' notes on them, in clock order: (hlc, wall time, body).
    /// The WHERE is the partial index `events_sends`'s own, so only these rare events
    /// are read. A body that does not parse was refused at ingest and cannot be here; it
    /// is skipped, not fatal.
    fn send_events(&self) -> Result<Vec<(i64, i64, EventBody)>> {
        let mut stmt = self.conn.prepare_cached(SEND_EVENTS)?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (hlc, wall_ms, body) = row?;
            match serde_json::from_str::<EventBody>(&body) {
                Ok(b) => out.push((hlc, wall_ms, b)),
                Err(e) => tracing::warn!(error = %e, "stored send event body unreadable"),
            }
        }
        Ok(out)
    }

    /// The first check-in in force of the voter after clock `after` (at any table, by
    /// card, without card or on paper): its table and wall time.
    fn checkin_after(&self, voter_id: &str, after: i64) -> Result<Option<(u32, i64)>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT c.table_no, c.wall_ms FROM checkins c
                 LEFT JOIN undone u ON u.target_device = c.device AND u.target_seq = c.seq
                 WHERE c.voter_id = ?1 AND c.hlc > ?2 AND u.target_seq IS NULL
                 ORDER BY c.hlc LIMIT 1",
            )?
            .query_row(rusqlite::params![voter_id, after], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list of sends reads the two kinds through their partial index, not by
    /// scanning the log (it is asked every 2 s under the table's lock).
    #[test]
    fn the_sends_are_read_through_their_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("t.db")).expect("store");
        let plan: Vec<String> = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {SEND_EVENTS}"))
            .expect("plan")
            .query_map([], |r| r.get::<_, String>(3))
            .expect("rows")
            .collect::<std::result::Result<_, _>>()
            .expect("plan rows");
        assert!(plan.iter().any(|d| d.contains("events_sends")), "{plan:?}");
    }
}
