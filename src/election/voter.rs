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
    /// ISO 3166-1 alpha-2 code of the address's country; empty for Denmark. Left out of
    /// the serialised voter when empty, so a list-change event written before the column
    /// existed keeps its one encoding.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub country: String,
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

    /// The address as one line for screens, lookups and paper.
    pub fn address_line(&self) -> String {
        address_line(&self.address, &self.postcode, &self.town, &self.country)
    }

    /// The address as the two lines of a card.
    pub fn address_lines(&self) -> (String, String) {
        address_lines(&self.address, &self.postcode, &self.town, &self.country)
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

/// One line for an address: "Æblevej 3, 8000 Aarhus C"; abroad with the country's
/// Danish name, "Hauptstraße 5, 10115 Berlin, Tyskland"; a Danish voter without a fixed
/// address (an empty `adresse` in the list) as "Uden fast bopæl", with the town if given,
/// so no one reads an empty field as a missing row.
pub fn address_line(address: &str, postcode: &str, town: &str, country: &str) -> String {
    let (street, rest) = address_lines(address, postcode, town, country);
    [street, rest]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The address as the two lines of a card: the street (or "Uden fast bopæl"), then
/// postcode and town with the country's Danish name when abroad.
pub fn address_lines(address: &str, postcode: &str, town: &str, country: &str) -> (String, String) {
    let street = if address.is_empty() && country.is_empty() {
        NO_FIXED_ADDRESS.to_string()
    } else {
        address.to_string()
    };
    let mut rest = format!("{postcode} {town}").trim().to_string();
    if !country.is_empty() {
        if !rest.is_empty() {
            rest.push_str(", ");
        }
        rest.push_str(super::country::danish_name(country));
    }
    (street, rest)
}

/// What the screen and paper say for a Danish voter whose list row has no address.
pub const NO_FIXED_ADDRESS: &str = "Uden fast bopæl";

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
    fn address_lines_at_home_abroad_and_without_fixed_address() {
        assert_eq!(
            address_line("Æblevej 3", "8000", "Aarhus C", ""),
            "Æblevej 3, 8000 Aarhus C"
        );
        assert_eq!(
            address_line("Hauptstraße 5", "10115", "Berlin", "DE"),
            "Hauptstraße 5, 10115 Berlin, Tyskland"
        );
        assert_eq!(
            address_line("12 Rue de Rivoli", "", "", "FR"),
            "12 Rue de Rivoli, Frankrig"
        );
        assert_eq!(address_line("", "", "", ""), "Uden fast bopæl");
        assert_eq!(
            address_line("", "", "Aarhus", ""),
            "Uden fast bopæl, Aarhus"
        );
    }

    #[test]
    fn sex_parses_codes_and_words() {
        assert_eq!(Sex::parse("k"), Some(Sex::Kvinde));
        assert_eq!(Sex::parse("Mand"), Some(Sex::Mand));
        assert_eq!(Sex::parse("x"), None);
    }
}
