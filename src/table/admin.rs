//! Administering the table: opening, pausing and closing it, the ballot count, the
//! office's list changes, and which tables the polling place has.

use super::core::{TableCore, TableError};
use super::screen::{Screen, View};
use crate::election::checkin::TableState;
use crate::election::contest::Contest;
use crate::election::event::EventKind;
use crate::signal::Light;
use crate::store::append::Author;
use crate::store::now_ms;
use serde::Serialize;

/// What applying an office list change did, for the screen and the API.
#[derive(Debug, Clone, Serialize)]
pub struct ListChangeOutcome {
    pub serial: u64,
    pub items: usize,
    /// It was applied before (here or at another table): nothing was written.
    pub already: bool,
    /// In Danish, for the screen.
    pub text: String,
}

impl ListChangeOutcome {
    fn new(c: &crate::election::list_change::ListChange, already: bool) -> Self {
        let text = if already {
            format!("Listeændring nr. {} er allerede indlæst.", c.serial)
        } else {
            format!(
                "Listeændring nr. {} fra valgkontoret er indlæst ({} ændring{}).",
                c.serial,
                c.items.len(),
                if c.items.len() == 1 { "" } else { "er" }
            )
        };
        ListChangeOutcome {
            serial: c.serial,
            items: c.items.len(),
            already,
            text,
        }
    }
}

/// Result of a ballot count at the table.
#[derive(Debug, Clone, Serialize)]
pub struct Reconciliation {
    pub lines: Vec<ReconLine>,
    pub matches: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReconLine {
    pub contest: Contest,
    pub name: String,
    pub checkins: i64,
    pub handed_out: i64,
    pub returned: i64,
    /// Spoiled ballots exchanged for new ones (ombyttet).
    pub exchanged: i64,
    /// handed out − returned − exchanged − check-ins: 0 when everything adds up.
    pub difference: i64,
}

impl TableCore {
    /// Opens, pauses or closes the table (an event each).
    pub fn set_state(&mut self, state: TableState, reason: &str) -> Result<Screen, TableError> {
        let place = self.id.place.clone();
        let table_no = self.id.table_no;
        if state == TableState::Open {
            self.check_before_opening()?;
        }
        let kind = match state {
            TableState::Open => EventKind::TableOpened { place, table_no },
            TableState::Paused => EventKind::TablePaused { place, table_no },
            TableState::Closed => EventKind::TableClosed {
                place,
                table_no,
                reason: reason.to_string(),
            },
            TableState::NotOpened => {
                return Err(TableError::Refused("Et bord kan ikke gøres uåbnet.".into()));
            }
        };
        self.append(kind)?;
        self.view_id += 1;
        self.view = View::Ready;
        self.notice = None;
        self.cancel_all_sent();
        self.pending = None;
        self.signals.light(Light::Off);
        self.publish()
    }

    /// Compares the counted ballots with the check-ins at this table and records the
    /// count as an event.
    ///
    /// The rule, per contest: handed out = check-ins + returned + exchanged. Every
    /// check-in takes one ballot off the stack; a voter who spoils a ballot gets a new
    /// one, so each exchanged (ombyttet) ballot is one more taken off the stack that no
    /// check-in accounts for; returned ballots were taken and put back unused.
    pub fn reconcile(
        &mut self,
        handed_out: &[(Contest, u32)],
        returned: &[(Contest, u32)],
        exchanged: &[(Contest, u32)],
    ) -> Result<Reconciliation, TableError> {
        let checkins = self.store.table_ballots(&self.id.place, self.id.table_no)?;
        let get = |list: &[(Contest, u32)], c: Contest| {
            list.iter()
                .find(|(k, _)| *k == c)
                .map(|(_, n)| *n as i64)
                .unwrap_or(0)
        };
        let lines: Vec<ReconLine> = self
            .id
            .contests
            .iter()
            .map(|&c| {
                let ci = checkins
                    .iter()
                    .find(|(k, _)| *k == c)
                    .map(|(_, n)| *n)
                    .unwrap_or(0);
                let ho = get(handed_out, c);
                let re = get(returned, c);
                let ex = get(exchanged, c);
                ReconLine {
                    contest: c,
                    name: c.danish_name().into(),
                    checkins: ci,
                    handed_out: ho,
                    returned: re,
                    exchanged: ex,
                    difference: ho - re - ex - ci,
                }
            })
            .collect();
        let matches = lines.iter().all(|l| l.difference == 0);
        self.append(EventKind::BallotsReconciled {
            place: self.id.place.clone(),
            table_no: self.id.table_no,
            handed_out: handed_out.to_vec(),
            returned: returned.to_vec(),
            exchanged: exchanged.to_vec(),
        })?;
        self.notice = Some(if matches {
            "Optællingen stemmer.".into()
        } else {
            "Optællingen stemmer IKKE. Tæl stemmesedlerne igen. Bordet kan lukkes, selv om der er en forskel.".into()
        });
        self.publish()?;
        Ok(Reconciliation { lines, matches })
    }

    /// Applies an election-day list change from the office at this table; the event
    /// carries it to every other table and the central tally.
    pub fn apply_list_change(
        &mut self,
        signed: &crate::election::list_change::SignedListChange,
    ) -> Result<ListChangeOutcome, TableError> {
        use crate::store::list_changes::Applied;
        let author = Author {
            key: &self.key,
            election: &self.id.election,
            test: self.id.test,
        };
        let wall = now_ms() + self.id.clock_offset_ms;
        let outcome = match self.store.apply_list_change(&author, wall, signed)? {
            Applied::New(change, ev) => {
                if let Some(tx) = &self.on_append {
                    let _ = tx.send(ev.signed.clone());
                }
                tracing::info!(
                    serial = change.serial,
                    items = change.items.len(),
                    "voter list change applied"
                );
                ListChangeOutcome::new(&change, false)
            }
            Applied::Already(change) => {
                tracing::info!(serial = change.serial, "voter list change already applied");
                ListChangeOutcome::new(&change, true)
            }
        };
        self.notice = Some(outcome.text.clone());
        self.publish()?;
        Ok(outcome)
    }

    /// The table numbers of this polling place: this table, every table whose opening
    /// is in the log, and every table given a share for fast bordvalg.
    pub fn known_tables(&self) -> Result<Vec<u32>, TableError> {
        let mut all = self.store.tables(&self.id.place)?;
        all.push(self.id.table_no);
        all.extend(self.id.shares.iter().map(|(n, _)| *n));
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }
}
