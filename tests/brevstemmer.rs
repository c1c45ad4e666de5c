//! The valgstyrere's examination of the brevstemmer (KRVL § 71, FVL §§ 63–65), end to
//! end on table daemons: the office's mark means "received"; two valgstyrere, each
//! with a personal PIN, decide at the polling place whether it is taken into account or
//! set aside with a reason from the act; a set-aside brevstemmer checks in like anyone,
//! an accepted one is refused at every table, an undecided one is refused until the
//! valgstyrere are called; an election-mode table does not open while any is
//! undecided; the afstemningsbog lists the decisions with reasons and names.

mod daemon;

use daemon::{
    BREVSTEMMER, PIN, SECRETARY, Table, VALGSTYRER, VALGSTYRER_PIN, VALGSTYRER2, call,
    closing_report_text, eventually, examine, examine_with, import_signed_with, login, outcome,
    prepare_with, styrer_login, tables_enrolled, to_election_mode,
};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use valgbord::store::keyfile;

fn list(t: &Table, token: &str) -> Value {
    let (status, r) = call(t, token, "GET", BREVSTEMMER, None);
    assert_eq!(status, 200, "{r}");
    r
}

fn entry(list: &Value, voter: &str) -> Value {
    list["brevstemmer"]
        .as_array()
        .expect("brevstemmer")
        .iter()
        .find(|b| b["voter_id"] == voter)
        .unwrap_or_else(|| panic!("{voter} not in {list}"))
        .clone()
}

fn error(r: &Value) -> String {
    r["error"].as_str().unwrap_or_default().to_string()
}

/// Scans a card and cancels, returning the screen the scan gave.
fn probe(t: &Table, card: &str) -> Value {
    let s = t.scan(card);
    t.post("/api/cancel", json!({}));
    s
}

/// Two linked test-mode tables of place 1, opened without anyone examining the
/// brevstemmer.
fn two_tables(dir: &Path) -> (Table, Table) {
    let ports = daemon::free_ports(2);
    let keys: Vec<_> = (1..=2)
        .map(|i| keyfile::load_or_create(&dir.join(format!("table{i}.key"))).expect("key"))
        .collect();
    let devices = tables_enrolled(keys.iter().map(|k| k.public()));
    let start = |i: usize| {
        let config = prepare_with(
            dir,
            i as u32 + 1,
            &format!("127.0.0.1:{}", ports[i]),
            "",
            &format!(
                "[sync]\npeers = [\"http://127.0.0.1:{}\"]\ndevices = [{devices}]\n",
                ports[1 - i]
            ),
        );
        let t = Table::start(dir, &config);
        t.open_as_is();
        t
    };
    (start(0), start(1))
}

#[test]
fn one_valgstyrer_alone_decides_nothing_and_a_set_aside_brevstemmer_checks_in_at_another_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (t1, t2) = two_tables(dir.path());

    // Received, not decided: nobody who may have voted by post is admitted.
    let s = probe(&t1, "CARD-BREV");
    assert_eq!(outcome(&s), "brevstemme_undecided", "{s}");
    assert!(
        s["view"]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Valgstyrerne har ikke afgjort vælgerens brevstemme endnu. Udlevér ikke stemmesedler. Tilkald valgstyrerne."),
        "{s}"
    );

    // The valgsekretær is not a valgstyrer.
    let sec = login(&t1);
    let (status, r) = examine_with(&t1, &sec, &["V3"], None, (VALGSTYRER, VALGSTYRER_PIN));
    assert_ne!(status, 200, "{r}");
    assert!(error(&r).contains("valgstyrer"), "{r}");
    // One valgstyrer twice, a valgsekretær as the second, a wrong PIN: refused.
    let token = styrer_login(&t1);
    for (second, why) in [
        ((VALGSTYRER, VALGSTYRER_PIN), "to forskellige valgstyrere"),
        ((SECRETARY, PIN), "valgstyrer"),
        ((VALGSTYRER2, "000000"), "Forkert PIN"),
    ] {
        let (status, r) = examine_with(&t1, &token, &["V3"], None, second);
        assert_ne!(status, 200, "{second:?}: {r}");
        assert!(error(&r).contains(why), "{second:?}: {r}");
    }
    let b = entry(&list(&t1, &token), "V3");
    assert_eq!(b["status"], "modtaget", "{b}");
    assert_eq!(b["birthdate"], "24-12-1950", "{b}");
    assert_eq!(outcome(&probe(&t2, "CARD-BREV")), "brevstemme_undecided");

    // A reason outside the act's list is refused.
    let (status, r) = examine(&t1, &token, &["V3"], Some("ingen_grund"));
    assert_ne!(status, 200, "{r}");

    // Two valgstyrere set it aside: other material than prescribed.
    let (status, r) = examine(&t1, &token, &["V3"], Some("andet_materiale"));
    assert_eq!(status, 200, "{r}");
    let b = entry(&list(&t1, &token), "V3");
    assert_eq!(b["status"], "tilsidesat", "{b}");
    assert_eq!(b["valgstyrere"], json!([VALGSTYRER, VALGSTYRER2]), "{b}");
    assert!(
        b["reason_text"]
            .as_str()
            .unwrap_or_default()
            .contains("andet materiale"),
        "{b}"
    );

    // The other table learns it and the voter checks in there like anyone.
    assert!(
        eventually(Duration::from_secs(10), || outcome(&probe(
            &t2,
            "CARD-BREV"
        )) == "pending"),
        "the set-aside brevstemmer never admitted at table 2: {}",
        probe(&t2, "CARD-BREV")
    );
    t2.scan("CARD-BREV");
    assert_eq!(outcome(&t2.confirm()), "admitted");
}

