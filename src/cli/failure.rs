//! How a command fails: the message the person running it reads. A file of its own so
//! every command (and the benchmarks) can use it without using the dispatcher in
//! `cli/mod.rs`, which uses them.
//!
//! Commands return `anyhow::Result`: an error keeps its cause chain up to here, where
//! the whole chain is printed, so "cannot read X" still says why.

/// What a command returns: nothing, or the error with its causes.
pub type CmdResult = anyhow::Result<()>;

/// The error as the person running the command reads it: the error, then each cause
/// the text does not already say, joined by ": " (as `{:#}` would, without saying a
/// cause twice where an error's own text already includes its source's).
pub fn message(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::message;
    use anyhow::Context;

    #[test]
    fn the_message_carries_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = Err::<(), _>(io).context("cannot read x").unwrap_err();
        assert_eq!(message(&e), "cannot read x: gone");
        let e = e.context("cannot read x: gone; nothing was imported");
        assert_eq!(message(&e), "cannot read x: gone; nothing was imported");
    }
}
