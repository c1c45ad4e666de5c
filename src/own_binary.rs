//! How valgbord starts another copy of itself. The benchmarks and the rehearsal run
//! commands and daemons as separate processes, as a user would, so their figures
//! include start-up, files and fsync. Normally the copy is this executable.
//!
//! Under qemu's user-mode emulation (the Pi's aarch64 build tested on an amd64 CI
//! machine) the kernel cannot start an aarch64 file by itself unless binfmt_misc is set
//! up, which a CI container cannot do. `VALGBORD_SELF` may then name a command that runs
//! this same binary (`tests/package/qemu-valgbord`), so the copies run emulated too.
//! It changes only how the copy is started, never what it does.

use anyhow::Context;
use std::ffi::OsString;
use std::process::Command;

/// The environment variable naming a command that runs this binary.
pub const SELF_VAR: &str = "VALGBORD_SELF";

/// A `Command` that runs this binary; its arguments are for the caller to add.
pub fn command() -> anyhow::Result<Command> {
    Ok(Command::new(program(std::env::var_os(SELF_VAR))?))
}

fn program(named: Option<OsString>) -> anyhow::Result<OsString> {
    match named {
        Some(p) if !p.is_empty() => Ok(p),
        _ => Ok(std::env::current_exe()
            .context("cannot find valgbord's own executable to start another copy")?
            .into_os_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_command_is_used_and_an_empty_one_is_not() {
        assert_eq!(
            program(Some("/opt/qemu-valgbord".into())).unwrap(),
            OsString::from("/opt/qemu-valgbord")
        );
        let own = std::env::current_exe().unwrap().into_os_string();
        assert_eq!(program(Some(OsString::new())).unwrap(), own);
        assert_eq!(program(None).unwrap(), own);
    }
}
