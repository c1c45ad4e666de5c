//! Deterministic synthetic voter lists for the demo, tests and benchmarks.
//!
//! Same count, seed and places give the same file byte for byte (ChaCha8 is portable
//! across platforms and crate versions), so a benchmark or a failing test can be rerun.

use crate::election::voter_list::Column;
use chrono::{Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;

const MALE: &[&str] = &[
    "Peter",
    "Jens",
    "Lars",
    "Michael",
    "Henrik",
    "Søren",
    "Thomas",
    "Jan",
    "Niels",
    "Anders",
    "Rasmus",
    "Jesper",
    "Morten",
    "Hans",
    "Jørgen",
    "Mads",
    "Per",
    "Christian",
    "Martin",
    "Ole",
    "Kim",
    "Erik",
    "Frederik",
    "Mikkel",
    "Poul",
    "Bent",
    "Jakob",
    "Kasper",
    "Torben",
    "Carsten",
    "Nikolaj",
    "Emil",
    "Mathias",
    "Oliver",
    "William",
    "Lucas",
    "Aage",
    "Åge",
    "Bjørn",
    "Knud",
    "Steen",
    "Flemming",
    "Kristian",
    "Bo",
    "Finn",
    "René",
    "Jørn",
    "Gunnar",
    "Holger",
    "Viggo",
];
const FEMALE: &[&str] = &[
    "Anne",
    "Kirsten",
    "Mette",
    "Hanne",
    "Helle",
    "Susanne",
    "Lene",
    "Marianne",
    "Camilla",
    "Lone",
    "Louise",
    "Pia",
    "Charlotte",
    "Tina",
    "Maria",
    "Gitte",
    "Inge",
    "Bente",
    "Karen",
    "Julie",
    "Ida",
    "Emma",
    "Sofie",
    "Freja",
    "Signe",
    "Maja",
    "Astrid",
    "Birgitte",
    "Dorthe",
    "Else",
    "Grethe",
    "Ingrid",
    "Jytte",
    "Kamilla",
    "Lærke",
    "Mia",
    "Nanna",
    "Rikke",
    "Sørine",
    "Trine",
    "Vibeke",
    "Åse",
    "Ærtebjørg",
    "Zenia",
    "Ellen",
    "Hjørdis",
    "Bodil",
    "Agnete",
    "Randi",
    "Ulla",
];
const MIDDLE: &[&str] = &[
    "Marie",
    "Louise",
    "Kristine",
    "Sofie",
    "Emilie",
    "Christian",
    "Peter",
    "Johan",
    "Emil",
    "Valdemar",
    "Elisabeth",
    "Margrethe",
];
const SURNAMES: &[&str] = &[
    "Nielsen",
    "Jensen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Petersen",
    "Madsen",
    "Kristensen",
    "Olsen",
    "Thomsen",
    "Christiansen",
    "Poulsen",
    "Johansen",
    "Møller",
    "Mortensen",
    "Knudsen",
    "Jakobsen",
    "Mikkelsen",
    "Olesen",
    "Frederiksen",
    "Laursen",
    "Henriksen",
    "Lund",
    "Schmidt",
    "Eriksen",
    "Holm",
    "Kristiansen",
    "Clausen",
    "Simonsen",
    "Svendsen",
    "Andreasen",
    "Iversen",
    "Østergaard",
    "Jeppesen",
    "Vestergaard",
    "Nissen",
    "Lauridsen",
    "Kjær",
    "Jepsen",
    "Mogensen",
    "Nørgaard",
    "Jessen",
    "Søndergaard",
    "Bertelsen",
    "Ågård",
    "Aagaard",
    "Bæk",
    "Dahl",
    "Friis",
    "Grønlund",
    "Hjort",
    "Krøyer",
    "Lykke",
    "Skovgaard",
    "Ærenlund",
    "Özdemir",
    "Nguyen",
    "Ahmed",
];
const STREETS: &[&str] = &[
    "Skolevej",
    "Kirkevej",
    "Møllevej",
    "Vestergade",
    "Østergade",
    "Nørregade",
    "Søndergade",
    "Storegade",
    "Bygaden",
    "Åboulevarden",
    "Ærøvej",
    "Egevej",
    "Birkevej",
    "Bøgevej",
    "Stationsvej",
    "Strandvejen",
    "Skovvej",
    "Engvej",
    "Industrivej",
    "Havnegade",
    "Torvet",
    "Rosenvænget",
    "Kløvervej",
    "Lærkevej",
    "Solsikkevej",
    "Ålholmvej",
    "Fælledvej",
    "Grønnegade",
    "Hørsholmvej",
    "Kongensgade",
    "Dronningensgade",
    "Jernbanegade",
    "Tværgade",
];
const TOWNS: &[(&str, &str)] = &[
    ("8000", "Aarhus C"),
    ("8200", "Aarhus N"),
    ("8210", "Aarhus V"),
    ("8220", "Brabrand"),
    ("8230", "Åbyhøj"),
    ("8240", "Risskov"),
    ("8260", "Viby J"),
    ("8270", "Højbjerg"),
    ("8310", "Tranbjerg J"),
    ("8320", "Mårslet"),
    ("8330", "Beder"),
    ("8361", "Hasselager"),
    ("8380", "Trige"),
    ("8381", "Tilst"),
    ("8462", "Harlev J"),
    ("8520", "Lystrup"),
    ("8541", "Skødstrup"),
];
/// The synthetic polling places: name and street address (in Aarhus, as the list's
/// streets), so a refusal at the demo's and the rehearsal's tables names the address of
/// the voter's own place as a real election package does.
const PLACES: &[(&str, &str)] = &[
    ("Rådhushallen", "Rådhuspladsen 2"),
    ("Vestre Skole", "Skolevej 2"),
    ("Østre Skole", "Østergade 40"),
    ("Nørrebro Hallen", "Nørrebrogade 20"),
    ("Søndervangskolen", "Søndervangs Allé 7"),
    ("Åby Idrætscenter", "Åbyvej 45"),
    ("Kulturhuset Møllen", "Møllevej 9"),
    ("Bibliotekssalen", "Biblioteksvej 1"),
    ("Frederiksbjerg Skole", "Frederiks Allé 150"),
    ("Ellevangskolen", "Ellevangsvej 3"),
    ("Tranbjergskolen", "Tranbjergvej 30"),
    ("Skæring Skole", "Skæringvej 10"),
];

pub const DEFAULT_CONTESTS: &str = "KV+RV";

/// The day ages are counted from, fixed so lists stay deterministic.
pub fn reference_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default()
}

