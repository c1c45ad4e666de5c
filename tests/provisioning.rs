//! Provisioning from the command line to an open table: each Pi makes its own key, the
//! office enrols the public keys and makes an election with 2 polling places × 3 tables
//! and a reserve; each table loads its place's signed package (as from a USB stick),
//! runs the pre-opening checklist with the printed test card read by the (simulated)
//! scanner, opens only then, and checks voters in, in sync with its peers; the reserve
//! replaces a broken table. A tampered package, another election's package and a
//! rehearsal's database are refused.

mod daemon;

use daemon::{
    Table, device_key, election_load, election_new, election_new_args, eventually, free_ports,
    office_keys, outcome, run_fail, run_ok,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const ELECTION: &str = "kv-prov";

fn p(path: &Path) -> &str {
    path.to_str().expect("utf8 path")
}

fn state(root: &Path, place: u32, table: u32) -> PathBuf {
    root.join(format!("state-{place}-{table}"))
}

fn printer(root: &Path, place: u32, table: u32) -> PathBuf {
    root.join(format!("printer-{place}-{table}"))
}

/// Every text the simulated printer of a table has written, oldest first.
fn printed(dir: &Path) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter(|f| f.extension().is_some_and(|x| x == "txt"))
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect()
}

fn new_election(root: &Path, id: &str, list: &Path, out: &Path, ports: &[u16]) -> String {
    let mut addresses = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        addresses.push("--address".into());
        addresses.push(format!(
            "{}:{}=https://127.0.0.1:{port}",
            i / 3 + 1,
            i % 3 + 1
        ));
    }
    election_new(root, id, list, out, &addresses)
}

fn load_args<'a>(
    pkg: &'a Path,
    key: &'a Path,
    table: &'a str,
    office: &'a Path,
    st: &'a Path,
) -> Vec<&'a str> {
    let mut args = election_load(pkg, key, office, st);
    args.extend(["--table", table]);
    args
}

/// A table's loopback listeners and its simulated hardware, as `election load` takes them.
fn network<'a>(listen: &'a str, sync: &'a str, hw: &'a Path) -> [&'a str; 6] {
    [
        "--listen",
        listen,
        "--sync-listen",
        sync,
        "--hardware",
        p(hw),
    ]
}

fn checklist(t: &Table) -> Value {
    let (status, c) = t.get("/api/checklist");
    assert_eq!(status, 200, "{c}");
    c
}

fn check(c: &Value, id: &str) -> bool {
    c["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no item {id} in {c}"))["ok"]
        .as_bool()
        .expect("ok")
}

/// The card codes of the first voters of a polling place who may vote.
fn cards_of(list: &Path, place: &str) -> Vec<String> {
    std::fs::read_to_string(list)
        .expect("list")
        .lines()
        .skip(1)
        .map(|l| l.split(';').collect::<Vec<_>>())
        .filter(|c| c[10] == place && c[14] == "nej" && c[15].is_empty())
        .map(|c| c[12].to_string())
        .take(3)
        .collect()
}

/// Runs the pre-opening checklist of a loaded table with the printed test card read by
/// its scanner, and opens it.
fn check_and_open(t: &Table, printer_dir: &Path, what: &str) {
    // The valgstyrere decide the place's brevstemmer before opening (KRVL § 71).
    t.examine_brevstemmer();
    let c = checklist(t);
    assert_eq!(c["ready"], false, "{c}");
    assert!(
        check(&c, "valgliste") && check(&c, "testdata") && check(&c, "noegle"),
        "{c}"
    );
    assert!(!check(&c, "scanner"), "{c}");
    // Not ready: opening is refused and says why.
    let (status, r) = t.post("/api/table/open", json!({}));
    assert_eq!(status, 422, "{r}");
    assert!(
        r["error"].as_str().expect("error").contains("Scannertest"),
        "{r}"
    );

    // The printed test card, read by the scanner: both codes.
    let (status, r) = t.post("/api/checklist/test-card", json!({}));
    assert_eq!(status, 200, "{r}");
    let card = printed(printer_dir);
    let codes: Vec<String> = card
        .lines()
        .filter_map(|l| {
            l.strip_prefix("[QR: ")
                .or_else(|| l.strip_prefix("[Code 128: "))
                .map(|c| c.trim_end_matches(']').to_string())
        })
        .collect();
    assert_eq!(codes.len(), 2, "{card}");
    for code in &codes {
        let s = t.scan(code);
        assert_eq!(
            s["view"]["kind"], "ready",
            "a test card is never a check-in: {s}"
        );
    }
    assert!(
        eventually(Duration::from_secs(5), || checklist(t)["ready"] == true),
        "checklist of {what}: {}",
        checklist(t)
    );
    let (status, r) = t.post("/api/checklist/print", json!({}));
    assert_eq!(status, 200, "{r}");
    assert!(printed(printer_dir).contains("KLAR TIL ÅBNING"));
    t.open();
}

