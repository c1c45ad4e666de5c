//! Properties of the log and its projections across devices: the same events in any
//! order each device's sequence allows give the same projections, a rebuild gives what
//! the incremental updates gave, and the counts people read follow from the events.

use super::Store;
use super::append::{Author, Ingested};
use super::meta::MetaKey;
use crate::election::contest::Contest;
use crate::election::event::{CheckInMethod, EventKind, SignedEvent, Trust};
use crate::election::keys::DeviceSecret;
use crate::election::list_change::{
    self, BrevstemmeDigest, ChangeItem, ListChange, SignedListChange,
};
use crate::election::roles::Enrolment;
use crate::election::voter::Voter;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashSet};

const ELECTION: &str = "kv2025";
/// 18 November 2025, 07:50 UTC: ten minutes before an hour turns.
const T0: i64 = 1_763_452_200_000;

/// The list every store holds: 24 voters in two polling places.
fn list_bytes() -> Vec<u8> {
    let mut out = Vec::new();
    super::generate::write_list(&mut out, 24, 5, 2, "KV+RV").unwrap();
    out
}

fn store_with_list(list: &[u8]) -> Store {
    let mut s = Store::open_in_memory().unwrap();
    s.import_file(list, false, |_| {}).unwrap();
    s.set_meta(MetaKey::Election, ELECTION).unwrap();
    s
}

/// A step of the history, with indices taken modulo what exists at that point.
#[derive(Debug, Clone)]
enum Op {
    CheckIn {
        dev: usize,
        voter: usize,
        manual: bool,
    },
    Paper {
        dev: usize,
        voter: usize,
    },
    Undo {
        dev: usize,
        pick: usize,
    },
    Reissue {
        dev: usize,
        voter: usize,
    },
    Table {
        dev: usize,
        state: u8,
    },
    Reconcile {
        dev: usize,
        handed: u32,
        returned: u32,
    },
    Resolve {
        dev: usize,
        pick: usize,
    },
    Sync {
        from: usize,
        to: usize,
    },
    Tick {
        dev: usize,
        ms: i64,
    },
    /// The valgstyrere's decision on a voter's brevstemme, made at a device.
    Examine {
        dev: usize,
        voter: usize,
        accepted: bool,
    },
    /// An office list change (next serial) applied at a device.
    Change {
        dev: usize,
        voter: usize,
        action: u8,
    },
}

/// Devices: three tables in polling place 1, one in polling place 2.
const TABLES: [(&str, u32); 4] = [("1", 1), ("1", 2), ("1", 3), ("2", 1)];
const N: usize = TABLES.len();

fn op() -> impl Strategy<Value = Op> {
    let dev = 0..N;
    prop_oneof![
        6 => (dev.clone(), any::<usize>(), any::<bool>())
            .prop_map(|(dev, voter, manual)| Op::CheckIn { dev, voter, manual }),
        1 => (dev.clone(), any::<usize>()).prop_map(|(dev, voter)| Op::Paper { dev, voter }),
        3 => (dev.clone(), any::<usize>()).prop_map(|(dev, pick)| Op::Undo { dev, pick }),
        1 => (dev.clone(), any::<usize>()).prop_map(|(dev, voter)| Op::Reissue { dev, voter }),
        1 => (dev.clone(), 0u8..3).prop_map(|(dev, state)| Op::Table { dev, state }),
        1 => (dev.clone(), 0u32..500, 0u32..20)
            .prop_map(|(dev, handed, returned)| Op::Reconcile { dev, handed, returned }),
        2 => (dev.clone(), any::<usize>()).prop_map(|(dev, pick)| Op::Resolve { dev, pick }),
        4 => (dev.clone(), 0..N).prop_map(|(from, to)| Op::Sync { from, to }),
        1 => (dev.clone(), any::<usize>(), any::<bool>())
            .prop_map(|(dev, voter, accepted)| Op::Examine { dev, voter, accepted }),
        1 => (dev.clone(), any::<usize>(), 0u8..5)
            .prop_map(|(dev, voter, action)| Op::Change { dev, voter, action }),
        3 => (dev, prop_oneof![Just(0i64), -30_000i64..0, 0i64..1_200_000])
            .prop_map(|(dev, ms)| Op::Tick { dev, ms }),
    ]
}

