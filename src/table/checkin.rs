//! The check-in flow: scan → decision → pending → confirm → durable check-in, and the
//! ways back to "Scan valgkortet" (cancel, dismiss). A voter the valgsekretær sends
//! without a card enters the same flow.

use super::core::{Pending, TableCore, TableError};
use super::screen::{Screen, View, VoterView, ballots_text, refusal};
use crate::election::brevstemme::Examination;
use crate::election::checkin::{CardFinding, CheckInInput, Verdict, decide, decide_for_voter};
use crate::election::contest::Contest;
use crate::election::event::{CheckInMethod, EventKind, SentNote};
use crate::election::keys::DevicePublic;
use crate::election::official::ActedBy;
use crate::print::card_payload;
use crate::signal::{Buzz, Light};
use std::collections::HashSet;
use std::time::Instant;

impl TableCore {
    /// A card was scanned.
    pub fn scan(&mut self, scanned: &str) -> Result<Screen, TableError> {
        if !self.debouncer.accept(scanned, Instant::now()) {
            // The same card read twice in a row: already on the screen.
            return self.screen();
        }
        if scanned.starts_with(super::checklist::TEST_PREFIX) && self.scanner_self_test(scanned) {
            return self.show_test_card_read(scanned);
        }
        if let Some(text) = self.history_refusal() {
            return self.refuse_while_history_missing(text);
        }
        // The QR of a card valgbord printed carries its code, signed by the printing
        // device: a forged or altered one is refused before anything is looked up.
        let qr_code;
        let code = if scanned.starts_with(card_payload::PREFIX) {
            match self.verify_card_qr(scanned) {
                Ok(c) => {
                    qr_code = c;
                    qr_code.as_str()
                }
                Err(e) => return self.refuse_forged_card(&e),
            }
        } else {
            scanned
        };
        self.notice = None;
        self.set_aside_pending();
        let (state, _) = self.store.table_state(&self.id.place, self.id.table_no)?;
        let lookup = self.store.lookup_card(code)?;
        let prior = match &lookup {
            Some(l) => self.store.status(&l.voter.id)?.map(|s| s.prior),
            None => None,
        };
        let right = match &lookup {
            Some(l) => self.other_place(&l.voter)?,
            None => OtherPlace::default(),
        };
        let finding = match &lookup {
            Some(l) => CardFinding::Voter {
                voter: &l.voter,
                superseded_at_ms: l.superseded_at_ms,
            },
            None => CardFinding::Unknown,
        };
        let mode = self.store.place_mode(&self.id.place)?.mode;
        let brevstemme = match &lookup {
            Some(l) => self.brevstemme_examination(&l.voter)?,
            None => Examination::Undecided,
        };
        let input = CheckInInput {
            table_state: state,
            place: &self.id.place,
            contests_today: &self.id.contests,
            finding,
            prior: prior.as_ref(),
            right_place_name: right.name.as_deref(),
            right_place_address: right.address.as_deref(),
            moved: right.moved,
            mode,
            table_no: self.id.table_no,
            shares: &self.id.shares,
            brevstemme,
        };
        let verdict = decide(&input);
        // Who voted when is in the signed log; the system log (which outlives `destroy`
        // on some set-ups) gets the verdict only, the voter id at debug level.
        tracing::info!(verdict = verdict_code(&verdict), "scan");
        tracing::debug!(
            voter = lookup.as_ref().map(|l| l.voter.id.as_str()).unwrap_or("-"),
            "scanned voter"
        );
        let voter = lookup.as_ref().map(|l| &l.voter);
        match verdict {
            Verdict::Admit { ballots } => {
                let v = voter
                    .ok_or_else(|| TableError::Refused("Intern fejl. Scan kortet igen.".into()))?;
                self.stage(
                    v,
                    Some(code.to_string()),
                    (CheckInMethod::Card, None),
                    ballots,
                );
            }
            other => self.refuse(&other, voter.map(|v| VoterView::new(v, self.today()))),
        }
        self.publish()
    }

    /// A test card's code was read: the scanner self-test notes it, nobody is looked up.
    fn show_test_card_read(&mut self, scanned: &str) -> Result<Screen, TableError> {
        self.set_aside_pending();
        self.view_id += 1;
        self.view = View::Ready;
        self.notice = Some(format!(
            "Scannertest: {} læst.",
            if scanned.contains("-QR-") {
                "QR-koden"
            } else {
                "stregkoden"
            }
        ));
        self.signals.light(Light::Green);
        self.publish()
    }

