//! Personal PINs (issue 16, item 5): the valgsekretær and each valgstyrer log in by
//! name with a PIN of their own, every privileged action in the log and in the closing
//! report names who did it, and a restart of the table keeps the wait after wrong PINs.

mod daemon;

use daemon::{
    PIN, SECRETARY, Table, VALGSTYRER, VALGSTYRER_PIN, call, eventually, login, login_as, prepare,
};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

fn error(r: &Value) -> String {
    r["error"].as_str().unwrap_or_default().to_string()
}

/// The logged events of `kinds` in table 1's database, as JSON bodies.
fn events(dir: &Path, kinds: &[&str]) -> Vec<Value> {
    let db = valgbord::store::read_snapshot::ReadOnlyDb::open(&dir.join("table1.db")).expect("db");
    let snap = db.snapshot().expect("snapshot");
    snap.events_of_kinds(kinds)
        .expect("events")
        .into_iter()
        .map(|(_, body)| serde_json::from_str(&body).expect("json"))
        .collect()
}

/// `valgbord election new` expected to fail, with the files given; its stderr.
fn election_new_refused(
    list: &str,
    secret: &str,
    enrol: &str,
    officials: &Path,
    out: &Path,
) -> String {
    daemon::run_fail(&[
        "election",
        "new",
        "--id",
        "kv",
        "--name",
        "KV",
        "--date",
        "2025-11-18",
        "--contests",
        "KV+RV",
        "--list",
        list,
        "--office-secret",
        secret,
        "--enrol",
        enrol,
        "--officials",
        officials.to_str().expect("utf8"),
        "--out",
        out.to_str().expect("utf8"),
    ])
}

#[test]
fn each_official_acts_with_a_pin_of_their_own_and_is_named_in_the_log_and_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = prepare(dir.path(), 1, "");
    let t = Table::start(dir.path(), &config);
    t.open();
    t.scan("CARD-NORMAL");
    t.confirm();

    // The login screen's buttons: names and roles, never a hash.
    let (status, r) = t.get("/api/secretary/officials");
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        r["officials"],
        json!([
            { "name": SECRETARY, "role": "valgsekretaer" },
            { "name": VALGSTYRER, "role": "valgstyrer" },
            { "name": daemon::VALGSTYRER2, "role": "valgstyrer" },
        ])
    );
    assert!(!r.to_string().contains("argon2"), "{r}");

    // Another official's PIN, or a name nobody has, is a wrong PIN, said the same way.
    let (status, r) = login_as(&t, VALGSTYRER, PIN);
    assert_eq!((status, error(&r).as_str()), (401, "Forkert PIN."));
    let (status, r) = login_as(&t, "Ukendt Person", PIN);
    assert_eq!((status, error(&r).as_str()), (401, "Forkert PIN."));

    // The valgstyrer undoes a check-in and reissues a card.
    let (status, r) = login_as(&t, VALGSTYRER, VALGSTYRER_PIN);
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["name"], VALGSTYRER);
    let styrer = r["token"].as_str().expect("token").to_string();
    let undo = json!({ "voter_id": "V1", "reason": "forkert vælger" });
    let (status, r) = call(&t, &styrer, "POST", "/api/secretary/undo", Some(undo));
    assert_eq!(status, 200, "{r}");
    let reissue = json!({ "voter_id": "V7" });
    let (status, r) = call(&t, &styrer, "POST", "/api/secretary/reissue", Some(reissue));
    assert_eq!(status, 200, "{r}");
    // The valgsekretær reissues another.
    let secretary = login(&t);
    let reissue = json!({ "voter_id": "V8" });
    let (status, r) = call(
        &t,
        &secretary,
        "POST",
        "/api/secretary/reissue",
        Some(reissue),
    );
    assert_eq!(status, 200, "{r}");

    // The log names who acted, with the role.
    let styrer_by = json!({ "name": VALGSTYRER, "role": "valgstyrer" });
    let secretary_by = json!({ "name": SECRETARY, "role": "valgsekretaer" });
    let undone = events(dir.path(), &["check_in_undone"]);
    assert_eq!(undone.len(), 1);
    assert_eq!(undone[0]["by"], styrer_by, "{}", undone[0]);
    let reissued = events(dir.path(), &["card_reissued"]);
    let by_voter = |v: &str| {
        reissued
            .iter()
            .find(|e| e["kind"]["voter_id"] == v)
            .map(|e| e["by"].clone())
    };
    assert_eq!(by_voter("V7"), Some(styrer_by));
    assert_eq!(by_voter("V8"), Some(secretary_by));
    // A check-in by scan names nobody: it is the tilforordnedes.
    let checkin = &events(dir.path(), &["check_in"])[0];
    assert!(checkin.get("by").is_none(), "{checkin}");

    // The closing report lists every action with who did it.
    let text = daemon::closing_report_text(
        &dir.path().join("table1.db"),
        "1",
        &dir.path().join("rapport.pdf"),
    );
    let lines: Vec<&str> = text.lines().collect();
    let has = |who: &str, what: &str, voter: &str| {
        lines
            .iter()
            .any(|l| l.contains(who) && l.contains(what) && l.contains(voter))
    };
    assert!(text.contains("Handlinger med personlig PIN"), "{text}");
    let styrer = format!("{VALGSTYRER} (valgstyrer)");
    let sekretaer = format!("{SECRETARY} (valgsekretær)");
    assert!(
        has(&styrer, "Registrering fortrudt (forkert vælger)", "(V1)"),
        "{text}"
    );
    assert!(has(&styrer, "Nyt valgkort udstedt", "(V7)"), "{text}");
    assert!(has(&sekretaer, "Nyt valgkort udstedt", "(V8)"), "{text}");
}

