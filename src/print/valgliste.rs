//! The marked paper valgliste: the whole list of one polling place as a PDF, for the
//! paper fallback when the digital lists are down, and blank before the election.
//!
//! One snapshot, read in one SQLite read transaction on a second, read-only connection
//! (WAL lets it run beside the table's writer), so the marks, the counts on the cover
//! and the last sequence number per device all describe the same moment: whoever
//! enters the paper marks back afterwards knows exactly which check-ins the paper
//! already showed. The store reads the rows (`store::paper_list_queries`); this
//! module marks and lays them out.
//!
//! Marks: `X` in the box of each ballot handed out; `B` in every box of a voter whose
//! brevstemme was accepted (they may not vote in person); a struck voter is crossed
//! out and marked SLETTET; `–` where the voter has no vote in that contest. A blank list
//! has no X marks, but keeps B and SLETTET: those are part of the signed list itself,
//! known before opening, and a brevstemmer must be stopped on paper too (EP 2024).

use super::card::{ElectionInfo, danish_date};
use super::error::PrintError;
use super::pdf::{A4, Doc, Weight};
use crate::election::contest::{Contest, format_contests, parse_contests};
use crate::election::voter::address_line;
use crate::store::Store;
use crate::store::paper_list_queries::ListRow;
use crate::store::read_snapshot::ReadOnlyDb;
use chrono::{NaiveDate, TimeZone};
use std::path::Path;

/// One line of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub list_no: u32,
    pub list_part: String,
    pub name: String,
    /// Street, postcode and town.
    pub address: String,
    pub birthdate: NaiveDate,
    pub contests: Vec<Contest>,
    /// A brevstemme taken into account by the valgstyrere.
    pub brevstemme: bool,
    /// A brevstemme received, not yet decided: the voter may not get ballots before
    /// the valgstyrere decide.
    pub brevstemme_undecided: bool,
    pub struck: Option<String>,
    /// Contests whose ballot was handed out, when the voter is checked in.
    pub voted: Option<Vec<Contest>>,
}

/// What one list shows, read at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub place_id: String,
    pub place_name: String,
    pub taken_ms: i64,
    pub blank: bool,
    /// The contests of the day: one box each.
    pub contests: Vec<Contest>,
    pub rows: Vec<Row>,
    /// The highest sequence number of each device in the log (device hex, seq).
    pub versions: Vec<(String, u64)>,
}

/// The figures on the cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Every row of the list, struck ones included.
    pub listed: usize,
    /// Not struck.
    pub eligible: usize,
    pub brevstemmer: usize,
    pub checked_in: usize,
    pub struck: usize,
}

impl Snapshot {
    /// Reads the list of `place` (or of the only place in the database) from the
    /// database file of `store`.
    pub fn read(
        store: &Store,
        place: Option<&str>,
        contests: Option<Vec<Contest>>,
        blank: bool,
        now_ms: i64,
    ) -> Result<Snapshot, PrintError> {
        Snapshot::read_file(store.path(), place, contests, blank, now_ms)
    }

    /// As [`Snapshot::read`], from a database file.
    pub fn read_file(
        db: &Path,
        place: Option<&str>,
        contests: Option<Vec<Contest>>,
        blank: bool,
        now_ms: i64,
    ) -> Result<Snapshot, PrintError> {
        let db = ReadOnlyDb::open(db)?;
        // One read transaction: marks, counts and versions of the same moment.
        let snap = db.snapshot()?;
        let (place_id, place_name) = choose_place(snap.places()?, place)?;
        let rows = snap
            .paper_list(&place_id)?
            .into_iter()
            .map(|r| list_row(r, blank))
            .collect::<Result<Vec<Row>, PrintError>>()?;
        let versions = snap.versions()?;
        snap.finish()?;

        let contests = match contests {
            Some(c) => c,
            None => {
                let mut all: Vec<Contest> = Vec::new();
                for r in &rows {
                    for c in &r.contests {
                        if !all.contains(c) {
                            all.push(*c);
                        }
                    }
                }
                all.sort();
                all
            }
        };
        Ok(Snapshot {
            place_id,
            place_name,
            taken_ms: now_ms,
            blank,
            contests,
            rows,
            versions: if blank { Vec::new() } else { versions },
        })
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            listed: self.rows.len(),
            ..Counts::default()
        };
        for r in &self.rows {
            if r.struck.is_some() {
                c.struck += 1;
            } else {
                c.eligible += 1;
            }
            if r.brevstemme {
                c.brevstemmer += 1;
            }
            if r.voted.is_some() {
                c.checked_in += 1;
            }
        }
        c
    }

    /// Voters checked in per contest of the day (ballots handed out).
    pub fn per_contest(&self) -> Vec<(Contest, usize)> {
        self.contests
            .iter()
            .map(|c| {
                let n = self
                    .rows
                    .iter()
                    .filter(|r| r.voted.as_ref().is_some_and(|v| v.contains(c)))
                    .count();
                (*c, n)
            })
            .collect()
    }
}

