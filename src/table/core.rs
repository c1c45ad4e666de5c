//! The table: scan → decision → screen → confirm → durable check-in.
//!
//! Everything that changes the table goes through [`TableCore`], under one lock, so a
//! scan, a button press and an API call can never interleave halfway.

use super::screen::{
    DoubleRegistration, Screen, StatusBar, View, VoterView, ballots_text, refusal,
};
use super::secretary::Secretary;
use crate::election::checkin::{
    CardFinding, CheckInInput, TableState, Verdict, decide, decide_for_voter,
};
use crate::election::contest::Contest;
use crate::election::event::{CheckInMethod, EventKind, SignedEvent, Trust};
use crate::election::keys::{DevicePublic, DeviceSecret};
use crate::print::card_payload;
use crate::scan::clean::Debouncer;
use crate::signal::{Buzz, Light, Signals};
use crate::store::append::{Author, Ingested};
use crate::store::{Store, StoreError, now_ms};
use crate::sync::client::{PeerAsker, PeerState, PeerStatus};
use crate::sync::protocol::PushResponse;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A scan waiting for the tilforordnet to confirm.
#[derive(Debug, Clone)]
struct Pending {
    voter_id: String,
    card_code: Option<String>,
    method: CheckInMethod,
}

/// A receipt handed to the printer's thread, or why it could not be (no printer, the
/// card could not be made), in Danish.
pub type Queued = Result<crate::print::spool::Ticket, String>;

/// Identity and settings of this table.
pub struct TableIdentity {
    pub election: String,
    pub test: bool,
    pub place: String,
    pub table_no: u32,
    pub contests: Vec<Contest>,
    pub pin_hash: Option<String>,
    pub debounce: Duration,
    /// Which device keys and election incoming events must match.
    pub trust: Trust,
    /// Added to the wall clock (test mode: a table whose clock is off).
    pub clock_offset_ms: i64,
    /// The receipt printer, when the table has one, on its own thread: nothing prints
    /// under the table's lock.
    pub printer: Option<crate::print::spool::Spool>,
    /// Name and date printed on cards.
    pub election_name: Option<String>,
    pub election_date: Option<chrono::NaiveDate>,
    /// Each table's share of the list in fast bordvalg.
    pub shares: Vec<(u32, crate::election::place_mode::Share)>,
}

pub struct TableCore {
    store: Store,
    key: DeviceSecret,
    pub(super) id: TableIdentity,
    pub(super) place_name: String,
    pending: Option<Pending>,
    /// Voters the valgsekretær sent to this table while another voter was pending: each
    /// is shown when the one before is approved or cancelled.
    handed_over: std::collections::VecDeque<String>,
    debouncer: Debouncer,
    view: View,
    /// Bumped with every view shown: see [`Screen::view_id`].
    view_id: u64,
    pub(super) notice: Option<String>,
    version: u64,
    status: StatusBar,
    signals: Arc<dyn Signals>,
    screen_tx: watch::Sender<Screen>,
    /// New local events go here, to be pushed to the peers at once.
    on_append: Option<tokio::sync::mpsc::UnboundedSender<SignedEvent>>,
    pub(super) peers: Vec<PeerStatus>,
    /// Asks the other tables now (the sync client's handle); `None` without sync.
    pub(super) asker: Option<PeerAsker>,
    /// The polling place's mode at the last publish, to notice a switch.
    pub(super) last_mode: Option<crate::election::place_mode::PlaceMode>,
    /// What the scanner and printer self-tests have shown since start.
    pub(super) self_test: super::checklist::SelfTest,
    /// When the screen was last built, and whether events from peers have changed it
    /// since: a busy polling place pushes each table dozens of events a second, and
    /// building the screen (counts over the list) for each would cost more than the
    /// events themselves. See [`TableCore::publish_soon`].
    last_publish: Option<std::time::Instant>,
    publish_pending: bool,
    /// The place's electorate, with the number of list changes it was counted at: it
    /// changes only with a list change.
    eligible: std::cell::Cell<Option<(i64, i64)>>,
}

/// Events from peers rebuild the screen at most this often (the rest wait for
/// [`TableCore::flush_publish`]); a scan or confirm here always rebuilds it at once.
pub const PUBLISH_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A refusal of the request itself (wrong PIN, missing reason); Danish, for people.
    #[error("{0}")]
    Refused(String),
}

