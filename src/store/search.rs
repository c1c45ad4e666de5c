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
use chrono::{Datelike, NaiveDate};
use rusqlite::params;

#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub name: String,
    pub birthdate: Option<NaiveDate>,
    /// A four-digit year typed alone ("Jensen 1976"): the birth year, or a postcode
    /// that happens to look like one ("2000 Frederiksberg").
    pub birth_year: Option<i32>,
    pub address: String,
    /// Only this polling place, when set.
    pub place: Option<String>,
}

/// Years read as a birth year when typed alone.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=2100;

impl SearchQuery {
    /// Splits free text as people type it at the valgsekretær's screen: a date (DD-MM-YYYY,
    /// DD.MM.YYYY, DDMMYYYY or YYYY-MM-DD) is the birthdate, a four-digit year before any
    /// address is the birth year, words with digits (house number, postcode) go to the
    /// address with the words after them (town), the rest is the name. A name word may
    /// also match the address ("Jensen Aarhus"): see [`Store::search`].
    pub fn parse_free(text: &str) -> SearchQuery {
        let mut q = SearchQuery::default();
        let mut name = Vec::new();
        let mut addr = Vec::new();
        for word in text.split_whitespace() {
            let w = word.trim_matches(|c: char| c == ',' || c == '.');
            if w.is_empty() {
                continue;
            }
            if q.birthdate.is_none()
                && let Some(d) = parse_any_date(w)
            {
                q.birthdate = Some(d);
                continue;
            }
            if q.birth_year.is_none()
                && addr.is_empty()
                && let Some(y) = parse_year(w)
            {
                q.birth_year = Some(y);
                continue;
            }
            if w.chars().any(|c| c.is_ascii_digit()) {
                addr.push(w);
            } else if !addr.is_empty() {
                // A street name is followed by its number: words after a number belong
                // to the address as well ("Æblevej 3 st th", "8000 Aarhus C").
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
        self.birthdate.is_none()
            && self.birth_year.is_none()
            && fold(&self.name).is_empty()
            && fold(&self.address).is_empty()
    }
}

fn parse_year(w: &str) -> Option<i32> {
    if w.len() != 4 || !w.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    w.parse().ok().filter(|y| YEARS.contains(y))
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
    crate::election::voter_list::parse_date(w)
}

/// A typed word matches a word of the list: a prefix ("Jør" → "Jørgen"), but a number
/// only whole, or with a letter after it ("38" → "38" and "38a", never "380").
fn word_matches(typed: &str, word: &str) -> bool {
    if typed.bytes().all(|b| b.is_ascii_digit()) {
        word.strip_prefix(typed)
            .is_some_and(|rest| rest.chars().all(|c| c.is_alphabetic()))
    } else {
        word.starts_with(typed)
    }
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
    /// covering indexes (fold_last, fold_first) and (fold_first, fold_last). When that
    /// finds nobody (the other word may be a town: "Jensen Aarhus"), the first word alone
    /// is tried; when no word starts a name ("Aagaard" alone), every name is scanned for
    /// a word starting with it: slower, and only then.
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
        for with_second in [true, false] {
            for (i, a) in sorted.iter().enumerate().take(MAX_ANCHORS) {
                let b = sorted
                    .iter()
                    .enumerate()
                    .find(|(j, _)| *j != i && with_second)
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
            if !out.is_empty() || sorted.len() < 2 {
                break;
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

    /// Voters whose address holds a word starting with `word` (a street, or a town
    /// typed without a number), or whose postcode is `word`: a scan of the list.
    fn address_candidates(&self, word: &str) -> Result<Vec<Voter>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {VOTER_COLUMNS} FROM voters
             WHERE instr(' ' || fold_address, ?1) > 0 OR postcode = ?2 OR lower(town) LIKE ?3
             LIMIT ?4"
        ))?;
        let rows = stmt.query_map(
            params![
                format!(" {word}"),
                word,
                format!("{}%", word.replace(['%', '_'], "")),
                CANDIDATE_LIMIT
            ],
            voter_from_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn candidates(
        &self,
        q: &SearchQuery,
        name_tokens: &[String],
        addr_tokens: &[String],
    ) -> Result<Vec<Voter>> {
        if let Some(d) = q.birthdate {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {VOTER_COLUMNS} FROM voters WHERE birthdate=?1 LIMIT ?2"
            ))?;
            let rows = stmt.query_map(
                params![d.format("%Y-%m-%d").to_string(), CANDIDATE_LIMIT],
                voter_from_row,
            )?;
            return Ok(rows.collect::<rusqlite::Result<_>>()?);
        }
        if let Some(place) = &q.place {
            // One polling place holds at most some 25,000 voters: scanning them finds
            // any word of any name, also the second part of a double surname.
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {VOTER_COLUMNS} FROM voters WHERE place=?1"
            ))?;
            let rows = stmt.query_map(params![place], voter_from_row)?;
            return Ok(rows.collect::<rusqlite::Result<_>>()?);
        }
        if !name_tokens.is_empty() {
            let found = self.name_candidates(name_tokens)?;
            if !found.is_empty() {
                return Ok(found);
            }
            // No name starts so: the words may be a street or a town ("Skolevej Aarhus").
            return self.address_candidates(&name_tokens[0]);
        }
        // The street is the first word without digits; else a postcode or a number.
        let word = addr_tokens
            .iter()
            .find(|t| !t.bytes().any(|b| b.is_ascii_digit()))
            .or(addr_tokens.first());
        if let Some(word) = word {
            return self.address_candidates(word);
        }
        if let Some(y) = q.birth_year {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {VOTER_COLUMNS} FROM voters
                 WHERE (birthdate >= ?1 AND birthdate < ?2) OR postcode = ?3 LIMIT ?4"
            ))?;
            let rows = stmt.query_map(
                params![
                    format!("{y:04}-01-01"),
                    format!("{:04}-01-01", y + 1),
                    format!("{y:04}"),
                    CANDIDATE_LIMIT
                ],
                voter_from_row,
            )?;
            return Ok(rows.collect::<rusqlite::Result<_>>()?);
        }
        Ok(Vec::new())
    }

    /// Voters matching every word typed. A name word matches the start of a word of the
    /// name, or of the address (a town typed without a number); an address word matches
    /// the street, number, postcode or town; a year matches the birth year or the
    /// postcode.
    pub fn search(&self, q: &SearchQuery, limit: usize) -> Result<Vec<Voter>> {
        if q.is_empty() {
            return Ok(Vec::new());
        }
        let name_tokens = tokens(&q.name);
        let addr_tokens = tokens(&q.address);
        let candidates = self.candidates(q, &name_tokens, &addr_tokens)?;
        let year = q.birth_year.map(|y| (y, format!("{y:04}")));
        let mut hits: Vec<(u32, Voter)> = candidates
            .into_iter()
            .filter(|v| q.place.as_ref().is_none_or(|p| &v.place == p))
            .filter(|v| q.birthdate.is_none_or(|d| v.birthdate == d))
            .filter(|v| {
                year.as_ref()
                    .is_none_or(|(y, s)| v.birthdate.year() == *y || &v.postcode == s)
            })
            .filter_map(|v| {
                let words = tokens(&v.full_name());
                let addr = tokens(&format!("{} {} {}", v.address, v.postcode, v.town));
                let name_ok = name_tokens.iter().all(|t| {
                    words.iter().any(|w| w.starts_with(t.as_str()))
                        || addr.iter().any(|w| word_matches(t, w))
                });
                let addr_ok = addr_tokens
                    .iter()
                    .all(|t| addr.iter().any(|w| word_matches(t, w)));
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

    /// The words of a free-text search that alone find nobody, as typed: what the
    /// valgsekretær should check ("Intet fundet for: Tvaergade").
    pub fn unmatched_words(&self, text: &str, place: Option<&str>) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for word in text.split_whitespace() {
            let w = word.trim_matches(|c: char| c == ',' || c == '.');
            let mut q = SearchQuery::parse_free(w);
            q.place = place.map(str::to_string);
            if q.is_empty() {
                continue;
            }
            if self.search(&q, 1)?.is_empty() {
                out.push(w.to_string());
            }
        }
        Ok(out)
    }
}

/// "Intet fundet for: Tvaergade, 8001": what a search that found nobody says, in Danish.
pub fn nothing_found_text(unmatched: &[String]) -> String {
    if unmatched.is_empty() {
        "Ingen vælger passer på alle ordene. Prøv med færre ord.".into()
    } else {
        format!(
            "Intet fundet for: {}. Kontrollér stavningen, eller søg uden {}.",
            unmatched.join(", "),
            if unmatched.len() == 1 { "det" } else { "dem" }
        )
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

#[cfg(test)]
mod real_queries {
    //! Queries as the valgsekretær types them (issue 20, problem 5), against a generated
    //! list: each must find the voter it was made from.
    use super::*;

    fn store() -> Store {
        let mut list = Vec::new();
        crate::store::generate::write_list(&mut list, 2_000, 7, 2, "KV+RV").unwrap();
        let mut s = Store::open_in_memory().unwrap();
        s.import_file(&list[..], false, |_| {}).unwrap();
        s
    }

    fn voters(s: &Store) -> Vec<Voter> {
        let place = s.places().unwrap()[0].0.clone();
        (1..=200)
            .filter_map(|n| s.voter_by_list_no(&place, n).unwrap())
            .collect()
    }

    fn finds(s: &Store, text: &str, v: &Voter) -> bool {
        s.search(&SearchQuery::parse_free(text), 2_000)
            .unwrap()
            .iter()
            .any(|h| h.id == v.id)
    }

    /// "Skolevej 38, 2. th" → ("Skolevej", "38").
    fn street_and_number(v: &Voter) -> (String, String) {
        let mut words = v.address.split([' ', ',']).filter(|w| !w.is_empty());
        let street = words.next().unwrap().to_string();
        let number = words.next().unwrap().to_string();
        (street, number)
    }

    #[test]
    fn surname_and_birth_year() {
        let s = store();
        for v in voters(&s) {
            let q = format!("{} {}", v.last_name, v.birthdate.year());
            assert!(finds(&s, &q, &v), "{q} does not find {}", v.full_name());
            assert_eq!(
                SearchQuery::parse_free(&q).birth_year,
                Some(v.birthdate.year())
            );
            let other = format!("{} {}", v.last_name, v.birthdate.year() + 1);
            assert!(!finds(&s, &other, &v), "{other} finds {}", v.full_name());
        }
    }

    #[test]
    fn full_address_with_postcode_and_town() {
        let s = store();
        for v in voters(&s) {
            let (street, number) = street_and_number(&v);
            let q = format!("{street} {number}, {} {}", v.postcode, v.town);
            assert!(finds(&s, &q, &v), "{q} does not find {}", v.full_name());
        }
    }

    #[test]
    fn street_number_and_town_without_postcode() {
        let s = store();
        for v in voters(&s) {
            let (street, number) = street_and_number(&v);
            let town = v.town.split(' ').next().unwrap();
            let q = format!("{street} {number} {town}");
            assert!(finds(&s, &q, &v), "{q} does not find {}", v.full_name());
            // The house number is a whole number: "3" is not "38".
            let wrong = format!("{street} {number}0 {town}");
            assert!(!finds(&s, &wrong, &v), "{wrong} finds {}", v.full_name());
        }
    }

    #[test]
    fn a_name_with_a_town() {
        let s = store();
        for v in voters(&s).into_iter().take(40) {
            let town = v.town.split(' ').next().unwrap();
            let q = format!("{} {town}", v.last_name);
            assert!(finds(&s, &q, &v), "{q} does not find {}", v.full_name());
        }
    }

    #[test]
    fn the_words_that_match_nothing_are_named() {
        let s = store();
        let v = &voters(&s)[0];
        let (street, number) = street_and_number(v);
        let text = format!("{} Xyzzyvej {street} {number}", v.last_name);
        assert!(
            s.search(&SearchQuery::parse_free(&text), 30)
                .unwrap()
                .is_empty()
        );
        let unmatched = s.unmatched_words(&text, None).unwrap();
        assert_eq!(unmatched, vec!["Xyzzyvej".to_string()]);
        assert_eq!(
            nothing_found_text(&unmatched),
            "Intet fundet for: Xyzzyvej. Kontrollér stavningen, eller søg uden det."
        );
    }
}
