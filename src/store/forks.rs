//! Forks of a device's log: two different events, each correctly signed, with the same
//! device and sequence number. That is never a routine refusal: a replacement Pi loaded
//! with a table's key that began again at 1, or a stolen key. The second version is kept
//! here as evidence (it is not in the log), and from then on no new event of the device
//! is taken in or made: the polling place must know the two versions exist and stop
//! trusting that device, not keep whichever version it happened to see first.

use super::{Result, Store, StoreError};
use crate::election::event::{self, ForkEvidence, SignedEvent, Trust, VerifiedEvent};
use crate::election::keys::DevicePublic;
use rusqlite::{OptionalExtension, params};

/// A forked device, as screens show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fork {
    pub device: DevicePublic,
    /// The first sequence number at which two versions were seen.
    pub seq: u64,
    /// The table number the device's events name, when any of them is here.
    pub table_no: Option<u32>,
    pub seen_ms: i64,
}

/// Records a proven fork in the caller's transaction. Returns whether the device was
/// not known as forked before (so it is logged once, not at every copy a peer sends).
fn insert(tx: &rusqlite::Connection, first: &VerifiedEvent, other: &VerifiedEvent) -> Result<bool> {
    let b = &first.body;
    let new = !is_forked(tx, b.device)?;
    tx.prepare_cached(
        "INSERT OR IGNORE INTO forks(device, seq, first_body, first_sig, other_body, other_sig, seen_ms)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        b.device.to_hex(),
        b.seq as i64,
        first.signed.body,
        first.signed.sig,
        other.signed.body,
        other.signed.sig,
        super::now_ms(),
    ])?;
    if new {
        tracing::error!(
            device = %b.device.short(),
            seq = b.seq,
            "two versions of a device's log: no new event of the device is taken from now on"
        );
    }
    Ok(new)
}

/// Records `other` as evidence if it proves a fork against the event the log holds
/// (the same number, or the one before it when `other`'s `prev` names another), in the
/// caller's transaction.
pub(super) fn record_against_log(
    tx: &rusqlite::Connection,
    other: &VerifiedEvent,
    trust: &Trust,
) -> Result<bool> {
    let b = &other.body;
    for seq in [b.seq, b.seq.saturating_sub(1)] {
        let held: Option<SignedEvent> = tx
            .prepare_cached("SELECT body, sig FROM events WHERE device=?1 AND seq=?2")?
            .query_row(params![b.device.to_hex(), seq as i64], |r| {
                Ok(SignedEvent {
                    body: r.get(0)?,
                    sig: r.get(1)?,
                })
            })
            .optional()?;
        if let Some(held) = held {
            let first = event::verify(&held, trust)?;
            if event::proves_fork(&first, other) {
                return insert(tx, &first, other);
            }
        }
    }
    Ok(false)
}

pub(super) fn is_forked(tx: &rusqlite::Connection, device: DevicePublic) -> Result<bool> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM forks WHERE device=?1 LIMIT 1")?
        .query_row([device.to_hex()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The refusal of an event of a forked device.
pub(super) fn refusal(device: DevicePublic) -> StoreError {
    StoreError::Forked {
        device: device.short(),
    }
}

impl Store {
    /// Every forked device, with the first sequence number of two versions.
    pub fn forks(&self) -> Result<Vec<Fork>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT f.device, MIN(f.seq), MIN(f.seen_ms),
                    (SELECT table_no FROM checkins WHERE device = f.device
                     UNION ALL SELECT table_no FROM table_state WHERE device = f.device
                     LIMIT 1)
             FROM forks f GROUP BY f.device ORDER BY MIN(f.seen_ms)",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (d, seq, seen_ms, table_no) = row?;
            out.push(Fork {
                device: DevicePublic::from_hex(&d)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?,
                seq: seq as u64,
                table_no: table_no.map(|n| n as u32),
                seen_ms,
            });
        }
        Ok(out)
    }

    /// Every proof of a fork held here, to send to peers with each pull answer.
    pub fn fork_evidence(&self) -> Result<Vec<ForkEvidence>> {
        evidence(&self.conn)
    }

    /// Takes in proofs of forks a peer sends, each checked here (both events verified
    /// under `trust`, and that they do prove a fork): a device that saw only one version
    /// learns of the other this way. Returns how many devices are newly known as forked.
    pub fn take_fork_evidence(
        &mut self,
        evidence: &[ForkEvidence],
        trust: &Trust,
    ) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut new = 0;
        for e in evidence {
            let proof = event::verify(&e.first, trust)
                .and_then(|a| Ok((a, event::verify(&e.other, trust)?)));
            match proof {
                Ok((a, b)) if event::proves_fork(&a, &b) => {
                    if insert(&tx, &a, &b)? {
                        new += 1;
                    }
                }
                Ok(_) => tracing::warn!("fork evidence from a peer proves no fork; ignored"),
                Err(err) => tracing::warn!(error = %err, "fork evidence from a peer refused"),
            }
        }
        tx.commit()?;
        Ok(new)
    }

    /// Whether two versions of `device`'s log have been seen here.
    pub fn is_forked(&self, device: DevicePublic) -> Result<bool> {
        is_forked(&self.conn, device)
    }
}

/// Every proof of a fork held, oldest first, on a connection or transaction of the store.
pub(crate) fn evidence(conn: &rusqlite::Connection) -> Result<Vec<ForkEvidence>> {
    let mut stmt = conn.prepare_cached(
        "SELECT first_body, first_sig, other_body, other_sig FROM forks ORDER BY seen_ms",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(ForkEvidence {
            first: SignedEvent {
                body: r.get(0)?,
                sig: r.get(1)?,
            },
            other: SignedEvent {
                body: r.get(2)?,
                sig: r.get(3)?,
            },
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
