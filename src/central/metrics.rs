//! Counters for `/metrics`, in the Prometheus text exposition format (version 0.0.4).
//! The format is a few lines of text; writing it here keeps a dependency out and lets
//! the per-table gauges come straight from the central's own contact list.

use crate::store::StoreError;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the ingest-latency histogram buckets.
const BUCKETS: [f64; 10] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
pub struct Metrics {
    pub received: AtomicU64,
    pub added: AtomicU64,
    pub duplicates: AtomicU64,
    /// Pulls answered, from tables and the other centrals: a table pulls the central
    /// every few seconds (`sync::client::CENTRAL_PULL_EVERY`), so this shows the load
    /// that takes and a table that pulls far more often.
    pub pulls: AtomicU64,
    /// Rejected events by reason.
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    /// Sync requests refused as replayed, stale or unstamped, by reason.
    requests_refused: Mutex<BTreeMap<&'static str, u64>>,
    /// Database and other internal errors.
    pub errors: AtomicU64,
    /// Ingest batches by latency bucket, and their sum in microseconds.
    buckets: [AtomicU64; BUCKETS.len()],
    batches: AtomicU64,
    latency_sum_us: AtomicU64,
}

/// The reason label of a refused event.
pub fn reason(e: &StoreError) -> &'static str {
    use crate::election::event::EventError;
    match e {
        StoreError::Event(EventError::UnknownKey(_)) => "unknown_key",
        StoreError::Event(EventError::BadSignature { .. }) => "bad_signature",
        StoreError::Event(EventError::ForeignElection { .. }) => "foreign_election",
        StoreError::Event(EventError::TestEvent { .. }) => "test_event",
        StoreError::Event(EventError::NotCanonical { .. }) => "not_canonical",
        StoreError::Event(_) => "malformed",
        StoreError::Gap { .. } => "gap",
        StoreError::BrokenChain { .. } => "broken_chain",
        StoreError::Equivocation { .. } => "equivocation",
        StoreError::Forked { .. } => "forked",
        StoreError::DiskFull(_) | StoreError::Sqlite(_) => "database",
        StoreError::Binding(_) | StoreError::Invalid(_) => "invalid",
        StoreError::ListChange(_) => "list_change",
    }
}

impl Metrics {
    pub fn reject(&self, why: &'static str) {
        bump(&self.rejected, why);
        if why == "database" {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn refuse_request(&self, why: &'static str) {
        bump(&self.requests_refused, why);
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .sum()
    }

    pub fn observe_ingest(&self, d: Duration) {
        let s = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// The exposition text. `tables` are (place, table_no, lag in events, seconds since
    /// the last contact or None) for every configured table.
    pub fn render(&self, stored: u64, tables: &[(String, u32, u64, Option<f64>)]) -> String {
        let mut o = String::new();
        let counter = |o: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        counter(
            &mut o,
            "valgbord_central_events_received_total",
            "Events received from tables, by push or pull.",
            self.received.load(Ordering::Relaxed),
        );
        counter(
            &mut o,
            "valgbord_central_events_added_total",
            "Events verified and stored.",
            self.added.load(Ordering::Relaxed),
        );
        counter(
            &mut o,
            "valgbord_central_events_duplicate_total",
            "Events received that were already stored.",
            self.duplicates.load(Ordering::Relaxed),
        );
        counter(
            &mut o,
            "valgbord_central_pulls_total",
            "Pulls answered, from tables and other centrals.",
            self.pulls.load(Ordering::Relaxed),
        );
        by_reason(
            &mut o,
            "valgbord_central_events_rejected_total",
            "Events refused, by reason.",
            &self.rejected,
            "unknown_key",
        );
        by_reason(
            &mut o,
            "valgbord_central_sync_requests_refused_total",
            "Sync requests refused as replayed, stale or without time and nonce, by reason.",
            &self.requests_refused,
            "replay",
        );
        counter(
            &mut o,
            "valgbord_central_errors_total",
            "Internal errors (database, disk).",
            self.errors.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            o,
            "# HELP valgbord_central_events_stored Events in the central's log.\n# TYPE valgbord_central_events_stored gauge\nvalgbord_central_events_stored {stored}"
        );
        let _ = writeln!(
            o,
            "# HELP valgbord_central_ingest_seconds Time to verify and store one batch of events.\n# TYPE valgbord_central_ingest_seconds histogram"
        );
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                o,
                "valgbord_central_ingest_seconds_bucket{{le=\"{b}\"}} {}",
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let n = self.batches.load(Ordering::Relaxed);
        let _ = writeln!(
            o,
            "valgbord_central_ingest_seconds_bucket{{le=\"+Inf\"}} {n}\nvalgbord_central_ingest_seconds_sum {}\nvalgbord_central_ingest_seconds_count {n}",
            self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            o,
            "# HELP valgbord_central_table_lag_events Events a table had that the central lacked, at its last contact.\n# TYPE valgbord_central_table_lag_events gauge"
        );
        for (place, no, lag, _) in tables {
            let _ = writeln!(
                o,
                "valgbord_central_table_lag_events{{place=\"{}\",table=\"{no}\"}} {lag}",
                escape(place)
            );
        }
        let _ = writeln!(
            o,
            "# HELP valgbord_central_table_last_contact_age_seconds Seconds since the table was last heard from (absent: never).\n# TYPE valgbord_central_table_last_contact_age_seconds gauge"
        );
        for (place, no, _, age) in tables {
            if let Some(age) = age {
                let _ = writeln!(
                    o,
                    "valgbord_central_table_last_contact_age_seconds{{place=\"{}\",table=\"{no}\"}} {age:.3}",
                    escape(place)
                );
            }
        }
        o
    }
}

fn bump(counts: &Mutex<BTreeMap<&'static str, u64>>, why: &'static str) {
    *counts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(why)
        .or_default() += 1;
}

/// A counter by reason label; `zero` is shown at 0 while nothing was counted, so the
/// series exists from the start.
fn by_reason(
    o: &mut String,
    name: &str,
    help: &str,
    counts: &Mutex<BTreeMap<&'static str, u64>>,
    zero: &str,
) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter");
    let counts = counts.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if counts.is_empty() {
        let _ = writeln!(o, "{name}{{reason=\"{zero}\"}} 0");
    }
    for (why, n) in counts {
        let _ = writeln!(o, "{name}{{reason=\"{why}\"}} {n}");
    }
}

/// A label value with `\`, `"` and newlines escaped as the format requires.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_line_is_name_labels_value() {
        let m = Metrics::default();
        m.received.fetch_add(3, Ordering::Relaxed);
        m.reject("unknown_key");
        m.observe_ingest(Duration::from_millis(3));
        let text = m.render(7, &[("1 \"a\"".into(), 2, 5, Some(1.5))]);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            assert!(
                name.chars().next().is_some_and(|c| c.is_ascii_alphabetic()),
                "{line}"
            );
        }
        assert!(text.contains("valgbord_central_events_received_total 3"));
        assert!(text.contains("{reason=\"unknown_key\"} 1"));
        assert!(text.contains("valgbord_central_ingest_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("valgbord_central_ingest_seconds_bucket{le=\"0.002\"} 0"));
        assert!(text.contains("place=\"1 \\\"a\\\"\",table=\"2\"} 5"));
    }
}
