//! The closing report (afslutningsrapport) of a polling place and of each of its tables,
//! for the afstemningsbog: check-ins per contest and per set of ballots (so the voters
//! who got only the regionsrådsvalg ballot are counted apart), brevstemmer, returned
//! and exchanged (ombyttet) ballots and the reconciliation, undos, reissued cards, paper registrations, double
//! registrations and the table's state changes. On the receipt printer (one table) and
//! as PDF (the whole polling place).
//!
//! Read like the paper list: one read transaction on a read-only connection to the
//! database file, so every figure is of the same moment and the table keeps working.

use super::brevstemme_section;
use super::card::{ElectionInfo, local_time};
use super::error::PrintError;
use super::pdf::{A4, Doc, Weight};
use super::receipt::{Align, Item, Receipt, Size};
use super::valgliste::snapshot_time;
use crate::election::contest::{Contest, parse_contests};
use crate::election::event::{EventBody, EventKind, RecordedMethod};
use crate::store::read_snapshot::{ReadOnlyDb, ReadSnapshot};
use crate::store::report_queries::{CheckinGroup, PersonsByBallots, ReconciliationRow};
use std::collections::BTreeMap;
use std::path::Path;

/// One table's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableReport {
    pub table_no: u32,
    /// Danish, agreeing with "bord": "åbent", "holder pause", "lukket (grund)", "ikke åbnet".
    pub state: String,
    /// Check-ins in force (sets of ballots handed out), paper registrations included.
    pub checkins: i64,
    /// Ballots handed out per contest, from the check-ins in force.
    pub per_contest: Vec<(Contest, i64)>,
    /// Check-ins per set of ballots ("KV+RV" → 1200, "RV" → 12).
    pub per_set: Vec<(String, i64)>,
    pub manual: i64,
    pub paper: i64,
    /// Check-ins at this table that were undone.
    pub undone: i64,
    /// The last reconciliation.
    pub reconciled: Option<Reconciled>,
    /// Opened / paused / closed, oldest first: (wall time, Danish text).
    pub changes: Vec<(i64, String)>,
}

/// The tilforordnedes count of ballots at a table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub handed_out: Vec<(Contest, u32)>,
    pub returned: Vec<(Contest, u32)>,
    /// Spoiled ballots exchanged for new ones (ombyttet), packed and counted apart.
    pub exchanged: Vec<(Contest, u32)>,
    pub wall_ms: i64,
}

/// The polling place's closing report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClosingReport {
    pub place_id: String,
    pub place_name: String,
    pub taken_ms: i64,
    pub listed: i64,
    pub eligible: i64,
    pub brevstemmer: i64,
    /// Persons checked in (each once, however many tables registered them).
    pub persons: i64,
    /// Persons per contest whose ballot they got.
    pub persons_per_contest: Vec<(Contest, i64)>,
    pub double_registrations: i64,
    pub reissued_cards: i64,
    /// Switches between frit bordvalg, fast bordvalg and papir: (wall time, Danish text).
    pub mode_changes: Vec<(i64, String)>,
    /// Election-day list changes from the office applied.
    pub list_changes: i64,
    pub tables: Vec<TableReport>,
    /// Highest sequence number per device.
    pub versions: Vec<(String, u64)>,
    /// Every action of the valgsekretær or a valgstyrer, oldest first.
    pub official_actions: Vec<OfficialAction>,
    /// The brevstemmer taken into account, set aside and undecided, with reasons and
    /// the two valgstyrere (`brevstemme_section`).
    pub brevstemmer_examined: Vec<(&'static str, Vec<String>)>,
}

/// One action that needed an official's personal PIN, as the afstemningsbog lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfficialAction {
    pub wall_ms: i64,
    /// "Mette Holm (valgstyrer)"; "ukendt" for an event of an earlier version.
    pub by: String,
    /// "Registrering fortrudt: forkert vælger".
    pub what: String,
    /// "Jørgen Møller-Aagaard (V1)", "bord 2", or empty.
    pub concerns: String,
}

