//! Who may write what into an election's log. A signature proves which key wrote an
//! event; only the key's role says whether that key had the right to. Without roles,
//! any listed key could write anything: the central tally's key could check voters in
//! at every table, and table 1's key could close table 2. So every key of an election
//! has exactly one role, and every event kind names the roles that may author it.
//!
//! "May connect and pull" (read the log over sync) is a different right from "may
//! author": the central tally pulls from every table but authors nothing.

use super::keys::DevicePublic;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What a device key is in an election.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case", deny_unknown_fields)]
pub enum Role {
    /// The valgbord with this number at this polling place.
    Table { place: String, table_no: u32 },
    /// A spare device of a polling place, enrolled beforehand so a broken table can be
    /// replaced on the day without a new election package. It may act as any table of
    /// its own place, never of another.
    Reserve { place: String },
    /// The election office's central tally: it pulls and receives the tables' events and
    /// authors none.
    Central,
}

impl Role {
    /// The polling place the role belongs to; `None` for the central tally.
    pub fn place(&self) -> Option<&str> {
        match self {
            Role::Table { place, .. } | Role::Reserve { place } => Some(place),
            Role::Central => None,
        }
    }

    /// Whether a device of this role may connect to a table's sync and pull its log.
    /// Every enrolled device may; an unknown key may not.
    pub fn may_pull(&self) -> bool {
        true
    }

    /// Whether this role authors events at all (and so may push them to a table).
    pub fn may_author(&self) -> bool {
        !matches!(self, Role::Central)
    }

    /// The role in the English of the log: errors name it when they refuse an event.
    pub fn describe(&self) -> String {
        match self {
            Role::Table { place, table_no } => format!("table {table_no} of polling place {place}"),
            Role::Reserve { place } => format!("reserve device of polling place {place}"),
            Role::Central => "the central tally".to_string(),
        }
    }
}

/// Which part of the polling place an event speaks for, and so whose key may write it.
/// Each event kind says its scope (`EventKind::scope`); this file knows no event kinds,
/// so the event format can use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// The table's own state and its own check-ins: only that table (or a reserve of its
    /// place standing in for it).
    OwnTable { place: &'a str, table_no: u32 },
    /// The polling place as a whole (its mode, a voter sent to one of its tables, paper
    /// marks entered afterwards): any table of the place, where the valgsekretær is.
    Place { place: &'a str },
    /// Undoing a check-in: any table of the place of the device that made it.
    UndoOf { target: DevicePublic },
    /// A voter or the list, at the author's own place: any table of a place. That the
    /// voter belongs to the author's place is the store's check (it holds the list).
    AuthorsPlace,
}

/// Why a key may not have written an event. The text names the key's role and what the
/// event claimed, for the log of the device that refused it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("device {device} is not enrolled in this election")]
    UnknownKey { device: String },
    #[error("device {device} is {role} and may not write a {kind} event")]
    MayNotAuthor {
        device: String,
        role: String,
        kind: &'static str,
    },
    #[error(
        "device {device} is {role} and may not write a {kind} event for table {table_no} of polling place {place}"
    )]
    OtherTable {
        device: String,
        role: String,
        kind: &'static str,
        place: String,
        table_no: u32,
    },
    #[error("device {device} is {role} and may not write a {kind} event for polling place {place}")]
    OtherPlace {
        device: String,
        role: String,
        kind: &'static str,
        place: String,
    },
    #[error("device {device} is enrolled twice")]
    KeyTwice { device: String },
    #[error("table {table_no} of polling place {place} is enrolled with two keys")]
    TableTwice { place: String, table_no: u32 },
}

