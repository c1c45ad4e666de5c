//! The check-in decision: given what a scan found, may this person get ballots here now?
//!
//! Pure, so every rule of the election acts has a unit test and the table, the
//! valgsekretær and the simulator all decide the same way.

use super::brevstemme::Examination;
use super::contest::Contest;
use super::place_mode::{PlaceMode, Share, table_for};
use super::voter::Voter;
use serde::{Deserialize, Serialize};

/// Where a table is in its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableState {
    /// Before opening or after closing for the day.
    NotOpened,
    Open,
    /// A break.
    Paused,
    /// Closed, e.g. while a difference between cards and ballots is found.
    Closed,
}

impl TableState {
    /// The state beside "Bord N" in the screen's header, agreeing with the neuter
    /// "bord": "åbent", "holder pause".
    pub fn danish(self) -> &'static str {
        match self {
            TableState::NotOpened => "ikke åbnet",
            TableState::Open => "åbent",
            TableState::Paused => "holder pause",
            TableState::Closed => "lukket",
        }
    }

    /// "Bordet er åbent", "Bordet holder pause": the state as a whole Danish sentence
    /// (neuter "bordet" takes "åbent"; a pause is held, not been).
    pub fn sentence(self) -> &'static str {
        match self {
            TableState::NotOpened => "Bordet er ikke åbnet",
            TableState::Open => "Bordet er åbent",
            TableState::Paused => "Bordet holder pause",
            TableState::Closed => "Bordet er lukket",
        }
    }
}

/// An earlier check-in of the person, on any table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorCheckIn {
    pub place: String,
    pub table_no: u32,
    /// Wall time (ms since epoch) the check-in was made.
    pub wall_ms: i64,
}

/// What the card lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardFinding<'a> {
    /// No voter has this card code.
    Unknown,
    /// The card belongs to a voter; `superseded_at` is set when a newer card replaced it.
    Voter {
        voter: &'a Voter,
        superseded_at_ms: Option<i64>,
    },
}

/// Everything the decision needs, gathered by the caller from the store.
#[derive(Debug, Clone)]
pub struct CheckInInput<'a> {
    pub table_state: TableState,
    /// The polling place this table belongs to.
    pub place: &'a str,
    /// Contests held today.
    pub contests_today: &'a [Contest],
    pub finding: CardFinding<'a>,
    /// The person's check-in in force, if any.
    pub prior: Option<&'a PriorCheckIn>,
    /// Name of the voter's own polling place, when the list knows it.
    pub right_place_name: Option<&'a str>,
    /// That place's street address, when the office gave it in the package.
    pub right_place_address: Option<&'a str>,
    /// The office moved the voter to that place by a list change: the refusal says
    /// so, since the card (posted before the move) names this place.
    pub moved: bool,
    /// How the polling place registers voters now.
    pub mode: PlaceMode,
    /// The table that would hand out the ballots.
    pub table_no: u32,
    /// Each table's share of the list in fast bordvalg.
    pub shares: &'a [(u32, Share)],
    /// The valgstyrere's decision in force on the voter's brevstemme; read only when
    /// the list marks one received (`Voter::brevstemme`).
    pub brevstemme: Examination,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Hand out exactly these ballots.
    Admit {
        ballots: Vec<Contest>,
    },
    AlreadyVoted {
        prior: PriorCheckIn,
    },
    /// The brevstemme was taken into account: the voter has voted.
    Brevstemme,
    /// A brevstemme was received but the valgstyrere have not decided on it: nobody
    /// who may have voted by post is admitted before they have.
    BrevstemmeUndecided,
    Struck {
        reason: String,
    },
    /// The voter belongs to another polling place (named when known).
    WrongPlace {
        place_id: String,
        place_name: Option<String>,
        /// Its street address, when the package has it (older packages do not).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        place_address: Option<String>,
        /// Moved there by a list change.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        moved: bool,
    },
    /// The card is not on any list we hold.
    UnknownCard,
    CardSuperseded {
        reissued_at_ms: i64,
    },
    /// The voter has no vote in any contest held today (e.g. an EU citizen on a FV day).
    NotEntitled,
    TableNotOpen {
        state: TableState,
    },
    /// Fast bordvalg: another table serves this voter.
    OtherTable {
        table_no: Option<u32>,
        share: Option<String>,
    },
    /// The polling place works on the printed lists: nothing is registered digitally.
    PaperMode,
}

impl Verdict {
    pub fn is_admit(&self) -> bool {
        matches!(self, Verdict::Admit { .. })
    }
}

