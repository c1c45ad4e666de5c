//! `valgbord audit` on the bundles of a real rehearsal (`valgbord simulate --export`:
//! two table daemons and two centrals, a short day without faults), untouched and
//! changed the ways an insider could: a byte in an event, an event removed, two events
//! swapped, a check-in signed with another polling place's table key, a closing report
//! figure, a list row, a device's log cut short. Each must be refused naming the bundle,
//! the device, the event and the reason; the untouched set passes and reproduces the
//! rehearsal's figures, in text, JSON and a PDF with a turnout chart per place.

mod daemon;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use valgbord::election::clock::Hlc;
use valgbord::election::contest::Contest;
use valgbord::election::event::{
    CheckInMethod, EventBody, EventHash, EventKind, FORMAT_VERSION, sign,
};
use valgbord::election::keys::DeviceSecret;

const BIN: &str = env!("CARGO_BIN_EXE_valgbord");

/// The rehearsal, run once for every test of this file: its folder (kept until the
/// process ends) with `sim/` and `bundles/`.
fn rehearsal() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new(BIN)
            .args([
                "simulate",
                "--tables",
                "2",
                "--voters",
                "300",
                "--faults",
                "none",
                "--seed",
                "3",
                "--day-seconds",
                "8",
                "--dir",
            ])
            .arg(dir.path().join("sim"))
            .arg("--export")
            .arg(dir.path().join("bundles"))
            .output()
            .expect("run valgbord simulate");
        assert!(
            out.status.success(),
            "simulate failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .path()
}

fn office_hex() -> String {
    let key = rehearsal().join("sim/kontor/office.key");
    valgbord::store::keyfile::load(&key)
        .expect("office key")
        .public()
        .to_hex()
}

/// A copy of the rehearsal's bundles in a folder of the test's own.
struct Set {
    dir: tempfile::TempDir,
}

impl Set {
    fn new() -> Set {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["bord-1", "bord-2", "centralen", "reservecentralen"] {
            let from = rehearsal().join(format!("bundles/{name}.json"));
            std::fs::copy(&from, dir.path().join(format!("{name}.json"))).expect("copy bundle");
        }
        Set { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.json"))
    }

    fn read(&self, name: &str) -> Value {
        serde_json::from_slice(&std::fs::read(self.path(name)).expect("read")).expect("json")
    }

    fn write(&self, name: &str, v: &Value) {
        std::fs::write(self.path(name), serde_json::to_vec(v).expect("json")).expect("write");
    }

    fn change(&self, name: &str, f: impl FnOnce(&mut Value)) {
        let mut v = self.read(name);
        f(&mut v);
        self.write(name, &v);
    }

    /// `valgbord audit` on every bundle of the set.
    fn audit(&self) -> Output {
        self.audit_with(&[])
    }

    /// The same with further options before the bundles.
    fn audit_with(&self, options: &[&std::ffi::OsStr]) -> Output {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        Command::new(BIN)
            .args(["audit", "--office-key", &office_hex()])
            .args(options)
            .args(files)
            .output()
            .expect("run valgbord audit")
    }

    /// `valgbord audit --json` on one bundle of the set.
    fn json_report(&self, name: &str) -> Value {
        let json = Command::new(BIN)
            .args(["audit", "--json", "--office-key", &office_hex()])
            .arg(self.path(name))
            .output()
            .expect("audit --json");
        serde_json::from_slice(&json.stdout).expect("json report")
    }

    /// Runs the audit, expects it to fail, and returns the first thing it names.
    fn refused(&self) -> String {
        let out = self.audit();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "the audit passed a changed set:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        stderr
            .lines()
            .find(|l| l.starts_with("error: the audit failed"))
            .unwrap_or_else(|| panic!("no reason given: {stderr}"))
            .to_string()
    }
}

/// The device (hex) of a bundle's header.
fn device(b: &Value) -> String {
    b["header"]["device"].as_str().expect("device").to_string()
}

fn body(e: &Value) -> Value {
    serde_json::from_str(e["body"].as_str().expect("body")).expect("body json")
}

/// Index and number of the events in `b` that `dev` wrote, in order.
fn own_events(b: &Value, dev: &str) -> Vec<(usize, u64)> {
    b["events"]
        .as_array()
        .expect("events")
        .iter()
        .enumerate()
        .filter(|(_, e)| body(e)["device"] == dev)
        .map(|(i, e)| (i, body(e)["seq"].as_u64().expect("seq")))
        .collect()
}

fn short(dev: &str) -> &str {
    &dev[..8]
}

fn assert_names(reason: &str, needles: &[&str]) {
    for n in needles {
        assert!(reason.contains(n), "{n:?} not in: {reason}");
    }
}

#[test]
fn an_untouched_set_passes_and_reproduces_the_rehearsals_figures() {
    let set = Set::new();
    let out = set.audit();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("RESULTAT: Alt holder"), "{text}");
    assert!(
        text.contains("afslutningsrapporten passer med loggen"),
        "{text}"
    );
    let sim = std::fs::read_to_string(rehearsal().join("sim/rapport.txt")).expect("rapport");
    let persons = sim
        .split(" personer = ")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .expect("persons in the rehearsal's report");
    assert!(
        text.contains(&format!("Personer registreret {persons} ")),
        "the rehearsal registered {persons} persons:\n{text}"
    );
    let v = set.json_report("bord-1");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["places"][0]["figures"]["persons"].to_string(), persons);
}

