//! Real list extracts: FV and FA lists hold udlandsdanskere with a foreign address, EP
//! lists Danes in another EU country and EU citizens, and any list may hold a voter
//! without a fixed address. Such lists import, and the voter is shown with the country
//! where people read the address: `voters lookup`, search, the table screen, the paper
//! valgliste and a replacement card. A wrong country code or a Danish address without
//! postnr is refused with its line and column.

mod daemon;

use daemon::{HEADER, Table, call, login, outcome, run_fail, run_ok, screen, table_toml};
use std::path::{Path, PathBuf};

/// A list file with the `land` column, the given rows after the header.
fn list_file(dir: &Path, name: &str, rows: &[&str]) -> PathBuf {
    let mut s = format!("{HEADER};land");
    for r in rows {
        s.push('\n');
        s.push_str(r);
    }
    let path = dir.join(name);
    std::fs::write(&path, s).expect("write list");
    path
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf8 path")
}

fn import(list: &Path, db: &Path, election: &str) {
    run_ok(&[
        "voters",
        "import",
        p(list),
        "--db",
        p(db),
        "--election",
        election,
    ]);
}

const FV: &[&str] = &[
    "V1;1;A;Jørgen;Møller;15-03-1980;M;Æblevej 3;8000;Aarhus C;1;Rådhushallen;CARD-HOME;FV;nej;;",
    "V2;2;A;Karin;Weber;02-11-1979;K;Hauptstraße 5;10115;Berlin;1;Rådhushallen;CARD-DE;FV;nej;;DE",
    "V3;3;A;Bo;Krag;24-12-1950;M;;;;1;Rådhushallen;CARD-NOFIXED;FV;nej;;",
];

const EP: &[&str] = &[
    "V1;1;A;Sven;Lund;15-03-1980;M;Storgatan 1;111 22;Stockholm;1;Rådhushallen;CARD-SE;EP;nej;;se",
    "V2;2;A;Marie;Dubois;09-09-1990;K;Havnegade 7;8000;Aarhus C;1;Rådhushallen;CARD-EU;EP;nej;;",
];

const FA: &[&str] = &[
    "V1;1;A;Ole;Brun;01-01-1970;M;10 Downing Street;SW1A 2AA;London;1;Rådhushallen;CARD-GB;FA;nej;;GB",
    "V2;2;A;Eva;Dal;05-05-1985;K;12 Rue de Rivoli;;;1;Rådhushallen;CARD-FR;FA;nej;;FR",
];

/// A list's name, its rows, and (card, what `voters lookup` shows) for some of them.
type Case = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

#[test]
fn lists_with_addresses_abroad_import_for_fv_ep_and_fa() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [Case; 3] = [
        (
            "fv",
            FV,
            &[
                ("CARD-DE", "Hauptstraße 5, 10115 Berlin, Tyskland"),
                ("CARD-NOFIXED", "Uden fast bopæl"),
                ("CARD-HOME", "Æblevej 3, 8000 Aarhus C\t"),
            ],
        ),
        (
            "ep",
            EP,
            &[
                ("CARD-SE", "Storgatan 1, 111 22 Stockholm, Sverige"),
                ("CARD-EU", "Havnegade 7, 8000 Aarhus C\t"),
            ],
        ),
        (
            "fa",
            FA,
            &[
                (
                    "CARD-GB",
                    "10 Downing Street, SW1A 2AA London, Storbritannien",
                ),
                ("CARD-FR", "12 Rue de Rivoli, Frankrig"),
            ],
        ),
    ];
    for (name, rows, want) in cases {
        let list = list_file(dir.path(), &format!("{name}.csv"), rows);
        let db = dir.path().join(format!("{name}.db"));
        import(&list, &db, &format!("{name}-test"));
        for (card, line) in want {
            let out = run_ok(&["voters", "lookup", "--db", p(&db), card]);
            assert!(out.contains(line), "{name} {card}: {out}");
        }
    }
    // Search finds the voter abroad by name and by foreign town, country shown.
    let db = dir.path().join("fv.db");
    for q in ["Weber", "Berlin"] {
        let out = run_ok(&["voters", "search", "--db", p(&db), q]);
        assert!(
            out.contains("Karin Weber") && out.contains("10115 Berlin, Tyskland"),
            "{q}: {out}"
        );
    }
}

