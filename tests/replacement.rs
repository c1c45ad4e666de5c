//! Issue 16, item 2: a replacement for a table first pulls that table's history and
//! refuses to append until it has it. The attack: table 1 breaks after admitting a
//! voter, a reserve Pi stands in for it while the other tables are out of reach, and the
//! same voter comes back to the reserve. Before this gate the reserve opened and admitted
//! the voter a second time.

mod daemon;

use daemon::{
    Table, enrolled, eventually, free_ports, outcome, prepare_with, screen, tables_enrolled,
};
use serde_json::{Value, json};
use std::time::Duration;
use valgbord::store::keyfile;

fn events(t: &Table) -> u64 {
    t.get("/api/health").1["events"].as_u64().expect("events")
}

fn notice(t: &Table) -> String {
    screen(t)["notice"].as_str().unwrap_or_default().to_string()
}

/// Tables 1 and 2 open, table 1 admits CARD-NORMAL, table 2 learns it; then both stop
/// as in a power cut.
fn day_until_both_stop(dir: &std::path::Path, c1: &std::path::Path, c2: &std::path::Path) {
    let mut t1 = Table::start(dir, c1);
    let mut t2 = Table::start(dir, c2);
    t1.open();
    t2.open();
    assert_eq!(outcome(&t1.scan("CARD-NORMAL")), "pending");
    assert_eq!(outcome(&t1.confirm()), "admitted");
    assert!(
        eventually(Duration::from_secs(10), || events(&t2) == events(&t1)),
        "table 2 never got table 1's check-in"
    );
    t1.kill9();
    t2.kill9();
}

const FETCHING: &str = "Reservebordet henter bord 1s historik fra de andre borde";

#[test]
fn a_reserve_for_table_1_appends_nothing_until_it_has_table_1s_history() {
    let root = tempfile::tempdir().expect("tempdir");
    let (place_dir, reserve_dir) = (root.path().join("place"), root.path().join("reserve"));
    for d in [&place_dir, &reserve_dir] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    let ports = free_ports(3);
    let keys: Vec<_> = [
        place_dir.join("table1.key"),
        place_dir.join("table2.key"),
        reserve_dir.join("table1.key"),
    ]
    .iter()
    .map(|p| keyfile::load_or_create(p).expect("key"))
    .collect();
    let devices = format!(
        "{}, {}",
        tables_enrolled(keys[..2].iter().map(|k| k.public())),
        enrolled(keys[2].public(), "role = \"reserve\"")
    );
    let config = |dir: &std::path::Path, no: u32, port: u16, peer: u16| {
        prepare_with(
            dir,
            no,
            &format!("127.0.0.1:{port}"),
            "",
            &format!("[sync]\npeers = [\"http://127.0.0.1:{peer}\"]\ndevices = [{devices}]\n"),
        )
    };
    let c1 = config(&place_dir, 1, ports[0], ports[1]);
    let c2 = config(&place_dir, 2, ports[1], ports[0]);
    // An ordinary table is never held up: it opens and admits at once.
    day_until_both_stop(&place_dir, &c1, &c2);

    // Table 1 broke; table 2 is out of reach too when the reserve starts as table 1.
    let cr = config(&reserve_dir, 1, ports[2], ports[1]);
    let reserve = Table::start(&reserve_dir, &cr);
    let before = events(&reserve);
    assert!(
        eventually(Duration::from_secs(10), || {
            let n = notice(&reserve);
            n.contains(FETCHING) && n.contains("ingen andre borde svarer")
        }),
        "the reserve does not say it waits for table 1's history: {}",
        screen(&reserve)
    );
    // Opening, and a voter table 1 already admitted, are refused: nothing stored.
    let (status, r) = reserve.post("/api/table/open", json!({}));
    assert_ne!(status, 200, "{r}");
    assert!(
        r["error"].as_str().is_some_and(|e| e.contains(FETCHING)),
        "{r}"
    );
    let s = reserve.scan("CARD-NORMAL");
    assert_eq!(outcome(&s), "history_missing", "{s}");
    assert!(
        s["view"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains(FETCHING)),
        "{s}"
    );
    let (_, r) = reserve.post("/api/confirm", json!({}));
    assert_ne!(outcome(&r), "admitted", "{r}");
    assert_eq!(events(&reserve), before, "the reserve stored something");

    // Table 2 comes back: the reserve pulls table 1's history, then works as table 1.
    let t2 = Table::start(&place_dir, &c2);
    assert!(
        eventually(Duration::from_secs(20), || !notice(&reserve)
            .contains(FETCHING)),
        "the reserve never released its gate: {}",
        screen(&reserve)
    );
    let s: Value = reserve.scan("CARD-NORMAL");
    assert_eq!(outcome(&s), "already_voted", "{s}");
    assert_eq!(outcome(&reserve.scan("CARD-SECOND")), "pending");
    assert_eq!(outcome(&reserve.confirm()), "admitted");
    assert!(
        eventually(Duration::from_secs(10), || events(&t2) == events(&reserve)),
        "table 2 never got the reserve's check-in"
    );
}

