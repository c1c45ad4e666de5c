//! The active side of sync: push new events at once, pull what is missing about every
//! 300 ms from a few peers at random, and keep the status of every peer for the screen.
//!
//! No peer can hold up another. The loop that takes new check-ins never awaits the
//! network: each push goes to a per-peer queue with a task of its own, and each pull
//! runs as a task of its own whose result comes back as a message. The pulls from
//! connected peers are still paced as one after another (a round of [`FANOUT`] peers,
//! the next pull starting when the previous one ends), because that pacing is what
//! keeps sync cheap on a loaded table: running the pulls of a round side by side made a
//! full rehearsal 2.5 times slower, as every table then pulled three peers at a time
//! whatever its load. A pull that has not ended within [`STALL`] stops pacing the round
//! (it runs on, and its peer is not pulled again until it ends), so a peer that accepts
//! and never answers costs the round at most that. A peer that is not connected is not
//! part of any round: it is probed on its own, one request at a time, with back-off.
//!
//! Every answer a peer gives (a pull, a probe, a push's reply) is contact with it, and
//! the status the table shows and decides by is told of each one: a quiet network must
//! not make a healthy peer look silent. A decision that needs to know the peers are
//! there *now* (going back to frit bordvalg) asks them all at once ([`PeerAsker`]) rather
//! than trusting how recent the last contact happens to be.

use super::auth;
use super::control::SyncControl;
use super::node::SyncNode;
use super::peer_status::{PeerState, PeerStatus};
use super::protocol::{Hello, MAX_PAGE, PullRequest, PullResponse, PushRequest, lag};
use super::replay::{PeerClocks, Stamp};
use crate::election::event::SignedEvent;
use crate::election::keys::DevicePublic;
use crate::election::keys::DeviceSecret;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

/// How often missing events are pulled. Pushes make the common case faster; this
/// bounds how long a lost push can delay a table.
pub const ANTI_ENTROPY: Duration = Duration::from_millis(300);
/// Peers pulled from in one round.
pub const FANOUT: usize = 3;
/// A pull from a connected peer that has not ended by then no longer paces its round.
/// On a LAN a pull takes a few ms (tens under load); this is far above that and far
/// below the 5 s a silent peer holds a request.
pub const STALL: Duration = Duration::from_millis(500);
/// How often a table pulls a central while every other table of its place answers.
/// Those tables bring each other's check-ins within the second; the central has
/// nothing more for them then, and in the rounds it was pulled like a table peer, 1.3
/// times a second by every table: 13,000 pulls a second at a country's central, which
/// could not answer them (issue 14, `bench central`). Shorter than
/// `tls::CLIENT_IDLE_REUSE`, so the connection the pushes use stays open. While a
/// table of the place is lost, the central may hold its check-ins (it may reach the
/// central when it cannot reach us), so the central is pulled every round, as before.
pub const CENTRAL_PULL_EVERY: Duration = Duration::from_secs(4);
/// The longest wait between two probes of a peer that is not connected: a healed link
/// or a restarted table is noticed within this, plus one request.
pub const PROBE_MAX: Duration = Duration::from_secs(2);
/// How long a peer asked on demand ([`PeerAsker::ask_tables`]) has to answer. On a
/// healthy LAN it answers in milliseconds; a person waits for the verdict, so a silent
/// peer must not hold it up for the 5 s of an ordinary request.
pub const ASK_DEADLINE: Duration = Duration::from_secs(2);

/// What asking one table right now found ([`PeerAsker::ask_tables`]).
#[derive(Debug, Clone)]
pub struct Asked {
    /// Its status after the answer; when it was silent, the status known before.
    pub status: PeerStatus,
    /// It did not answer within [`ASK_DEADLINE`].
    pub silent: bool,
}

/// Asks every table peer of a running [`SyncClient`] at once.
#[derive(Clone)]
pub struct PeerAsker(mpsc::UnboundedSender<oneshot::Sender<Vec<Asked>>>);

impl PeerAsker {
    /// Pulls a page from every table peer now, side by side, each within
    /// [`ASK_DEADLINE`]; the answers also update the status bar. `None` when the client
    /// has stopped.
    pub async fn ask_tables(&self) -> Option<Vec<Asked>> {
        let (tx, rx) = oneshot::channel();
        self.0.send(tx).ok()?;
        rx.await.ok()
    }
}

pub struct SyncClient {
    node: Arc<dyn SyncNode>,
    hello: Hello,
    peers: Vec<Peer>,
    http: reqwest::Client,
    rng: ChaCha8Rng,
    control: Arc<SyncControl>,
    /// Signs every request, so peers know it comes from a device of the polling place.
    key: DeviceSecret,
    /// This table's clock offset (test mode), so skew is measured as the table sees time.
    clock_offset_ms: i64,
    /// The offset to each peer's clock, so requests are stamped by the peer's clock.
    clocks: PeerClocks,
    /// Peers found while running (mDNS), added between rounds.
    added_tx: mpsc::UnboundedSender<NewPeer>,
    added_rx: Option<mpsc::UnboundedReceiver<NewPeer>>,
    /// What each pull, ask and push learnt, back to the loop that owns the peers.
    heard_tx: mpsc::UnboundedSender<Heard>,
    heard_rx: Option<mpsc::UnboundedReceiver<Heard>>,
    /// Requests to ask every table now ([`PeerAsker`]).
    ask_tx: mpsc::UnboundedSender<oneshot::Sender<Vec<Asked>>>,
    ask_rx: Option<mpsc::UnboundedReceiver<oneshot::Sender<Vec<Asked>>>>,
    /// Connected peers (by URL) still to be pulled in this round, one after another.
    round: Vec<String>,
    /// The pull that paces the round, and when it began.
    pacing: Option<(String, Instant)>,
    /// The status bar's feed; a task of its own applies the latest, so a busy table
    /// lock never holds up this loop.
    report: watch::Sender<Option<Vec<PeerStatus>>>,
    /// What the status bar was last told, so it is told again only on a change. The
    /// time of the last contact is part of it: a status told only when its summary
    /// changed went stale on a quiet network.
    reported: Option<Vec<PeerStatus>>,
}

