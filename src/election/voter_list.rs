//! The municipality's voter list file (valgliste) and its rules, without a database:
//! the file is UTF-8 with `;` as separator (what Danish Excel writes as "CSV UTF-8"),
//! an optional byte-order mark, a header row and one voter per row. Every row is checked
//! and **all** errors are reported with line and column; a file with any error is not
//! a list. The store's import (`store::import`), the list-change and election commands,
//! the rehearsal and the benches read lists through this file.

use crate::election::contest::parse_contests;
use crate::election::country::parse_country;
use crate::election::names::fold;
use crate::election::voter::{Sex, Voter};
use chrono::{Datelike, NaiveDate};
use rustc_hash::FxHashMap as HashMap;
use sha2::{Digest, Sha256};
use std::fmt;

/// The columns of the file, by their header name. Headers are matched without regard to
/// case, æøå spelling ("foedselsdato" = "fødselsdato") or `_`/space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    VoterId,
    ListNo,
    ListPart,
    FirstNames,
    LastName,
    Birthdate,
    Sex,
    Address,
    Postcode,
    Town,
    Place,
    PlaceName,
    CardCode,
    Contests,
    Brevstemme,
    Struck,
    Country,
}

impl Column {
    pub const ALL: [Column; 17] = [
        Column::VoterId,
        Column::ListNo,
        Column::ListPart,
        Column::FirstNames,
        Column::LastName,
        Column::Birthdate,
        Column::Sex,
        Column::Address,
        Column::Postcode,
        Column::Town,
        Column::Place,
        Column::PlaceName,
        Column::CardCode,
        Column::Contests,
        Column::Brevstemme,
        Column::Struck,
        Column::Country,
    ];

    /// The header as we write it (ASCII, so any editor keeps it).
    pub fn header(self) -> &'static str {
        match self {
            Column::VoterId => "vaelger_id",
            Column::ListNo => "loebenummer",
            Column::ListPart => "listeafsnit",
            Column::FirstNames => "fornavne",
            Column::LastName => "efternavn",
            Column::Birthdate => "foedselsdato",
            Column::Sex => "koen",
            Column::Address => "adresse",
            Column::Postcode => "postnr",
            Column::Town => "by",
            Column::Place => "valgsted",
            Column::PlaceName => "valgstedsnavn",
            Column::CardCode => "kortkode",
            Column::Contests => "stemmeret",
            Column::Brevstemme => "brevstemme",
            Column::Struck => "slettet",
            Column::Country => "land",
        }
    }

    fn required(self) -> bool {
        !matches!(
            self,
            Column::ListPart
                | Column::PlaceName
                | Column::Brevstemme
                | Column::Struck
                | Column::Country
        )
    }

    fn from_header(h: &str) -> Option<Column> {
        let key = fold(h).replace(' ', "_");
        Column::ALL
            .into_iter()
            .find(|c| fold(c.header()).replace(' ', "_") == key)
    }
}

/// One problem in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListError {
    /// Line of the file, from 1; 0 for the file as a whole.
    pub line: u64,
    pub column: Option<&'static str>,
    pub reason: String,
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "file: {}", self.reason),
            (l, Some(c)) => write!(f, "line {l}, {c}: {}", self.reason),
            (l, None) => write!(f, "line {l}: {}", self.reason),
        }
    }
}

impl std::error::Error for ListError {}

/// A parsed, fully valid list.
#[derive(Debug)]
pub struct VoterList {
    pub voters: Vec<Voter>,
    /// Polling place id → name (the id itself when the file names none).
    pub places: Vec<(String, String)>,
    /// SHA-256 of the file's bytes: the list hash shown on screens and receipts.
    pub sha256: [u8; 32],
}

const MAX_FIELD: usize = 200;

fn err(line: u64, column: Column, reason: impl Into<String>) -> ListError {
    ListError {
        line,
        column: Some(column.header()),
        reason: reason.into(),
    }
}

