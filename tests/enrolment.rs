//! Keys made on the device, attacked from the USB stick and the LAN: the stick the
//! office hands out holds no device key; a device the office did not enrol cannot load
//! the package as a table; the package is never fetched over plain HTTP, and a device
//! never goes back to an older package than the one it holds.

mod daemon;

use base64::Engine;
use daemon::{device_key, election_load, election_new, office_keys, run_fail, run_ok};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

fn p(path: &Path) -> &str {
    path.to_str().expect("utf8 path")
}

/// The office's key pair and the list, in `root`.
fn office(root: &Path) -> (PathBuf, PathBuf) {
    (office_keys(root), daemon::write_list(root))
}

/// The office makes the election from the enrolled public keys (`place,role,table_no,key`).
fn new_election(root: &Path, out: &Path, enrolled: &[String]) -> String {
    let enrol = root.join("enrol.csv");
    std::fs::write(
        &enrol,
        format!("place,role,table_no,key\n{}\n", enrolled.join("\n")),
    )
    .expect("write enrolment");
    election_new(root, "kv-enrol", &root.join("list.csv"), out, &[])
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        if e.path().is_dir() {
            all.extend(files(&e.path()));
        } else {
            all.push(e.path());
        }
    }
    all
}

/// Two tables of polling place 1 and one of place 2, each with its own key.
fn enrol_three(root: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let keys: Vec<PathBuf> = (0..3)
        .map(|i| root.join(format!("pi-{i}/device.key")))
        .collect();
    let rows = vec![
        format!("1,table,1,{}", device_key(&keys[0])),
        format!("1,table,2,{}", device_key(&keys[1])),
        format!("2,table,1,{}", device_key(&keys[2])),
    ];
    (keys, rows)
}

/// An election of three enrolled tables on a USB stick: the office's public key, the
/// list, the devices' key files and the stick.
struct Stick {
    office: PathBuf,
    list: PathBuf,
    keys: Vec<PathBuf>,
    usb: PathBuf,
}

fn stick(root: &Path) -> Stick {
    let (office, list) = office(root);
    let (keys, rows) = enrol_three(root);
    let usb = root.join("usb");
    new_election(root, &usb, &rows);
    Stick {
        office,
        list,
        keys,
        usb,
    }
}

#[test]
fn the_usb_stick_holds_no_device_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let Stick { usb, .. } = stick(root);
    // The attacker copies the stick and looks for anything secret on it.
    let found = files(&usb);
    assert!(!found.is_empty());
    for f in found {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(
            name == "package.json" || name == "valgliste.csv",
            "the stick holds {}",
            f.display()
        );
    }
}

#[test]
fn a_device_the_office_did_not_enrol_cannot_load_a_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let Stick {
        office: office_pub,
        usb,
        ..
    } = stick(root);
    // A Pi of the attacker's, with the copied stick, claims table 1.
    let stranger = root.join("stranger/device.key");
    let fingerprint_of = device_key(&stranger);
    let (pkg, state) = (usb.join("valgsted-1"), root.join("s"));
    let mut args = election_load(&pkg, &stranger, &office_pub, &state);
    args.extend(["--table", "1"]);
    let err = run_fail(&args);
    assert!(err.contains("not enrolled"), "{err}");
    assert!(err.contains(&fingerprint_of[..4]), "{err}");
    assert!(!root.join("s/table.toml").exists());
}

#[test]
fn a_table_key_loads_as_its_own_table_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let Stick {
        office: office_pub,
        keys,
        usb,
        ..
    } = stick(root);
    let pkg = usb.join("valgsted-1");
    let state = root.join("s2");
    let mut args = election_load(&pkg, &keys[1], &office_pub, &state);
    args.extend(["--table", "1"]);
    let err = run_fail(&args);
    assert!(err.contains("table 2"), "{err}");
    // Without --table the device's enrolment says which table it is.
    let said = run_ok(&election_load(&pkg, &keys[1], &office_pub, &state));
    assert!(said.contains("table 2"), "{said}");
}

/// A plain HTTP server that answers every request with `answer` and notes that it was
/// asked.
fn plain_http(answer: String) -> (String, Arc<AtomicBool>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    let asked = Arc::new(AtomicBool::new(false));
    let flag = asked.clone();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            flag.store(true, Ordering::SeqCst);
            let mut buf = [0u8; 8192];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, asked)
}

#[test]
fn the_package_is_never_fetched_over_plain_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let Stick {
        office: office_pub,
        list,
        keys,
        usb,
    } = stick(root);
    // On the LAN, the attacker answers with the genuine package, in clear: whatever it
    // sends, a device must not take its package from a connection nobody authenticated.
    let package: serde_json::Value = serde_json::from_slice(
        &std::fs::read(usb.join("valgsted-1/package.json")).expect("package"),
    )
    .expect("json");
    let answer = serde_json::json!({
        "package": package,
        "list": base64::engine::general_purpose::STANDARD.encode(std::fs::read(list).expect("list")),
    });
    let (url, asked) = plain_http(answer.to_string());
    let err = run_fail(&[
        "election",
        "load",
        "--from-peer",
        &url,
        "--key",
        p(&keys[0]),
        "--table",
        "1",
        "--office-key",
        p(&office_pub),
        "--state",
        p(&root.join("s")),
    ]);
    assert!(err.contains("https://"), "{err}");
    assert!(!asked.load(Ordering::SeqCst), "the device asked {url}");
    assert!(!root.join("s/table.toml").exists());
}

#[test]
fn a_device_never_goes_back_to_an_older_package() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let (office_pub, _) = office(root);
    let (keys, rows) = enrol_three(root);
    let (old, new) = (root.join("usb-old"), root.join("usb-new"));
    new_election(root, &old, &rows);
    new_election(root, &new, &rows);
    let state = root.join("s");
    run_ok(&election_load(
        &new.join("valgsted-1"),
        &keys[0],
        &office_pub,
        &state,
    ));
    // The same package again is fine (a table re-loaded from its stick) …
    run_ok(&election_load(
        &new.join("valgsted-1"),
        &keys[0],
        &office_pub,
        &state,
    ));
    let before = std::fs::read_to_string(state.join("table.toml")).expect("config");
    // … but the older stick, genuinely signed, is refused and changes nothing.
    let err = run_fail(&election_load(
        &old.join("valgsted-1"),
        &keys[0],
        &office_pub,
        &state,
    ));
    assert!(err.contains("older"), "{err}");
    assert_eq!(
        std::fs::read_to_string(state.join("table.toml")).expect("config"),
        before
    );
}

#[test]
fn a_device_keeps_its_key_and_shows_it_for_enrolment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("device.key");
    let made = device_key(&key);
    // Run again (a second install): the same key, never a new one.
    assert_eq!(device_key(&key), made);
    let shown = run_ok(&["key", "show", "--key", p(&key), "--qr"]);
    assert!(shown.contains(&made), "{shown}");
    let fingerprint = format!("{} {}", &made[..4], &made[4..8]);
    assert!(shown.contains(&fingerprint), "{shown}");
    assert!(shown.contains('█'), "no QR code drawn: {shown}");
    let err = run_fail(&["key", "show", "--key", p(&dir.path().join("none.key"))]);
    assert!(err.contains("valgbord key init"), "{err}");
}