/// One peer: where it is, what we know of it, and its push queue.
struct Peer {
    status: PeerStatus,
    /// The peer's device key: announced (mDNS) or learnt from its answers.
    device: Option<DevicePublic>,
    /// One ordered push queue; `None` until the client runs.
    pusher: Option<mpsc::UnboundedSender<Arc<Vec<SignedEvent>>>>,
    /// Found at run time rather than configured: dropped again if it turns out to be a
    /// configured peer under another address.
    discovered: bool,
    /// A pull from this peer is under way (at most one at a time).
    in_flight: bool,
    /// When the last pull from this peer began.
    pulled_at: Option<Instant>,
    /// When a peer that is not connected is probed next, and the wait after that.
    next_probe: Instant,
    backoff: Duration,
    /// A new address announced for this (discovered) peer: it moves there only once a
    /// pull there succeeds and the answer comes from this peer's device, so a forged
    /// announcement cannot lead a table away from a working peer. The flag says whether
    /// that pull has begun.
    candidate: Option<(String, bool)>,
}

impl Peer {
    fn new(url: String, device: Option<DevicePublic>, central: bool, discovered: bool) -> Self {
        Peer {
            status: PeerStatus {
                url: url.trim_end_matches('/').to_string(),
                table_no: None,
                state: PeerState::Lost,
                we_lack: 0,
                they_lack: 0,
                last_contact_ms: None,
                clock_skew_ms: 0,
                central,
            },
            device,
            pusher: None,
            discovered,
            in_flight: false,
            pulled_at: None,
            next_probe: Instant::now(),
            backoff: ANTI_ENTROPY,
            candidate: None,
        }
    }

    fn connected(&self) -> bool {
        self.status.state == PeerState::Connected
    }

    /// Takes the status an answer (or a failure to get one) showed.
    fn learn(&mut self, p: Pulled) {
        if p.device.is_some() {
            self.device = p.device;
        }
        let was = self.status.state.clone();
        self.status = p.status;
        if self.connected() {
            self.backoff = ANTI_ENTROPY;
        } else {
            // Probed again after a wait that doubles up to PROBE_MAX; the first failure
            // after a loss is retried at once at the next tick.
            self.next_probe = Instant::now()
                + if was == PeerState::Connected {
                    Duration::ZERO
                } else {
                    self.backoff
                };
            self.backoff = (self.backoff * 2).min(PROBE_MAX);
        }
    }
}

/// What the loop hears back from the tasks that talk to peers.
enum Heard {
    /// A pull of a round or a probe ended (the peer is free for the next one).
    Pulled(Pulled),
    /// A peer answered an ask ([`PeerAsker`]); the rounds and probes go on as they were.
    Asked(Pulled),
    /// A peer accepted a push (its base URL): contact, as good as an answered pull.
    PushAnswered(String),
}

/// How much a pull fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pull {
    /// One event: does the peer answer, and what does it have?
    Probe,
    /// One full page, so the answer comes within [`ASK_DEADLINE`] and still says how
    /// much is lacking after it.
    Page,
    /// Page after page until nothing is lacking.
    All,
}

/// What one pull learnt of a peer.
struct Pulled {
    /// The URL pulled: the peer's own, or a candidate address of it.
    url: String,
    device: Option<DevicePublic>,
    status: PeerStatus,
}

/// What a pull task needs of the client.
#[derive(Clone)]
struct PullContext {
    node: Arc<dyn SyncNode>,
    hello: Hello,
    signer: Signer,
    clock_offset_ms: i64,
}

/// A peer to add while the client runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPeer {
    /// Base URL, e.g. `https://10.0.0.12:8443`.
    pub url: String,
    /// The device key it announced, when known.
    pub device: Option<DevicePublic>,
}

/// Adds peers to a running [`SyncClient`] (mDNS discovery).
#[derive(Clone)]
pub struct PeerAdder(mpsc::UnboundedSender<NewPeer>);