/// Whether `t` soon reads `card` as already voted (the check-in reached it).
fn seen_as_voted(t: &Table, card: &str) -> bool {
    eventually(Duration::from_secs(5), || {
        let s = t.scan(card);
        t.post("/api/cancel", json!({}));
        outcome(&s) == "already_voted"
    })
}

/// The simulated printer of a table, as its `--hardware` file.
fn hardware(root: &Path, name: &str, printer_dir: &Path) -> PathBuf {
    let hw = root.join(format!("hw-{name}.toml"));
    std::fs::write(
        &hw,
        format!(
            "[printer]\nkind = \"simulated\"\ndir = \"{}\"\n",
            printer_dir.display()
        ),
    )
    .expect("write");
    hw
}

#[test]
fn two_places_of_three_tables_are_provisioned_checked_opened_and_guarded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let list = root.join("list.csv");
    run_ok(&[
        "voters",
        "generate",
        "--count",
        "400",
        "--seed",
        "11",
        "--places",
        "2",
        "--out",
        p(&list),
    ]);
    let office = office_keys(root);
    let all = free_ports(13);
    let (ports, screens) = all.split_at(6);
    // Every Pi makes its key; the office enrols the public halves (and a reserve for
    // polling place 1).
    let mut enrol = String::from("place,role,table_no,key\n");
    for i in 0..6u32 {
        let (place, table) = (i / 3 + 1, i % 3 + 1);
        let key = device_key(&state(root, place, table).join("device.key"));
        enrol.push_str(&format!("{place},table,{table},{key}\n"));
    }
    let reserve = root.join("state-reserve");
    enrol.push_str(&format!(
        "1,reserve,,{}\n",
        device_key(&reserve.join("device.key"))
    ));
    std::fs::write(root.join("enrol.csv"), enrol).expect("write");
    let pkgs = root.join("usb");
    let out = new_election(root, ELECTION, &list, &pkgs, ports);
    assert!(out.contains("polling place 1"), "{out}");
    assert!(out.contains("polling place 2"), "{out}");

    // Every table loads its package and reports what it loaded.
    let mut tables = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let (place, table) = (i as u32 / 3 + 1, i as u32 % 3 + 1);
        let hw = hardware(
            root,
            &format!("{place}-{table}"),
            &printer(root, place, table),
        );
        let pkg = pkgs.join(format!("valgsted-{place}"));
        let st = state(root, place, table);
        let t = table.to_string();
        let listen = format!("127.0.0.1:{}", screens[i]);
        let sync = format!("127.0.0.1:{port}");
        let key = st.join("device.key");
        let from = format!("https://127.0.0.1:{}", ports[3]);
        let mut args = if (place, table) == (2, 3) {
            // The last table fetches its package over the LAN from table 1 of its
            // polling place, with only its own key at hand.
            vec![
                "election",
                "load",
                "--from-peer",
                &from,
                "--office-key",
                p(&office),
                "--state",
                p(&st),
            ]
        } else {
            load_args(&pkg, &key, &t, &office, &st)
        };
        args.extend(network(&listen, &sync, &hw));
        if (place, table) == (2, 3) {
            // A device the package does not list gets nothing.
            let stranger = root.join("stranger.key");
            valgbord::store::keyfile::load_or_create(&stranger).expect("key");
            let err = run_fail(&[
                "election",
                "load",
                "--from-peer",
                &from,
                "--key",
                p(&stranger),
                "--table",
                "3",
                "--office-key",
                p(&office),
                "--state",
                p(&root.join("state-stranger")),
            ]);
            assert!(err.contains("cannot reach"), "{err}");
        }
        let said = run_ok(&args);
        if (place, table) == (2, 3) {
            assert!(said.contains("fetched the package"), "{said}");
        }
        assert!(said.contains("400 voters"), "{said}");
        assert!(said.contains(&format!("polling place {place}")), "{said}");
        assert!(said.contains(&format!("table {table}")), "{said}");
        tables.push(Table::start(root, &st.join("table.toml")));
    }

    for (i, t) in tables.iter().enumerate() {
        let (place, table) = (i as u32 / 3 + 1, i as u32 % 3 + 1);
        check_and_open(
            t,
            &printer(root, place, table),
            &format!("place {place} table {table}"),
        );
    }

    // Check-ins work and reach the other tables of the polling place.
    let cards = cards_of(&list, "1");
    let s = tables[0].scan(&cards[0]);
    assert_eq!(outcome(&s), "pending", "{s}");
    assert_eq!(outcome(&tables[0].confirm()), "admitted");
    assert!(seen_as_voted(&tables[1], &cards[0]));
    // A voter of place 1 at a table of place 2 is sent to the right place.
    assert_eq!(outcome(&tables[3].scan(&cards[1])), "wrong_place");

    // Table 1 of place 1 breaks; the reserve takes its place (and its sync address)
    // from the same package, and its check-ins count at the other tables.
    tables[0].kill9();
    let reserve_printer = root.join("printer-reserve");
    let hw = hardware(root, "reserve", &reserve_printer);
    let pkg1 = pkgs.join("valgsted-1");
    let reserve_key = reserve.join("device.key");
    let err = run_fail(&election_load(&pkg1, &reserve_key, &office, &reserve));
    assert!(err.contains("reserve") && err.contains("--table"), "{err}");
    let listen = format!("127.0.0.1:{}", all[12]);
    let sync = format!("127.0.0.1:{}", ports[0]);
    let mut args = load_args(&pkg1, &reserve_key, "1", &office, &reserve);
    args.extend(network(&listen, &sync, &hw));
    let said = run_ok(&args);
    assert!(said.contains("stands in for table 1"), "{said}");
    let stand_in = Table::start(root, &reserve.join("table.toml"));
    check_and_open(&stand_in, &reserve_printer, "the reserve as table 1");
    assert!(seen_as_voted(&stand_in, &cards[0]));
    assert_eq!(outcome(&stand_in.scan(&cards[2])), "pending");
    assert_eq!(outcome(&stand_in.confirm()), "admitted");
    assert!(seen_as_voted(&tables[1], &cards[2]));

    // A tampered package: one letter of the signed text changed.
    let table1_key = state(root, 1, 1).join("device.key");
    let tampered = root.join("tampered");
    std::fs::create_dir_all(&tampered).expect("mkdir");
    for f in ["package.json", "valgliste.csv"] {
        std::fs::copy(pkgs.join("valgsted-1").join(f), tampered.join(f)).expect("copy");
    }
    let text = std::fs::read_to_string(tampered.join("package.json")).expect("read");
    std::fs::write(
        tampered.join("package.json"),
        text.replacen("kv-prov", "kv-prou", 1),
    )
    .expect("write");
    let fresh = root.join("state-fresh");
    let err = run_fail(&load_args(&tampered, &table1_key, "1", &office, &fresh));
    assert!(err.contains("altered"), "{err}");
    // A swapped list under a genuine package.
    std::fs::copy(
        pkgs.join("valgsted-1/package.json"),
        tampered.join("package.json"),
    )
    .expect("copy");
    let mut rows = std::fs::read_to_string(&list).expect("list");
    rows.push_str(&rows.lines().last().expect("row").replacen(';', "9;", 1));
    std::fs::write(tampered.join("valgliste.csv"), rows).expect("write");
    let err = run_fail(&load_args(&tampered, &table1_key, "1", &office, &fresh));
    assert!(err.contains("swapped"), "{err}");

    // Another election's package on a device of this election.
    let other = root.join("usb-other");
    new_election(root, "fv-other", &list, &other, ports);
    let err = run_fail(&load_args(
        &other.join("valgsted-1"),
        &table1_key,
        "1",
        &office,
        &state(root, 1, 1),
    ));
    assert!(err.contains("kv-prov"), "{err}");

    // A rehearsal's database (test mode) can never become an election table.
    let rehearsal = root.join("state-rehearsal");
    std::fs::create_dir_all(&rehearsal).expect("mkdir");
    run_ok(&[
        "voters",
        "import",
        p(&list),
        "--db",
        p(&rehearsal.join("valgbord.db")),
        "--election",
        ELECTION,
    ]);
    let err = run_fail(&load_args(
        &pkgs.join("valgsted-1"),
        &table1_key,
        "1",
        &office,
        &rehearsal,
    ));
    assert!(err.contains("prøvekørsel"), "{err}");
}

