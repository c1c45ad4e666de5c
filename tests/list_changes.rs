//! Election-day list changes from the office, end to end: the office makes and signs a
//! change with the CLI, one table takes it over HTTP, and every table of the polling
//! place then refuses the struck voter, gives the new entitlement, admits the added
//! voter and refuses the new brevstemme — also after a restart. Applying it twice does
//! nothing; a forged or out-of-order change is refused and changes nothing.

mod daemon;

use daemon::{HEADER, Table, call, eventually, import_signed, login, outcome, place_in, run_ok};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const NEW_VOTER: &str = "V9;8;C;Ida;Ørsted;07-07-2001;K;Åboulevarden 1;8000;Aarhus C;1;Rådhushallen;CARD-NEW;KV+RV;nej;";

fn p(path: &Path) -> &str {
    path.to_str().expect("utf8 path")
}

/// The office's key and a signed list imported into `n` table databases.
fn signed_place(dir: &Path, n: u32) -> (PathBuf, PathBuf) {
    let mut secret = PathBuf::new();
    for i in 1..=n {
        secret = import_signed(dir, &dir.join(format!("table{i}.db")));
    }
    (dir.join("list.csv"), secret)
}

fn make_change(
    dir: &Path,
    list: &Path,
    secret: &Path,
    previous: &[&Path],
    extra: &[&str],
    out: &str,
) -> PathBuf {
    let out = dir.join(out);
    let mut args = vec![
        "office",
        "change",
        "--list",
        p(list),
        "--election",
        "kv-test",
        "--secret",
        p(secret),
        "--out",
        p(&out),
    ];
    if !previous.is_empty() {
        args.push("--previous");
        args.extend(previous.iter().map(|x| p(x)));
    }
    args.extend_from_slice(extra);
    run_ok(&args);
    out
}

fn post_change(t: &Table, file: &Path) -> (u16, Value) {
    let v: Value =
        serde_json::from_slice(&std::fs::read(file).expect("read change")).expect("json");
    t.post("/api/list/changes", v)
}

/// Scans a card and cancels, returning the screen the scan gave.
fn probe(t: &Table, card: &str) -> Value {
    let s = t.scan(card);
    t.post("/api/cancel", json!({}));
    s
}