/// A check-in (card, manual or paper) as the model knows it.
#[derive(Debug, Clone)]
struct Rec {
    dev: usize,
    seq: u64,
    voter: String,
    place: String,
    table_no: u32,
    hlc: u64,
}

struct Device {
    store: Store,
    wall: i64,
    /// Highest sequence number held of each device.
    seen: [u64; N],
}

/// The devices, each with its own store and clock, and a model of what they did.
struct Sim {
    keys: Vec<DeviceSecret>,
    trust: Trust,
    voters: Vec<Voter>,
    devices: Vec<Device>,
    checkins: Vec<Rec>,
    undone: HashSet<(usize, u64)>,
    /// Resolved double registrations, with the check-ins in force when resolved.
    resolved: BTreeMap<String, usize>,
    /// Device of each event in the order they were made.
    made: Vec<usize>,
    cards: u64,
    /// Serial of the last office change.
    changes: u64,
}

impl Sim {
    fn new(list: &[u8]) -> Sim {
        let voters = list_voters(list);
        let keys: Vec<DeviceSecret> = (0..N)
            .map(|i| DeviceSecret::from_seed([i as u8 + 1; 32]))
            .collect();
        let trust = Trust {
            election: ELECTION.into(),
            enrolment: Some(
                Enrolment::new(keys.iter().zip(TABLES).map(|(k, (place, table_no))| {
                    (
                        k.public(),
                        crate::election::roles::Role::Table {
                            place: place.into(),
                            table_no,
                        },
                    )
                }))
                .unwrap(),
            ),
            allow_test: false,
        };
        let devices = (0..N)
            .map(|_| Device {
                store: store_with_list(list),
                wall: T0,
                seen: [0; N],
            })
            .collect();
        Sim {
            keys,
            trust,
            voters,
            devices,
            checkins: Vec::new(),
            undone: HashSet::new(),
            resolved: BTreeMap::new(),
            made: Vec::new(),
            cards: 0,
            changes: 0,
        }
    }

    fn voter_at(&self, dev: usize, pick: usize) -> &Voter {
        let place = TABLES[dev].0;
        let here: Vec<&Voter> = self.voters.iter().filter(|v| v.place == place).collect();
        here[pick % here.len()]
    }

    fn append(&mut self, dev: usize, kind: EventKind) -> (u64, u64) {
        let author = Author {
            key: &self.keys[dev],
            election: ELECTION,
            test: false,
        };
        let d = &mut self.devices[dev];
        let ev = d.store.append_named(&author, d.wall, kind).unwrap();
        d.seen[dev] = ev.body.seq;
        self.made.push(dev);
        (ev.body.seq, ev.body.hlc.0)
    }

    fn active(&self, voter: &str) -> Vec<&Rec> {
        self.checkins
            .iter()
            .filter(|r| r.voter == voter && !self.undone.contains(&(r.dev, r.seq)))
            .collect()
    }

    /// Gives `to` every event `from` holds that `to` lacks.
    fn sync(&mut self, from: usize, to: usize) {
        if from == to {
            return;
        }
        for e in 0..N {
            let have = self.devices[to].seen[e];
            let events = self.devices[from]
                .store
                .events_after(self.keys[e].public(), have, usize::MAX)
                .unwrap();
            for ev in &events {
                let r = self.devices[to].store.ingest(ev, &self.trust).unwrap();
                assert_eq!(r, Ingested::Added);
            }
            self.devices[to].seen[e] = have.max(self.devices[from].seen[e]);
        }
    }

