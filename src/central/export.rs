//! Exports for the election office's spreadsheets and systems: CSV as Danish Excel reads
//! it (`;` between fields, UTF-8 with a byte-order mark, decimal comma) and JSON.

use super::read_error::ExportError;
use super::snapshots::Snapshot;
use super::tally::Tally;
use crate::election::contest::Contest;
use crate::print::report::ClosingReport;
use std::collections::BTreeSet;

/// The byte-order mark that makes Excel read the file as UTF-8 (æøå).
const BOM: &str = "\u{feff}";

fn writer() -> csv::Writer<Vec<u8>> {
    let mut buf = Vec::new();
    buf.extend_from_slice(BOM.as_bytes());
    csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .from_writer(buf)
}

fn finish(w: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, ExportError> {
    w.into_inner()
        .map_err(|e| ExportError::Finish(e.into_error()))
}

/// "63,2": a percentage as Danish Excel reads a number.
pub fn decimal_comma(p: f64) -> String {
    format!("{p:.1}").replace('.', ",")
}

/// Totals per polling place, and a last row for the whole municipality.
pub fn totals_csv(t: &Tally) -> Result<Vec<u8>, ExportError> {
    let contests: BTreeSet<Contest> = t.total_per_contest.iter().map(|c| c.contest).collect();
    let mut w = writer();
    let mut head: Vec<String> = [
        "Valgsted",
        "Navn",
        "Bordvalg",
        "Stemmeberettigede",
        "Brevstemmer",
        "Mødt",
        "I alt",
        "Stemmeprocent",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    head.extend(contests.iter().map(|c| format!("Mødt {}", c.code())));
    head.push("Dobbeltregistreringer".into());
    head.push("Erstatningsvalgkort".into());
    w.write_record(&head)?;
    let row = |id: &str,
               name: &str,
               mode: &str,
               f: &super::tally::Figures,
               per: &[super::tally::ContestCount],
               doubles: i64,
               reissued: i64| {
        let mut r = vec![
            id.to_string(),
            name.to_string(),
            mode.to_string(),
            f.eligible.to_string(),
            f.brevstemmer.to_string(),
            f.checked_in.to_string(),
            f.total.to_string(),
            decimal_comma(f.percent),
        ];
        for c in &contests {
            r.push(
                per.iter()
                    .find(|k| k.contest == *c)
                    .map_or(0, |k| k.persons)
                    .to_string(),
            );
        }
        r.push(doubles.to_string());
        r.push(reissued.to_string());
        r
    };
    for p in &t.places {
        w.write_record(row(
            &p.id,
            &p.name,
            p.mode_text,
            &p.figures,
            &p.per_contest,
            p.double_registrations,
            p.reissued_cards,
        ))?;
    }
    w.write_record(row(
        "",
        "I alt",
        "",
        &t.total,
        &t.total_per_contest,
        t.double_registrations,
        t.reissued_cards,
    ))?;
    finish(w)
}

/// Every snapshot, one row per polling place and one for the total.
pub fn snapshots_csv(list: &[Snapshot]) -> Result<Vec<u8>, ExportError> {
    let mut w = writer();
    w.write_record([
        "Tidspunkt",
        "Taget",
        "Valgsted",
        "Navn",
        "Stemmeberettigede",
        "Brevstemmer",
        "Mødt",
        "I alt",
        "Stemmeprocent",
        "Registreret før, modtaget senere",
    ])?;
    for s in list {
        let taken = super::local_time(s.taken_ms);
        let rows = s
            .places
            .iter()
            .map(|p| (p.place.as_str(), p.name.as_str(), &p.figures, p.late))
            .chain(std::iter::once(("", "I alt", &s.total, s.late)));
        for (id, name, f, late) in rows {
            w.write_record([
                s.label.clone(),
                taken.clone(),
                id.to_string(),
                name.to_string(),
                f.eligible.to_string(),
                f.brevstemmer.to_string(),
                f.checked_in.to_string(),
                f.total.to_string(),
                decimal_comma(f.percent),
                late.to_string(),
            ])?;
        }
    }
    finish(w)
}

/// The closing figures: per polling place and contest, persons who got the ballot, with
/// the place's brevstemmer and eligible voters (for the afstemningsbog).
pub fn closing_csv(reports: &[ClosingReport]) -> Result<Vec<u8>, ExportError> {
    let mut w = writer();
    w.write_record([
        "Valgsted",
        "Navn",
        "Afstemning",
        "Mødt (personer)",
        "Brevstemmer",
        "Stemmeberettigede",
        "Dobbeltregistreringer",
    ])?;
    for r in reports {
        for (c, n) in &r.persons_per_contest {
            w.write_record([
                r.place_id.clone(),
                r.place_name.clone(),
                c.danish_name().to_string(),
                n.to_string(),
                r.brevstemmer.to_string(),
                r.eligible.to_string(),
                r.double_registrations.to_string(),
            ])?;
        }
    }
    finish(w)
}

/// The closing figures as JSON: the place, each contest, each table.
pub fn closing_json(reports: &[ClosingReport]) -> serde_json::Value {
    let places: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            serde_json::json!({
                "place": r.place_id,
                "name": r.place_name,
                "listed": r.listed,
                "eligible": r.eligible,
                "brevstemmer": r.brevstemmer,
                "persons": r.persons,
                "persons_per_contest": r.persons_per_contest.iter()
                    .map(|(c, n)| (c.code().to_string(), *n))
                    .collect::<std::collections::BTreeMap<_, _>>(),
                "double_registrations": r.double_registrations,
                "reissued_cards": r.reissued_cards,
                "tables": r.tables.iter().map(|t| serde_json::json!({
                    "table_no": t.table_no,
                    "state": t.state,
                    "checkins": t.checkins,
                    "per_contest": t.per_contest.iter()
                        .map(|(c, n)| (c.code().to_string(), *n))
                        .collect::<std::collections::BTreeMap<_, _>>(),
                    "manual": t.manual,
                    "paper": t.paper,
                    "undone": t.undone,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({ "places": places })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::central::tally::{ContestCount, Figures, PlaceFigures};

    #[test]
    fn csv_is_what_danish_excel_reads() {
        let t = Tally {
            places: vec![PlaceFigures {
                id: "1".into(),
                name: "Rådhushallen; øst".into(),
                mode: Default::default(),
                mode_text: "frit bordvalg",
                figures: Figures::new(3, 1, 1),
                per_contest: vec![ContestCount {
                    contest: Contest::Kv,
                    name: "Kommunalvalg",
                    persons: 1,
                }],
                double_registrations: 0,
                reissued_cards: 0,
                tables: vec![],
            }],
            total: Figures::new(3, 1, 1),
            total_per_contest: vec![ContestCount {
                contest: Contest::Kv,
                name: "Kommunalvalg",
                persons: 1,
            }],
            double_registrations: 0,
            reissued_cards: 0,
        };
        let bytes = totals_csv(&t).unwrap();
        assert!(bytes.starts_with("\u{feff}Valgsted;Navn;".as_bytes()));
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[1],
            "1;\"Rådhushallen; øst\";frit bordvalg;3;1;1;2;66,7;1;0;0"
        );
        assert!(lines[2].starts_with(";I alt;;3;1;1;2;66,7"));
    }
}
