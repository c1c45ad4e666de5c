//! The valgsekretær's list of sends: each voter sent without a card, to which table,
//! when, and where it stands now, in the words the screen shows. Read from the log
//! ([`crate::store::sent_voters`]), so every table's valgsekretær screen gives the same
//! answer, after a restart too.

use super::core::{TableCore, TableError};
use super::screen::clock;
use super::secretary::Secretary;
use crate::election::event::SentNote;
use crate::store::now_ms;
use crate::store::sent_voters::{Send, SendAnswer};
use serde::Serialize;

/// A send the chosen table has not answered within this long was most likely not
/// received (the table is off or cut off): on a working LAN the answer takes well under
/// a second.
pub const NOT_RECEIVED_AFTER_MS: i64 = 5_000;

/// One send as the valgsekretær's list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SendLine {
    pub voter_id: String,
    pub name: String,
    pub table_no: u32,
    /// "HH.MM".
    pub sent_at: String,
    /// "sending", "waiting", "registered", "cancelled", "refused" or "not_received".
    pub state: &'static str,
    /// "Venter ved bord 2", "Registreret kl. 10.42 ved bord 2", …
    pub status: String,
    /// The voter may be sent again from this line (a lost or cancelled send, the
    /// voter's latest).
    pub resend: bool,
}

impl SendLine {
    fn of(s: Send, now: i64) -> SendLine {
        let n = s.table_no;
        let (state, status) = match s.answer {
            SendAnswer::Registered { table_no, at_ms } => (
                "registered",
                format!("Registreret kl. {} ved bord {table_no}", clock(at_ms)),
            ),
            SendAnswer::Noted {
                note: SentNote::Received,
                ..
            } => ("waiting", format!("Venter ved bord {n}")),
            SendAnswer::Noted {
                note: SentNote::Cancelled,
                at_ms,
            } => (
                "cancelled",
                format!("Annulleret ved bord {n} kl. {} – send igen", clock(at_ms)),
            ),
            SendAnswer::Noted {
                note: SentNote::Refused,
                at_ms,
            } => (
                "refused",
                format!("Afvist ved bord {n} kl. {} – send igen", clock(at_ms)),
            ),
            SendAnswer::Unanswered if now - s.sent_ms >= NOT_RECEIVED_AFTER_MS => {
                ("not_received", format!("Ikke modtaget af bord {n}"))
            }
            SendAnswer::Unanswered => ("sending", format!("Sendes til bord {n} …")),
        };
        SendLine {
            resend: s.latest && matches!(state, "cancelled" | "refused" | "not_received"),
            voter_id: s.voter_id,
            name: s.name,
            table_no: n,
            sent_at: clock(s.sent_ms),
            state,
            status,
        }
    }
}

impl TableCore {
    /// Every send of a voter without a card at this polling place, newest first.
    pub fn sends(&self, _by: &Secretary) -> Result<Vec<SendLine>, TableError> {
        let now = now_ms() + self.id.clock_offset_ms;
        Ok(self
            .store
            .sends(&self.id.place)?
            .into_iter()
            .map(|s| SendLine::of(s, now))
            .collect())
    }
}
