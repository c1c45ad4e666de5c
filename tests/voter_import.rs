//! `valgbord voters import` end to end: every kind of broken list the municipality or a
//! spreadsheet can produce is refused with the exact line and column, and changes
//! nothing; good lists (BOM, CRLF, signed, generated) import.

mod common;

use common::{
    HEADER, arg, columns, copy_db, good_list, list_file, row, row_with, run, tempdir, write,
};
use std::path::{Path, PathBuf};
use valgbord::store::Store;
use valgbord::store::meta::MetaKey;

const ELECTION: &str = "kv2025";

/// How the file of a case is signed.
#[derive(Clone, Copy, Debug)]
enum Sig {
    /// Imported without --signature.
    None,
    /// Signed by the office key, then one byte of the file changed.
    Tampered,
    /// Signed by a key that is not the office key.
    OtherKey,
    /// The signature of another (good) list.
    OtherFile,
    /// A signature file that is no signature at all.
    Garbage(&'static [u8]),
}

/// One broken list and the one error it must be reported with.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// Line of the file from 1; 0 for an error of the whole file.
    line: u64,
    column: Option<&'static str>,
    fragment: String,
    /// How many errors the report lists (`None` where the report is not a list).
    errors: Option<usize>,
    sig: Sig,
}

/// The text an error starts with, as `ListError` formats it.
/// `valgbord voters import FILE --db DB --election ELECTION [extra…]`.
fn import(file: &Path, db: &Path, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "voters",
        "import",
        arg(file),
        "--db",
        arg(db),
        "--election",
        ELECTION,
    ];
    args.extend_from_slice(extra);
    run(args)
}

fn prefix(line: u64, column: Option<&str>) -> String {
    match (line, column) {
        (0, _) => "file: ".to_string(),
        (l, Some(c)) => format!("line {l}, {c}: "),
        (l, None) => format!("line {l}: "),
    }
}

/// Rows 1 and 3 good, row 2 (line 3 of the file) with `col` set to `value`.
fn bad_field(col: &str, value: &str) -> Vec<u8> {
    list_file(HEADER, &[row(1), row_with(2, col, value), row(3)])
}

/// Like [`bad_field`] with raw bytes in the field (for encodings).
fn bad_field_bytes(col: &str, value: &[u8]) -> Vec<u8> {
    const MARK: &str = "\u{1}MARK\u{1}";
    let text = bad_field(col, MARK);
    let s = String::from_utf8(text).unwrap();
    let (a, b) = s.split_once(MARK).unwrap();
    [a.as_bytes(), value, b.as_bytes()].concat()
}

/// The list without column `col` (header and every row).
fn without_column(col: &str) -> Vec<u8> {
    let cols = columns();
    let i = cols.iter().position(|c| *c == col).unwrap();
    let mut header: Vec<&str> = cols.clone();
    header.remove(i);
    let rows: Vec<Vec<String>> = (1..=3)
        .map(|n| {
            let mut r = row(n);
            r.remove(i);
            r
        })
        .collect();
    list_file(&header.join(";"), &rows)
}

/// The list with an extra column `name` (every row gets `value` there).
fn with_extra_column(name: &str, value: &str) -> Vec<u8> {
    let header = format!("{HEADER};{name}");
    let rows: Vec<Vec<String>> = (1..=3)
        .map(|n| {
            let mut r = row(n);
            r.push(value.to_string());
            r
        })
        .collect();
    list_file(&header, &rows)
}

fn utf16(bytes: &[u8], big_endian: bool) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut out = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for u in text.encode_utf16() {
        out.extend(if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        });
    }
    out
}

/// A row-level case: one error at line 3 in column `col`.
fn field_case(name: &'static str, col: &'static str, value: &str, fragment: &str) -> Case {
    Case {
        name,
        bytes: bad_field(col, value),
        line: 3,
        column: Some(col),
        fragment: fragment.to_string(),
        errors: Some(1),
        sig: Sig::None,
    }
}

