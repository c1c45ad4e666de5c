//! Replication of the signed event log between the tables of a polling place (and,
//! later, the central tally): version vectors, pull of what a peer lacks in pages
//! (anti-entropy), immediate push of new events, relaying of every device's events.
//! Between devices it runs over mutual TLS with the device keys (`tls`); tables find
//! each other on the LAN by mDNS (`discovery`).
//!
//! No master: every table holds every event and can serve any other.

pub mod admission;
pub mod auth;
pub mod client;
pub mod control;
pub mod discovery;
pub mod node;
pub mod peer_status;
pub mod protocol;
pub mod replay;
pub mod server;
pub mod tls;