pub(crate) fn file_err(reason: impl Into<String>) -> ListError {
    ListError {
        line: 0,
        column: None,
        reason: reason.into(),
    }
}

/// What a pass over the file found besides the voters it emitted.
#[derive(Debug, Default)]
pub struct ParseOutcome {
    pub places: Vec<(String, String)>,
    pub sha256: [u8; 32],
    /// Errors of single rows and of the file; duplicates across rows are found by
    /// [`find_duplicates`] once all voters are known.
    pub errors: Vec<ListError>,
    pub count: usize,
}

const CHUNK: usize = 8192;

/// Parses and checks a whole file, handing valid voters to `emit` in chunks (with the
/// line of each) so a consumer can write them while the rest is parsed. `progress` is
/// called with the bytes read so far.
pub fn parse_chunks(
    bytes: &[u8],
    mut progress: impl FnMut(u64),
    mut emit: impl FnMut(Vec<Voter>, Vec<u64>),
) -> ParseOutcome {
    let sha256: [u8; 32] = Sha256::digest(bytes).into();
    let fail = |errors| ParseOutcome {
        sha256,
        errors,
        ..Default::default()
    };
    let body = match csv_body(bytes) {
        Ok(body) => body,
        Err(e) => return fail(vec![e]),
    };
    let mut line_counter = LineCounter::default();
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut records = rdr.byte_records();
    let mut errors = Vec::new();

    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return fail(vec![csv_error(e)]),
        None => return fail(vec![file_err("the file is empty")]),
    };
    let columns = header_columns(&header, &mut errors);
    if !errors.is_empty() {
        return fail(errors);
    }

    let mut voters: Vec<Voter> = Vec::with_capacity(CHUNK);
    let mut lines: Vec<u64> = Vec::with_capacity(CHUNK);
    let mut count = 0usize;
    let mut places = Places::default();
    let today = chrono::Local::now().date_naive();
    let mut n = 0u64;
    for rec in records {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(csv_error(e));
                continue;
            }
        };
        let line = line_counter.line_at(body, rec.position().map(|p| p.byte()).unwrap_or(0));
        n += 1;
        if n % 4096 == 0 {
            progress(rec.position().map(|p| p.byte()).unwrap_or(0));
        }
        if rec.len() == 1
            && rec
                .get(0)
                .is_some_and(|f| f.iter().all(u8::is_ascii_whitespace))
        {
            // A blank line (Excel leaves one at the end).
            continue;
        }
        if rec.len() != columns.len() {
            errors.push(ListError {
                line,
                column: None,
                reason: format!(
                    "expected {} fields separated by ';', found {}",
                    columns.len(),
                    rec.len()
                ),
            });
            continue;
        }
        let Some(fields) = row_fields(&rec, &columns, line, &mut errors) else {
            continue;
        };
        match check_row(line, &fields, today, &mut errors) {
            Some(v) => {
                places.note(
                    &v.place,
                    fields[Column::PlaceName as usize],
                    line,
                    &mut errors,
                );
                voters.push(v);
                lines.push(line);
                count += 1;
                if voters.len() == CHUNK {
                    emit(
                        std::mem::replace(&mut voters, Vec::with_capacity(CHUNK)),
                        std::mem::replace(&mut lines, Vec::with_capacity(CHUNK)),
                    );
                }
            }
            None => continue,
        }
    }
    if !voters.is_empty() {
        emit(voters, lines);
    }
    if errors.is_empty() && count == 0 {
        errors.push(file_err("the file has a header but no voters"));
    }
    let places = places.finish();
    ParseOutcome {
        places,
        sha256,
        errors,
        count,
    }
}