/// The place asked for, or the only place in the database.
fn choose_place(
    places: Vec<(String, String)>,
    place: Option<&str>,
) -> Result<(String, String), PrintError> {
    match place {
        Some(p) => places
            .into_iter()
            .find(|(id, _)| id == p)
            .ok_or_else(|| PrintError::UnknownPlace(p.to_string())),
        None => match places.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(PrintError::Invalid(
                "the database holds no voter list".into(),
            )),
            many => {
                let ids: Vec<&str> = many.iter().map(|(id, _)| id.as_str()).collect();
                Err(PrintError::Invalid(format!(
                    "the database holds {} polling places ({}): choose one with --place",
                    ids.len(),
                    ids.join(", ")
                )))
            }
        },
    }
}

/// One stored voter as a line of the list (a blank list shows no check-ins).
fn list_row(r: ListRow, blank: bool) -> Result<Row, PrintError> {
    let contests = parse_contests(&r.contests).map_err(|e| PrintError::Store(e.to_string()))?;
    let voted = match r.ballots {
        None => None,
        // A paper registration records no ballots: every box of the voter.
        Some(b) if b.is_empty() => Some(contests.clone()),
        Some(b) => Some(parse_contests(&b).map_err(|e| PrintError::Store(e.to_string()))?),
    };
    let birth = r.birthdate;
    Ok(Row {
        list_no: r.list_no,
        list_part: r.list_part,
        name: format!("{} {}", r.first_names, r.last_name),
        address: address_line(&r.street, &r.postcode, &r.town, &r.country),
        birthdate: NaiveDate::parse_from_str(&birth, "%Y-%m-%d")
            .map_err(|e| PrintError::Store(format!("birthdate {birth}: {e}")))?,
        contests,
        brevstemme: r.brevstemme,
        brevstemme_undecided: r.brevstemme_undecided,
        struck: r.struck,
        voted: if blank { None } else { voted },
    })
}

/// Rows on one list page (A4, 8.5 pt type, 13.5 pt rows).
pub const ROWS_PER_PAGE: usize = 52;

const MARGIN: f32 = 28.0;
const ROW_H: f32 = 13.5;
const TEXT: f32 = 8.5;

/// Where the columns of a list page are: a narrow slot per contest box, the rest to
/// name and address (long double surnames and addresses with floor and side must not
/// be cut).
struct Columns {
    right: f32,
    no_right: f32,
    name: f32,
    addr: f32,
    birth: f32,
    boxes: f32,
    slot: f32,
    box_area: f32,
}

impl Columns {
    fn new(contests: usize) -> Columns {
        let (w, _) = A4;
        let right = w - MARGIN;
        let name = MARGIN + 36.0;
        let slot = (130.0 / contests.max(1) as f32).min(26.0);
        let box_area = slot * contests.max(2) as f32;
        let boxes = right - box_area;
        let birth = boxes - 54.0;
        Columns {
            right,
            no_right: MARGIN + 30.0,
            name,
            addr: name + (birth - name) * 0.46,
            birth,
            boxes,
            slot,
            box_area,
        }
    }

    /// The centre of contest box `i`.
    fn box_x(&self, i: usize) -> f32 {
        self.boxes + self.slot * (i as f32 + 0.5)
    }
}

