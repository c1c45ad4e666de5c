//! The table's side of sync: events from peers taken in (and the screen rebuilt for
//! them at a bounded rate), new local events handed to the sync client, and the peers'
//! status on the status bar.

use super::core::{HistoryGate, PUBLISH_EVERY, TableCore};
use crate::election::event::{EventKind, SignedEvent};
use crate::store::StoreError;
use crate::store::append::Ingested;
use crate::sync::client::PeerAsker;
use crate::sync::peer_status::{PeerState, PeerStatus};
use crate::sync::protocol::PushResponse;

impl TableCore {
    /// Sends every new local event to `tx` (the sync client).
    pub fn set_append_hook(&mut self, tx: tokio::sync::mpsc::UnboundedSender<SignedEvent>) {
        self.on_append = Some(tx);
    }

    /// Lets a switch back to frit bordvalg ask the other tables through the sync client.
    pub fn set_peer_asker(&mut self, asker: PeerAsker) {
        self.asker = Some(asker);
    }

    /// Takes in events from a peer, in order. Each is verified (signature, key, election,
    /// chain); a refused one is logged and reported, never silently dropped.
    pub fn ingest_events(&mut self, events: &[SignedEvent]) -> PushResponse {
        let mut r = PushResponse {
            added: 0,
            duplicates: 0,
            rejected: Vec::new(),
        };
        let mut sent = Vec::new();
        let mut forked = false;
        for (ev, result) in events
            .iter()
            .zip(self.store.ingest_many(events, &self.id.trust))
        {
            match result {
                Ok(Ingested::Added) => {
                    r.added += 1;
                    if let Some(voter_id) = self.sent_here(ev) {
                        sent.push(voter_id);
                    }
                }
                Ok(Ingested::Duplicate) => r.duplicates += 1,
                Err(e) => {
                    // A gap is normal when a push overtakes a lost one (the next pull
                    // fills it); anything else is an attack or a fault worth a warning.
                    if matches!(e, StoreError::Gap { .. }) {
                        tracing::debug!(error = %e, "event from peer not yet in order");
                    } else if matches!(e, StoreError::Equivocation { .. }) {
                        // Logged at error level once by the store; shown on the screen.
                        forked = true;
                    } else if matches!(e, StoreError::BrokenChain { .. }) {
                        // A signed event that does not follow the one held is a fork
                        // too: the store kept the evidence; the screen must show it.
                        tracing::warn!(error = %e, "event from peer rejected");
                        forked = true;
                    } else if matches!(e, StoreError::Forked { .. }) {
                        // Each pull offers the refused events again: already on screen.
                        tracing::debug!(error = %e, "event of a forked device refused");
                    } else {
                        tracing::warn!(error = %e, "event from peer rejected");
                    }
                    r.rejected.push(e.to_string());
                }
            }
        }
        for (voter_id, by) in sent {
            tracing::info!("voter without card sent to this table");
            self.take_in_sent(&voter_id, by);
        }
        if forked {
            let _ = self.publish();
        } else if r.added > 0 {
            self.publish_soon();
        }
        r
    }

    /// Takes in a peer's proofs of forked logs; a newly forked device goes on the screen.
    pub fn take_fork_evidence(&mut self, evidence: &[crate::election::event::ForkEvidence]) {
        match self.store.take_fork_evidence(evidence, &self.id.trust) {
            Ok(0) => {}
            Ok(_) => {
                let _ = self.publish();
            }
            Err(e) => tracing::warn!(error = %e, "fork evidence from a peer not stored"),
        }
    }

    /// The voter of a [`EventKind::ManualCheckInSent`] to this table and who sent them (the cheap text
    /// test first: a busy place ingests thousands of other events).
    fn sent_here(&self, ev: &SignedEvent) -> Option<super::core::Sent> {
        if !ev.body.contains("\"manual_check_in_sent\"") {
            return None;
        }
        let body: crate::election::event::EventBody = serde_json::from_str(&ev.body).ok()?;
        match body.kind {
            EventKind::ManualCheckInSent {
                voter_id,
                place,
                table_no,
            } if place == self.id.place && table_no == self.id.table_no => {
                Some((voter_id, body.by))
            }
            _ => None,
        }
    }

    /// Rebuilds the screen for events from peers: at once when it was last built more
    /// than [`PUBLISH_EVERY`] ago, otherwise at the next [`Self::flush_publish`].
    fn publish_soon(&mut self) {
        if self
            .last_publish
            .is_some_and(|t| t.elapsed() < PUBLISH_EVERY)
        {
            self.publish_pending = true;
        } else {
            let _ = self.publish();
        }
    }

    /// Rebuilds the screen if events from peers changed it since it was last built;
    /// the daemon calls this every [`PUBLISH_EVERY`].
    pub fn flush_publish(&mut self) {
        if self.publish_pending {
            let _ = self.publish();
        }
    }