    /// A reserve without its table's history yet: the voter is not looked up (the
    /// answer could be wrong), and the tilforordnede are told what to do meanwhile.
    fn refuse_while_history_missing(&mut self, text: String) -> Result<Screen, TableError> {
        self.set_aside_pending();
        self.view_id += 1;
        self.view = View::Refused {
            code: "history_missing".into(),
            title: "VENT – BORDETS HISTORIK MANGLER".into(),
            detail: text,
            voter: None,
        };
        self.signals.light(Light::Red);
        self.publish()
    }

    /// For a voter of another polling place: that place's name and address, and whether
    /// a list change moved the voter there (the refusal then says so); nothing for a
    /// voter of this place.
    fn other_place(&self, voter: &crate::election::voter::Voter) -> Result<OtherPlace, TableError> {
        if voter.place == self.id.place {
            return Ok(OtherPlace::default());
        }
        Ok(OtherPlace {
            name: self.store.place_name(&voter.place)?,
            address: self.id.place_addresses.get(&voter.place).cloned(),
            moved: self.store.moved_by_list_change(&voter.id)?,
        })
    }

    /// A card QR whose signature or key does not hold: refused before any lookup.
    fn refuse_forged_card(&mut self, e: &card_payload::CardError) -> Result<Screen, TableError> {
        tracing::warn!(error = %e, "card QR refused");
        self.set_aside_pending();
        self.view_id += 1;
        self.view = View::Refused {
            code: "forged_card".into(),
            title: "FALSK VALGKORT".into(),
            detail: e.danish(),
            voter: None,
        };
        self.signals.light(Light::Red);
        self.signals.buzz(Buzz::Refused);
        self.publish()
    }

    /// An admissible voter waits for the tilforordnet's confirm: nothing is stored yet.
    fn stage(
        &mut self,
        voter: &crate::election::voter::Voter,
        card_code: Option<String>,
        (method, sent_by): (CheckInMethod, Option<ActedBy>),
        ballots: Vec<Contest>,
    ) {
        self.pending = Some(Pending {
            voter_id: voter.id.clone(),
            card_code,
            method,
            sent_by,
        });
        self.view_id += 1;
        self.view = View::Pending {
            voter: VoterView::new(voter, self.today()),
            ballots_text: ballots_text(&ballots, &self.id.contests),
            ballots,
            id_hint: (method == CheckInMethod::Manual)
                .then(|| "Bed om legitimation ved tvivl.".to_string()),
        };
        self.signals.light(Light::Pending);
    }

    /// The scanner read something that cannot be a card.
    pub fn unreadable(&mut self, why: &str) -> Result<Screen, TableError> {
        tracing::warn!(reason = why, "unreadable scan");
        self.set_aside_pending();
        self.refuse(&Verdict::UnknownCard, None);
        self.publish()
    }

    /// Stages a check-in without a card, for a voter the valgsekretær (`sent_by`) found
    /// by search.
    pub(super) fn stage_manual(
        &mut self,
        voter_id: &str,
        sent_by: Option<ActedBy>,
    ) -> Result<Screen, TableError> {
        let voter = self.store.voter(voter_id)?.ok_or_else(|| {
            TableError::Refused(
                "Vælgeren findes ikke på valglisten. Søg vælgeren frem igen.".into(),
            )
        })?;
        self.notice = None;
        self.set_aside_pending();
        let verdict = self.decide_voter(&voter)?;
        match verdict {
            Verdict::Admit { ballots } => {
                self.stage(&voter, None, (CheckInMethod::Manual, sent_by), ballots);
            }
            other => {
                self.note_sent(&voter.id, SentNote::Refused);
                self.refuse(&other, Some(VoterView::new(&voter, self.today())));
            }
        }
        self.publish()
    }

    /// Shows the refusal of a check-in without a card made at this table itself (nothing
    /// was sent, so nothing is noted), as after a scan.
    pub(super) fn refuse_without_card(
        &mut self,
        voter_id: &str,
        verdict: &Verdict,
    ) -> Result<Screen, TableError> {
        let voter = self.store.voter(voter_id)?;
        self.notice = None;
        self.set_aside_pending();
        let today = self.today();
        self.refuse(verdict, voter.map(|v| VoterView::new(&v, today)));
        self.publish()
    }

    pub(super) fn decide_voter(
        &self,
        voter: &crate::election::voter::Voter,
    ) -> Result<Verdict, TableError> {
        self.decide_voter_at(voter, self.id.table_no)
    }

