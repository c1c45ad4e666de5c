//! The registration mode of each polling place (frit / fast / papir): the latest switch
//! by clock wins, whatever order the switches arrive in.

use super::{Result, Store};
use crate::election::place_mode::PlaceMode;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::collections::HashMap;

/// The mode in force at a polling place and the switch that set it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ModeInForce {
    pub mode: PlaceMode,
    pub reason: String,
    /// When it was switched (wall clock of the switching table); `None`: never switched.
    pub since_ms: Option<i64>,
}

pub(crate) fn apply(
    c: &Connection,
    place: &str,
    mode: PlaceMode,
    reason: &str,
    (hlc, device, seq): (i64, &str, i64),
    wall_ms: i64,
) -> Result<()> {
    c.execute(
        "INSERT INTO place_mode(place, mode, reason, hlc, device, seq, wall_ms)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(place) DO UPDATE SET mode=excluded.mode, reason=excluded.reason,
           hlc=excluded.hlc, device=excluded.device, seq=excluded.seq, wall_ms=excluded.wall_ms
         WHERE (excluded.hlc, excluded.device, excluded.seq)
             > (place_mode.hlc, place_mode.device, place_mode.seq)",
        params![place, mode.code(), reason, hlc, device, seq, wall_ms],
    )?;
    Ok(())
}

impl Store {
    pub fn place_mode(&self, place: &str) -> Result<ModeInForce> {
        let row: Option<(String, String, i64)> = self
            .conn
            .prepare_cached("SELECT mode, reason, wall_ms FROM place_mode WHERE place=?1")?
            .query_row([place], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        Ok(match row {
            Some((mode, reason, wall)) => ModeInForce {
                mode: PlaceMode::parse(&mode).unwrap_or_default(),
                reason,
                since_ms: Some(wall),
            },
            None => ModeInForce {
                mode: PlaceMode::Frit,
                reason: String::new(),
                since_ms: None,
            },
        })
    }
}

impl super::read_snapshot::ReadSnapshot<'_> {
    /// The mode of every place that has switched at least once.
    pub fn place_modes(&self) -> Result<HashMap<String, PlaceMode>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT place, mode FROM place_mode")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = HashMap::new();
        for row in rows {
            let (place, mode) = row?;
            out.insert(place, PlaceMode::parse(&mode).unwrap_or_default());
        }
        Ok(out)
    }
}
