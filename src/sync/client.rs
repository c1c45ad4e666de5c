//! The active side of sync: push new events at once, pull what is missing about every
//! 300 ms from a few peers at random, and keep the status of every peer for the screen.

use super::auth;
use super::control::SyncControl;
use super::node::SyncNode;
use super::protocol::{Hello, MAX_PAGE, PullRequest, PullResponse, PushRequest, lag};
use crate::election::event::SignedEvent;
use crate::election::keys::DevicePublic;
use crate::election::keys::DeviceSecret;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often missing events are pulled. Pushes make the common case faster; this
/// bounds how long a lost push can delay a table.
pub const ANTI_ENTROPY: Duration = Duration::from_millis(300);
/// Peers pulled from in one round.
const FANOUT: usize = 3;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PeerState {
    Connected,
    Lost,
    /// Another election, list or software version: never synced with.
    WrongConfig(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct PeerStatus {
    pub url: String,
    pub state: PeerState,
    /// Events the peer has that we lack, at the last contact.
    pub we_lack: u64,
    /// Events we have that the peer lacks, at the last contact.
    pub they_lack: u64,
    pub last_contact_ms: Option<i64>,
    /// The peer's wall clock minus ours (half the round trip allowed for), in ms.
    pub clock_skew_ms: i64,
    /// This peer is the central tally (shown apart in the status bar).
    pub central: bool,
}

pub struct SyncClient {
    node: Arc<dyn SyncNode>,
    hello: Hello,
    peers: Vec<String>,
    http: reqwest::Client,
    status: Vec<PeerStatus>,
    rng: ChaCha8Rng,
    control: Arc<SyncControl>,
    /// Device key of each peer, learnt from its answers.
    devices: Vec<Option<DevicePublic>>,
    /// One ordered push queue per peer.
    pushers: Vec<mpsc::UnboundedSender<Arc<Vec<SignedEvent>>>>,
    /// Whether the status bar has been told anything yet.
    reported: bool,
    /// Signs every request, so peers know it comes from a device of the polling place.
    key: DeviceSecret,
    /// This table's clock offset (test mode), so skew is measured as the table sees time.
    clock_offset_ms: i64,
}

/// A POST of `body` as JSON with this device's signature over the exact bytes sent.
fn signed_post<T: serde::Serialize>(
    http: &reqwest::Client,
    url: &str,
    key: &DeviceSecret,
    body: &T,
) -> reqwest::RequestBuilder {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    http.post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(auth::HEADER, auth::sign_body(key, &bytes))
        .body(bytes)
}

/// Sends queued events to one peer in order, merging what queued up meanwhile. A failed
/// push is dropped: the peer's next pull fetches the events anyway.
async fn push_worker(
    http: reqwest::Client,
    url: String,
    hello: Hello,
    key: DeviceSecret,
    mut rx: mpsc::UnboundedReceiver<Arc<Vec<SignedEvent>>>,
) {
    let url = format!("{url}/sync/v1/push");
    while let Some(first) = rx.recv().await {
        let mut events: Vec<SignedEvent> = first.as_ref().clone();
        while let Ok(more) = rx.try_recv() {
            events.extend(more.iter().cloned());
        }
        for page in events.chunks(MAX_PAGE) {
            let req = PushRequest {
                hello: hello.clone(),
                events: page.to_vec(),
            };
            match signed_post(&http, &url, &key, &req).send().await {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => tracing::debug!(%url, status = %r.status(), "push refused"),
                Err(e) => tracing::debug!(%url, error = %e, "push failed"),
            }
        }
    }
}

impl SyncClient {
    /// `central`, when given, is pulled from and pushed to like a peer; tables never
    /// wait for it.
    pub fn new(
        node: Arc<dyn SyncNode>,
        hello: Hello,
        mut peers: Vec<String>,
        central: Option<String>,
        control: Arc<SyncControl>,
        key: DeviceSecret,
        clock_offset_ms: i64,
    ) -> Result<Self, String> {
        let tables = peers.len();
        peers.extend(central);
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(500))
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot make the sync HTTP client: {e}"))?;
        let status = peers
            .iter()
            .enumerate()
            .map(|(i, u)| PeerStatus {
                url: u.clone(),
                state: PeerState::Lost,
                we_lack: 0,
                they_lack: 0,
                last_contact_ms: None,
                clock_skew_ms: 0,
                central: i >= tables,
            })
            .collect();
        let pushers = peers
            .iter()
            .map(|url| {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(push_worker(
                    http.clone(),
                    url.clone(),
                    hello.clone(),
                    key.clone(),
                    rx,
                ));
                tx
            })
            .collect();
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| format!("no random source: {e}"))?;
        Ok(SyncClient {
            node,
            hello,
            http,
            status,
            rng: ChaCha8Rng::from_seed(seed),
            control,
            devices: vec![None; peers.len()],
            pushers,
            peers,
            reported: false,
            key,
            clock_offset_ms,
        })
    }

    /// Runs until the local event channel closes.
    pub async fn run(mut self, mut local: mpsc::UnboundedReceiver<SignedEvent>) {
        let mut tick = tokio::time::interval(ANTI_ENTROPY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                ev = local.recv() => {
                    let Some(ev) = ev else { break };
                    let mut batch = vec![ev];
                    while let Ok(more) = local.try_recv() {
                        batch.push(more);
                    }
                    self.push_all(batch);
                }
                _ = tick.tick() => self.anti_entropy().await,
            }
        }
    }

    /// Sends new events to every peer at once, without waiting: a table never waits for
    /// another to check a voter in. Each peer has its own queue, so one device's events
    /// reach it in order (out of order they would be refused as gaps).
    fn push_all(&self, events: Vec<SignedEvent>) {
        let events = Arc::new(events);
        for (i, device) in self.devices.iter().enumerate() {
            if device.is_some_and(|d| self.control.is_blocked(&d)) {
                continue;
            }
            if self.pushers[i].send(events.clone()).is_err() {
                tracing::error!(peer = %self.peers[i], "push queue closed");
            }
        }
    }

    /// This table's wall clock, read without taking the table lock: a long ingest must
    /// not delay the reading and distort the measured skew.
    fn wall_now(&self) -> i64 {
        crate::store::now_ms() + self.clock_offset_ms
    }

    async fn anti_entropy(&mut self) {
        let mut order: Vec<usize> = (0..self.peers.len()).collect();
        order.shuffle(&mut self.rng);
        // Peers not heard from are tried too, so a healed link is noticed within a round.
        let mut chosen: Vec<usize> = order.iter().copied().take(FANOUT).collect();
        for &i in &order[chosen.len().min(order.len())..] {
            if self.status[i].state != PeerState::Connected {
                chosen.push(i);
            }
        }
        let before = self.summary();
        for i in chosen {
            self.pull_from(i).await;
        }
        let after = self.summary();
        if before != after || !self.reported {
            self.reported = true;
            let node = self.node.clone();
            let status = self.status.clone();
            let _ = tokio::task::spawn_blocking(move || node.set_peers(status)).await;
        }
    }

    fn summary(&self) -> Vec<(PeerState, u64, u64, i64)> {
        self.status
            .iter()
            .map(|s| {
                (
                    s.state.clone(),
                    s.we_lack,
                    s.they_lack,
                    s.clock_skew_ms / 1000,
                )
            })
            .collect()
    }

    /// Sends the central tally a page of what its pull answer shows it lacks. The central
    /// may be unable to reach a table (NAT, or a WAN that was down while pushes were
    /// dropped), so a table that was offline for hours catches it up this way, without
    /// waiting for new check-ins.
    async fn send_missing(&self, i: usize, theirs: &super::protocol::VersionVector) {
        let node = self.node.clone();
        let theirs = theirs.clone();
        let page = tokio::task::spawn_blocking(move || node.pull_page(&theirs, MAX_PAGE)).await;
        let Ok(Ok(page)) = page else { return };
        if page.events.is_empty() {
            return;
        }
        let n = page.events.len();
        let req = PushRequest {
            hello: self.hello.clone(),
            events: page.events,
        };
        let url = format!("{}/sync/v1/push", self.peers[i]);
        match signed_post(&self.http, &url, &self.key, &req).send().await {
            Ok(r) if r.status().is_success() => {
                tracing::debug!(peer = %self.peers[i], events = n, "central caught up")
            }
            Ok(r) => tracing::debug!(%url, status = %r.status(), "catch-up push refused"),
            Err(e) => tracing::debug!(%url, error = %e, "catch-up push failed"),
        }
    }

    /// Pulls pages from one peer until it has nothing more for us.
    async fn pull_from(&mut self, i: usize) {
        if self.devices[i].is_some_and(|d| self.control.is_blocked(&d)) {
            self.status[i].state = PeerState::Lost;
            return;
        }
        let url = format!("{}/sync/v1/pull", self.peers[i]);
        for _ in 0..100 {
            let node = self.node.clone();
            let have = match tokio::task::spawn_blocking(move || node.version_vector()).await {
                Ok(Ok(v)) => v,
                _ => return,
            };
            let req = PullRequest {
                hello: self.hello.clone(),
                have,
                limit: MAX_PAGE,
            };
            let sent = self.wall_now();
            let res = match signed_post(&self.http, &url, &self.key, &req).send().await {
                Ok(r) => r,
                Err(e) => {
                    if self.status[i].state == PeerState::Connected {
                        tracing::warn!(peer = %self.peers[i], error = %e, "peer lost");
                    }
                    self.status[i].state = PeerState::Lost;
                    return;
                }
            };
            if res.status() == reqwest::StatusCode::CONFLICT
                || res.status() == reqwest::StatusCode::UNAUTHORIZED
            {
                let why = res
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|v| v["error"].as_str().map(str::to_string))
                    .unwrap_or_else(|| "forkert opsætning".into());
                self.status[i].state = PeerState::WrongConfig(why);
                return;
            }
            let body: PullResponse = match res.error_for_status() {
                Ok(r) => match r.json().await {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(peer = %self.peers[i], error = %e, "unreadable pull answer");
                        self.status[i].state = PeerState::Lost;
                        return;
                    }
                },
                Err(e) => {
                    tracing::warn!(peer = %self.peers[i], error = %e, "pull refused");
                    self.status[i].state = PeerState::Lost;
                    return;
                }
            };
            self.devices[i] = Some(body.hello.device);
            if let Some(why) = self.hello.mismatch(&body.hello) {
                self.status[i].state = PeerState::WrongConfig(why);
                return;
            }
            let received = self.wall_now();
            let skew = body.wall_ms - (sent + received) / 2;
            let more = body.more;
            let theirs = body.have;
            let events = body.events;
            let node = self.node.clone();
            let n = events.len();
            let started = std::time::Instant::now();
            let mine = tokio::task::spawn_blocking(move || {
                if !events.is_empty() {
                    node.ingest(&events);
                }
                node.version_vector()
            })
            .await;
            if n > 0 {
                tracing::debug!(peer = %self.peers[i], events = n, elapsed = ?started.elapsed(), "pulled page ingested");
            }
            let mine = match mine {
                Ok(Ok(v)) => v,
                _ => return,
            };
            if self.status[i].state != PeerState::Connected {
                tracing::info!(peer = %self.peers[i], "peer connected");
            }
            let central = self.status[i].central;
            if central && lag(&mine, &theirs) > 0 {
                self.send_missing(i, &theirs).await;
            }
            self.status[i] = PeerStatus {
                url: self.peers[i].clone(),
                state: PeerState::Connected,
                we_lack: lag(&theirs, &mine),
                they_lack: lag(&mine, &theirs),
                last_contact_ms: Some(crate::store::now_ms()),
                clock_skew_ms: if body.wall_ms == 0 { 0 } else { skew },
                central,
            };
            if !more {
                return;
            }
        }
    }
}