    fn step(&mut self, op: &Op) {
        match *op {
            Op::CheckIn { dev, voter, manual } => {
                let v = self.voter_at(dev, voter).clone();
                let (place, table_no) = TABLES[dev];
                let kind = EventKind::CheckIn {
                    voter_id: v.id.clone(),
                    place: place.into(),
                    table_no,
                    card_code: (!manual).then(|| v.card_code.clone()),
                    method: if manual {
                        CheckInMethod::Manual
                    } else {
                        CheckInMethod::Card
                    },
                    ballots: v.contests.clone(),
                };
                let (seq, hlc) = self.append(dev, kind);
                self.checkins.push(Rec {
                    dev,
                    seq,
                    voter: v.id,
                    place: place.into(),
                    table_no,
                    hlc,
                });
            }
            Op::Paper { dev, voter } => {
                let v = self.voter_at(dev, voter).clone();
                let (place, table_no) = TABLES[dev];
                let wall = self.devices[dev].wall;
                let kind = EventKind::PaperRegistration {
                    voter_id: v.id.clone(),
                    place: place.into(),
                    table_no,
                    fallback_from_ms: wall - 7_200_000,
                    fallback_to_ms: wall - 3_600_000,
                };
                let (seq, hlc) = self.append(dev, kind);
                self.checkins.push(Rec {
                    dev,
                    seq,
                    voter: v.id,
                    place: place.into(),
                    table_no,
                    hlc,
                });
            }
            Op::Undo { dev, pick } => {
                // Any check-in this device has seen, from any table of its own polling
                // place (another place's check-ins are not its to undo), not yet undone
                // anywhere (two undos of one check-in have their own test below).
                let seen = self.devices[dev].seen;
                let open: Vec<Rec> = self
                    .checkins
                    .iter()
                    .filter(|r| TABLES[r.dev].0 == TABLES[dev].0)
                    .filter(|r| seen[r.dev] >= r.seq && !self.undone.contains(&(r.dev, r.seq)))
                    .cloned()
                    .collect();
                if open.is_empty() {
                    return;
                }
                let t = &open[pick % open.len()];
                let kind = EventKind::CheckInUndone {
                    voter_id: t.voter.clone(),
                    target_device: self.keys[t.dev].public(),
                    target_seq: t.seq,
                    reason: format!("fejl ved bord {}", TABLES[dev].1),
                };
                self.append(dev, kind);
                self.undone.insert((t.dev, t.seq));
            }
            Op::Reissue { dev, voter } => {
                let v = self.voter_at(dev, voter).id.clone();
                self.cards += 1;
                let kind = EventKind::CardReissued {
                    voter_id: v,
                    new_code: format!("R{:06}", self.cards),
                };
                self.append(dev, kind);
            }
            Op::Examine {
                dev,
                voter,
                accepted,
            } => {
                let voter_id = self.voter_at(dev, voter).id.clone();
                let kind = EventKind::BrevstemmeExamined {
                    voter_id,
                    place: TABLES[dev].0.into(),
                    accepted,
                    reason: (!accepted)
                        .then_some(crate::election::brevstemme::SetAsideReason::ForSent),
                    valgstyrere: ["Jens Kragh".into(), "Mette Holm".into()],
                };
                self.append(dev, kind);
            }
            Op::Table { dev, state } => {
                let (place, table_no) = TABLES[dev];
                let place = place.to_string();
                let kind = match state {
                    0 => EventKind::TableOpened { place, table_no },
                    1 => EventKind::TablePaused { place, table_no },
                    _ => EventKind::TableClosed {
                        place,
                        table_no,
                        reason: "lukket kl. 20".into(),
                    },
                };
                self.append(dev, kind);
            }
            Op::Reconcile {
                dev,
                handed,
                returned,
            } => {
                let (place, table_no) = TABLES[dev];
                let kind = EventKind::BallotsReconciled {
                    place: place.into(),
                    table_no,
                    handed_out: vec![(Contest::Kv, handed), (Contest::Rv, handed)],
                    returned: vec![(Contest::Kv, returned)],
                    exchanged: vec![(Contest::Rv, returned / 2)],
                };
                self.append(dev, kind);
            }
            Op::Resolve { dev, pick } => {
                // The valgsekretær resolves a double registration that is listed.
                let doubles: Vec<String> = self
                    .voters
                    .iter()
                    .map(|v| v.id.clone())
                    .filter(|id| self.active(id).len() >= 2 && !self.resolved.contains_key(id))
                    .collect();
                if doubles.is_empty() {
                    return;
                }
                let id = doubles[pick % doubles.len()].clone();
                let n = self.active(&id).len();
                let kind = EventKind::DoubleRegistrationResolved {
                    voter_id: id.clone(),
                    note: format!("set af valgstyrer ved bord {}", TABLES[dev].1),
                    checkins: u32::try_from(n).ok(),
                };
                self.append(dev, kind);
                self.resolved.insert(id, n);
            }
            Op::Sync { from, to } => self.sync(from, to),
            Op::Tick { dev, ms } => self.devices[dev].wall += ms,
            Op::Change { dev, voter, action } => {
                let v = self.voter_at(dev, voter).clone();
                self.changes += 1;
                let voter_id = v.id.clone();
                let item = match action {
                    0 => ChangeItem::Strike {
                        voter_id,
                        reason: format!("død (ændring {})", self.changes),
                    },
                    1 => ChangeItem::Reinstate { voter_id },
                    2 => ChangeItem::Entitlement {
                        voter_id,
                        contests: vec![Contest::Rv],
                    },
                    3 => ChangeItem::Brevstemme { voter_id },
                    _ => {
                        let mut added = v.clone();
                        added.id = format!("NY{}", self.changes);
                        added.card_code = format!("NYKORT{}", self.changes);
                        added.list_no = 10_000 + self.changes as u32;
                        ChangeItem::Add {
                            voter: Box::new(added),
                        }
                    }
                };
                let change = ListChange {
                    format: list_change::FORMAT.into(),
                    election: ELECTION.into(),
                    serial: self.changes,
                    issued: "2025-11-18T07:00:00+01:00".into(),
                    note: String::new(),
                    items: vec![item],
                    brevstemmer: BrevstemmeDigest::of([]),
                };
                let signed = SignedListChange {
                    body: serde_json::to_string(&change).unwrap(),
                    signature: String::new(),
                };
                let kind = EventKind::ListChanged {
                    change_id: signed.id(),
                    serial: self.changes,
                    body: signed.body,
                    signature: signed.signature,
                };
                self.append(dev, kind);
            }
        }
    }