/// Changes one digit of the voter in the first check-in the bundle's own table wrote;
/// returns that table's device and the event's number.
fn change_a_byte_of_a_check_in(set: &Set, name: &str) -> (String, u64) {
    let b = set.read(name);
    let dev = device(&b);
    let (i, seq) = own_events(&b, &dev)
        .into_iter()
        .find(|&(i, _)| body(&b["events"][i])["kind"]["type"] == "check_in")
        .expect("a check-in of the bundle's table");
    set.change(name, |v| {
        let text = v["events"][i]["body"].as_str().expect("body").to_string();
        let at = text.find("\"voter_id\":\"").expect("voter id") + 12;
        let mut bytes = text.into_bytes();
        bytes[at] = if bytes[at] == b'9' { b'8' } else { b'9' };
        v["events"][i]["body"] = String::from_utf8(bytes).expect("utf8").into();
    });
    (dev, seq)
}

#[test]
fn a_changed_byte_in_an_event_is_found() {
    let set = Set::new();
    let (dev, seq) = change_a_byte_of_a_check_in(&set, "bord-1");
    let reason = set.refused();
    assert_names(
        &reason,
        &[
            "bord-1.json",
            "bord 1 på valgsted 1",
            short(&dev),
            &format!("hændelse nr. {seq}:"),
            "signaturen passer ikke",
        ],
    );
}

#[test]
fn a_removed_event_is_found() {
    let set = Set::new();
    let b = set.read("bord-2");
    let dev = device(&b);
    let events = own_events(&b, &dev);
    let (i, seq) = events[events.len() / 2];
    set.change("bord-2", |v| {
        v["events"].as_array_mut().expect("events").remove(i);
    });
    let reason = set.refused();
    assert_names(
        &reason,
        &[
            "bord-2.json",
            "bord 2 på valgsted 1",
            &format!("hændelse nr. {}:", seq + 1),
            "hul i loggen",
            &format!("skulle have nr. {seq}"),
        ],
    );
}

#[test]
fn two_swapped_events_are_found() {
    let set = Set::new();
    let b = set.read("bord-1");
    let dev = device(&b);
    let events = own_events(&b, &dev);
    let (i, seq) = events[events.len() / 3];
    let (j, _) = events[events.len() / 3 + 1];
    set.change("bord-1", |v| {
        v["events"].as_array_mut().expect("events").swap(i, j);
    });
    let reason = set.refused();
    assert_names(
        &reason,
        &[
            "bord-1.json",
            "bord 1 på valgsted 1",
            &format!("hændelse nr. {}:", seq + 1),
            "hul i loggen",
        ],
    );
}

#[test]
fn a_changed_closing_report_figure_is_found() {
    let set = Set::new();
    let dev = device(&set.read("bord-2"));
    set.change("bord-2", |v| {
        let n = &mut v["closing_report"]["figures"]["tables"][1]["checkins"];
        *n = (n.as_i64().expect("checkins") - 1).into();
    });
    let reason = set.refused();
    assert_names(
        &reason,
        &[
            "bord-2.json",
            "bord 2 på valgsted 1",
            short(&dev),
            "afslutningsrapporten passer ikke med loggen",
            "tables[1].checkins",
        ],
    );
}

