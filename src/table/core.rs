//! The table's state and its screen: [`TableCore`] and what it is built from, the one
//! place the screen is rebuilt and published, and the one way a local event is written.
//!
//! Everything that changes the table goes through [`TableCore`], under one lock, so a
//! scan, a button press and an API call can never interleave halfway. Its actions live
//! in files of their own, each an `impl TableCore` that uses this file one way: the
//! check-in flow (`checkin`), the table's administration (`admin`), the valgsekretær's
//! actions (`secretary`, `place_mode`), printing (`printing`), sync (`peers`) and the
//! checklist (`checklist`). This file imports none of them.

use super::screen::{DoubleRegistration, Screen, StatusBar, View};
use crate::election::checkin::TableState;
use crate::election::contest::Contest;
use crate::election::event::{CheckInMethod, EventKind, SignedEvent, Trust};
use crate::election::keys::{DevicePublic, DeviceSecret};
use crate::election::official::ActedBy;
use crate::scan::clean::Debouncer;
use crate::signal::Signals;
use crate::store::append::Author;
use crate::store::{Store, StoreError, now_ms};
use crate::sync::client::PeerAsker;
use crate::sync::peer_status::PeerStatus;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A scan waiting for the tilforordnet to confirm.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub(super) voter_id: String,
    pub(super) card_code: Option<String>,
    pub(super) method: CheckInMethod,
    /// The official who sent a voter without a card: the card written out for the
    /// voter at the confirm is issued in their name.
    pub(super) sent_by: Option<ActedBy>,
}

/// A voter the valgsekretær sent to this table, and who sent them.
pub(super) type Sent = (String, Option<ActedBy>);

/// Identity and settings of this table.
pub struct TableIdentity {
    pub election: String,
    pub test: bool,
    pub place: String,
    pub table_no: u32,
    pub contests: Vec<Contest>,
    /// The valgsekretær and the valgstyrere, with their PIN hashes.
    pub officials: Vec<crate::election::official::Official>,
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
    /// Where the device key lives: beside it the table notes that the key has written
    /// (`store::keyfile::mark_written`), so a table whose database was deleted while its
    /// key stayed waits for its own history ([`HistoryGate`]). `None`: no such note (the
    /// in-process benchmark).
    pub key_path: Option<std::path::PathBuf>,
    /// Each polling place's street address by place id (from the package; may be empty).
    pub place_addresses: std::collections::BTreeMap<String, String>,
}

/// What the scanner self-test has seen since the daemon started.
#[derive(Debug, Clone, Default)]
pub struct SelfTest {
    pub qr: bool,
    pub code128: bool,
    /// The last test print on the receipt printer, if any: Ok or the Danish reason (a
    /// `String` on purpose: it is the text the self-test screen shows).
    pub printer: Option<Result<(), String>>,
}

pub struct TableCore {
    pub(super) store: Store,
    pub(super) key: DeviceSecret,
    pub(super) id: TableIdentity,
    pub(super) place_name: String,
    pub(super) pending: Option<Pending>,
    /// Voters the valgsekretær sent to this table while another voter was pending: each
    /// is shown when the one before is approved or cancelled.
    pub(super) handed_over: std::collections::VecDeque<Sent>,
    /// The sent voters as last kept in the database ([`Self::keep_sent`]).
    pub(super) sent_kept: Option<String>,
    /// The card written out at the last confirm of a voter without one, while its
    /// print is not yet waited for: (the voter's name, the queued print).
    pub(super) card_printing: Option<(String, Result<crate::print::spool::Ticket, String>)>,
    pub(super) debouncer: Debouncer,
    pub(super) view: View,
    /// Bumped with every view shown: see [`Screen::view_id`].
    pub(super) view_id: u64,
    pub(super) notice: Option<String>,
    pub(super) version: u64,
    pub(super) status: StatusBar,
    pub(super) signals: Arc<dyn Signals>,
    pub(super) screen_tx: watch::Sender<Screen>,
    /// New local events go here, to be pushed to the peers at once.
    pub(super) on_append: Option<tokio::sync::mpsc::UnboundedSender<SignedEvent>>,
    pub(super) peers: Vec<PeerStatus>,
    /// Asks the other tables now (the sync client's handle); `None` without sync.
    pub(super) asker: Option<PeerAsker>,
    /// The polling place's mode at the last publish, to notice a switch.
    pub(super) last_mode: Option<crate::election::place_mode::PlaceMode>,
    /// What the scanner and printer self-tests have shown since start.
    pub(super) self_test: SelfTest,
    /// When the screen was last built, and whether events from peers have changed it
    /// since: a busy polling place pushes each table dozens of events a second, and
    /// building the screen (counts over the list) for each would cost more than the
    /// events themselves. See [`TableCore::publish_soon`].
    pub(super) last_publish: Option<std::time::Instant>,
    pub(super) publish_pending: bool,
    /// The place's electorate, with the number of list changes it was counted at: it
    /// changes only with a list change.
    pub(super) eligible: std::cell::Cell<Option<(i64, i64)>>,
    /// The valgsekretær PIN's attempt limits, shared with checks running off the lock.
    pub(super) pin_gate: Arc<super::pin_attempts::PinGate>,
    /// Whether this table may write yet: see [`HistoryGate`].
    pub(super) history: HistoryGate,
    /// The key has written events (here or in a database since deleted): noted beside
    /// the key file at the first event.
    pub(super) key_has_written: bool,
}