/// The list as a PDF: a cover page, then the voters in list order.
pub fn render(s: &Snapshot, election: &ElectionInfo) -> Result<Vec<u8>, PrintError> {
    let title = format!("Valgliste {} {}", s.place_name, election.name);
    let mut d = Doc::new(A4, &title)?;
    cover(&mut d, s, election);

    let (_, h) = A4;
    let cols = Columns::new(s.contests.len());
    let header = format!(
        "Valgliste · {} ({}) · {}",
        s.place_name, s.place_id, election.name
    );
    let sub = if s.blank {
        "Blank liste: ingen er afkrydset som mødt".to_string()
    } else {
        format!("Øjebliksbillede {}", snapshot_time(s.taken_ms))
    };

    let chunks: Vec<&[Row]> = if s.rows.is_empty() {
        vec![&[]]
    } else {
        s.rows.chunks(ROWS_PER_PAGE).collect()
    };
    for chunk in chunks {
        d.new_page();
        let mut y = h - MARGIN - 10.0;
        d.text_fit(
            MARGIN,
            y,
            (10.0, 7.0),
            cols.right - MARGIN - 150.0,
            Weight::Bold,
            &header,
        );
        d.text_right(cols.right, y, 8.0, Weight::Regular, &sub);
        y -= 18.0;
        d.text_right(cols.no_right, y, 7.5, Weight::Bold, "Løbenr.");
        d.text(cols.name, y, 7.5, Weight::Bold, "Navn");
        d.text(cols.addr, y, 7.5, Weight::Bold, "Adresse");
        d.text(cols.birth, y, 7.5, Weight::Bold, "Fødselsdato");
        for (i, c) in s.contests.iter().enumerate() {
            d.text_centered(cols.box_x(i), y, 7.5, Weight::Bold, c.code());
        }
        y -= 4.0;
        d.line(MARGIN, y, cols.right, y, 0.8);
        for (i, r) in chunk.iter().enumerate() {
            list_line(&mut d, &cols, &s.contests, i, y - i as f32 * ROW_H, r);
        }
    }
    footers(&mut d, s, election, cols.right);
    d.finish()
}

/// Line `i` of a page, its top at `top`: number, name, address, birthdate and the
/// contest boxes with their marks (or the strike of a struck voter).
fn list_line(d: &mut Doc, cols: &Columns, contests: &[Contest], i: usize, top: f32, r: &Row) {
    let base = top - ROW_H + 4.0;
    if i % 2 == 1 {
        d.fill_rect_gray(MARGIN, top - ROW_H, cols.right - MARGIN, ROW_H, 0.92);
    }
    d.text_right(
        cols.no_right,
        base,
        TEXT,
        Weight::Regular,
        &r.list_no.to_string(),
    );
    d.text_fit(
        cols.name,
        base,
        (TEXT, 6.0),
        cols.addr - cols.name - 6.0,
        Weight::Regular,
        &r.name,
    );
    d.text_fit(
        cols.addr,
        base,
        (TEXT, 6.0),
        cols.birth - cols.addr - 6.0,
        Weight::Regular,
        &r.address,
    );
    d.text(cols.birth, base, TEXT, Weight::Regular, &dmy(r.birthdate));
    if let Some(reason) = &r.struck {
        d.line(cols.name, base + 3.0, cols.boxes - 4.0, base + 3.0, 0.7);
        // The reason when it fits, else only the word.
        let full = format!("SLETTET ({reason})");
        let text = if d.text_width(&full, 5.5) <= cols.box_area {
            full
        } else {
            "SLETTET".to_string()
        };
        d.text_fit(
            cols.boxes,
            base,
            (7.0, 5.5),
            cols.box_area,
            Weight::Bold,
            &text,
        );
        return;
    }
    for (k, c) in contests.iter().enumerate() {
        let cx = cols.box_x(k);
        if !r.contests.contains(c) {
            d.text_centered(cx, base, TEXT, Weight::Regular, "–");
            continue;
        }
        let side = 9.5;
        d.rect(cx - side / 2.0, base - 2.5, side, side, 0.6);
        let mark = if r.brevstemme {
            Some("B")
        } else if r.brevstemme_undecided {
            Some("B?")
        } else if r.voted.as_ref().is_some_and(|v| v.contains(c)) {
            Some("X")
        } else {
            None
        };
        if let Some(m) = mark {
            d.text_centered(cx, base, TEXT, Weight::Bold, m);
        }
    }
}

