//! The table as a sync node: what the sync client and server read from and write to.

use super::shared::{SharedCore, lock};
use crate::sync::protocol::{PushResponse, VersionVector};

/// The table as sync sees it. The clock offset is kept apart so reading the clock never
/// waits for the table lock (a long ingest would distort the skew peers measure).
pub struct TableNode {
    pub core: SharedCore,
    pub clock_offset_ms: i64,
}

impl crate::sync::node::SyncNode for TableNode {
    fn version_vector(&self) -> Result<VersionVector, crate::store::StoreError> {
        crate::sync::node::store_version_vector(lock(&self.core).store())
    }

    fn pull_page(
        &self,
        theirs: &VersionVector,
        limit: usize,
    ) -> Result<crate::sync::node::PullPage, crate::store::StoreError> {
        crate::sync::node::store_pull_page(lock(&self.core).store(), theirs, limit)
    }

    fn ingest(&self, events: &[crate::election::event::SignedEvent]) -> PushResponse {
        lock(&self.core).ingest_events(events)
    }

    fn set_peers(&self, status: Vec<crate::sync::peer_status::PeerStatus>) {
        lock(&self.core).set_peers(status)
    }

    fn wall_now(&self) -> i64 {
        crate::store::now_ms() + self.clock_offset_ms
    }

    fn fork_evidence(
        &self,
    ) -> Result<Vec<crate::election::event::ForkEvidence>, crate::store::StoreError> {
        lock(&self.core).store().fork_evidence()
    }

    fn take_fork_evidence(&self, evidence: &[crate::election::event::ForkEvidence]) {
        lock(&self.core).take_fork_evidence(evidence)
    }
}
