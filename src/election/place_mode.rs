//! How a polling place registers voters: *frit bordvalg* (any table, the tables in sync),
//! *fast bordvalg* (each table serves only its share of the list, so a double
//! registration is impossible even while the LAN is split) or *papir* (the printed
//! lists). The mode belongs to the polling place, is switched by the valgsekretær, and
//! every switch is an event.

use super::names::fold;
use super::voter::Voter;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PlaceMode {
    #[default]
    Frit,
    Fast,
    Papir,
}

impl PlaceMode {
    pub fn parse(s: &str) -> Option<PlaceMode> {
        match s.trim().to_lowercase().as_str() {
            "frit" | "frit bordvalg" => Some(PlaceMode::Frit),
            "fast" | "fast bordvalg" => Some(PlaceMode::Fast),
            "papir" | "paper" => Some(PlaceMode::Papir),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            PlaceMode::Frit => "frit",
            PlaceMode::Fast => "fast",
            PlaceMode::Papir => "papir",
        }
    }

    pub fn danish(self) -> &'static str {
        match self {
            PlaceMode::Frit => "frit bordvalg",
            PlaceMode::Fast => "fast bordvalg",
            PlaceMode::Papir => "papirlister",
        }
    }
}

/// The Danish alphabet order, for surname ranges such as "Æ–Å".
const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZÆØÅ";

fn letter_index(c: char) -> Option<usize> {
    let up: String = c.to_uppercase().collect();
    ALPHABET.chars().position(|a| up.starts_with(a))
}

/// Why a table's share of the list, as the config writes it, is not one.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    #[error("\"{0}\": expected a range such as \"A-H\" or \"1-800\"")]
    NotARange(String),
    #[error("\"{0}\": the range runs backwards")]
    Backwards(String),
    #[error("\"{range}\": \"{end}\" is neither a letter A–Å nor a number")]
    NotAnEnd { range: String, end: String },
}

/// The part of the list one table serves in fast bordvalg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Share {
    /// Surnames whose first letter lies in the range (Danish order, Æ Ø Å last).
    Letters { from: char, to: char },
    /// Løbenumre in the range, both ends included.
    ListNos { from: u32, to: u32 },
}

impl Share {
    /// "A-H", "Æ-Å", "1-800" (a dash or an en dash).
    pub fn parse(s: &str) -> Result<Share, ShareError> {
        let (a, b) = s
            .split_once(['-', '–'])
            .map(|(a, b)| (a.trim(), b.trim()))
            .ok_or_else(|| ShareError::NotARange(s.to_string()))?;
        if let (Ok(from), Ok(to)) = (a.parse::<u32>(), b.parse::<u32>()) {
            if from > to {
                return Err(ShareError::Backwards(s.to_string()));
            }
            return Ok(Share::ListNos { from, to });
        }
        let one = |x: &str| -> Result<char, ShareError> {
            let mut chars = x.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if letter_index(c).is_some() => {
                    Ok(c.to_uppercase().next().unwrap_or(c))
                }
                _ => Err(ShareError::NotAnEnd {
                    range: s.to_string(),
                    end: x.to_string(),
                }),
            }
        };
        let (from, to) = (one(a)?, one(b)?);
        if letter_index(from) > letter_index(to) {
            return Err(ShareError::Backwards(s.to_string()));
        }
        Ok(Share::Letters { from, to })
    }

    pub fn contains(&self, v: &Voter) -> bool {
        match *self {
            Share::ListNos { from, to } => (from..=to).contains(&v.list_no),
            Share::Letters { from, to } => {
                // The surname's first letter as written; "Aa" at the start counts as Å,
                // as in the printed lists.
                let name = v.last_name.trim();
                let first = if fold(name).starts_with("å") || name.to_lowercase().starts_with("aa")
                {
                    Some('Å')
                } else {
                    name.chars().next()
                };
                match first.and_then(letter_index) {
                    Some(i) => {
                        letter_index(from).is_some_and(|f| f <= i)
                            && letter_index(to).is_some_and(|t| i <= t)
                    }
                    None => false,
                }
            }
        }
    }
}

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Share::Letters { from, to } => write!(f, "efternavne {from}–{to}"),
            Share::ListNos { from, to } => write!(f, "løbenr. {from}–{to}"),
        }
    }
}

/// Which table serves a voter in fast bordvalg, from the shares of all tables.
pub fn table_for(shares: &[(u32, Share)], v: &Voter) -> Option<u32> {
    shares.iter().find(|(_, s)| s.contains(v)).map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::testdata::voter;

    fn named(last: &str, list_no: u32) -> Voter {
        let mut v = voter("V1", "1");
        v.last_name = last.into();
        v.list_no = list_no;
        v
    }

    #[test]
    fn letter_ranges_follow_the_danish_alphabet() {
        let ah = Share::parse("A-H").unwrap();
        let iz = Share::parse("i–z").unwrap();
        let ae = Share::parse("Æ-Å").unwrap();
        assert!(ah.contains(&named("Hansen", 1)));
        assert!(!ah.contains(&named("Jensen", 1)));
        assert!(iz.contains(&named("jensen", 1)));
        assert!(ae.contains(&named("Østergaard", 1)));
        assert!(ae.contains(&named("Ærø", 1)));
        assert!(ae.contains(&named("Aagaard", 1)), "Aa counts as Å");
        assert!(!ah.contains(&named("Aagaard", 1)));
        assert_eq!(ah.to_string(), "efternavne A–H");
    }

    #[test]
    fn list_number_ranges_include_both_ends() {
        let s = Share::parse("1-800").unwrap();
        assert!(s.contains(&named("X", 1)));
        assert!(s.contains(&named("X", 800)));
        assert!(!s.contains(&named("X", 801)));
        assert_eq!(s.to_string(), "løbenr. 1–800");
    }

    #[test]
    fn bad_ranges_say_what_is_wrong() {
        assert!(
            Share::parse("H-A")
                .unwrap_err()
                .to_string()
                .contains("backwards")
        );
        assert!(
            Share::parse("AB-C")
                .unwrap_err()
                .to_string()
                .contains("neither")
        );
        assert!(Share::parse("A").unwrap_err().to_string().contains("range"));
        assert!(Share::parse("800-1").is_err());
    }

    #[test]
    fn the_right_table_is_found() {
        let shares = vec![
            (1, Share::parse("A-H").unwrap()),
            (2, Share::parse("I-Q").unwrap()),
            (3, Share::parse("R-Å").unwrap()),
        ];
        assert_eq!(table_for(&shares, &named("Møller", 1)), Some(2));
        assert_eq!(table_for(&shares, &named("Aakjær", 1)), Some(3));
        assert_eq!(PlaceMode::parse("Fast"), Some(PlaceMode::Fast));
    }
}
