//! The table daemon end to end: the real binary on a loopback port, driven over its
//! HTTP API, checked by what the screen reports.

mod daemon;

use daemon::{PIN, Table, outcome, prepare};
use serde_json::json;

fn started(scanner: &str) -> (tempfile::TempDir, Table) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = prepare(dir.path(), 1, scanner);
    let table = Table::start(dir.path(), &config);
    (dir, table)
}

#[test]
fn every_outcome_of_the_rules_reaches_the_screen() {
    let (_dir, t) = started("");

    // Not opened yet: refused before anything about the person is shown.
    let s = t.scan("CARD-NORMAL");
    assert_eq!(outcome(&s), "table_not_open");
    assert!(s["view"]["voter"].is_null());
    t.open();

    // Admissible: pending with both ballots, name, birthdate, age and sex.
    let s = t.scan("CARD-NORMAL");
    assert_eq!(outcome(&s), "pending");
    let v = &s["view"]["voter"];
    assert_eq!(v["name"], "Jørgen Åge Møller-Aagaard");
    assert_eq!(v["birthdate"], "15-03-1980");
    assert_eq!(v["sex"], "Mand");
    assert!(v["age"].as_i64().expect("age") >= 46);
    assert_eq!(
        s["view"]["ballots_text"],
        "Udlevér: Kommunalvalg + Regionsrådsvalg"
    );
    // Not stored before the confirm.
    assert_eq!(s["checkins_here"], 0);
    let s = t.confirm();
    assert_eq!(outcome(&s), "admitted");
    assert_eq!(s["checkins_here"], 1);
    assert_eq!(s["persons_checked_in"], 1);

    // Second time: already voted, with table and time.
    let s = t.scan("CARD-NORMAL");
    assert_eq!(outcome(&s), "already_voted");
    let detail = s["view"]["detail"].as_str().expect("detail");
    assert!(detail.contains("bord 1 kl. "), "{detail}");
    assert_eq!(s["view"]["title"], "HAR ALLEREDE STEMT");

    // RV only: one ballot, and the screen says ONLY.
    let s = t.scan("CARD-RVONLY");
    assert_eq!(outcome(&s), "pending");
    assert_eq!(s["view"]["ballots"], json!(["RV"]));
    assert_eq!(s["view"]["ballots_text"], "Udlevér KUN: Regionsrådsvalg");

    // A new scan while one is pending cancels it visibly.
    let s = t.scan("CARD-BREV");
    assert_eq!(s["notice"], "Forrige scanning blev annulleret.");
    assert_eq!(outcome(&s), "brevstemme");
    assert_eq!(s["view"]["title"], "BREVSTEMME MODTAGET");

    let s = t.scan("CARD-STRUCK");
    assert_eq!(outcome(&s), "struck");
    assert!(
        s["view"]["detail"]
            .as_str()
            .expect("detail")
            .contains("død")
    );

    let s = t.scan("CARD-OTHERPLACE");
    assert_eq!(outcome(&s), "wrong_place");
    assert!(
        s["view"]["detail"]
            .as_str()
            .expect("detail")
            .contains("Vestre Skole")
    );

    let s = t.scan("CARD-EPONLY");
    assert_eq!(outcome(&s), "not_entitled");

    // A supermarket EAN and a scan with a control character: "ukendt stregkode".
    let s = t.scan("5701234567892");
    assert_eq!(outcome(&s), "unknown_card");
    assert_eq!(s["view"]["title"], "UKENDT STREGKODE");
    let s = t.scan("12\u{1b}34");
    assert_eq!(outcome(&s), "unknown_card");

    // Confirm with nothing pending changes nothing.
    let s = t.confirm();
    assert_eq!(s["checkins_here"], 1);
    assert!(
        s["notice"]
            .as_str()
            .expect("notice")
            .contains("ingen vælger")
    );
}

