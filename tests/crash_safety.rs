//! Crash safety of one table: thousands of check-ins driven over HTTP while the daemon
//! is killed with SIGKILL at random (seeded) instants and started again. Whatever the
//! screen showed green must be in the log exactly once afterwards; a confirm that got
//! no answer may be there once or not at all, never twice.

mod daemon;

use daemon::{agent, prepare_with, run_ok, spawn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CHECKINS: usize = 2_000;

/// A request's outcome code, or `None` when no answer came (the table died).
fn call(agent: &ureq::Agent, url: &str, body: Value) -> Option<String> {
    let mut res = agent.post(url).send_json(body).ok()?;
    let v: Value = res.body_mut().read_json().ok()?;
    let view = &v["view"];
    Some(match view["kind"].as_str() {
        Some("refused") => view["code"].as_str().unwrap_or("?").to_string(),
        Some(k) => k.to_string(),
        None => format!("error {v}"),
    })
}

#[test]
fn nothing_confirmed_is_lost_or_doubled_when_the_table_is_killed_at_random() {
    let dir = tempfile::tempdir().expect("tempdir");
    let list = dir.path().join("list.csv");
    let db = dir.path().join("table1.db");
    run_ok(&[
        "voters",
        "generate",
        "--count",
        "3000",
        "--seed",
        "5",
        "--places",
        "1",
        "--out",
        list.to_str().expect("utf8"),
    ]);
    daemon::import(&list, &db);
    let voters =
        valgbord::election::voter_list::parse(&std::fs::read(&list).expect("list"), |_| {})
            .expect("generated list parses")
            .voters;
    let cards: Vec<(String, String)> = voters
        .iter()
        .filter(|v| !v.brevstemme && v.struck.is_none())
        .take(CHECKINS)
        .map(|v| (v.id.clone(), v.card_code.clone()))
        .collect();
    assert_eq!(cards.len(), CHECKINS);

    let port = daemon::free_ports(1)[0];
    let config = prepare_with(dir.path(), 1, &format!("127.0.0.1:{port}"), "", "");
    let base = format!("http://127.0.0.1:{port}");
    let child: Arc<Mutex<Option<Child>>> = Arc::new(Mutex::new(None));
    // Starts the table again (a killer may strike during the start: then again).
    let restart = |child: &Mutex<Option<Child>>| {
        let mut c = child.lock().expect("lock");
        if let Some(mut old) = c.take() {
            let _ = old.kill();
            let _ = old.wait();
        }
        for _ in 0..50 {
            if let Ok((new, _)) = spawn(&config) {
                *c = Some(new);
                return;
            }
        }
        panic!("the table did not start again in 50 tries");
    };
    restart(&child);
    let agent = agent();
    assert_eq!(
        call(&agent, &format!("{base}/api/table/open"), json!({})).as_deref(),
        Some("ready")
    );

    // The killer: SIGKILL at random instants, whatever the table is doing.
    let stop = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicUsize::new(0));
    let killer = {
        let (child, stop, kills) = (child.clone(), stop.clone(), kills.clone());
        std::thread::spawn(move || {
            let mut rng = ChaCha8Rng::seed_from_u64(0xdead);
            while !stop.load(Ordering::SeqCst) {
                // The fault itself, not synchronisation: a power cut at a random
                // instant of whatever the table is doing.
                std::thread::sleep(Duration::from_millis(rng.random_range(100..700)));
                let mut c = child.lock().expect("lock");
                if let Some(p) = c.as_mut()
                    && p.try_wait().ok().flatten().is_none()
                {
                    let _ = p.kill();
                    kills.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
    };

    let mut green: HashSet<String> = HashSet::new();
    let mut unanswered: HashSet<String> = HashSet::new();
    let mut restarts = 0;
    for (id, code) in &cards {
        let mut tries = 0;
        loop {
            tries += 1;
            assert!(tries < 100, "{id}: no check-in after 100 tries");
            let Some(scan) = call(&agent, &format!("{base}/api/scan"), json!({ "code": code }))
            else {
                restart(&child);
                restarts += 1;
                continue;
            };
            match scan.as_str() {
                "pending" => {}
                "already_voted" => {
                    // Only a confirm that got no answer may have stored it.
                    assert!(unanswered.contains(id), "{id} refused without a check-in");
                    break;
                }
                other => panic!("{id}: scan gave {other}"),
            }
            match call(&agent, &format!("{base}/api/confirm"), json!({})).as_deref() {
                Some("admitted") => {
                    green.insert(id.clone());
                    break;
                }
                Some(other) => panic!("{id}: confirm gave {other}"),
                None => {
                    unanswered.insert(id.clone());
                    restart(&child);
                    restarts += 1;
                }
            }
        }
    }
    stop.store(true, Ordering::SeqCst);
    killer.join().expect("killer");
    if let Some(mut c) = child.lock().expect("lock").take() {
        let _ = c.kill();
        let _ = c.wait();
    }
    let kills = kills.load(Ordering::SeqCst);
    assert!(kills >= 5, "only {kills} kills: the test proved little");
    println!(
        "{CHECKINS} voters, {} confirmed green, {} confirms unanswered, {kills} kills, {restarts} restarts",
        green.len(),
        unanswered.len()
    );

    // The log after all of it, read from the file.
    let store = valgbord::store::Store::open(&db).expect("open db");
    let mut stored = 0;
    for (id, _) in &cards {
        let n = store.active_checkins(id).expect("checkins").len();
        if green.contains(id) {
            assert_eq!(n, 1, "{id} was green, and is in the log {n} times");
        } else {
            assert!(unanswered.contains(id), "{id} never tried");
            assert_eq!(n, 1, "{id}: its check-in was lost or doubled ({n})");
        }
        stored += n;
    }
    assert_eq!(stored, CHECKINS);
    assert!(store.double_registrations("1").expect("doubles").is_empty());
}