#[test]
fn an_office_change_reaches_every_table_once_and_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (list, secret) = signed_place(dir.path(), 3);
    let add = dir.path().join("add.csv");
    std::fs::write(&add, format!("{HEADER}\n{NEW_VOTER}\n")).expect("write");
    let c1 = make_change(
        dir.path(),
        &list,
        &secret,
        &[],
        &[
            "--strike",
            "V7=død",
            "--contests",
            "V8=RV",
            "--brevstemme",
            "V1",
            "--add",
            p(&add),
            "--note",
            "ændringer 18/11",
        ],
        "change1.json",
    );
    let mut place = place_in(
        dir,
        3,
        |i| (0..3).filter(|&j| j != i).collect(),
        |_| String::new(),
    );

    let (status, r) = post_change(&place.tables[0], &c1);
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["already"], false);
    assert_eq!(
        r["text"],
        "Listeændring nr. 1 fra valgkontoret er indlæst (4 ændringer)."
    );

    for t in &place.tables {
        assert!(
            eventually(Duration::from_secs(5), || outcome(&probe(t, "CARD-SECOND"))
                == "struck"),
            "the struck voter is refused at {}",
            t.base
        );
        // Received after opening and not yet examined by the valgstyrere: refused
        // until they decide.
        assert_eq!(outcome(&probe(t, "CARD-NORMAL")), "brevstemme_undecided");
        let s = probe(t, "CARD-THIRD");
        assert_eq!(s["view"]["ballots_text"], "Udlevér KUN: Regionsrådsvalg");
        let s = probe(t, "CARD-NEW");
        assert_eq!(outcome(&s), "pending", "{s}");
        assert_eq!(s["view"]["ballots"], json!(["KV", "RV"]));
    }

    // The same file at another table: nothing new, one change in every audit trail.
    let (status, r) = post_change(&place.tables[1], &c1);
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["already"], true);
    for t in &place.tables {
        let token = login(t);
        let (status, audit) = call(t, &token, "GET", "/api/list/changes", None);
        assert_eq!(status, 200, "{audit}");
        let changes = audit["changes"].as_array().expect("changes");
        assert_eq!(changes.len(), 1, "{audit}");
        assert_eq!(changes[0]["note"], "ændringer 18/11");
        let texts: Vec<&str> = changes[0]["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["text"].as_str().expect("text"))
            .collect();
        assert!(texts.contains(&"slettet: død"), "{texts:?}");
        assert!(texts.contains(&"brevstemme modtaget"), "{texts:?}");
        assert_eq!(
            audit["brevstemmer"]["count"], 2,
            "V3 from the list and V1 from the change"
        );
    }

    // A forged change (one letter of the signed text altered) and a change that skips
    // a number are refused with the reason, and change nothing.
    let c2 = make_change(
        dir_of(&place),
        &list,
        &secret,
        &[&c1],
        &["--reinstate", "V7"],
        "change2.json",
    );
    let mut forged: Value =
        serde_json::from_slice(&std::fs::read(&c2).expect("read")).expect("json");
    let body = forged["body"].as_str().expect("body").replace("V7", "V8");
    forged["body"] = json!(body);
    let (status, r) = place.tables[2].post("/api/list/changes", forged);
    assert_eq!(status, 422, "{r}");
    assert!(
        r["error"].as_str().expect("error").contains("forfalsket"),
        "{r}"
    );
    let c3 = make_change(
        dir_of(&place),
        &list,
        &secret,
        &[&c1, &c2],
        &["--brevstemme", "V2"],
        "change3.json",
    );
    let (status, r) = post_change(&place.tables[2], &c3);
    assert_eq!(status, 422, "{r}");
    assert!(
        r["error"]
            .as_str()
            .expect("error")
            .contains("nr. 2 mangler"),
        "{r}"
    );
    assert_eq!(outcome(&probe(&place.tables[2], "CARD-SECOND")), "struck");
    assert_eq!(outcome(&probe(&place.tables[2], "CARD-RVONLY")), "pending");

    // A restart keeps the marks (they are projections of signed events).
    place.tables[2].kill9();
    let config = place.tables[2].config.clone();
    place.tables[2] = Table::start(dir_of(&place), &config);
    place.tables[2].open_as_is();
    assert_eq!(
        outcome(&probe(&place.tables[2], "CARD-NORMAL")),
        "brevstemme_undecided"
    );

    // Change 2 at a stopped table from the command line, then change 3 over HTTP: the
    // other tables get both by sync.
    place.tables[1].kill9();
    let out = run_ok(&[
        "list",
        "change",
        "--config",
        p(&place.tables[1].config.clone()),
        p(&c2),
    ]);
    assert!(out.contains("change 2 applied"), "{out}");
    let config = place.tables[1].config.clone();
    place.tables[1] = Table::start(dir_of(&place), &config);
    place.tables[1].open();
    let (status, r) = post_change(&place.tables[1], &c3);
    assert_eq!(status, 200, "{r}");
    for t in &place.tables {
        assert!(
            eventually(Duration::from_secs(5), || outcome(&probe(t, "CARD-SECOND"))
                == "pending"
                && outcome(&probe(t, "CARD-RVONLY")) == "brevstemme_undecided"),
            "changes 2 and 3 reach {}",
            t.base
        );
    }
}

fn dir_of(place: &daemon::Place) -> &Path {
    place.dir.path()
}