/// The footer of every page: what the list is, and "Side n af m".
fn footers(d: &mut Doc, s: &Snapshot, election: &ElectionInfo, right: f32) {
    let total = d.page_count();
    let footer = format!(
        "valgbord · {} · valgsted {} · {}",
        election.id,
        s.place_id,
        if s.blank {
            "blank liste".to_string()
        } else {
            format!("øjebliksbillede {}", snapshot_time(s.taken_ms))
        }
    );
    for p in 0..total {
        d.set_page(p);
        d.text(MARGIN, MARGIN - 12.0, 7.0, Weight::Regular, &footer);
        d.text_right(
            right,
            MARGIN - 12.0,
            8.0,
            Weight::Bold,
            &format!("Side {} af {}", p + 1, total),
        );
    }
}

fn cover(d: &mut Doc, s: &Snapshot, election: &ElectionInfo) {
    let (w, h) = A4;
    let right = w - MARGIN;
    let x = MARGIN + 20.0;
    let mut y = h - MARGIN - 40.0;
    d.text(x, y, 24.0, Weight::Bold, "VALGLISTE");
    y -= 20.0;
    let kind = if s.blank {
        "Blank liste til nødprocedure – udskrevet før valget, intet er afkrydset som mødt"
    } else {
        "Afkrydset liste til nødprocedure – viser hvem der er mødt indtil øjebliksbilledet"
    };
    y = d.paragraph(x, y, 11.0, 14.0, right - x - 20.0, kind);
    y -= 16.0;
    let kv = |d: &mut Doc, y: &mut f32, k: &str, v: &str| {
        d.text(x, *y, 11.0, Weight::Regular, k);
        d.text_fit(
            x + 190.0,
            *y,
            (11.0, 7.0),
            right - x - 210.0,
            Weight::Bold,
            v,
        );
        *y -= 17.0;
    };
    kv(d, &mut y, "Valg", &election.name);
    if let Some(date) = election.date {
        kv(d, &mut y, "Valgdag", &danish_date(date));
    }
    if election.name != election.id {
        kv(d, &mut y, "Valg-id", &election.id);
    }
    kv(
        d,
        &mut y,
        "Valgsted",
        &format!("{} ({})", s.place_name, s.place_id),
    );
    kv(
        d,
        &mut y,
        if s.blank {
            "Udskrevet"
        } else {
            "Øjebliksbillede"
        },
        &snapshot_time(s.taken_ms),
    );
    kv(d, &mut y, "Afstemninger", &format_contests(&s.contests));

    y -= 10.0;
    d.text(x, y, 13.0, Weight::Bold, "Optælling");
    y -= 19.0;
    let c = s.counts();
    kv(d, &mut y, "Vælgere på listen", &c.listed.to_string());
    kv(d, &mut y, "Stemmeberettigede", &c.eligible.to_string());
    kv(
        d,
        &mut y,
        "Brevstemmer taget i betragtning",
        &c.brevstemmer.to_string(),
    );
    kv(d, &mut y, "Slettet af listen", &c.struck.to_string());
    if s.blank {
        kv(d, &mut y, "Mødt og afkrydset", "– (blank liste)");
    } else {
        kv(d, &mut y, "Mødt og afkrydset", &c.checked_in.to_string());
        for (contest, n) in s.per_contest() {
            kv(
                d,
                &mut y,
                &format!("  heraf {}", contest.danish_name()),
                &n.to_string(),
            );
        }
    }

    y -= 10.0;
    d.text(x, y, 13.0, Weight::Bold, "Sidste hændelse pr. enhed");
    y -= 17.0;
    if s.versions.is_empty() {
        let none = if s.blank {
            "(blank liste: ingen hændelser medtaget)"
        } else {
            "Ingen hændelser endnu."
        };
        d.text(x, y, 10.0, Weight::Regular, none);
        y -= 15.0;
    } else {
        for (dev, seq) in &s.versions {
            d.text(x, y, 7.5, Weight::Regular, dev);
            d.text_right(right - 20.0, y, 10.0, Weight::Bold, &format!("nr. {seq}"));
            y -= 13.0;
            if y < MARGIN + 190.0 {
                d.text(x, y, 8.0, Weight::Regular, "(flere enheder: se loggen)");
                y -= 13.0;
                break;
            }
        }
    }

    y -= 10.0;
    d.text(x, y, 13.0, Weight::Bold, "Sådan læses og bruges listen");
    y -= 17.0;
    for line in [
        "X  stemmeseddel udleveret (vælgeren er mødt) – må ikke få stemmesedler igen",
        "B  brevstemme taget i betragtning af valgstyrerne – må ikke stemme på valgdagen",
        "B?  brevstemme modtaget, ikke afgjort – tilkald valgstyrerne før udlevering",
        "–  ikke stemmeret til denne afstemning",
        "SLETTET  slettet af listen – må ikke stemme",
        "Sæt X i feltet for hver stemmeseddel der udleveres. Når de digitale valglister \
         virker igen, indtastes afkrydsningerne i valgbord som papirregistreringer.",
    ] {
        y = d.paragraph(x, y, 9.5, 12.5, right - x - 20.0, line);
        y -= 2.0;
    }
}

