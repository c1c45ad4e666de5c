//! The figures the election office reads: per polling place and table, and for the whole
//! municipality, read from the projections in one read transaction so every figure is of
//! the same moment.

use super::mode::{self, PlaceMode};
use crate::election::contest::{Contest, parse_contests};
use crate::store::read_snapshot::ReadSnapshot;
use crate::store::tally_queries::ElectorateCache;
use crate::store::{Store, StoreError};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

const HOUR_MS: i64 = 3_600_000;

/// Eligible voters, brevstemmer, checked in, their sum and the turnout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Voters on the list who are not struck.
    pub eligible: i64,
    /// Accepted brevstemmer (they count from opening).
    pub brevstemmer: i64,
    /// Persons checked in (each once, however many tables registered them).
    pub checked_in: i64,
    pub total: i64,
    /// Turnout in percent, one decimal.
    pub percent: f64,
}

impl Figures {
    pub fn new(eligible: i64, brevstemmer: i64, checked_in: i64) -> Figures {
        let total = brevstemmer + checked_in;
        Figures {
            eligible,
            brevstemmer,
            checked_in,
            total,
            percent: percent(total, eligible),
        }
    }

    pub fn add(&mut self, o: &Figures) {
        *self = Figures::new(
            self.eligible + o.eligible,
            self.brevstemmer + o.brevstemmer,
            self.checked_in + o.checked_in,
        );
    }
}

pub fn percent(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ContestCount {
    pub contest: Contest,
    pub name: &'static str,
    /// Persons who got this contest's ballot.
    pub persons: i64,
}

/// One table as read from the projections (contact and health are added by the caller).
#[derive(Debug, Clone, Default, Serialize)]
pub struct TableFigures {
    pub table_no: u32,
    /// Danish, agreeing with "bord": "åbent", "holder pause", "lukket", "ikke åbnet".
    pub state: String,
    /// Check-ins in force at this table.
    pub checkins: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlaceFigures {
    pub id: String,
    pub name: String,
    pub mode: PlaceMode,
    pub mode_text: &'static str,
    pub figures: Figures,
    pub per_contest: Vec<ContestCount>,
    pub double_registrations: i64,
    pub reissued_cards: i64,
    pub tables: Vec<TableFigures>,
}

/// Everything read from the database for the overview.
#[derive(Debug, Clone, Serialize)]
pub struct Tally {
    pub places: Vec<PlaceFigures>,
    pub total: Figures,
    pub total_per_contest: Vec<ContestCount>,
    pub double_registrations: i64,
    pub reissued_cards: i64,
}

/// Sorts polling-place ids as numbers when they are numbers ("2" before "10").
pub fn place_order(id: &str) -> (u64, String) {
    (id.parse::<u64>().unwrap_or(u64::MAX), id.to_string())
}

/// The polling places of the list (id, name), in order.
fn places(snap: &ReadSnapshot<'_>) -> Result<Vec<(String, String)>, StoreError> {
    let mut v = snap.places()?;
    v.sort_by_key(|(id, _)| place_order(id));
    Ok(v)
}

/// Reads the tally. `tables` are the configured tables per place, so a table that has
/// sent nothing yet is shown too.
pub fn read(
    reader: &Store,
    tables: &BTreeMap<String, Vec<u32>>,
    cache: &ElectorateCache,
) -> Result<Tally, StoreError> {
    let snap = reader.read_snapshot()?;
    let places = places(&snap)?;
    let electorate = cache.get(&snap)?;
    let checked = snap.checked_in_per_place()?;
    let doubles = snap.doubles_per_place()?;
    let reissued = snap.reissued_per_place()?;
    let mut per_contest = per_contest(&snap)?;
    let mut table_rows = table_rows(&snap)?;
    let modes = snap.place_modes()?;
    snap.finish()?;

    let mut total = Figures::default();
    let mut total_contest: BTreeMap<Contest, i64> = BTreeMap::new();
    let mut out = Vec::new();
    for (id, name) in places {
        let (eligible, brev) = electorate.get(&id).copied().unwrap_or_default();
        let (persons, _) = checked.get(&id).copied().unwrap_or_default();
        let figures = Figures::new(eligible, brev, persons);
        total.add(&figures);
        let contests = per_contest.remove(&id).unwrap_or_default();
        for (c, n) in &contests {
            *total_contest.entry(*c).or_default() += n;
        }
        let tables = place_tables(&id, tables, &mut table_rows);
        let mode = modes.get(&id).copied().unwrap_or_default();
        out.push(PlaceFigures {
            figures,
            per_contest: counts(contests),
            double_registrations: doubles.get(&id).map_or(0, |d| d.0),
            reissued_cards: reissued.get(&id).map_or(0, |d| d.0),
            mode,
            mode_text: mode::office_text(mode),
            tables,
            id,
            name,
        });
    }
    Ok(Tally {
        double_registrations: out.iter().map(|p| p.double_registrations).sum(),
        reissued_cards: out.iter().map(|p| p.reissued_cards).sum(),
        places: out,
        total,
        total_per_contest: counts(total_contest),
    })
}

/// Persons per contest and place: the ballots of the check-in in force (a paper
/// registration records none: every contest the voter may vote in).
fn per_contest(
    snap: &ReadSnapshot<'_>,
) -> Result<HashMap<String, BTreeMap<Contest, i64>>, StoreError> {
    let mut per_contest: HashMap<String, BTreeMap<Contest, i64>> = HashMap::new();
    for (place, set, n) in snap.persons_per_contest_set()? {
        let m = per_contest.entry(place).or_default();
        for c in parse_contests(&set).map_err(|e| StoreError::Invalid(e.to_string()))? {
            *m.entry(c).or_default() += n;
        }
    }
    Ok(per_contest)
}

/// Every table that has checked anyone in or has a state, by (place, table).
fn table_rows(snap: &ReadSnapshot<'_>) -> Result<HashMap<(String, u32), TableFigures>, StoreError> {
    let mut table_rows: HashMap<(String, u32), TableFigures> = HashMap::new();
    for (key, n) in snap.checkins_per_table()? {
        table_rows.entry(key).or_default().checkins = n;
    }
    for (place, no, state) in snap.table_states()? {
        table_rows.entry((place, no)).or_default().state = state_text(&state).into();
    }
    Ok(table_rows)
}

/// The tables of place `id`: the configured ones and any other that reported, in
/// number order.
fn place_tables(
    id: &str,
    tables: &BTreeMap<String, Vec<u32>>,
    table_rows: &mut HashMap<(String, u32), TableFigures>,
) -> Vec<TableFigures> {
    let mut numbers: Vec<u32> = tables.get(id).cloned().unwrap_or_default();
    for (p, no) in table_rows.keys() {
        if *p == id && !numbers.contains(no) {
            numbers.push(*no);
        }
    }
    numbers.sort();
    numbers
        .into_iter()
        .map(|no| {
            let mut t = table_rows.remove(&(id.to_string(), no)).unwrap_or_default();
            t.table_no = no;
            if t.state.is_empty() {
                t.state = state_text("").into();
            }
            t
        })
        .collect()
}

fn counts(m: BTreeMap<Contest, i64>) -> Vec<ContestCount> {
    m.into_iter()
        .map(|(contest, persons)| ContestCount {
            contest,
            name: contest.danish_name(),
            persons,
        })
        .collect()
}

fn state_text(state: &str) -> &'static str {
    match state {
        "open" => "åbent",
        "paused" => "holder pause",
        "closed" => "lukket",
        _ => "ikke åbnet",
    }
}

/// Turnout over the day: the percentage at each whole hour, per place and in total.
#[derive(Debug, Clone, Serialize)]
pub struct Turnout {
    /// The moments of the points (ms): each whole hour, then now.
    pub at_ms: Vec<i64>,
    pub places: Vec<Series>,
    pub total: Series,
}

#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub id: String,
    pub name: String,
    pub percent: Vec<f64>,
}

