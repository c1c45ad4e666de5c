//! Logging: readable lines with colours on a terminal, plain lines without timestamps
//! under systemd (journald stamps them itself).

use tracing_subscriber::EnvFilter;

/// `default` is the level when VALGBORD_LOG is not set.
pub fn init(default: &str) {
    let under_journal = std::env::var_os("JOURNAL_STREAM").is_some();
    let filter =
        EnvFilter::try_from_env("VALGBORD_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let result = if under_journal {
        builder.without_time().with_ansi(false).try_init()
    } else {
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init()
    };
    // A second init (tests start several servers in one process) keeps the first.
    let _ = result;
}