    /// Each device's own events, in its order.
    fn logs(&self) -> Vec<Vec<SignedEvent>> {
        (0..N)
            .map(|d| {
                self.devices[d]
                    .store
                    .events_after(self.keys[d].public(), 0, usize::MAX)
                    .unwrap()
            })
            .collect()
    }
}

/// Ingests the logs into a new store, taking the next event of device `pick()` each time.
fn replay(
    list: &[u8],
    logs: &[Vec<SignedEvent>],
    trust: &Trust,
    mut pick: impl FnMut(&[usize]) -> usize,
) -> Store {
    let mut s = store_with_list(list);
    let mut next = vec![0usize; logs.len()];
    loop {
        let left: Vec<usize> = (0..logs.len())
            .filter(|&d| next[d] < logs[d].len())
            .collect();
        if left.is_empty() {
            return s;
        }
        let d = pick(&left);
        assert!(left.contains(&d));
        let r = s.ingest(&logs[d][next[d]], trust).unwrap();
        assert_eq!(r, Ingested::Added);
        next[d] += 1;
    }
}

/// Checks the counts people read against the model.
fn check_counts(s: &Store, sim: &Sim) -> Result<(), TestCaseError> {
    for place in ["1", "2"] {
        let here: Vec<&Voter> = sim.voters.iter().filter(|v| v.place == place).collect();
        let mut persons = 0;
        let mut doubles = Vec::new();
        for v in &here {
            let active = sim.active(&v.id);
            let status = s.status(&v.id).unwrap();
            if active.is_empty() {
                prop_assert!(status.is_none(), "{} has a status without a check-in", v.id);
                continue;
            }
            persons += 1;
            let status = status.unwrap();
            prop_assert_eq!(status.active as usize, active.len(), "active of {}", &v.id);
            let first = active
                .iter()
                .min_by_key(|r| (r.hlc, sim.keys[r.dev].public().to_hex(), r.seq))
                .unwrap();
            prop_assert_eq!(
                (&status.device, status.seq),
                (&sim.keys[first.dev].public().to_hex(), first.seq),
                "the check-in in force for {} is the earliest by clock",
                &v.id
            );
            prop_assert_eq!(&status.prior.place, place);
            // A resolution covers the check-ins it saw; one more is flagged again.
            if active.len() >= 2 && sim.resolved.get(&v.id).is_none_or(|&n| n < active.len()) {
                doubles.push(v.id.clone());
            }
        }
        doubles.sort();
        let counted = s.persons_checked_in(place).unwrap();
        prop_assert_eq!(counted, persons, "persons checked in at {}", place);
        prop_assert!(counted as usize <= here.len());
        prop_assert_eq!(s.double_registrations(place).unwrap(), doubles);

        let mut per_table: BTreeMap<u32, i64> = BTreeMap::new();
        for r in sim.checkins.iter().filter(|r| r.place == place) {
            if !sim.undone.contains(&(r.dev, r.seq)) {
                *per_table.entry(r.table_no).or_default() += 1;
            }
        }
        let counts: BTreeMap<u32, i64> = s
            .table_counts(place)
            .unwrap()
            .into_iter()
            .filter(|c| c.checkins != 0)
            .map(|c| (c.table_no, c.checkins))
            .collect();
        prop_assert_eq!(counts, per_table, "check-ins per table at {}", place);
    }
    Ok(())
}

