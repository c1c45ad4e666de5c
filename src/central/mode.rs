//! How each polling place lets voters choose a table: *frit bordvalg* (any table, the
//! normal case with digital lists), *fast bordvalg* (each voter at a set table, the
//! fallback when the tables cannot reach each other) or *papir* (paper lists).
//!
//! The valgsekretær switches it with `EventKind::PlaceModeChanged`; the central ingests
//! events into the same projections as a table, so the mode in force per place is the
//! `place_mode` projection (latest switch by clock). A place without one is frit.

pub use crate::election::place_mode::PlaceMode;

/// The words on the election office screen and in its exports.
pub fn office_text(m: PlaceMode) -> &'static str {
    match m {
        PlaceMode::Frit => "frit bordvalg",
        PlaceMode::Fast => "fast bordvalg",
        PlaceMode::Papir => "papir",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::event::{EventKind, Trust};
    use crate::election::keys::DeviceSecret;
    use crate::election::roles::Enrolment;
    use crate::store::append::Author;

    #[test]
    fn frit_until_a_mode_event_and_the_newest_wins() {
        let mut store = crate::store::Store::open_in_memory().unwrap();
        assert!(
            store
                .read_snapshot()
                .unwrap()
                .place_modes()
                .unwrap()
                .is_empty()
        );
        assert_eq!(office_text(PlaceMode::default()), "frit bordvalg");
        let key = DeviceSecret::from_seed([4; 32]);
        let author = Author {
            key: &key,
            election: "kv",
            test: false,
        };
        // The later switch by clock wins, whatever order they are stored in.
        let mut other = crate::store::Store::open_in_memory().unwrap();
        let late = other
            .append_named(
                &author,
                20,
                EventKind::PlaceModeChanged {
                    place: "3".into(),
                    mode: PlaceMode::Papir,
                    reason: String::new(),
                },
            )
            .unwrap();
        let early = DeviceSecret::from_seed([5; 32]);
        let early_author = Author {
            key: &early,
            election: "kv",
            test: false,
        };
        let early_ev = crate::store::Store::open_in_memory()
            .unwrap()
            .append_named(
                &early_author,
                10,
                EventKind::PlaceModeChanged {
                    place: "3".into(),
                    mode: PlaceMode::Fast,
                    reason: String::new(),
                },
            )
            .unwrap();
        let trust = Trust {
            election: "kv".into(),
            enrolment: Some(Enrolment::reserves_of("3", [key.public(), early.public()])),
            allow_test: false,
        };
        store.ingest(&late.signed, &trust).unwrap();
        store.ingest(&early_ev.signed, &trust).unwrap();
        assert_eq!(
            store.read_snapshot().unwrap().place_modes().unwrap()["3"],
            PlaceMode::Papir
        );
        assert_eq!(office_text(PlaceMode::Papir), "papir");
    }
}
