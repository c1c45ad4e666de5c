//! The contests (afstemninger) an election day can hold.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One contest. A voter's entitlement is a set of these, because KV+RV share one card
/// while some voters may vote in RV only, and EP and a referendum on the same day can
/// have different electorates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Contest {
    /// Folketingsvalg.
    Fv,
    /// Folkeafstemning.
    Fa,
    /// Europa-Parlamentsvalg.
    Ep,
    /// Kommunalvalg.
    Kv,
    /// Regionsrådsvalg.
    Rv,
}

impl Contest {
    pub const ALL: [Contest; 5] = [
        Contest::Fv,
        Contest::Fa,
        Contest::Ep,
        Contest::Kv,
        Contest::Rv,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Contest::Fv => "FV",
            Contest::Fa => "FA",
            Contest::Ep => "EP",
            Contest::Kv => "KV",
            Contest::Rv => "RV",
        }
    }

    /// The name a tilforordnet reads on the screen.
    pub fn danish_name(self) -> &'static str {
        match self {
            Contest::Fv => "Folketingsvalg",
            Contest::Fa => "Folkeafstemning",
            Contest::Ep => "Europa-Parlamentsvalg",
            Contest::Kv => "Kommunalvalg",
            Contest::Rv => "Regionsrådsvalg",
        }
    }
}

impl fmt::Display for Contest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a contest text was refused: a voter-list row, a CLI argument or a stored ballot
/// set names a contest that is not one of the five, twice, or none.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContestError {
    #[error("unknown contest \"{0}\" (expected FV, FA, EP, KV or RV)")]
    Unknown(String),
    #[error("contest {0} is named twice")]
    Twice(Contest),
    #[error("no contest given (for example \"KV+RV\")")]
    None,
}

impl FromStr for Contest {
    type Err = ContestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "FV" => Ok(Contest::Fv),
            "FA" => Ok(Contest::Fa),
            "EP" => Ok(Contest::Ep),
            "KV" => Ok(Contest::Kv),
            "RV" => Ok(Contest::Rv),
            other => Err(ContestError::Unknown(other.to_string())),
        }
    }
}

/// Parses "KV+RV" (also "KV,RV" and "KV RV") into a sorted set without repeats.
pub fn parse_contests(s: &str) -> Result<Vec<Contest>, ContestError> {
    let mut out = Vec::new();
    for part in s.split(['+', ',', ' ']).filter(|p| !p.trim().is_empty()) {
        let c: Contest = part.parse()?;
        if out.contains(&c) {
            return Err(ContestError::Twice(c));
        }
        out.push(c);
    }
    if out.is_empty() {
        return Err(ContestError::None);
    }
    out.sort();
    Ok(out)
}

pub fn format_contests(c: &[Contest]) -> String {
    c.iter().map(|c| c.code()).collect::<Vec<_>>().join("+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_sorts() {
        assert_eq!(
            parse_contests("rv+KV").unwrap(),
            vec![Contest::Kv, Contest::Rv]
        );
        assert_eq!(
            parse_contests("EP, FA").unwrap(),
            vec![Contest::Fa, Contest::Ep]
        );
    }

    #[test]
    fn rejects_unknown_twice_and_empty() {
        assert!(
            parse_contests("KV+XX")
                .unwrap_err()
                .to_string()
                .contains("XX")
        );
        assert!(
            parse_contests("KV+KV")
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        assert!(parse_contests(" ").is_err());
    }
}
