//! Printing at the table: the voter's card and any receipt, queued on the printer's own
//! thread so nothing prints under the table's lock, and the printer's state on the
//! status bar.

use super::core::{TableCore, TableError, printer_detail, printer_short};
use super::screen::Screen;
use crate::store::now_ms;

/// A receipt handed to the printer's thread, or why it could not be (no printer, the
/// card could not be made), in Danish. The error stays a `String`, like every print
/// outcome below and in the table's web API: it is the text the screen shows, and the
/// English side is logged where the failure happens (`print::spool`).
pub type Queued = Result<crate::print::spool::Ticket, String>;

impl TableCore {
    /// The voter's current card, signed by this device, ready to print.
    pub fn card(
        &self,
        voter_id: &str,
    ) -> Result<crate::print::card::Card, crate::print::PrintError> {
        let election = crate::print::card::ElectionInfo::from_store(
            &self.store,
            self.id.election_name.as_deref(),
            self.id.election_date,
        )?;
        crate::print::card::Card::current(
            &self.store,
            &election,
            voter_id,
            now_ms(),
            Some(&self.key),
        )
    }

    /// Queues the voter's current card on the receipt printer; the Danish reason when
    /// it cannot be (the card is valid all the same: print it again, or as PDF on an
    /// office printer).
    pub fn queue_card(&self, voter_id: &str) -> Queued {
        let Some(printer) = &self.id.printer else {
            return Err("bordet har ingen printer (udskriv kortet som PDF)".into());
        };
        let card = self.card(voter_id).map_err(|e| e.danish())?;
        Ok(printer.submit(card.to_receipt()))
    }

    /// Queues any receipt on the printer.
    pub fn queue(&self, receipt: crate::print::Receipt, none: &str) -> Queued {
        match &self.id.printer {
            Some(p) => Ok(p.submit(receipt)),
            None => Err(none.to_string()),
        }
    }

    /// Shows how the last print went in the status bar; `result` is a print outcome
    /// (see [`Queued`]).
    pub fn printed(&mut self, result: &Result<(), String>) -> Result<Screen, TableError> {
        if let Some(printer) = &self.id.printer {
            let st = printer.status();
            self.status.printer = printer_short(&st);
            self.status.printer_detail = printer_detail(printer, &st);
            self.status.printer_ok = st.ok && result.is_ok();
        }
        self.publish()
    }

    /// Says on the screen whether the reissued card of `name` was printed; `printed`'s
    /// error is the Danish reason the notice quotes.
    pub fn card_print_done(
        &mut self,
        name: &str,
        printed: &Result<(), String>,
    ) -> Result<Screen, TableError> {
        self.notice = Some(match printed {
            Ok(()) => {
                format!("Nyt valgkort udstedt og udskrevet til {name}. Tidligere kort er ugyldige.")
            }
            Err(why) => format!(
                "Nyt valgkort udstedt til {name} (tidligere kort er ugyldige), men IKKE udskrevet: {why}"
            ),
        });
        self.printed(printed)
    }
}