fn list_voters(list: &[u8]) -> Vec<Voter> {
    crate::election::voter_list::parse(list, |_| {})
        .unwrap()
        .voters
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn projections_do_not_depend_on_arrival_order(
        ops in prop::collection::vec(op(), 1..90),
        seed in any::<u64>(),
    ) {
        let list = list_bytes();
        let mut sim = Sim::new(&list);
        for op in &ops {
            sim.step(op);
        }
        let logs = sim.logs();
        let trust = sim.trust.clone();

        // A: the order the events were made in.
        let mut made = sim.made.iter();
        let mut a = replay(&list, &logs, &trust, |_| *made.next().unwrap());
        // B: a random interleaving of the devices' logs.
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let b = replay(&list, &logs, &trust, |left| left[rng.random_range(0..left.len())]);
        // C: one device after another, the last first (undos of other devices' check-ins
        // then arrive before what they undo).
        let c = replay(&list, &logs, &trust, |left| left[left.len() - 1]);

        let dump = a.projection_dump().unwrap();
        prop_assert_eq!(&b.projection_dump().unwrap(), &dump, "A (made) vs B (random)");
        prop_assert_eq!(&c.projection_dump().unwrap(), &dump, "A (made) vs C (by device)");
        let mut vv = a.version_vector().unwrap();
        vv.sort();
        let mut vv_b = b.version_vector().unwrap();
        vv_b.sort();
        prop_assert_eq!(vv, vv_b);

        check_counts(&a, &sim)?;

        a.rebuild_projections().unwrap();
        prop_assert_eq!(&a.projection_dump().unwrap(), &dump, "rebuild vs incremental");

        // Every device, once it has everything, shows the same as well: its own events
        // were projected as made, the others' as they came.
        for to in 0..N {
            for from in 0..N {
                sim.sync(from, to);
            }
        }
        for d in 0..N {
            prop_assert_eq!(
                &sim.devices[d].store.projection_dump().unwrap(),
                &dump,
                "device {} after full sync",
                d
            );
        }
    }
}

