//! The table screen in real headless Chromium (Debian's `chromium`, driven by
//! `playwright-core` from tests/browser, installed by `.ci/run`).

mod daemon;

use daemon::{Table, prepare, run_browser_script};
use std::path::PathBuf;

#[test]
fn scan_confirm_green_then_already_voted_red() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = prepare(dir.path(), 1, "");
    let table = Table::start(dir.path(), &config);
    let artifacts = root.join("target/test-artifacts/browser");
    let stdout = run_browser_script(
        "table_flow.mjs",
        &[&table.base, artifacts.to_str().expect("utf8 path")],
    );
    assert!(stdout.contains("browser flow passed"), "{stdout}");
    for shot in ["1-pending.png", "2-admitted.png", "3-already-voted.png"] {
        let meta = std::fs::metadata(artifacts.join(shot)).expect("screenshot kept");
        assert!(meta.len() > 1000, "{shot} is empty");
    }
}
