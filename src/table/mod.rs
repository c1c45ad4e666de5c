//! The table daemon: wires scanner → check-in rules → store → screen and signals, and
//! keeps the table's state (open, paused, closed).

pub mod checklist;
pub mod config;
pub mod core;
pub mod daemon;
pub mod pin;
pub mod place_mode;
pub mod screen;
pub mod secretary;
pub mod systemd;
