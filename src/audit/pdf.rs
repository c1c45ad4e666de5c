//! The audit's report as a PDF, for the afstemningsbog and a complaint's file: the same
//! Danish text as `valgbord audit` prints, what does not hold in red on the first page,
//! and each polling place's turnout chart (`chart`) above its figures.

use super::check::{AuditReport, PlaceSummary};
use super::{chart, text};
use crate::print::error::PrintError;
use crate::print::pdf::{A4, Doc, Weight};

const MARGIN: f32 = 40.0;
const RED: [f32; 3] = [0.75, 0.0, 0.0];
const BLACK: [f32; 3] = [0.0, 0.0, 0.0];

/// The document and where the next line goes.
struct Writer {
    doc: Doc,
    y: f32,
}

impl Writer {
    /// A new page when less than `need` points are left above the margin.
    fn room(&mut self, need: f32) {
        if self.y - need < MARGIN {
            self.doc.new_page();
            self.y = A4.1 - MARGIN - 10.0;
        }
    }

    /// Lines of text, each indented by its leading spaces and wrapped to the page.
    fn lines(&mut self, text: &str, size: f32, weight: Weight, color: [f32; 3]) {
        let leading = size * 1.3;
        for line in text.lines() {
            let words = line.trim_start();
            if words.is_empty() {
                self.y -= leading / 2.0;
                continue;
            }
            let x = MARGIN + (line.len() - words.len()) as f32 * size * 0.6;
            // A wrapped line's continuation hangs under its first word.
            let hang = size * 1.2;
            let parts = self.doc.wrap(words, size, A4.0 - MARGIN - x - hang);
            for (i, part) in parts.iter().enumerate() {
                self.room(leading);
                let at = if i == 0 { x } else { x + hang };
                self.doc.text_colored(at, self.y, size, weight, color, part);
                self.y -= leading;
            }
        }
    }

    /// A place's chart with its title and total, then its figures.
    fn place(&mut self, p: &PlaceSummary) {
        let (per_hour, dates) = chart::per_hour_of_day(&p.checkins_per_hour);
        let total: i64 = per_hour.values().sum();
        self.y -= 12.0;
        self.room(chart::HEIGHT + 60.0);
        let f = &p.figures;
        let title = format!(
            "Fremmøde pr. time – valgsted {} {}",
            f.place_id, f.place_name
        );
        self.lines(&title, 12.0, Weight::Bold, BLACK);
        let days = if dates > 1 {
            format!(", lagt sammen over {dates} dage")
        } else {
            String::new()
        };
        self.lines(
            &format!("I alt {total} registreringer i kraft (fortrudte fratrukket){days}"),
            9.0,
            Weight::Regular,
            BLACK,
        );
        self.y -= 4.0;
        chart::draw(
            &mut self.doc,
            MARGIN,
            self.y,
            A4.0 - 2.0 * MARGIN,
            &per_hour,
        );
        self.y -= chart::HEIGHT + 8.0;
        self.lines(&text::place_section(p), 9.0, Weight::Regular, BLACK);
    }
}

/// The report as A4 PDF.
pub fn render(r: &AuditReport) -> Result<Vec<u8>, PrintError> {
    let title = format!("Efterprøvning af {} ({})", r.election_name, r.election);
    let mut w = Writer {
        doc: Doc::new(A4, &title)?,
        y: A4.1 - MARGIN - 10.0,
    };
    w.lines(&title, 15.0, Weight::Bold, BLACK);
    w.y -= 4.0;
    for line in text::heading(r).lines() {
        let verdict = line.starts_with("RESULTAT");
        let color = if verdict && !r.ok { RED } else { BLACK };
        let weight = if verdict {
            Weight::Bold
        } else {
            Weight::Regular
        };
        w.lines(line, 10.0, weight, color);
    }
    for f in &r.findings {
        w.lines(&format!("  FEJL {f}"), 10.0, Weight::Bold, RED);
    }
    w.y -= 6.0;
    w.lines(&text::bundles(r), 9.0, Weight::Regular, BLACK);
    for p in &r.places {
        w.place(p);
    }
    let total = w.doc.page_count();
    for i in 0..total {
        w.doc.set_page(i);
        w.doc.text_right(
            A4.0 - MARGIN,
            MARGIN - 20.0,
            8.0,
            Weight::Regular,
            &format!("Side {} af {}", i + 1, total),
        );
    }
    w.doc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::figures::Figures;
    use crate::audit::replay::HourCount;
    use chrono::TimeZone;

    /// A day of check-ins from 8 to 20 with a morning and an evening peak.
    fn day() -> Vec<HourCount> {
        let eight = chrono::Local
            .with_ymd_and_hms(2025, 11, 18, 8, 0, 0)
            .single()
            .unwrap()
            .timestamp_millis();
        [40, 95, 80, 60, 70, 65, 55, 60, 90, 130, 150, 75]
            .iter()
            .enumerate()
            .map(|(i, n)| HourCount {
                hour_ms: eight + i as i64 * 3_600_000,
                checkins: *n,
            })
            .collect()
    }

    #[test]
    fn a_day_is_charted_by_local_hour_and_the_report_renders() {
        let (per_hour, dates) = chart::per_hour_of_day(&day());
        assert_eq!(dates, 1);
        assert_eq!(
            per_hour.keys().copied().collect::<Vec<_>>(),
            (8..20).collect::<Vec<_>>()
        );
        assert_eq!(per_hour[&18], 150);
        let figures: Figures = serde_json::from_value(serde_json::json!({
            "place_id": "1", "place_name": "Rådhushallen", "listed": 1000, "eligible": 1000,
            "brevstemmer": 0, "persons": 970, "persons_per_contest": [], "double_registrations": 0,
            "reissued_cards": 0, "list_changes": 0, "mode_changes": [], "tables": [],
            "official_actions": [], "versions": []
        }))
        .unwrap();
        let report = AuditReport {
            ok: false,
            election: "kv2025".into(),
            election_name: "Kommunalvalg".into(),
            test: false,
            findings: vec![super::super::finding::Finding {
                bundle: "bord-1.json".into(),
                device: "bord 1 på valgsted 1 (ab12cd34)".into(),
                seq: Some(7),
                reason: "signaturen passer ikke".into(),
            }],
            bundles: Vec::new(),
            places: vec![PlaceSummary {
                place: "1".into(),
                figures,
                double_registrations: Vec::new(),
                checkins_per_hour: day(),
            }],
        };
        let bytes = render(&report).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
    }
}