impl ClosingReport {
    pub fn read(db: &Path, place: &str, now_ms: i64) -> Result<ClosingReport, PrintError> {
        let db = ReadOnlyDb::open(db)?;
        let snap = db.snapshot()?;
        let place_name = snap
            .place_name(place)?
            .ok_or_else(|| PrintError::UnknownPlace(place.to_string()))?;
        let counts = snap.place_counts(place)?;
        let mut rep = ClosingReport {
            place_id: place.to_string(),
            place_name,
            taken_ms: now_ms,
            listed: counts.listed,
            eligible: counts.eligible,
            brevstemmer: counts.brevstemmer,
            persons: counts.persons,
            double_registrations: counts.double_registrations,
            reissued_cards: counts.reissued_cards,
            persons_per_contest: persons_per_contest(&snap.persons_by_ballots(place)?)?,
            ..ClosingReport::default()
        };
        let mut tables = Tables::default();
        tables.add_checkins(&snap.checkin_groups(place)?)?;
        for (no, n) in snap.undone_per_table(place)? {
            tables.entry(no).undone = n;
        }
        tables.add_reconciliations(&snap.reconciliations(place)?)?;
        for (no, state, reason) in snap.table_states_at(place)? {
            tables.entry(no).state = state_text(&state, &reason);
        }
        // State changes and mode switches come from the log itself (the projections keep
        // only the last); the body is the signed JSON.
        let changes = ["table_opened", "table_paused", "table_closed"];
        tables.add_changes(place_events(&snap, place, &changes)?);
        rep.mode_changes = mode_changes(place_events(&snap, place, &["place_mode_changed"])?);
        rep.list_changes = snap.list_change_count()?;
        rep.versions = snap.versions()?;
        rep.official_actions = official_actions(&snap, place)?;
        rep.brevstemmer_examined = brevstemme_section::groups(&snap.brevstemme_rows(place)?);
        snap.finish()?;
        rep.tables = tables.finish();
        Ok(rep)
    }

    /// One table's closing report as a receipt (`None`: the whole polling place).
    pub fn to_receipt(&self, election: &ElectionInfo, table: Option<u32>) -> Receipt {
        let mut r = Receipt::new(&match table {
            Some(t) => format!("Afslutning bord {t}"),
            None => "Afslutning valgsted".to_string(),
        });
        r.styled("AFSLUTNINGSRAPPORT", Size::Double, true, Align::Center);
        r.centered(election.heading());
        r.centered(format!("{} ({})", self.place_name, self.place_id));
        if let Some(t) = table {
            r.styled(format!("Bord {t}"), Size::Double, true, Align::Center);
        }
        r.centered(format!("Udskrevet {}", snapshot_time(self.taken_ms)));
        r.push(Item::Rule);
        for (k, v) in self.place_lines() {
            r.line(kv_line(&k, &v));
        }
        for t in &self.tables {
            if table.is_some_and(|n| n != t.table_no) {
                continue;
            }
            r.push(Item::Rule);
            r.bold(format!("Bord {} – {}", t.table_no, t.state));
            for (k, v) in table_lines(t) {
                r.line(kv_line(&k, &v));
            }
        }
        if table.is_none() && !self.official_actions.is_empty() {
            r.push(Item::Rule);
            r.bold("Handlinger med personlig PIN");
            for a in &self.official_actions {
                r.line(a.line());
            }
        }
        if table.is_none() && !self.brevstemmer_examined.is_empty() {
            r.push(Item::Rule);
            r.bold(brevstemme_section::TITLE);
            for (heading, lines) in &self.brevstemmer_examined {
                r.bold(*heading);
                for l in lines {
                    r.line(l.as_str());
                }
            }
        }
        r.push(Item::Rule);
        r.line("Underskrift valgstyrer:");
        r.push(Item::Feed(3));
        r.line("_______________________________");
        r.push(Item::Feed(3));
        r.push(Item::Cut);
        r
    }

