//! The central tally as a sync peer: it takes every table's events (pushed, or pulled by
//! its own client), verifies them with the keys of the election configuration, stores
//! them with the projections, and never makes an event of its own.
//!
//! It keeps its version vector in memory (loaded once at start, kept by ingest): a
//! `GROUP BY device` over millions of events on every pull would not scale to a country.

use super::clock::Clock;
use super::config::KnownTable;
use super::group_commit::GroupCommit;
use super::metrics::{self, Metrics};
use crate::election::event::{SignedEvent, Trust, VerifiedEvent};
use crate::election::keys::DevicePublic;
use crate::store::append::{Ingested, verify_all};
use crate::store::meta::MetaKey;
use crate::store::{Store, StoreError};
use crate::sync::node::{PullPage, SyncNode};
use crate::sync::peer_status::{PeerState, PeerStatus};
use crate::sync::protocol::{Hello, PushResponse, VersionVector, lag};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// What the central last heard from a table.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Contact {
    /// Central clock (ms) of the last request from the table or answer to a pull of it.
    pub last_ms: Option<i64>,
    /// Events the table had that the central lacked, at that moment.
    pub lag: u64,
    /// The central's own client is pulling from the table's URL right now (it reports
    /// only changes, so while this holds the table counts as heard from now).
    pub pulled_ok: bool,
    /// Why the last pull of the table's URL failed, in Danish (e.g. the table does not
    /// list the central's key).
    pub pull_problem: Option<String>,
}

impl Contact {
    /// When the table was last heard from, as of `now`.
    pub fn last_contact(&self, now: i64) -> Option<i64> {
        if self.pulled_ok {
            Some(now)
        } else {
            self.last_ms
        }
    }
}

pub struct CentralNode {
    writer: Mutex<Store>,
    /// Sync reads (pull pages) on their own connection, so they never wait for the
    /// dashboard or a snapshot.
    sync_reader: Mutex<Store>,
    trust: Trust,
    tables: Vec<KnownTable>,
    by_key: HashMap<DevicePublic, usize>,
    /// The reserve devices and their polling places.
    reserves: HashMap<DevicePublic, String>,
    /// Devices of each polling place (tables and reserves).
    by_place: BTreeMap<String, Vec<DevicePublic>>,
    vv: Mutex<VersionVector>,
    /// Pushes waiting for the writer, each verified already.
    commits: GroupCommit<Verified, Stored>,
    contacts: Mutex<HashMap<DevicePublic, Contact>>,
    pub clock: Arc<Clock>,
    pub metrics: Metrics,
    /// Bumped whenever an event is added, so cached figures know they are stale.
    generation: AtomicU64,
    stored: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

type Verified = Result<VerifiedEvent, StoreError>;
type Stored = Result<Ingested, StoreError>;

impl CentralNode {
    pub fn new(
        writer: Store,
        sync_reader: Store,
        trust: Trust,
        tables: Vec<KnownTable>,
        reserves: Vec<(DevicePublic, String)>,
        clock: Arc<Clock>,
    ) -> Result<CentralNode, StoreError> {
        let vv: VersionVector = writer.version_vector()?.into_iter().collect();
        let stored = writer.event_count()?;
        let by_key = tables.iter().enumerate().map(|(i, t)| (t.key, i)).collect();
        let mut by_place: BTreeMap<String, Vec<DevicePublic>> = BTreeMap::new();
        for t in &tables {
            by_place.entry(t.place.clone()).or_default().push(t.key);
        }
        for (key, place) in &reserves {
            by_place.entry(place.clone()).or_default().push(*key);
        }
        Ok(CentralNode {
            writer: Mutex::new(writer),
            sync_reader: Mutex::new(sync_reader),
            trust,
            tables,
            by_key,
            reserves: reserves.into_iter().collect(),
            by_place,
            vv: Mutex::new(vv),
            commits: GroupCommit::default(),
            contacts: Mutex::new(HashMap::new()),
            clock,
            metrics: Metrics::default(),
            generation: AtomicU64::new(1),
            stored: AtomicU64::new(stored),
        })
    }

    pub fn tables(&self) -> &[KnownTable] {
        &self.tables
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    pub fn stored(&self) -> u64 {
        self.stored.load(Ordering::Relaxed)
    }

    /// The writing connection, for the snapshot task (its inserts are tiny).
    pub fn writer(&self) -> MutexGuard<'_, Store> {
        lock(&self.writer)
    }

    /// The highest sequence held per table (from memory).
    pub fn held(&self, device: &DevicePublic) -> u64 {
        lock(&self.vv).get(device).copied().unwrap_or(0)
    }

    pub fn contacts(&self) -> HashMap<DevicePublic, Contact> {
        lock(&self.contacts).clone()
    }

    /// The database answers (for the systemd watchdog).
    pub fn healthy(&self) -> bool {
        lock(&self.writer).meta(MetaKey::Election).is_ok()
    }

    /// Verifies a push here, in the thread that received it (so pushes are verified in
    /// parallel, and the signature checks no longer run while the writer is held, issue
    /// 14), then stores it together with every other push that queued up meanwhile, in
    /// one transaction ([`GroupCommit`]).
    /// Returns each event's device and number (when it verified) beside its result.
    fn ingest_grouped(&self, events: &[SignedEvent]) -> Vec<(Option<(DevicePublic, u64)>, Stored)> {
        let verified = verify_all(events, &self.trust);
        let heads: Vec<_> = verified
            .iter()
            .map(|v| v.as_ref().ok().map(|e| (e.body.device, e.body.seq)))
            .collect();
        let results = self.commits.submit(
            verified,
            |all| lock(&self.writer).ingest_verified(all, &self.trust),
            || {
                Err(StoreError::Invalid(
                    "the central's commit failed (see its log); send again".into(),
                ))
            },
        );
        heads.into_iter().zip(results).collect()
    }