    /// The verdict table `table_no` of this place would give the voter (its state as
    /// the log has it, its share in fast bordvalg).
    pub(super) fn decide_voter_at(
        &self,
        voter: &crate::election::voter::Voter,
        table_no: u32,
    ) -> Result<Verdict, TableError> {
        let (state, _) = self.store.table_state(&self.id.place, table_no)?;
        let prior = self.store.status(&voter.id)?.map(|s| s.prior);
        let right = self.other_place(voter)?;
        let mode = self.store.place_mode(&self.id.place)?.mode;
        let input = CheckInInput {
            table_state: state,
            place: &self.id.place,
            contests_today: &self.id.contests,
            finding: CardFinding::Unknown,
            prior: prior.as_ref(),
            right_place_name: right.name.as_deref(),
            right_place_address: right.address.as_deref(),
            moved: right.moved,
            mode,
            table_no,
            shares: &self.id.shares,
            brevstemme: self.brevstemme_examination(voter)?,
        };
        Ok(decide_for_voter(&input, voter, None))
    }

    /// The valgstyrere's decision in force on the voter's brevstemme (read only for a
    /// voter the list marks with one received).
    fn brevstemme_examination(
        &self,
        voter: &crate::election::voter::Voter,
    ) -> Result<Examination, TableError> {
        if !voter.brevstemme {
            return Ok(Examination::Undecided);
        }
        Ok(Examination::of(self.store.brevstemme_decision(&voter.id)?))
    }

    /// Verifies a valgbord card QR against the polling place's device keys (in test mode,
    /// against the key it claims: any device of the election, signature still checked).
    fn verify_card_qr(&self, text: &str) -> Result<String, card_payload::CardError> {
        let trusted: HashSet<DevicePublic> = match &self.id.trust.enrolment {
            Some(e) => e.authors(),
            None => card_payload::claimed_device(text).into_iter().collect(),
        };
        card_payload::verify_card_payload(text, &trusted, &self.id.election).map(|p| p.code)
    }

