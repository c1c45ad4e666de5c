//! A voter the valgsekretær sent to this table without a card is shown here until the
//! table approves or cancels, but nothing is in the log until then. Held only in memory,
//! a restart of the table (a power cut, a crash) would forget the voter silently while
//! the valgsekretær believes them sent. So the table keeps the voters it holds in its
//! database (the meta table, not the log: nothing has happened yet) and shows them
//! again when it starts.

use super::core::{Sent, TableCore, TableError};
use crate::election::event::CheckInMethod;
use crate::store::meta::MetaKey;

impl TableCore {
    /// The sent voters this table holds now: the one pending, when it was sent rather
    /// than scanned, then those waiting behind it.
    fn sent_held(&self) -> Vec<Sent> {
        self.pending
            .iter()
            .filter(|p| p.method == CheckInMethod::Manual)
            .map(|p| (p.voter_id.clone(), p.sent_by.clone()))
            .chain(self.handed_over.iter().cloned())
            .collect()
    }

    /// Writes the voters held when they changed since last written (the screen is
    /// rebuilt far more often than a voter is sent). A failed write is logged and
    /// tried again at the next rebuild; the screen still shows the voters.
    pub(super) fn keep_sent(&mut self) {
        let text = match serde_json::to_string(&self.sent_held()) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "voters sent to this table not kept");
                return;
            }
        };
        if self.sent_kept.as_deref() == Some(text.as_str()) {
            return;
        }
        match self.store.set_meta(MetaKey::SentHere, &text) {
            Ok(()) => self.sent_kept = Some(text),
            Err(e) => tracing::error!(error = %e, "voters sent to this table not kept"),
        }
    }

    /// At the table's start: shows again the voters sent here before a restart that are
    /// not checked in since, the first as pending and the others behind it.
    pub(super) fn restore_sent(&mut self) -> Result<(), TableError> {
        let Some(text) = self.store.meta(MetaKey::SentHere)? else {
            return Ok(());
        };
        let held: Vec<Sent> = match serde_json::from_str(&text) {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, "voters sent to this table before the restart unreadable");
                return Ok(());
            }
        };
        let mut shown = 0;
        for (voter_id, by) in held {
            let checked_in = self.store.status(&voter_id)?.is_some_and(|s| s.active > 0);
            if checked_in {
                continue;
            }
            self.receive_sent(&voter_id, by)?;
            shown += 1;
        }
        if shown > 0 {
            tracing::info!(
                voters = shown,
                "voters sent to this table shown again after a restart"
            );
            self.notice = Some(match shown {
                1 => {
                    "Vælgeren, som valgsekretæren sendte hertil før genstarten, vises igen.".into()
                }
                n => format!(
                    "De {n} vælgere, som valgsekretæren sendte hertil før genstarten, vises igen én ad gangen."
                ),
            });
        }
        Ok(())
    }
}
