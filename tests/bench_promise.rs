//! `valgbord bench promise` runs end to end on a small polling place: it makes its own
//! network namespace, drops packets, stalls the central, floods the tables, and prints a
//! line per condition. The figures themselves are the README's; this keeps the command
//! working. Needs root (as CI has), like every namespaced test.

mod daemon;

use std::process::Command;

#[test]
fn bench_promise_measures_every_condition() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(daemon::BIN)
        .args([
            "bench",
            "promise",
            "--tables",
            "3",
            "--voters",
            "3000",
            "--seconds",
            "2",
            "--rate",
            "3",
            "--dir",
        ])
        .arg(dir.path())
        .output()
        .expect("run valgbord bench promise");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bench promise failed (it needs root, iproute2 and nftables):\n{stdout}\n{stderr}"
    );
    for condition in [
        "healthy",
        "central: every packet dropped",
        "central: accepts, never answers",
        "one table's network cut",
        "flood: 500 half-open per table",
        "central: 300 ms + 5 % loss",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(condition))
            .unwrap_or_else(|| panic!("no line for {condition}:\n{stdout}"));
        assert!(line.contains("p99") && line.contains("n="), "{line}");
        // Every check-in was seen at the other table (10 s is far beyond the promise).
        assert!(line.contains("not seen in 10 s: 0"), "{line}");
    }
    assert!(
        stdout.contains("flood on 3 of 3 status bars"),
        "the flood was not shown on every table:\n{stdout}"
    );
}
