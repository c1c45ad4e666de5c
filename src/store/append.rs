//! Appending to the log: an event and its projections in one transaction.

use super::{Result, Store, StoreError, projection};
use crate::election::clock::Hlc;
use crate::election::event::{
    self, EventBody, EventHash, EventKind, FORMAT_VERSION, SignedEvent, Trust, VerifiedEvent,
};
use crate::election::keys::{DevicePublic, DeviceSecret};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

/// Who is writing locally: the device key and what its events are bound to.
pub struct Author<'a> {
    pub key: &'a DeviceSecret,
    pub election: &'a str,
    pub test: bool,
}

/// What happened to an incoming event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    Added,
    /// Already in the log (the same bytes): nothing to do.
    Duplicate,
}

impl Store {
    /// Signs and stores a local event. Returns when it is durable on disk, so the
    /// screen may confirm it.
    pub fn append_local(
        &mut self,
        author: &Author<'_>,
        wall_ms: i64,
        kind: EventKind,
    ) -> Result<VerifiedEvent> {
        self.append_local_checked(author, wall_ms, kind, |_| Ok(()))
    }

    /// As `append_local`, naming a test official when the kind needs one: for unit
    /// tests that make events as a table does.
    #[cfg(test)]
    pub(crate) fn append_named(
        &mut self,
        author: &Author<'_>,
        wall_ms: i64,
        kind: EventKind,
    ) -> Result<VerifiedEvent> {
        use crate::election::official::{ActedBy, OfficialRole};
        let by = match &kind {
            // A decision on a brevstemme is the first valgstyrer's it names.
            EventKind::BrevstemmeExamined { valgstyrere, .. } => Some(ActedBy {
                name: valgstyrere[0].clone(),
                role: OfficialRole::Valgstyrer,
            }),
            k => k.needs_official().then(|| ActedBy {
                name: "Testsekretær".into(),
                role: OfficialRole::Valgsekretaer,
            }),
        };
        self.append_local_as(author, wall_ms, kind, by, |_| Ok(()))
    }

    /// As `append_local`, with a check of the projected state before the commit: an
    /// error from `check` rolls the event back as if it had never been made.
    pub fn append_local_checked(
        &mut self,
        author: &Author<'_>,
        wall_ms: i64,
        kind: EventKind,
        check: impl FnOnce(&rusqlite::Connection) -> Result<()>,
    ) -> Result<VerifiedEvent> {
        self.append_local_as(author, wall_ms, kind, None, check)
    }

    /// As `append_local_checked`, naming the official who acted (an event of a kind
    /// that `EventKind::needs_official`).
    pub fn append_local_as(
        &mut self,
        author: &Author<'_>,
        wall_ms: i64,
        kind: EventKind,
        by: Option<crate::election::official::ActedBy>,
        check: impl FnOnce(&rusqlite::Connection) -> Result<()>,
    ) -> Result<VerifiedEvent> {
        let device = author.key.public();
        let hlc = self.clock.now(wall_ms.max(0) as u64);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Two versions of this device's own log exist (a replacement with its key, or a
        // copied key): whatever it appended now would extend one of them.
        if super::forks::is_forked(&tx, device)? {
            return Err(super::forks::refusal(device));
        }
        let (seq, prev) = match head(&tx, device)? {
            Some((s, h)) => (s + 1, h),
            None => (1, EventHash::default()),
        };
        let body = EventBody {
            v: FORMAT_VERSION,
            election: author.election.to_string(),
            device,
            seq,
            hlc,
            wall_ms,
            prev,
            test: author.test,
            kind,
            by,
        };
        let ev = event::sign(&body, author.key);
        insert_and_project(&tx, &ev)?;
        check(&tx)?;
        tx.commit()?;
        Ok(ev)
    }

    /// Verifies and stores an event from elsewhere (a peer, the central, a USB stick).
    /// The device's chain must continue exactly: no gap, no fork.
    pub fn ingest(&mut self, signed: &SignedEvent, trust: &Trust) -> Result<Ingested> {
        self.ingest_many(std::slice::from_ref(signed), trust)
            .pop()
            .unwrap_or(Ok(Ingested::Duplicate))
    }

    /// Ingests a page of events in one transaction (one disk sync for the page, which
    /// is what lets a table catch up thousands of events in a moment). Each event gets
    /// its own result; a refused event is skipped and the others are kept.
    pub fn ingest_many(&mut self, events: &[SignedEvent], trust: &Trust) -> Vec<Result<Ingested>> {
        self.ingest_verified(verify_all(events, trust), trust)
    }

