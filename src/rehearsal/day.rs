//! Who comes to the polling place on the rehearsed day, with what errand, and when.
//! Pure and seeded: the same list and seed give the same day.

use crate::election::voter::Voter;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The day runs from 08:00 to 20:00: 720 simulated minutes.
pub const OPEN_MIN: f64 = 8.0 * 60.0;
pub const DAY_MINUTES: f64 = 12.0 * 60.0;

/// Arrivals per half hour from 08:00, in per cent of the electorate per hour: a quiet
/// morning, a lunch bump, the peak of about 7 % an hour between 16:00 and 19:30, and a
/// last half hour of stragglers. Sums to 64 % of the electorate voting in person.
pub const CURVE: [f64; 24] = [
    3.0, 4.0, // 08
    4.5, 4.5, // 09
    5.0, 5.0, // 10
    5.0, 5.0, // 11
    5.0, 5.0, // 12
    4.5, 4.5, // 13
    4.5, 4.5, // 14
    5.0, 5.0, // 15
    7.0, 7.0, // 16
    7.0, 7.0, // 17
    7.0, 7.0, // 18
    7.0, 5.0, // 19
];

/// Why someone comes to a table.
#[derive(Debug, Clone)]
pub enum Errand {
    /// Hands over the valgkort: scanned, birthdate asked, confirmed.
    Vote { voter: usize },
    /// Has no card: the valgsekretær finds them by name and birthdate and checks them in.
    NoCard { voter: usize },
    /// Lost the card: a replacement is printed; with `probe`, the old card turns up
    /// first (it must be refused) before the new one is used.
    LostCard { voter: usize, probe: bool },
    /// Must be refused with `expect` (brevstemme, struck, wrong_place, unknown_card).
    Refused {
        voter: Option<usize>,
        code: String,
        expect: &'static str,
    },
    /// Comes back to vote again at another table.
    Repeat {
        voter: usize,
        first_table: usize,
        first_sim: f64,
        /// Sent across a LAN split on purpose: admitted there, flagged afterwards.
        across_split: bool,
    },
}

impl Errand {
    pub fn voter(&self) -> Option<usize> {
        match self {
            Errand::Vote { voter }
            | Errand::NoCard { voter }
            | Errand::LostCard { voter, .. }
            | Errand::Repeat { voter, .. } => Some(*voter),
            Errand::Refused { voter, .. } => *voter,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Errand::Vote { .. } => "valgkort",
            Errand::NoCard { .. } => "uden kort (søgning)",
            Errand::LostCard { .. } => "mistet kort (genudstedt)",
            Errand::Refused { expect, .. } => match *expect {
                "brevstemme" => "brevstemmer",
                "struck" => "slettet af listen",
                "wrong_place" => "forkert valgsted",
                _ => "ukendt stregkode",
            },
            Errand::Repeat { .. } => "forsøger igen",
        }
    }
}

/// One arrival: when (simulated minutes since midnight) and why.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub sim: f64,
    pub errand: Errand,
    /// This voter will come back later at another table.
    pub repeats: bool,
}

