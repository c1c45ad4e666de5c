//! The composition layer: assembles a running table daemon and a running central tally
//! from their parts (configuration → store → drivers → core → sync → servers). The parts
//! stay ignorant of each other's wiring: `table` and `central` know nothing of HTTP,
//! `web` only routes, and only this layer knows which server mounts what.

pub mod central;
pub mod table;