impl PeerAdder {
    /// Queues a peer; a URL or device already known is ignored. False when the client
    /// has stopped.
    pub fn add(&self, peer: NewPeer) -> bool {
        self.0.send(peer).is_ok()
    }
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

/// How a device signs and stamps its requests: its key, and its measure of each peer's
/// clock ([`super::replay`]).
#[derive(Clone)]
struct Signer {
    http: reqwest::Client,
    key: DeviceSecret,
    clocks: PeerClocks,
}

/// What a stamped request came back with.
enum Sent {
    Answer(reqwest::Response),
    /// 401, with the body the peer gave its reason in.
    Unauthorized(serde_json::Value),
}

impl Signer {
    /// Sends `make(stamp)` to `peer` (its base URL) at `path`, stamped and signed. A
    /// refusal for the stamp's time carries the peer's clock: the request is made again
    /// once, stamped by it (a clock far off, or the peer's first contact).
    async fn send<T: serde::Serialize>(
        &self,
        peer: &str,
        path: &str,
        make: impl Fn(Option<Stamp>) -> T,
    ) -> Result<Sent, reqwest::Error> {
        let url = format!("{peer}{path}");
        let mut retried = false;
        loop {
            let sent = self.clocks.now();
            let stamp = self.clocks.stamp_at(peer, sent);
            if let Err(e) = &stamp {
                tracing::warn!(%url, error = %e, "no random nonce for a sync request");
            }
            let r = signed_post(&self.http, &url, &self.key, &make(stamp.ok()))
                .send()
                .await?;
            if r.status() != reqwest::StatusCode::UNAUTHORIZED {
                return Ok(Sent::Answer(r));
            }
            let why = r.json::<serde_json::Value>().await.unwrap_or_default();
            if retried || !self.clocks.learn_from_refusal(peer, &why, sent) {
                return Ok(Sent::Unauthorized(why));
            }
            tracing::info!(%url, reason = ?why["error"].as_str(), "sync request refused for its time; sent again by the peer's clock");
            retried = true;
        }
    }
}

/// Sends queued events to one peer in order, merging what queued up meanwhile. A failed
/// push is dropped: the peer's next pull fetches the events anyway.
async fn push_worker(
    signer: Signer,
    base: String,
    hello: Hello,
    mut rx: mpsc::UnboundedReceiver<Arc<Vec<SignedEvent>>>,
    heard: mpsc::UnboundedSender<Heard>,
) {
    while let Some(first) = rx.recv().await {
        let mut events: Vec<SignedEvent> = first.as_ref().clone();
        while let Ok(more) = rx.try_recv() {
            events.extend(more.iter().cloned());
        }
        for page in events.chunks(MAX_PAGE) {
            let make = |stamp| PushRequest {
                hello: hello.clone(),
                events: page.to_vec(),
                stamp,
            };
            match signer.send(&base, "/sync/v1/push", make).await {
                Ok(Sent::Answer(r)) if r.status().is_success() => {
                    // The loop holds a receiver as long as it runs.
                    let _ = heard.send(Heard::PushAnswered(base.clone()));
                }
                Ok(Sent::Answer(r)) => {
                    tracing::debug!(peer = %base, status = %r.status(), "push refused")
                }
                Ok(Sent::Unauthorized(why)) => {
                    tracing::debug!(peer = %base, reason = %why["error"], "push refused")
                }
                Err(e) => tracing::debug!(peer = %base, error = %e, "push failed"),
            }
        }
    }
}

/// Why a sync client could not be made: its TLS, or no randomness for its peer order.
#[derive(Debug, thiserror::Error)]
pub enum NewClientError {
    #[error(transparent)]
    Tls(#[from] super::tls::TlsError),
    #[error("no random source: {0}")]
    NoRandom(getrandom::Error),
}

impl SyncClient {
    /// Each of `centrals` (the office's central tallies) is pulled from and pushed to
    /// like a peer; tables never wait for any. The HTTP client speaks plain HTTP only until [`Self::with_http`] gives
    /// it one for TLS ([`super::tls::http_client`]).
    pub fn new(
        node: Arc<dyn SyncNode>,
        hello: Hello,
        peers: Vec<String>,
        centrals: Vec<String>,
        control: Arc<SyncControl>,
        key: DeviceSecret,
        clock_offset_ms: i64,
    ) -> Result<Self, NewClientError> {
        let http = super::tls::http_client(
            &key,
            super::tls::TrustedKeys::Listed(Default::default()),
            false,
        )?;
        let tables = peers.len();
        let peers = peers
            .into_iter()
            .chain(centrals)
            .enumerate()
            .map(|(i, url)| Peer::new(url, None, i >= tables, false))
            .collect();
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(NewClientError::NoRandom)?;
        let (added_tx, added_rx) = mpsc::unbounded_channel();
        let (heard_tx, heard_rx) = mpsc::unbounded_channel();
        let (ask_tx, ask_rx) = mpsc::unbounded_channel();
        Ok(SyncClient {
            node,
            hello,
            http,
            rng: ChaCha8Rng::from_seed(seed),
            control,
            peers,
            key,
            clock_offset_ms,
            clocks: PeerClocks::new(clock_offset_ms),
            added_tx,
            added_rx: Some(added_rx),
            heard_tx,
            heard_rx: Some(heard_rx),
            ask_tx,
            ask_rx: Some(ask_rx),
            round: Vec::new(),
            pacing: None,
            report: watch::channel(None).0,
            reported: None,
        })
    }

