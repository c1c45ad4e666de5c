//! Finding a voter without a card, by any mix of name, birthdate and address.
//!
//! Typing is forgiving: case and accents do not matter, "aa" finds "å", "Jorgen" finds
//! "Jørgen", names may be partial (prefixes of words) and in either order. An index
//! narrows the candidates (birthdate, or the prefix of a first or last name, or of the
//! address); every word typed must then match.

use super::queries::{VOTER_COLUMNS, voter_from_row};
use super::{Result, Store};
use crate::election::names::{fold, tokens};
use crate::election::voter::Voter;
use chrono::NaiveDate;
use rusqlite::params;

#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub name: String,
    pub birthdate: Option<NaiveDate>,
    pub address: String,
    /// Only this polling place, when set.
    pub place: Option<String>,
}

impl SearchQuery {
    /// Splits free text as people type it at the valgsekretær's screen: a date (DD-MM-YYYY,
    /// DD.MM.YYYY, DDMMYYYY or YYYY-MM-DD) is the birthdate, words with digits go to the
    /// address, the rest is the name.
    pub fn parse_free(text: &str) -> SearchQuery {
        let mut q = SearchQuery::default();
        let mut name = Vec::new();
        let mut addr = Vec::new();
        for word in text.split_whitespace() {
            let w = word.trim_matches(',');
            if q.birthdate.is_none()
                && let Some(d) = parse_any_date(w)
            {
                q.birthdate = Some(d);
                continue;
            }
            if w.chars().any(|c| c.is_ascii_digit()) {
                addr.push(w);
            } else if !addr.is_empty() {
                // A street name is followed by its number: words after a number belong
                // to the address as well ("Æblevej 3 st th").
                addr.push(w);
            } else {
                name.push(w);
            }
        }
        // "Æblevej 3": the street name stands right before its number.
        if !addr.is_empty() && name.last().is_some_and(|w| looks_like_street(w)) {
            let street = name.pop().unwrap_or_default();
            addr.insert(0, street);
        }
        q.name = name.join(" ");
        q.address = addr.join(" ");
        q
    }

    fn is_empty(&self) -> bool {
        self.birthdate.is_none() && fold(&self.name).is_empty() && fold(&self.address).is_empty()
    }
}

fn looks_like_street(w: &str) -> bool {
    let f = fold(w);
    [
        "vej", "gade", "alle", "stræde", "straede", "plads", "torv", "vaenge", "parken", "bakken",
        "have",
    ]
    .iter()
    .any(|s| f.ends_with(&fold(s)))
}

fn parse_any_date(w: &str) -> Option<NaiveDate> {
    if w.len() == 8 && w.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(w, "%d%m%Y").ok();
    }
    super::import::parse_date(w)
}

/// Upper bound of the prefix range `[p, p + MAX)` in SQLite's binary collation.
fn prefix_end(p: &str) -> String {
    format!("{p}\u{10FFFF}")
}

const CANDIDATE_LIMIT: i64 = 20_000;

/// Words tried as the start of a first or last name, longest first.
const MAX_ANCHORS: usize = 4;

