//! Switching the polling place between frit bordvalg, fast bordvalg and papir, as the
//! valgsekretær does when the LAN splits or the system fails; the banner every screen
//! shows; and the sign each table prints when fast bordvalg starts, so voters queue at
//! the right table.

use super::core::{TableCore, TableError};
use super::screen::{DoubleRegistration, ModeBanner};
use super::secretary::Secretary;
use crate::election::event::EventKind;
use crate::election::place_mode::{PlaceMode, Share};
use crate::print::receipt::{Align, Item, Receipt, Size};
use crate::sync::client::{ASK_DEADLINE, Asked, PeerAsker};
use crate::sync::peer_status::PeerState;
use serde::Serialize;

/// The answer to a switch.
#[derive(Debug, Clone, Serialize)]
pub struct ModeSwitch {
    pub mode: PlaceMode,
    /// Danish, for the screen.
    pub text: String,
    /// Back in frit bordvalg: people registered at two tables meanwhile, to resolve.
    pub conflicts: Vec<DoubleRegistration>,
}

impl TableCore {
    fn my_share(&self) -> Option<&Share> {
        self.id
            .shares
            .iter()
            .find(|(n, _)| *n == self.id.table_no)
            .map(|(_, s)| s)
    }

    pub(super) fn mode_banner(&self) -> Result<ModeBanner, TableError> {
        let m = self.store().place_mode(&self.id.place)?;
        let text = match m.mode {
            PlaceMode::Frit => String::new(),
            PlaceMode::Fast => match self.my_share() {
                Some(s) => format!("FAST BORDVALG · dette bord: {s}"),
                None => "FAST BORDVALG · dette bord har ingen andel af listen".into(),
            },
            PlaceMode::Papir => "PAPIRLISTER · registrér på den trykte valgliste".into(),
        };
        Ok(ModeBanner {
            mode: m.mode,
            text,
            reason: m.reason,
        })
    }

    /// The handle to ask the other tables with, when switching to `mode` needs them
    /// asked first: back to frit bordvalg from another mode, not forced, with peers.
    /// The asking happens outside the table lock ([`PeerAsker::ask_tables`]), and its
    /// answers go to [`Self::set_place_mode`].
    pub fn asker_for(&self, mode: PlaceMode, force: bool) -> Result<Option<PeerAsker>, TableError> {
        if mode != PlaceMode::Frit || force {
            return Ok(None);
        }
        if self.store().place_mode(&self.id.place)?.mode == PlaceMode::Frit {
            return Ok(None);
        }
        Ok(self.asker.clone())
    }

    /// Why this table cannot yet go back to frit bordvalg, from what every other table
    /// answered when asked just now: one that did not answer, or one that holds
    /// registrations this table lacks. Empty when consolidated. (A time of last contact
    /// is no evidence here: on a quiet network it is as old as the last answer, and a
    /// link that broke a moment ago must not pass as connected.) `None`: the tables
    /// could not be asked.
    fn not_consolidated(&self, asked: Option<&[Asked]>) -> Vec<String> {
        let Some(asked) = asked else {
            if self.peers.is_empty() {
                return Vec::new();
            }
            return vec![
                "de andre borde kunne ikke spørges (forbindelsen til dem kører ikke)".into(),
            ];
        };
        asked
            .iter()
            .filter(|a| !a.status.central)
            .filter_map(|a| {
                let p = &a.status;
                let name = p.name();
                if a.silent {
                    return Some(format!(
                        "{name} svarede ikke inden for {} sekunder",
                        ASK_DEADLINE.as_secs()
                    ));
                }
                match &p.state {
                    PeerState::Connected if p.we_lack == 0 => None,
                    PeerState::Connected => Some(format!(
                        "{name} har {} registreringer, dette bord mangler",
                        p.we_lack
                    )),
                    PeerState::Lost => Some(format!("{name} er ikke forbundet")),
                    PeerState::WrongConfig(why) => Some(format!("{name}: {why}")),
                }
            })
            .collect()
    }