#[test]
fn reissued_card_supersedes_the_old_one() {
    let (_dir, t) = started("");
    t.open();
    let (status, r) = t.post(
        "/api/card/reissue",
        json!({"voter_id": "V7", "name": daemon::SECRETARY, "pin": PIN}),
    );
    assert_eq!(status, 200, "{r}");
    let new_code = r["new_code"].as_str().expect("new code").to_string();
    let s = t.scan("CARD-SECOND");
    assert_eq!(outcome(&s), "card_superseded");
    assert!(
        s["view"]["title"]
            .as_str()
            .expect("title")
            .starts_with("KORT ERSTATTET kl. ")
    );
    let s = t.scan(&new_code);
    assert_eq!(outcome(&s), "pending");
    assert_eq!(s["view"]["voter"]["id"], "V7");
    // Wrong PIN: refused, nothing reissued.
    let (status, _) = t.post(
        "/api/card/reissue",
        json!({"voter_id": "V8", "name": daemon::SECRETARY, "pin": "0000"}),
    );
    assert_eq!(status, 422);
    assert_eq!(outcome(&t.scan("CARD-THIRD")), "pending");
}

#[test]
fn pause_close_reconcile_and_undo() {
    let (_dir, t) = started("");
    t.open();
    t.scan("CARD-NORMAL");
    t.confirm();
    t.scan("CARD-RVONLY");
    t.confirm();

    let (_, s) = t.post("/api/table/pause", json!({}));
    assert_eq!(s["table_state"], "paused");
    assert_eq!(outcome(&t.scan("CARD-SECOND")), "table_not_open");
    t.open();

    // Counted: 2 KV and 1 returned → 1 KV handed out against 1 KV check-in; RV: 2 vs 2.
    let (status, r) = t.post(
        "/api/reconcile",
        json!({"handed_out": {"KV": 2, "RV": 2}, "returned": {"KV": 1}}),
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["matches"], true, "{r}");
    let (_, r) = t.post("/api/reconcile", json!({"handed_out": {"KV": 3, "RV": 2}}));
    assert_eq!(r["matches"], false);
    let kv = r["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["contest"] == "KV")
        .expect("KV line")
        .clone();
    assert_eq!(kv["difference"], 2);
    // Close while the difference is found.
    let (_, s) = t.post("/api/table/close", json!({"reason": "difference in KV"}));
    assert_eq!(s["table_state"], "closed");
    assert_eq!(outcome(&t.scan("CARD-SECOND")), "table_not_open");
    t.open();

    // Undo needs the PIN and a reason, and is an event: the voter can then vote.
    let (status, e) = t.post(
        "/api/undo",
        json!({"voter_id": "V1", "reason": "wrong person", "name": daemon::SECRETARY, "pin": "0000"}),
    );
    assert_eq!(status, 422);
    assert_eq!(e["error"], "Forkert PIN.");
    let (status, _) = t.post(
        "/api/undo",
        json!({"voter_id": "V1", "reason": " ", "name": daemon::SECRETARY, "pin": PIN}),
    );
    assert_eq!(status, 422);
    let (status, s) = t.post(
        "/api/undo",
        json!({"voter_id": "V1", "reason": "wrong person", "name": daemon::SECRETARY, "pin": PIN}),
    );
    assert_eq!(status, 200);
    assert_eq!(s["checkins_here"], 1);
    assert_eq!(outcome(&t.scan("CARD-NORMAL")), "pending");
    let (_, h) = t.get("/api/health");
    // The valgstyrere's decision on V3's brevstemme, open, 2 check-ins, pause, open, 2
    // reconciliations, close, open, undo.
    assert_eq!(h["events"], 11);
}

#[test]
fn kill_9_right_after_green_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = prepare(dir.path(), 1, "");
    let mut t = Table::start(dir.path(), &config);
    t.open();
    t.scan("CARD-NORMAL");
    let s = t.confirm();
    // The screen turned green: from here the check-in must survive anything.
    assert_eq!(outcome(&s), "admitted");
    t.kill9();

    let t = Table::start(dir.path(), &config);
    let s = t.scan("CARD-NORMAL");
    assert_eq!(outcome(&s), "already_voted");
    assert_eq!(s["checkins_here"], 1);
    assert_eq!(s["table_state"], "open");
}

#[test]
fn screen_is_served_with_its_assets() {
    let (_dir, t) = started("");
    for (path, needle) in [
        ("/", "Scan valgkortet"),
        ("/assets/table.js", "EventSource"),
        ("/assets/table.css", "--green"),
    ] {
        let mut res = t
            .agent
            .get(&format!("{}{path}", t.base))
            .call()
            .expect("GET");
        assert_eq!(res.status().as_u16(), 200);
        let body = res.body_mut().read_to_string().expect("body");
        assert!(body.contains(needle), "{path} lacks {needle}");
    }
}

