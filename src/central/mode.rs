//! How each polling place lets voters choose a table: *frit bordvalg* (any table, the
//! normal case with digital lists), *fast bordvalg* (each voter at a set table, the
//! fallback when the tables cannot reach each other) or *papir* (paper lists).
//!
//! The valgsekretær switches it with `EventKind::PlaceModeChanged`; a place without such
//! an event is in frit bordvalg. [`place_modes`] is the one place that maps that event:
//! it reads it from the log by its kind name and JSON fields.

use rusqlite::Connection;
use serde::Serialize;
use std::collections::HashMap;

/// The `kind` column (`EventKind::name`) of the mode event.
pub const MODE_EVENT_KIND: &str = "place_mode_changed";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PlaceMode {
    #[default]
    Frit,
    Fast,
    Papir,
}

impl PlaceMode {
    pub fn parse(s: &str) -> Option<PlaceMode> {
        match s.to_lowercase().as_str() {
            "frit" | "free" | "frit_bordvalg" => Some(PlaceMode::Frit),
            "fast" | "fixed" | "fast_bordvalg" => Some(PlaceMode::Fast),
            "papir" | "paper" => Some(PlaceMode::Papir),
            _ => None,
        }
    }

    /// The words on the election office screen.
    pub fn danish(self) -> &'static str {
        match self {
            PlaceMode::Frit => "frit bordvalg",
            PlaceMode::Fast => "fast bordvalg",
            PlaceMode::Papir => "papir",
        }
    }
}

/// The mode of every place that has a mode event: the newest by clock wins.
pub fn place_modes(conn: &Connection) -> rusqlite::Result<HashMap<String, PlaceMode>> {
    let mut stmt =
        conn.prepare_cached("SELECT body FROM events WHERE kind=?1 ORDER BY hlc, device, seq")?;
    let mut rows = stmt.query([MODE_EVENT_KIND])?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next()? {
        let body: String = r.get(0)?;
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) else {
            continue;
        };
        let k = &v["kind"];
        if let (Some(place), Some(mode)) = (
            k["place"].as_str(),
            k["mode"].as_str().and_then(PlaceMode::parse),
        ) {
            out.insert(place.to_string(), mode);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frit_until_a_mode_event_and_the_newest_wins() {
        let store = crate::store::Store::open_in_memory().unwrap();
        assert!(place_modes(&store.conn).unwrap().is_empty());
        assert_eq!(PlaceMode::default().danish(), "frit bordvalg");
        for (seq, hlc, mode) in [(1, 20, "papir"), (2, 10, "fast")] {
            store
                .conn
                .execute(
                    "INSERT INTO events(device, seq, hlc, wall_ms, kind, test, body, sig, hash, received_ms)
                     VALUES('d', ?1, ?2, 0, ?3, 0, ?4, '', x'00', 0)",
                    rusqlite::params![
                        seq,
                        hlc,
                        MODE_EVENT_KIND,
                        format!(r#"{{"kind":{{"type":"{MODE_EVENT_KIND}","place":"3","mode":"{mode}"}}}}"#)
                    ],
                )
                .unwrap();
        }
        assert_eq!(place_modes(&store.conn).unwrap()["3"], PlaceMode::Papir);
    }
}