    /// The valgsekretær switches the polling place's mode. Back to frit bordvalg only
    /// when every other table answered just now (`asked`, see [`Self::asker_for`]) and
    /// nothing is missing (unless `force`), and the answer lists the double
    /// registrations made meanwhile.
    pub fn set_place_mode(
        &mut self,
        mode: PlaceMode,
        reason: &str,
        force: bool,
        by: &Secretary,
        asked: Option<&[Asked]>,
    ) -> Result<ModeSwitch, TableError> {
        let current = self.store().place_mode(&self.id.place)?.mode;
        if mode == PlaceMode::Fast && self.my_share().is_none() {
            return Err(TableError::Refused(
                "Fast bordvalg er ikke sat op for dette bord: opsætningen mangler bordets del af listen. Ring til valgkontoret."
                    .into(),
            ));
        }
        if mode == PlaceMode::Frit && current != PlaceMode::Frit && !force {
            let missing = self.not_consolidated(asked);
            if !missing.is_empty() {
                return Err(TableError::Refused(format!(
                    "Kan ikke vende tilbage til frit bordvalg endnu: {}. Vent, til alle borde er forbundet og ajour, eller gennemtving skiftet.",
                    missing.join("; ")
                )));
            }
        }
        if mode != current {
            let reason = if force && mode == PlaceMode::Frit {
                format!("{reason} (gennemtvunget)")
            } else {
                reason.to_string()
            };
            self.append_as(
                EventKind::PlaceModeChanged {
                    place: self.id.place.clone(),
                    mode,
                    reason,
                },
                Some(by.acted_by()),
            )?;
            tracing::warn!(
                from = current.code(),
                to = mode.code(),
                "polling place mode switched"
            );
        }
        let conflicts = if mode == PlaceMode::Frit {
            self.double_registration_list()?
        } else {
            Vec::new()
        };
        let text = match mode {
            PlaceMode::Frit if conflicts.is_empty() => {
                "Frit bordvalg igen. Alle borde er ajour; ingen dobbeltregistreringer.".to_string()
            }
            PlaceMode::Frit => format!(
                "Frit bordvalg igen. {} dobbeltregistrering{} skal afklares.",
                conflicts.len(),
                if conflicts.len() == 1 { "" } else { "er" }
            ),
            PlaceMode::Fast => "Fast bordvalg: hvert bord tager kun sin del af listen.".into(),
            PlaceMode::Papir => "Papirlister: registrér på de trykte valglister.".into(),
        };
        self.notice = Some(text.clone());
        self.publish()?;
        Ok(ModeSwitch {
            mode,
            text,
            conflicts,
        })
    }

    /// Called on every publish: when fast bordvalg has just begun (here or at another
    /// table), this table prints its sign.
    pub(super) fn on_mode_seen(&mut self, mode: PlaceMode) {
        if self.last_mode == Some(mode) {
            return;
        }
        let first = self.last_mode.is_none();
        self.last_mode = Some(mode);
        if first || mode != PlaceMode::Fast {
            return;
        }
        if let Some(printer) = &self.id.printer {
            // Never waited for: a failure is logged, and the A4 signs are there as PDF.
            printer.submit(self.sign()).detach();
        }
    }

    /// The polling place's name and every table's share, for the A4 signs.
    pub fn fast_shares(&self) -> (String, Vec<(u32, Share)>) {
        (self.place_name.clone(), self.id.shares.clone())
    }

    /// The sign for fast bordvalg: which voters this table takes, in large letters.
    pub fn sign(&self) -> Receipt {
        let mut r = Receipt::new("Skilt: fast bordvalg");
        r.styled("FAST BORDVALG", Size::Double, true, Align::Center);
        r.push(Item::Feed(1));
        r.styled(
            format!("BORD {}", self.id.table_no),
            Size::Double,
            true,
            Align::Center,
        );
        match self.my_share() {
            Some(s) => {
                r.styled(
                    s.to_string().to_uppercase(),
                    Size::Double,
                    true,
                    Align::Center,
                );
            }
            None => {
                r.centered("Dette bord har ingen andel af listen");
            }
        }
        for (n, s) in &self.id.shares {
            if *n != self.id.table_no {
                r.centered(format!("Bord {n}: {s}"));
            }
        }
        r.push(Item::Feed(1));
        r.centered(self.place_name.clone());
        r.push(Item::Cut);
        r
    }
}
