//! The central's background work while it runs: turnout snapshots when they are due and
//! keeping the write-ahead log small. Started by the composition layer
//! (`app/central.rs`).

use super::Central;
use super::node::CentralNode;
use crate::store::wal::Checkpointer;
use std::sync::Arc;
use std::time::Duration;

/// Takes each scheduled snapshot when its time comes (checked twice a second, so a
/// moved test clock is noticed at once).
pub async fn snapshot_clock(central: Arc<Central>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let c = central.clone();
        match tokio::task::spawn_blocking(move || c.take_due()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                central
                    .node
                    .metrics
                    .errors
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::error!(error = %e, "turnout snapshot NOT taken");
            }
            Err(e) => tracing::error!(error = %e, "snapshot task failed"),
        }
    }
}

/// Keeps the write-ahead log small without holding up pushes: twice a second a round of
/// [`Checkpointer::keep_small`] on a connection of its own, holding the node's writer
/// only for the last short copy.
pub async fn checkpointer(db: std::path::PathBuf, node: Arc<CentralNode>) {
    let checkpointer = match Checkpointer::open(&db) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            tracing::error!(error = %e, "no checkpoint connection; the WAL will grow");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (c, node) = (checkpointer.clone(), node.clone());
        let r = tokio::task::spawn_blocking(move || c.keep_small(|| node.writer())).await;
        if let Ok(Err(e)) = r {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}