fn case(
    name: &'static str,
    bytes: Vec<u8>,
    line: u64,
    column: Option<&'static str>,
    fragment: &str,
    errors: usize,
) -> Case {
    Case {
        name,
        bytes,
        line,
        column,
        fragment: fragment.to_string(),
        errors: Some(errors),
        sig: Sig::None,
    }
}

fn sig_case(name: &'static str, sig: Sig, fragment: &str) -> Case {
    Case {
        name,
        bytes: good_list(3),
        line: 0,
        column: None,
        fragment: fragment.to_string(),
        errors: None,
        sig,
    }
}

/// The table of broken lists: one line per case, in the form
/// `(name, file bytes, line, column, text the error must contain, how many errors)`.
#[rustfmt::skip]
fn cases() -> Vec<Case> {
    let long = "x".repeat(201);
    let long_id = "V".repeat(65);
    let three_rows = |r3: Vec<String>| list_file(HEADER, &[row(1), row(2), r3]);
    let not_date = |v: &str| format!("\"{v}\" is not a date (expected DD-MM-YYYY)");
    let not_plausible = |v: &str| format!("\"{v}\" is not a plausible birthdate");
    let not_number = |v: &str| format!("\"{v}\" is not a whole number above 0");
    let not_postcode = |v: &str| format!("\"{v}\" is not a Danish postcode (4 digits)");
    let not_code = |v: &str| format!("\"{v}\" must be 1 to 64 printable ASCII characters");
    let separated_by = |sep: u8| -> Vec<u8> { good_list(3).iter().map(|&b| if b == b';' { sep } else { b }).collect() };
    let mut short_row = row(2);
    short_row.pop();
    let mut long_row = row(2);
    long_row.push("ekstra".into());
    let mut unterminated = row(2);
    unterminated[3] = "\"Jørgen".into();
    let bad_header_utf8 = [HEADER.as_bytes(), b";t\xF8j", &with_extra_column("x", "y")[HEADER.len() + 2..]].concat();
    let over_two_lines = list_file(HEADER, &[row_with(1, "adresse", "\"Æblevej 1\nbaghuset\""), row_with(2, "postnr", "80")]);
    let blank_line_before = String::from_utf8(bad_field("koen", "X")).unwrap().replacen('\n', "\n\n", 2).into_bytes();

    let mut v = vec![
        // Birthdates.
        field_case("impossible day", "foedselsdato", "31-02-1950", &not_date("31-02-1950")),
        field_case("month 13, ISO order", "foedselsdato", "1950-13-01", &not_date("1950-13-01")),
        field_case("empty birthdate", "foedselsdato", "", &not_date("")),
        field_case("a word for a date", "foedselsdato", "igår", &not_date("igår")),
        field_case("slashes", "foedselsdato", "15/03/1980", &not_date("15/03/1980")),
        field_case("29 February in a common year", "foedselsdato", "29-02-1951", &not_date("29-02-1951")),
        field_case("day zero", "foedselsdato", "00-01-1950", &not_date("00-01-1950")),
        field_case("two-digit year", "foedselsdato", "15-03-80", &not_date("15-03-80")),
        field_case("year 1800", "foedselsdato", "15-03-1800", &not_plausible("15-03-1800")),
        field_case("born in the future", "foedselsdato", "01-01-2999", &not_plausible("01-01-2999")),
        // Løbenummer.
        field_case("løbenummer not a number", "loebenummer", "abc", &not_number("abc")),
        field_case("løbenummer zero", "loebenummer", "0", &not_number("0")),
        field_case("løbenummer negative", "loebenummer", "-3", &not_number("-3")),
        field_case("løbenummer decimal", "loebenummer", "1.5", &not_number("1.5")),
        field_case("løbenummer empty", "loebenummer", "", &not_number("")),
        field_case("løbenummer beyond u32", "loebenummer", "4294967296", &not_number("4294967296")),
        // Køn, postnummer.
        field_case("køn X", "koen", "X", "\"X\" is not M or K"),
        field_case("køn empty", "koen", "", "\"\" is not M or K"),
        field_case("postnr with 3 digits", "postnr", "800", &not_postcode("800")),
        field_case("postnr with letters", "postnr", "80A0", &not_postcode("80A0")),
        field_case("postnr with 5 digits", "postnr", "80000", &not_postcode("80000")),
        field_case("postnr empty", "postnr", "", &not_postcode("")),
        // Stemmeret and brevstemme.
        field_case("unknown contest", "stemmeret", "KV+XX", "unknown contest \"XX\""),
        field_case("contest twice", "stemmeret", "KV+KV", "contest KV is named twice"),
        field_case("no contest", "stemmeret", "", "no contest given"),
        field_case("brevstemme maybe", "brevstemme", "måske", "\"måske\" is not ja or nej"),
        // Text fields.
        field_case("empty first names", "fornavne", "", "is empty"),
        field_case("empty last name", "efternavn", "", "is empty"),
        field_case("blank address", "adresse", "   ", "is empty"),
        field_case("empty town", "by", "", "is empty"),
        field_case("bell character in a name", "fornavne", "Jens\u{7}Ole", "contains a control character"),
        field_case("tab inside a last name", "efternavn", "Han\tsen", "contains a control character"),
        field_case("201-character last name", "efternavn", &long, "is longer than 200 characters"),
        field_case("201-character listeafsnit", "listeafsnit", &long, "is longer than 200 characters"),
        // Codes.
        field_case("empty voter id", "vaelger_id", "", "is empty"),
        field_case("65-character voter id", "vaelger_id", &long_id, &not_code(&long_id)),
        field_case("card code with a space", "kortkode", "C 12", &not_code("C 12")),
        field_case("card code with a non-ASCII letter", "kortkode", "CØ12", &not_code("CØ12")),
        field_case("empty card code", "kortkode", "", "is empty"),
        field_case("empty valgsted", "valgsted", "", "is empty"),
        // Encodings.
        case("Windows-1252 ø in a last name", bad_field_bytes("efternavn", b"S\xF8rensen"), 3, Some("efternavn"), "is not valid UTF-8", 1),
        case("Windows-1252 Å in a town", bad_field_bytes("by", b"\xC5rhus"), 3, Some("by"), "is not valid UTF-8", 1),
        case("UTF-16 LE", utf16(&good_list(3), false), 0, None, "the file is UTF-16", 1),
        case("UTF-16 BE", utf16(&good_list(3), true), 0, None, "the file is UTF-16", 1),
        case("empty file", Vec::new(), 0, None, "the file is empty", 1),
        case("only a byte-order mark and blank lines", b"\xEF\xBB\xBF\r\n\r\n".to_vec(), 0, None, "the file is empty", 1),
        case("header only", format!("{HEADER}\n").into_bytes(), 0, None, "the file has a header but no voters", 1),
        case("header and blank lines", format!("{HEADER}\n\n\n").into_bytes(), 0, None, "the file has a header but no voters", 1),
        // The header. A wrong separator: the one unknown column and the 12 required missing.
        case("unknown column", with_extra_column("telefon", "12345678"), 1, None, "unknown column \"telefon\"", 1),
        case("a column twice", with_extra_column("efternavn", "Hansen"), 1, Some("efternavn"), "column appears twice (fields 5 and 17)", 1),
        case("a column twice in two spellings", with_extra_column("Fødselsdato", "15-03-1980"), 1, Some("foedselsdato"), "column appears twice (fields 6 and 17)", 1),
        case("comma-separated file", separated_by(b','), 1, None, "the separator must be ';'", 13),
        case("tab-separated file", separated_by(b'\t'), 1, None, "the separator must be ';'", 13),
        case("invalid UTF-8 in the header", bad_header_utf8, 1, None, "header field 17 is not valid UTF-8", 1),
        // Rows.
        case("a row with a field too few", three_rows(short_row), 4, None, "expected 16 fields separated by ';', found 15", 1),
        case("a row with a field too many", three_rows(long_row), 4, None, "expected 16 fields separated by ';', found 17", 1),
        case("duplicate voter id", three_rows(row_with(3, "vaelger_id", "V1")), 4, Some("vaelger_id"), "\"V1\" is already used on line 2", 1),
        case("duplicate card code", three_rows(row_with(3, "kortkode", "C0001")), 4, Some("kortkode"), "\"C0001\" is already used on line 2", 1),
        case("duplicate løbenummer in one valgsted", three_rows(row_with(3, "loebenummer", "1")), 4, Some("loebenummer"), "1 is already used in valgsted 1 on line 2", 1),
        case("another valgstedsnavn for the same valgsted", three_rows(row_with(3, "valgstedsnavn", "Vestre Skole")), 4, Some("valgstedsnavn"), "\"Vestre Skole\" differs from \"Rådhuset\" given for valgsted 1 on line 2", 1),
        // A quote that is never closed is found before any row is read.
        case("an unterminated quote", list_file(HEADER, &[row(1), unterminated, row(3)]), 3, None, "a quote (\") opened on this line is never closed", 1),
        // Line numbers count physical lines, blank ones too (LF or CRLF). A field over
        // two lines is an error itself; the next row starts on line 4.
        case("a blank line before the bad row", blank_line_before, 5, Some("koen"), "\"X\" is not M or K", 1),
        case("a bad row after a field over two lines", over_two_lines, 4, Some("postnr"), &not_postcode("80"), 2),
        // Signatures.
        sig_case("signed file changed by one byte", Sig::Tampered, "the signature does not match"),
        sig_case("signed by another key", Sig::OtherKey, "the signature does not match"),
        sig_case("the signature of another list", Sig::OtherFile, "the signature does not match"),
        sig_case("garbage signature", Sig::Garbage(b"this is not a signature\n"), "is not a 64-byte ed25519 signature"),
        sig_case("empty signature file", Sig::Garbage(b""), "is not a 64-byte ed25519 signature"),
        sig_case("signature one byte short", Sig::Garbage(&[b'a'; 126]), "is not a 64-byte ed25519 signature"),
    ];
    // Each required column missing.
    for col in ["vaelger_id", "loebenummer", "fornavne", "efternavn", "foedselsdato", "koen", "adresse", "postnr", "by", "valgsted", "kortkode", "stemmeret"] {
        v.push(case("required column missing", without_column(col), 1, Some(col), "required column is missing", 1));
    }
    v
}