impl TableError {
    pub fn danish(&self) -> String {
        match self {
            TableError::Store(e) => e.danish(),
            TableError::Refused(m) => m.clone(),
        }
    }
}

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
    /// handed out − returned − check-ins: 0 when everything adds up.
    pub difference: i64,
}

impl TableCore {
    pub fn new(
        store: Store,
        key: DeviceSecret,
        id: TableIdentity,
        signals: Arc<dyn Signals>,
    ) -> Result<(TableCore, watch::Receiver<Screen>), TableError> {
        let place_name = store
            .place_name(&id.place)?
            .unwrap_or_else(|| id.place.clone());
        let debounce = id.debounce;
        let (printer, printer_ok, printer_detail) = match &id.printer {
            Some(p) => {
                let st = p.status();
                (printer_short(&st), st.ok, printer_detail(p, &st))
            }
            None => ("ingen printer".to_string(), false, String::new()),
        };
        let status = StatusBar {
            scanner: "ingen scanner".into(),
            printer,
            printer_ok,
            printer_detail,
            peers: "ingen andre borde".into(),
            peers_ok: true,
            central: "ikke opsat".into(),
            signals: signals.describe(),
            ..Default::default()
        };
        let mut core = TableCore {
            store,
            key,
            id,
            place_name,
            pending: None,
            handed_over: std::collections::VecDeque::new(),
            debouncer: Debouncer::new(debounce),
            view: View::Ready,
            view_id: 0,
            notice: None,
            version: 0,
            status,
            signals,
            screen_tx: watch::channel(placeholder_screen()).0,
            on_append: None,
            peers: Vec::new(),
            asker: None,
            last_mode: None,
            self_test: Default::default(),
            last_publish: None,
            publish_pending: false,
            eligible: std::cell::Cell::new(None),
        };
        let first = core.build_screen()?;
        let (tx, rx) = watch::channel(first);
        core.screen_tx = tx;
        Ok((core, rx))
    }