    /// Uses `http` for every request (the TLS client of this device).
    pub fn with_http(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// A handle that adds peers while the client runs.
    pub fn peer_adder(&self) -> PeerAdder {
        PeerAdder(self.added_tx.clone())
    }

    /// A handle that asks every table peer now.
    pub fn peer_asker(&self) -> PeerAsker {
        PeerAsker(self.ask_tx.clone())
    }

    fn spawn_pusher(&self, url: &str) -> mpsc::UnboundedSender<Arc<Vec<SignedEvent>>> {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(push_worker(
            self.signer(),
            url.to_string(),
            self.hello.clone(),
            rx,
            self.heard_tx.clone(),
        ));
        tx
    }

    /// Adds a peer found at run time, unless its URL or device is known already. A
    /// discovered peer announced at a new address (DHCP) is tried there, and moves only
    /// once a pull there succeeds with its device.
    fn add_peer(&mut self, new: NewPeer) {
        let url = new.url.trim_end_matches('/').to_string();
        if self.peers.iter().any(|p| p.status.url == url) {
            return;
        }
        if let Some(d) = new.device {
            if d == self.hello.device {
                return;
            }
            if let Some(i) = self.peers.iter().position(|p| p.device == Some(d)) {
                let p = &mut self.peers[i];
                if p.discovered && p.candidate.as_ref().is_none_or(|(c, _)| *c != url) {
                    tracing::info!(peer = %p.status.url, new = %url, device = %d.short(), "discovered table announced at a new address; trying it");
                    p.candidate = Some((url, false));
                }
                return;
            }
        }
        tracing::info!(peer = %url, device = ?new.device.map(|d| d.short()), "peer added");
        let mut peer = Peer::new(url, new.device, false, true);
        peer.pusher = Some(self.spawn_pusher(&peer.status.url));
        self.peers.push(peer);
    }

    /// Drops a discovered peer that turned out to be the same device as another peer
    /// (a configured URL naming it by another address): one device, one peer.
    fn drop_duplicates(&mut self) {
        let mut keep = vec![true; self.peers.len()];
        for i in 0..self.peers.len() {
            let Some(d) = self.peers[i].device else {
                continue;
            };
            for j in (i + 1)..self.peers.len() {
                if keep[j] && self.peers[j].device == Some(d) {
                    // Keep the configured one; of two discovered, the first.
                    let drop = if self.peers[i].discovered && !self.peers[j].discovered {
                        i
                    } else {
                        j
                    };
                    if keep[drop] {
                        tracing::info!(peer = %self.peers[drop].status.url, device = %d.short(), "same table as another peer; dropped");
                    }
                    keep[drop] = false;
                }
            }
        }
        let mut it = keep.into_iter();
        self.peers.retain(|_| it.next().unwrap_or(true));
    }

    /// Runs until the local event channel closes.
    pub async fn run(mut self, mut local: mpsc::UnboundedReceiver<SignedEvent>) {
        for i in 0..self.peers.len() {
            let pusher = self.spawn_pusher(&self.peers[i].status.url);
            self.peers[i].pusher = Some(pusher);
        }
        let (Some(mut added), Some(mut heard), Some(mut asks)) = (
            self.added_rx.take(),
            self.heard_rx.take(),
            self.ask_rx.take(),
        ) else {
            tracing::error!("sync client started twice");
            return;
        };
        tokio::spawn(report_peers(self.node.clone(), self.report.subscribe()));
        let mut tick = tokio::time::interval(ANTI_ENTROPY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let stalled = self.pacing.as_ref().map(|(_, since)| *since + STALL);
            tokio::select! {
                ev = local.recv() => {
                    let Some(ev) = ev else { break };
                    let mut batch = vec![ev];
                    while let Ok(more) = local.try_recv() {
                        batch.push(more);
                    }
                    self.push_all(batch);
                }
                // The client holds a sender of these channels itself, so none closes.
                Some(new) = added.recv() => self.add_peer(new),
                Some(h) = heard.recv() => {
                    match h {
                        Heard::Pulled(p) => {
                            // A probe that found a peer with events we lack starts a round
                            // at once (a table that restarts catches up without waiting a
                            // tick).
                            let lacking = p.status.state == PeerState::Connected && p.status.we_lack > 0;
                            self.take_pulled(p);
                            self.next_in_round();
                            if lacking {
                                self.begin_round();
                            }
                        }
                        Heard::Asked(p) => self.take_asked(p),
                        Heard::PushAnswered(url) => self.take_push_answer(&url),
                    }
                    self.report_if_changed();
                }
                Some(reply) = asks.recv() => self.ask_tables(reply),
                _ = tokio::time::sleep_until(stalled.unwrap_or_else(Instant::now)), if stalled.is_some() => {
                    if let Some((url, _)) = self.pacing.take() {
                        tracing::debug!(peer = %url, "pull slower than {STALL:?}; the round goes on without it");
                    }
                    self.next_in_round();
                }
                _ = tick.tick() => self.anti_entropy(),
            }
        }
    }

    /// Sends new events to every peer at once, without waiting: a table never waits for
    /// another to check a voter in. Each peer has its own queue, so one device's events
    /// reach it in order (out of order they would be refused as gaps).
    fn push_all(&self, events: Vec<SignedEvent>) {
        let events = Arc::new(events);
        for p in &self.peers {
            if p.device.is_some_and(|d| self.control.is_blocked(&d)) {
                continue;
            }
            if let Some(pusher) = &p.pusher
                && pusher.send(events.clone()).is_err()
            {
                tracing::error!(peer = %p.status.url, "push queue closed");
            }
        }
    }

    fn context(&self) -> PullContext {
        PullContext {
            node: self.node.clone(),
            hello: self.hello.clone(),
            signer: self.signer(),
            clock_offset_ms: self.clock_offset_ms,
        }
    }

    fn signer(&self) -> Signer {
        Signer {
            http: self.http.clone(),
            key: self.key.clone(),
            clocks: self.clocks.clone(),
        }
    }

    /// Starts a pull from peer `i` (at `at`, a candidate address, when given) as a task
    /// of its own; its result comes back through `heard`. A `probe` asks for one event
    /// only: it finds out whether the peer answers and what it has, and the rounds do
    /// the catch-up one peer after another. (Probes of every peer at once each pulling
    /// everything made a table that restarts fetch the same events from all of them.)
    fn start_pull(&mut self, i: usize, at: Option<String>, probe: bool) {
        let p = &mut self.peers[i];
        p.pulled_at = Some(Instant::now());
        let mut status = p.status.clone();
        let device = p.device;
        match at {
            Some(url) => {
                // A candidate address: a fresh contact, checked against the device.
                status.url = url;
                status.state = PeerState::Lost;
            }
            None => p.in_flight = true,
        }
        let (ctx, tx) = (self.context(), self.heard_tx.clone());
        let how = if probe { Pull::Probe } else { Pull::All };
        tokio::spawn(async move {
            let url = status.url.clone();
            let (device, status) = ctx.pull(device, status, how).await;
            let _ = tx.send(Heard::Pulled(Pulled {
                url,
                device,
                status,
            }));
        });
    }

    /// Asks every table peer now, side by side, each for one page within
    /// [`ASK_DEADLINE`], and sends `reply` what each answered. A peer the test-mode split
    /// hides is not asked: it counts as not connected. The answers also come back to the
    /// loop, so the status bar and the rounds know of them.
    fn ask_tables(&mut self, reply: oneshot::Sender<Vec<Asked>>) {
        // Every table is in the answer: one whose task failed counts as silent.
        let mut all = Vec::new();
        let mut asks = tokio::task::JoinSet::new();
        for i in 0..self.peers.len() {
            if self.peers[i].status.central {
                continue;
            }
            let blocked = self.blocked(i);
            all.push((
                i,
                Asked {
                    status: self.peers[i].status.clone(),
                    silent: !blocked,
                },
            ));
            if blocked {
                continue;
            }
            let (ctx, device, before) = (
                self.context(),
                self.peers[i].device,
                self.peers[i].status.clone(),
            );
            asks.spawn(async move {
                let url = before.url.clone();
                let asked = tokio::time::timeout(
                    ASK_DEADLINE,
                    ctx.pull(device, before.clone(), Pull::Page),
                )
                .await;
                match asked {
                    Ok((device, status)) => (i, url, device, status, false),
                    Err(_) => {
                        tracing::warn!(peer = %url, "asked peer did not answer within {ASK_DEADLINE:?}");
                        (i, url, device, before, true)
                    }
                }
            });
        }
        let heard = self.heard_tx.clone();
        tokio::spawn(async move {
            while let Some(done) = asks.join_next().await {
                let Ok((i, url, device, status, silent)) = done else {
                    continue;
                };
                if !silent {
                    let _ = heard.send(Heard::Asked(Pulled {
                        url,
                        device,
                        status: status.clone(),
                    }));
                }
                if let Some((_, a)) = all.iter_mut().find(|(j, _)| *j == i) {
                    *a = Asked { status, silent };
                }
            }
            // In the order of the configuration, so a refusal reads the same each time.
            let _ = reply.send(all.into_iter().map(|(_, a)| a).collect());
        });
    }

    /// Takes what a pull learnt (the peer may have been dropped meanwhile).
    fn take_pulled(&mut self, p: Pulled) {
        if self.pacing.as_ref().is_some_and(|(url, _)| *url == p.url) {
            self.pacing = None;
        }
        if let Some(peer) = self.peers.iter_mut().find(|x| x.status.url == p.url) {
            peer.in_flight = false;
            peer.learn(p);
            return;
        }
        let Some(i) = self
            .peers
            .iter()
            .position(|x| x.candidate.as_ref().is_some_and(|(c, _)| *c == p.url))
        else {
            return;
        };
        let peer = &mut self.peers[i];
        peer.candidate = None;
        if p.status.state == PeerState::Connected && p.device.is_some() && p.device == peer.device {
            tracing::info!(peer = %p.url, old = %peer.status.url, "discovered table moved to a new address");
            peer.status = p.status;
            peer.in_flight = false;
            peer.backoff = ANTI_ENTROPY;
            let pusher = self.spawn_pusher(&p.url);
            self.peers[i].pusher = Some(pusher);
        } else {
            tracing::warn!(peer = %peer.status.url, announced = %p.url, "an announced address of a table did not answer as that table; ignored");
        }
    }

    /// Takes what an ask learnt, leaving the peer's pulls and probes as they were.
    fn take_asked(&mut self, p: Pulled) {
        if let Some(peer) = self.peers.iter_mut().find(|x| x.status.url == p.url) {
            peer.learn(p);
        }
    }

    /// A peer accepted a push: it is there now. A connected peer's last contact moves
    /// on; a lost one is probed at the next tick rather than after its back-off.
    fn take_push_answer(&mut self, url: &str) {
        if let Some(peer) = self.peers.iter_mut().find(|x| x.status.url == url) {
            if peer.connected() {
                peer.status.last_contact_ms = Some(crate::store::now_ms());
            } else {
                peer.next_probe = Instant::now();
            }
        }
    }

    /// Starts the next pull of the round, unless one is pacing it.
    fn next_in_round(&mut self) {
        while self.pacing.is_none() {
            let Some(url) = self.round.pop() else { return };
            let Some(i) = self.peers.iter().position(|p| p.status.url == url) else {
                continue;
            };
            if !self.peers[i].connected() || self.peers[i].in_flight || self.blocked(i) {
                continue;
            }
            self.start_pull(i, None, false);
            self.pacing = Some((url, Instant::now()));
        }
    }

    /// A peer the test-mode LAN split hides: it counts as lost and is never contacted.
    fn blocked(&mut self, i: usize) -> bool {
        let blocked = self.peers[i]
            .device
            .is_some_and(|d| self.control.is_blocked(&d));
        if blocked {
            self.peers[i].status.state = PeerState::Lost;
        }
        blocked
    }

    /// One tick: probe the peers that are due, begin a new round once the last one
    /// ended, and tell the status bar what changed.
    fn anti_entropy(&mut self) {
        let now = Instant::now();
        for i in 0..self.peers.len() {
            let p = &self.peers[i];
            if let Some((url, false)) = &p.candidate {
                let url = url.clone();
                self.peers[i].candidate = Some((url.clone(), true));
                self.start_pull(i, Some(url), true);
            }
            let p = &self.peers[i];
            if p.connected() || p.in_flight || p.next_probe > now || self.blocked(i) {
                continue;
            }
            self.start_pull(i, None, true);
        }
        self.begin_round();
        self.drop_duplicates();
        self.report_if_changed();
    }

    /// Begins a round of up to [`FANOUT`] random connected peers, unless one is under
    /// way; a central only every [`CENTRAL_PULL_EVERY`] while every table peer answers.
    fn begin_round(&mut self) {
        if !self.round.is_empty() || self.pacing.is_some() {
            return;
        }
        let mut tables = self.peers.iter().filter(|p| !p.status.central).peekable();
        let every_table_answers = tables.peek().is_some() && tables.all(Peer::connected);
        let mut ready: Vec<String> = self
            .peers
            .iter()
            .filter(|p| p.connected() && !p.in_flight)
            .filter(|p| {
                !p.status.central
                    || !every_table_answers
                    || p.pulled_at
                        .is_none_or(|at| at.elapsed() >= CENTRAL_PULL_EVERY)
            })
            .map(|p| p.status.url.clone())
            .collect();
        ready.shuffle(&mut self.rng);
        ready.truncate(FANOUT);
        self.round = ready;
        self.next_in_round();
    }

    /// Tells the status bar the peers' status when any of it changed, the time of the
    /// last contact included. (The node decides what is worth redrawing a screen for.)
    fn report_if_changed(&mut self) {
        let now: Vec<PeerStatus> = self.peers.iter().map(|p| p.status.clone()).collect();
        if self.reported.as_ref() != Some(&now) {
            self.reported = Some(now.clone());
            self.report.send_replace(Some(now));
        }
    }
}

/// Gives the node the latest peer status, as often as it can take it: a status that
/// changed again meanwhile replaces the one not yet given.
async fn report_peers(node: Arc<dyn SyncNode>, mut rx: watch::Receiver<Option<Vec<PeerStatus>>>) {
    while rx.changed().await.is_ok() {
        let Some(status) = rx.borrow_and_update().clone() else {
            continue;
        };
        let node = node.clone();
        let _ = tokio::task::spawn_blocking(move || node.set_peers(status)).await;
    }
}

impl PullContext {
    /// This table's wall clock, read without taking the table lock: a long ingest must
    /// not delay the reading and distort the measured skew.
    fn wall_now(&self) -> i64 {
        crate::store::now_ms() + self.clock_offset_ms
    }