    /// Shows (or clears) a flood of the sync port on the status bar.
    pub fn set_sync_flood(&mut self, text: Option<String>) {
        if self.status.sync_flood != text {
            self.status.sync_flood = text;
            let _ = self.publish();
        }
    }

    /// New status of the peers (and of the central tally, when configured), for the
    /// status bar. It comes with every answer a peer gives, so the last contact kept here
    /// is current; the screen is rebuilt only when what it shows changed (a rebuild
    /// counts over the list, and answers come several times a second).
    pub fn set_peers(&mut self, all: Vec<PeerStatus>) {
        let shown = self.status.clone();
        let (central, peers): (Vec<PeerStatus>, Vec<PeerStatus>) =
            all.into_iter().partition(|p| p.central);
        let central_text = |c: &PeerStatus| match (&c.state, c.last_contact_ms) {
            (PeerState::Connected, _) if c.they_lack > 0 => {
                format!("forbundet, sender {}", c.they_lack)
            }
            (PeerState::Connected, _) => "forbundet".to_string(),
            (PeerState::WrongConfig(why), _) => format!("forkert opsætning: {why}"),
            (PeerState::Lost, Some(t)) => {
                format!("ikke forbundet (sidst kl. {})", super::screen::clock(t))
            }
            (PeerState::Lost, None) => "ikke forbundet".into(),
        };
        if !central.is_empty() {
            let up = central
                .iter()
                .filter(|c| c.state == PeerState::Connected)
                .count();
            self.status.central_ok = up == central.len();
            self.status.central = match central.as_slice() {
                [one] => central_text(one),
                // Two centrals (an office that cannot lose its tally): each by address.
                all => format!(
                    "{up} af {} forbundet – {}",
                    all.len(),
                    all.iter()
                        .map(|c| format!("{}: {}", c.name(), central_text(c)))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            };
        }
        let connected = peers
            .iter()
            .filter(|p| p.state == PeerState::Connected)
            .count();
        let lacking: u64 = peers
            .iter()
            .filter(|p| p.state == PeerState::Connected)
            .map(|p| p.we_lack)
            .max()
            .unwrap_or(0);
        let wrong: Vec<String> = peers
            .iter()
            .filter_map(|p| match &p.state {
                PeerState::WrongConfig(why) => Some(format!("{}: {why}", p.name())),
                _ => None,
            })
            .collect();
        let lost: Vec<String> = peers
            .iter()
            .filter(|p| p.state == PeerState::Lost)
            .map(PeerStatus::name)
            .collect();
        let mut text = format!("{connected} af {} forbundet", peers.len());
        if lacking > 0 {
            text.push_str(&format!(", henter {lacking}"));
        }
        // Which tables, so the valgsekretær knows where to look.
        if !lost.is_empty() {
            text.push_str(&format!(" – ikke forbundet: {}", lost.join(", ")));
        }
        if !wrong.is_empty() {
            text.push_str(&format!(" – forkert opsætning: {}", wrong.join("; ")));
        }
        // A clock more than 2 s off breaks nothing (the hybrid clock keeps the order),
        // but times on screens and in reports would be wrong: say so.
        let skewed: Vec<String> = peers
            .iter()
            .filter(|p| p.state == PeerState::Connected && p.clock_skew_ms.abs() > 2_000)
            .map(|p| format!("{} ({:+} s)", p.name(), p.clock_skew_ms / 1000))
            .collect();
        if !skewed.is_empty() {
            text.push_str(&format!(" – URET AFVIGER: {}", skewed.join(", ")));
        }
        self.status.peers = text;
        self.status.peers_ok = connected == peers.len() && skewed.is_empty();
        let gate = self.history;
        self.history = history_after(gate, peers.iter().chain(&central), self.id.table_no);
        let same = self.status == shown
            && self.history == gate
            && self.peers.len() == peers.len()
            && self.peers.iter().zip(&peers).all(|(a, b)| a.shows_as(b));
        self.peers = peers;
        if !same {
            let _ = self.publish();
        }
    }
}

/// The gate after the peers' latest answers. A table of the place, or the central tally
/// (which is sent all of the place's events), that answered a pull and has nothing this
/// table lacks has given it all it has of table N (the status is taken after the pulled
/// events were stored), so a waiting table may write from now.
fn history_after<'a>(
    gate: HistoryGate,
    peers: impl Iterator<Item = &'a PeerStatus> + Clone,
    table_no: u32,
) -> HistoryGate {
    let HistoryGate::Fetching { own, .. } = gate else {
        return gate;
    };
    let answered = |p: &&PeerStatus| p.state == PeerState::Connected && p.table_no.is_some();
    if peers.clone().filter(answered).any(|p| p.we_lack == 0) {
        tracing::info!(
            table_no,
            "this table's history is here from a peer of the place; writing from now on"
        );
        return HistoryGate::Open;
    }
    HistoryGate::Fetching {
        unanswered: !peers.clone().any(|p| answered(&p)),
        own,
    }
}