    pub fn device(&self) -> DevicePublic {
        self.key.public()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    fn today(&self) -> chrono::NaiveDate {
        chrono::Local::now().date_naive()
    }

    /// A card was scanned.
    pub fn scan(&mut self, scanned: &str) -> Result<Screen, TableError> {
        if !self.debouncer.accept(scanned, Instant::now()) {
            // The same card read twice in a row: already on the screen.
            return self.screen();
        }
        if scanned.starts_with(super::checklist::TEST_PREFIX) && self.scanner_self_test(scanned) {
            self.pending = None;
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
            return self.publish();
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
                Err(e) => {
                    tracing::warn!(error = %e, "card QR refused");
                    self.pending = None;
                    self.view_id += 1;
                    self.view = View::Refused {
                        code: "forged_card".into(),
                        title: "FALSK VALGKORT".into(),
                        detail: e.danish(),
                        voter: None,
                    };
                    self.signals.light(Light::Red);
                    self.signals.buzz(Buzz::Refused);
                    return self.publish();
                }
            }
        } else {
            scanned
        };
        self.notice = self
            .pending
            .take()
            .map(|_| "Forrige scanning blev annulleret.".to_string());
        let (state, _) = self.store.table_state(&self.id.place, self.id.table_no)?;
        let lookup = self.store.lookup_card(code)?;
        let prior = match &lookup {
            Some(l) => self.store.status(&l.voter.id)?.map(|s| s.prior),
            None => None,
        };
        let right_place = match &lookup {
            Some(l) if l.voter.place != self.id.place => self.store.place_name(&l.voter.place)?,
            _ => None,
        };
        let finding = match &lookup {
            Some(l) => CardFinding::Voter {
                voter: &l.voter,
                superseded_at_ms: l.superseded_at_ms,
            },
            None => CardFinding::Unknown,
        };
        let mode = self.store.place_mode(&self.id.place)?.mode;
        let input = CheckInInput {
            table_state: state,
            place: &self.id.place,
            contests_today: &self.id.contests,
            finding,
            prior: prior.as_ref(),
            right_place_name: right_place.as_deref(),
            mode,
            table_no: self.id.table_no,
            shares: &self.id.shares,
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
                let v = voter.ok_or_else(|| TableError::Refused("intern fejl".into()))?;
                self.stage(v, Some(code.to_string()), CheckInMethod::Card, ballots);
            }
            other => self.refuse(&other, voter.map(|v| VoterView::new(v, self.today()))),
        }
        self.publish()
    }

    /// An admissible voter waits for the tilforordnet's confirm: nothing is stored yet.
    fn stage(
        &mut self,
        voter: &crate::election::voter::Voter,
        card_code: Option<String>,
        method: CheckInMethod,
        ballots: Vec<Contest>,
    ) {
        self.pending = Some(Pending {
            voter_id: voter.id.clone(),
            card_code,
            method,
        });
        self.view_id += 1;
        self.view = View::Pending {
            voter: VoterView::new(voter, self.today()),
            ballots_text: ballots_text(&ballots, &self.id.contests),
            ballots,
        };
        self.signals.light(Light::Pending);
    }

    /// The scanner read something that cannot be a card.
    pub fn unreadable(&mut self, why: &str) -> Result<Screen, TableError> {
        tracing::warn!(reason = why, "unreadable scan");
        self.pending = None;
        self.refuse(&Verdict::UnknownCard, None);
        self.publish()
    }

    /// Stages a check-in without a card, for a voter the valgsekretær found by search.
    pub fn stage_manual(&mut self, voter_id: &str) -> Result<Screen, TableError> {
        let voter = self
            .store
            .voter(voter_id)?
            .ok_or_else(|| TableError::Refused(format!("Vælger {voter_id} findes ikke.")))?;
        self.notice = self
            .pending
            .take()
            .map(|_| "Forrige scanning blev annulleret.".to_string());
        let verdict = self.decide_voter(&voter)?;
        match verdict {
            Verdict::Admit { ballots } => {
                self.stage(&voter, None, CheckInMethod::Manual, ballots);
            }
            other => self.refuse(&other, Some(VoterView::new(&voter, self.today()))),
        }
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
        let right_place = if voter.place != self.id.place {
            self.store.place_name(&voter.place)?
        } else {
            None
        };
        let mode = self.store.place_mode(&self.id.place)?.mode;
        let input = CheckInInput {
            table_state: state,
            place: &self.id.place,
            contests_today: &self.id.contests,
            finding: CardFinding::Unknown,
            prior: prior.as_ref(),
            right_place_name: right_place.as_deref(),
            mode,
            table_no,
            shares: &self.id.shares,
        };
        Ok(decide_for_voter(&input, voter, None))
    }

    /// Verifies a valgbord card QR against the polling place's device keys (in test mode,
    /// against the key it claims: any device of the election, signature still checked).
    fn verify_card_qr(&self, text: &str) -> Result<String, card_payload::CardError> {
        let trusted: HashSet<DevicePublic> = match &self.id.trust.keys {
            Some(keys) => keys.clone(),
            None => card_payload::claimed_device(text).into_iter().collect(),
        };
        card_payload::verify_card_payload(text, &trusted, &self.id.election).map(|p| p.code)
    }

    /// The tilforordnet confirmed (touch, Enter, or the button): store the check-in.
    /// Returns when it is on disk; only then does the screen turn green.
    pub fn confirm(&mut self) -> Result<Screen, TableError> {
        let Some(p) = self.pending.take() else {
            if let Some(next) = self.handed_over.pop_front() {
                return self.stage_manual(&next);
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
                if let Some(next) = self.handed_over.pop_front() {
                    // The valgsekretær sent the next voter meanwhile: shown at once, with
                    // this voter's ballots kept in the notice.
                    self.stage_manual(&next)?;
                    self.notice = Some(format!("Godkendt: {}. {text}", voter.full_name()));
                }
            }
            other => self.refuse(&other, Some(VoterView::new(&voter, today))),
        }
        self.publish()
    }

    /// The page's timer ran out on a verdict ([`Screen::view_id`]): back to "Scan
    /// valgkortet", so the next voter does not read the previous one's data. Nothing
    /// happens when a newer view is shown meanwhile, or while a voter is pending (a
    /// check-in that could not be stored stays until it is retried or cancelled).
    pub fn dismiss(&mut self, view_id: u64) -> Result<Screen, TableError> {
        let verdict = matches!(self.view, View::Admitted { .. } | View::Refused { .. });
        if view_id != self.view_id || !verdict || self.pending.is_some() {
            return self.screen();
        }
        self.view_id += 1;
        self.view = View::Ready;
        self.notice = None;
        self.signals.light(Light::Off);
        self.publish()
    }

    pub fn cancel(&mut self) -> Result<Screen, TableError> {
        let cancelled = self.pending.take().is_some();
        if let Some(next) = self.handed_over.pop_front() {
            self.stage_manual(&next)?;
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
    pub(super) fn receive_sent(&mut self, voter_id: &str) -> Result<Screen, TableError> {
        if self.pending.is_none() {
            return self.stage_manual(voter_id);
        }
        let name = self
            .store
            .voter(voter_id)?
            .map(|v| v.full_name())
            .unwrap_or_else(|| voter_id.to_string());
        self.handed_over.push_back(voter_id.to_string());
        self.notice = Some(format!(
            "Valgsekretæren har sendt {name} til bordet. Vælgeren vises, når den nuværende er godkendt eller annulleret."
        ));
        self.publish()
    }

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
        self.pending = None;
        self.view_id += 1;
        self.view = View::Ready;
        self.notice = None;
        self.signals.light(Light::Off);
        self.publish()
    }

    /// Compares the counted ballots with the check-ins at this table and records the
    /// count as an event.
    pub fn reconcile(
        &mut self,
        handed_out: &[(Contest, u32)],
        returned: &[(Contest, u32)],
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
                ReconLine {
                    contest: c,
                    name: c.danish_name().into(),
                    checkins: ci,
                    handed_out: ho,
                    returned: re,
                    difference: ho - re - ci,
                }
            })
            .collect();
        let matches = lines.iter().all(|l| l.difference == 0);
        self.append(EventKind::BallotsReconciled {
            place: self.id.place.clone(),
            table_no: self.id.table_no,
            handed_out: handed_out.to_vec(),
            returned: returned.to_vec(),
        })?;
        self.notice = Some(if matches {
            "Optællingen stemmer.".into()
        } else {
            "Optællingen stemmer IKKE. Bordet kan lukkes, mens forskellen findes.".into()
        });
        self.publish()?;
        Ok(Reconciliation { lines, matches })
    }

    /// Undoes a voter's check-in (valgsekretær PIN and a reason required).
    pub fn undo(
        &mut self,
        voter_id: &str,
        reason: &str,
        _by: &Secretary,
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
            .ok_or_else(|| TableError::Refused("Vælgeren findes ikke på listen.".into()))?;
        let status = self
            .store
            .status(voter_id)?
            .ok_or_else(|| TableError::Refused(format!("{name} er ikke registreret som mødt.")))?;
        let target = DevicePublic::from_hex(&status.device).map_err(StoreError::Invalid)?;
        self.append(EventKind::CheckInUndone {
            voter_id: voter_id.to_string(),
            target_device: target,
            target_seq: status.seq,
            reason: reason.trim().to_string(),
        })?;
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
        _by: &Secretary,
    ) -> Result<(String, String, Queued), TableError> {
        let voter = self
            .store
            .voter(voter_id)?
            .ok_or_else(|| TableError::Refused(format!("Vælger {voter_id} findes ikke.")))?;
        let new_code = new_card_code().map_err(TableError::Refused)?;
        self.append(EventKind::CardReissued {
            voter_id: voter.id.clone(),
            new_code: new_code.clone(),
        })?;
        tracing::info!("valgkort reissued");
        let queued = self.queue_card(&voter.id);
        self.notice = Some(format!(
            "Nyt valgkort udstedt til {}. Tidligere kort er ugyldige. Kortet udskrives …",
            voter.full_name()
        ));
        self.publish()?;
        Ok((new_code, voter.full_name(), queued))
    }

    /// Says on the screen whether the reissued card of `name` was printed.
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

    /// Shows how the last print went in the status bar.
    pub fn printed(&mut self, result: &Result<(), String>) -> Result<Screen, TableError> {
        if let Some(printer) = &self.id.printer {
            let st = printer.status();
            self.status.printer = printer_short(&st);
            self.status.printer_detail = printer_detail(printer, &st);
            self.status.printer_ok = st.ok && result.is_ok();
        }
        self.publish()
    }

    pub fn set_scanner_status(&mut self, ok: bool, detail: &str) -> Result<Screen, TableError> {
        self.status.scanner = detail.to_string();
        self.status.scanner_ok = ok;
        self.publish()
    }

    pub(super) fn append(
        &mut self,
        kind: EventKind,
    ) -> Result<crate::election::event::VerifiedEvent, TableError> {
        let author = Author {
            key: &self.key,
            election: &self.id.election,
            test: self.id.test,
        };
        let ev = self
            .store
            .append_local(&author, now_ms() + self.id.clock_offset_ms, kind)?;
        if let Some(tx) = &self.on_append {
            let _ = tx.send(ev.signed.clone());
        }
        Ok(ev)
    }

    pub fn table_no(&self) -> u32 {
        self.id.table_no
    }

    pub fn place(&self) -> &str {
        &self.id.place
    }

    pub fn contests(&self) -> &[Contest] {
        &self.id.contests
    }

    /// This table's wall clock (with the test-mode offset).
    pub fn wall_now(&self) -> i64 {
        now_ms() + self.id.clock_offset_ms
    }

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
                    } else {
                        tracing::warn!(error = %e, "event from peer rejected");
                    }
                    r.rejected.push(e.to_string());
                }
            }
        }
        for voter_id in sent {
            tracing::info!("voter without card sent to this table");
            if let Err(e) = self.receive_sent(&voter_id) {
                tracing::warn!(error = %e, "voter sent to this table not shown");
            }
        }
        if r.added > 0 {
            self.publish_soon();
        }
        r
    }

    /// The voter of a [`EventKind::ManualCheckInSent`] to this table (the cheap text
    /// test first: a busy place ingests thousands of other events).
    fn sent_here(&self, ev: &SignedEvent) -> Option<String> {
        if !ev.body.contains("\"manual_check_in_sent\"") {
            return None;
        }
        let body: crate::election::event::EventBody = serde_json::from_str(&ev.body).ok()?;
        match body.kind {
            EventKind::ManualCheckInSent {
                voter_id,
                place,
                table_no,
            } if place == self.id.place && table_no == self.id.table_no => Some(voter_id),
            _ => None,
        }
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
                    "{up} af {} forbundet — {}",
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
            text.push_str(&format!(" — ikke forbundet: {}", lost.join(", ")));
        }
        if !wrong.is_empty() {
            text.push_str(&format!(" — forkert opsætning: {}", wrong.join("; ")));
        }
        // A clock more than 2 s off breaks nothing (the hybrid clock keeps the order),
        // but times on screens and in reports would be wrong: say so.
        let skewed: Vec<String> = peers
            .iter()
            .filter(|p| p.state == PeerState::Connected && p.clock_skew_ms.abs() > 2_000)
            .map(|p| format!("{} ({:+} s)", p.name(), p.clock_skew_ms / 1000))
            .collect();
        if !skewed.is_empty() {
            text.push_str(&format!(" — URET AFVIGER: {}", skewed.join(", ")));
        }
        self.status.peers = text;
        self.status.peers_ok = connected == peers.len() && skewed.is_empty();
        let same = self.status == shown
            && self.peers.len() == peers.len()
            && self.peers.iter().zip(&peers).all(|(a, b)| a.shows_as(b));
        self.peers = peers;
        if !same {
            let _ = self.publish();
        }
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

    /// Persons checked in at more than one table and not yet resolved, with every
    /// check-in in force: shown on every screen of the polling place.
    pub(super) fn double_registration_list(&self) -> Result<Vec<DoubleRegistration>, TableError> {
        let mut out = Vec::new();
        for voter_id in self.store.double_registrations(&self.id.place)? {
            let name = self
                .store
                .voter(&voter_id)?
                .map(|v| v.full_name())
                .unwrap_or_default();
            let at = self
                .store
                .active_checkins(&voter_id)?
                .into_iter()
                .map(|(table_no, wall)| {
                    format!("bord {table_no} kl. {}", super::screen::clock(wall))
                })
                .collect();
            out.push(DoubleRegistration { voter_id, name, at });
        }
        Ok(out)
    }

    /// The screen as it is now, without publishing.
    pub fn screen(&self) -> Result<Screen, TableError> {
        Ok(self.screen_tx.borrow().clone())
    }

    /// Rebuilds the screen and pushes it to every open browser.
    pub fn publish(&mut self) -> Result<Screen, TableError> {
        self.version += 1;
        self.last_publish = Some(std::time::Instant::now());
        self.publish_pending = false;
        let s = self.build_screen()?;
        self.on_mode_seen(s.mode.mode);
        self.screen_tx.send_replace(s.clone());
        Ok(s)
    }

    /// The place's electorate, counted again only after a list change.
    fn eligible(&self) -> Result<i64, TableError> {
        let changes = self.store.list_change_count()?;
        if let Some((at, n)) = self.eligible.get()
            && at == changes
        {
            return Ok(n);
        }
        let n = self.store.voter_count(Some(&self.id.place))?;
        self.eligible.set(Some((changes, n)));
        Ok(n)
    }

    fn build_screen(&self) -> Result<Screen, TableError> {
        let (state, _) = self.store.table_state(&self.id.place, self.id.table_no)?;
        Ok(Screen {
            version: self.version,
            place: self.id.place.clone(),
            place_name: self.place_name.clone(),
            table_no: self.id.table_no,
            table_state: state,
            table_state_text: state.danish().into(),
            table_state_sentence: state.sentence().into(),
            view: self.view.clone(),
            view_id: self.view_id,
            contests: self
                .id
                .contests
                .iter()
                .map(|c| super::screen::ContestView {
                    code: c.code().to_string(),
                    name: c.danish_name().to_string(),
                })
                .collect(),
            notice: self.notice.clone(),
            checkins_here: self
                .store
                .checkins_at_table(&self.id.place, self.id.table_no)?,
            persons_checked_in: self.store.persons_checked_in(&self.id.place)?,
            eligible: self.eligible()?,
            status: self.status.clone(),
            test_mode: self.id.test,
            double_registrations: self.double_registration_list()?,
            peers: self.peers.clone(),
            mode: self.mode_banner()?,
        })
    }
}

