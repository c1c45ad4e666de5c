//! The table: the check-in rules between scanner, store, screen and signals, and the
//! table's state (open, paused, closed). No HTTP here: the composition layer
//! (`app/table.rs`) assembles the running daemon and the `web` module serves its screens.

pub mod admin;
pub mod brevstemmer;
pub mod checkin;
pub mod checklist;
pub mod config;
pub mod core;
pub mod drivers;
pub mod no_card;
pub mod open;
pub mod peers;
pub mod pin_attempts;
pub mod place_mode;
pub mod printing;
pub mod screen;
pub mod secretary;
pub mod sends;
pub mod sent_kept;
pub mod sent_queue;
pub mod shared;
pub mod sync_node;
pub mod tasks;
