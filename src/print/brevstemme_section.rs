//! The afstemningsbog's section on brevstemmer (KRVL § 71, FVL §§ 63–65): those taken
//! into account and those set aside, each with the reason and the two valgstyrere who
//! decided, and those still undecided, in list order. Words only; the closing report
//! (`report`) places them on the receipt and the PDF.

use crate::election::brevstemme::Examination;
use crate::store::brevstemme::BrevstemmeRow;

/// The section's title.
pub const TITLE: &str = "Brevstemmer – valgstyrernes afgørelser";

/// Groups of lines under a heading: "Taget i betragtning", "Tilsidesat", "Ikke
/// afgjort"; a group without rows is left out.
pub fn groups(rows: &[BrevstemmeRow]) -> Vec<(&'static str, Vec<String>)> {
    [
        (Examination::Accepted, "Taget i betragtning"),
        (Examination::SetAside, "Tilsidesat"),
        (Examination::Undecided, "Ikke afgjort"),
    ]
    .into_iter()
    .map(|(which, heading)| {
        let lines = rows
            .iter()
            .filter(|r| r.examination == which)
            .map(line)
            .collect::<Vec<_>>();
        (heading, lines)
    })
    .filter(|(_, lines)| !lines.is_empty())
    .collect()
}

/// "Karl Dahl (V10): død før valgdagen – Jens Kragh og Mette Holm, 17-11-2025 kl. 07.42".
fn line(r: &BrevstemmeRow) -> String {
    let mut s = format!("{} ({})", r.name, r.voter_id);
    if let Some(reason) = r.reason {
        s.push_str(&format!(": {}", reason.danish()));
    }
    if let [a, b] = r.valgstyrere.as_slice() {
        s.push_str(&format!(" – {a} og {b}"));
    }
    if let Some(at) = r.decided_ms {
        s.push_str(&format!(", {}", super::card::local_time(at)));
    }
    if let Some(why) = &r.struck {
        s.push_str(&format!(" (slettet: {why})"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::brevstemme::SetAsideReason;

    fn row(id: &str, examination: Examination) -> BrevstemmeRow {
        BrevstemmeRow {
            voter_id: id.into(),
            name: "Karl Dahl".into(),
            birthdate: "1933-03-03".into(),
            list_no: 1,
            examination,
            reason: None,
            valgstyrere: vec![],
            decided_ms: None,
            checked_in_ms: None,
            struck: None,
        }
    }

    #[test]
    fn a_set_aside_brevstemme_names_the_reason_and_both_valgstyrere() {
        let mut set_aside = row("V10", Examination::SetAside);
        set_aside.reason = Some(SetAsideReason::Doed);
        set_aside.valgstyrere = vec!["Jens Kragh".into(), "Mette Holm".into()];
        let g = groups(&[set_aside, row("V11", Examination::Undecided)]);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].0, "Tilsidesat");
        assert_eq!(
            g[0].1,
            ["Karl Dahl (V10): død før valgdagen – Jens Kragh og Mette Holm"]
        );
        assert_eq!(g[1], ("Ikke afgjort", vec!["Karl Dahl (V11)".to_string()]));
    }
}