#[test]
fn refuses_to_start_against_another_elections_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = prepare(dir.path(), 1, "");
    let text = std::fs::read_to_string(&config)
        .expect("config")
        .replace("election = \"kv-test\"", "election = \"fv-2026\"");
    std::fs::write(&config, text).expect("write");
    let out = std::process::Command::new(daemon::BIN)
        .args(["table", "--config", config.to_str().expect("path")])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tilhører valget \"kv-test\""), "{err}");
    assert!(err.contains("valgbord destroy"), "{err}");
}

/// A serial scanner on a pseudo terminal (socat makes the pair): what is written to one
/// end is what the scanner would send; the table reads the other end.
#[test]
fn a_serial_scanner_on_a_pseudo_terminal_checks_voters_in() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    let dir = tempfile::tempdir().expect("tempdir");
    let scanner_end = dir.path().join("scanner-tty");
    let our_end = dir.path().join("feeder-tty");
    let mut socat = Command::new("socat")
        .arg(format!("pty,raw,echo=0,link={}", scanner_end.display()))
        .arg(format!("pty,raw,echo=0,link={}", our_end.display()))
        .stderr(Stdio::null())
        .spawn()
        .expect("socat is needed for this test: apt-get install socat");
    assert!(
        daemon::eventually(Duration::from_secs(10), || scanner_end.exists()
            && our_end.exists()),
        "socat made no pty pair"
    );
    let config = prepare(
        dir.path(),
        1,
        &format!(
            "[scanner]\nkind = \"serial\"\npath = \"{}\"\nbaud = 9600\n",
            scanner_end.display()
        ),
    );
    let t = Table::start(dir.path(), &config);
    t.open();
    assert!(
        daemon::eventually(Duration::from_secs(10), || {
            t.get("/api/screen").1["status"]["scanner_ok"] == true
        }),
        "serial scanner never reported connected"
    );
    let mut feeder = std::fs::OpenOptions::new()
        .write(true)
        .open(&our_end)
        .expect("open feeder end");
    let screen_after = |feeder: &mut std::fs::File, bytes: &[u8], version: i64| {
        feeder.write_all(bytes).expect("write to pty");
        feeder.flush().expect("flush");
        let mut last = serde_json::Value::Null;
        assert!(
            daemon::eventually(Duration::from_secs(10), || {
                last = t.get("/api/screen").1;
                last["version"].as_i64().unwrap_or(0) > version
            }),
            "no screen change after a scan"
        );
        last
    };
    let v0 = t.get("/api/screen").1["version"].as_i64().expect("version");
    let s = screen_after(&mut feeder, b"CARD-NORMAL\r\n", v0);
    assert_eq!(outcome(&s), "pending");
    assert_eq!(s["view"]["voter"]["id"], "V1");
    t.confirm();
    let v1 = t.get("/api/screen").1["version"].as_i64().expect("version");
    let s = screen_after(&mut feeder, b"CARD-NORMAL\n", v1);
    assert_eq!(outcome(&s), "already_voted");
    let v2 = s["version"].as_i64().expect("version");
    let s = screen_after(&mut feeder, b"\x1b[A\x02garbage\r", v2);
    assert_eq!(outcome(&s), "unknown_card");
    let _ = socat.kill();
    let _ = socat.wait();
}