/// Reads the turnout curve from the hourly check-in counts, from `from_ms` to `to_ms`
/// (the last point is `to_ms` itself). Brevstemmer count from opening.
pub fn turnout(
    reader: &Store,
    from_ms: i64,
    to_ms: i64,
    cache: &ElectorateCache,
) -> Result<Turnout, StoreError> {
    let snap = reader.read_snapshot()?;
    let places = places(&snap)?;
    let electorate = cache.get(&snap)?;
    let mut hourly: HashMap<String, BTreeMap<i64, i64>> = HashMap::new();
    for (place, hour, n) in snap.checkins_per_hour()? {
        hourly.entry(place).or_default().insert(hour, n);
    }
    snap.finish()?;
    let mut at_ms = Vec::new();
    let mut t = from_ms.div_euclid(HOUR_MS) * HOUR_MS;
    while t < to_ms && at_ms.len() < 48 {
        if t >= from_ms {
            at_ms.push(t);
        }
        t += HOUR_MS;
    }
    at_ms.push(to_ms.max(from_ms));
    // Check-ins up to a moment: whole hours before it (the hour in progress counts at
    // the "now" point, as the hourly counts are whole hours).
    let upto = |h: &BTreeMap<i64, i64>, at: i64| -> i64 {
        let hour = at.div_euclid(HOUR_MS);
        let whole = at.rem_euclid(HOUR_MS) == 0;
        h.range(..if whole { hour } else { hour + 1 })
            .map(|(_, n)| n)
            .sum()
    };
    let empty = BTreeMap::new();
    let mut series = Vec::new();
    let mut total_counts = vec![0i64; at_ms.len()];
    let (mut eligible_all, mut brev_all) = (0, 0);
    for (id, name) in places {
        let (eligible, brev) = electorate.get(&id).copied().unwrap_or_default();
        eligible_all += eligible;
        brev_all += brev;
        let h = hourly.get(&id).unwrap_or(&empty);
        let mut percent_v = Vec::with_capacity(at_ms.len());
        for (i, at) in at_ms.iter().enumerate() {
            let n = upto(h, *at);
            total_counts[i] += n;
            percent_v.push(percent(brev + n, eligible));
        }
        series.push(Series {
            id,
            name,
            percent: percent_v,
        });
    }
    Ok(Turnout {
        total: Series {
            id: String::new(),
            name: "Hele kommunen".into(),
            percent: total_counts
                .iter()
                .map(|n| percent(brev_all + n, eligible_all))
                .collect(),
        },
        places: series,
        at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_has_one_decimal_and_survives_an_empty_place() {
        assert_eq!(percent(1, 3), 33.3);
        assert_eq!(percent(2, 3), 66.7);
        assert_eq!(percent(5, 0), 0.0);
        let f = Figures::new(200, 20, 30);
        assert_eq!((f.total, f.percent), (50, 25.0));
    }

    #[test]
    fn places_sort_as_numbers() {
        let mut v = vec!["10", "2", "1", "b", "a"];
        v.sort_by_key(|s| place_order(s));
        assert_eq!(v, ["1", "2", "10", "a", "b"]);
    }
}