    fn place_lines(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("Vælgere på listen".into(), self.listed.to_string()),
            ("Stemmeberettigede".into(), self.eligible.to_string()),
            (
                "Brevstemmer taget i betragtning".into(),
                self.brevstemmer.to_string(),
            ),
            ("Mødt (personer)".into(), self.persons.to_string()),
        ];
        for (c, n) in &self.persons_per_contest {
            v.push((format!("  {}", c.danish_name()), n.to_string()));
        }
        v.push((
            "Mødt + brevstemmer".into(),
            (self.persons + self.brevstemmer).to_string(),
        ));
        v.push((
            "Dobbeltregistreringer".into(),
            self.double_registrations.to_string(),
        ));
        v.push((
            "Erstatningsvalgkort".into(),
            self.reissued_cards.to_string(),
        ));
        v.push(("Listeændringer".into(), self.list_changes.to_string()));
        for (at, what) in &self.mode_changes {
            v.push((format!("Bordvalg {}", local_time(*at)), what.clone()));
        }
        v
    }

    /// The polling place's closing report as A4 PDF: the place, then one block per table.
    pub fn to_pdf(&self, election: &ElectionInfo) -> Result<Vec<u8>, PrintError> {
        let mut d = Doc::new(
            A4,
            &format!("Afslutningsrapport {} {}", self.place_name, election.name),
        )?;
        let (w, h) = A4;
        let m = 40.0;
        let mut y = h - m - 10.0;
        d.text(m, y, 18.0, Weight::Bold, "AFSLUTNINGSRAPPORT");
        y -= 18.0;
        d.text(m, y, 11.0, Weight::Regular, &election.heading());
        y -= 14.0;
        d.text(
            m,
            y,
            11.0,
            Weight::Regular,
            &format!("Valgsted {} ({})", self.place_name, self.place_id),
        );
        y -= 14.0;
        d.text(
            m,
            y,
            9.0,
            Weight::Regular,
            &format!("Øjebliksbillede {}", snapshot_time(self.taken_ms)),
        );
        y -= 22.0;
        let rows = |d: &mut Doc, y: &mut f32, lines: Vec<(String, String)>| {
            for (k, v) in lines {
                if *y < m + 40.0 {
                    d.new_page();
                    *y = h - m - 10.0;
                }
                d.text(m + 10.0, *y, 10.0, Weight::Regular, &k);
                d.text_right(m + 330.0, *y, 10.0, Weight::Bold, &v);
                *y -= 13.0;
            }
        };
        d.text(m, y, 13.0, Weight::Bold, "Valgstedet");
        y -= 16.0;
        rows(&mut d, &mut y, self.place_lines());
        for t in &self.tables {
            y -= 10.0;
            if y < m + 120.0 {
                d.new_page();
                y = h - m - 10.0;
            }
            d.text(
                m,
                y,
                13.0,
                Weight::Bold,
                &format!("Bord {} – {}", t.table_no, t.state),
            );
            y -= 16.0;
            rows(&mut d, &mut y, table_lines(t));
        }
        let actions: Vec<String> = self.official_actions.iter().map(|a| a.line()).collect();
        pdf_section(
            &mut d,
            &mut y,
            "Handlinger med personlig PIN",
            &[("", actions)],
        );
        pdf_section(
            &mut d,
            &mut y,
            brevstemme_section::TITLE,
            &self.brevstemmer_examined,
        );
        y -= 30.0;
        if y < m + 40.0 {
            d.new_page();
            y = h - m - 40.0;
        }
        d.line(m, y, m + 220.0, y, 0.6);
        d.text(m, y - 11.0, 9.0, Weight::Regular, "Underskrift valgstyrer");
        let total = d.page_count();
        for p in 0..total {
            d.set_page(p);
            d.text_right(
                w - m,
                m - 20.0,
                8.0,
                Weight::Bold,
                &format!("Side {} af {}", p + 1, total),
            );
        }
        d.finish()
    }
}

/// A titled section of the PDF with groups of lines under bold headings (an empty
/// heading: none); nothing when there are no lines.
fn pdf_section(d: &mut Doc, y: &mut f32, title: &str, groups: &[(&str, Vec<String>)]) {
    if groups.iter().all(|(_, lines)| lines.is_empty()) {
        return;
    }
    let (_, h) = A4;
    let m = 40.0;
    let room = |d: &mut Doc, y: &mut f32, need: f32| {
        if *y < m + need {
            d.new_page();
            *y = h - m - 10.0;
        }
    };
    *y -= 10.0;
    room(d, y, 80.0);
    d.text(m, *y, 13.0, Weight::Bold, title);
    *y -= 16.0;
    for (heading, lines) in groups {
        if !heading.is_empty() {
            room(d, y, 40.0);
            d.text(m + 10.0, *y, 10.0, Weight::Bold, heading);
            *y -= 13.0;
        }
        for l in lines {
            room(d, y, 40.0);
            d.text(m + 10.0, *y, 9.0, Weight::Regular, l);
            *y -= 12.0;
        }
    }
}

