//! The valgsekretær's work at a table: find a voter without a card, check them in at a
//! chosen table, issue a replacement valgkort, undo a check-in, resolve a double
//! registration, enter the paper marks.
//!
//! Every such action needs a [`Secretary`], which only a [`PinCheck`] makes (from the
//! PIN): the compiler, not a convention, keeps these actions behind the PIN. The check
//! is copied out of the core and run without the table's lock, because argon2 is slow
//! on purpose and scans must not wait for someone typing PINs.

use super::core::{TableCore, TableError};
use super::pin_attempts::PinGate;
use super::printing::Queued;
use super::screen::{Screen, View, VoterView, clock};
use crate::election::checkin::Verdict;
use crate::election::event::EventKind;
use crate::election::keys::DevicePublic;
use crate::election::official::{ActedBy, Official, OfficialRole};
use crate::store::StoreError;
use crate::store::search::SearchQuery;
use serde::Serialize;
use std::sync::Arc;

/// Proof that an official's personal PIN was given, naming who gave it: the
/// valgsekretær or a valgstyrer (who may do all the valgsekretær may). The role is kept
/// so duties of one role alone can be checked later.
#[derive(Debug)]
pub struct Secretary {
    by: ActedBy,
}

impl Secretary {
    /// Who acted, for the log and the events.
    pub fn who(&self) -> &str {
        &self.by.name
    }

    pub fn role(&self) -> OfficialRole {
        self.by.role
    }

    /// Who acted, as the events of the action name it.
    pub fn acted_by(&self) -> ActedBy {
        self.by.clone()
    }
}

/// What checking a PIN needs, copied out of the table core under its lock so that the
/// check itself (argon2) runs without it.
#[derive(Debug, Clone)]
pub struct PinCheck {
    officials: Vec<Official>,
    gate: Arc<PinGate>,
}

impl PinCheck {
    /// Checks `name`'s `pin`: one check at a time per table, within the table's attempt
    /// limits (so spreading guesses over names gains nothing). A name that is not an
    /// official's is refused as a wrong PIN, after the same argon2 run, and counts as
    /// an attempt: the refusal does not tell which of the two was wrong. Blocks for the
    /// argon2 run; never call it while holding the table's lock.
    pub fn verify(&self, name: &str, pin: &str) -> Result<Secretary, TableError> {
        let Some(first) = self.officials.first() else {
            return Err(TableError::Refused(
                "Der er ikke sat PIN-koder for valgsekretær og valgstyrere på dette bord.".into(),
            ));
        };
        let found = self.officials.iter().find(|o| o.name == name.trim());
        let hash = &found.unwrap_or(first).pin_hash;
        let checked = self.gate.attempt(|| {
            let right = crate::password::verify_pin(pin, hash);
            right && found.is_some()
        });
        match (checked, found) {
            (Ok(()), Some(o)) => Ok(Secretary {
                by: ActedBy {
                    name: o.name.clone(),
                    role: o.role,
                },
            }),
            (Ok(()), None) => Err(TableError::Refused("Forkert PIN.".into())),
            (Err(refusal), _) => {
                tracing::warn!(name = name.trim(), "{}", refusal.english);
                Err(TableError::Refused(refusal.danish))
            }
        }
    }

    /// The officials' names and roles, for the screen's buttons (never the hashes).
    pub fn names(&self) -> Vec<ActedBy> {
        self.officials
            .iter()
            .map(|o| ActedBy {
                name: o.name.clone(),
                role: o.role,
            })
            .collect()
    }
}

/// One search result as the valgsekretær sees it.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub voter: VoterView,
    pub place: String,
    pub place_name: String,
    /// This polling place's list holds the voter.
    pub here: bool,
    /// "Har stemt ved bord 2 kl. 10.42", "Brevstemme modtaget", "Slettet: død", "Ikke stemt".
    pub status: String,
    pub may_vote: bool,
    /// Has a check-in that can be undone.
    pub checked_in: bool,
    /// Checked in at two tables and not yet resolved.
    pub double_registration: bool,
    /// "Løst kl. 10.52": a double registration the valgsekretær resolved.
    pub resolved: Option<String>,
    /// The card in force (a reissued one, or the posted one).
    pub card_code: String,
    pub contests: String,
}

/// A search and, when it found nobody, what to tell the valgsekretær.
#[derive(Debug, Clone, Serialize)]
pub struct SearchReport {
    pub hits: Vec<SearchHit>,
    /// "Intet fundet for: Tvaergade. …" when nothing was found.
    pub message: Option<String>,
}