/// The file's CSV text without its byte-order mark, or what makes it no CSV text.
fn csv_body(bytes: &[u8]) -> Result<&[u8], ListError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(file_err(
            "the file is UTF-16; save it as \"CSV UTF-8 (kommasepareret)\" with ';' as separator",
        ));
    }
    let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(file_err("the file is empty"));
    }
    if let Some(line) = unclosed_quote(body) {
        return Err(ListError {
            line,
            column: None,
            reason: "a quote (\") opened on this line is never closed".into(),
        });
    }
    Ok(body)
}

/// The column of each header field (`None`: an error, reported), and the required
/// columns that are missing.
fn header_columns(header: &csv::ByteRecord, errors: &mut Vec<ListError>) -> Vec<Option<Column>> {
    let mut columns: Vec<Option<Column>> = Vec::new();
    let mut seen: HashMap<Column, usize> = HashMap::default();
    for (i, raw) in header.iter().enumerate() {
        let Ok(h) = std::str::from_utf8(raw) else {
            errors.push(ListError {
                line: 1,
                column: None,
                reason: format!(
                    "header field {} is not valid UTF-8; save the file as \"CSV UTF-8\"",
                    i + 1
                ),
            });
            columns.push(None);
            continue;
        };
        let h = h.trim();
        match Column::from_header(h) {
            Some(c) if seen.contains_key(&c) => {
                errors.push(ListError {
                    line: 1,
                    column: Some(c.header()),
                    reason: format!(
                        "column appears twice (fields {} and {})",
                        seen[&c] + 1,
                        i + 1
                    ),
                });
                columns.push(None);
            }
            Some(c) => {
                seen.insert(c, i);
                columns.push(Some(c));
            }
            None => {
                let hint = if h.contains(',') || h.contains('\t') {
                    " (the separator must be ';', this header looks separated by ',' or tab)"
                } else {
                    ""
                };
                errors.push(ListError {
                    line: 1,
                    column: None,
                    reason: format!(
                        "unknown column \"{h}\"{hint}; expected {}",
                        expected_headers()
                    ),
                });
                columns.push(None);
            }
        }
    }
    for c in Column::ALL {
        if c.required() && !seen.contains_key(&c) {
            errors.push(ListError {
                line: 1,
                column: Some(c.header()),
                reason: "required column is missing".into(),
            });
        }
    }
    columns
}

/// The row's fields by column, trimmed (`None`: a field is not UTF-8, reported).
fn row_fields<'r>(
    rec: &'r csv::ByteRecord,
    columns: &[Option<Column>],
    line: u64,
    errors: &mut Vec<ListError>,
) -> Option<[&'r str; 17]> {
    let mut fields: [&str; 17] = [""; 17];
    let mut row_ok = true;
    for (raw, col) in rec.iter().zip(columns) {
        let Some(col) = col else { continue };
        match std::str::from_utf8(raw) {
            Ok(s) => fields[*col as usize] = s.trim(),
            Err(_) => {
                errors.push(err(
                    line,
                    *col,
                    "is not valid UTF-8 (the file may be saved as Windows-1252; save it as \"CSV UTF-8\")",
                ));
                row_ok = false;
            }
        }
    }
    row_ok.then_some(fields)
}

/// The polling places in order of first mention, each with the name the file gives
/// it (the same on every row that names it).
#[derive(Default)]
struct Places {
    names: HashMap<String, (String, u64)>,
    order: Vec<String>,
}

impl Places {
    fn note(&mut self, place: &str, name: &str, line: u64, errors: &mut Vec<ListError>) {
        match self.names.get(place) {
            Some((known, first)) if !name.is_empty() && !known.is_empty() && known != name => {
                errors.push(err(
                    line,
                    Column::PlaceName,
                    format!(
                        "\"{name}\" differs from \"{known}\" given for valgsted {place} on line {first}"
                    ),
                ));
            }
            Some((known, _)) if known.is_empty() && !name.is_empty() => {
                self.names
                    .insert(place.to_string(), (name.to_string(), line));
            }
            Some(_) => {}
            None => {
                self.order.push(place.to_string());
                self.names
                    .insert(place.to_string(), (name.to_string(), line));
            }
        }
    }