/// "15-03-1980" (chrono's formatter is several times slower, 25,000 times over).
fn dmy(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{:02}-{:02}-{:04}", d.day(), d.month(), d.year())
}

/// "23-11-2025 kl. 14.03.22" in local time.
pub fn snapshot_time(ms: i64) -> String {
    match chrono::Local.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%d-%m-%Y kl. %H.%M.%S").to_string(),
        None => format!("{ms} ms"),
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Written {
    pub counts: Counts,
    pub pages: usize,
    pub bytes: usize,
    pub taken_ms: i64,
}

/// Reads the snapshot from the database file `db` and writes the PDF to `out`
/// atomically. Takes the path, not the `Store`: the daemon runs this on a blocking
/// thread without holding the table's lock, so check-ins go on while it prints (also
/// for the copy to a USB stick every minute).
pub fn write_valgliste(
    db: &Path,
    election: &ElectionInfo,
    place: Option<&str>,
    contests: Option<Vec<Contest>>,
    blank: bool,
    out: &Path,
) -> Result<Written, PrintError> {
    let started = std::time::Instant::now();
    let taken_ms = crate::store::now_ms();
    let s = Snapshot::read_file(db, place, contests, blank, taken_ms)?;
    let read = started.elapsed();
    let pdf = render(&s, election)?;
    let rendered = started.elapsed();
    super::atomic::write_atomically(out, &pdf)?;
    tracing::debug!(
        read_ms = read.as_millis() as u64,
        render_ms = (rendered - read).as_millis() as u64,
        write_ms = (started.elapsed() - rendered).as_millis() as u64,
        "valgliste timing"
    );
    Ok(Written {
        counts: s.counts(),
        pages: 1 + s.rows.len().div_ceil(ROWS_PER_PAGE).max(1),
        bytes: pdf.len(),
        taken_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(no: u32, voted: Option<Vec<Contest>>) -> Row {
        Row {
            list_no: no,
            list_part: String::new(),
            name: format!("Åse Ærø {no}"),
            address: "Østergade 1, 8000 Aarhus C".into(),
            birthdate: NaiveDate::from_ymd_opt(1980, 3, 15).unwrap_or_default(),
            contests: vec![Contest::Kv, Contest::Rv],
            brevstemme: false,
            brevstemme_undecided: false,
            struck: None,
            voted,
        }
    }

    fn snapshot(n: u32) -> Snapshot {
        let mut rows: Vec<Row> = (1..=n).map(|i| row(i, None)).collect();
        rows[0].voted = Some(vec![Contest::Kv, Contest::Rv]);
        rows[1].brevstemme = true;
        rows[2].struck = Some("død".into());
        Snapshot {
            place_id: "1".into(),
            place_name: "Skolen".into(),
            taken_ms: 1_763_900_000_000,
            blank: false,
            contests: vec![Contest::Kv, Contest::Rv],
            rows,
            versions: vec![("ab".repeat(32), 17)],
        }
    }

    #[test]
    fn counts_add_up() {
        let s = snapshot(10);
        assert_eq!(
            s.counts(),
            Counts {
                listed: 10,
                eligible: 9,
                brevstemmer: 1,
                checked_in: 1,
                struck: 1
            }
        );
        assert_eq!(s.per_contest(), vec![(Contest::Kv, 1), (Contest::Rv, 1)]);
    }

    #[test]
    fn renders_a_cover_and_list_pages() {
        let s = snapshot(ROWS_PER_PAGE as u32 + 1);
        let e = ElectionInfo {
            id: "kv2025".into(),
            name: "Kommunalvalg".into(),
            date: None,
        };
        let pdf = render(&s, &e).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
        assert!(
            pdf.windows(b"/Count 3".len()).any(|w| w == b"/Count 3"),
            "cover + 2 list pages"
        );
    }
}