#[test]
fn a_changed_list_row_is_found() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let set = Set::new();
    set.change("bord-1", |v| {
        let list = b64
            .decode(v["list"]["base64"].as_str().expect("list"))
            .expect("base64");
        let mut text = String::from_utf8(list).expect("utf8 list");
        // The second voter row's last name, changed by one letter.
        let row = text.match_indices('\n').nth(1).expect("rows").0 + 1;
        let field = row + text[row..].match_indices(';').nth(3).expect("fields").0 + 1;
        text.replace_range(field..field + 1, "X");
        v["list"]["base64"] = b64.encode(text).into();
    });
    let reason = set.refused();
    assert_names(
        &reason,
        &[
            "bord-1.json",
            "bord 1 på valgsted 1",
            "valglisten er ikke den valgkontoret signerede",
        ],
    );
}

#[test]
fn a_log_cut_short_is_found() {
    let set = Set::new();
    let b = set.read("bord-2");
    let dev = device(&b);
    let events = own_events(&b, &dev);
    let cut: Vec<usize> = events.iter().rev().take(3).map(|(i, _)| *i).collect();
    let last_kept = events[events.len() - 4].1;
    set.change("bord-2", |v| {
        let list = v["events"].as_array_mut().expect("events");
        for i in cut {
            list.remove(i);
        }
    });
    let reason = set.refused();
    assert_names(
        &reason,
        &[
            "bord-2.json",
            "bord 2 på valgsted 1",
            short(&dev),
            &format!("til nr. {last_kept}"),
            "afkortet",
        ],
    );
}

/// The election's other polling place, as the office would make it: its package signed
/// with the office key, enrolling a table key of its own; and that place's bundle (its
/// package and list, no events yet).
fn other_place(set: &Set, key: &DeviceSecret) {
    let work = set.dir.path().join("office");
    std::fs::create_dir_all(work.join("kontor")).expect("dir");
    std::fs::copy(
        rehearsal().join("sim/kontor/office.key"),
        work.join("kontor/office.key"),
    )
    .expect("office key");
    let mine = set.read("bord-1");
    let package: Value = serde_json::from_str(mine["package"]["body"].as_str().expect("package"))
        .expect("package json");
    let election: valgbord::provision::package::ElectionInfo =
        serde_json::from_value(package["election"].clone()).expect("election");
    use base64::Engine;
    let list = base64::engine::general_purpose::STANDARD
        .decode(mine["list"]["base64"].as_str().expect("list"))
        .expect("base64");
    let pin = valgbord::password::hash_pin("135790").expect("pin");
    let officials = valgbord::election::official::parse_csv(&format!(
        "name,role,pin_hash\nOle Sekretær,valgsekretaer,\"{pin}\"\n"
    ))
    .expect("officials");
    let (dir, _) = valgbord::provision::make::one_place(
        &work,
        valgbord::provision::make::OnePlace {
            election,
            list: &list,
            place: "2",
            tables: &[key.public()],
            officials: &officials,
            centrals: Vec::new(),
            place_addresses: &Default::default(),
        },
    )
    .expect("package of place 2");
    let signed: Value =
        serde_json::from_slice(&std::fs::read(dir.join("package.json")).expect("package"))
            .expect("json");
    let mut theirs = mine.clone();
    theirs["header"]["device"] = key.public().to_hex().into();
    theirs["header"]["role"] = serde_json::json!({"role": "table", "place": "2", "table_no": 1});
    theirs["header"]["place"] = "2".into();
    theirs["package"] = signed;
    theirs["events"] = Value::Array(Vec::new());
    theirs["list_changes"] = Value::Array(Vec::new());
    theirs["closing_report"] = Value::Null;
    set.write("valgsted-2", &theirs);
}