/// Checks that a device of `role` may have authored `kind`.
/// `kind` is the event kind's name, for the error.
pub fn authorize(
    device: DevicePublic,
    role: &Role,
    kind: &'static str,
    scope: Scope<'_>,
) -> Result<(), RoleError> {
    let refuse_table = |place: &str, table_no: u32| RoleError::OtherTable {
        device: device.short(),
        role: role.describe(),
        kind,
        place: place.to_string(),
        table_no,
    };
    let refuse_place = |place: &str| RoleError::OtherPlace {
        device: device.short(),
        role: role.describe(),
        kind,
        place: place.to_string(),
    };
    match (role, scope) {
        (Role::Central, _) => Err(RoleError::MayNotAuthor {
            device: device.short(),
            role: role.describe(),
            kind,
        }),
        (
            Role::Table {
                place: p,
                table_no: n,
            },
            Scope::OwnTable { place, table_no },
        ) => {
            if p == place && *n == table_no {
                Ok(())
            } else {
                Err(refuse_table(place, table_no))
            }
        }
        (Role::Reserve { place: p }, Scope::OwnTable { place, table_no }) => {
            if p == place {
                Ok(())
            } else {
                Err(refuse_table(place, table_no))
            }
        }
        (Role::Table { place: p, .. } | Role::Reserve { place: p }, Scope::Place { place }) => {
            if p == place {
                Ok(())
            } else {
                Err(refuse_place(place))
            }
        }
        (Role::Table { .. } | Role::Reserve { .. }, Scope::AuthorsPlace | Scope::UndoOf { .. }) => {
            Ok(())
        }
    }
}

/// Every enrolled key of an election (or of the part of it a device knows) and its role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enrolment {
    roles: HashMap<DevicePublic, Role>,
}

impl Enrolment {
    /// Enrols keys; a key twice, or a table of a place with two keys, is refused: either
    /// would leave it open which device speaks for the table.
    pub fn new(entries: impl IntoIterator<Item = (DevicePublic, Role)>) -> Result<Self, RoleError> {
        let mut roles = HashMap::new();
        let mut tables = std::collections::HashSet::new();
        for (key, role) in entries {
            if let Role::Table { place, table_no } = &role
                && !tables.insert((place.clone(), *table_no))
            {
                return Err(RoleError::TableTwice {
                    place: place.clone(),
                    table_no: *table_no,
                });
            }
            if roles.insert(key, role).is_some() {
                return Err(RoleError::KeyTwice {
                    device: key.short(),
                });
            }
        }
        Ok(Enrolment { roles })
    }

    /// Every key as a reserve of one polling place: each may act as any table of that
    /// place and of no other. For fixtures and test-mode setups that know the place's
    /// keys but not which table holds which.
    pub fn reserves_of(place: &str, keys: impl IntoIterator<Item = DevicePublic>) -> Self {
        Enrolment {
            roles: keys
                .into_iter()
                .map(|k| {
                    (
                        k,
                        Role::Reserve {
                            place: place.to_string(),
                        },
                    )
                })
                .collect(),
        }
    }

    /// Adds a key, replacing a role it had. For a device's own key, which it always
    /// trusts in the role its configuration gives it.
    pub fn insert(&mut self, key: DevicePublic, role: Role) {
        self.roles.insert(key, role);
    }

    pub fn role(&self, device: &DevicePublic) -> Option<&Role> {
        self.roles.get(device)
    }

    pub fn contains(&self, device: &DevicePublic) -> bool {
        self.roles.contains_key(device)
    }

    /// The key's role, or why it has none.
    pub fn role_of(&self, device: DevicePublic) -> Result<&Role, RoleError> {
        self.role(&device).ok_or_else(|| RoleError::UnknownKey {
            device: device.short(),
        })
    }

    /// Checks that `device` is enrolled and that its role may author an event of this
    /// kind and scope. An undo must come from the place of the table whose check-in it
    /// undoes, when that table is enrolled here.
    pub fn authorize(
        &self,
        device: DevicePublic,
        kind: &'static str,
        scope: Scope<'_>,
    ) -> Result<(), RoleError> {
        let role = self.role_of(device)?;
        if let Scope::UndoOf { target } = scope
            && let Some(target_place) = self.role(&target).and_then(Role::place)
            && role.place().is_some_and(|p| p != target_place)
        {
            return Err(RoleError::OtherPlace {
                device: device.short(),
                role: role.describe(),
                kind,
                place: target_place.to_string(),
            });
        }
        authorize(device, role, kind, scope)
    }

