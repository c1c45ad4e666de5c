//! Which `valgbord` binary the integration tests start. Normally cargo's own build; CI
//! sets `VALGBORD_TEST_BIN` to a wrapper that runs the aarch64 release build under
//! qemu (`tests/package/qemu-valgbord`), so the same tests prove the Raspberry Pi's
//! binary works, not only this machine's (issue 19).

use std::ffi::OsStr;
use std::sync::OnceLock;

/// The binary's path: `VALGBORD_TEST_BIN` when set, else the one cargo built.
pub fn path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::var("VALGBORD_TEST_BIN")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_valgbord").to_string())
    })
}

/// The binary as a program name for `Command::new`, read once at first use.
#[derive(Clone, Copy)]
pub struct Bin;

impl AsRef<OsStr> for Bin {
    fn as_ref(&self) -> &OsStr {
        OsStr::new(path())
    }
}
