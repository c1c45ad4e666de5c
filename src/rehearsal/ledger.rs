//! What the day's people were told, written down as it happens: every green screen,
//! every confirm without an answer, every outcome and broken rule. The invariants are
//! checked against it afterwards ([`super::check`]) and the report is made from it.

use super::faults::Fault;
use crate::election::event::RecordedMethod;
use std::collections::HashMap;

/// A check-in someone was told about (green on the screen, "Registreret" for the
/// valgsekretær, or a paper mark entered).
#[derive(Debug, Clone)]
pub struct Green {
    pub voter: usize,
    pub table: usize,
    pub method: RecordedMethod,
    pub sim: f64,
}

#[derive(Default)]
pub struct Ledger {
    pub greens: Vec<Green>,
    /// (voter, table) of confirms that got no answer.
    pub unsure: Vec<(usize, usize)>,
    /// (simulated minute, scan ms, confirm ms) of each check-in by card.
    pub latency: Vec<(f64, f64, f64)>,
    /// Outcomes by errand label and code.
    pub outcomes: HashMap<(&'static str, String), usize>,
    /// Everything that went against the rules, in words.
    pub violations: Vec<String>,
    /// What happened to the faults, in words.
    pub fault_log: Vec<String>,
    pub arrivals: HashMap<&'static str, usize>,
    /// Voters sent to another table because theirs failed.
    pub moved: usize,
    pub superseded_refused: usize,
    pub repeats_refused: usize,
    pub repeats_admitted_in_fault: usize,
    pub paper_marks: usize,
    pub paper_conflicts: usize,
    pub disk_not_stored: usize,
    pub clock_skew_seen_ms: Option<i64>,
    /// Every fault with its simulated (start, end), to judge an admitted repeat.
    pub disturbed: Vec<(Fault, f64, f64)>,
    /// Card in force per voter, after a reissue.
    pub current_card: HashMap<usize, String>,
}
