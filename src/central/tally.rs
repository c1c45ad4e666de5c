//! The figures the election office reads: per polling place and table, and for the whole
//! municipality, read from the projections in one read transaction so every figure is of
//! the same moment.

use super::mode::{self, PlaceMode};
use crate::election::contest::{Contest, parse_contests};
use crate::store::StoreError;
use rusqlite::Connection;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

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
    /// Danish: "åben", "pause", "lukket", "ikke åbnet".
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

fn grouped(conn: &Connection, sql: &str) -> Result<HashMap<String, (i64, i64)>, rusqlite::Error> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            (
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?.unwrap_or(0),
            ),
        ))
    })?;
    rows.collect()
}

/// The polling places of the list (id, name), in order.
pub fn places(conn: &Connection) -> Result<Vec<(String, String)>, rusqlite::Error> {
    let mut stmt = conn.prepare_cached("SELECT id, name FROM places")?;
    let mut v: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    v.sort_by_key(|(id, _)| place_order(id));
    Ok(v)
}

/// The eligible voters and accepted brevstemmer of each place (from the list).
fn electorate(conn: &Connection) -> Result<HashMap<String, (i64, i64)>, rusqlite::Error> {
    grouped(
        conn,
        "SELECT place, COUNT(*), SUM(brevstemme) FROM voters WHERE struck IS NULL GROUP BY place",
    )
}

/// The eligible voters and brevstemmer per place, counted again only after an office
/// list change: counting a country's 4.3 M voters took 3.5 s of every overview.
#[derive(Default)]
pub struct ElectorateCache(std::sync::Mutex<Option<(i64, Arc<Electorate>)>>);

pub type Electorate = HashMap<String, (i64, i64)>;

impl ElectorateCache {
    /// The electorate as `conn` (in its transaction) sees the list.
    pub fn get(&self, conn: &Connection) -> Result<Arc<Electorate>, rusqlite::Error> {
        let changes: i64 = conn.query_row("SELECT COUNT(*) FROM list_changes", [], |r| r.get(0))?;
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((n, e)) = c.as_ref()
            && *n == changes
        {
            return Ok(e.clone());
        }
        let e = Arc::new(electorate(conn)?);
        *c = Some((changes, e.clone()));
        Ok(e)
    }
}

/// Reads the tally. `tables` are the configured tables per place, so a table that has
/// sent nothing yet is shown too.
pub fn read(
    conn: &Connection,
    tables: &BTreeMap<String, Vec<u32>>,
    cache: &ElectorateCache,
) -> Result<Tally, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let places = places(&tx)?;
    let electorate = cache.get(&tx)?;
    let checked = grouped(
        &tx,
        "SELECT place, COUNT(*), SUM(active > 1) FROM voter_status GROUP BY place",
    )?;
    let doubles = grouped(
        &tx,
        &format!(
            "SELECT s.place, COUNT(*), 0 FROM voter_status s WHERE s.active > 1 AND {}
             GROUP BY s.place",
            crate::store::queries::UNRESOLVED
        ),
    )?;
    let reissued = grouped(
        &tx,
        "SELECT v.place, COUNT(*), 0 FROM cards c JOIN voters v ON v.id=c.voter_id GROUP BY v.place",
    )?;
    // Persons per contest: the ballots of the check-in in force (a paper registration
    // records none: every contest the voter may vote in).
    let mut per_contest: HashMap<String, BTreeMap<Contest, i64>> = HashMap::new();
    {
        // Only the few paper registrations need the voter's row (a join over every
        // check-in of a country took 3 s).
        let mut stmt = tx.prepare_cached(
            "SELECT place, ballots, COUNT(*) FROM voter_status WHERE ballots != ''
             GROUP BY place, ballots
             UNION ALL
             SELECT s.place, v.contests, COUNT(*) FROM voter_status s
             JOIN voters v ON v.id=s.voter_id WHERE s.ballots = '' GROUP BY s.place, v.contests",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let place: String = r.get(0)?;
            let set: String = r.get(1)?;
            let n: i64 = r.get(2)?;
            let m = per_contest.entry(place).or_default();
            for c in parse_contests(&set).map_err(StoreError::Invalid)? {
                *m.entry(c).or_default() += n;
            }
        }
    }
    let mut table_rows: HashMap<(String, u32), TableFigures> = HashMap::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT place, table_no, SUM(checkins) FROM hourly GROUP BY place, table_no",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let (place, no, n): (String, u32, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            table_rows.entry((place, no)).or_default().checkins = n;
        }
        let mut stmt = tx.prepare_cached("SELECT place, table_no, state FROM table_state")?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let (place, no, state): (String, u32, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            table_rows.entry((place, no)).or_default().state = state_text(&state).into();
        }
    }
    let modes = mode::place_modes(&tx)?;
    tx.finish()?;

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
        let mut numbers: Vec<u32> = tables.get(&id).cloned().unwrap_or_default();
        for (p, no) in table_rows.keys() {
            if *p == id && !numbers.contains(no) {
                numbers.push(*no);
            }
        }
        numbers.sort();
        let tables = numbers
            .into_iter()
            .map(|no| {
                let mut t = table_rows.remove(&(id.clone(), no)).unwrap_or_default();
                t.table_no = no;
                if t.state.is_empty() {
                    t.state = state_text("").into();
                }
                t
            })
            .collect();
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
        "open" => "åben",
        "paused" => "pause",
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
    conn: &Connection,
    from_ms: i64,
    to_ms: i64,
    cache: &ElectorateCache,
) -> Result<Turnout, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let places = places(&tx)?;
    let electorate = cache.get(&tx)?;
    let mut hourly: HashMap<String, BTreeMap<i64, i64>> = HashMap::new();
    {
        let mut stmt = tx
            .prepare_cached("SELECT place, hour, SUM(checkins) FROM hourly GROUP BY place, hour")?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let (place, hour, n): (String, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            hourly.entry(place).or_default().insert(hour, n);
        }
    }
    tx.finish()?;
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
    fn the_electorate_is_counted_again_after_a_list_change() {
        let mut store = crate::store::Store::open_in_memory().unwrap();
        let mut list = Vec::new();
        crate::store::generate::write_list(&mut list, 200, 7, 2, "KV+RV").unwrap();
        store.import_file(&list, false, |_| {}).unwrap();
        let cache = ElectorateCache::default();
        let sum = |e: &Electorate| e.values().map(|e| e.0).sum::<i64>();
        let before = cache.get(&store.conn).unwrap();
        // Without a list change the cached counts stand, even if rows changed.
        let struck = store
            .conn
            .execute(
                "UPDATE voters SET struck='død' WHERE list_no=1 AND struck IS NULL",
                [],
            )
            .unwrap();
        assert!(struck > 0);
        assert!(Arc::ptr_eq(&before, &cache.get(&store.conn).unwrap()));
        // A list change (what struck the voters) makes it count again.
        store
            .conn
            .execute(
                "INSERT INTO list_changes VALUES('c1', 1, '2025-11-18', 'død', 'd', 1, 1, 1, 2)",
                [],
            )
            .unwrap();
        let after = cache.get(&store.conn).unwrap();
        assert_eq!(sum(&after), sum(&before) - struck as i64);
    }

    #[test]
    fn places_sort_as_numbers() {
        let mut v = vec!["10", "2", "1", "b", "a"];
        v.sort_by_key(|s| place_order(s));
        assert_eq!(v, ["1", "2", "10", "a", "b"]);
    }
}