/// Card codes: a bijection of the index onto 12 digits (multiplier coprime to 10^12),
/// so codes look random but never collide.
pub fn card_code(index: u64, seed: u64) -> String {
    const M: u64 = 1_000_000_000_000;
    let v = ((index as u128 * 600_000_000_007u128 + (seed as u128 % M as u128) * 7 + 13)
        % M as u128) as u64;
    format!("{v:012}")
}

pub fn place_id(p: u32) -> String {
    format!("{}", p + 1)
}

pub fn place_name(p: u32) -> String {
    let base = PLACES[p as usize % PLACES.len()].0;
    match p as usize / PLACES.len() {
        0 => base.to_string(),
        round => format!("{base} {}", round + 1),
    }
}

/// The street address of synthetic place `p` (places past the named ones get another
/// house number on the same streets).
pub fn place_address(p: u32) -> String {
    let (_, street) = PLACES[p as usize % PLACES.len()];
    match p as usize / PLACES.len() {
        0 => format!("{street}, 8000 Aarhus C"),
        round => format!(
            "{street}{}, 8000 Aarhus C",
            char::from(b'A' + (round % 26) as u8)
        ),
    }
}

/// Every place's address of a list written with `places` places, by place id: what the
/// office gives `election new --place-address` for a real list.
pub fn place_addresses(places: u32) -> std::collections::BTreeMap<String, String> {
    (0..places)
        .map(|p| (place_id(p), place_address(p)))
        .collect()
}

/// Writes a list of `count` voters spread over `places` polling places.
pub fn write_list(
    out: &mut impl Write,
    count: u64,
    seed: u64,
    places: u32,
    contests: &str,
) -> std::io::Result<()> {
    write_list_abroad(out, count, seed, places, contests, 0.0)
}

/// Addresses abroad as a municipality's extract gives them: (adresse, postnr, by, land).
const ABROAD: &[(&str, &str, &str, &str)] = &[
    ("Hauptstraße 5", "10115", "Berlin", "DE"),
    ("Storgatan 12", "111 22", "Stockholm", "SE"),
    ("12 Rue de Rivoli", "75001", "Paris", "FR"),
    ("10 High Street", "SW1A 1AA", "London", "GB"),
    ("Calle Mayor 3", "28013", "Madrid", "ES"),
    ("Karl Johans gate 7", "0154", "Oslo", "NO"),
];