    /// Sends the central tally a page of what its pull answer shows it lacks. The central
    /// may be unable to reach a table (NAT, or a WAN that was down while pushes were
    /// dropped), so a table that was offline for hours catches it up this way, without
    /// waiting for new check-ins.
    async fn send_missing(&self, peer: &str, theirs: &super::protocol::VersionVector) {
        let node = self.node.clone();
        let theirs = theirs.clone();
        let page = tokio::task::spawn_blocking(move || node.pull_page(&theirs, MAX_PAGE)).await;
        let Ok(Ok(page)) = page else { return };
        if page.events.is_empty() {
            return;
        }
        let n = page.events.len();
        let make = |stamp| PushRequest {
            hello: self.hello.clone(),
            events: page.events.clone(),
            stamp,
        };
        match self.signer.send(peer, "/sync/v1/push", make).await {
            Ok(Sent::Answer(r)) if r.status().is_success() => {
                tracing::debug!(%peer, events = n, "central caught up")
            }
            Ok(Sent::Answer(r)) => {
                tracing::debug!(%peer, status = %r.status(), "catch-up push refused")
            }
            Ok(Sent::Unauthorized(why)) => {
                tracing::debug!(%peer, reason = %why["error"], "catch-up push refused")
            }
            Err(e) => tracing::debug!(%peer, error = %e, "catch-up push failed"),
        }
    }