impl Store {
    /// Voters whose first or last name starts with one of the words typed (each word
    /// tried in turn, so "Jørgen Møller-Aagaard" finds the double surname by "moller")
    /// and whose name holds the next longest word too. Both are checked inside the
    /// covering indexes (fold_last, fold_first) and (fold_first, fold_last). When no
    /// word starts a name ("Aagaard" alone), every name is scanned for a word starting
    /// with it: slower, and only then.
    fn name_candidates(&self, tokens: &[String]) -> Result<Vec<Voter>> {
        let mut sorted: Vec<&String> = tokens.iter().collect();
        sorted.sort_by_key(|t| std::cmp::Reverse(t.len()));
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {VOTER_COLUMNS} FROM voters
             WHERE (fold_last >= ?1 AND fold_last < ?2
                    AND instr(' ' || fold_first || ' ' || fold_last, ?3) > 0)
                OR (fold_first >= ?1 AND fold_first < ?2
                    AND instr(' ' || fold_first || ' ' || fold_last, ?3) > 0)
             LIMIT ?4"
        ))?;
        for (i, a) in sorted.iter().enumerate().take(MAX_ANCHORS) {
            let b = sorted
                .iter()
                .enumerate()
                .find(|(j, _)| *j != i)
                .map(|(_, b)| format!(" {b}"))
                .unwrap_or_default();
            let rows = stmt.query_map(
                params![a, prefix_end(a), b, CANDIDATE_LIMIT],
                voter_from_row,
            )?;
            for v in rows {
                let v = v?;
                if seen.insert(v.id.clone()) {
                    out.push(v);
                }
            }
        }
        if out.is_empty() {
            let mut scan = self.conn.prepare_cached(&format!(
                "SELECT {VOTER_COLUMNS} FROM voters
                 WHERE instr(' ' || fold_first || ' ' || fold_last, ?1) > 0 LIMIT ?2"
            ))?;
            let rows = scan.query_map(
                params![format!(" {}", sorted[0]), CANDIDATE_LIMIT],
                voter_from_row,
            )?;
            out = rows.collect::<rusqlite::Result<_>>()?;
        }
        Ok(out)
    }

    pub fn search(&self, q: &SearchQuery, limit: usize) -> Result<Vec<Voter>> {
        if q.is_empty() {
            return Ok(Vec::new());
        }
        let name_tokens = tokens(&q.name);
        let addr_tokens = tokens(&q.address);
        let candidates: Vec<Voter> = if let Some(d) = q.birthdate {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {VOTER_COLUMNS} FROM voters WHERE birthdate=?1 LIMIT ?2"
            ))?;
            let rows = stmt.query_map(
                params![d.format("%Y-%m-%d").to_string(), CANDIDATE_LIMIT],
                voter_from_row,
            )?;
            rows.collect::<rusqlite::Result<_>>()?
        } else if let Some(place) = &q.place {
            // One polling place holds at most some 25,000 voters: scanning them finds
            // any word of any name, also the second part of a double surname.
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {VOTER_COLUMNS} FROM voters WHERE place=?1"
            ))?;
            let rows = stmt.query_map(params![place], voter_from_row)?;
            rows.collect::<rusqlite::Result<_>>()?
        } else if !name_tokens.is_empty() {
            self.name_candidates(&name_tokens)?
        } else {
            let a = fold(&q.address);
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {VOTER_COLUMNS} FROM voters WHERE fold_address >= ?1 AND fold_address < ?2 LIMIT ?3"
            ))?;
            let rows =
                stmt.query_map(params![a, prefix_end(&a), CANDIDATE_LIMIT], voter_from_row)?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut hits: Vec<(u32, Voter)> = candidates
            .into_iter()
            .filter(|v| q.place.as_ref().is_none_or(|p| &v.place == p))
            .filter_map(|v| {
                let words = tokens(&v.full_name());
                let addr = tokens(&format!("{} {} {}", v.address, v.postcode, v.town));
                let name_ok = name_tokens
                    .iter()
                    .all(|t| words.iter().any(|w| w.starts_with(t.as_str())));
                let addr_ok = addr_tokens
                    .iter()
                    .all(|t| addr.iter().any(|w| w.starts_with(t.as_str())));
                if !(name_ok && addr_ok) {
                    return None;
                }
                // Exact words rank before prefixes.
                let exact = name_tokens
                    .iter()
                    .filter(|t| words.iter().any(|w| w == *t))
                    .count() as u32;
                Some((exact, v))
            })
            .collect();
        hits.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| a.1.last_name.cmp(&b.1.last_name))
                .then_with(|| a.1.first_names.cmp(&b.1.first_names))
        });
        Ok(hits.into_iter().take(limit).map(|(_, v)| v).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_splits_date_name_and_address() {
        let q = SearchQuery::parse_free("Jørgen Hansen 15-03-1980 Æblevej 3");
        assert_eq!(q.name, "Jørgen Hansen");
        assert_eq!(q.birthdate, NaiveDate::from_ymd_opt(1980, 3, 15));
        assert_eq!(q.address, "Æblevej 3");
        let q = SearchQuery::parse_free("hansen 15031980");
        assert_eq!(q.birthdate, NaiveDate::from_ymd_opt(1980, 3, 15));
    }
}
