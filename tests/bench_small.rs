//! `valgbord bench central` and `bench sync` run end to end in a tiny size, so the code
//! paths behind the README's figures keep working: the central reached by every
//! simulated table on a mutual-TLS connection of its own, and the tables' sync with
//! every table checking in at once. The figures themselves are the README's; nothing
//! here is timed.

mod daemon;

use std::process::Command;

/// Runs `valgbord bench …` and returns its standard output; fails with both outputs.
fn bench(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(daemon::BIN)
        .arg("bench")
        .args(args)
        .arg("--dir")
        .arg(dir.path())
        .env("VALGBORD_LOG", "warn")
        .output()
        .expect("run valgbord bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bench {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

fn line<'a>(stdout: &'a str, start: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.trim_start().starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?}:\n{stdout}"))
}

/// The number that follows the first colon of `line`.
fn count_after_colon(line: &str) -> usize {
    line.split(':')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count after the colon: {line}"))
}

#[test]
fn bench_central_connects_every_table_over_tls_and_stores_every_push() {
    let out = bench(&[
        "central", "--places", "4", "--tables", "40", "--voters", "4000", "--events", "200",
        "--rate", "200",
    ]);
    let connected = line(&out, "40 tables connected over mutual TLS");
    assert!(connected.contains("p99"), "{connected}");
    // 40 openings and 200 check-ins, every one stored.
    let sustained = line(&out, "sustained");
    assert!(
        sustained.contains("240 pushes") && sustained.contains("0 refused; 240 events stored"),
        "{sustained}"
    );
    // The tables' ends of the 40 connections are in the bench's process; the central
    // is a process of its own, whose memory is reported.
    let sockets = line(&out, "sockets open at peak in the bench's process:");
    let n = count_after_colon(sockets);
    assert!(n >= 40, "{sockets}");
    // Each table pulls the central as real tables do, with a table of its place
    // answering every 4 s or so, each from a phase of its own over that span: the
    // first at once.
    let pulls = line(
        &out,
        "pulls, as real tables pull the central in their rounds:",
    );
    let n = count_after_colon(pulls);
    assert!(n >= 1, "{pulls}");
    assert!(!out.contains("pulls failed"), "{out}");
    let memory = line(&out, "the central's peak memory (its own process, VmHWM):");
    assert!(memory.matches(" MB").count() == 2, "{memory}");
    let overview = line(&out, "overview of 4 places read over HTTP");
    assert!(overview.contains("turnout"), "{overview}");
}

#[test]
fn bench_central_still_compares_with_shared_plain_connections() {
    let out = bench(&[
        "central",
        "--places",
        "2",
        "--tables",
        "10",
        "--voters",
        "2000",
        "--events",
        "50",
        "--rate",
        "100",
        "--connections",
        "4",
    ]);
    assert!(!out.contains("pulls, as real tables"), "{out}");
    assert!(out.contains("4 shared plain-HTTP connections"), "{out}");
    assert!(!out.contains("connected over mutual TLS"), "{out}");
    let sustained = line(&out, "sustained");
    assert!(
        sustained.contains("0 refused; 60 events stored"),
        "{sustained}"
    );
}

#[test]
fn bench_sync_watches_every_check_in_with_every_table_checking_in() {
    let out = bench(&[
        "sync",
        "--tables",
        "3",
        "--checkins",
        "24",
        "--partition-events",
        "20",
        "--per-hour",
        "7200",
    ]);
    line(&out, "every table checks in 7200 voters an hour");
    // Every check-in seen at another table, in its database and on its screen.
    for what in ["(database)", "(screen  )"] {
        let l = line(
            &out,
            &format!("at the peak, visible at another table {what}"),
        );
        assert!(l.ends_with("(n=24)"), "{l}");
    }
    line(&out, "catch-up of a table away for 20 check-ins");
}