/// Two stores fed the same two events in both orders.
fn both_orders(first: &SignedEvent, second: &SignedEvent, trust: &Trust) -> (Store, Store) {
    let mut x = Store::open_in_memory().unwrap();
    let mut y = Store::open_in_memory().unwrap();
    for e in [first, second] {
        x.ingest(e, trust).unwrap();
    }
    for e in [second, first] {
        y.ingest(e, trust).unwrap();
    }
    (x, y)
}

fn two_devices() -> (DeviceSecret, DeviceSecret, Trust) {
    let a = DeviceSecret::from_seed([21; 32]);
    let b = DeviceSecret::from_seed([22; 32]);
    let trust = Trust {
        election: ELECTION.into(),
        enrolment: Some(Enrolment::reserves_of("1", [a.public(), b.public()])),
        allow_test: false,
    };
    (a, b, trust)
}

fn author(key: &DeviceSecret) -> Author<'_> {
    Author {
        key,
        election: ELECTION,
        test: false,
    }
}

fn check_in(voter: &str, table_no: u32) -> EventKind {
    EventKind::CheckIn {
        voter_id: voter.into(),
        place: "1".into(),
        table_no,
        card_code: None,
        method: CheckInMethod::Manual,
        ballots: vec![Contest::Kv, Contest::Rv],
    }
}

#[test]
fn an_undo_from_another_table_may_arrive_before_its_check_in() {
    let (ka, kb, trust) = two_devices();
    let mut a = Store::open_in_memory().unwrap();
    let ci = a.append_named(&author(&ka), T0, check_in("V1", 1)).unwrap();
    let mut b = Store::open_in_memory().unwrap();
    b.ingest(&ci.signed, &trust).unwrap();
    assert_eq!(b.persons_checked_in("1").unwrap(), 1);
    let undo = b
        .append_named(
            &author(&kb),
            T0 + 1000,
            EventKind::CheckInUndone {
                voter_id: "V1".into(),
                target_device: ka.public(),
                target_seq: 1,
                reason: "forkert person".into(),
            },
        )
        .unwrap();
    assert!(undo.body.hlc > ci.body.hlc);
    assert_eq!(b.persons_checked_in("1").unwrap(), 0);
    assert!(b.status("V1").unwrap().is_none());

    let (x, y) = both_orders(&ci.signed, &undo.signed, &trust);
    for s in [&x, &y] {
        assert_eq!(s.persons_checked_in("1").unwrap(), 0);
        assert!(s.status("V1").unwrap().is_none());
        assert!(s.table_counts("1").unwrap().iter().all(|c| c.checkins == 0));
    }
    assert_eq!(x.projection_dump().unwrap(), y.projection_dump().unwrap());
    assert_eq!(x.projection_dump().unwrap(), b.projection_dump().unwrap());
}