#[test]
fn a_check_in_signed_with_another_places_table_key_is_found() {
    let set = Set::new();
    let key = DeviceSecret::generate();
    other_place(&set, &key);
    let mine = set.read("bord-1");
    let election = mine["header"]["election"]
        .as_str()
        .expect("election")
        .to_string();
    let forged = sign(
        &EventBody {
            v: FORMAT_VERSION,
            election,
            device: key.public(),
            seq: 1,
            hlc: Hlc::new(1, 0),
            wall_ms: 1,
            prev: EventHash::default(),
            test: true,
            kind: EventKind::CheckIn {
                voter_id: "V999".into(),
                place: "1".into(),
                table_no: 1,
                card_code: None,
                method: CheckInMethod::Card,
                ballots: vec![Contest::Kv, Contest::Rv],
            },
            by: None,
        },
        &key,
    );
    set.change("bord-1", |v| {
        v["events"]
            .as_array_mut()
            .expect("events")
            .push(serde_json::json!({
                "body": forged.signed.body,
                "sig": forged.signed.sig,
                "hash": forged.hash.to_hex(),
            }));
    });
    let reason = set.refused();
    assert_names(
        &reason,
        &[
            "bord-1.json",
            "bord 1 på valgsted 2",
            short(&key.public().to_hex()),
            "hændelse nr. 1:",
            "ikke ret til at skrive",
        ],
    );
}