    /// The keys that may author events: the ones whose signature on a valgkort's QR
    /// code (a reissued card) is believed.
    pub fn authors(&self) -> std::collections::HashSet<DevicePublic> {
        self.roles
            .iter()
            .filter(|(_, r)| r.may_author())
            .map(|(k, _)| *k)
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&DevicePublic, &Role)> {
        self.roles.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::event::{CheckInMethod, EventKind};
    use crate::election::keys::DeviceSecret;
    use crate::election::place_mode::PlaceMode;

    fn may(device: DevicePublic, role: &Role, kind: &EventKind) -> Result<(), RoleError> {
        authorize(device, role, kind.name(), kind.scope())
    }

    fn key() -> DevicePublic {
        DeviceSecret::generate().public()
    }

    fn table(place: &str, table_no: u32) -> Role {
        Role::Table {
            place: place.into(),
            table_no,
        }
    }

    fn check_in(place: &str, table_no: u32) -> EventKind {
        EventKind::CheckIn {
            voter_id: "V1".into(),
            place: place.into(),
            table_no,
            card_code: None,
            method: CheckInMethod::Card,
            ballots: vec![],
        }
    }

    fn closed(place: &str, table_no: u32) -> EventKind {
        EventKind::TableClosed {
            place: place.into(),
            table_no,
            reason: String::new(),
        }
    }

    fn mode(place: &str) -> EventKind {
        EventKind::PlaceModeChanged {
            place: place.into(),
            mode: PlaceMode::Papir,
            reason: String::new(),
        }
    }

    fn undo(target: DevicePublic) -> EventKind {
        EventKind::CheckInUndone {
            voter_id: "V1".into(),
            target_device: target,
            target_seq: 1,
            reason: String::new(),
        }
    }

    #[test]
    fn a_table_writes_its_own_check_ins_and_state_only() {
        let k = key();
        let r = table("3", 1);
        assert_eq!(may(k, &r, &check_in("3", 1)), Ok(()));
        assert_eq!(may(k, &r, &closed("3", 1)), Ok(()));
        assert!(matches!(
            may(k, &r, &closed("3", 2)),
            Err(RoleError::OtherTable { table_no: 2, .. })
        ));
        assert!(matches!(
            may(k, &r, &check_in("4", 1)),
            Err(RoleError::OtherTable { .. })
        ));
    }

    #[test]
    fn place_events_belong_to_any_table_of_that_place() {
        let k = key();
        assert_eq!(may(k, &table("3", 2), &mode("3")), Ok(()));
        assert!(matches!(
            may(k, &table("3", 2), &mode("4")),
            Err(RoleError::OtherPlace { .. })
        ));
        assert_eq!(may(k, &table("3", 2), &undo(key())), Ok(()));
    }

    #[test]
    fn the_central_authors_nothing() {
        let k = key();
        for kind in [check_in("3", 1), closed("3", 1), mode("3"), undo(key())] {
            let e = may(k, &Role::Central, &kind).unwrap_err();
            assert!(matches!(e, RoleError::MayNotAuthor { .. }), "{e}");
            assert!(e.to_string().contains("the central tally"), "{e}");
        }
        assert!(Role::Central.may_pull());
        assert!(!Role::Central.may_author());
    }

    #[test]
    fn a_reserve_stands_in_for_any_table_of_its_own_place_only() {
        let k = key();
        let r = Role::Reserve { place: "3".into() };
        assert_eq!(may(k, &r, &check_in("3", 7)), Ok(()));
        assert!(may(k, &r, &check_in("4", 1)).is_err());
        assert!(may(k, &r, &mode("4")).is_err());
    }

    #[test]
    fn enrolment_refuses_a_key_or_a_table_twice_and_unknown_keys() {
        let (a, b) = (key(), key());
        let twice = Enrolment::new([(a, table("3", 1)), (b, table("3", 1))]);
        assert!(matches!(twice, Err(RoleError::TableTwice { .. })));
        let same_key = Enrolment::new([(a, table("3", 1)), (a, Role::Central)]);
        assert!(matches!(same_key, Err(RoleError::KeyTwice { .. })));
        let e = Enrolment::new([(a, table("3", 1)), (b, Role::Central)]).unwrap();
        assert_eq!(e.authorize(a, "check_in", check_in("3", 1).scope()), Ok(()));
        assert!(
            e.authorize(b, "check_in", check_in("3", 1).scope())
                .is_err()
        );
        let stranger = key();
        assert!(matches!(
            e.authorize(stranger, "check_in", check_in("3", 1).scope()),
            Err(RoleError::UnknownKey { .. })
        ));
    }

    #[test]
    fn errors_name_the_role_and_the_claim() {
        let k = key();
        let e = may(k, &table("3", 1), &closed("3", 2)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "device {} is table 1 of polling place 3 and may not write a table_closed event for table 2 of polling place 3",
                k.short()
            )
        );
    }
}