impl TableCore {
    /// What checking an official's PIN needs; run [`PinCheck::verify`] after
    /// releasing the table's lock.
    pub fn pin_check(&self) -> PinCheck {
        PinCheck {
            officials: self.id.officials.clone(),
            gate: self.pin_gate.clone(),
        }
    }

    /// Checks an official's PIN here and now, for a command that holds the core on its
    /// own (no screen, no lock to keep free).
    pub fn authorize(&self, name: &str, pin: &str) -> Result<Secretary, TableError> {
        self.pin_check().verify(name, pin)
    }

    /// Searches the whole municipality list by any mix of name, birthdate and address.
    pub fn search(&self, text: &str, by: &Secretary) -> Result<Vec<SearchHit>, TableError> {
        Ok(self.search_report(text, by)?.hits)
    }

    /// A search, and when it finds nobody, which words found nothing ("Intet fundet
    /// for: …"), in Danish for the screen.
    pub fn search_report(&self, text: &str, _by: &Secretary) -> Result<SearchReport, TableError> {
        let hits = self.search_hits(text)?;
        let message = if hits.is_empty() && !text.trim().is_empty() {
            let unmatched = self.store().unmatched_words(text, None)?;
            Some(crate::store::search::nothing_found_text(&unmatched))
        } else {
            None
        };
        Ok(SearchReport { hits, message })
    }

    fn search_hits(&self, text: &str) -> Result<Vec<SearchHit>, TableError> {
        let q = SearchQuery::parse_free(text);
        let today = chrono::Local::now().date_naive();
        let store = self.store();
        let mut out = Vec::new();
        for v in store.search(&q, 30)? {
            let status = store.status(&v.id)?;
            let (text, may_vote) = if let Some(reason) = &v.struck {
                (format!("Slettet af valglisten: {reason}"), false)
            } else if let Some(brev) = self.brevstemme_stops(&v)? {
                (brev.to_string(), false)
            } else if let Some(s) = &status {
                (
                    format!(
                        "Har stemt ved bord {} kl. {}",
                        s.prior.table_no,
                        clock(s.prior.wall_ms)
                    ),
                    false,
                )
            } else if v.place != self.id.place {
                ("Hører til et andet valgsted".to_string(), false)
            } else {
                ("Ikke stemt".to_string(), true)
            };
            let active = status.as_ref().map(|s| s.active).unwrap_or(0);
            let resolved = if active > 1 {
                store
                    .double_resolved_at(&v.id, active)?
                    .map(|at| format!("Løst kl. {}", clock(at)))
            } else {
                None
            };
            let text = match &resolved {
                Some(r) => format!("{text} · Dobbeltregistrering {}", r.to_lowercase()),
                None => text,
            };
            out.push(SearchHit {
                place_name: store
                    .place_name(&v.place)?
                    .unwrap_or_else(|| v.place.clone()),
                here: v.place == self.id.place,
                double_registration: active > 1 && resolved.is_none(),
                resolved,
                checked_in: status.is_some(),
                card_code: store.current_card(&v)?,
                contests: crate::election::contest::format_contests(&v.contests),
                place: v.place.clone(),
                status: text,
                may_vote,
                voter: VoterView::new(&v, today),
            });
        }
        Ok(out)
    }

    /// Sends a voter who has no card to a table of this place, where the ballots are
    /// handed out: that table shows the voter as pending, with the same verdict and the
    /// same approve/cancel as after a scan. The identity was checked by the valgsekretær
    /// (birthdate, address). A table number that is not a table of the place is refused:
    /// nothing is sent to a table that does not exist. Returns the verdict the chosen
    /// table gives and the voter's name.
    pub fn send_without_card(
        &mut self,
        voter_id: &str,
        table_no: u32,
        by: &Secretary,
    ) -> Result<(Verdict, String), TableError> {
        self.known_table(table_no)?;
        let voter = self.store().voter(voter_id)?.ok_or_else(|| {
            TableError::Refused(
                "Vælgeren findes ikke på valglisten. Søg vælgeren frem igen.".into(),
            )
        })?;
        let verdict = self.decide_voter_at(&voter, table_no)?;
        if verdict.is_admit() {
            self.append_as(
                EventKind::ManualCheckInSent {
                    voter_id: voter.id.clone(),
                    place: self.id.place.clone(),
                    table_no,
                },
                Some(by.acted_by()),
            )?;
            tracing::info!(table = table_no, "voter without card sent to a table");
            if table_no == self.id.table_no {
                self.take_in_sent(&voter.id, Some(by.acted_by()));
            }
        }
        Ok((verdict, voter.full_name()))
    }