/// A package request as `key` sends it over mutual TLS (any server key), with these
/// exact body bytes, signed: the status and the answer's text; Err when the TLS
/// handshake refused the device.
fn package_request(key: &Path, url: &str, bytes: &[u8]) -> Result<(u16, String), String> {
    let key = valgbord::store::keyfile::load_or_create(key).expect("key");
    let client =
        valgbord::sync::tls::http_client(&key, valgbord::sync::tls::TrustedKeys::Any, true)
            .expect("client");
    let sig = valgbord::sync::auth::sign_body(&key, bytes);
    daemon::block_on(async {
        let res = client
            .post(url)
            .header("content-type", "application/json")
            .header(valgbord::sync::auth::HEADER, sig)
            .body(bytes.to_vec())
            .send()
            .await
            .map_err(|e| valgbord::sync::tls::error_chain(&e))?;
        let status = res.status().as_u16();
        Ok((status, res.text().await.expect("answer")))
    })
}

/// A stamped package request of the device with key file `key`.
fn package_request_body(key: &Path) -> Vec<u8> {
    let public = valgbord::store::keyfile::load_or_create(key)
        .expect("key")
        .public();
    serde_json::to_vec(&daemon::stamped(json!({ "device": public }))).expect("json")
}

/// An election made on the stick `root/usb` (with `extra` arguments to `election new`)
/// for table 1 and a reserve of place 1 and table 1 of place 2, each Pi with its own key.
/// Table 1 of place 1 loaded from the stick `usb` onto the Pi with key `table`, on free
/// loopback ports: its state folder and sync port.
fn load_table_1(root: &Path, usb: &Path, table: &Path, office: &Path) -> (PathBuf, u16) {
    let [screen, sync] = free_ports(2)[..] else {
        panic!("two ports")
    };
    let hw = hardware(root, "1-1", &printer(root, 1, 1));
    let st = state(root, 1, 1);
    let (listen, sync_at) = (format!("127.0.0.1:{screen}"), format!("127.0.0.1:{sync}"));
    let pkg = usb.join("valgsted-1");
    let mut args = election_load(&pkg, table, office, &st);
    args.extend(network(&listen, &sync_at, &hw));
    run_ok(&args);
    (st, sync)
}