/// Persons per contest: the ballots of the check-in in force (a paper registration
/// records none: every contest of the voter).
fn persons_per_contest(rows: &[PersonsByBallots]) -> Result<Vec<(Contest, i64)>, PrintError> {
    let mut persons: BTreeMap<Contest, i64> = BTreeMap::new();
    for row in rows {
        let set = if row.ballots.is_empty() {
            &row.entitled
        } else {
            &row.ballots
        };
        for c in parse_contests(set).map_err(|e| PrintError::Store(e.to_string()))? {
            *persons.entry(c).or_default() += row.persons;
        }
    }
    Ok(persons.into_iter().collect())
}

/// The tables' reports as they are filled in, each made on first mention.
#[derive(Default)]
struct Tables(BTreeMap<u32, TableReport>);

impl Tables {
    fn entry(&mut self, no: u32) -> &mut TableReport {
        self.0.entry(no).or_insert_with(|| TableReport {
            table_no: no,
            state: "ikke åbnet".into(),
            ..TableReport::default()
        })
    }

    fn add_checkins(&mut self, groups: &[CheckinGroup]) -> Result<(), PrintError> {
        for g in groups {
            let n = g.checkins;
            let t = self.entry(g.table_no);
            t.checkins += n;
            match g.method.parse::<RecordedMethod>() {
                Ok(RecordedMethod::Manual) => t.manual += n,
                Ok(RecordedMethod::Paper) => t.paper += n,
                _ => {}
            }
            let set = if g.ballots.is_empty() {
                "papir".to_string()
            } else {
                g.ballots.clone()
            };
            match t.per_set.iter_mut().find(|(s, _)| *s == set) {
                Some((_, m)) => *m += n,
                None => t.per_set.push((set, n)),
            }
            if !g.ballots.is_empty() {
                for c in parse_contests(&g.ballots).map_err(|e| PrintError::Store(e.to_string()))? {
                    match t.per_contest.iter_mut().find(|(k, _)| *k == c) {
                        Some((_, m)) => *m += n,
                        None => t.per_contest.push((c, n)),
                    }
                }
            }
        }
        Ok(())
    }

    fn add_reconciliations(&mut self, rows: &[ReconciliationRow]) -> Result<(), PrintError> {
        let parse = |s: &str| -> Result<Vec<(Contest, u32)>, PrintError> {
            serde_json::from_str(s).map_err(|e| PrintError::Store(format!("reconciliation: {e}")))
        };
        for row in rows {
            self.entry(row.table_no).reconciled = Some(Reconciled {
                handed_out: parse(&row.handed_out)?,
                returned: parse(&row.returned)?,
                exchanged: parse(&row.exchanged)?,
                wall_ms: row.wall_ms,
            });
        }
        Ok(())
    }

    /// Opened / paused / closed events, in clock order.
    fn add_changes(&mut self, events: Vec<(i64, serde_json::Value)>) {
        for (at, k) in events {
            let Some(no) = k["table_no"].as_u64().and_then(|n| u32::try_from(n).ok()) else {
                continue;
            };
            let text = match k["type"].as_str() {
                Some("table_opened") => "åbnet".to_string(),
                Some("table_paused") => "pause".to_string(),
                _ => state_text("closed", k["reason"].as_str().unwrap_or("")),
            };
            self.entry(no).changes.push((at, text));
        }
    }

    fn finish(mut self) -> Vec<TableReport> {
        for t in self.0.values_mut() {
            t.per_contest.sort();
            t.per_set.sort();
        }
        self.0.into_values().collect()
    }
}

impl OfficialAction {
    /// "10:42 Mette Holm (valgstyrer): Registrering fortrudt (forkert vælger) – Anne Hansen (V7)".
    pub fn line(&self) -> String {
        let concerns = if self.concerns.is_empty() {
            String::new()
        } else {
            format!(" – {}", self.concerns)
        };
        format!(
            "{} {}: {}{concerns}",
            local_time(self.wall_ms),
            self.by,
            self.what
        )
    }
}

/// The event kinds an official causes; [`EventKind::needs_official`] decides, this
/// list only picks the rows to read (a unit test keeps the two in step).
const OFFICIAL_KINDS: [&str; 7] = [
    "check_in_undone",
    "card_reissued",
    "paper_registration",
    "double_registration_resolved",
    "place_mode_changed",
    "manual_check_in_sent",
    "brevstemme_examined",
];