/// A replacement card code: "VB" and 12 random digits, so it can never collide with
/// the national system's numbering by accident and people see it came from valgbord.
fn new_card_code() -> Result<String, String> {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).map_err(|e| format!("Ingen tilfældighedskilde: {e}"))?;
    Ok(format!(
        "VB{:012}",
        u64::from_le_bytes(b) % 1_000_000_000_000
    ))
}

/// The printer in a few Danish words for the status bar; the device and its path go
/// behind "Detaljer" ([`printer_detail`]).
fn printer_short(st: &crate::print::PrinterStatus) -> String {
    if st.ok {
        if st.text.contains("simuleret") {
            "simuleret (intet papir)".into()
        } else {
            "klar".into()
        }
    } else if st.text.starts_with("Printer mangler") {
        "ikke fundet — se Detaljer i menuen".into()
    } else {
        "fejl — se Detaljer i menuen".into()
    }
}

fn printer_detail(p: &crate::print::spool::Spool, st: &crate::print::PrinterStatus) -> String {
    format!("{} · {}", p.describe(), st.text)
}

fn verdict_code(v: &Verdict) -> &'static str {
    match v {
        Verdict::Admit { .. } => "admit",
        Verdict::AlreadyVoted { .. } => "already_voted",
        Verdict::Brevstemme => "brevstemme",
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

fn placeholder_screen() -> Screen {
    Screen {
        version: 0,
        place: String::new(),
        place_name: String::new(),
        table_no: 0,
        table_state: TableState::NotOpened,
        table_state_text: String::new(),
        table_state_sentence: String::new(),
        view: View::Ready,
        view_id: 0,
        contests: Vec::new(),
        notice: None,
        checkins_here: 0,
        persons_checked_in: 0,
        eligible: 0,
        status: StatusBar::default(),
        test_mode: false,
        double_registrations: Vec::new(),
        peers: Vec::new(),
        mode: Default::default(),
    }
}
