//! Provisioning: the office's signed election package per polling place, and loading
//! it onto a table.

pub mod enrol;
pub mod error;
pub mod load;
pub mod make;
pub mod package;
pub mod serve;