struct SmallElection {
    office: PathBuf,
    usb: PathBuf,
    table: PathBuf,
    reserve: PathBuf,
    other: PathBuf,
}

fn small_election(root: &Path, extra: &[String]) -> SmallElection {
    let office = office_keys(root);
    let list = daemon::write_list(root);
    let key = |name: &str| root.join(format!("{name}/device.key"));
    let (table, reserve, other) = (key("t1"), key("r1"), key("t2"));
    let rows = format!(
        "place,role,table_no,key\n1,table,1,{}\n1,reserve,,{}\n2,table,1,{}\n",
        device_key(&table),
        device_key(&reserve),
        device_key(&other)
    );
    std::fs::write(root.join("enrol.csv"), rows).expect("enrolment");
    let usb = root.join("usb");
    election_new(root, ELECTION, &list, &usb, extra);
    SmallElection {
        office,
        usb,
        table,
        reserve,
        other,
    }
}

#[test]
fn the_package_is_given_only_to_devices_of_its_place_and_only_once_a_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let central = root.join("central/device.key");
    device_key(&central);
    let central_pub = root.join("central.pub");
    let central_hex = valgbord::store::keyfile::load_or_create(&central)
        .expect("central key")
        .public()
        .to_hex();
    std::fs::write(&central_pub, format!("{central_hex}\n")).expect("central key");
    let extra = [
        "--central".to_string(),
        "https://127.0.0.1:9".to_string(),
        "--central-key".to_string(),
        p(&central_pub).to_string(),
    ];
    let SmallElection {
        office,
        usb,
        table,
        reserve,
        other,
    } = small_election(root, &extra);

    // Table 1 of place 1 is loaded from the stick and serves its package on the LAN.
    let (st, sync) = load_table_1(root, &usb, &table, &office);
    let _t = Table::start(root, &st.join("table.toml"));
    let url = format!("https://127.0.0.1:{sync}/sync/v1/package");

    // The central tally is enrolled (it passes the TLS handshake) but gets no package:
    // it holds the valgsekretær's PIN hash.
    let (status, text) =
        package_request(&central, &url, &package_request_body(&central)).expect("handshake");
    assert_eq!(status, 403, "{text}");
    assert!(
        text.contains("the central tally, not a table or reserve of polling place 1"),
        "{text}"
    );
    for secret in ["pin_hash", "officials", "package", "list"] {
        assert!(!text.contains(&format!("\"{secret}\"")), "{text}");
    }
    // A table of another polling place is not even let through the handshake.
    let refused = package_request(&other, &url, &package_request_body(&other));
    assert!(refused.is_err(), "{refused:?}");

    // The reserve of place 1 gets it; the same signed request sent again is refused.
    let body = package_request_body(&reserve);
    let (status, text) = package_request(&reserve, &url, &body).expect("handshake");
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"package\""), "{text}");
    let (status, text) = package_request(&reserve, &url, &body).expect("handshake");
    assert_eq!(
        status, 401,
        "a replayed package request was answered: {text}"
    );
    assert!(!text.contains("\"package\""), "{text}");
    assert!(text.contains("replay") || text.contains("seen"), "{text}");
}

