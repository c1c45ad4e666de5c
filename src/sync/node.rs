//! What sync needs of the thing it replicates. The table daemon and the central tally
//! both hold a store of signed events; the server and client are written against this
//! trait so one protocol serves both roles.

use super::peer_status::PeerStatus;
use super::protocol::{PullResponse, PushResponse, VersionVector};
use crate::election::event::{ForkEvidence, SignedEvent};
use crate::store::{Store, StoreError};

/// A holder of a replicated event log. Calls block (SQLite); callers run them on the
/// blocking pool.
pub trait SyncNode: Send + Sync + 'static {
    /// The highest sequence number held per device.
    fn version_vector(&self) -> Result<VersionVector, StoreError>;
    /// What a peer with `theirs` lacks, at most `limit` events, in order per device.
    fn pull_page(&self, theirs: &VersionVector, limit: usize) -> Result<PullPage, StoreError>;
    /// What the peer that sent `hello` may be sent. A table holds one polling place and
    /// sends everything it has; the central tally holds every place and sends a table
    /// only the events of its own place (the others it could not verify). It also learns
    /// from the call that the peer is alive and how far behind it is.
    fn pull_page_for(
        &self,
        peer: &super::protocol::Hello,
        theirs: &VersionVector,
        limit: usize,
    ) -> Result<PullPage, StoreError> {
        let _ = peer;
        self.pull_page(theirs, limit)
    }
    /// Verifies and stores a peer's events; refusals are reported in the answer.
    fn ingest(&self, events: &[SignedEvent]) -> PushResponse;
    /// The latest status of every peer, for whoever shows it.
    fn set_peers(&self, status: Vec<PeerStatus>);
    /// This node's wall clock in ms (with a test offset, if any).
    fn wall_now(&self) -> i64;
    /// Proofs of forked logs held here, sent with every pull answer so a peer that saw
    /// only one version learns of the other ([`crate::store::forks`]).
    fn fork_evidence(&self) -> Result<Vec<ForkEvidence>, StoreError> {
        Ok(Vec::new())
    }
    /// Takes in the proofs of forks a peer's answer carried (each checked again here).
    fn take_fork_evidence(&self, evidence: &[ForkEvidence]) {
        let _ = evidence;
    }
    /// A sync request was refused as replayed, stale or unstamped (`reason` is the label
    /// of [`super::replay::Stale`]), for whoever counts refusals.
    fn request_refused(&self, reason: &'static str) {
        let _ = reason;
    }
}

/// One page of a pull answer, before the hello is added.
pub struct PullPage {
    pub events: Vec<SignedEvent>,
    pub more: bool,
    pub have: VersionVector,
}

impl PullPage {
    pub fn into_response(self, hello: super::protocol::Hello, wall_ms: i64) -> PullResponse {
        PullResponse {
            hello,
            events: self.events,
            more: self.more,
            have: self.have,
            wall_ms,
            forks: Vec::new(),
        }
    }
}

/// The version vector of a store, as sync sends it.
pub fn store_version_vector(store: &Store) -> Result<VersionVector, StoreError> {
    Ok(store.version_vector()?.into_iter().collect())
}

/// The events a peer with `theirs` lacks, device by device, up to `limit`.
pub fn store_pull_page(
    store: &Store,
    theirs: &VersionVector,
    limit: usize,
) -> Result<PullPage, StoreError> {
    let have = store_version_vector(store)?;
    let (events, more) = events_lacked(store, &have, theirs, limit)?;
    Ok(PullPage { events, more, have })
}

/// The events of `have` that a peer with `theirs` lacks, device by device, at most
/// `limit`; and whether more are waiting.
pub fn events_lacked(
    store: &Store,
    have: &VersionVector,
    theirs: &VersionVector,
    limit: usize,
) -> Result<(Vec<crate::election::event::SignedEvent>, bool), StoreError> {
    let mut events = Vec::new();
    let mut more = false;
    for (device, mine) in have {
        let known = theirs.get(device).copied().unwrap_or(0);
        if *mine <= known {
            continue;
        }
        let room = limit.saturating_sub(events.len());
        if room == 0 {
            more = true;
            break;
        }
        let page = store.events_after(*device, known, room)?;
        if (page.len() as u64) < mine - known {
            more = true;
        }
        events.extend(page);
    }
    Ok((events, more))
}