#[test]
fn a_double_registration_is_listed_until_resolved_and_counts_one_person() {
    let (ka, kb, trust) = two_devices();
    let mut a = Store::open_in_memory().unwrap();
    let mut b = Store::open_in_memory().unwrap();
    // Partitioned: both tables check the same voter in.
    let first = a.append_named(&author(&ka), T0, check_in("V1", 1)).unwrap();
    let second = b
        .append_named(&author(&kb), T0 + 5, check_in("V1", 2))
        .unwrap();
    a.ingest(&second.signed, &trust).unwrap();
    b.ingest(&first.signed, &trust).unwrap();
    for s in [&a, &b] {
        assert_eq!(s.persons_checked_in("1").unwrap(), 1);
        assert_eq!(s.double_registrations("1").unwrap(), vec!["V1".to_string()]);
        let st = s.status("V1").unwrap().unwrap();
        assert_eq!((st.active, st.prior.table_no), (2, 1));
        // Ballots were handed out at both tables.
        let counts: Vec<i64> = s
            .table_counts("1")
            .unwrap()
            .iter()
            .map(|c| c.checkins)
            .collect();
        assert_eq!(counts, vec![1, 1]);
    }
    assert_eq!(a.projection_dump().unwrap(), b.projection_dump().unwrap());
    let res = b
        .append_named(
            &author(&kb),
            T0 + 60_000,
            EventKind::DoubleRegistrationResolved {
                voter_id: "V1".into(),
                note: "noteret i afstemningsbogen".into(),
                checkins: Some(2),
            },
        )
        .unwrap();
    a.ingest(&res.signed, &trust).unwrap();
    for s in [&a, &b] {
        assert!(s.double_registrations("1").unwrap().is_empty());
        assert_eq!(s.persons_checked_in("1").unwrap(), 1);
    }
    // A third table that was cut off had checked the voter in too: the resolution did
    // not cover that one, so the voter is flagged again, on every table.
    let kc = DeviceSecret::from_seed([23; 32]);
    let trust3 = Trust {
        enrolment: trust.enrolment.clone().map(|mut e| {
            e.insert(
                kc.public(),
                crate::election::roles::Role::Reserve { place: "1".into() },
            );
            e
        }),
        ..trust.clone()
    };
    let mut c = Store::open_in_memory().unwrap();
    let third = c
        .append_named(&author(&kc), T0 + 30_000, check_in("V1", 3))
        .unwrap();
    for s in [&mut a, &mut b] {
        s.ingest(&third.signed, &trust3).unwrap();
        assert_eq!(s.double_registrations("1").unwrap(), vec!["V1".to_string()]);
        assert_eq!(s.persons_checked_in("1").unwrap(), 1);
    }
    let before = a.projection_dump().unwrap();
    assert_eq!(before, b.projection_dump().unwrap());
    a.rebuild_projections().unwrap();
    assert_eq!(before, a.projection_dump().unwrap(), "rebuild");
}

/// A resolution from a table of an earlier version (no count) covers any number of
/// check-ins, as it did then.
#[test]
fn a_resolution_without_a_count_covers_every_check_in() {
    let (ka, kb, trust) = two_devices();
    let mut a = Store::open_in_memory().unwrap();
    a.append_named(&author(&ka), T0, check_in("V1", 1)).unwrap();
    let mut b = Store::open_in_memory().unwrap();
    let second = b
        .append_named(&author(&kb), T0 + 10, check_in("V1", 2))
        .unwrap();
    a.ingest(&second.signed, &trust).unwrap();
    a.append_named(
        &author(&ka),
        T0 + 20,
        EventKind::DoubleRegistrationResolved {
            voter_id: "V1".into(),
            note: "før version 0.2".into(),
            checkins: None,
        },
    )
    .unwrap();
    let third = b
        .append_named(&author(&kb), T0 + 30, check_in("V1", 2))
        .unwrap();
    a.ingest(&third.signed, &trust).unwrap();
    assert!(a.double_registrations("1").unwrap().is_empty());
}

/// Two tables undo the same check-in (while partitioned, say). Which undo the `undone`
/// projection keeps depends on which arrived first (`INSERT OR IGNORE`), and a rebuild
/// keeps the earlier by clock: the stores disagree on who undid it and why.
#[test]

