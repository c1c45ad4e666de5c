//! Election-day list changes from the office, the command side: checked before a table
//! applies one (signature, serial order, every item fits the list), appended as an
//! event with the brevstemme marks compared before commit, and read back for the
//! audit trail. How a change event changes the voter rows is
//! `list_change_projection`, which the projections use without this file.

use super::list_change_projection::{brevstemme_digest, open_change, refused};
use super::queries::voter_by_id;
use super::{Result, Store};
use crate::election::list_change::{BrevstemmeDigest, ChangeItem, ListChange, SignedListChange};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use std::collections::HashSet;

/// One applied change, for the audit trail.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppliedChange {
    pub change_id: String,
    pub serial: u64,
    pub issued: String,
    pub note: String,
    /// The device that applied it first, and when (wall clock of that device).
    pub device: String,
    pub wall_ms: i64,
    pub items: Vec<AppliedItem>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppliedItem {
    pub voter_id: String,
    pub action: String,
    /// In Danish, e.g. "slettet: død".
    pub text: String,
}

/// What checking a change before applying it found.
#[derive(Debug, PartialEq, Eq)]
pub enum Precheck {
    /// New and consistent with the list: append it.
    Apply(ListChange),
    /// This exact change is already applied (here or at another table): nothing to do.
    AlreadyApplied(ListChange),
}

/// After a change is applied: the brevstemme marks must be exactly those the office
/// says. A table that lost marks (or has extra) refuses the change and says so.
pub(crate) fn check_brevstemmer(c: &Connection, change: &ListChange) -> Result<()> {
    let mine = brevstemme_digest(c)?;
    if mine != change.brevstemmer {
        return Err(refused(
            format!(
                "after change {} this table would have {} brevstemmer, the office says {}: the marks differ, the change was not applied",
                change.serial, mine.count, change.brevstemmer.count
            ),
            format!(
                "brevstemmemarkeringerne passer ikke: bordet har {}, valgkontoret har {} (ændring nr. {}). Ændringen er ikke indlæst. Kontakt valgkontoret.",
                mine.count, change.brevstemmer.count, change.serial
            ),
        ));
    }
    Ok(())
}