/// A voter moved to another polling place (FVL § 47): the old place refuses the card
/// saying where the voter moved, the new place admits the voter; a voter who has
/// already checked in is not moved, and the table says why.
#[test]
fn a_voter_moved_to_another_place_is_refused_at_the_old_and_admitted_at_the_new() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (list, secret) = signed_place(dir.path(), 1);
    import_signed(dir.path(), &dir.path().join("place2.db"));
    let move_v7 = make_change(
        dir.path(),
        &list,
        &secret,
        &[],
        &["--move", "V7=2:2"],
        "move1.json",
    );
    let place = place_in(dir, 1, |_| Vec::new(), |_| String::new());
    let old = &place.tables[0];
    let config = dir_of(&place).join("place2.toml");
    let toml = daemon::table_toml(
        &dir_of(&place).join("place2.db"),
        &dir_of(&place).join("place2.key"),
        "2",
        1,
        "127.0.0.1:0",
        "",
        "",
    );
    std::fs::write(&config, toml).expect("write config");
    let new = Table::start(dir_of(&place), &config);
    new.open();

    // Before the move: V7 belongs at the old place.
    assert_eq!(outcome(&probe(old, "CARD-SECOND")), "pending");
    assert_eq!(outcome(&probe(&new, "CARD-SECOND")), "wrong_place");

    for t in [old, &new] {
        let (status, r) = post_change(t, &move_v7);
        assert_eq!(status, 200, "{r}");
    }
    let s = probe(old, "CARD-SECOND");
    assert_eq!(outcome(&s), "wrong_place", "{s}");
    assert!(
        s["view"]["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Vælgeren er flyttet til Vestre Skole."),
        "{s}"
    );
    let s = new.scan("CARD-SECOND");
    assert_eq!(outcome(&s), "pending", "{s}");
    assert_eq!(s["view"]["voter"]["list_no"], 2, "{s}");
    assert_eq!(outcome(&new.confirm()), "admitted");

    // A voter who has voted at the old place stays there.
    old.scan("CARD-THIRD");
    assert_eq!(outcome(&old.confirm()), "admitted");
    let move_v8 = make_change(
        dir_of(&place),
        &list,
        &secret,
        &[&move_v7],
        &["--move", "V8=2:3"],
        "move2.json",
    );
    let (status, r) = post_change(old, &move_v8);
    assert_eq!(status, 422, "{r}");
    assert!(
        r["error"]
            .as_str()
            .unwrap_or_default()
            .contains("har allerede stemt"),
        "{r}"
    );
    assert_eq!(outcome(&probe(old, "CARD-THIRD")), "already_voted");
}

/// An office brevstemme for a voter who has already voted in person is not applied
/// silently: the valgstyrere see it flagged with the time of the check-in, and decide
/// (the act gives it to them); the voter stays checked in meanwhile.
#[test]
fn an_office_brevstemme_for_a_voter_already_checked_in_is_flagged_for_the_valgstyrere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (list, secret) = signed_place(dir.path(), 1);
    let change = make_change(
        dir.path(),
        &list,
        &secret,
        &[],
        &["--brevstemme", "V1"],
        "brev1.json",
    );
    let place = place_in(dir, 1, |_| Vec::new(), |_| String::new());
    let t = &place.tables[0];
    t.scan("CARD-NORMAL");
    assert_eq!(outcome(&t.confirm()), "admitted");
    let (status, r) = post_change(t, &change);
    assert_eq!(status, 200, "{r}");
    assert_eq!(outcome(&probe(t, "CARD-NORMAL")), "already_voted");

    let token = daemon::styrer_login(t);
    let (status, list) = call(t, &token, "GET", daemon::BREVSTEMMER, None);
    assert_eq!(status, 200, "{list}");
    let v1 = list["brevstemmer"]
        .as_array()
        .expect("brevstemmer")
        .iter()
        .find(|b| b["voter_id"] == "V1")
        .cloned()
        .unwrap_or_else(|| panic!("V1 not listed: {list}"));
    assert_eq!(v1["status"], "modtaget", "{v1}");
    assert!(
        v1["flag"]
            .as_str()
            .unwrap_or_default()
            .starts_with("har stemt personligt kl. "),
        "{v1}"
    );
    let (status, r) = daemon::examine(t, &token, &["V1"], Some("stemt_personligt"));
    assert_eq!(status, 200, "{r}");
    assert_eq!(outcome(&probe(t, "CARD-NORMAL")), "already_voted");
}