    /// The tilforordnet confirmed (touch, Enter, or the button): store the check-in.
    /// Returns when it is on disk; only then does the screen turn green.
    pub fn confirm(&mut self) -> Result<Screen, TableError> {
        let Some(p) = self.pending.take() else {
            if let Some((next, by)) = self.next_sent() {
                return self.stage_manual(&next, by);
            }
            self.notice = Some("Der er ingen vælger at godkende. Scan et valgkort.".into());
            return self.publish();
        };
        self.notice = None;
        let voter = self
            .store
            .voter(&p.voter_id)?
            .ok_or_else(|| TableError::Refused("Vælgeren findes ikke længere.".into()))?;
        // Decide again: another table may have checked the voter in, or a new card may
        // have been printed, while the birthdate was asked.
        let mut verdict = self.decide_voter(&voter)?;
        if let (Verdict::Admit { .. }, Some(code)) = (&verdict, &p.card_code)
            && let Some(l) = self.store.lookup_card(code)?
            && let Some(at) = l.superseded_at_ms
        {
            verdict = Verdict::CardSuperseded { reissued_at_ms: at };
        }
        let today = self.today();
        match verdict {
            Verdict::Admit { ballots } => {
                let kind = EventKind::CheckIn {
                    voter_id: voter.id.clone(),
                    place: self.id.place.clone(),
                    table_no: self.id.table_no,
                    card_code: p.card_code.clone(),
                    method: p.method,
                    ballots: ballots.clone(),
                };
                let ev = self.append(kind);
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(e) => {
                        tracing::error!(error = %e.to_string(), voter = %voter.id, "check-in NOT stored");
                        // Nothing was stored: keep the voter pending so it can be retried.
                        self.pending = Some(p);
                        self.view_id += 1;
                        self.view = View::Refused {
                            code: "store_error".into(),
                            title: "IKKE GEMT".into(),
                            detail: format!("{} Prøv igen.", e.danish()),
                            voter: Some(VoterView::new(&voter, today)),
                        };
                        self.signals.light(Light::Red);
                        self.signals.buzz(Buzz::Refused);
                        return self.publish();
                    }
                };
                tracing::info!(seq = ev.body.seq, "check-in stored");
                tracing::debug!(voter = %voter.id, "checked in");
                self.view_id += 1;
                let text = ballots_text(&ballots, &self.id.contests);
                self.view = View::Admitted {
                    voter: VoterView::new(&voter, today),
                    ballots_text: text.clone(),
                    ballots,
                };
                self.signals.light(Light::Green);
                self.signals.buzz(Buzz::Ok);
                if p.method == CheckInMethod::Manual {
                    self.card_for_voter_without_one(&voter, p.sent_by.clone());
                }
                if let Some((next, by)) = self.next_sent() {
                    // The valgsekretær sent the next voter meanwhile: shown at once, with
                    // this voter's ballots kept in the notice.
                    self.stage_manual(&next, by)?;
                    self.notice = Some(format!("Godkendt: {}. {text}", voter.full_name()));
                }
            }
            other => {
                if p.method == CheckInMethod::Manual {
                    self.note_sent(&voter.id, SentNote::Refused);
                }
                self.refuse(&other, Some(VoterView::new(&voter, today)));
            }
        }
        self.publish()
    }

    /// The page's timer ran out on a verdict ([`Screen::view_id`]): back to "Scan
    /// valgkortet", so the next voter does not read the previous one's data. Nothing
    /// happens when a newer view is shown meanwhile, or while a voter is pending (a
    /// check-in that could not be stored stays until it is retried or cancelled). A
    /// voter the valgsekretær sent, set aside for the verdict, comes up instead.
    pub fn dismiss(&mut self, view_id: u64) -> Result<Screen, TableError> {
        let verdict = matches!(self.view, View::Admitted { .. } | View::Refused { .. });
        if view_id != self.view_id || !verdict || self.pending.is_some() {
            return self.screen();
        }
        if let Some((next, by)) = self.next_sent() {
            return self.stage_manual(&next, by);
        }
        self.view_id += 1;
        self.view = View::Ready;
        self.notice = None;
        self.signals.light(Light::Off);
        self.publish()
    }

    /// The tilforordnet cancelled the voter pending (or closed a verdict): a sent voter
    /// cancelled is noted in the log, so the valgsekretær sees it and can send again.
    pub fn cancel(&mut self) -> Result<Screen, TableError> {
        let taken = self.pending.take();
        if let Some(p) = taken.as_ref().filter(|p| p.method == CheckInMethod::Manual) {
            self.note_sent(&p.voter_id, SentNote::Cancelled);
        }
        let cancelled = taken.is_some();
        if let Some((next, by)) = self.next_sent() {
            self.stage_manual(&next, by)?;
            if cancelled {
                self.notice = Some("Annulleret. Næste vælger er sendt af valgsekretæren.".into());
            }
            return self.publish();
        }
        self.notice = cancelled.then(|| "Annulleret.".to_string());
        self.view_id += 1;
        self.view = View::Ready;
        self.signals.light(Light::Off);
        self.publish()
    }

    /// The valgsekretær sent a voter without a card to this table: shown as pending,
    /// exactly as after a scan, or after the voter now pending.
    pub(super) fn receive_sent(
        &mut self,
        voter_id: &str,
        by: Option<ActedBy>,
    ) -> Result<Screen, TableError> {
        let name = self.voter_name(voter_id);
        if self.holds_sent(voter_id) {
            // Sent twice to this table: shown once (the send is noted as received).
            self.notice = Some(format!("{name} er allerede sendt til bordet og vises her."));
            return self.publish();
        }
        if self.pending.is_none() {
            return self.stage_manual(voter_id, by);
        }
        self.handed_over.push_back((voter_id.to_string(), by));
        self.notice = Some(format!(
            "Valgsekretæren har sendt {name} til bordet. Vælgeren vises, når den nuværende er godkendt eller annulleret."
        ));
        self.publish()
    }

    fn refuse(&mut self, verdict: &Verdict, voter: Option<VoterView>) {
        // A table that is not open shows nobody's data: the screen may face the queue.
        let voter = match verdict {
            Verdict::TableNotOpen { .. } => None,
            _ => voter,
        };
        let store = &self.store;
        let (code, title, detail) = refusal(verdict, |p| store.place_name(p).ok().flatten());
        self.view_id += 1;
        self.view = View::Refused {
            code,
            title,
            detail,
            voter,
        };
        self.signals.light(Light::Red);
        self.signals.buzz(Buzz::Refused);
    }
}

fn verdict_code(v: &Verdict) -> &'static str {
    match v {
        Verdict::Admit { .. } => "admit",
        Verdict::AlreadyVoted { .. } => "already_voted",
        Verdict::Brevstemme => "brevstemme",
        Verdict::BrevstemmeUndecided => "brevstemme_undecided",
        Verdict::Struck { .. } => "struck",
        Verdict::WrongPlace { .. } => "wrong_place",
        Verdict::UnknownCard => "unknown_card",
        Verdict::CardSuperseded { .. } => "card_superseded",
        Verdict::NotEntitled => "not_entitled",
        Verdict::TableNotOpen { .. } => "table_not_open",
        Verdict::OtherTable { .. } => "other_table",
        Verdict::PaperMode => "paper_mode",
    }
}

/// Where a voter of another polling place belongs, as the refusal names it.
#[derive(Default)]
struct OtherPlace {
    name: Option<String>,
    address: Option<String>,
    moved: bool,
}
