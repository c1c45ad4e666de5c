//! A voter as the valgliste holds them.

use super::contest::Contest;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    #[serde(rename = "M")]
    Mand,
    #[serde(rename = "K")]
    Kvinde,
}

impl Sex {
    pub fn code(self) -> &'static str {
        match self {
            Sex::Mand => "M",
            Sex::Kvinde => "K",
        }
    }
    pub fn danish(self) -> &'static str {
        match self {
            Sex::Mand => "Mand",
            Sex::Kvinde => "Kvinde",
        }
    }
    pub fn parse(s: &str) -> Option<Sex> {
        match s.trim().to_lowercase().as_str() {
            "m" | "mand" => Some(Sex::Mand),
            "k" | "kvinde" => Some(Sex::Kvinde),
            _ => None,
        }
    }
}

/// One row of the valgliste. No CPR number: the table needs only what the law puts on
/// the list and what the tilforordnede compare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voter {
    /// Stable id from the municipality; check-in state belongs to this, never to a card.
    pub id: String,
    /// Løbenummer on the printed list.
    pub list_no: u32,
    /// Listeafsnit (the part of the printed list, often a letter range); may be empty.
    pub list_part: String,
    pub first_names: String,
    pub last_name: String,
    pub birthdate: NaiveDate,
    pub sex: Sex,
    pub address: String,
    pub postcode: String,
    pub town: String,
    /// Id of the polling place (afstemningsområde) whose list holds the voter.
    pub place: String,
    /// Code of the valgkort the national system posted.
    pub card_code: String,
    /// Contests the voter may vote in.
    pub contests: Vec<Contest>,
    /// Accepted brevstemme: may not vote in person.
    pub brevstemme: bool,
    /// Struck from the list, with the reason (død, fraflyttet, …).
    pub struck: Option<String>,
}

impl Voter {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_names, self.last_name)
    }

    /// Age in whole years on `on`.
    pub fn age_on(&self, on: NaiveDate) -> i32 {
        let b = self.birthdate;
        let mut age = on.year() - b.year();
        if (on.month(), on.day()) < (b.month(), b.day()) {
            age -= 1;
        }
        age
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_counts_birthday() {
        let v = crate::election::testdata::voter("1", "p1");
        let day_before = NaiveDate::from_ymd_opt(2026, 3, 14).unwrap();
        let birthday = NaiveDate::from_ymd_opt(2026, 3, 15).unwrap();
        assert_eq!(v.age_on(day_before), 45);
        assert_eq!(v.age_on(birthday), 46);
    }

    #[test]
    fn sex_parses_codes_and_words() {
        assert_eq!(Sex::parse("k"), Some(Sex::Kvinde));
        assert_eq!(Sex::parse("Mand"), Some(Sex::Mand));
        assert_eq!(Sex::parse("x"), None);
    }
}