/// The rehearsal's central database copied into the set's folder, a snapshot taken of
/// it as the central's snapshot task takes one (the rehearsal is too short to reach a
/// scheduled time), and the central's bundle exported again by `valgbord export`.
fn central_with_snapshot(set: &Set) {
    use valgbord::central::snapshots;
    let from = rehearsal().join("sim/central");
    let dir = set.dir.path().join("central-db");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for f in std::fs::read_dir(&from).expect("central folder").flatten() {
        let name = f.file_name().to_string_lossy().into_owned();
        if name.starts_with("central.db") || name == "device.key" {
            std::fs::copy(f.path(), dir.join(&name)).expect("copy central");
        }
    }
    let db = dir.join("central.db");
    let store = valgbord::store::Store::open(&db).expect("open central db");
    store.ensure_snapshot_tables().expect("snapshot tables");
    let now = valgbord::store::now_ms();
    let cache = valgbord::store::tally_queries::ElectorateCache::default();
    let figures = snapshots::figures_at(&store, now, &cache).expect("figures");
    assert!(figures.iter().any(|(_, f)| f.checked_in > 0), "{figures:?}");
    snapshots::insert(&store, "kontrol", now, now, false, &figures)
        .expect("insert")
        .expect("taken");
    drop(store);
    let out = Command::new(BIN)
        .args(["export", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(set.path("centralen"))
        .output()
        .expect("run valgbord export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_centrals_tally_and_snapshots_hold_against_its_log() {
    let set = Set::new();
    central_with_snapshot(&set);
    let b = set.read("centralen");
    let snaps = b["central"]["snapshots"].as_array().expect("snapshots");
    assert_eq!(snaps.len(), 1, "{}", b["central"]);
    assert!(
        b["central"]["figures"]["places"]["1"]["checked_in"]
            .as_i64()
            .is_some_and(|n| n > 0),
        "{}",
        b["central"]
    );
    let out = set.audit();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_changed_central_tally_figure_is_found() {
    let set = Set::new();
    central_with_snapshot(&set);
    set.change("centralen", |b| {
        let n = &mut b["central"]["figures"]["places"]["1"]["checked_in"];
        *n = (n.as_i64().expect("figure") + 1).into();
    });
    let reason = set.refused();
    assert_names(
        &reason,
        &[
            "centralen.json",
            "centralen (",
            "centralens optælling",
            "checked_in",
        ],
    );
}

#[test]
fn a_changed_central_snapshot_figure_is_found() {
    let set = Set::new();
    central_with_snapshot(&set);
    set.change("centralen", |b| {
        let n = &mut b["central"]["snapshots"][0]["places"]["1"][2];
        *n = (n.as_i64().expect("figure") + 1000).into();
    });
    let reason = set.refused();
    assert_names(
        &reason,
        &[
            "centralen.json",
            "øjebliksbilledet kl. kontrol",
            "valgsted 1",
        ],
    );
}

#[test]
fn the_valgsekretaer_downloads_the_tables_bundle_behind_the_pin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = daemon::prepare(dir.path(), 1, "");
    let t = daemon::Table::start(dir.path(), &config);
    t.open();
    let key = valgbord::store::keyfile::load(&dir.path().join("table1.key"))
        .expect("table key")
        .public()
        .to_hex();
    let url = |token: &str| format!("{}/api/secretary/bundle.json?token={token}", t.base);
    let refused = t.agent.get(&url("wrong")).call().expect("answer");
    assert_eq!(refused.status().as_u16(), 401);
    let token = daemon::login(&t);
    let mut res = t.agent.get(&url(&token)).call().expect("bundle");
    assert_eq!(res.status().as_u16(), 200);
    let disposition = res
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let b: Value = res.body_mut().read_json().expect("bundle JSON");
    assert_eq!(b["header"]["format"], "valgbord-bundle");
    assert_eq!(b["header"]["device"], key.as_str());
    let opened = b["events"]
        .as_array()
        .expect("events")
        .iter()
        .any(|e| body(e)["kind"]["type"] == "table_opened");
    assert!(
        opened,
        "the table's opening is not in its bundle: {}",
        b["events"]
    );
}

/// `pdftotext` of a PDF, its white space made single spaces (a wrapped line reads on).
fn pdf_words(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (Debian package poppler-utils) is needed");
    assert!(out.status.success(), "pdftotext could not read {pdf:?}");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_pdf_report_has_the_figures_and_a_turnout_chart_per_place() {
    let set = Set::new();
    let pdf = set.dir.path().join("efterproevning.pdf");
    let out = set.audit_with(&["--pdf".as_ref(), pdf.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = set.json_report("bord-1");
    let f = &v["places"][0]["figures"];
    let name = f["place_name"].as_str().expect("place name");
    let in_force: i64 = f["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| t["checkins"].as_i64().expect("checkins"))
        .sum();
    assert!(in_force > 0, "the rehearsal checked nobody in: {v}");
    let text = pdf_words(&pdf);
    for needle in [
        "RESULTAT: Alt holder".to_string(),
        format!("Valgsted 1 {name}"),
        format!("Personer registreret {} ", f["persons"]),
        "Fremmøde pr. time".to_string(),
        format!("I alt {in_force} registreringer"),
        "Registreringer".to_string(),
        "Klokkeslæt".to_string(),
    ] {
        assert!(text.contains(&needle), "{needle:?} not in the PDF: {text}");
    }
    let png = set.dir.path().join("side");
    let r = Command::new("pdftoppm")
        .args(["-png", "-r", "50", "-f", "1", "-l", "1"])
        .arg(&pdf)
        .arg(&png)
        .output()
        .expect("pdftoppm");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let rendered: Vec<_> = std::fs::read_dir(set.dir.path())
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("side"))
        .collect();
    assert_eq!(rendered.len(), 1, "pdftoppm rendered no page 1");
    assert!(std::fs::metadata(rendered[0].path()).expect("png").len() > 1000);
}

#[test]
fn the_pdf_report_names_a_finding_on_its_first_page() {
    let set = Set::new();
    let (dev, seq) = change_a_byte_of_a_check_in(&set, "bord-2");
    let pdf = set.dir.path().join("efterproevning.pdf");
    let out = set.audit_with(&["--pdf".as_ref(), pdf.as_os_str()]);
    assert!(!out.status.success(), "the audit passed a changed set");
    let first = Command::new("pdftotext")
        .args(["-f", "1", "-l", "1"])
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext");
    let page1 = String::from_utf8_lossy(&first.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_names(
        &page1,
        &[
            "RESULTAT: Noget holder ikke",
            "bord-2.json",
            "bord 2 på valgsted 1",
            short(&dev),
            &format!("hændelse nr. {seq}:"),
            "signaturen passer ikke",
        ],
    );
}

#[test]
fn a_pdf_that_cannot_be_written_fails_the_command_naming_the_file() {
    let set = Set::new();
    let pdf = set
        .dir
        .path()
        .join("ingen-mappe")
        .join("efterproevning.pdf");
    let out = set.audit_with(&["--pdf".as_ref(), pdf.as_os_str()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a PDF that was not written passed");
    assert!(
        stderr.contains("cannot write") && stderr.contains("efterproevning.pdf"),
        "{stderr}"
    );
    assert!(!pdf.exists());
}
