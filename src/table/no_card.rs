//! A voter who comes without a valgkort gets one written out, as the election acts say:
//! when the table confirms a check-in without a card, it issues an erstatningsvalgkort
//! (the same card as a reissue: a new code superseding the posted one everywhere) and
//! prints it, so the pile of cards matches the check-ins and a posted card found later
//! is refused as superseded.

use super::core::{TableCore, TableError};
use super::printing::Queued;
use super::secretary::new_card_code;
use super::shared::{SharedCore, lock};
use crate::election::event::EventKind;
use crate::election::official::ActedBy;
use crate::election::voter::Voter;

impl TableCore {
    /// Issues and queues the card of a voter just checked in without one. The card is
    /// issued in the name of the official who sent the voter (`sent_by`): that is who
    /// checked the identity. Never fails the check-in, which is already stored: a card
    /// that cannot be issued is said on the screen and in the log.
    pub(super) fn card_for_voter_without_one(&mut self, voter: &Voter, sent_by: Option<ActedBy>) {
        self.card_printing = None;
        let issued = sent_by
            .ok_or_else(|| TableError::Refused("Ingen valgsekretær sendte vælgeren.".into()))
            .and_then(|by| {
                let kind = EventKind::CardReissued {
                    voter_id: voter.id.clone(),
                    new_code: new_card_code()?,
                };
                self.append_as(kind, Some(by))
            });
        match issued {
            Ok(_) => {
                tracing::info!("valgkort written out for a voter without one");
                self.card_printing = Some((voter.full_name(), self.queue_card(&voter.id)));
            }
            Err(e) => {
                tracing::error!(error = %e, "no valgkort written out for a voter without one");
                self.notice = Some(format!(
                    "Intet nyt valgkort til {}: {} Udsted det fra valgsekretærens skærm.",
                    voter.full_name(),
                    e.danish()
                ));
            }
        }
    }

    /// The card written out at the last confirm, for [`report_card_print`].
    pub fn take_card_printing(&mut self) -> Option<(String, Queued)> {
        self.card_printing.take()
    }
}

/// Waits for the print of a card written out at a confirm, off the table's lock (a
/// confirm is never held up by the printer), and says on the screen how it went.
pub fn report_card_print(core: &SharedCore, printing: Option<(String, Queued)>) {
    let Some((name, queued)) = printing else {
        return;
    };
    let core = core.clone();
    tokio::spawn(async move {
        let printed = match queued {
            Ok(ticket) => ticket.wait(crate::print::spool::WAIT).await,
            Err(why) => Err(why),
        };
        let shown =
            tokio::task::spawn_blocking(move || lock(&core).card_print_done(&name, &printed)).await;
        if let Ok(Err(e)) = shown {
            tracing::warn!(error = %e, "the card's print outcome was not shown");
        }
    });
}