    /// Asks `peer` for a page of at most `limit` events; `None`, with `status` saying why,
    /// when it did not answer one.
    async fn ask_page(
        &self,
        peer: &str,
        have: super::protocol::VersionVector,
        limit: usize,
        status: &mut PeerStatus,
    ) -> Option<PullResponse> {
        let make = |stamp| PullRequest {
            hello: self.hello.clone(),
            have: have.clone(),
            limit,
            stamp,
        };
        let reason = |v: &serde_json::Value| {
            v["error"]
                .as_str()
                .map_or_else(|| "forkert opsætning".into(), str::to_string)
        };
        let res = match self.signer.send(peer, "/sync/v1/pull", make).await {
            Ok(Sent::Answer(r)) => r,
            Ok(Sent::Unauthorized(why)) => {
                // The peer's reason is English and names keys and nonces (a key it does
                // not know, a clock far off, a replay): the log has it, the status bar
                // says it in Danish (issue 20).
                if matches!(status.state, PeerState::WrongConfig(_)) {
                    tracing::debug!(%peer, reason = ?why["error"].as_str(), "pull refused by the peer");
                } else {
                    tracing::warn!(%peer, reason = ?why["error"].as_str(), "pull refused by the peer");
                }
                status.state = PeerState::WrongConfig("afviser bordets nøgle eller ur".into());
                return None;
            }
            Err(e) => {
                if status.state == PeerState::Connected {
                    tracing::warn!(%peer, error = %super::tls::error_chain(&e), "peer lost");
                } else {
                    tracing::debug!(%peer, error = %super::tls::error_chain(&e), "peer not reached");
                }
                status.state = PeerState::Lost;
                return None;
            }
        };
        if res.status() == reqwest::StatusCode::CONFLICT {
            let why = res.json::<serde_json::Value>().await.unwrap_or_default();
            status.state = PeerState::WrongConfig(reason(&why));
            return None;
        }
        match res.error_for_status() {
            Ok(r) => match r.json().await {
                Ok(b) => Some(b),
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "unreadable pull answer");
                    status.state = PeerState::Lost;
                    None
                }
            },
            Err(e) => {
                tracing::warn!(%peer, error = %e, "pull refused");
                status.state = PeerState::Lost;
                None
            }
        }
    }