/// The office keys and signatures the signature cases need.
struct Office {
    secret: PathBuf,
    public: PathBuf,
    other_secret: PathBuf,
}

fn office(dir: &Path) -> Office {
    let o = Office {
        secret: dir.join("office.key"),
        public: dir.join("office.pub"),
        other_secret: dir.join("other.key"),
    };
    run([
        "office",
        "keygen",
        "--secret",
        arg(&o.secret),
        "--public",
        arg(&o.public),
    ])
    .expect_ok("office keygen");
    let other_pub = dir.join("other.pub");
    run([
        "office",
        "keygen",
        "--secret",
        arg(&o.other_secret),
        "--public",
        arg(&other_pub),
    ])
    .expect_ok("office keygen (other)");
    o
}

fn sign(file: &Path, secret: &Path, out: &Path) {
    run([
        "office",
        "sign",
        arg(file),
        "--secret",
        arg(secret),
        "--out",
        arg(out),
    ])
    .expect_ok("office sign");
}

/// Writes the case's file (and signature) into `dir`; returns the import arguments.
fn prepare(c: &Case, dir: &Path, office: &Office) -> Vec<String> {
    let file = write(dir, "list.csv", &c.bytes);
    let mut args: Vec<String> = ["voters", "import", arg(&file)]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let sig = dir.join("list.sig");
    match c.sig {
        Sig::None => return args,
        Sig::Tampered => {
            sign(&file, &office.secret, &sig);
            let mut b = c.bytes.clone();
            let i = b.iter().position(|&x| x == b'J').unwrap();
            b[i] = b'j';
            std::fs::write(&file, b).unwrap();
        }
        Sig::OtherKey => sign(&file, &office.other_secret, &sig),
        Sig::OtherFile => {
            let other = write(dir, "other.csv", &good_list(4));
            sign(&other, &office.secret, &sig);
        }
        Sig::Garbage(g) => std::fs::write(&sig, g).unwrap(),
    }
    args.extend([
        "--signature".into(),
        arg(&sig).into(),
        "--office-key".into(),
        arg(&office.public).into(),
    ]);
    args
}

