//! The voters the valgsekretær sent to this table without a card, in the order they
//! were sent, and the one rule about them: a sent voter leaves this table only by the
//! table's own answer (approved, cancelled, or refused by the rules), never as a side
//! effect of something else on the screen. A card scanned meanwhile, a test card or a
//! forged card puts the sent voter back at the head of the queue; the voter comes up
//! again when that is dealt with, as the next sent voter does.
//!
//! The table notes in the log what it did with each send ([`EventKind::SentVoterNoted`]),
//! so the valgsekretær's screen on any table can say where each send stands.

use super::core::TableCore;
use crate::election::event::{CheckInMethod, EventKind, SentNote};
use crate::election::official::ActedBy;

impl TableCore {
    /// A new send to this table arrived (from a peer, or made here): noted in the log as
    /// received, then shown or queued.
    pub(super) fn take_in_sent(&mut self, voter_id: &str, by: Option<ActedBy>) {
        self.note_sent(voter_id, SentNote::Received);
        if let Err(e) = self.receive_sent(voter_id, by) {
            tracing::warn!(error = %e, "voter sent to this table not shown");
        }
    }

    /// Notes what this table did with a voter sent to it. Never fails the table's own
    /// action: a note that cannot be written leaves the valgsekretær's list behind, so
    /// it is logged.
    pub(super) fn note_sent(&mut self, voter_id: &str, note: SentNote) {
        let kind = EventKind::SentVoterNoted {
            voter_id: voter_id.to_string(),
            place: self.id.place.clone(),
            table_no: self.id.table_no,
            note,
        };
        if let Err(e) = self.append(kind) {
            tracing::warn!(error = %e, ?note, "what the table did with a sent voter not noted");
        }
    }

    /// Clears the voter pending to show something else. A scanned voter is dropped (the
    /// card can be scanned again) and the notice says so; a sent voter goes back to the
    /// head of the queue, to come up again next, and the notice says that.
    pub(super) fn set_aside_pending(&mut self) {
        let Some(p) = self.pending.take() else {
            return;
        };
        if p.method != CheckInMethod::Manual {
            self.notice = Some("Forrige scanning blev annulleret.".into());
            return;
        }
        let name = self.voter_name(&p.voter_id);
        self.handed_over.push_front((p.voter_id, p.sent_by));
        self.notice = Some(format!(
            "{name}, som valgsekretæren sendte hertil, venter og vises igen, når denne vælger er færdig."
        ));
    }

    /// The table paused, closed or opened again: a voter sent here cannot wait for it,
    /// so every sent voter it holds is cancelled (noted, so the valgsekretær sees it and
    /// can send them to another table) and the notice says so.
    pub(super) fn cancel_all_sent(&mut self) {
        let pending = self
            .pending
            .take_if(|p| p.method == CheckInMethod::Manual)
            .map(|p| p.voter_id);
        let queued: Vec<String> = self.handed_over.drain(..).map(|(v, _)| v).collect();
        let all: Vec<String> = pending.into_iter().chain(queued).collect();
        for voter_id in &all {
            self.note_sent(voter_id, SentNote::Cancelled);
        }
        self.notice = match all.len() {
            0 => return,
            1 => Some(format!(
                "{} var sendt hertil af valgsekretæren og er annulleret. Valgsekretæren kan sende vælgeren til et andet bord.",
                self.voter_name(&all[0])
            )),
            n => Some(format!(
                "{n} vælgere var sendt hertil af valgsekretæren og er annulleret. Valgsekretæren kan sende dem til et andet bord."
            )),
        };
    }

    /// Whether the voter is pending here or waiting in the queue.
    pub(super) fn holds_sent(&self, voter_id: &str) -> bool {
        self.pending
            .as_ref()
            .is_some_and(|p| p.voter_id == voter_id)
            || self.handed_over.iter().any(|(v, _)| v == voter_id)
    }

    /// The next sent voter to show, skipping any who were checked in meanwhile (at
    /// another table, or by their card here): showing them would only show a refusal.
    pub(super) fn next_sent(&mut self) -> Option<(String, Option<ActedBy>)> {
        while let Some((voter_id, by)) = self.handed_over.pop_front() {
            let checked_in = match self.store.status(&voter_id) {
                Ok(s) => s.is_some_and(|s| s.active > 0),
                Err(e) => {
                    tracing::warn!(error = %e, "status of a sent voter not read; shown");
                    false
                }
            };
            if !checked_in {
                return Some((voter_id, by));
            }
            tracing::info!("a voter sent to this table was checked in meanwhile; not shown");
        }
        None
    }

    /// The voter's name for a notice (the id if the list no longer has them).
    pub(super) fn voter_name(&self, voter_id: &str) -> String {
        self.store
            .voter(voter_id)
            .ok()
            .flatten()
            .map(|v| v.full_name())
            .unwrap_or_else(|| voter_id.to_string())
    }
}