    /// Pulls from one peer as much as `how` says; returns what was learnt of it (its
    /// device key and status), starting from what was known.
    async fn pull(
        &self,
        mut device: Option<DevicePublic>,
        mut status: PeerStatus,
        how: Pull,
    ) -> (Option<DevicePublic>, PeerStatus) {
        let peer = status.url.clone();
        for _ in 0..100 {
            let node = self.node.clone();
            let have = match tokio::task::spawn_blocking(move || node.version_vector()).await {
                Ok(Ok(v)) => v,
                _ => return (device, status),
            };
            let sent = self.wall_now();
            let limit = if how == Pull::Probe { 1 } else { MAX_PAGE };
            let Some(body) = self.ask_page(&peer, have, limit, &mut status).await else {
                return (device, status);
            };
            device = Some(body.hello.device);
            status.table_no = Some(body.hello.table_no);
            if let Some(why) = self.hello.mismatch(&body.hello) {
                status.state = PeerState::WrongConfig(why);
                return (device, status);
            }
            let received = self.wall_now();
            let skew = body.wall_ms - (sent + received) / 2;
            if body.wall_ms != 0 {
                self.signer.clocks.learn(&peer, skew);
            }
            let more = body.more;
            let theirs = body.have;
            let events = body.events;
            let forks = body.forks;
            let node = self.node.clone();
            let n = events.len();
            let started = std::time::Instant::now();
            let mine = tokio::task::spawn_blocking(move || {
                if !events.is_empty() {
                    node.ingest(&events);
                }
                if !forks.is_empty() {
                    node.take_fork_evidence(&forks);
                }
                node.version_vector()
            })
            .await;
            if n > 0 {
                tracing::debug!(%peer, events = n, elapsed = ?started.elapsed(), "pulled page ingested");
            }
            let mine = match mine {
                Ok(Ok(v)) => v,
                _ => return (device, status),
            };
            if status.state != PeerState::Connected {
                tracing::info!(%peer, "peer connected");
            }
            let central = status.central;
            if central && lag(&mine, &theirs) > 0 {
                self.send_missing(&peer, &theirs).await;
            }
            status = PeerStatus {
                url: peer.clone(),
                table_no: Some(body.hello.table_no),
                state: PeerState::Connected,
                we_lack: lag(&theirs, &mine),
                they_lack: lag(&mine, &theirs),
                last_contact_ms: Some(crate::store::now_ms()),
                clock_skew_ms: if body.wall_ms == 0 { 0 } else { skew },
                central,
            };
            if !more || how != Pull::All {
                return (device, status);
            }
        }
        (device, status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::keys::DeviceSecret;
    use crate::store::StoreError;
    use crate::sync::node::PullPage;
    use crate::sync::protocol::{PushResponse, VersionVector};

    struct Nothing;

    impl SyncNode for Nothing {
        fn version_vector(&self) -> Result<VersionVector, StoreError> {
            Ok(VersionVector::new())
        }
        fn pull_page(&self, _: &VersionVector, _: usize) -> Result<PullPage, StoreError> {
            Ok(PullPage {
                events: vec![],
                more: false,
                have: VersionVector::new(),
            })
        }
        fn ingest(&self, _: &[SignedEvent]) -> PushResponse {
            PushResponse {
                added: 0,
                duplicates: 0,
                rejected: vec![],
            }
        }
        fn set_peers(&self, _: Vec<PeerStatus>) {}
        fn wall_now(&self) -> i64 {
            0
        }
    }

    fn client(peers: &[&str]) -> SyncClient {
        let key = DeviceSecret::from_seed([1; 32]);
        let hello = Hello {
            election: "e".into(),
            list_sha256: "x".into(),
            software: "0.1.0".into(),
            device: key.public(),
            place: "1".into(),
            table_no: 1,
        };
        SyncClient::new(
            Arc::new(Nothing),
            hello,
            peers.iter().map(|p| p.to_string()).collect(),
            Vec::new(),
            Arc::default(),
            key,
            0,
        )
        .unwrap()
    }

    fn urls(c: &SyncClient) -> Vec<&str> {
        c.peers.iter().map(|p| p.status.url.as_str()).collect()
    }

    #[test]
    fn a_table_is_named_by_its_number_once_it_answered_and_contact_alone_shows_nothing_new() {
        let c = client(&["https://10.0.0.2:8443"]);
        let mut s = c.peers[0].status.clone();
        assert_eq!(s.name(), "https://10.0.0.2:8443");
        s.table_no = Some(2);
        assert_eq!(s.name(), "bord 2");
        let later = PeerStatus {
            last_contact_ms: Some(5_000),
            clock_skew_ms: 300,
            ..s.clone()
        };
        assert!(later.shows_as(&s));
        assert_ne!(later, s, "the status bar is still told of the contact");
        let behind = PeerStatus {
            we_lack: 1,
            ..s.clone()
        };
        assert!(!behind.shows_as(&s));
        let central = PeerStatus {
            central: true,
            ..s.clone()
        };
        assert_eq!(central.name(), "https://10.0.0.2:8443");
    }

    #[tokio::test]
    async fn discovered_peers_never_duplicate_a_known_url_or_device() {
        let mut c = client(&["https://10.0.0.2:8443/", "https://bord3.local:8443"]);
        let d2 = DeviceSecret::from_seed([2; 32]).public();
        let d3 = DeviceSecret::from_seed([3; 32]).public();
        let d4 = DeviceSecret::from_seed([4; 32]).public();
        // The configured URL, found again by mDNS (the trailing slash does not matter).
        c.add_peer(NewPeer {
            url: "https://10.0.0.2:8443".into(),
            device: Some(d2),
        });
        // Ourselves.
        c.add_peer(NewPeer {
            url: "https://10.0.0.1:8443".into(),
            device: Some(c.hello.device),
        });
        assert_eq!(
            urls(&c),
            ["https://10.0.0.2:8443", "https://bord3.local:8443"]
        );
        // A new table, then the same table at a new address: it moves, it is not doubled.
        c.add_peer(NewPeer {
            url: "https://10.0.0.4:8443".into(),
            device: Some(d4),
        });
        c.add_peer(NewPeer {
            url: "https://10.0.0.44:8443".into(),
            device: Some(d4),
        });
        // It is only a candidate until a pull there answers as table 4.
        assert_eq!(urls(&c)[2..], ["https://10.0.0.4:8443"]);
        let answered = |url: &str, device| Pulled {
            url: url.into(),
            device: Some(device),
            status: PeerStatus {
                url: url.into(),
                table_no: Some(4),
                state: PeerState::Connected,
                we_lack: 0,
                they_lack: 0,
                last_contact_ms: Some(1),
                clock_skew_ms: 0,
                central: false,
            },
        };
        // A forged announcement: another listed device answers there. Nothing moves.
        c.take_pulled(answered("https://10.0.0.44:8443", d3));
        assert_eq!(urls(&c)[2..], ["https://10.0.0.4:8443"]);
        assert!(c.peers[2].candidate.is_none());
        c.add_peer(NewPeer {
            url: "https://10.0.0.44:8443".into(),
            device: Some(d4),
        });
        c.take_pulled(answered("https://10.0.0.44:8443", d4));
        assert_eq!(urls(&c)[2..], ["https://10.0.0.44:8443"]);
        // Table 3 is configured by name and found by address: once its answers name its
        // device, the discovered copy goes and the configured one stays.
        c.add_peer(NewPeer {
            url: "https://10.0.0.3:8443".into(),
            device: Some(d3),
        });
        assert_eq!(c.peers.len(), 4);
        c.peers[1].device = Some(d3);
        c.drop_duplicates();
        assert_eq!(
            urls(&c),
            [
                "https://10.0.0.2:8443",
                "https://bord3.local:8443",
                "https://10.0.0.44:8443"
            ]
        );
        assert!(c.peers.iter().all(|p| p.pusher.is_some() || !p.discovered));
    }
}