    /// (id, name), the id itself where the file names none.
    fn finish(mut self) -> Vec<(String, String)> {
        self.order
            .into_iter()
            .map(|id| {
                let name = self.names.remove(&id).map(|(n, _)| n).unwrap_or_default();
                let name = if name.is_empty() { id.clone() } else { name };
                (id, name)
            })
            .collect()
    }
}

/// Parses and checks a whole file into memory, duplicates included.
pub fn parse(bytes: &[u8], progress: impl FnMut(u64)) -> Result<VoterList, Vec<ListError>> {
    let mut voters = Vec::new();
    let mut lines = Vec::new();
    let mut out = parse_chunks(bytes, progress, |v, l| {
        voters.extend(v);
        lines.extend(l);
    });
    find_duplicates(&voters, &lines, &mut out.errors);
    if !out.errors.is_empty() {
        out.errors.sort_by_key(|e| e.line);
        return Err(out.errors);
    }
    Ok(VoterList {
        voters,
        places: out.places,
        sha256: out.sha256,
    })
}

/// Reports voter ids, card codes and list numbers used twice. Sorting references is
/// several times faster than hashing a million keys, and cache-friendly.
pub fn find_duplicates(voters: &[Voter], lines: &[u64], errors: &mut Vec<ListError>) {
    fn report<K: Ord>(
        mut keyed: Vec<(K, usize)>,
        lines: &[u64],
        errors: &mut Vec<ListError>,
        what: impl Fn(&K) -> (Column, String),
    ) {
        keyed.sort_unstable();
        for pair in keyed.windows(2) {
            if pair[0].0 == pair[1].0 {
                let (col, text) = what(&pair[1].0);
                errors.push(err(
                    lines[pair[1].1],
                    col,
                    format!("{text} on line {}", lines[pair[0].1]),
                ));
            }
        }
    }
    report(
        voters
            .iter()
            .enumerate()
            .map(|(i, v)| (v.id.as_str(), i))
            .collect(),
        lines,
        errors,
        |k| (Column::VoterId, format!("\"{k}\" is already used")),
    );
    report(
        voters
            .iter()
            .enumerate()
            .map(|(i, v)| (v.card_code.as_str(), i))
            .collect(),
        lines,
        errors,
        |k| (Column::CardCode, format!("\"{k}\" is already used")),
    );
    report(
        voters
            .iter()
            .enumerate()
            .map(|(i, v)| ((v.place.as_str(), v.list_no), i))
            .collect(),
        lines,
        errors,
        |(p, n)| {
            (
                Column::ListNo,
                format!("{n} is already used in valgsted {p}"),
            )
        },
    );
}

/// Physical line numbers from byte offsets. The csv reader's own line count is one short
/// for files with CRLF line ends (what Excel writes), so lines are counted here.
#[derive(Default)]
struct LineCounter {
    byte: usize,
    line: u64,
}

impl LineCounter {
    /// The line (from 1) of the byte at `offset`; offsets must not go backwards.
    fn line_at(&mut self, body: &[u8], offset: u64) -> u64 {
        let mut offset = (offset as usize).min(body.len());
        // With CRLF the reader places a record at the LF that ends the line before it.
        while offset < body.len() && (body[offset] == b'\r' || body[offset] == b'\n') {
            offset += 1;
        }
        if offset >= self.byte {
            self.line += body[self.byte..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.byte = offset;
        }
        self.line + 1
    }
}

/// The line of a quote that opens a field and is never closed. The csv reader accepts
/// such a file silently (the rest of it becomes one field), so it is checked first.
fn unclosed_quote(body: &[u8]) -> Option<u64> {
    let mut line = 1u64;
    let mut open_at: Option<u64> = None;
    for &b in body {
        match b {
            b'\n' => line += 1,
            b'"' => open_at = if open_at.is_some() { None } else { Some(line) },
            _ => {}
        }
    }
    open_at
}

fn expected_headers() -> String {
    Column::ALL
        .iter()
        .map(|c| c.header())
        .collect::<Vec<_>>()
        .join(";")
}

fn csv_error(e: csv::Error) -> ListError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    ListError {
        line,
        column: None,
        reason: format!("the line cannot be read as CSV: {e}"),
    }
}