/// The day's arrivals, sorted by time. `voters` is the whole list; `place` the polling
/// place rehearsed (voters of the others come to the wrong place).
pub fn plan(voters: &[Voter], place: &str, seed: u64) -> Vec<Arrival> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xda7);
    let here: Vec<usize> = (0..voters.len())
        .filter(|&i| voters[i].place == place)
        .collect();
    let electorate = here.len();
    let mut eligible: Vec<usize> = here
        .iter()
        .copied()
        .filter(|&i| !voters[i].brevstemme && voters[i].struck.is_none())
        .collect();
    eligible.shuffle(&mut rng);
    let in_person = ((CURVE.iter().sum::<f64>() / 2.0 / 100.0) * electorate as f64) as usize;
    let mut out = Vec::new();
    for &v in eligible.iter().take(in_person) {
        let roll: f64 = rng.random();
        let errand = if roll < 0.03 {
            Errand::NoCard { voter: v }
        } else if roll < 0.04 {
            Errand::LostCard {
                voter: v,
                probe: rng.random_bool(0.5),
            }
        } else {
            Errand::Vote { voter: v }
        };
        let repeats = rng.random_bool(0.005);
        out.push((errand, repeats));
    }
    // Struck voters (half of them), brevstemmer who come anyway (one in five).
    for &v in &here {
        // Struck comes first: the table names that reason when both hold.
        if voters[v].struck.is_some() {
            if rng.random_bool(0.5) {
                out.push((refused(voters, v, "struck"), false));
            }
        } else if voters[v].brevstemme && rng.random_bool(0.2) {
            out.push((refused(voters, v, "brevstemme"), false));
        }
    }
    // Voters of another polling place (1 % of the electorate) and unreadable or
    // foreign barcodes (0.2 %).
    let elsewhere: Vec<usize> = (0..voters.len())
        .filter(|&i| voters[i].place != place && voters[i].struck.is_none())
        .collect();
    if !elsewhere.is_empty() {
        for _ in 0..electorate / 100 {
            let v = elsewhere[rng.random_range(0..elsewhere.len())];
            out.push((refused(voters, v, "wrong_place"), false));
        }
    }
    for i in 0..electorate / 500 {
        out.push((
            Errand::Refused {
                voter: None,
                code: format!("57000{:08}", i * 7919 % 100_000_000),
                expect: "unknown_card",
            },
            false,
        ));
    }
    out.shuffle(&mut rng);
    let mut arrivals: Vec<Arrival> = out
        .into_iter()
        .map(|(errand, repeats)| Arrival {
            sim: arrival_time(&mut rng),
            errand,
            repeats,
        })
        .collect();
    arrivals.sort_by(|a, b| a.sim.total_cmp(&b.sim));
    arrivals
}

fn refused(voters: &[Voter], v: usize, expect: &'static str) -> Errand {
    Errand::Refused {
        voter: Some(v),
        code: voters[v].card_code.clone(),
        expect,
    }
}

/// A time drawn from the curve: a half hour in proportion to its rate, then uniformly
/// within it.
fn arrival_time(rng: &mut ChaCha8Rng) -> f64 {
    let total: f64 = CURVE.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (slot, rate) in CURVE.iter().enumerate() {
        if x < *rate {
            return OPEN_MIN + slot as f64 * 30.0 + rng.random::<f64>() * 30.0;
        }
        x -= rate;
    }
    OPEN_MIN + DAY_MINUTES - 1.0
}

/// "HH:MM" of a simulated time.
pub fn hhmm(sim: f64) -> String {
    let m = sim.max(0.0) as u64;
    format!("{:02}:{:02}", m / 60, m % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::voter_list;
    use crate::store::generate;

    fn list(n: u64) -> Vec<Voter> {
        let mut bytes = Vec::new();
        generate::write_list(&mut bytes, n, 3, 2, generate::DEFAULT_CONTESTS).unwrap();
        voter_list::parse(&bytes, |_| {}).unwrap().voters
    }

    #[test]
    fn the_peak_is_about_seven_per_cent_an_hour_between_16_and_19_30() {
        let voters = list(20_000);
        let place = generate::place_id(0);
        let electorate = voters.iter().filter(|v| v.place == place).count() as f64;
        let day = plan(&voters, &place, 1);
        let per_hour = |h: f64| {
            day.iter()
                .filter(|a| a.sim >= h * 60.0 && a.sim < (h + 1.0) * 60.0)
                .filter(|a| !matches!(a.errand, Errand::Refused { .. }))
                .count() as f64
                / electorate
        };
        for h in [16.0, 17.0, 18.0] {
            let share = per_hour(h);
            assert!((0.06..0.08).contains(&share), "{h}: {share}");
        }
        assert!(per_hour(8.0) < 0.045, "{}", per_hour(8.0));
        assert!(
            day.iter()
                .all(|a| (OPEN_MIN..OPEN_MIN + DAY_MINUTES).contains(&a.sim))
        );
        // Every kind of errand occurs, and no brevstemmer is sent to vote.
        for label in [
            "valgkort",
            "uden kort (søgning)",
            "mistet kort (genudstedt)",
            "brevstemmer",
            "forkert valgsted",
            "ukendt stregkode",
        ] {
            assert!(day.iter().any(|a| a.errand.label() == label), "{label}");
        }
        for a in &day {
            if let Errand::Vote { voter } = a.errand {
                assert!(!voters[voter].brevstemme && voters[voter].place == place);
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_day() {
        let voters = list(2_000);
        let a = plan(&voters, &generate::place_id(0), 7);
        let b = plan(&voters, &generate::place_id(0), 7);
        assert_eq!(a.len(), b.len());
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.sim == y.sim && x.errand.voter() == y.errand.voter())
        );
    }
}