/// Every action of an official at `place`, from the log (who is named in each event).
fn official_actions(snap: &ReadSnapshot, place: &str) -> Result<Vec<OfficialAction>, PrintError> {
    let mut out = Vec::new();
    for (at, body) in snap.events_of_kinds(&OFFICIAL_KINDS)? {
        let body: EventBody = serde_json::from_str(&body)
            .map_err(|e| PrintError::Store(format!("event body: {e}")))?;
        if !body.kind.needs_official() {
            continue;
        }
        let (what, voter, at_place) = describe(&body.kind);
        let (concerns, voter_place) = match voter {
            Some(id) => match snap.voter_name_and_place(id)? {
                Some((name, p)) => (format!("{name} ({id})"), Some(p)),
                None => (id.to_string(), None),
            },
            None => (String::new(), None),
        };
        if at_place
            .or(voter_place.as_deref())
            .is_some_and(|p| p != place)
        {
            continue;
        }
        out.push(OfficialAction {
            wall_ms: at,
            by: body
                .by
                .map(|b| b.label())
                .unwrap_or_else(|| "ukendt".into()),
            what,
            concerns,
        });
    }
    Ok(out)
}

/// An official's action in Danish, the voter it concerns and the place it names.
fn describe(kind: &EventKind) -> (String, Option<&str>, Option<&str>) {
    match kind {
        EventKind::CheckInUndone {
            voter_id, reason, ..
        } => (
            format!("Registrering fortrudt ({reason})"),
            Some(voter_id),
            None,
        ),
        EventKind::CardReissued { voter_id, .. } => {
            ("Nyt valgkort udstedt".into(), Some(voter_id), None)
        }
        EventKind::PaperRegistration {
            voter_id,
            place,
            table_no,
            ..
        } => (
            format!("Papirafkrydsning indtastet, bord {table_no}"),
            Some(voter_id),
            Some(place),
        ),
        EventKind::DoubleRegistrationResolved { voter_id, note, .. } => (
            format!("Dobbeltregistrering løst ({note})"),
            Some(voter_id),
            None,
        ),
        EventKind::PlaceModeChanged {
            place,
            mode,
            reason,
        } => (
            format!("Bordvalg skiftet til {} ({reason})", mode.danish()),
            None,
            Some(place),
        ),
        EventKind::ManualCheckInSent {
            voter_id,
            place,
            table_no,
        } => (
            format!("Sendt uden valgkort til bord {table_no}"),
            Some(voter_id),
            Some(place),
        ),
        EventKind::BrevstemmeExamined {
            voter_id,
            place,
            reason,
            valgstyrere: [a, b],
            ..
        } => (
            match reason {
                None => format!("Brevstemme taget i betragtning af {a} og {b}"),
                Some(r) => format!("Brevstemme tilsidesat af {a} og {b}: {}", r.danish()),
            },
            Some(voter_id),
            Some(place),
        ),
        other => (other.name().to_string(), None, None),
    }
}

/// The place's switches between frit bordvalg, fast bordvalg and papir, in Danish.
fn mode_changes(events: Vec<(i64, serde_json::Value)>) -> Vec<(i64, String)> {
    events
        .into_iter()
        .map(|(at, k)| {
            let mode = k["mode"]
                .as_str()
                .and_then(crate::election::place_mode::PlaceMode::parse)
                .map(|m| m.danish())
                .unwrap_or("?");
            let reason = k["reason"].as_str().unwrap_or("");
            let text = if reason.is_empty() {
                mode.to_string()
            } else {
                format!("{mode} ({reason})")
            };
            (at, text)
        })
        .collect()
}

fn table_lines(t: &TableReport) -> Vec<(String, String)> {
    let mut v = vec![("Afkrydset".to_string(), t.checkins.to_string())];
    for (c, n) in &t.per_contest {
        v.push((format!("  stemmesedler {}", c.code()), n.to_string()));
    }
    for (set, n) in &t.per_set {
        let label = if set == "papir" {
            "  papirregistreringer".to_string()
        } else {
            format!("  udleveret {set}")
        };
        v.push((label, n.to_string()));
    }
    v.push(("Uden kort (manuelt)".into(), t.manual.to_string()));
    v.push(("Fortrudt".into(), t.undone.to_string()));
    match &t.reconciled {
        Some(r) => {
            v.push(("Afstemt".into(), local_time(r.wall_ms)));
            for (c, n) in &r.handed_out {
                v.push((format!("  talt udleveret {}", c.code()), n.to_string()));
            }
            for (c, n) in &r.returned {
                v.push((format!("  returneret {}", c.code()), n.to_string()));
            }
            for (c, n) in &r.exchanged {
                v.push((format!("  ombyttet {}", c.code()), n.to_string()));
            }
        }
        None => v.push(("Afstemt".into(), "nej".into())),
    }
    for (at, what) in &t.changes {
        v.push((format!("  {}", local_time(*at)), what.clone()));
    }
    v
}