fn text(
    line: u64,
    c: Column,
    v: &str,
    required: bool,
    errors: &mut Vec<ListError>,
) -> Option<String> {
    if required && v.is_empty() {
        errors.push(err(line, c, "is empty"));
        return None;
    }
    if v.chars().count() > MAX_FIELD {
        errors.push(err(
            line,
            c,
            format!("is longer than {MAX_FIELD} characters"),
        ));
        return None;
    }
    if v.chars().any(char::is_control) {
        errors.push(err(line, c, "contains a control character"));
        return None;
    }
    Some(v.to_string())
}

fn code(line: u64, c: Column, v: &str, errors: &mut Vec<ListError>) -> Option<String> {
    if v.is_empty() {
        errors.push(err(line, c, "is empty"));
        return None;
    }
    if v.len() > 64 || !v.bytes().all(|b| b.is_ascii_graphic()) {
        errors.push(err(
            line,
            c,
            format!("\"{v}\" must be 1 to 64 printable ASCII characters without spaces"),
        ));
        return None;
    }
    Some(v.to_string())
}

/// Accepts DD-MM-YYYY (Danish), DD.MM.YYYY and YYYY-MM-DD.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    ["%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
        .filter(|d| d.year() >= 1000)
}

/// Why one field's value was refused, carrying the value as the file has it; the line
/// and column are added by `checked`, where the value becomes a `ListError`.
#[derive(Debug, thiserror::Error)]
enum FieldError {
    #[error("\"{0}\" is not a whole number above 0")]
    ListNo(String),
    #[error("\"{0}\" is not a plausible birthdate")]
    Birthdate(String),
    #[error("\"{0}\" is not a date (expected DD-MM-YYYY)")]
    NotADate(String),
    #[error(
        "\"{0}\" is not a Danish postcode (4 digits); for an address abroad give the country in column land"
    )]
    Postcode(String),
    #[error("\"{0}\" is not ja or nej")]
    Brevstemme(String),
}

/// The value, or its error reported on `line` in `column`.
fn checked<T>(
    line: u64,
    column: Column,
    value: Result<T, impl fmt::Display>,
    errors: &mut Vec<ListError>,
) -> Option<T> {
    value
        .map_err(|reason| errors.push(err(line, column, reason.to_string())))
        .ok()
}

fn list_no(raw: &str) -> Result<u32, FieldError> {
    match raw.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(FieldError::ListNo(raw.to_string())),
    }
}

fn birthdate(raw: &str, today: NaiveDate) -> Result<NaiveDate, FieldError> {
    match parse_date(raw) {
        Some(d) if d.year() < 1900 || d > today => Err(FieldError::Birthdate(raw.to_string())),
        Some(d) => Ok(d),
        None => Err(FieldError::NotADate(raw.to_string())),
    }
}

fn postcode(pc: &str) -> Result<String, FieldError> {
    if pc.len() == 4 && pc.bytes().all(|b| b.is_ascii_digit()) {
        Ok(pc.to_string())
    } else {
        Err(FieldError::Postcode(pc.to_string()))
    }
}

fn brevstemme(bs: &str) -> Result<bool, FieldError> {
    match bs.to_lowercase().as_str() {
        "" | "nej" | "n" | "0" => Ok(false),
        "ja" | "j" | "1" | "x" => Ok(true),
        _ => Err(FieldError::Brevstemme(bs.to_string())),
    }
}

