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

/// "Bord N findes to gange", and what the valgsekretær does about it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ForkNotice {
    /// The device's key (hex), for the log and the election office.
    pub device: String,
    pub title: String,
    pub detail: String,
    /// The device and sequence number of the fork: behind "Detaljer".
    pub technical: String,
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
            title: format!("{} findes to gange", upper(&table)),
            detail: format!(
                "To enheder optræder som {table} (set kl. {}). {} må ikke registrere flere vælgere. Tag bordet ud af brug, brug papirlisten for det bord, og ring til valgkontoret.",
                clock(f.seen_ms),
                upper(&table),
            ),
            technical: format!(
                "device {} wrote two events with sequence {}",
                f.device.to_hex(),
                f.seq
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
    /// "bord 2 kl. 10.42" for each check-in in force.
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
            t.format("%H.%M").to_string()
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
            "Valgstyrerne har taget vælgerens brevstemme i betragtning, og den tæller. Udlevér ikke stemmesedler. Forklar vælgeren, at man ikke kan stemme to gange.".into(),
        ),
        Verdict::BrevstemmeUndecided => (
            "brevstemme_undecided",
            "BREVSTEMME IKKE AFGJORT".into(),
            "Valgstyrerne har ikke afgjort vælgerens brevstemme endnu. Udlevér ikke stemmesedler. Tilkald valgstyrerne.".into(),
        ),
        Verdict::Struck { reason } => (
            "struck",
            "SLETTET AF VALGLISTEN".into(),
            format!("Årsag: {reason}. Udlevér ikke stemmesedler. Tilkald valgsekretæren."),
        ),
        Verdict::WrongPlace {
            place_id,
            place_name,
            place_address,
            moved,
        } => {
            let name = place_name
                .clone()
                .unwrap_or_else(|| format!("valgsted {place_id}"));
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
                    "Vælgerens valgsted er {place}. Udlevér ikke stemmesedler; henvis vælgeren dertil{where_}, eller tilkald valgsekretæren."
                )
            };
            ("wrong_place", "IKKE PÅ VALGLISTEN HER".into(), detail)
        }
        Verdict::UnknownCard => (
            "unknown_card",
            "UKENDT STREGKODE".into(),
            "Stregkoden passer ikke til nogen vælger på valglisten. Tilkald valgsekretæren, som kan søge vælgeren frem.".into(),
        ),
        Verdict::CardSuperseded { reissued_at_ms } => (
            "card_superseded",
            format!("KORT ERSTATTET kl. {}", clock(*reissued_at_ms)),
            "Vælgeren har fået et nyt valgkort, så dette kort gælder ikke. Scan det nye kort, eller tilkald valgsekretæren.".into(),
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
        // The header's state word beside "Bord N" agrees with the neuter "bord" too.
        assert_eq!(TableState::Open.danish(), "åbent");
        assert_eq!(TableState::Paused.danish(), "holder pause");
    }

    /// Issue 20, the Danish editor's pass: a time reads "kl. 14.05" as Danish public
    /// bodies write it, everywhere a person reads one.
    #[test]
    fn times_read_with_a_period() {
        let noon = Local
            .with_ymd_and_hms(2025, 11, 18, 14, 5, 0)
            .single()
            .expect("a local time")
            .timestamp_millis();
        assert_eq!(clock(noon), "14.05");
        let (_, title, detail) = refusal(
            &Verdict::AlreadyVoted {
                prior: crate::election::checkin::PriorCheckIn {
                    place: "1".into(),
                    table_no: 2,
                    wall_ms: noon,
                },
            },
            |_| None,
        );
        assert_eq!(title, "HAR ALLEREDE STEMT");
        assert!(
            detail.starts_with("Registreret ved bord 2 kl. 14.05."),
            "{detail}"
        );
        assert_eq!(crate::print::card::local_time(noon), "18-11-2025 kl. 14.05");
    }

    /// Issue 20: a table is "bord 2" in a Danish sentence, never "bord 2's log", a
    /// sequence number or a key; those stay for the election office behind "Detaljer".
    #[test]
    fn a_forked_table_is_named_in_plain_danish() {
        let key = crate::election::keys::DeviceSecret::generate().public();
        let notice = ForkNotice::new(&crate::store::forks::Fork {
            device: key,
            seq: 17,
            table_no: Some(2),
            seen_ms: 0,
        });
        assert_eq!(notice.title, "Bord 2 findes to gange");
        assert!(!notice.detail.contains("17"), "{}", notice.detail);
        assert!(!notice.detail.contains(&key.short()), "{}", notice.detail);
        assert!(notice.technical.contains("17"), "{}", notice.technical);
    }
}
