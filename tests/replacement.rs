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

const FETCHING: &str = "Reservebordet henter bord 1's historik fra de andre borde";

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
    let mut t1 = Table::start(&place_dir, &c1);
    let mut t2 = Table::start(&place_dir, &c2);
    // An ordinary table is never held up: it opens and admits at once.
    t1.open();
    t2.open();
    assert_eq!(outcome(&t1.scan("CARD-NORMAL")), "pending");
    assert_eq!(outcome(&t1.confirm()), "admitted");
    assert!(
        eventually(Duration::from_secs(10), || events(&t2) == events(&t1)),
        "table 2 never got table 1's check-in"
    );

    // Table 1 breaks; table 2 is out of reach too when the reserve starts as table 1.
    t1.kill9();
    t2.kill9();
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