/// The address columns of a row: `adresse`, `postnr`, `by` and `land`.
///
/// A Danish row (`land` empty or `DK`) has a street address, a 4-digit postnr and a
/// town; or, for a voter without a fixed address (registered in CPR as "uden fast
/// bopæl" and on the list of the place the municipality gives), an empty `adresse` and
/// an empty `postnr` (`by` may name the town). A row abroad (`land` another ISO code)
/// has `adresse`, `postnr` and `by` as free text, each possibly empty, as the
/// municipality's extract gives a foreign address.
#[allow(clippy::type_complexity)]
fn check_address(
    line: u64,
    f: &[&str; 17],
    errors: &mut Vec<ListError>,
) -> (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
) {
    let get = |c: Column| f[c as usize];
    let country = checked(
        line,
        Column::Country,
        parse_country(get(Column::Country)),
        errors,
    )
    .map(|c| c.unwrap_or_default().to_string());
    // An unknown code is reported once, in `land`; the rest is read as an address abroad.
    let raw_land = get(Column::Country);
    let abroad = !raw_land.is_empty() && !raw_land.eq_ignore_ascii_case("DK");
    let no_fixed = !abroad && get(Column::Address).is_empty() && get(Column::Postcode).is_empty();
    let free = abroad || no_fixed;
    let address = text(line, Column::Address, get(Column::Address), !free, errors);
    let postcode = if free {
        text(line, Column::Postcode, get(Column::Postcode), false, errors)
    } else {
        checked(
            line,
            Column::Postcode,
            postcode(get(Column::Postcode)),
            errors,
        )
    };
    let town = text(line, Column::Town, get(Column::Town), !free, errors);
    (address, postcode, town, country)
}