fn state_text(state: &str, reason: &str) -> String {
    match (state, reason.is_empty()) {
        ("open", _) => "åbent".into(),
        ("paused", _) => "holder pause".into(),
        ("closed", true) => "lukket".into(),
        ("closed", false) => format!("lukket ({reason})"),
        (other, _) => other.to_string(),
    }
}

/// "Label ........ value" on one 48-column line.
fn kv_line(k: &str, v: &str) -> String {
    let used = k.chars().count() + v.chars().count();
    let gap = super::escpos::COLUMNS.saturating_sub(used).max(1);
    format!("{k}{}{v}", " ".repeat(gap))
}

/// The kinds (JSON) of the logged events of `kinds` at `place`, in clock order, with
/// their wall time.
fn place_events(
    snap: &ReadSnapshot<'_>,
    place: &str,
    kinds: &[&str],
) -> Result<Vec<(i64, serde_json::Value)>, PrintError> {
    let mut out = Vec::new();
    for (at, body) in snap.events_of_kinds(kinds)? {
        let mut v: serde_json::Value = serde_json::from_str(&body)
            .map_err(|e| PrintError::Store(format!("event body: {e}")))?;
        let k = v["kind"].take();
        if k["place"].as_str() == Some(place) {
            out.push((at, k));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_official_kinds_are_those_that_need_an_official() {
        use crate::election::keys::DeviceSecret;
        let v = || "V1".to_string();
        let p = || "1".to_string();
        let kinds = [
            EventKind::CheckInUndone {
                voter_id: v(),
                target_device: DeviceSecret::from_seed([1; 32]).public(),
                target_seq: 1,
                reason: String::new(),
            },
            EventKind::CardReissued {
                voter_id: v(),
                new_code: String::new(),
            },
            EventKind::PaperRegistration {
                voter_id: v(),
                place: p(),
                table_no: 1,
                fallback_from_ms: 0,
                fallback_to_ms: 0,
            },
            EventKind::DoubleRegistrationResolved {
                voter_id: v(),
                note: String::new(),
                checkins: None,
            },
            EventKind::PlaceModeChanged {
                place: p(),
                mode: Default::default(),
                reason: String::new(),
            },
            EventKind::ManualCheckInSent {
                voter_id: v(),
                place: p(),
                table_no: 1,
            },
            EventKind::BrevstemmeExamined {
                voter_id: v(),
                place: p(),
                accepted: true,
                reason: None,
                valgstyrere: [String::new(), String::new()],
            },
            EventKind::TableOpened {
                place: p(),
                table_no: 1,
            },
        ];
        let needing: Vec<&str> = kinds
            .iter()
            .filter(|k| k.needs_official())
            .map(|k| k.name())
            .collect();
        assert_eq!(needing, OFFICIAL_KINDS);
    }

    #[test]
    fn receipt_lines_fit_the_paper() {
        let rep = ClosingReport {
            place_id: "1".into(),
            place_name: "Skolen".into(),
            taken_ms: 0,
            listed: 10,
            eligible: 9,
            brevstemmer: 1,
            persons: 3,
            persons_per_contest: vec![(Contest::Kv, 2), (Contest::Rv, 3)],
            tables: vec![TableReport {
                table_no: 2,
                state: "lukket".into(),
                checkins: 3,
                per_contest: vec![(Contest::Kv, 2), (Contest::Rv, 3)],
                per_set: vec![("KV+RV".into(), 2), ("RV".into(), 1)],
                reconciled: Some(Reconciled {
                    handed_out: vec![(Contest::Kv, 2)],
                    returned: vec![(Contest::Kv, 1)],
                    exchanged: vec![(Contest::Kv, 1)],
                    wall_ms: 0,
                }),
                ..TableReport::default()
            }],
            ..ClosingReport::default()
        };
        let e = ElectionInfo {
            id: "kv".into(),
            name: "Kommunalvalg".into(),
            date: None,
        };
        let text = rep.to_receipt(&e, Some(2)).to_text(48);
        assert!(text.contains("udleveret RV"), "{text}");
        for line in text.lines() {
            assert!(line.chars().count() <= 48, "{line:?}");
        }
        assert!(rep.to_pdf(&e).unwrap().starts_with(b"%PDF"));
    }
}