fn import_args(args: &[String], db: &Path) -> Vec<String> {
    let mut a = args.to_vec();
    a.extend([
        "--db".into(),
        arg(db).into(),
        "--election".into(),
        ELECTION.into(),
    ]);
    a
}

/// Checks that a refused import reported exactly what the case expects.
fn check_report(c: &Case, r: &common::Run) -> Result<(), String> {
    if r.ok() || r.code.is_none() {
        return Err(format!("exit status {:?}, expected a failure", r.code));
    }
    let want = prefix(c.line, c.column);
    let found = r.stderr.lines().find_map(|l| {
        l.find(&want)
            .map(|i| &l[i + want.len()..])
            .filter(|rest| rest.contains(&c.fragment))
    });
    if found.is_none() {
        return Err(format!("stderr has no \"{want}…{}…\"", c.fragment));
    }
    if !r.stderr.contains("nothing was imported") {
        return Err("stderr does not say that nothing was imported".into());
    }
    if let Some(n) = c.errors {
        let head = format!(
            "has {n} error{}; nothing was imported",
            if n == 1 { "" } else { "s" }
        );
        if !r.stderr.contains(&head) {
            return Err(format!("stderr does not say \"{head}\""));
        }
        let listed = r
            .stderr
            .lines()
            .filter(|l| l.starts_with("  line ") || l.starts_with("  file: "))
            .count();
        if listed != n {
            return Err(format!("stderr lists {listed} errors, expected {n}"));
        }
    }
    Ok(())
}