fn check_row(
    line: u64,
    f: &[&str; 17],
    today: NaiveDate,
    errors: &mut Vec<ListError>,
) -> Option<Voter> {
    let before = errors.len();
    let get = |c: Column| f[c as usize];
    let id = code(line, Column::VoterId, get(Column::VoterId), errors);
    let list_no = checked(line, Column::ListNo, list_no(get(Column::ListNo)), errors);
    let list_part = text(line, Column::ListPart, get(Column::ListPart), false, errors);
    let first = text(
        line,
        Column::FirstNames,
        get(Column::FirstNames),
        true,
        errors,
    );
    let last = text(line, Column::LastName, get(Column::LastName), true, errors);
    let birthdate = birthdate(get(Column::Birthdate), today);
    let birthdate = checked(line, Column::Birthdate, birthdate, errors);
    let sex = Sex::parse(get(Column::Sex))
        .ok_or_else(|| format!("\"{}\" is not M or K", get(Column::Sex)));
    let sex = checked(line, Column::Sex, sex, errors);
    let (address, postcode, town, country) = check_address(line, f, errors);
    let place = code(line, Column::Place, get(Column::Place), errors);
    text(
        line,
        Column::PlaceName,
        get(Column::PlaceName),
        false,
        errors,
    );
    let card = code(line, Column::CardCode, get(Column::CardCode), errors);
    let contests = parse_contests(get(Column::Contests));
    let contests = checked(line, Column::Contests, contests, errors);
    let bs = get(Column::Brevstemme);
    let brevstemme = checked(line, Column::Brevstemme, brevstemme(bs), errors);
    let struck = text(line, Column::Struck, get(Column::Struck), false, errors)
        .map(|s| if s.is_empty() { None } else { Some(s) });
    if errors.len() > before {
        return None;
    }
    Some(Voter {
        id: id?,
        list_no: list_no?,
        list_part: list_part?,
        first_names: first?,
        last_name: last?,
        birthdate: birthdate?,
        sex: sex?,
        address: address?,
        postcode: postcode?,
        town: town?,
        country: country?,
        place: place?,
        card_code: card?,
        contests: contests?,
        brevstemme: brevstemme?,
        struck: struck?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "vaelger_id;loebenummer;listeafsnit;fornavne;efternavn;foedselsdato;koen;adresse;postnr;by;valgsted;valgstedsnavn;kortkode;stemmeret;brevstemme;slettet";

    fn file(rows: &[&str]) -> Vec<u8> {
        let mut s = String::from(HEADER);
        for r in rows {
            s.push('\n');
            s.push_str(r);
        }
        s.into_bytes()
    }

    const GOOD: &str =
        "V1;1;A;Jørgen;Ågård;15-03-1980;M;Æblevej 3;8000;Aarhus C;1;Rådhuset;C1;KV+RV;nej;";

    #[test]
    fn parses_a_good_row_with_bom_and_danish_letters() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend(file(&[GOOD]));
        let list = parse(&bytes, |_| {}).unwrap();
        assert_eq!(list.voters.len(), 1);
        assert_eq!(list.voters[0].last_name, "Ågård");
        assert_eq!(list.places, vec![("1".to_string(), "Rådhuset".to_string())]);
    }

    #[test]
    fn names_line_and_column_of_a_bad_date() {
        let bad = GOOD.replace("15-03-1980", "31-02-1950");
        let errs = parse(
            &file(&[
                GOOD,
                &bad.replace("V1", "V2")
                    .replace("C1", "C2")
                    .replace(";1;A", ";2;A"),
            ]),
            |_| {},
        )
        .unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].to_string(),
            "line 3, foedselsdato: \"31-02-1950\" is not a date (expected DD-MM-YYYY)"
        );
    }

    #[test]
    fn header_spellings_with_danish_letters_are_accepted() {
        let h = HEADER
            .replace("loebenummer", "Løbenummer")
            .replace("foedselsdato", "fødselsdato")
            .replace("koen", "Køn");
        let s = format!("{h}\n{GOOD}");
        assert!(parse(s.as_bytes(), |_| {}).is_ok());
    }

    /// A file with the `land` column, one voter per (adresse, postnr, by, land), parsed.
    fn parse_addresses(rows: &[(&str, &str, &str, &str)]) -> Result<VoterList, Vec<ListError>> {
        let mut s = format!("{HEADER};land");
        for (n, (address, postnr, town, land)) in (1..).zip(rows) {
            s.push_str(&format!(
                "\nV{n};{n};A;Jørgen;Ågård;15-03-1980;M;{address};{postnr};{town};1;Rådhuset;C{n};FV;nej;;{land}"
            ));
        }
        parse(s.as_bytes(), |_| {})
    }

    #[test]
    fn rows_abroad_and_without_a_fixed_address_are_voters() {
        let list = parse_addresses(&[
            ("Hauptstraße 5", "10115", "Berlin", "DE"),
            ("12 Rue de Rivoli", "", "", "fr"),
            ("", "", "", ""),
            ("Æblevej 3", "8000", "Aarhus C", "DK"),
        ])
        .unwrap();
        let lines: Vec<String> = list.voters.iter().map(Voter::address_line).collect();
        assert_eq!(
            lines,
            [
                "Hauptstraße 5, 10115 Berlin, Tyskland",
                "12 Rue de Rivoli, Frankrig",
                "Uden fast bopæl",
                "Æblevej 3, 8000 Aarhus C"
            ]
        );
        assert_eq!(list.voters[1].country, "FR");
        assert_eq!(list.voters[3].country, "");
    }

    #[test]
    fn an_unknown_country_and_a_danish_address_without_postnr_are_refused() {
        let errs = parse_addresses(&[
            ("Hauptstraße 5", "10115", "Berlin", "Tyskland"),
            ("Æblevej 3", "", "Aarhus C", ""),
            ("", "8000", "Aarhus C", ""),
        ])
        .unwrap_err();
        let errs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            errs,
            [
                "line 2, land: \"Tyskland\" is not an ISO 3166-1 alpha-2 country code (e.g. DE, SE, GB)",
                "line 3, postnr: \"\" is not a Danish postcode (4 digits); for an address abroad give the country in column land",
                "line 4, adresse: is empty",
            ]
        );
    }
}