#[test]
fn an_unknown_country_and_a_danish_address_without_postnr_are_refused_with_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let list = list_file(
        dir.path(),
        "bad.csv",
        &[
            FV[0],
            &FV[1].replace(";DE", ";Tyskland"),
            "V3;3;A;Bo;Krag;24-12-1950;M;Kirkevej 9;;Aarhus C;1;Rådhushallen;CARD-NOPC;FV;nej;;",
        ],
    );
    let db = dir.path().join("bad.db");
    let err = run_fail(&[
        "voters",
        "import",
        p(&list),
        "--db",
        p(&db),
        "--election",
        "fv-test",
    ]);
    assert!(
        err.contains("line 3, land: \"Tyskland\" is not an ISO 3166-1 alpha-2 country code"),
        "{err}"
    );
    assert!(
        err.contains("line 4, postnr: \"\" is not a Danish postcode (4 digits)"),
        "{err}"
    );
    assert!(!err.contains("line 2"), "{err}");
}

/// A table of an FV election with the FV list, started and opened.
fn fv_table(dir: &Path) -> Table {
    let list = list_file(dir, "list.csv", FV);
    let db = dir.join("table1.db");
    import(&list, &db, "kv-test");
    let toml = table_toml(&db, &dir.join("table1.key"), "1", 1, "127.0.0.1:0", "", "")
        .replace(r#"contests = ["KV", "RV"]"#, r#"contests = ["FV"]"#);
    let config = dir.join("table1.toml");
    std::fs::write(&config, toml).expect("write config");
    let t = Table::start(dir, &config);
    t.open();
    t
}

fn pdftotext(file: &Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .args([p(file), "-"])
        .output()
        .expect("pdftotext (Debian package poppler-utils) is needed");
    assert!(out.status.success(), "pdftotext {}", file.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_voter_abroad_is_shown_with_the_country_on_the_screen_search_paper_list_and_card() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = fv_table(dir.path());

    let s = t.scan("CARD-DE");
    let s = if s.get("view").is_some() {
        s
    } else {
        screen(&t)
    };
    assert_eq!(outcome(&s), "pending", "{s}");
    assert_eq!(
        s["view"]["voter"]["address"], "Hauptstraße 5, 10115 Berlin, Tyskland",
        "{s}"
    );
    t.confirm();
    let s = t.scan("CARD-NOFIXED");
    let s = if s.get("view").is_some() {
        s
    } else {
        screen(&t)
    };
    assert_eq!(s["view"]["voter"]["address"], "Uden fast bopæl", "{s}");

    let token = login(&t);
    let (status, hits) = call(&t, &token, "GET", "/api/secretary/search?q=Weber", None);
    assert_eq!(status, 200, "{hits}");
    assert_eq!(
        hits[0]["voter"]["address"], "Hauptstraße 5, 10115 Berlin, Tyskland",
        "{hits}"
    );

    let db = dir.path().join("table1.db");
    let pdf = dir.path().join("valgliste.pdf");
    run_ok(&["list", "print", "--db", p(&db), "--out", p(&pdf)]);
    let text = pdftotext(&pdf);
    for want in ["Hauptstraße 5, 10115 Berlin, Tyskland", "Uden fast bopæl"] {
        assert!(text.contains(want), "{want} in {text}");
    }

    let card = dir.path().join("kort.pdf");
    run_ok(&[
        "card",
        "print",
        "--db",
        p(&db),
        "--voter",
        "V2",
        "--out",
        p(&card),
    ]);
    let text = pdftotext(&card);
    assert!(text.contains("10115 Berlin, Tyskland"), "{text}");
}
