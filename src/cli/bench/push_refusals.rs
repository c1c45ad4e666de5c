//! Why pushes of `bench central` failed, counted by kind: a count alone (issue 14: "7 of
//! 28,900 pushes failed") says nothing about whether the central refused, the
//! connection broke, or the bench itself sent wrongly.

use std::collections::BTreeMap;

/// What went wrong with pushes: those that failed, and those sent once more on a new
/// connection because the first broke before an answer (then stored, or in `failed`).
#[derive(Default)]
pub struct Trouble {
    pub failed: Refusals,
    pub retried: Refusals,
    /// Pushes whose table had been idle longer than a real table's client keeps a
    /// connection (`CLIENT_IDLE_REUSE`), so they opened a new one, handshake and all.
    pub reconnected: usize,
}

impl Trouble {
    pub fn merge(&mut self, other: Trouble) {
        self.failed.merge(other.failed);
        self.retried.merge(other.retried);
        self.reconnected += other.reconnected;
    }
}

/// Failed pushes by kind, each kind with its count and first full text.
#[derive(Default)]
pub struct Refusals {
    kinds: BTreeMap<String, (usize, String)>,
}

impl Refusals {
    /// Counts one failed push; `why` is its full text (numbers and keys in it are
    /// folded, so that one cause is one kind).
    pub fn add(&mut self, why: String) {
        let e = self.kinds.entry(kind_of(&why)).or_insert((0, why));
        e.0 += 1;
    }

    pub fn merge(&mut self, other: Refusals) {
        for (kind, (n, first)) in other.kinds {
            self.kinds.entry(kind).or_insert((0, first)).0 += n;
        }
    }

    pub fn total(&self) -> usize {
        self.kinds.values().map(|(n, _)| n).sum()
    }

    /// One line per kind, most frequent first.
    pub fn print(&self) {
        let mut kinds: Vec<_> = self.kinds.values().collect();
        kinds.sort_by_key(|k| std::cmp::Reverse(k.0));
        for (n, first) in kinds {
            println!("    {n} × {first}");
        }
    }
}

/// The text with every word that holds a digit (numbers, keys, addresses) as `#`.
fn kind_of(why: &str) -> String {
    why.split_inclusive(|c: char| !c.is_ascii_alphanumeric())
        .map(|w| {
            let word = w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
            if word.chars().any(|c| c.is_ascii_digit()) {
                format!("#{}", &w[word.len()..])
            } else {
                w.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cause_with_other_numbers_is_one_kind() {
        let mut r = Refusals::default();
        r.add("gap in the log of device 3fa9c2: expected event 3, got 4".into());
        r.add("gap in the log of device 77ab01: expected event 2, got 3".into());
        r.add("HTTP 408 Request Timeout".into());
        assert_eq!(r.kinds.len(), 2);
        assert_eq!(r.total(), 3);
    }
}