/// A reserve standing in for table N starts with none of table N's events: were it to
/// admit voters before it has them, a voter table N admitted could vote again here. So
/// it writes nothing until a table of its place has answered a pull with nothing left
/// to fetch (the peers' side is in `peers.rs`). A table whose key has written before but
/// whose database holds none of its events (the database deleted or replaced, the key
/// kept) waits likewise: its next event would otherwise be number 1 again, a second
/// version of a log its peers hold. Ordinary tables start `Open`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HistoryGate {
    Open,
    /// `unanswered`: the peers have been tried and no table answered. `own`: the
    /// table's own key has written before (not a reserve).
    Fetching {
        unanswered: bool,
        own: bool,
    },
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
            sent_kept: None,
            card_printing: None,
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
            pin_gate: Arc::default(),
            history: HistoryGate::Open,
            key_has_written: false,
        };
        core.key_has_written = core
            .id
            .key_path
            .as_deref()
            .is_some_and(crate::store::keyfile::has_written);
        core.history = core.starting_gate()?;
        core.restore_sent()?;
        let first = core.build_screen()?;
        let (tx, rx) = watch::channel(first);
        core.screen_tx = tx;
        Ok((core, rx))
    }

    /// A reserve that has written events of its own had the history when it wrote them
    /// (it could not have written otherwise), so only a reserve with none waits; so does
    /// a table whose key has written but whose database holds none of its events.
    fn starting_gate(&self) -> Result<HistoryGate, TableError> {
        let own = self.key.public();
        let reserve = matches!(
            self.id.trust.enrolment.as_ref().and_then(|e| e.role(&own)),
            Some(crate::election::roles::Role::Reserve { .. })
        );
        let holds_own = self
            .store
            .version_vector()?
            .iter()
            .any(|(k, n)| *k == own && *n > 0);
        if holds_own || !(reserve || self.key_has_written) {
            return Ok(HistoryGate::Open);
        }
        if reserve {
            tracing::warn!(
                table_no = self.id.table_no,
                "reserve standing in for this table: nothing is written until a table of the place has given it this table's history"
            );
        } else {
            tracing::warn!(
                table_no = self.id.table_no,
                "this key has written events, but the database holds none of them (deleted or replaced?): nothing is written until a peer has given them back"
            );
        }
        Ok(HistoryGate::Fetching {
            unanswered: false,
            own: !reserve,
        })
    }

    /// What the screen and every refused action say while the table may not write.
    pub(super) fn history_refusal(&self) -> Option<String> {
        let n = self.id.table_no;
        let HistoryGate::Fetching { unanswered, own } = self.history else {
            return None;
        };
        let who = if own {
            format!("Bord {n} har fået en ny database og henter sine egne registreringer")
        } else {
            format!("Reservebordet henter bord {n}s historik")
        };
        Some(if unanswered {
            format!(
                "{who} fra de andre borde, men ingen andre borde svarer: brug papirlisten, indtil de svarer, eller tilkald valgsekretæren."
            )
        } else {
            format!("{who} fra de andre borde … Vent med at registrere vælgere.")
        })
    }

    /// Refuses an action that would write while the table lacks its history.
    pub(super) fn refuse_while_fetching(&self) -> Result<(), TableError> {
        match self.history_refusal() {
            Some(text) => Err(TableError::Refused(text)),
            None => Ok(()),
        }
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

    pub(super) fn today(&self) -> chrono::NaiveDate {
        chrono::Local::now().date_naive()
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
        self.append_as(kind, None)
    }

    /// Appends an event naming the official who acted (see `secretary::Secretary`).
    pub(super) fn append_as(
        &mut self,
        kind: EventKind,
        by: Option<crate::election::official::ActedBy>,
    ) -> Result<crate::election::event::VerifiedEvent, TableError> {
        self.refuse_while_fetching()?;
        let author = Author {
            key: &self.key,
            election: &self.id.election,
            test: self.id.test,
        };
        let ev = self.store.append_local_as(
            &author,
            now_ms() + self.id.clock_offset_ms,
            kind,
            by,
            |_| Ok(()),
        )?;
        if !self.key_has_written {
            self.note_key_written();
        }
        if let Some(tx) = &self.on_append {
            let _ = tx.send(ev.signed.clone());
        }
        Ok(ev)
    }

    /// Notes beside the key file that the key has written (after its first event is
    /// stored). Failing to note it costs only the protection of a later deleted
    /// database, never the event, so it is logged, not refused.
    fn note_key_written(&mut self) {
        self.key_has_written = true;
        if let Some(path) = &self.id.key_path
            && let Err(e) = crate::store::keyfile::mark_written(path)
        {
            tracing::error!(key = %path.display(), error = %e, "cannot note beside the key file that it has written events");
        }
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
        self.keep_sent();
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
            notice: self.history_refusal().or_else(|| self.notice.clone()),
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
            forks: self
                .store
                .forks()?
                .iter()
                .map(super::screen::ForkNotice::new)
                .collect(),
        })
    }
}

/// The printer in a few Danish words for the status bar; the device and its path go
/// behind "Detaljer" ([`printer_detail`]).
pub(super) fn printer_short(st: &crate::print::PrinterStatus) -> String {
    if st.ok {
        if st.text.contains("simuleret") {
            "simuleret (intet papir)".into()
        } else {
            "klar".into()
        }
    } else if st.text.starts_with("Printer mangler") {
        "ikke fundet – se Detaljer i menuen".into()
    } else {
        "fejl – se Detaljer i menuen".into()
    }
}

pub(super) fn printer_detail(
    p: &crate::print::spool::Spool,
    st: &crate::print::PrinterStatus,
) -> String {
    format!("{} · {}", p.describe(), st.text)
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
        forks: Vec::new(),
    }
}