fn two_undos_of_one_check_in_project_the_same_in_any_order() {
    let (ka, kb, trust) = two_devices();
    let mut a = Store::open_in_memory().unwrap();
    let ci = a.append_named(&author(&ka), T0, check_in("V1", 1)).unwrap();
    let mut b = Store::open_in_memory().unwrap();
    b.ingest(&ci.signed, &trust).unwrap();
    let undo = |s: &mut Store, k: &DeviceSecret, wall: i64, reason: &str| {
        s.append_named(
            &author(k),
            wall,
            EventKind::CheckInUndone {
                voter_id: "V1".into(),
                target_device: ka.public(),
                target_seq: 1,
                reason: reason.into(),
            },
        )
        .unwrap()
        .signed
    };
    let ua = undo(&mut a, &ka, T0 + 1000, "fejlscanning");
    let ub = undo(&mut b, &kb, T0 + 2000, "forkert person");
    let mut x = Store::open_in_memory().unwrap();
    let mut y = Store::open_in_memory().unwrap();
    for e in [&ci.signed, &ua, &ub] {
        x.ingest(e, &trust).unwrap();
    }
    for e in [&ci.signed, &ub, &ua] {
        y.ingest(e, &trust).unwrap();
    }
    assert_eq!(x.persons_checked_in("1").unwrap(), 0);
    assert_eq!(y.persons_checked_in("1").unwrap(), 0);
    let dx = x.projection_dump().unwrap();
    assert_eq!(dx, y.projection_dump().unwrap(), "arrival order");
    y.rebuild_projections().unwrap();
    assert_eq!(dx, y.projection_dump().unwrap(), "rebuild");
}

/// Two tables resolve the same double registration at the same clock value. The
/// last-writer-wins rule compares only `hlc` (`WHERE excluded.hlc > …`), so on a tie the
/// first to arrive wins in one store and the other in another store.
#[test]

fn equal_clocks_on_two_devices_project_the_same_in_any_order() {
    let (ka, kb, trust) = two_devices();
    let resolve = |k: &DeviceSecret, note: &str| {
        let mut s = Store::open_in_memory().unwrap();
        s.append_named(
            &author(k),
            T0,
            EventKind::DoubleRegistrationResolved {
                voter_id: "V1".into(),
                note: note.into(),
                checkins: Some(2),
            },
        )
        .unwrap()
    };
    let ra = resolve(&ka, "set af formanden");
    let rb = resolve(&kb, "set af valgsekretæren");
    assert_eq!(ra.body.hlc, rb.body.hlc);
    let (x, mut y) = both_orders(&ra.signed, &rb.signed, &trust);
    let dx = x.projection_dump().unwrap();
    assert_eq!(dx, y.projection_dump().unwrap(), "arrival order");
    y.rebuild_projections().unwrap();
    assert_eq!(dx, y.projection_dump().unwrap(), "rebuild");
}

/// A disk that fills up in the middle of a page of a peer's events: SQLite may roll the
/// whole transaction back by itself. What the answer says was added must be exactly
/// what is stored, and once there is room the same page stores everything.
#[test]
fn a_full_disk_in_the_middle_of_a_page_stores_what_it_says() {
    let (ka, _, trust) = two_devices();
    let mut a = Store::open_in_memory().unwrap();
    let page: Vec<SignedEvent> = (0..400)
        .map(|i| {
            a.append_named(&author(&ka), T0 + i, check_in(&format!("V{i}"), 1))
                .unwrap()
                .signed
        })
        .collect();
    let mut b = Store::open_in_memory().unwrap();
    let pages: i64 = b
        .conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    // Room for a few events, not for the page.
    b.conn
        .pragma_update(None, "max_page_count", pages + 4)
        .unwrap();
    let results = b.ingest_many(&page, &trust);
    let added = results
        .iter()
        .filter(|r| matches!(r, Ok(Ingested::Added)))
        .count() as u64;
    assert!(added < 400, "the disk was not full");
    assert!(
        results.iter().any(|r| r.is_err()),
        "a full disk must be reported"
    );
    assert_eq!(b.event_count().unwrap(), added, "said added != stored");
    // Room again: the same page again stores the rest.
    b.conn
        .pragma_update(None, "max_page_count", 1_000_000_i64)
        .unwrap();
    for r in b.ingest_many(&page, &trust) {
        assert!(r.is_ok(), "{r:?}");
    }
    assert_eq!(b.event_count().unwrap(), 400);
    assert_eq!(b.persons_checked_in("1").unwrap(), 400);
}