/// Serves the package folder `pkg` on a loopback port over mutual TLS as the device
/// `key`, taking any client key, in a thread of its own (for the whole test): a host
/// on the LAN that holds a genuine package of a polling place it does not belong to.
/// An office that runs a reserve central names both in the package, each with the key
/// its central made; a loaded table pushes to both and enrols each as a central. A
/// `--central` without its key file is refused, saying so, and no package is written.
#[test]
fn the_package_names_two_centrals_and_a_central_without_its_key_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let mut extra: Vec<String> = Vec::new();
    let mut urls = Vec::new();
    for (i, name) in ["central", "central-2"].iter().enumerate() {
        let hex = device_key(&root.join(format!("{name}/device.key")));
        let public = root.join(format!("{name}.pub"));
        std::fs::write(&public, format!("{hex}\n")).expect("central key");
        let url = format!("https://10.{}.0.1:8443", i + 1);
        extra.extend([
            "--central".into(),
            url.clone(),
            "--central-key".into(),
            p(&public).into(),
        ]);
        urls.push((url, hex));
    }
    let SmallElection {
        office, usb, table, ..
    } = small_election(root, &extra);
    let (st, _) = load_table_1(root, &usb, &table, &office);
    let config = std::fs::read_to_string(st.join("table.toml")).expect("table.toml");
    for (url, key) in &urls {
        assert!(config.contains(&format!("\"{url}\"")), "{url}: {config}");
        assert!(config.contains(key.as_str()), "{key}: {config}");
    }
    assert_eq!(config.matches("role = \"central\"").count(), 2, "{config}");

    // The reserve central's key file left out.
    let out = root.join("usb-2");
    let args = election_new_args(root, ELECTION, &daemon::write_list(root), &out, &extra[..6]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let err = run_fail(&refs);
    assert!(err.contains("2 --central but 1 --central-key"), "{err}");
    assert!(!out.exists(), "a package was written");
}