/// As [`write_list`], with about `abroad` percent of the voters living abroad (and one
/// in seven of those instead without a fixed address), so benches and demos meet the
/// rows a real FV, FA or EP extract has. With `abroad` above 0 the file has the `land`
/// column; at 0 it is the same file as `write_list` writes.
pub fn write_list_abroad(
    out: &mut impl Write,
    count: u64,
    seed: u64,
    places: u32,
    contests: &str,
    abroad: f64,
) -> std::io::Result<()> {
    let places = places.max(1);
    let abroad = (abroad / 100.0).clamp(0.0, 1.0);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let header: Vec<&str> = Column::ALL
        .iter()
        .filter(|c| abroad > 0.0 || **c != Column::Country)
        .map(|c| c.header())
        .collect();
    writeln!(out, "{}", header.join(";"))?;
    let mut list_no = vec![0u32; places as usize];
    let reference = reference_date();
    let rv_only = contests.contains("RV") && contests.contains("KV");
    let mut line = String::with_capacity(256);
    for i in 0..count {
        // Voters are grouped by polling place as the municipality would export them.
        let p = ((i * places as u64) / count.max(1)) as u32;
        list_no[p as usize] += 1;
        let male = rng.random_bool(0.5);
        let first = if male {
            MALE[rng.random_range(0..MALE.len())]
        } else {
            FEMALE[rng.random_range(0..FEMALE.len())]
        };
        let mut first_names = first.to_string();
        if rng.random_bool(0.3) {
            first_names.push(' ');
            first_names.push_str(MIDDLE[rng.random_range(0..MIDDLE.len())]);
        }
        let mut last = SURNAMES[rng.random_range(0..SURNAMES.len())].to_string();
        if rng.random_bool(0.12) {
            last = format!("{}-{}", SURNAMES[rng.random_range(0..SURNAMES.len())], last);
        }
        let age_days = rng.random_range(18 * 365 + 5..105 * 365);
        let birth = reference - Duration::days(age_days);
        let (postcode, town) = TOWNS[(p as usize * 3 + rng.random_range(0..3)) % TOWNS.len()];
        let street = STREETS[rng.random_range(0..STREETS.len())];
        let number = rng.random_range(1..180);
        let mut address = format!("{street} {number}");
        match rng.random_range(0..10) {
            0..=2 => address.push_str(&format!(
                ", {}. {}",
                rng.random_range(1..6),
                ["th", "tv", "mf"][rng.random_range(0..3)]
            )),
            3 => address.push_str(", st."),
            _ => {}
        }
        // Drawn only when asked for, so a list without them is the same file as before.
        let (mut postcode, mut town, mut land) = (postcode.to_string(), town.to_string(), "");
        if abroad > 0.0 && rng.random_bool(abroad) {
            if rng.random_range(0..7) == 0 {
                (address, postcode, town) = (String::new(), String::new(), String::new());
            } else {
                let (a, pc, t, l) = ABROAD[rng.random_range(0..ABROAD.len())];
                (address, postcode, town, land) = (a.into(), pc.into(), t.into(), l);
            }
        }
        let brevstemme = rng.random_bool(0.10);
        let voter_contests = if rv_only && rng.random_bool(0.01) {
            "RV"
        } else {
            contests
        };
        let struck = if rng.random_bool(0.002) {
            ["død", "fraflyttet", "mistet valgret"][rng.random_range(0..3)]
        } else {
            ""
        };
        line.clear();
        use std::fmt::Write as _;
        let _ = write!(
            line,
            "V{:08};{};{};{};{};{};{};{};{};{};{};{};{};{};{};{}",
            i + 1,
            list_no[p as usize],
            last.chars()
                .next()
                .map(|c| c.to_uppercase().to_string())
                .unwrap_or_default(),
            first_names,
            last,
            birth.format("%d-%m-%Y"),
            if male { "M" } else { "K" },
            address,
            postcode,
            town,
            place_id(p),
            place_name(p),
            card_code(i, seed),
            voter_contests,
            if brevstemme { "ja" } else { "nej" },
            struck
        );
        if abroad > 0.0 {
            line.push(';');
            line.push_str(land);
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::voter_list::parse;

    #[test]
    fn same_seed_same_bytes_and_the_list_imports() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        write_list(&mut a, 2000, 7, 3, DEFAULT_CONTESTS).unwrap();
        write_list(&mut b, 2000, 7, 3, DEFAULT_CONTESTS).unwrap();
        assert_eq!(a, b);
        let list = parse(&a, |_| {}).unwrap();
        assert_eq!(list.voters.len(), 2000);
        assert_eq!(list.places.len(), 3);
        let brev = list.voters.iter().filter(|v| v.brevstemme).count();
        assert!(
            (120..=280).contains(&brev),
            "about 10 % brevstemmer, got {brev}"
        );
        assert!(list.voters.iter().any(|v| v.last_name.contains('-')));
        assert!(list.voters.iter().any(|v| v.contests.len() == 1));
    }

    #[test]
    fn a_list_with_voters_abroad_imports_and_without_them_is_unchanged() {
        let mut plain = Vec::new();
        let mut zero = Vec::new();
        let mut some = Vec::new();
        write_list(&mut plain, 500, 7, 1, "FV").unwrap();
        write_list_abroad(&mut zero, 500, 7, 1, "FV", 0.0).unwrap();
        write_list_abroad(&mut some, 500, 7, 1, "FV", 10.0).unwrap();
        assert_eq!(plain, zero);
        let list = parse(&some, |_| {}).unwrap();
        let abroad = list.voters.iter().filter(|v| !v.country.is_empty()).count();
        let no_fixed = list.voters.iter().filter(|v| v.address.is_empty()).count();
        assert!(
            (20..=80).contains(&abroad),
            "about 10 % abroad, got {abroad}"
        );
        assert!(no_fixed > 0 && no_fixed < abroad, "{no_fixed} of {abroad}");
    }

    #[test]
    fn card_codes_do_not_collide() {
        let codes: std::collections::HashSet<_> = (0..100_000).map(|i| card_code(i, 1)).collect();
        assert_eq!(codes.len(), 100_000);
    }
}
