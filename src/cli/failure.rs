//! How a command fails: the message the person running it reads. A file of its own so
//! every command (and the benchmarks) can use it without using the dispatcher in
//! `cli/mod.rs`, which uses them.

/// A failure the command reports to the person running it; already formatted.
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

pub type CmdResult = Result<(), Failure>;