    fn touch(&self, device: DevicePublic, lag_now: Option<u64>) {
        let now = self.clock.now_ms();
        let mut c = lock(&self.contacts);
        let e = c.entry(device).or_default();
        e.last_ms = Some(now);
        if let Some(l) = lag_now {
            e.lag = l;
        }
    }
}

impl SyncNode for CentralNode {
    fn version_vector(&self) -> Result<VersionVector, StoreError> {
        Ok(lock(&self.vv).clone())
    }

    fn pull_page(&self, theirs: &VersionVector, limit: usize) -> Result<PullPage, StoreError> {
        // Only reached without a hello (never by the server): nothing to send.
        let _ = (theirs, limit);
        Ok(PullPage {
            events: Vec::new(),
            more: false,
            have: VersionVector::new(),
        })
    }

    fn pull_page_for(
        &self,
        peer: &Hello,
        theirs: &VersionVector,
        limit: usize,
    ) -> Result<PullPage, StoreError> {
        self.metrics.pulls.fetch_add(1, Ordering::Relaxed);
        let place = match (
            self.by_key.get(&peer.device),
            self.reserves.get(&peer.device),
        ) {
            (Some(&i), _) => &self.tables[i].place,
            // A reserve is sent its place's events, as a table is.
            (None, Some(place)) => place,
            (None, None) => {
                // Another central of the office (only listed keys get this far). It is
                // sent every event, so either central holds the whole municipality
                // when the other could not reach some tables.
                let have = lock(&self.vv).clone();
                let (events, more) = crate::sync::node::events_lacked(
                    &lock(&self.sync_reader),
                    &have,
                    theirs,
                    limit,
                )?;
                return Ok(PullPage { events, more, have });
            }
        };
        let devices = self.by_place.get(place).cloned().unwrap_or_default();
        let have: VersionVector = {
            let vv = lock(&self.vv);
            devices
                .iter()
                .filter_map(|d| vv.get(d).map(|s| (*d, *s)))
                .collect()
        };
        self.touch(peer.device, Some(lag(theirs, &have)));
        let (events, more) =
            crate::sync::node::events_lacked(&lock(&self.sync_reader), &have, theirs, limit)?;
        Ok(PullPage { events, more, have })
    }

    fn ingest(&self, events: &[SignedEvent]) -> PushResponse {
        let started = Instant::now();
        let mut r = PushResponse {
            added: 0,
            duplicates: 0,
            rejected: Vec::new(),
        };
        self.metrics
            .received
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        let results = self.ingest_grouped(events);
        let mut seen: Vec<DevicePublic> = Vec::new();
        for (head, result) in results {
            match result {
                Ok(Ingested::Added) => {
                    r.added += 1;
                    if let Some((device, seq)) = head {
                        let mut vv = lock(&self.vv);
                        let e = vv.entry(device).or_insert(0);
                        *e = (*e).max(seq);
                        if !seen.contains(&device) {
                            seen.push(device);
                        }
                    }
                }
                Ok(Ingested::Duplicate) => r.duplicates += 1,
                Err(e) => {
                    let why = metrics::reason(&e);
                    self.metrics.reject(why);
                    if why == "gap" {
                        // A push that overtook a lost one: the next pull fills it.
                        tracing::debug!(error = %e, "event not yet in order");
                    } else {
                        tracing::warn!(error = %e, "event rejected");
                    }
                    r.rejected.push(e.to_string());
                }
            }
        }
        for d in seen {
            self.touch(d, None);
        }
        if r.added > 0 {
            self.metrics
                .added
                .fetch_add(r.added as u64, Ordering::Relaxed);
            self.stored.fetch_add(r.added as u64, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Relaxed);
        }
        self.metrics
            .duplicates
            .fetch_add(r.duplicates as u64, Ordering::Relaxed);
        self.metrics.observe_ingest(started.elapsed());
        r
    }

    fn set_peers(&self, status: Vec<PeerStatus>) {
        let offset = self.clock.offset_ms();
        let mut c = lock(&self.contacts);
        for s in status {
            let Some(t) = self
                .tables
                .iter()
                .find(|t| t.url.as_deref() == Some(s.url.as_str()))
            else {
                continue;
            };
            let e = c.entry(t.key).or_default();
            // The client's contact times are by the system clock.
            if let Some(at) = s.last_contact_ms {
                e.last_ms = Some(e.last_ms.unwrap_or(i64::MIN).max(at + offset));
            }
            e.pulled_ok = s.state == PeerState::Connected;
            match &s.state {
                PeerState::Connected => {
                    e.pull_problem = None;
                    e.lag = s.we_lack;
                }
                PeerState::Lost => {
                    e.pull_problem = Some("ingen forbindelse til bordet".into());
                }
                PeerState::WrongConfig(why) => {
                    e.pull_problem = Some(format!("bordet afviser valgkontoret: {why}"));
                }
            }
        }
    }

    fn wall_now(&self) -> i64 {
        self.clock.now_ms()
    }

    fn request_refused(&self, reason: &'static str) {
        self.metrics.refuse_request(reason);
    }
}
