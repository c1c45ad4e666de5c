//! What a device database records so that `valgbord destroy` can tell whether its
//! material may go yet: the election's day and contests, a research hold (KRVL § 106)
//! with who set and released it, and the closing report exported for the
//! afstemningsbog. Kept in the `meta` table, beside the binding.

use super::meta::MetaKey;
use super::{Result, Store, StoreError};
use crate::election::contest::{Contest, parse_contests};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The municipality keeps the material for research: set and released by a named
/// person with a reason, both kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResearchHold {
    pub reason: String,
    pub by: String,
    pub set_at: String,
    pub released_by: Option<String>,
    pub released_at: Option<String>,
}

impl ResearchHold {
    pub fn in_force(&self) -> bool {
        self.released_by.is_none()
    }
}

/// The closing report as last written to a file: its SHA-256 goes on the destruction
/// receipt, so the afstemningsbog's attachment can be matched to what was destroyed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedReport {
    pub sha256: String,
    pub file: String,
    pub at: String,
}

/// The election facts the table recorded at its start.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ElectionFacts {
    pub day: Option<NaiveDate>,
    pub contests: Vec<Contest>,
    pub paper_list_dir: Option<PathBuf>,
}

impl Store {
    /// Records the election's day, contests and paper-list folder (a table does at
    /// each start; a day not configured leaves the one recorded before).
    pub fn record_election_facts(
        &self,
        day: Option<NaiveDate>,
        contests: &[Contest],
        paper_list_dir: Option<&Path>,
    ) -> Result<()> {
        if let Some(d) = day {
            self.set_meta(MetaKey::ElectionDate, &d.to_string())?;
        }
        let codes: Vec<&str> = contests.iter().map(|c| c.code()).collect();
        self.set_meta(MetaKey::Contests, &codes.join("+"))?;
        if let Some(dir) = paper_list_dir {
            self.set_meta(MetaKey::PaperListDir, &dir.display().to_string())?;
        }
        Ok(())
    }

    pub fn election_facts(&self) -> Result<ElectionFacts> {
        let day = match self.meta(MetaKey::ElectionDate)? {
            Some(t) => Some(t.parse().map_err(|e| {
                StoreError::Invalid(format!(
                    "the recorded election date {t:?} is unreadable: {e}"
                ))
            })?),
            None => None,
        };
        let contests = match self.meta(MetaKey::Contests)? {
            Some(t) if !t.is_empty() => parse_contests(&t)
                .map_err(|e| StoreError::Invalid(format!("the recorded contests {t:?}: {e}")))?,
            _ => Vec::new(),
        };
        Ok(ElectionFacts {
            day,
            contests,
            paper_list_dir: self.meta(MetaKey::PaperListDir)?.map(PathBuf::from),
        })
    }

    pub fn research_hold(&self) -> Result<Option<ResearchHold>> {
        self.meta_json(MetaKey::ResearchHold)
    }

    pub fn set_research_hold(&self, hold: &ResearchHold) -> Result<()> {
        self.set_meta_json(MetaKey::ResearchHold, hold)
    }

    pub fn exported_report(&self) -> Result<Option<ExportedReport>> {
        self.meta_json(MetaKey::ClosingReport)
    }

    pub fn record_exported_report(&self, report: &ExportedReport) -> Result<()> {
        self.set_meta_json(MetaKey::ClosingReport, report)
    }

    fn meta_json<T: serde::de::DeserializeOwned>(&self, key: MetaKey) -> Result<Option<T>> {
        match self.meta(key)? {
            Some(t) => serde_json::from_str(&t).map(Some).map_err(|e| {
                StoreError::Invalid(format!("meta key {} is unreadable: {e}", key.as_str()))
            }),
            None => Ok(None),
        }
    }

    fn set_meta_json<T: Serialize>(&self, key: MetaKey, value: &T) -> Result<()> {
        let text = serde_json::to_string(value)
            .map_err(|e| StoreError::Invalid(format!("meta key {}: {e}", key.as_str())))?;
        self.set_meta(key, &text)
    }
}

/// What the person destroying says and the day it is.
#[derive(Debug, Clone)]
pub struct DestroyRules {
    /// Today: the clock's, or in test mode the day given (`--today`).
    pub today: NaiveDate,
    /// `today` was given rather than read from the clock: refused in an election.
    pub today_given: bool,
    /// The election's validity is decided / its result approved (FV, FA, EP).
    pub approved: bool,
    /// The election day, for a database that recorded none.
    pub election_day: Option<NaiveDate>,
}