/// Decides a scan. The order matters: a closed table says so before it reveals anything
/// about a person; a superseded card is refused before its voter is looked at, so a lost
/// card that was found again cannot be used by somebody else.
pub fn decide(input: &CheckInInput<'_>) -> Verdict {
    if input.table_state != TableState::Open {
        return Verdict::TableNotOpen {
            state: input.table_state,
        };
    }
    let (voter, superseded) = match &input.finding {
        CardFinding::Unknown => return Verdict::UnknownCard,
        CardFinding::Voter {
            voter,
            superseded_at_ms,
        } => (*voter, *superseded_at_ms),
    };
    decide_for_voter(input, voter, superseded)
}

/// The rules after the card is resolved to a person; also used for a check-in without a
/// card (the valgsekretær found the voter by search), with `superseded = None`.
pub fn decide_for_voter(
    input: &CheckInInput<'_>,
    voter: &Voter,
    superseded: Option<i64>,
) -> Verdict {
    if input.table_state != TableState::Open {
        return Verdict::TableNotOpen {
            state: input.table_state,
        };
    }
    if input.mode == PlaceMode::Papir {
        return Verdict::PaperMode;
    }
    if let Some(at) = superseded {
        return Verdict::CardSuperseded { reissued_at_ms: at };
    }
    if voter.place != input.place {
        return Verdict::WrongPlace {
            place_id: voter.place.clone(),
            place_name: input.right_place_name.map(str::to_string),
            place_address: input.right_place_address.map(str::to_string),
            moved: input.moved,
        };
    }
    if let Some(reason) = &voter.struck {
        return Verdict::Struck {
            reason: reason.clone(),
        };
    }
    if voter.brevstemme && input.brevstemme == Examination::Accepted {
        return Verdict::Brevstemme;
    }
    if let Some(prior) = input.prior {
        return Verdict::AlreadyVoted {
            prior: prior.clone(),
        };
    }
    if voter.brevstemme && input.brevstemme == Examination::Undecided {
        return Verdict::BrevstemmeUndecided;
    }
    let ballots: Vec<Contest> = input
        .contests_today
        .iter()
        .copied()
        .filter(|c| voter.contests.contains(c))
        .collect();
    if ballots.is_empty() {
        return Verdict::NotEntitled;
    }
    // Fast bordvalg: only the table whose share holds the voter may register them, so
    // two tables that cannot see each other never both do.
    if input.mode == PlaceMode::Fast {
        let mine = input.shares.iter().find(|(n, _)| *n == input.table_no);
        if let Some((_, share)) = mine
            && !share.contains(voter)
        {
            let other = table_for(input.shares, voter);
            return Verdict::OtherTable {
                table_no: other,
                share: other.and_then(|n| {
                    input
                        .shares
                        .iter()
                        .find(|(m, _)| *m == n)
                        .map(|(_, s)| s.to_string())
                }),
            };
        }
    }
    Verdict::Admit { ballots }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::testdata::voter;

    const KV_RV: &[Contest] = &[Contest::Kv, Contest::Rv];

    fn input<'a>(finding: CardFinding<'a>, prior: Option<&'a PriorCheckIn>) -> CheckInInput<'a> {
        CheckInInput {
            table_state: TableState::Open,
            place: "p1",
            contests_today: KV_RV,
            finding,
            prior,
            right_place_name: None,
            right_place_address: None,
            moved: false,
            mode: PlaceMode::Frit,
            table_no: 1,
            shares: &[],
            brevstemme: Examination::Undecided,
        }
    }

    fn found(v: &Voter) -> CardFinding<'_> {
        CardFinding::Voter {
            voter: v,
            superseded_at_ms: None,
        }
    }

    #[test]
    fn admits_with_kv_and_rv() {
        let v = voter("1", "p1");
        assert_eq!(
            decide(&input(found(&v), None)),
            Verdict::Admit {
                ballots: vec![Contest::Kv, Contest::Rv]
            }
        );
    }

    #[test]
    fn admits_rv_only_voter_with_one_ballot() {
        let mut v = voter("1", "p1");
        v.contests = vec![Contest::Rv];
        assert_eq!(
            decide(&input(found(&v), None)),
            Verdict::Admit {
                ballots: vec![Contest::Rv]
            }
        );
    }

    #[test]
    fn refuses_already_voted_with_table_and_time() {
        let v = voter("1", "p1");
        let prior = PriorCheckIn {
            place: "p1".into(),
            table_no: 3,
            wall_ms: 1_000,
        };
        assert_eq!(
            decide(&input(found(&v), Some(&prior))),
            Verdict::AlreadyVoted { prior }
        );
    }

    #[test]
    fn refuses_accepted_brevstemme() {
        let mut v = voter("1", "p1");
        v.brevstemme = true;
        let mut i = input(found(&v), None);
        i.brevstemme = Examination::Accepted;
        assert_eq!(decide(&i), Verdict::Brevstemme);
    }

    /// KRVL § 71: a brevstemme the valgstyrere set aside leaves the voter free to vote;
    /// one not yet examined stops the voter until they decide.
    #[test]
    fn admits_a_set_aside_brevstemmer_and_holds_an_undecided_one() {
        let mut v = voter("1", "p1");
        v.brevstemme = true;
        let mut i = input(found(&v), None);
        assert_eq!(decide(&i), Verdict::BrevstemmeUndecided);
        i.brevstemme = Examination::SetAside;
        assert!(decide(&i).is_admit());
        // A voter who voted in person before the mark came is told so first.
        let prior = PriorCheckIn {
            place: "p1".into(),
            table_no: 1,
            wall_ms: 1,
        };
        let mut i = input(found(&v), Some(&prior));
        assert!(matches!(decide(&i), Verdict::AlreadyVoted { .. }));
        i.brevstemme = Examination::Accepted;
        assert_eq!(decide(&i), Verdict::Brevstemme);
    }

    #[test]
    fn refuses_struck_voter_with_reason() {
        let mut v = voter("1", "p1");
        v.struck = Some("død".into());
        assert_eq!(
            decide(&input(found(&v), None)),
            Verdict::Struck {
                reason: "død".into()
            }
        );
    }

    #[test]
    fn names_the_right_polling_place() {
        let v = voter("1", "p2");
        let mut i = input(found(&v), None);
        i.right_place_name = Some("Skolen");
        i.right_place_address = Some("Skolevej 2, 8000 Aarhus C");
        assert_eq!(
            decide(&i),
            Verdict::WrongPlace {
                place_id: "p2".into(),
                place_name: Some("Skolen".into()),
                place_address: Some("Skolevej 2, 8000 Aarhus C".into()),
                moved: false,
            }
        );
    }

    #[test]
    fn unknown_card_is_not_on_the_list() {
        assert_eq!(
            decide(&input(CardFinding::Unknown, None)),
            Verdict::UnknownCard
        );
    }

    #[test]
    fn superseded_card_gives_time_of_reissue_even_if_voter_has_voted() {
        let v = voter("1", "p1");
        let prior = PriorCheckIn {
            place: "p1".into(),
            table_no: 1,
            wall_ms: 5,
        };
        let i = input(
            CardFinding::Voter {
                voter: &v,
                superseded_at_ms: Some(42),
            },
            Some(&prior),
        );
        assert_eq!(decide(&i), Verdict::CardSuperseded { reissued_at_ms: 42 });
    }

    #[test]
    fn closed_paused_and_unopened_tables_refuse() {
        let v = voter("1", "p1");
        for state in [
            TableState::Closed,
            TableState::Paused,
            TableState::NotOpened,
        ] {
            let mut i = input(found(&v), None);
            i.table_state = state;
            assert_eq!(decide(&i), Verdict::TableNotOpen { state });
        }
    }

    #[test]
    fn not_entitled_to_any_contest_today() {
        let mut v = voter("1", "p1");
        v.contests = vec![Contest::Ep];
        assert_eq!(decide(&input(found(&v), None)), Verdict::NotEntitled);
    }

    #[test]
    fn brevstemme_wins_over_prior_check_in() {
        // A brevstemmer must be stopped as brevstemmer, so the valgsekretær sees why.
        let mut v = voter("1", "p1");
        v.brevstemme = true;
        let prior = PriorCheckIn {
            place: "p1".into(),
            table_no: 1,
            wall_ms: 5,
        };
        let mut i = input(found(&v), Some(&prior));
        i.brevstemme = Examination::Accepted;
        assert_eq!(decide(&i), Verdict::Brevstemme);
    }

    #[test]
    fn fast_bordvalg_sends_the_voter_to_the_table_of_their_share() {
        let mut v = voter("1", "p1");
        v.last_name = "Østergaard".into();
        let shares = vec![
            (1, Share::parse("A-M").unwrap()),
            (2, Share::parse("N-Å").unwrap()),
        ];
        let mut i = input(found(&v), None);
        i.mode = PlaceMode::Fast;
        i.shares = &shares;
        assert_eq!(
            decide(&i),
            Verdict::OtherTable {
                table_no: Some(2),
                share: Some("efternavne N–Å".into())
            }
        );
        i.table_no = 2;
        assert!(decide(&i).is_admit());
        // Already voted still says so first: that is what the tilforordnede must know.
        let prior = PriorCheckIn {
            place: "p1".into(),
            table_no: 2,
            wall_ms: 1,
        };
        i.table_no = 1;
        i.prior = Some(&prior);
        assert!(matches!(decide(&i), Verdict::AlreadyVoted { .. }));
    }

    #[test]
    fn paper_mode_registers_nothing() {
        let v = voter("1", "p1");
        let mut i = input(found(&v), None);
        i.mode = PlaceMode::Papir;
        assert_eq!(decide(&i), Verdict::PaperMode);
    }
}
