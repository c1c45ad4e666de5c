//! valgbord: digital valglister for a Danish polling place.
//!
//! See `ARCHITECTURE.md` for the map of the code.

pub mod app;
pub mod attempt_limit;
pub mod audit;
pub mod central;
pub mod cli;
pub mod election;
pub mod fuzzing;
pub mod http_limits;
pub mod logging;
pub mod netfault;
pub mod open_files;
pub mod own_binary;
pub mod password;
pub mod ports;
pub mod print;
pub mod provision;
pub mod rehearsal;
pub mod scan;
pub mod signal;
pub mod store;
pub mod sync;
pub mod systemd;
pub mod table;
pub mod toml_file;
pub mod web;