#[test]
fn a_restart_does_not_reset_the_wait_after_wrong_pins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = prepare(dir.path(), 1, "");
    let mut t = Table::start(dir.path(), &config);
    for _ in 0..2 {
        let (status, r) = login_as(&t, SECRETARY, "000000");
        assert_eq!((status, error(&r).as_str()), (401, "Forkert PIN."));
    }
    let (_, r) = login_as(&t, SECRETARY, "000001");
    assert_eq!(
        error(&r),
        "Forkert PIN. For mange forsøg: prøv igen om 5 sekunder."
    );
    // The fourth, once the wait is over: the next wait is 10 s, room for a restart.
    let mut fourth = String::new();
    assert!(
        eventually(Duration::from_secs(15), || {
            fourth = error(&login_as(&t, VALGSTYRER, "000002").1);
            fourth.starts_with("Forkert PIN.")
        }),
        "{fourth}"
    );
    assert_eq!(
        fourth,
        "Forkert PIN. For mange forsøg: prøv igen om 10 sekunder."
    );
    // Killed and started again (as after pulling the plug): the right PIN at once
    // still waits, and it is not even checked.
    t.kill9();
    let t = Table::start(dir.path(), &config);
    let (status, r) = login_as(&t, SECRETARY, PIN);
    assert_eq!(status, 401, "{r}");
    assert!(
        error(&r).starts_with("For mange forsøg: prøv igen om "),
        "{r}"
    );
}

#[test]
fn an_officials_file_without_a_valgsekretaer_or_with_a_bad_hash_is_refused_with_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hash = daemon::pin_hash(PIN);
    let file = dir.path().join("officials.csv");
    let new = |text: String| {
        std::fs::write(&file, text).expect("write");
        // The officials file is read before anything is written: the rest of the
        // arguments need not exist.
        election_new_refused(
            "/nonexistent/list.csv",
            "/nonexistent/office.secret",
            "/nonexistent/enrol.csv",
            &file,
            &dir.path().join("out"),
        )
    };
    let e = new(format!(
        "name,role,pin_hash\n{VALGSTYRER},valgstyrer,{hash}\n"
    ));
    assert!(e.contains("no valgsekretær"), "{e}");
    let e = new(format!(
        "name,role,pin_hash\n{SECRETARY},valgsekretaer,{hash}\n{SECRETARY},valgstyrer,{hash}\n"
    ));
    assert!(e.contains("line 3") && e.contains("listed twice"), "{e}");
    let e = new(format!(
        "name,role,pin_hash\n{SECRETARY},valgsekretaer,{hash}\n{VALGSTYRER},valgstyrer,246810\n"
    ));
    assert!(
        e.contains("line 3") && e.contains("not an argon2 hash"),
        "{e}"
    );
    // `pin hash` itself refuses a short PIN, saying why.
    let mut child = std::process::Command::new(daemon::BIN)
        .args(["pin", "hash"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), b"4711\n").expect("w");
    let out = child.wait_with_output().expect("pin hash");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 6 digits"));
}

#[test]
fn each_polling_place_gets_its_own_officials_from_a_file_with_the_place_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    daemon::office_keys(root);
    let list = daemon::write_list(root);
    // One table at each of the list's two places.
    let keys: Vec<String> = (1..=2)
        .map(|p| daemon::device_key(&root.join(format!("place{p}.key"))))
        .collect();
    std::fs::write(
        root.join("enrol.csv"),
        format!("1,table,1,{}\n2,table,1,{}\n", keys[0], keys[1]),
    )
    .expect("enrol.csv");
    let hash = daemon::pin_hash(PIN);
    let officials = |text: &str| std::fs::write(root.join("officials.csv"), text).expect("write");
    officials(&format!(
        "place,name,role,pin_hash\n1,{SECRETARY},valgsekretaer,{hash}\n1,{VALGSTYRER},valgstyrer,{hash}\n2,Lone Berg,valgsekretaer,{hash}\n"
    ));
    let out = root.join("out");
    daemon::election_new(root, "kv", &list, &out, &[]);
    let names = |place: u32| -> Vec<String> {
        let package: Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(format!("valgsted-{place}/package.json")))
                .expect("package"),
        )
        .expect("json");
        let body: Value =
            serde_json::from_str(package["body"].as_str().expect("body")).expect("body");
        body["officials"]
            .as_array()
            .expect("officials")
            .iter()
            .map(|o| o["name"].as_str().expect("name").to_string())
            .collect()
    };
    assert_eq!(names(1), [SECRETARY, VALGSTYRER]);
    assert_eq!(names(2), ["Lone Berg"]);
    // A place the file leaves out gets no package, and none of the others is written.
    officials(&format!(
        "place,name,role,pin_hash\n1,{SECRETARY},valgsekretaer,{hash}\n"
    ));
    let out2 = root.join("out2");
    let e = election_new_refused(
        list.to_str().expect("utf8"),
        root.join("office.secret").to_str().expect("utf8"),
        root.join("enrol.csv").to_str().expect("utf8"),
        &root.join("officials.csv"),
        &out2,
    );
    assert!(e.contains("no official of polling place 2"), "{e}");
    assert!(
        !out2.exists(),
        "a package was written although one place had no officials"
    );
}