/// Issue 20, problem 10: the page's timer sends the verdict it showed back; the daemon
/// returns to "Scan valgkortet" only if that verdict is still the one on screen, and
/// never while a voter waits. Problem 9: the screen's sentences and the day's contests.
#[test]
fn a_verdict_is_dismissed_only_while_it_is_shown_and_never_a_pending_voter() {
    let (_dir, t) = started("");
    t.open();
    let s = t.scan("CARD-NORMAL");
    assert_eq!(outcome(&s), "pending");
    assert_eq!(s["table_state_sentence"], "Bordet er åbent");
    assert_eq!(
        s["contests"],
        json!([{"code": "KV", "name": "Kommunalvalg"}, {"code": "RV", "name": "Regionsrådsvalg"}])
    );
    let (status, d) = t.post("/api/dismiss", json!({"view_id": s["view_id"]}));
    assert_eq!(status, 200, "{d}");
    assert_eq!(outcome(&d), "pending", "a pending voter was dismissed");

    let green = t.confirm();
    assert_eq!(outcome(&green), "admitted");
    // A timer of an older view changes nothing.
    let (_, d) = t.post("/api/dismiss", json!({"view_id": s["view_id"]}));
    assert_eq!(outcome(&d), "admitted");
    let (_, d) = t.post("/api/dismiss", json!({"view_id": green["view_id"]}));
    assert_eq!(d["view"]["kind"], "ready", "{d}");
    assert!(d["view"].get("voter").is_none());

    // The same refusal twice is two views: the first one's timer leaves the second.
    let red1 = t.scan("CARD-NORMAL");
    let red2 = t.scan("CARD-NORMAL");
    assert_eq!(outcome(&red2), "already_voted");
    assert_ne!(red1["view_id"], red2["view_id"]);
    let (_, d) = t.post("/api/dismiss", json!({"view_id": red1["view_id"]}));
    assert_eq!(outcome(&d), "already_voted");
    let (_, d) = t.post("/api/dismiss", json!({"view_id": red2["view_id"]}));
    assert_eq!(d["view"]["kind"], "ready");

    let (_, p) = t.post("/api/table/pause", json!({}));
    assert_eq!(p["table_state_sentence"], "Bordet holder pause");
    let refused = t.scan("CARD-SECOND");
    assert_eq!(refused["view"]["title"], "BORDET HOLDER PAUSE");
}

/// Issue 17, item 4: a spoiled ballot exchanged for a new one (ombyttet) is one more
/// ballot off the stack that no check-in accounts for; the count says so apart from the
/// returned ones, and the closing report shows both per contest.
#[test]
fn exchanged_ballots_are_counted_apart_from_returned_in_the_count_and_the_report() {
    let (dir, t) = started("");
    t.open();
    t.scan("CARD-NORMAL");
    t.confirm();
    t.scan("CARD-RVONLY");
    t.confirm();

    // KV: 1 check-in + 1 returned + 1 exchanged = 3 handed out; RV: 2 check-ins + 1
    // exchanged = 3.
    let (status, r) = t.post(
        "/api/reconcile",
        json!({
            "handed_out": {"KV": 3, "RV": 3},
            "returned": {"KV": 1},
            "exchanged": {"KV": 1, "RV": 1},
        }),
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["matches"], true, "{r}");
    let line = |r: &serde_json::Value, c: &str| {
        r["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .find(|l| l["contest"] == c)
            .expect("line")
            .clone()
    };
    assert_eq!(line(&r, "KV")["exchanged"], 1, "{r}");
    assert_eq!(line(&r, "KV")["returned"], 1, "{r}");
    // Forgetting the exchanged ballots leaves a difference of exactly those.
    let (_, r) = t.post(
        "/api/reconcile",
        json!({"handed_out": {"KV": 3, "RV": 3}, "returned": {"KV": 1}}),
    );
    assert_eq!(r["matches"], false, "{r}");
    assert_eq!(line(&r, "RV")["difference"], 1, "{r}");
    // The last count stands in the report: recount with the exchanged ones.
    let (_, r) = t.post(
        "/api/reconcile",
        json!({
            "handed_out": {"KV": 4, "RV": 3},
            "returned": {"KV": 1},
            "exchanged": {"KV": 2, "RV": 1},
        }),
    );
    assert_eq!(r["matches"], true, "{r}");

    let pdf = dir.path().join("rapport.pdf");
    daemon::closing_report_text(&dir.path().join("table1.db"), "1", &pdf);
    // Laid out, so each label keeps its figure on its line.
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", pdf.to_str().expect("utf8"), "-"])
        .output()
        .expect("pdftotext (Debian package poppler-utils) is needed");
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |label: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(label))
            .map(|l| l.trim_start()[label.len()..].trim().to_string())
    };
    assert_eq!(value("returneret KV").as_deref(), Some("1"), "{text}");
    assert_eq!(value("ombyttet KV").as_deref(), Some("2"), "{text}");
    assert_eq!(value("ombyttet RV").as_deref(), Some("1"), "{text}");
}
