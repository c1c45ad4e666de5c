//! The table screen in real headless Chromium (Debian's `chromium`, driven by
//! `playwright-core` from tests/browser, installed by `.ci/run`).

mod daemon;

use daemon::{Table, prepare};
use std::path::PathBuf;
use std::process::Command;

#[test]
fn scan_confirm_green_then_already_voted_red() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let script_dir = root.join("tests/browser");
    assert!(
        script_dir.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run `npm ci --prefix tests/browser` (and `apt-get install chromium`); .ci/run does both"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let config = prepare(dir.path(), 1, "");
    let table = Table::start(dir.path(), &config);
    let artifacts = root.join("target/test-artifacts/browser");
    let out = Command::new("node")
        .arg(script_dir.join("table_flow.mjs"))
        .arg(&table.base)
        .arg(&artifacts)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser flow failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("browser flow passed"), "{stdout}");
    for shot in ["1-pending.png", "2-admitted.png", "3-already-voted.png"] {
        let meta = std::fs::metadata(artifacts.join(shot)).expect("screenshot kept");
        assert!(meta.len() > 1000, "{shot} is empty");
    }
}
