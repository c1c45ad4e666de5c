//! The figures of a closing report as data, so a bundle can carry them and the audit
//! can compare them with the figures its replay computes by the same code
//! (`print::report::ClosingReport::read`). Only the moment the report was taken is left
//! out: everything else must be equal.

use crate::election::contest::Contest;
use crate::print::report::{ClosingReport, TableReport};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figures {
    pub place_id: String,
    pub place_name: String,
    pub listed: i64,
    pub eligible: i64,
    pub brevstemmer: i64,
    pub persons: i64,
    pub persons_per_contest: Vec<(Contest, i64)>,
    pub double_registrations: i64,
    pub reissued_cards: i64,
    pub mode_changes: Vec<(i64, String)>,
    pub list_changes: i64,
    pub tables: Vec<TableFigures>,
    /// Highest sequence number per device (hex key).
    pub versions: Vec<(String, u64)>,
    /// (wall time, who, what, concerning) of every official's action.
    pub official_actions: Vec<(i64, String, String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableFigures {
    pub table_no: u32,
    pub state: String,
    pub checkins: i64,
    pub per_contest: Vec<(Contest, i64)>,
    pub per_set: Vec<(String, i64)>,
    pub manual: i64,
    pub paper: i64,
    pub undone: i64,
    /// The last count: (handed out, returned, exchanged) per contest, and when.
    pub reconciled: Option<Reconciled>,
    pub changes: Vec<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reconciled {
    pub handed_out: Vec<(Contest, u32)>,
    pub returned: Vec<(Contest, u32)>,
    pub exchanged: Vec<(Contest, u32)>,
    pub wall_ms: i64,
}

impl From<&TableReport> for TableFigures {
    fn from(t: &TableReport) -> TableFigures {
        TableFigures {
            table_no: t.table_no,
            state: t.state.clone(),
            checkins: t.checkins,
            per_contest: t.per_contest.clone(),
            per_set: t.per_set.clone(),
            manual: t.manual,
            paper: t.paper,
            undone: t.undone,
            reconciled: t.reconciled.as_ref().map(|r| Reconciled {
                handed_out: r.handed_out.clone(),
                returned: r.returned.clone(),
                exchanged: r.exchanged.clone(),
                wall_ms: r.wall_ms,
            }),
            changes: t.changes.clone(),
        }
    }
}

impl From<&ClosingReport> for Figures {
    fn from(r: &ClosingReport) -> Figures {
        Figures {
            place_id: r.place_id.clone(),
            place_name: r.place_name.clone(),
            listed: r.listed,
            eligible: r.eligible,
            brevstemmer: r.brevstemmer,
            persons: r.persons,
            persons_per_contest: r.persons_per_contest.clone(),
            double_registrations: r.double_registrations,
            reissued_cards: r.reissued_cards,
            mode_changes: r.mode_changes.clone(),
            list_changes: r.list_changes,
            tables: r.tables.iter().map(TableFigures::from).collect(),
            versions: r.versions.clone(),
            official_actions: r
                .official_actions
                .iter()
                .map(|a| (a.wall_ms, a.by.clone(), a.what.clone(), a.concerns.clone()))
                .collect(),
        }
    }
}

impl Figures {
    /// Each figure that differs, as "path: in the report X, replayed Y" (the first few).
    pub fn differences(&self, replayed: &Figures) -> Vec<String> {
        json_differences(self, replayed)
    }

    /// One table's figures, by number.
    pub fn table(&self, table_no: u32) -> Option<&TableFigures> {
        self.tables.iter().find(|t| t.table_no == table_no)
    }
}

/// Where a copy's figures differ from the replayed ones, as "path: in the report X,
/// replayed Y" (the first few), for any figures that serialize.
pub fn json_differences<T: serde::Serialize>(copy: &T, replayed: &T) -> Vec<String> {
    let (a, b) = (
        serde_json::to_value(copy).unwrap_or_default(),
        serde_json::to_value(replayed).unwrap_or_default(),
    );
    let mut out = Vec::new();
    diff("", &a, &b, &mut out);
    out
}

/// The paths where two JSON values differ, at most 10.
fn diff(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    if out.len() >= 10 || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff(&p, v, y.get(k).unwrap_or(&Value::Null), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), v, w, out);
            }
        }
        _ => out.push(format!("{path}: i rapporten {a}, genberegnet {b}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_table_figure_is_named_by_its_path() {
        let rep = ClosingReport {
            place_id: "1".into(),
            persons: 3,
            tables: vec![TableReport {
                table_no: 2,
                checkins: 3,
                ..TableReport::default()
            }],
            ..ClosingReport::default()
        };
        let f = Figures::from(&rep);
        assert!(f.differences(&f.clone()).is_empty());
        let mut g = f.clone();
        g.tables[0].checkins = 4;
        let d = f.differences(&g);
        assert_eq!(d, ["tables[0].checkins: i rapporten 3, genberegnet 4"]);
    }
}