fn lookup(db: &Path, code: &str) -> common::Run {
    run(["voters", "lookup", "--db", arg(db), code])
}

/// The state of a database that a refused import must leave as it was.
#[derive(Debug, PartialEq)]
struct DbState {
    voters: i64,
    election: Option<String>,
    list_sha256: Option<String>,
    places: Vec<(String, String)>,
}

fn db_state(db: &Path) -> DbState {
    let s = Store::open(db).unwrap();
    DbState {
        voters: s.voter_count(None).unwrap(),
        election: s.bound_election().unwrap(),
        list_sha256: s.meta(MetaKey::ListSha256).unwrap(),
        places: s.places().unwrap(),
    }
}

/// The list a pre-filled database holds: other names than the cases' rows, so a partly
/// applied import would show.
fn prefill_list() -> Vec<u8> {
    let rows: Vec<_> = (1..=5)
        .map(|n| row_with(n, "efternavn", &format!("Gammel{n}")))
        .collect();
    list_file(HEADER, &rows)
}

#[test]
fn broken_lists_are_refused_with_line_and_column_and_change_nothing() {
    let dir = tempdir();
    let office = office(dir.path());
    let template = dir.path().join("template.db");
    let good = write(dir.path(), "prefill.csv", &prefill_list());
    import(&good, &template, &[]).expect_ok("import of the good list");
    let before_state = db_state(&template);
    assert_eq!(before_state.voters, 5);
    let before_lookup = lookup(&template, "C0002");
    before_lookup.expect_ok("lookup before");
    assert!(
        before_lookup.stdout.contains("Gammel2"),
        "{}",
        before_lookup.stdout
    );

    let cases = cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let case_dir = dir.path().join(format!("case{i:03}"));
        std::fs::create_dir(&case_dir).unwrap();
        let args = prepare(c, &case_dir, &office);

        // A fresh database.
        let fresh = case_dir.join("fresh.db");
        let r = run(import_args(&args, &fresh));
        if let Err(e) = check_report(c, &r) {
            failures.push(format!(
                "{i} {} (fresh db): {e}\nstderr:\n{}",
                c.name, r.stderr
            ));
            continue;
        }
        if fresh.exists() {
            let st = db_state(&fresh);
            if st.voters != 0 || st.election.is_some() || st.list_sha256.is_some() {
                failures.push(format!("{i} {} (fresh db): left {st:?}", c.name));
            }
        }

        // A database that already holds a good list.
        let filled = case_dir.join("filled.db");
        copy_db(&template, &filled);
        let r = run(import_args(&args, &filled));
        if let Err(e) = check_report(c, &r) {
            failures.push(format!(
                "{i} {} (filled db): {e}\nstderr:\n{}",
                c.name, r.stderr
            ));
            continue;
        }
        let st = db_state(&filled);
        if st != before_state {
            failures.push(format!(
                "{i} {} (filled db): changed from {before_state:?} to {st:?}",
                c.name
            ));
        }
        let after = lookup(&filled, "C0002");
        if after.stdout != before_lookup.stdout || after.code != before_lookup.code {
            failures.push(format!(
                "{i} {} (filled db): lookup changed from {:?} to {:?}",
                c.name, before_lookup.stdout, after.stdout
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn all_errors_of_a_file_are_reported() {
    let dir = tempdir();
    let rows = vec![
        row(1),
        row_with(2, "foedselsdato", "31-02-1950"), // line 3
        row_with(3, "postnr", "800"),              // line 4
        row(4),
        {
            // line 6: two errors in one row
            let mut r = row_with(5, "koen", "X");
            r[columns().iter().position(|c| *c == "stemmeret").unwrap()] = "KV+XX".into();
            r
        },
        row_with(6, "kortkode", "C0001"), // line 7: duplicate of line 2
        {
            let mut r = row(7);
            r.pop();
            r
        }, // line 8: a field too few
        row_with(8, "vaelger_id", "V4"),  // line 9: duplicate of line 5
    ];
    let file = write(dir.path(), "list.csv", &list_file(HEADER, &rows));
    let db = dir.path().join("v.db");
    let r = import(&file, &db, &[]);
    assert!(!r.ok());
    let expected = [
        "line 3, foedselsdato: \"31-02-1950\" is not a date (expected DD-MM-YYYY)",
        "line 4, postnr: \"800\" is not a Danish postcode (4 digits)",
        "line 6, koen: \"X\" is not M or K",
        "line 6, stemmeret: unknown contest \"XX\"",
        "line 7, kortkode: \"C0001\" is already used on line 2",
        "line 8: expected 16 fields separated by ';', found 15",
        "line 9, vaelger_id: \"V4\" is already used on line 5",
    ];
    assert!(
        r.stderr.contains(&format!(
            "has {} errors; nothing was imported",
            expected.len()
        )),
        "{}",
        r.stderr
    );
    let listed: Vec<&str> = r
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .collect();
    assert_eq!(listed.len(), expected.len(), "{}", r.stderr);
    for (got, want) in listed.iter().zip(expected) {
        assert!(got.starts_with(want), "expected {want:?}, got {got:?}");
    }
    assert_eq!(db_state(&db).voters, 0);
}

#[test]
fn a_good_file_with_bom_and_crlf_imports() {
    let dir = tempdir();
    let mut rows: Vec<_> = (1..=4).map(row).collect();
    // A quoted field holding the separator and quotes.
    rows[2] = row_with(3, "adresse", "\"Villa \"\"Solbakken\"\"; Æblevej 3\"");
    rows.push(row_with(5, "slettet", "død"));
    // The longest text a field may hold, and the same løbenummer in another valgsted.
    rows.push(row_with(6, "efternavn", &"ø".repeat(200)));
    let mut other_place = row_with(7, "loebenummer", "1");
    other_place[10] = "2".into();
    other_place[11] = "Vestre Skole".into();
    rows.push(other_place);
    let text = String::from_utf8(list_file(HEADER, &rows))
        .unwrap()
        .replace('\n', "\r\n");
    let bytes = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
    let file = write(dir.path(), "list.csv", &bytes);
    let db = dir.path().join("v.db");
    let r = import(&file, &db, &[]);
    r.expect_ok("import");
    assert!(
        r.stdout.contains("imported 7 voters in 2 polling places"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("UNSIGNED"), "{}", r.stdout);

    let l = lookup(&db, "C0001");
    l.expect_ok("lookup");
    assert_eq!(
        l.stdout,
        "V1\tJørgen Åge Ærø1\t15-03-1980\tMand\tÆblevej 1, 8000 Aarhus C\tvalgsted 1\tløbenr. 1\n"
    );
    let l = lookup(&db, "C0003");
    assert!(
        l.stdout
            .contains("\tVilla \"Solbakken\"; Æblevej 3, 8000 Aarhus C\t"),
        "{}",
        l.stdout
    );
    let s = Store::open(&db).unwrap();
    assert_eq!(
        s.voter("V5").unwrap().unwrap().struck.as_deref(),
        Some("død")
    );
    assert_eq!(s.voter("V6").unwrap().unwrap().last_name, "ø".repeat(200));
    assert_eq!(
        s.places().unwrap(),
        vec![
            ("1".to_string(), "Rådhuset".to_string()),
            ("2".to_string(), "Vestre Skole".to_string())
        ]
    );
    assert_eq!(s.bound_election().unwrap().as_deref(), Some(ELECTION));
}

#[test]
fn a_signed_list_imports_with_signature_verified() {
    let dir = tempdir();
    let office = office(dir.path());
    let file = write(dir.path(), "list.csv", &good_list(3));
    let sig = dir.path().join("list.sig");
    sign(&file, &office.secret, &sig);
    let db = dir.path().join("v.db");
    let r = import(
        &file,
        &db,
        &[
            "--signature",
            arg(&sig),
            "--office-key",
            arg(&office.public),
        ],
    );
    r.expect_ok("signed import");
    assert!(r.stdout.contains("signature verified"), "{}", r.stdout);
    let s = Store::open(&db).unwrap();
    assert_eq!(s.meta(MetaKey::ListSigned).unwrap().as_deref(), Some("yes"));
    assert_eq!(s.meta(MetaKey::Mode).unwrap().as_deref(), Some("election"));
    s.check_binding(ELECTION, valgbord::store::binding::Mode::Election)
        .unwrap();
    lookup(&db, "C0003").expect_ok("lookup");

    // The same signature as raw bytes and as base64 is accepted too.
    use base64::Engine;
    let raw = hex::decode(std::fs::read_to_string(&sig).unwrap().trim()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
    for (name, bytes) in [("raw.sig", raw.clone()), ("b64.sig", b64.into_bytes())] {
        let sig = write(dir.path(), name, &bytes);
        let db = dir.path().join(format!("{name}.db"));
        let r = import(
            &file,
            &db,
            &[
                "--signature",
                arg(&sig),
                "--office-key",
                arg(&office.public),
            ],
        );
        r.expect_ok(name);
        assert!(r.stdout.contains("signature verified"), "{}", r.stdout);
    }
}

#[test]
fn a_list_for_another_election_is_refused() {
    let dir = tempdir();
    let db = dir.path().join("v.db");
    let first = write(dir.path(), "first.csv", &prefill_list());
    import(&first, &db, &[]).expect_ok("first import");
    let before = db_state(&db);
    let before_lookup = lookup(&db, "C0001");

    let second = write(dir.path(), "second.csv", &good_list(3));
    let r = run([
        "voters",
        "import",
        arg(&second),
        "--db",
        arg(&db),
        "--election",
        "fv2026",
    ]);
    assert!(!r.ok());
    assert!(
        r.stderr
            .contains("belongs to election \"kv2025\", not \"fv2026\""),
        "{}",
        r.stderr
    );
    assert_eq!(db_state(&db), before);
    assert_eq!(lookup(&db, "C0001").stdout, before_lookup.stdout);

    // A new database needs the election named.
    let fresh = dir.path().join("fresh.db");
    let r = run(["voters", "import", arg(&second), "--db", arg(&fresh)]);
    assert!(!r.ok());
    assert!(r.stderr.contains("--election"), "{}", r.stderr);
}

#[test]
fn a_generated_list_of_2000_voters_imports_and_a_card_is_found() {
    let dir = tempdir();
    let file = dir.path().join("gen.csv");
    run([
        "voters",
        "generate",
        "--count",
        "2000",
        "--seed",
        "11",
        "--places",
        "3",
        "--out",
        arg(&file),
    ])
    .expect_ok("generate");
    let db = dir.path().join("v.db");
    let r = import(&file, &db, &[]);
    r.expect_ok("import");
    assert!(
        r.stdout
            .contains("imported 2000 voters in 3 polling places"),
        "{}",
        r.stdout
    );

    let text = std::fs::read_to_string(&file).unwrap();
    let line = text.lines().nth(1234).unwrap();
    let f: Vec<&str> = line.split(';').collect();
    let l = lookup(&db, f[12]);
    l.expect_ok("lookup");
    let sex = if f[6] == "M" { "Mand" } else { "Kvinde" };
    assert_eq!(
        l.stdout,
        format!(
            "{}\t{} {}\t{}\t{sex}\t{}, {} {}\tvalgsted {}\tløbenr. {}\n",
            f[0], f[3], f[4], f[5], f[7], f[8], f[9], f[10], f[1]
        )
    );
    let missing = lookup(&db, "000000000000x");
    assert!(!missing.ok());
    assert!(
        missing.stderr.contains("no voter has card code"),
        "{}",
        missing.stderr
    );
}

/// A quote opened in the last field of the last row and never closed: the CSV reader
/// takes the rest of the file as that field and reports nothing, so the malformed file
/// imports (here V3 is struck as "død" from an unterminated `"død`).
#[test]

fn an_unterminated_quote_at_the_end_of_the_file_is_refused() {
    let dir = tempdir();
    let mut last = row_with(3, "slettet", "\"død");
    last[0] = "V3".into();
    let file = write(
        dir.path(),
        "list.csv",
        &list_file(HEADER, &[row(1), row(2), last]),
    );
    let db = dir.path().join("v.db");
    let r = import(&file, &db, &[]);
    assert!(!r.ok(), "imported: {}", r.stdout);
    assert!(r.stderr.contains("line 4"), "{}", r.stderr);
    assert_eq!(db_state(&db).voters, 0);
}

/// Excel's "CSV UTF-8" has CRLF line endings. Every row's error then names the line
/// before it: the bad birthdate on line 3 is reported as "line 2", and a duplicate's
/// "already used on line N" is off by one as well.
#[test]

fn line_numbers_are_right_in_a_crlf_file() {
    let dir = tempdir();
    let rows = [
        row(1),
        row_with(2, "foedselsdato", "31-02-1950"),
        row(3),
        row_with(4, "vaelger_id", "V1"),
    ];
    let text = String::from_utf8(list_file(HEADER, &rows))
        .unwrap()
        .replace('\n', "\r\n");
    let file = write(dir.path(), "list.csv", text.as_bytes());
    let db = dir.path().join("v.db");
    let r = import(&file, &db, &[]);
    assert!(!r.ok());
    let listed: Vec<&str> = r
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .collect();
    assert_eq!(
        listed,
        vec![
            "line 3, foedselsdato: \"31-02-1950\" is not a date (expected DD-MM-YYYY)",
            "line 5, vaelger_id: \"V1\" is already used on line 2",
        ],
        "{}",
        r.stderr
    );
}