#[test]
fn an_accepted_brevstemme_is_refused_at_every_table_and_a_later_decision_replaces_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (t1, t2) = two_tables(dir.path());
    let token = styrer_login(&t2);
    let (status, r) = examine(&t2, &token, &["V3"], None);
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        entry(&list(&t2, &token), "V3")["status"],
        "tages_i_betragtning"
    );
    for t in [&t1, &t2] {
        assert!(
            eventually(Duration::from_secs(10), || outcome(&probe(t, "CARD-BREV"))
                == "brevstemme"),
            "the accepted brevstemmer is not refused at {}: {}",
            t.base,
            probe(t, "CARD-BREV")
        );
    }
    // A later decision about the same voter (a later brevstemme counts) replaces it.
    let (status, r) = examine(&t1, &styrer_login(&t1), &["V3"], Some("senere_brevstemme"));
    assert_eq!(status, 200, "{r}");
    assert!(
        eventually(Duration::from_secs(10), || outcome(&probe(
            &t2,
            "CARD-BREV"
        )) == "pending"),
        "the later decision did not replace the earlier at table 2"
    );
}

#[test]
fn an_election_table_opens_only_when_every_brevstemme_is_decided_and_the_afstemningsbog_names_them()
{
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let extra = [
        "V10;8;C;Karl;Dahl;03-03-1933;M;Torvet 4;8000;Aarhus C;1;Rådhushallen;CARD-BREV2;KV+RV;ja;"
            .to_string(),
    ];
    let db = d.join("table1.db");
    import_signed_with(d, &db, &extra);
    let key = keyfile::load_or_create(&d.join("table1.key")).expect("key");
    let config = prepare_with(
        d,
        1,
        "127.0.0.1:0",
        "",
        &format!(
            "[sync]\nlisten = \"127.0.0.1:0\"\ndevices = [{}]\n",
            tables_enrolled([key.public()])
        ),
    );
    to_election_mode(&config);
    let t = Table::start(d, &config);
    for code in ["VBTEST-QR-kv-test", "VBTEST-128-kv-test"] {
        t.scan(code);
    }

    let (status, r) = t.post("/api/table/open", json!({}));
    assert_ne!(status, 200, "{r}");
    let checklist = t.get("/api/checklist").1;
    let item = checklist["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == "brevstemmer")
        .expect("brevstemmer item")
        .clone();
    assert_eq!(item["ok"], false, "{item}");
    assert_eq!(item["blocking"], true, "{item}");
    assert!(
        item["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("2 ikke afgjort"),
        "{item}"
    );

    let token = styrer_login(&t);
    let (status, r) = examine(&t, &token, &["V3"], None);
    assert_eq!(status, 200, "{r}");
    // One still undecided: still closed.
    t.open_as_is_refused();
    let (status, r) = examine(&t, &token, &["V10"], Some("doed"));
    assert_eq!(status, 200, "{r}");
    t.open_as_is();
    assert_eq!(outcome(&probe(&t, "CARD-BREV")), "brevstemme");
    assert_eq!(outcome(&probe(&t, "CARD-BREV2")), "pending");

    let report = closing_report_text(&db, "1", &d.join("report.pdf"));
    for want in [
        "Brevstemmer taget i betragtning",
        "Brevstemmer – valgstyrernes afgørelser",
        "Taget i betragtning",
        "Tilsidesat",
        "Bent Bæk",
        "Karl Dahl",
        "død før valgdagen",
        VALGSTYRER,
        VALGSTYRER2,
    ] {
        assert!(report.contains(want), "report lacks {want:?}:\n{report}");
    }
}

trait OpenRefused {
    fn open_as_is_refused(&self);
}

impl OpenRefused for Table {
    /// Opening is refused, naming the brevstemmer.
    fn open_as_is_refused(&self) {
        let (status, r) = self.post("/api/table/open", json!({}));
        assert_ne!(status, 200, "{r}");
        assert!(error(&r).contains("Brevstemmer"), "{r}");
    }
}
