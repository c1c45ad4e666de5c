//! The domain of a Danish polling place, free of I/O: voters, contests, the check-in
//! rules, events and their signatures, the hybrid logical clock.

pub mod brevstemme;
pub mod checkin;
pub mod clock;
pub mod contest;
pub mod country;
pub mod event;
pub mod keys;
pub mod list_change;
pub mod list_signature;
pub mod names;
pub mod official;
pub mod place_mode;
pub mod retention;
pub mod roles;
pub mod voter;
pub mod voter_list;

#[cfg(test)]
pub(crate) mod testdata;