    /// A check-in without a card at this table itself (`POST /api/manual`): sent as by
    /// [`Self::send_without_card`], so the log says the valgsekretær sent the voter; a
    /// refusal is shown on this table's screen with its reason.
    pub fn stage_without_card(
        &mut self,
        voter_id: &str,
        by: &Secretary,
    ) -> Result<Screen, TableError> {
        let (verdict, _) = self.send_without_card(voter_id, self.id.table_no, by)?;
        if verdict.is_admit() {
            return self.screen();
        }
        self.refuse_without_card(voter_id, &verdict)
    }

    /// Refuses a table number that is no table of this place (a typo must not make a
    /// table the central then shows).
    fn known_table(&self, table_no: u32) -> Result<(), TableError> {
        let tables = self.known_tables()?;
        if tables.contains(&table_no) {
            return Ok(());
        }
        let list = tables
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        Err(TableError::Refused(format!(
            "Bord {table_no} findes ikke på {}. Vælg et af bordene: {list}.",
            self.place_name
        )))
    }

    /// Undoes a voter's check-in found by search; returns the sentence naming the voter.
    pub fn undo_checkin(
        &mut self,
        voter_id: &str,
        reason: &str,
        by: &Secretary,
    ) -> Result<String, TableError> {
        self.undo(voter_id, reason, by)?;
        Ok(self.notice.clone().unwrap_or_default())
    }

    /// Closes a double registration with the valgsekretær's note (for the afstemningsbog).
    pub fn resolve_double(
        &mut self,
        voter_id: &str,
        note: &str,
        by: &Secretary,
    ) -> Result<(), TableError> {
        if note.trim().is_empty() {
            return Err(TableError::Refused(
                "Skriv en bemærkning om, hvordan dobbeltregistreringen er løst.".into(),
            ));
        }
        let active = self
            .store()
            .status(voter_id)?
            .map(|s| s.active)
            .unwrap_or(0);
        if active < 2 {
            return Err(TableError::Refused(
                "Vælgeren er ikke dobbeltregistreret. Der er intet at løse.".into(),
            ));
        }
        if let Some(at) = self.store().double_resolved_at(voter_id, active)? {
            return Err(TableError::Refused(format!(
                "Dobbeltregistreringen er allerede løst kl. {}. Der er intet at gøre.",
                clock(at)
            )));
        }
        self.append_as(
            EventKind::DoubleRegistrationResolved {
                voter_id: voter_id.to_string(),
                note: note.trim().to_string(),
                checkins: Some(active),
            },
            Some(by.acted_by()),
        )?;
        self.publish()?;
        Ok(())
    }
}

/// What entering the paper list's marks did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct PaperReport {
    /// Marks entered as paper registrations.
    pub entered: Vec<String>,
    /// Voters marked on paper who were also checked in digitally (or on paper before):
    /// both registrations stay and are flagged for the valgsekretær.
    pub conflicts: Vec<PaperConflict>,
    /// List numbers that are not on this polling place's list.
    pub unknown: Vec<u32>,
    /// Marks refused by the rules (brevstemme, struck): for the afstemningsbog.
    pub refused: Vec<PaperConflict>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PaperConflict {
    pub list_no: u32,
    pub voter_id: String,
    pub name: String,
    pub reason: String,
}

impl TableCore {
    /// Enters the voters marked on the paper valgliste during a fallback, by list number,
    /// as paper registrations with the time span of the fallback. A mark is never
    /// dropped: a person also checked in digitally is entered too and shows as a
    /// conflict (a double registration to resolve); brevstemmer and struck voters are
    /// reported, not entered.
    pub fn enter_paper_marks(
        &mut self,
        list_nos: &[u32],
        table_no: u32,
        from_ms: i64,
        to_ms: i64,
        by: &Secretary,
    ) -> Result<PaperReport, TableError> {
        if to_ms < from_ms {
            return Err(TableError::Refused(
                "Papirperiodens slutning ligger før dens begyndelse.".into(),
            ));
        }
        self.known_table(table_no)?;
        let mut report = PaperReport::default();
        for &n in list_nos {
            let Some(v) = self.store().voter_by_list_no(&self.id.place, n)? else {
                report.unknown.push(n);
                continue;
            };
            let conflict = |reason: String| PaperConflict {
                list_no: n,
                voter_id: v.id.clone(),
                name: v.full_name(),
                reason,
            };
            if let Some(reason) = &v.struck {
                report
                    .refused
                    .push(conflict(format!("slettet af listen: {reason}")));
                continue;
            }
            if let Some(brev) = self.brevstemme_stops(&v)? {
                report.refused.push(conflict(brev.to_lowercase()));
                continue;
            }
            let prior = self.store().status(&v.id)?;
            self.append_as(
                EventKind::PaperRegistration {
                    voter_id: v.id.clone(),
                    place: self.id.place.clone(),
                    table_no,
                    fallback_from_ms: from_ms,
                    fallback_to_ms: to_ms,
                },
                Some(by.acted_by()),
            )?;
            match prior {
                Some(p) => report.conflicts.push(conflict(format!(
                    "også registreret ved bord {} kl. {}",
                    p.prior.table_no,
                    clock(p.prior.wall_ms)
                ))),
                None => report.entered.push(v.id.clone()),
            }
        }
        tracing::info!(
            entered = report.entered.len(),
            conflicts = report.conflicts.len(),
            "paper marks entered"
        );
        self.publish()?;
        Ok(report)
    }
}

