//! The audit's report in Danish, for the valgstyre, the election office and the
//! examiners of a complaint: what holds, what does not (first first), each bundle's
//! completeness and each polling place's figures from the logs.

use super::check::{AuditReport, PlaceSummary};
use super::figures::Figures;
use std::fmt::Write;

pub fn render(r: &AuditReport) -> String {
    let mut s = format!("Efterprøvning af {} ({})\n", r.election_name, r.election);
    s.push_str(&heading(r));
    for f in &r.findings {
        let _ = writeln!(s, "  FEJL {f}");
    }
    if !r.findings.is_empty() {
        s.push('\n');
    }
    s.push_str(&bundles(r));
    for p in &r.places {
        s.push('\n');
        s.push_str(&place_section(p));
    }
    s
}

/// Whether the bundles are of a rehearsal, and the verdict.
pub fn heading(r: &AuditReport) -> String {
    let mut s = String::new();
    if r.test {
        let _ = writeln!(
            s,
            "Bemærk: bundterne er fra en prøve (testtilstand), ikke fra et valg."
        );
    }
    let _ = writeln!(
        s,
        "{}\n",
        if r.ok {
            "RESULTAT: Alt holder. Signaturer, hash-kæder, numre, roller, valgliste og listeændringer er efterprøvet, og afslutningsrapporterne er genberegnet fra loggene."
        } else {
            "RESULTAT: Noget holder ikke (se nedenfor; det første er nævnt først)."
        }
    );
    s
}

/// Each bundle: its device, its size, what it lacks, whether its report holds.
pub fn bundles(r: &AuditReport) -> String {
    let mut s = String::from("Bundter:\n");
    for b in &r.bundles {
        let report = match b.report_holds {
            Some(true) => ", afslutningsrapporten passer med loggen",
            Some(false) => ", afslutningsrapporten passer IKKE",
            None => "",
        };
        let complete = if b.lacks.is_empty() {
            "komplet".to_string()
        } else {
            format!("mangler {}", b.lacks.join(", "))
        };
        let _ = writeln!(
            s,
            "  {}: {}, {} hændelser, {complete}{report}",
            b.file, b.device, b.events
        );
    }
    s
}

/// A polling place's figures from all logs and its unresolved double registrations.
pub fn place_section(p: &PlaceSummary) -> String {
    let mut s = String::new();
    place(&mut s, &p.figures);
    if p.double_registrations.is_empty() {
        let _ = writeln!(s, "  Uafklarede dobbeltregistreringer: ingen");
    } else {
        let _ = writeln!(
            s,
            "  Uafklarede dobbeltregistreringer: {}",
            p.double_registrations.join(", ")
        );
    }
    s
}

fn place(s: &mut String, f: &Figures) {
    let _ = writeln!(
        s,
        "Valgsted {} {} (fra alle logge):",
        f.place_id, f.place_name
    );
    let per_contest: Vec<String> = f
        .persons_per_contest
        .iter()
        .map(|(c, n)| format!("{} {n}", c.code()))
        .collect();
    let _ = writeln!(
        s,
        "  Vælgere på listen {}, stemmeberettigede {}, brevstemmer {}",
        f.listed, f.eligible, f.brevstemmer
    );
    let _ = writeln!(
        s,
        "  Personer registreret {} ({})",
        f.persons,
        per_contest.join(", ")
    );
    let _ = writeln!(
        s,
        "  Dobbeltregistreringer {}, genudstedte valgkort {}, listeændringer {}, skift af registreringsform {}",
        f.double_registrations,
        f.reissued_cards,
        f.list_changes,
        f.mode_changes.len()
    );
    for t in &f.tables {
        let _ = writeln!(
            s,
            "  Bord {}: {} registreringer (manuelt {}, papir {}, fortrudt {}), {}",
            t.table_no, t.checkins, t.manual, t.paper, t.undone, t.state
        );
    }
    // What the log records for the examiner, each on its own line: every undo, every
    // resolved double registration, every reissued card, paper registration and mode
    // switch (each needs an official's PIN and names them). Forks and refused events
    // are findings above; a scan the table refused is not an event and is not here.
    let _ = writeln!(
        s,
        "  Handlinger med personlig PIN (fortrudte registreringer, afklarede dobbeltregistreringer, genudstedte valgkort, papirregistreringer, skift): {}",
        f.official_actions.len()
    );
    for (wall_ms, by, what, concerns) in &f.official_actions {
        let action = crate::print::report::OfficialAction {
            wall_ms: *wall_ms,
            by: by.clone(),
            what: what.clone(),
            concerns: concerns.clone(),
        };
        let _ = writeln!(s, "    {}", action.line());
    }
}