/// What allowed a destruction, for its receipt.
#[derive(Debug, Clone)]
pub struct DestructionPermit {
    pub first_day: NaiveDate,
    pub report: ExportedReport,
    /// Copies outside the database, to destroy by hand.
    pub by_hand: Vec<String>,
}

impl Store {
    /// Refuses a destruction before the complaint deadline, before the election is
    /// approved (FV, FA, EP), under a research hold, or before the closing report was
    /// exported; each refusal says why in Danish and English.
    pub fn destruction_permit(&self, rules: &DestroyRules) -> Result<DestructionPermit> {
        let refuse = |m: String| Err(StoreError::Binding(m));
        if rules.today_given && self.meta(MetaKey::Mode)?.as_deref() != Some("test") {
            return refuse(
                "--today er kun til prøver: databasen tilhører et valg. / \
                 --today is for rehearsals only (test mode); this database belongs to an election."
                    .into(),
            );
        }
        let facts = self.election_facts()?;
        let day = match (facts.day, rules.election_day) {
            (Some(d), Some(given)) if d != given => {
                return refuse(format!(
                    "Databasen har valgdagen {d}, ikke {given}. / The database records election day {d}, not {given}."
                ));
            }
            (Some(d), _) | (None, Some(d)) => d,
            (None, None) => {
                return refuse(
                    "Databasen kender ikke valgdagen: angiv den med --election-date ÅÅÅÅ-MM-DD. / \
                     The database records no election day: give it with --election-date YYYY-MM-DD."
                        .into(),
                );
            }
        };
        let first_day = crate::election::retention::first_destruction_day(day);
        if rules.today < first_day {
            return refuse(format!(
                "Klagefristen er ikke udløbet: materialet fra valget {} må tidligst destrueres {}. / \
                 The complaint period is not over: destruction from {} at the earliest.",
                day.format("%d.%m.%Y"),
                first_day.format("%d.%m.%Y"),
                first_day
            ));
        }
        if crate::election::retention::needs_approval(&facts.contests) && !rules.approved {
            return refuse(
                "Valgets gyldighed er ikke afgjort: destruér først, når Folketinget har afgjort \
                 det (folketingsvalg) eller resultatet er godkendt; bekræft med --validity-decided. / \
                 Give --validity-decided once the election's validity is decided."
                    .into(),
            );
        }
        if let Some(h) = self.research_hold()?.filter(ResearchHold::in_force) {
            return refuse(format!(
                "Materialet holdes til forskning ({}), sat af {} {}: frigiv det med --release-hold. / \
                 A research hold is set; release it with --release-hold.",
                h.reason, h.by, h.set_at
            ));
        }
        let Some(report) = self.exported_report()? else {
            return refuse(
                "Afslutningsrapporten er ikke gemt: skriv den med `valgbord report print --out FIL.pdf` \
                 til afstemningsbogen først. / The closing report was never exported."
                    .into(),
            );
        };
        Ok(DestructionPermit {
            first_day,
            report,
            by_hand: copies_by_hand(facts.paper_list_dir.as_deref()),
        })
    }
}

/// The copies of the list and of who voted that live outside the database.
fn copies_by_hand(paper_list_dir: Option<&Path>) -> Vec<String> {
    let mut v = vec![
        "valgpakker på USB-stik (election packages on USB sticks)".to_string(),
        "trykte valglister og afkrydsede papirlister (printed lists)".to_string(),
        "kvitteringer på printerrullen: erstatningsvalgkort, rapporter (receipts on the printer roll)"
            .to_string(),
    ];
    match paper_list_dir {
        Some(dir) => {
            let mut files: Vec<String> = std::fs::read_dir(dir)
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .map(|e| e.path().display().to_string())
                        .collect()
                })
                .unwrap_or_default();
            files.sort();
            v.push(format!(
                "papirlister (PDF) i {} (paper-list PDFs): {}",
                dir.display(),
                if files.is_empty() {
                    "ingen filer nu".to_string()
                } else {
                    files.join(", ")
                }
            ));
        }
        None => v.push(
            "papirlister (PDF) skrevet af bordet, hvis paper_list_dir var sat (paper-list PDFs)"
                .into(),
        ),
    }
    v
}