    /// As `ingest_many`, for events already verified (by [`verify_all`]) outside the
    /// store: the central verifies each push in the thread that received it, in
    /// parallel, so its one writer only checks chains and stores (issue 14). An event
    /// that failed verification keeps its error as its result. `trust` is used only to
    /// check the event held when a fork is recorded.
    pub fn ingest_verified(
        &mut self,
        verified: Vec<Result<VerifiedEvent>>,
        trust: &Trust,
    ) -> Vec<Result<Ingested>> {
        let n = verified.len();
        let all_refused = |why: String| -> Vec<Result<Ingested>> {
            (0..n)
                .map(|_| Err(StoreError::Invalid(why.clone())))
                .collect()
        };
        let mut tx = match self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
        {
            Ok(tx) => tx,
            Err(e) => return all_refused(StoreError::from(e).to_string()),
        };
        let mut results = Vec::with_capacity(n);
        let mut newest = None;
        for v in verified {
            // A savepoint per event: an event that fails halfway leaves nothing behind,
            // and the events before it are kept.
            let r = v.and_then(|ev| {
                let sp = tx.savepoint()?;
                let r = ingest_one(&sp, &ev);
                match &r {
                    Ok(Ingested::Added) => {
                        sp.commit()?;
                        newest = newest.max(Some(ev.body.hlc));
                    }
                    // Evidence, kept although the event itself is refused: a second
                    // version of a number held, or an event whose predecessor is not
                    // the one held (both signed by the device).
                    Err(StoreError::Equivocation { .. } | StoreError::BrokenChain { .. }) => {
                        super::forks::record_against_log(&sp, &ev, trust)?;
                        sp.commit()?;
                    }
                    _ => {}
                }
                r
            });
            // A full disk (or an I/O error) can make SQLite roll the whole transaction
            // back by itself. Then nothing of the page is stored, and going on would
            // store the rest outside any transaction: every event is refused instead,
            // with the reason, and the peer sends them again later.
            if let Err(e) = &r
                && tx.is_autocommit()
            {
                return all_refused(e.to_string());
            }
            results.push(r);
        }
        if let Err(e) = tx.commit() {
            return all_refused(StoreError::from(e).to_string());
        }
        if let Some(h) = newest {
            self.clock.observe(h);
        }
        results
    }

    /// The highest sequence number held for each device: the version vector.
    pub fn version_vector(&self) -> Result<Vec<(DevicePublic, u64)>> {
        // A skip scan over the (device, seq) key: one seek per device. `GROUP BY device`
        // read every event with its body, and this runs at every pull a table makes or
        // answers (a third of a loaded table's CPU in the full rehearsal).
        let mut stmt = self.conn.prepare_cached(
            "WITH RECURSIVE d(dev) AS (
                 SELECT (SELECT MIN(device) FROM events)
                 UNION ALL
                 SELECT (SELECT MIN(device) FROM events WHERE device > d.dev)
                 FROM d WHERE d.dev IS NOT NULL)
             SELECT dev, (SELECT MAX(seq) FROM events WHERE device = d.dev)
             FROM d WHERE dev IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (d, s) = row?;
            let d = DevicePublic::from_hex(&d).map_err(|e| StoreError::Invalid(e.to_string()))?;
            out.push((d, s as u64));
        }
        Ok(out)
    }

    /// Events of one device after `after`, in order, at most `limit`.
    pub fn events_after(
        &self,
        device: DevicePublic,
        after: u64,
        limit: usize,
    ) -> Result<Vec<SignedEvent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT body, sig FROM events WHERE device=?1 AND seq>?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![device.to_hex(), after as i64, limit as i64], |r| {
            Ok(SignedEvent {
                body: r.get(0)?,
                sig: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn event_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// The clock after everything this store has seen.
    pub fn observe_clock(&mut self, h: Hlc) {
        self.clock.observe(h);
    }
}

/// Every check an event from elsewhere must pass that does not need the log (format,
/// election, listed key and its role, canonical body, signature; see [`event::verify`]),
/// one result per event. Needs no store, so it can run before the writer is taken.
pub fn verify_all(events: &[SignedEvent], trust: &Trust) -> Vec<Result<VerifiedEvent>> {
    events
        .iter()
        .map(|e| event::verify(e, trust).map_err(StoreError::from))
        .collect()
}

fn head(tx: &rusqlite::Connection, device: DevicePublic) -> Result<Option<(u64, EventHash)>> {
    let row: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT seq, hash FROM events WHERE device=?1 ORDER BY seq DESC LIMIT 1",
            [device.to_hex()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        None => Ok(None),
        Some((seq, h)) => {
            let hash: [u8; 32] = h
                .try_into()
                .map_err(|_| StoreError::Invalid("stored event hash is not 32 bytes".into()))?;
            Ok(Some((seq as u64, EventHash(hash))))
        }
    }
}

/// Checks an event against the device's chain and stores it, inside the caller's
/// transaction.
fn ingest_one(tx: &rusqlite::Connection, ev: &VerifiedEvent) -> Result<Ingested> {
    let existing: Option<Vec<u8>> = tx
        .prepare_cached("SELECT hash FROM events WHERE device=?1 AND seq=?2")?
        .query_row(params![ev.body.device.to_hex(), ev.body.seq as i64], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(h) = existing {
        return if h == ev.hash.0 {
            Ok(Ingested::Duplicate)
        } else {
            Err(StoreError::Equivocation {
                device: ev.body.device.short(),
                seq: ev.body.seq,
            })
        };
    }
    if super::forks::is_forked(tx, ev.body.device)? {
        return Err(super::forks::refusal(ev.body.device));
    }
    let (expected, prev) = match head(tx, ev.body.device)? {
        Some((s, h)) => (s + 1, h),
        None => (1, EventHash::default()),
    };
    if ev.body.seq != expected {
        return Err(StoreError::Gap {
            device: ev.body.device.short(),
            expected,
            got: ev.body.seq,
        });
    }
    if ev.body.prev != prev {
        return Err(StoreError::BrokenChain {
            device: ev.body.device.short(),
            seq: ev.body.seq,
        });
    }
    insert_and_project(tx, ev)?;
    Ok(Ingested::Added)
}

fn insert_and_project(tx: &rusqlite::Connection, ev: &VerifiedEvent) -> Result<()> {
    let b = &ev.body;
    tx.prepare_cached(
        "INSERT INTO events(device, seq, hlc, wall_ms, kind, test, body, sig, hash, received_ms)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        b.device.to_hex(),
        b.seq as i64,
        b.hlc.0 as i64,
        b.wall_ms,
        b.kind.name(),
        b.test,
        ev.signed.body,
        ev.signed.sig,
        ev.hash.0.to_vec(),
        super::now_ms(),
    ])?;
    projection::apply(tx, b)
}