impl TableCore {
    /// Undoes a voter's check-in (valgsekretær PIN and a reason required).
    pub fn undo(
        &mut self,
        voter_id: &str,
        reason: &str,
        by: &Secretary,
    ) -> Result<Screen, TableError> {
        if reason.trim().is_empty() {
            return Err(TableError::Refused(
                "Angiv en årsag til fortrydelsen.".into(),
            ));
        }
        let name = self
            .store
            .voter(voter_id)?
            .map(|v| v.full_name())
            .ok_or_else(|| {
                TableError::Refused(
                    "Vælgeren findes ikke på valglisten. Søg vælgeren frem igen.".into(),
                )
            })?;
        let status = self.store.status(voter_id)?.ok_or_else(|| {
            TableError::Refused(format!(
                "{name} er ikke registreret som mødt. Der er ingen registrering at fortryde."
            ))
        })?;
        let target = DevicePublic::from_hex(&status.device)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.append_as(
            EventKind::CheckInUndone {
                voter_id: voter_id.to_string(),
                target_device: target,
                target_seq: status.seq,
                reason: reason.trim().to_string(),
            },
            Some(by.acted_by()),
        )?;
        self.notice = Some(format!("Registreringen af {name} er fortrudt."));
        self.view_id += 1;
        self.view = View::Ready;
        self.publish()
    }

    /// Issues a replacement valgkort: a new code that supersedes every earlier card of
    /// the voter on every table. The new card is queued on the printer; the caller
    /// waits for it outside the table's lock and reports with [`Self::card_print_done`].
    /// Returns the new code, the voter's name and the queued print.
    pub fn reissue_card(
        &mut self,
        voter_id: &str,
        by: &Secretary,
    ) -> Result<(String, String, Queued), TableError> {
        let voter = self.store.voter(voter_id)?.ok_or_else(|| {
            TableError::Refused(
                "Vælgeren findes ikke på valglisten. Søg vælgeren frem igen.".into(),
            )
        })?;
        self.here_or_refused(&voter.place)?;
        let new_code = new_card_code()?;
        self.append_as(
            EventKind::CardReissued {
                voter_id: voter.id.clone(),
                new_code: new_code.clone(),
            },
            Some(by.acted_by()),
        )?;
        tracing::info!(
            by = by.who(),
            role = by.role().danish(),
            "valgkort reissued"
        );
        let queued = self.queue_card(&voter.id);
        self.notice = Some(format!(
            "Nyt valgkort udstedt til {}. Tidligere kort er ugyldige. Kortet udskrives …",
            voter.full_name()
        ));
        self.publish()?;
        Ok((new_code, voter.full_name(), queued))
    }
}

impl TableCore {
    /// Refuses a voter of another polling place: a card issued here would reach only
    /// this place's tables, so at the voter's own place the old card would stay valid
    /// and the new one read as forged.
    fn here_or_refused(&self, place: &str) -> Result<(), TableError> {
        if place == self.id.place {
            return Ok(());
        }
        let name = self
            .store
            .place_name(place)?
            .unwrap_or_else(|| place.to_string());
        tracing::warn!(
            voter_place = place,
            "card reissue refused: the voter belongs to another polling place"
        );
        Err(TableError::Refused(format!(
            "Vælgeren hører til {name} (valgsted {place}); send vælgeren dertil. Der er ikke udstedt et nyt valgkort."
        )))
    }
}

/// A replacement card code: "VB" and 12 random digits, so it can never collide with
/// the national system's numbering by accident and people see it came from valgbord.
pub(super) fn new_card_code() -> Result<String, TableError> {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).map_err(|e| {
        tracing::error!("no random source for a card code: {e}");
        TableError::Refused("Intern fejl: der kunne ikke laves en kortkode. Prøv igen.".into())
    })?;
    Ok(format!(
        "VB{:012}",
        u64::from_le_bytes(b) % 1_000_000_000_000
    ))
}
