//! What the table screen shows, and the Danish wording of every verdict.
//!
//! The daemon publishes a [`Screen`] on every change; the browser only renders it, so
//! the API, the tests and the screen always agree.

use crate::election::checkin::{TableState, Verdict};
use crate::election::contest::Contest;
use crate::election::voter::Voter;
use chrono::{Local, NaiveDate, TimeZone};
use serde::Serialize;

/// The voter as the tilforordnede compare them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VoterView {
    pub id: String,
    pub name: String,
    pub birthdate: String,
    pub age: i32,
    pub sex: String,
    pub address: String,
    pub list_no: u32,
}

impl VoterView {
    pub fn new(v: &Voter, today: NaiveDate) -> Self {
        VoterView {
            id: v.id.clone(),
            name: v.full_name(),
            birthdate: v.birthdate.format("%d-%m-%Y").to_string(),
            age: v.age_on(today),
            sex: v.sex.danish().to_string(),
            address: v.address_line(),
            list_no: v.list_no,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum View {
    /// Waiting for the next valgkort.
    Ready,
    /// Scanned and admissible: ask for the birthdate, then confirm.
    Pending {
        voter: VoterView,
        ballots: Vec<Contest>,
        ballots_text: String,
        /// For a voter without a card: the identity was checked by search alone, so
        /// the tilforordnede ask for identification when in doubt.
        #[serde(skip_serializing_if = "Option::is_none")]
        id_hint: Option<String>,
    },
    /// Confirmed and stored: hand out the ballots.
    Admitted {
        voter: VoterView,
        ballots: Vec<Contest>,
        ballots_text: String,
    },
    /// Refused: the reason, and the voter when known.
    Refused {
        code: String,
        title: String,
        detail: String,
        voter: Option<VoterView>,
    },
}

/// Everything on the table screen.
#[derive(Debug, Clone, Serialize)]
pub struct Screen {
    /// Increases with every change, so a client can tell new from old.
    pub version: u64,
    pub place: String,
    pub place_name: String,
    pub table_no: u32,
    pub table_state: TableState,
    pub table_state_text: String,
    /// "Bordet er åbent", "Bordet holder pause".
    pub table_state_sentence: String,
    pub view: View,
    /// Changes whenever a new view is shown (also the same verdict again), so the page
    /// can return a verdict to "Scan valgkortet" after a while without hiding a newer one.
    pub view_id: u64,
    /// The contests of the day, for the ballot count.
    pub contests: Vec<ContestView>,
    /// A short notice above the view ("Forrige scanning annulleret").
    pub notice: Option<String>,
    pub checkins_here: i64,
    pub persons_checked_in: i64,
    pub eligible: i64,
    pub status: StatusBar,
    pub test_mode: bool,
    /// "Dobbeltregistrering": one person checked in at two tables (possible while the
    /// LAN was split), until the valgsekretær resolves it.
    pub double_registrations: Vec<DoubleRegistration>,
    /// The other tables as the screen was last rebuilt: their last contact may be older
    /// than the one the table holds (answers alone do not rebuild the screen).
    pub peers: Vec<crate::sync::peer_status::PeerStatus>,
    /// Frit / fast bordvalg / papir, with what it means at this table.
    pub mode: ModeBanner,
    /// Devices whose log exists in two versions ([`crate::store::forks`]): shown on
    /// every screen of the polling place until the election is over.
    pub forks: Vec<ForkNotice>,
}

/// "To versioner af bord N's log", and what the valgsekretær does about it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ForkNotice {
    /// The device's key (hex), for the log and the election office.
    pub device: String,
    pub title: String,
    pub detail: String,
}

impl ForkNotice {
    /// The table by its number when its events named one here, else by its short key.
    pub fn new(f: &crate::store::forks::Fork) -> ForkNotice {
        let table = match f.table_no {
            Some(n) => format!("bord {n}"),
            None => format!("enheden {}", f.device.short()),
        };
        let upper = |t: &str| {
            let mut c = t.chars();
            c.next()
                .map(|first| first.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        };
        ForkNotice {
            device: f.device.to_hex(),
            title: format!("To versioner af {table}'s log"),
            detail: format!(
                "{} har lavet to forskellige hændelser med nummer {} (set kl. {}): to enheder bruger samme nøgle. {} må ikke registrere flere: tag bordet ud af brug, brug papirlisten for det bord, og ring til valgkontoret.",
                upper(&table),
                f.seq,
                clock(f.seen_ms),
                upper(&table),
            ),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ContestView {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DoubleRegistration {
    pub voter_id: String,
    pub name: String,
    /// "bord 2 kl. 10:42" for each check-in in force.
    pub at: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct StatusBar {
    pub scanner: String,
    pub scanner_ok: bool,
    pub printer: String,
    pub printer_ok: bool,
    /// The printer's device and full state (paths): behind "Detaljer".
    pub printer_detail: String,
    pub peers: String,
    pub peers_ok: bool,
    pub central: String,
    pub central_ok: bool,
    pub signals: String,
    /// Set while a host floods the sync port ([`crate::sync::admission`]).
    pub sync_flood: Option<String>,
}

pub fn clock(wall_ms: i64) -> String {
    match Local.timestamp_millis_opt(wall_ms) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.format("%H:%M").to_string()
        }
        chrono::LocalResult::None => "?".into(),
    }
}

/// "Udlevér: Kommunalvalg + Regionsrådsvalg", or "Udlevér KUN: Regionsrådsvalg" when the
/// voter gets fewer ballots than the day holds, so the tilforordnet notices.
pub fn ballots_text(ballots: &[Contest], today: &[Contest]) -> String {
    let names: Vec<&str> = ballots.iter().map(|c| c.danish_name()).collect();
    if ballots.len() < today.len() {
        format!("Udlevér KUN: {}", names.join(" + "))
    } else {
        format!("Udlevér: {}", names.join(" + "))
    }
}

/// Danish title and detail of a refusal, and a stable code for the API.
pub fn refusal(
    verdict: &Verdict,
    place_names: impl Fn(&str) -> Option<String>,
) -> (String, String, String) {
    let (code, title, detail) = match verdict {
        Verdict::Admit { .. } => ("admit", "Godkendt".to_string(), String::new()),
        Verdict::AlreadyVoted { prior } => (
            "already_voted",
            "HAR ALLEREDE STEMT".into(),
            format!(
                "Registreret ved bord {} kl. {}{}. Udlevér ikke stemmesedler. Tilkald valgsekretæren.",
                prior.table_no,
                clock(prior.wall_ms),
                place_names(&prior.place)
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ),
        ),
        Verdict::Brevstemme => (
            "brevstemme",
            "BREVSTEMME MODTAGET".into(),
            "Vælgerens brevstemme er taget i betragtning af valgstyrerne og tæller. Udlevér ikke stemmesedler; forklar vælgeren, at der ikke kan stemmes igen.".into(),
        ),
        Verdict::BrevstemmeUndecided => (
            "brevstemme_undecided",
            "BREVSTEMME IKKE AFGJORT".into(),
            "Brevstemme ikke afgjort – tilkald valgstyrerne. Udlevér ikke stemmesedler, før valgstyrerne har afgjort vælgerens brevstemme.".into(),
        ),
        Verdict::Struck { reason } => (
            "struck",
            "SLETTET AF VALGLISTEN".into(),
            format!("Årsag: {reason}. Tilkald valgsekretæren."),
        ),
        Verdict::WrongPlace {
            place_id,
            place_name,
            place_address,
            moved,
        } => {
            let name = place_name
                .clone()
                .unwrap_or_else(|| format!("afstemningsområde {place_id}"));
            // The address where the package has it; otherwise the card names the place.
            let (place, where_) = match place_address {
                Some(a) => (format!("{name}, {a}"), ""),
                None => (name, " (adressen står på valgkortet)"),
            };
            let detail = if *moved {
                format!(
                    "Vælgeren er flyttet til {place}. Udlevér ikke stemmesedler; henvis vælgeren dertil, eller tilkald valgsekretæren."
                )
            } else {
                format!(
                    "Vælgerens afstemningssted er {place}. Udlevér ikke stemmesedler; henvis vælgeren dertil{where_}, eller tilkald valgsekretæren."
                )
            };
            ("wrong_place", "IKKE PÅ VALGLISTEN HER".into(), detail)
        }
        Verdict::UnknownCard => (
            "unknown_card",
            "UKENDT STREGKODE".into(),
            "Kortet findes ikke på valglisten. Søg vælgeren frem hos valgsekretæren.".into(),
        ),
        Verdict::CardSuperseded { reissued_at_ms } => (
            "card_superseded",
            format!("KORT ERSTATTET kl. {}", clock(*reissued_at_ms)),
            "Der er udskrevet et nyt valgkort til vælgeren, så dette kort gælder ikke. Scan det nye kort, eller tilkald valgsekretæren.".into(),
        ),
        Verdict::NotEntitled => (
            "not_entitled",
            "IKKE STEMMERET".into(),
            "Vælgeren har ikke stemmeret til dagens valg. Udlevér ikke stemmesedler; tilkald valgsekretæren, hvis vælgeren mener at have stemmeret.".into(),
        ),
        Verdict::OtherTable { table_no, share } => (
            "other_table",
            match table_no {
                Some(n) => format!("GÅ TIL BORD {n}"),
                None => "IKKE DETTE BORD".into(),
            },
            match share {
                Some(s) => format!(
                    "Fast bordvalg: bord {n} tager {s}. Henvis vælgeren til bord {n}.",
                    n = table_no.unwrap_or(0)
                ),
                None => {
                    "Fast bordvalg: ingen borde tager denne vælger. Tilkald valgsekretæren.".into()
                }
            },
        ),
        Verdict::PaperMode => (
            "paper_mode",
            "PAPIRLISTER".into(),
            "Valgstedet bruger de trykte valglister. Sæt kryds på papirlisten.".into(),
        ),
        Verdict::TableNotOpen { state } => (
            "table_not_open",
            state.sentence().to_uppercase(),
            "Åbn bordet for at registrere vælgere, eller henvis vælgeren til et åbent bord.".into(),
        ),
    };
    (code.to_string(), title, detail)
}

/// What every screen of the polling place shows about the mode.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ModeBanner {
    pub mode: crate::election::place_mode::PlaceMode,
    /// "FAST BORDVALG · dette bord: efternavne A–H"; empty in frit bordvalg.
    pub text: String,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rv_only_says_only() {
        let today = [Contest::Kv, Contest::Rv];
        assert_eq!(
            ballots_text(&[Contest::Kv, Contest::Rv], &today),
            "Udlevér: Kommunalvalg + Regionsrådsvalg"
        );
        assert_eq!(
            ballots_text(&[Contest::Rv], &today),
            "Udlevér KUN: Regionsrådsvalg"
        );
    }

    /// Issue 20, problem 10: every refusal ends with what the tilforordnede do next.
    #[test]
    fn every_refusal_says_what_to_do_next() {
        use crate::election::checkin::PriorCheckIn;
        let next = [
            "Udlevér ikke",
            "Henvis vælgeren",
            "Tilkald valgsekretæren",
            "tilkald valgsekretæren",
            "Scan det nye kort",
            "Åbn bordet",
            "Sæt kryds",
            "Søg vælgeren frem",
        ];
        let verdicts = [
            Verdict::AlreadyVoted {
                prior: PriorCheckIn {
                    place: "1".into(),
                    table_no: 2,
                    wall_ms: 0,
                },
            },
            Verdict::Brevstemme,
            Verdict::BrevstemmeUndecided,
            Verdict::Struck {
                reason: "død".into(),
            },
            Verdict::WrongPlace {
                place_id: "2".into(),
                place_name: Some("Vestre Skole".into()),
                place_address: Some("Skolevej 2, 8000 Aarhus C".into()),
                moved: false,
            },
            Verdict::WrongPlace {
                place_id: "2".into(),
                place_name: None,
                place_address: None,
                moved: false,
            },
            Verdict::WrongPlace {
                place_id: "2".into(),
                place_name: Some("Vestre Skole".into()),
                place_address: None,
                moved: true,
            },
            Verdict::UnknownCard,
            Verdict::CardSuperseded { reissued_at_ms: 0 },
            Verdict::NotEntitled,
            Verdict::OtherTable {
                table_no: Some(1),
                share: Some("efternavne A–H".into()),
            },
            Verdict::OtherTable {
                table_no: None,
                share: None,
            },
            Verdict::PaperMode,
            Verdict::TableNotOpen {
                state: TableState::Paused,
            },
        ];
        for v in &verdicts {
            let (code, _, detail) = refusal(v, |_| None);
            assert!(
                next.iter().any(|n| detail.contains(n)),
                "{code}: no next step in {detail:?}"
            );
        }
    }

    /// Issue 20, problem 9: "Bordet er åbent" (neuter), "Bordet holder pause".
    #[test]
    fn table_states_read_as_danish_sentences() {
        assert_eq!(TableState::Open.sentence(), "Bordet er åbent");
        assert_eq!(TableState::Paused.sentence(), "Bordet holder pause");
        let (_, title, _) = refusal(
            &Verdict::TableNotOpen {
                state: TableState::Paused,
            },
            |_| None,
        );
        assert_eq!(title, "BORDET HOLDER PAUSE");
    }
}