fn rogue_package_server(key: valgbord::election::keys::DeviceSecret, pkg: PathBuf) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        daemon::block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let config =
                valgbord::sync::tls::server_config(&key, valgbord::sync::tls::TrustedKeys::Any)
                    .expect("server config");
            let trust = valgbord::election::event::Trust {
                election: ELECTION.into(),
                enrolment: None,
                allow_test: false,
            };
            let app = valgbord::provision::serve::router(pkg, trust, "1".into());
            let gate = valgbord::sync::admission::Gate::new();
            valgbord::sync::tls::serve(listener, config, app, gate).await
        })
    });
    port
}

#[test]
fn a_package_fetched_from_a_device_not_of_its_place_is_not_loaded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let SmallElection {
        office,
        usb,
        reserve,
        ..
    } = small_election(root, &[]);

    // A device the package does not list serves place 1's genuine, signed package.
    let rogue = valgbord::election::keys::DeviceSecret::generate();
    let port = rogue_package_server(rogue, usb.join("valgsted-1"));
    let from = format!("https://127.0.0.1:{port}");
    let st = root.join("state-reserve");
    let err = run_fail(&[
        "election",
        "load",
        "--from-peer",
        &from,
        "--key",
        p(&reserve),
        "--table",
        "1",
        "--office-key",
        p(&office),
        "--state",
        p(&st),
    ]);
    assert!(
        err.contains("not a table or reserve of polling place 1"),
        "{err}"
    );
    assert!(!st.join("table.toml").exists(), "the package was loaded");
    assert!(!st.join(".incoming").exists(), "what was fetched was kept");
}

/// A voter at the wrong polling place must be told where to go: the office gives each
/// polling place's address (`--place-address PLACE=ADDRESS`), every package carries the
/// places' addresses, and the refusal at a table names the voter's place with its address.
/// An address for a place the list does not have is refused, and nothing is written.
#[test]
fn a_voter_of_another_polling_place_is_told_its_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let address = "Skolevej 2, 8000 Aarhus C";
    let extra = [
        "--place-address".to_string(),
        format!("2={address}"),
        "--place-address".to_string(),
        "1=Rådhushallen, Rådhuspladsen 1, 8000 Aarhus C".to_string(),
    ];
    let SmallElection {
        office, usb, table, ..
    } = small_election(root, &extra);
    let (st, _) = load_table_1(root, &usb, &table, &office);
    let t = Table::start(root, &st.join("table.toml"));
    check_and_open(&t, &printer(root, 1, 1), "place 1 table 1");
    let s = t.scan("CARD-OTHERPLACE");
    assert_eq!(outcome(&s), "wrong_place", "{s}");
    let detail = s["view"]["detail"].as_str().expect("detail");
    assert!(
        detail.contains(&format!("Vælgerens valgsted er Vestre Skole, {address}.")),
        "{detail}"
    );

    let mut extra: Vec<String> = extra.to_vec();
    extra.extend(["--place-address".into(), "9=Ingen Skole, Vej 1".into()]);
    let list = daemon::write_list(root);
    let args = election_new_args(root, ELECTION, &list, &root.join("usb2"), &extra);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let err = run_fail(&refs);
    assert!(
        err.contains("--place-address") && err.contains('9'),
        "{err}"
    );
    assert!(!root.join("usb2/valgsted-1").exists());
}
