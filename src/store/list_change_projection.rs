//! Election-day list changes as projected onto the voter rows when any table's
//! `ListChanged` event arrives, and undone and redone by a rebuild. The command side
//! (checking and appending a change) is `list_changes`.
//!
//! The imported row of every voter a change touches is kept (`list_change_base`), and
//! the row in `voters` is always that base with every change item for the voter applied
//! in serial order. So the order in which changes reach a table does not matter, the
//! same change applied at two tables counts once, and a rebuild gives the same rows.

use super::import::{INSERT_VOTER, insert_voter};
use super::meta::{MetaKey, meta};
use super::queries::voter_by_id;
use super::{Result, StoreError};
use crate::election::event::{EventBody, EventKind};
use crate::election::keys::DevicePublic;
use crate::election::list_change::{
    BrevstemmeDigest, ChangeError, ChangeItem, ListChange, SignedListChange,
};
use crate::election::voter::Voter;
use rusqlite::{Connection, OptionalExtension, params};

pub(crate) fn refused(english: impl Into<String>, danish: impl Into<String>) -> StoreError {
    StoreError::ListChange(ChangeError::new(english, danish))
}

/// The office key the list was signed with; `None` for an unsigned test list, whose
/// changes may then be unsigned too.
fn office_key(c: &Connection) -> Result<Option<DevicePublic>> {
    match meta(c, MetaKey::OfficeKey)? {
        Some(hex) => Ok(Some(DevicePublic::from_hex(&hex).map_err(|e| {
            StoreError::Invalid(format!("the stored office key is unreadable: {e}"))
        })?)),
        None if meta(c, MetaKey::ListSigned)?.as_deref() == Some("yes") => Err(refused(
            "the office key is not known to this database: import the list with --office-key",
            "valgkontorets nøgle kendes ikke: indlæs listen med valgkontorets nøgle",
        )),
        None => Ok(None),
    }
}

fn election(c: &Connection) -> Result<String> {
    Ok(meta(c, MetaKey::Election)?.unwrap_or_default())
}

/// Opens a signed change against this database's office key and election.
pub(crate) fn open_change(c: &Connection, signed: &SignedListChange) -> Result<ListChange> {
    let office = office_key(c)?;
    signed
        .open(office, &election(c)?)
        .map_err(StoreError::ListChange)
}

/// The projection of a `ListChanged` event (from this table or any other).
pub(crate) fn apply_event(c: &Connection, b: &EventBody) -> Result<()> {
    let EventKind::ListChanged {
        change_id,
        serial,
        body,
        signature,
    } = &b.kind
    else {
        return Ok(());
    };
    let (serial, signed) = (
        *serial,
        &SignedListChange {
            body: body.clone(),
            signature: signature.clone(),
        },
    );
    let change = open_change(c, signed)?;
    if signed.id() != *change_id || change.serial != serial {
        return Err(refused(
            "the event's change id or serial does not match the change it carries",
            "hændelsens ændrings-id passer ikke til ændringen",
        ));
    }
    let dev = b.device.to_hex();
    // The same change applied at two tables (a split LAN) is one change; the audit
    // trail names the first by clock, whatever order the events arrive in.
    c.execute(
        "INSERT INTO list_changes(change_id, serial, issued, note, device, seq, hlc, wall_ms, items)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(change_id) DO UPDATE SET device=excluded.device, seq=excluded.seq,
           hlc=excluded.hlc, wall_ms=excluded.wall_ms
         WHERE (excluded.hlc, excluded.device, excluded.seq)
             < (list_changes.hlc, list_changes.device, list_changes.seq)",
        params![
            change_id,
            serial as i64,
            change.issued,
            change.note,
            dev,
            b.seq as i64,
            b.hlc.0 as i64,
            b.wall_ms,
            change.items.len() as i64
        ],
    )?;
    let mut touched = Vec::new();
    for (i, item) in change.items.iter().enumerate() {
        let detail = serde_json::to_string(item)
            .map_err(|e| StoreError::Invalid(format!("change item does not serialise: {e}")))?;
        c.execute(
            "INSERT OR IGNORE INTO list_change_items(change_id, item_no, serial, voter_id, action, detail)
             VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
            params![change_id, i as i64, serial as i64, item.voter_id(), item.action(), detail],
        )?;
        if !touched.contains(&item.voter_id()) {
            touched.push(item.voter_id());
        }
    }
    for id in touched {
        recompute_voter(c, id)?;
    }
    Ok(())
}

/// Sets a voter's row to the imported row with every change for the voter applied.
fn recompute_voter(c: &Connection, id: &str) -> Result<()> {
    let base: Option<Option<String>> = c
        .prepare_cached("SELECT row FROM list_change_base WHERE voter_id=?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    let base: Option<Voter> = match base {
        Some(Some(json)) => Some(serde_json::from_str(&json).map_err(|e| {
            StoreError::Invalid(format!("stored base row of voter {id} is unreadable: {e}"))
        })?),
        Some(None) => None,
        None => {
            let current = voter_by_id(c, id)?;
            let json = match &current {
                Some(v) => Some(serde_json::to_string(v).map_err(|e| {
                    StoreError::Invalid(format!("voter {id} does not serialise: {e}"))
                })?),
                None => None,
            };
            c.execute(
                "INSERT INTO list_change_base(voter_id, row) VALUES(?1, ?2)",
                params![id, json],
            )?;
            current
        }
    };
    let mut row = base;
    {
        let mut stmt = c.prepare_cached(
            "SELECT detail FROM list_change_items WHERE voter_id=?1
             ORDER BY serial, change_id, item_no",
        )?;
        let mut rows = stmt.query([id])?;
        while let Some(r) = rows.next()? {
            let text: String = r.get(0)?;
            let item: ChangeItem = serde_json::from_str(&text).map_err(|e| {
                StoreError::Invalid(format!("stored change item is unreadable: {e}"))
            })?;
            row = item.apply(row);
        }
    }
    c.execute("DELETE FROM voters WHERE id=?1", [id])?;
    if let Some(v) = row {
        insert_voter(&mut c.prepare(INSERT_VOTER)?, &v)?;
    }
    Ok(())
}

/// Puts every changed voter back to the imported row, before a rebuild replays the log.
pub(crate) fn restore_imported(c: &Connection) -> Result<()> {
    let bases: Vec<(String, Option<String>)> = {
        let mut stmt = c.prepare("SELECT voter_id, row FROM list_change_base")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (id, row) in bases {
        c.execute("DELETE FROM voters WHERE id=?1", [&id])?;
        if let Some(json) = row {
            let v: Voter = serde_json::from_str(&json).map_err(|e| {
                StoreError::Invalid(format!("stored base row of voter {id} is unreadable: {e}"))
            })?;
            insert_voter(&mut c.prepare(INSERT_VOTER)?, &v)?;
        }
    }
    c.execute("DELETE FROM list_change_base", [])?;
    Ok(())
}

/// The accepted brevstemmer of the whole list as it stands.
pub(crate) fn brevstemme_digest(c: &Connection) -> Result<BrevstemmeDigest> {
    let mut stmt = c.prepare("SELECT id FROM voters WHERE brevstemme=1")?;
    let ids: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(BrevstemmeDigest::of(ids.iter().map(String::as_str)))
}