/// The database of table 1 is deleted (a "repair" that starts it afresh) while its key
/// stays: before this gate the table numbered its next event 1 again, a second version
/// of the log its peers hold — table 2 then refused every later event of table 1 as a
/// fork, and a voter table 1 had admitted could vote again there.
#[test]
fn a_table_whose_database_was_deleted_writes_nothing_until_it_has_its_own_events_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let ports = free_ports(2);
    let keys: Vec<_> = (1..=2)
        .map(|t| keyfile::load_or_create(&dir.join(format!("table{t}.key"))).expect("key"))
        .collect();
    let devices = tables_enrolled(keys.iter().map(|k| k.public()));
    let config = |no: u32, port: u16, peer: u16| {
        prepare_with(
            dir,
            no,
            &format!("127.0.0.1:{port}"),
            "",
            &format!("[sync]\npeers = [\"http://127.0.0.1:{peer}\"]\ndevices = [{devices}]\n"),
        )
    };
    let (c1, c2) = (config(1, ports[0], ports[1]), config(2, ports[1], ports[0]));
    day_until_both_stop(dir, &c1, &c2);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("table1.db{suffix}")));
    }
    // A fresh database with the list, the same key, table 2 out of reach.
    let c1 = config(1, ports[0], ports[1]);
    let t1 = Table::start(dir, &c1);
    let fetching = "Bord 1 har fået en ny database og henter sine egne registreringer";
    assert!(
        eventually(Duration::from_secs(10), || {
            let n = notice(&t1);
            n.contains(fetching) && n.contains("ingen andre borde svarer")
        }),
        "table 1 does not say it waits for its own events: {}",
        screen(&t1)
    );
    let before = events(&t1);
    let s = t1.scan("CARD-NORMAL");
    assert_eq!(outcome(&s), "history_missing", "{s}");
    let (status, r) = t1.post("/api/table/open", json!({}));
    assert_ne!(status, 200, "{r}");
    assert_eq!(events(&t1), before, "table 1 wrote without its history");

    // Table 2 comes back: table 1 gets its own events back and goes on from them.
    let t2 = Table::start(dir, &c2);
    assert!(
        eventually(Duration::from_secs(20), || !notice(&t1).contains(fetching)),
        "table 1 never released its gate: {}",
        screen(&t1)
    );
    assert_eq!(outcome(&t1.scan("CARD-NORMAL")), "already_voted");
    assert_eq!(outcome(&t1.scan("CARD-SECOND")), "pending");
    assert_eq!(outcome(&t1.confirm()), "admitted");
    assert!(
        eventually(Duration::from_secs(10), || events(&t2) == events(&t1)),
        "table 2 never got table 1's new check-in (refused as a fork?): {}",
        screen(&t2)
    );
    let forks = screen(&t2)["forks"].clone();
    assert!(
        forks.as_array().is_none_or(|f| f.is_empty()),
        "table 2 sees two versions of table 1's log: {forks}"
    );
}