/// A move is refused for a voter already checked in (the check-in stays at the old
/// place; moving would let the voter vote again), to a polling place no list names, and
/// to a list number another voter has there.
fn check_move(c: &Connection, n: usize, id: &str, place: &str, list_no: u32) -> Result<()> {
    let checked_in: Option<(String, i64)> = c
        .query_row(
            "SELECT place, table_no FROM voter_status WHERE voter_id=?1 AND active > 0",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((at, table)) = checked_in {
        return Err(refused(
            format!(
                "item {n}: voter {id} has checked in (valgsted {at}, table {table}) and cannot be moved"
            ),
            format!(
                "punkt {n}: vælger {id} har allerede stemt (valgsted {at}, bord {table}) og kan ikke flyttes"
            ),
        ));
    }
    let known = c
        .query_row("SELECT 1 FROM places WHERE id=?1", [place], |_| Ok(()))
        .optional()?
        .is_some();
    if !known {
        return Err(refused(
            format!("item {n}: valgsted {place} is not on the list"),
            format!("punkt {n}: valgsted {place} findes ikke på listen"),
        ));
    }
    let taken: Option<String> = c
        .query_row(
            "SELECT id FROM voters WHERE place=?1 AND list_no=?2 AND id<>?3",
            rusqlite::params![place, list_no, id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(other) = taken {
        return Err(refused(
            format!("item {n}: list number {list_no} in valgsted {place} belongs to voter {other}"),
            format!("punkt {n}: løbenummer {list_no} i valgsted {place} tilhører en anden vælger"),
        ));
    }
    Ok(())
}

impl Store {
    /// Checks a change before this table applies it: signature, election, serial order
    /// (no change may be skipped) and that every item fits the list.
    pub fn precheck_list_change(&self, signed: &SignedListChange) -> Result<Precheck> {
        let c = &self.conn;
        let change = open_change(c, signed)?;
        let id = signed.id();
        let applied = c
            .query_row(
                "SELECT 1 FROM list_changes WHERE change_id=?1",
                [&id],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if applied {
            return Ok(Precheck::AlreadyApplied(change));
        }
        let same_serial = c
            .query_row(
                "SELECT 1 FROM list_changes WHERE serial=?1",
                [change.serial as i64],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if same_serial {
            return Err(refused(
                format!(
                    "a different change with serial {} is already applied",
                    change.serial
                ),
                format!(
                    "en anden ændring med nr. {} er allerede indlæst",
                    change.serial
                ),
            ));
        }
        let max: i64 = c.query_row(
            "SELECT COALESCE(MAX(serial), 0) FROM list_changes",
            [],
            |r| r.get(0),
        )?;
        if change.serial as i64 != max + 1 {
            return Err(refused(
                format!(
                    "change {} cannot come before change {}: apply the missing ones first",
                    change.serial,
                    max + 1
                ),
                format!(
                    "ændring nr. {} mangler: indlæs den før nr. {}",
                    max + 1,
                    change.serial
                ),
            ));
        }
        let mut added: HashSet<&str> = HashSet::new();
        for (i, item) in change.items.iter().enumerate() {
            let n = i + 1;
            let id = item.voter_id();
            let exists = added.contains(id) || voter_by_id(c, id)?.is_some();
            match item {
                ChangeItem::Add { voter } => {
                    if exists {
                        return Err(refused(
                            format!("item {n}: voter {id} is already on the list"),
                            format!("punkt {n}: vælger {id} står allerede på listen"),
                        ));
                    }
                    let card_taken = c
                        .query_row(
                            "SELECT id FROM voters WHERE card_code=?1",
                            [&voter.card_code],
                            |r| r.get::<_, String>(0),
                        )
                        .optional()?;
                    if let Some(other) = card_taken {
                        return Err(refused(
                            format!(
                                "item {n}: card code {} belongs to voter {other}",
                                voter.card_code
                            ),
                            format!(
                                "punkt {n}: valgkortkoden {} tilhører en anden vælger",
                                voter.card_code
                            ),
                        ));
                    }
                    added.insert(id);
                }
                _ if !exists => {
                    return Err(refused(
                        format!("item {n}: voter {id} is not on the list"),
                        format!("punkt {n}: vælger {id} findes ikke på listen"),
                    ));
                }
                ChangeItem::Move { place, list_no, .. } => check_move(c, n, id, place, *list_no)?,
                _ => {}
            }
        }
        Ok(Precheck::Apply(change))
    }

    /// Whether an office change moved the voter to another polling place.
    pub fn moved_by_list_change(&self, voter_id: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM list_change_items WHERE voter_id=?1 AND action='move' LIMIT 1",
            )?
            .query_row([voter_id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Every applied change with its items, newest first.
    pub fn list_changes(&self) -> Result<Vec<AppliedChange>> {
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT change_id, serial, issued, note, device, wall_ms FROM list_changes
             ORDER BY serial DESC",
        )?;
        let heads = stmt
            .query_map([], |r| {
                Ok(AppliedChange {
                    change_id: r.get(0)?,
                    serial: r.get::<_, i64>(1)? as u64,
                    issued: r.get(2)?,
                    note: r.get(3)?,
                    device: r.get(4)?,
                    wall_ms: r.get(5)?,
                    items: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut items = self.conn.prepare(
            "SELECT voter_id, action, detail FROM list_change_items WHERE change_id=?1 ORDER BY item_no",
        )?;
        for mut h in heads {
            let rows = items.query_map([&h.change_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            for row in rows {
                let (voter_id, action, detail) = row?;
                let text = serde_json::from_str::<ChangeItem>(&detail)
                    .map(|i| i.describe())
                    .unwrap_or_else(|_| action.clone());
                h.items.push(AppliedItem {
                    voter_id,
                    action,
                    text,
                });
            }
            out.push(h);
        }
        Ok(out)
    }

    /// The list's brevstemme marks as they stand (count and hash), for the audit trail
    /// and for the office to compare.
    pub fn brevstemme_marks(&self) -> Result<BrevstemmeDigest> {
        brevstemme_digest(&self.conn)
    }
}

/// What applying a change did.
#[derive(Debug)]
pub enum Applied {
    /// Appended as an event by this table; every peer applies it from the event.
    New(ListChange, Box<crate::election::event::VerifiedEvent>),
    /// Already applied; nothing was written.
    Already(ListChange),
}

impl Store {
    /// Applies an office change at this table: checked, appended as an event and
    /// projected in one transaction, with the brevstemme marks compared before commit.
    pub fn apply_list_change(
        &mut self,
        author: &super::append::Author<'_>,
        wall_ms: i64,
        signed: &SignedListChange,
    ) -> Result<Applied> {
        let change = match self.precheck_list_change(signed)? {
            Precheck::AlreadyApplied(c) => return Ok(Applied::Already(c)),
            Precheck::Apply(c) => c,
        };
        let kind = crate::election::event::EventKind::ListChanged {
            change_id: signed.id(),
            serial: change.serial,
            body: signed.body.clone(),
            signature: signed.signature.clone(),
        };
        let ev =
            self.append_local_checked(author, wall_ms, kind, |c| check_brevstemmer(c, &change))?;
        Ok(Applied::New(change, Box::new(ev)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::contest::Contest;
    use crate::election::event::Trust;
    use crate::election::keys::DeviceSecret;
    use crate::election::list_change::FORMAT;
    use crate::election::roles::Enrolment;
    use crate::store::append::Author;
    use crate::store::meta::MetaKey;

    const ELECTION: &str = "kv2025";

    /// A store with a signed 30-voter list whose office key is `office`.
    fn store(office: &DeviceSecret) -> Store {
        store_of_places(office, 1)
    }

    /// As [`store`], the voters spread over `places` polling places.
    fn store_of_places(office: &DeviceSecret, places: u32) -> Store {
        let mut list = Vec::new();
        crate::store::generate::write_list(&mut list, 30, 9, places, "KV+RV").unwrap();
        let mut s = Store::open_in_memory().unwrap();
        s.import_file(&list, true, |_| {}).unwrap();
        s.set_meta(MetaKey::Election, ELECTION).unwrap();
        s.set_meta(MetaKey::OfficeKey, &office.public().to_hex())
            .unwrap();
        s
    }

    fn ids(s: &Store) -> Vec<String> {
        let mut st = s
            .conn
            .prepare("SELECT id FROM voters ORDER BY list_no")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn change(
        s: &Store,
        serial: u64,
        items: Vec<ChangeItem>,
        office: &DeviceSecret,
    ) -> SignedListChange {
        // The office computes the marks after the change from its own copy of the list.
        let mut marks: Vec<String> = {
            let mut st = s
                .conn
                .prepare("SELECT id FROM voters WHERE brevstemme=1")
                .unwrap();
            st.query_map([], |r| r.get(0))
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
        };
        for i in &items {
            if let ChangeItem::Brevstemme { voter_id } = i {
                marks.push(voter_id.clone());
            }
        }
        let c = ListChange {
            format: FORMAT.into(),
            election: ELECTION.into(),
            serial,
            issued: "2025-11-18T08:00:00+01:00".into(),
            note: "test".into(),
            items,
            brevstemmer: BrevstemmeDigest::of(marks.iter().map(String::as_str)),
        };
        SignedListChange::sign(&c, office)
    }

    fn author(key: &DeviceSecret) -> Author<'_> {
        Author {
            key,
            election: ELECTION,
            test: false,
        }
    }

    #[test]
    fn a_change_is_applied_once_checked_audited_and_survives_a_rebuild() {
        let office = DeviceSecret::from_seed([1; 32]);
        let table = DeviceSecret::from_seed([2; 32]);
        let mut s = store(&office);
        let all = ids(&s);
        let (a, b) = (all[0].clone(), all[1].clone());
        let mut added = s.voter(&a).unwrap().unwrap();
        added.id = "NY1".into();
        added.card_code = "NYKORT1".into();
        added.list_no = 999;
        let c1 = change(
            &s,
            1,
            vec![
                ChangeItem::Strike {
                    voter_id: a.clone(),
                    reason: "død".into(),
                },
                ChangeItem::Entitlement {
                    voter_id: b.clone(),
                    contests: vec![Contest::Rv],
                },
                ChangeItem::Brevstemme {
                    voter_id: b.clone(),
                },
                ChangeItem::Add {
                    voter: Box::new(added),
                },
            ],
            &office,
        );
        let before = s.brevstemme_marks().unwrap();
        assert!(matches!(
            s.apply_list_change(&author(&table), 1, &c1).unwrap(),
            Applied::New(..)
        ));
        assert!(matches!(
            s.apply_list_change(&author(&table), 2, &c1).unwrap(),
            Applied::Already(..)
        ));
        assert_eq!(s.voter(&a).unwrap().unwrap().struck.as_deref(), Some("død"));
        let vb = s.voter(&b).unwrap().unwrap();
        assert_eq!(vb.contests, vec![Contest::Rv]);
        assert!(vb.brevstemme);
        assert_eq!(s.lookup_card("NYKORT1").unwrap().unwrap().voter.id, "NY1");
        assert_eq!(s.brevstemme_marks().unwrap().count, before.count + 1);
        let audit = s.list_changes().unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].items.len(), 4);
        assert_eq!(audit[0].items[0].text, "slettet: død");

        // A reset of the projections keeps every change and the brevstemme mark.
        let dump = s.projection_dump().unwrap();
        s.rebuild_projections().unwrap();
        assert_eq!(s.projection_dump().unwrap(), dump);
        assert!(s.voter(&b).unwrap().unwrap().brevstemme);

        // Change 3 before change 2 is refused; a forged change is refused; a change whose
        // brevstemme marks differ from the table's is refused and leaves nothing behind.
        let c3 = change(
            &s,
            3,
            vec![ChangeItem::Reinstate {
                voter_id: a.clone(),
            }],
            &office,
        );
        let e = s.apply_list_change(&author(&table), 3, &c3).unwrap_err();
        assert!(e.danish().contains("nr. 2 mangler"), "{}", e.danish());
        let mut forged = change(
            &s,
            2,
            vec![ChangeItem::Reinstate {
                voter_id: a.clone(),
            }],
            &office,
        );
        forged.body = forged
            .body
            .replace("Reinstate", "reinstate")
            .replace(&a, &b);
        assert!(s.apply_list_change(&author(&table), 3, &forged).is_err());
        let mut wrong = change(
            &s,
            2,
            vec![ChangeItem::Reinstate {
                voter_id: a.clone(),
            }],
            &office,
        );
        let mut body: ListChange = serde_json::from_str(&wrong.body).unwrap();
        body.brevstemmer = before.clone();
        wrong = SignedListChange::sign(&body, &office);
        let e = s.apply_list_change(&author(&table), 3, &wrong).unwrap_err();
        assert!(e.danish().contains("brevstemme"), "{}", e.danish());
        assert_eq!(s.list_changes().unwrap().len(), 1);
        assert_eq!(s.voter(&a).unwrap().unwrap().struck.as_deref(), Some("død"));
        let unknown = change(
            &s,
            2,
            vec![ChangeItem::Reinstate {
                voter_id: "X".into(),
            }],
            &office,
        );
        let e = s
            .apply_list_change(&author(&table), 3, &unknown)
            .unwrap_err();
        assert!(e.danish().contains("findes ikke"), "{}", e.danish());
    }

    #[test]
    fn a_move_changes_the_place_and_is_refused_for_a_voter_who_has_checked_in() {
        let office = DeviceSecret::from_seed([1; 32]);
        let table = DeviceSecret::from_seed([2; 32]);
        let mut s = store_of_places(&office, 2);
        let mover = |id: &str, list_no| ChangeItem::Move {
            voter_id: id.into(),
            place: "2".into(),
            list_no,
        };
        let (a, b) = ("V00000001", "V00000002");
        assert_eq!(s.voter(a).unwrap().unwrap().place, "1");
        let taken = change(&s, 1, vec![mover(a, 1)], &office);
        let err = s.apply_list_change(&author(&table), 1, &taken).unwrap_err();
        assert!(
            err.to_string().contains("list number 1 in valgsted 2"),
            "{err}"
        );
        let c1 = change(&s, 1, vec![mover(a, 900)], &office);
        s.apply_list_change(&author(&table), 1, &c1).unwrap();
        let moved = s.voter(a).unwrap().unwrap();
        assert_eq!((moved.place.as_str(), moved.list_no), ("2", 900));
        assert_eq!(
            s.list_changes().unwrap()[0].items[0].text,
            "flyttet til valgsted 2, løbenr. 900"
        );

        let check_in = crate::election::event::EventKind::CheckIn {
            voter_id: b.into(),
            place: "1".into(),
            table_no: 1,
            card_code: None,
            method: crate::election::event::CheckInMethod::Manual,
            ballots: vec![Contest::Kv, Contest::Rv],
        };
        s.append_local(&author(&table), 1_000, check_in).unwrap();
        let c2 = change(&s, 2, vec![mover(b, 901)], &office);
        let err = s.apply_list_change(&author(&table), 3, &c2).unwrap_err();
        assert!(err.to_string().contains("has checked in"), "{err}");
        assert_eq!(s.voter(b).unwrap().unwrap().place, "1");
    }

    #[test]
    fn changes_arriving_in_any_order_give_the_same_rows() {
        let office = DeviceSecret::from_seed([1; 32]);
        let (t1, t2) = (
            DeviceSecret::from_seed([2; 32]),
            DeviceSecret::from_seed([3; 32]),
        );
        let trust = Trust {
            election: ELECTION.into(),
            enrolment: Some(Enrolment::reserves_of("1", [t1.public(), t2.public()])),
            allow_test: false,
        };
        let mut one = store(&office);
        let mut two = store(&office);
        let a = ids(&one)[0].clone();
        let c1 = change(
            &one,
            1,
            vec![ChangeItem::Strike {
                voter_id: a.clone(),
                reason: "død".into(),
            }],
            &office,
        );
        let Applied::New(_, e1) = one.apply_list_change(&author(&t1), 1, &c1).unwrap() else {
            panic!("new")
        };
        two.ingest(&e1.signed, &trust).unwrap();
        let c2 = change(
            &two,
            2,
            vec![ChangeItem::Reinstate {
                voter_id: a.clone(),
            }],
            &office,
        );
        let Applied::New(_, e2) = two.apply_list_change(&author(&t2), 2, &c2).unwrap() else {
            panic!("new")
        };
        one.ingest(&e2.signed, &trust).unwrap();
        // A third table hears of change 2 first.
        let mut three = store(&office);
        three.ingest(&e2.signed, &trust).unwrap();
        assert_eq!(three.voter(&a).unwrap().unwrap().struck, None);
        three.ingest(&e1.signed, &trust).unwrap();
        assert_eq!(
            three.voter(&a).unwrap().unwrap().struck,
            None,
            "serial 2 wins"
        );
        assert_eq!(
            one.projection_dump().unwrap(),
            two.projection_dump().unwrap()
        );
        assert_eq!(
            one.projection_dump().unwrap(),
            three.projection_dump().unwrap()
        );
    }

    #[test]
    fn a_change_event_with_a_forged_office_signature_is_rejected_on_ingest() {
        let office = DeviceSecret::from_seed([1; 32]);
        let table = DeviceSecret::from_seed([2; 32]);
        let trust = Trust {
            election: ELECTION.into(),
            enrolment: Some(Enrolment::reserves_of("1", [table.public()])),
            allow_test: false,
        };
        let mut s = store(&office);
        let a = ids(&s)[0].clone();
        // A table signs an event carrying a change the office never signed.
        let fake = DeviceSecret::from_seed([9; 32]);
        let forged = change(
            &s,
            1,
            vec![ChangeItem::Brevstemme {
                voter_id: a.clone(),
            }],
            &fake,
        );
        let kind = crate::election::event::EventKind::ListChanged {
            change_id: forged.id(),
            serial: 1,
            body: forged.body.clone(),
            signature: forged.signature.clone(),
        };
        let mut other = store(&fake);
        let ev = other.append_local(&author(&table), 1, kind).unwrap();
        let e = s.ingest(&ev.signed, &trust).unwrap_err();
        assert!(e.to_string().contains("office signature"), "{e}");
        assert!(!s.voter(&a).unwrap().unwrap().brevstemme);
        assert!(s.list_changes().unwrap().is_empty());
    }
}
