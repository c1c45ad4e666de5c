//! Sync under real network faults. Table daemons of one polling place run in network
//! namespaces joined by a bridge (tests/netlab) and sync over mutual TLS as in an
//! election; the faults are real: packets dropped without RST, so connects time out; a
//! host that accepts TCP and never answers; a flood of idle connections; a forged mDNS
//! announcement.
//!
//! Every test holds the tables to the product's promise: a voter checked in at one
//! table is refused at every other table within 1 second, whatever one peer (a table,
//! the central tally, an attacker on the LAN) does. Each delay is measured from the
//! confirm's answer until the other table counts the check-in; all measurements of a
//! test are reported together when one breaks the promise.

mod daemon;
mod netlab;

use daemon::{
    Table, enrolled, eventually, import_signed_with, outcome, peers_text, prepare_with, screen,
    tables_enrolled,
};
use netlab::{Lab, NetTable};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use valgbord::election::keys::{DevicePublic, DeviceSecret};
use valgbord::store::keyfile;
use valgbord::sync::tls::TrustedKeys;

/// The promise: a check-in is known at every other table within this.
const PROMISE: Duration = Duration::from_secs(1);
/// How long a delay is measured before it counts as "never".
const WATCH: Duration = Duration::from_secs(15);
/// Every table's (and the fake central's) TLS sync port.
const SYNC_PORT: u16 = 8443;
/// The hosts of every test's LAN, at 192.0.2.1 … 192.0.2.5.
const HOSTS: &[&str] = &["t1", "t2", "t3", "central", "attacker"];
const CENTRAL: usize = 3;
const ATTACKER: usize = 4;

/// Voters beyond the shared test list, so a test can check in many: card CARD-NET<i>.
fn extra_voters() -> Vec<String> {
    (1..=30)
        .map(|i| {
            format!(
                "N{i};{};D;Test;Netvælger{i};01-01-1980;K;Netvej {i};8000;Aarhus C;1;Rådhushallen;CARD-NET{i};KV+RV;nej;",
                100 + i
            )
        })
        .collect()
}

/// One test of this file at a time, even when the test harness runs tests in parallel:
/// the delays measured must be the tables', not those of a machine (2 cores) shared with
/// another test's daemons.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Tables of one polling place in the lab, table i on host i.
struct Net {
    tables: Vec<NetTable>,
    configs: Vec<PathBuf>,
    keys: Vec<DeviceSecret>,
    next_card: usize,
    dir: tempfile::TempDir,
    // Last, so the tables stop before their namespaces go.
    lab: Lab,
}

/// Writes the election-mode configurations of `n` tables: the signed list, a TLS sync
/// listener on every address, every key listed, the other tables as peers by their
/// 192.0.2.x URLs when `peers`, and `extra` in `[sync]`.
fn configure(
    lab: &Lab,
    dir: &Path,
    n: usize,
    peers: bool,
    extra: &str,
    other_keys: &[DevicePublic],
) -> Vec<PathBuf> {
    let tables = (0..n).map(|i| {
        keyfile::load_or_create(&dir.join(format!("table{}.key", i + 1)))
            .expect("key")
            .public()
    });
    let mut device_list = tables_enrolled(tables);
    for k in other_keys {
        device_list += &format!(", {}", enrolled(*k, "role = \"central\""));
    }
    (0..n)
        .map(|i| {
            let peer_list: Vec<String> = (0..n)
                .filter(|&j| peers && j != i)
                .map(|j| lab.host(j).https(SYNC_PORT))
                .collect();
            election_config(dir, i as u32 + 1, &peer_list, &device_list, extra)
        })
        .collect()
}

/// Starts and opens `n` election tables in `lab`; `extra` goes into `[sync]`,
/// `other_keys` (a central's) are listed besides the tables'.
fn start(lab: Lab, n: usize, peers: bool, extra: &str, other_keys: &[DevicePublic]) -> Net {
    let dir = tempfile::tempdir().expect("tempdir");
    let configs = configure(&lab, dir.path(), n, peers, extra, other_keys);
    let keys = (0..n)
        .map(|i| {
            keyfile::load_or_create(&dir.path().join(format!("table{}.key", i + 1))).expect("key")
        })
        .collect();
    let tables: Vec<NetTable> = (0..n)
        .map(|i| {
            NetTable::start(
                lab.host(i),
                dir.path(),
                &configs[i],
                &log_path(dir.path(), i),
            )
        })
        .collect();
    for t in &tables {
        t.at(Table::open);
    }
    Net {
        tables,
        configs,
        keys,
        next_card: 1,
        dir,
        lab,
    }
}

fn log_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("table{}.log", i + 1))
}

fn checked_in(t: &NetTable) -> i64 {
    t.at(|t| screen(t)["persons_checked_in"].as_i64().unwrap_or(-1))
}

/// The number of events in the table's log (`/api/health`).
fn events(t: &NetTable) -> i64 {
    t.at(|t| t.get("/api/health").1["events"].as_i64().unwrap_or(-1))
}

/// One measured delay: what was measured and how long it took (None: not within WATCH).
struct Measure {
    what: String,
    delay: Option<Duration>,
}

impl std::fmt::Display for Measure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.delay {
            Some(d) => write!(f, "{}: {} ms", self.what, d.as_millis()),
            None => write!(f, "{}: not within {} s", self.what, WATCH.as_secs()),
        }
    }
}

impl Net {
    /// Waits until every table shows `text` in its status bar's peer line.
    fn wait_connected(&self, text: &str) {
        for (i, t) in self.tables.iter().enumerate() {
            assert!(
                eventually(Duration::from_secs(20), || t
                    .at(peers_text)
                    .starts_with(text)),
                "table {} did not connect ({text}): {:?}\n{}",
                i + 1,
                t.at(peers_text),
                t.log_text()
            );
        }
    }

    fn card(&mut self) -> String {
        let c = format!("CARD-NET{}", self.next_card);
        self.next_card += 1;
        c
    }

    /// Checks a new voter in at table `at`, then measures for each table of `watch`
    /// the time from the confirm's answer until it counts the check-in, and checks that
    /// it then refuses the card as already voted. Refusal problems go to `failures`.
    fn check_in(&mut self, at: usize, watch: &[usize], failures: &mut Vec<String>) -> Vec<Measure> {
        let card = self.card();
        let expected = self.tables[at].at(|t| {
            assert_eq!(outcome(&t.scan(&card)), "pending", "scan {card}");
            let s = t.confirm();
            assert_eq!(outcome(&s), "admitted", "confirm {card}");
            s["persons_checked_in"]
                .as_i64()
                .expect("persons_checked_in")
        });
        let confirmed = Instant::now();
        let mut seen: Vec<Option<Duration>> = vec![None; watch.len()];
        eventually(WATCH, || {
            for (k, &w) in watch.iter().enumerate() {
                if seen[k].is_none() && checked_in(&self.tables[w]) >= expected {
                    seen[k] = Some(confirmed.elapsed());
                }
            }
            seen.iter().all(Option::is_some)
        });
        for (k, &w) in watch.iter().enumerate() {
            if seen[k].is_none() {
                continue;
            }
            let got = self.tables[w].at(|t| {
                let s = t.scan(&card);
                if outcome(&s) == "pending" {
                    t.post("/api/cancel", serde_json::json!({}));
                }
                outcome(&s)
            });
            if got != "already_voted" {
                failures.push(format!(
                    "table {} counted the check-in of {card} but its scan answered {got}",
                    w + 1
                ));
            }
        }
        watch
            .iter()
            .zip(seen)
            .map(|(&w, delay)| Measure {
                what: format!("{card} at table {} → table {}", at + 1, w + 1),
                delay,
            })
            .collect()
    }
}

/// Fails the test when a delay breaks the promise or anything else failed, listing
/// every measurement; prints them otherwise.
fn verdict(test: &str, measures: &[Measure], mut failures: Vec<String>) {
    for m in measures {
        // The product's promise: a voter checked in at one table is refused at every
        // other table within 1 second, whatever one peer does.
        if m.delay.is_none_or(|d| d > PROMISE) {
            failures.push(format!("{m} (the promise is {} ms)", PROMISE.as_millis()));
        }
    }
    let all = measures
        .iter()
        .map(|m| format!("  {m}"))
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!("{test}: measured delays\n{all}");
    assert!(
        failures.is_empty(),
        "{test}:\n- {}\nall measured delays:\n{all}",
        failures.join("\n- ")
    );
}

/// Waits until `central` has been tried by every table: the fault is in the way of
/// their sync loops before anything is measured.
fn wait_tried(net: &Net, tried: impl Fn(usize) -> bool) {
    for i in 0..net.tables.len() {
        assert!(
            eventually(Duration::from_secs(20), || tried(i)),
            "table {} never tried the central\n{}",
            i + 1,
            net.tables[i].log_text()
        );
    }
}

/// Waits until `at`: check-ins on a schedule sample every phase of the tables' sync
/// rounds instead of following each other as fast as they are measured. A deadline
/// loop, not a wait for a condition.
fn until(at: Instant) {
    while Instant::now() < at {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `n` check-ins at table 1, one every `every`, each measured at tables 2 and 3.
fn scheduled_check_ins(
    net: &mut Net,
    n: u32,
    every: Duration,
    failures: &mut Vec<String>,
) -> Vec<Measure> {
    let start = Instant::now();
    let mut measures = Vec::new();
    for k in 0..n {
        until(start + every * k);
        measures.extend(net.check_in(0, &[1, 2], failures));
    }
    measures
}

#[test]
fn a_central_that_never_answers_delays_no_refusal() {
    let _serial = one_at_a_time();
    let lab = Lab::for_faults(HOSTS);
    // The central tally's host accepts the TCP connection and never answers: a frozen
    // central, or a WAN that swallows its replies after the connect.
    let silent = lab.silent_listener(CENTRAL, SYNC_PORT);
    let central = format!("central = \"{}\"\n", lab.host(CENTRAL).https(SYNC_PORT));
    let mut net = start(lab, 3, true, &central, &[]);
    net.wait_connected("2 af 2 forbundet");
    wait_tried(&net, |i| silent.accepted_from(net.lab.host(i).addr) > 0);
    let mut failures = Vec::new();
    let measures = scheduled_check_ins(&mut net, 8, Duration::from_millis(700), &mut failures);
    eprintln!(
        "the silent central accepted {} connections",
        silent.accepted()
    );
    verdict(
        "a_central_that_never_answers_delays_no_refusal",
        &measures,
        failures,
    );
}

#[test]
fn a_central_that_hangs_after_the_handshake_delays_no_refusal() {
    let _serial = one_at_a_time();
    let lab = Lab::for_faults(HOSTS);
    // The central's process completes the TLS handshake with its listed key and then
    // never answers a request (hung on its database, or frozen after accepting): each
    // request to it waits for the client's whole request timeout.
    let central_key = DeviceSecret::generate();
    let config = valgbord::sync::tls::server_config(&central_key, TrustedKeys::Any)
        .expect("central TLS configuration");
    let hanging = lab.hanging_tls_listener(CENTRAL, SYNC_PORT, config);
    let central = format!("central = \"{}\"\n", lab.host(CENTRAL).https(SYNC_PORT));
    let mut net = start(lab, 3, true, &central, &[central_key.public()]);
    net.wait_connected("2 af 2 forbundet");
    wait_tried(&net, |i| hanging.accepted_from(net.lab.host(i).addr) > 0);
    assert!(
        eventually(Duration::from_secs(20), || hanging.handshakes() >= 3),
        "the tables completed {} TLS handshakes with the central",
        hanging.handshakes()
    );
    let mut failures = Vec::new();
    let measures = scheduled_check_ins(&mut net, 8, Duration::from_millis(700), &mut failures);
    eprintln!(
        "the hanging central completed {} handshakes",
        hanging.handshakes()
    );
    verdict(
        "a_central_that_hangs_after_the_handshake_delays_no_refusal",
        &measures,
        failures,
    );
}

#[test]
fn a_central_whose_packets_are_dropped_delays_no_refusal() {
    let _serial = one_at_a_time();
    let lab = Lab::for_faults(HOSTS);
    // Every packet to the central is dropped: SYNs go unanswered, connects time out.
    lab.black_hole(CENTRAL);
    let central = format!("central = \"{}\"\n", lab.host(CENTRAL).https(SYNC_PORT));
    let mut net = start(lab, 3, true, &central, &[]);
    net.wait_connected("2 af 2 forbundet");
    wait_tried(&net, |i| net.lab.dropped_from(CENTRAL, i) > 0);
    let mut failures = Vec::new();
    let measures = scheduled_check_ins(&mut net, 8, Duration::from_millis(700), &mut failures);
    verdict(
        "a_central_whose_packets_are_dropped_delays_no_refusal",
        &measures,
        failures,
    );
}

#[test]
fn a_table_cut_off_delays_no_refusal_between_the_others() {
    let _serial = one_at_a_time();
    let lab = Lab::for_faults(HOSTS);
    let mut net = start(lab, 3, true, "", &[]);
    net.wait_connected("2 af 2 forbundet");
    // Table 3's cable is pulled: its process runs on, nothing it sends or is sent
    // arrives, and the others' connections to it (pooled ones too) just go silent.
    net.lab.cut(2);
    let cut_at = Instant::now();
    let mut failures = Vec::new();
    let mut measures = Vec::new();
    // From the moment of the cut on, for 6 s (longer than any request timeout), in
    // both directions between tables 1 and 2.
    for k in 0..10 {
        until(cut_at + Duration::from_millis(600) * k);
        let (at, other) = if k % 2 == 0 { (0, 1) } else { (1, 0) };
        measures.extend(net.check_in(at, &[other], &mut failures));
    }
    eprintln!(
        "{} check-ins in the {} ms after the cut",
        measures.len(),
        cut_at.elapsed().as_millis()
    );
    // Once the cable is back, table 3 catches up (not the 1 s promise: it was away).
    net.lab.uncut(2);
    let want = checked_in(&net.tables[0]);
    let back = Instant::now();
    if !eventually(Duration::from_secs(20), || {
        checked_in(&net.tables[2]) == want
    }) {
        failures.push(format!(
            "table 3 did not catch up within 20 s of the cable coming back ({} of {want})",
            checked_in(&net.tables[2])
        ));
    } else {
        eprintln!(
            "table 3 caught up {} ms after the cable came back",
            back.elapsed().as_millis()
        );
    }
    verdict(
        "a_table_cut_off_delays_no_refusal_between_the_others",
        &measures,
        failures,
    );
}

#[test]
fn a_flood_from_one_host_neither_stops_sync_nor_a_restarted_table() {
    const PER_TABLE: usize = 300;
    let _serial = one_at_a_time();
    let lab = Lab::for_faults(HOSTS);
    let mut net = start(lab, 3, true, "", &[]);
    net.wait_connected("2 af 2 forbundet");
    let targets: Vec<_> = (0..3).map(|i| net.lab.host(i).at(SYNC_PORT)).collect();
    // 300 idle TCP connections to every table's TLS port, re-opened as the tables close
    // them, until the end of the test.
    let flood = net.lab.flood(ATTACKER, &targets, PER_TABLE);
    for (t, s) in &flood.stats {
        assert!(
            eventually(Duration::from_secs(30), || s
                .opened
                .load(std::sync::atomic::Ordering::Relaxed)
                >= PER_TABLE),
            "the flood did not open {PER_TABLE} connections to {t}: {}",
            flood.report()
        );
    }
    let mut failures = Vec::new();
    let mut measures = Vec::new();
    for _ in 0..4 {
        measures.extend(net.check_in(0, &[1, 2], &mut failures));
    }
    eprintln!("flood after the first check-ins: {}", flood.report());

    // Table 3 stops (a power cut) once it holds everything; one more check-in happens
    // meanwhile; table 3 comes back during the flood.
    if !eventually(Duration::from_secs(10), || {
        let e: Vec<i64> = net.tables.iter().map(events).collect();
        e.iter().all(|&x| x == e[0])
    }) {
        failures.push(format!(
            "the tables never held the same events before table 3 stopped: {:?}",
            net.tables.iter().map(events).collect::<Vec<_>>()
        ));
    }
    net.tables[2].table.kill9();
    measures.extend(net.check_in(0, &[1], &mut failures));
    let all_events = events(&net.tables[0]);
    let all_checked_in = checked_in(&net.tables[0]);
    if !eventually(Duration::from_secs(10), || {
        events(&net.tables[1]) == all_events
    }) {
        failures.push("tables 1 and 2 do not hold the same events".into());
    }
    let host = net.lab.host(2).clone();
    net.tables[2] = NetTable::start(
        &host,
        net.dir.path(),
        &net.configs[2],
        &log_path(net.dir.path(), 2),
    );
    let up = Instant::now();
    // The restarted table holds every event of the others (its own were among them).
    let caught_up = eventually(WATCH, || {
        events(&net.tables[2]) >= all_events && checked_in(&net.tables[2]) == all_checked_in
    });
    measures.push(Measure {
        what: format!("restarted table 3 holds all {all_events} events, from its start"),
        delay: caught_up.then(|| up.elapsed()),
    });
    if !caught_up {
        failures.push(format!(
            "restarted table 3 holds {} events, {} checked in (the others {all_events}, {all_checked_in})",
            events(&net.tables[2]),
            checked_in(&net.tables[2])
        ));
    }
    measures.extend(net.check_in(0, &[1, 2], &mut failures));
    eprintln!("flood at the end: {}", flood.report());

    // The flood is reported: in the log, and on the screen's status bar.
    for (i, t) in net.tables.iter().enumerate() {
        if !eventually(Duration::from_secs(3), || {
            t.log_text().contains("sync port flooded")
        }) {
            failures.push(format!(
                "table {}'s log does not say \"sync port flooded\"",
                i + 1
            ));
        }
        let flood_status = || t.at(|t| screen(t)["status"]["sync_flood"].clone());
        if !eventually(Duration::from_secs(3), || {
            flood_status()
                .as_str()
                .is_some_and(|s| s.contains("overbelast"))
        }) {
            failures.push(format!(
                "table {}'s /api/screen status.sync_flood is {} (wanted a text with \"overbelast\")",
                i + 1,
                flood_status()
            ));
        }
    }
    drop(flood);
    verdict(
        "a_flood_from_one_host_neither_stops_sync_nor_a_restarted_table",
        &measures,
        failures,
    );
}

/// An mDNS daemon that is shut down when dropped (also when the test fails), so its
/// sockets do not keep a namespace alive.
struct Mdns(mdns_sd::ServiceDaemon);

impl Drop for Mdns {
    fn drop(&mut self) {
        let _ = self.0.shutdown();
    }
}

/// Announces by mDNS, from namespace `ns`, a table of the test election and place with
/// `key`, at `addr:SYNC_PORT`. Returns the announcing daemon and the announcement's full
/// name.
fn forge_announcement(ns: &str, addr: std::net::Ipv4Addr, key: &DeviceSecret) -> (Mdns, String) {
    use valgbord::sync::discovery::SERVICE;
    netlab::in_ns(ns, || {
        let d = mdns_sd::ServiceDaemon::new().expect("mDNS daemon");
        d.disable_interface(vec![
            mdns_sd::IfKind::LoopbackV4,
            mdns_sd::IfKind::LoopbackV6,
        ])
        .expect("mDNS interfaces");
        let txt = [
            ("election", "kv-test".to_string()),
            ("place", "1".to_string()),
            ("table", "2".to_string()),
            ("key", key.public().to_hex()),
            ("port", SYNC_PORT.to_string()),
            ("v", env!("CARGO_PKG_VERSION").to_string()),
        ];
        let info = mdns_sd::ServiceInfo::new(
            SERVICE,
            "valgbord-1-2-forged",
            "forged.local.",
            addr.to_string().as_str(),
            SYNC_PORT,
            &txt[..],
        )
        .expect("service info");
        let name = info.get_fullname().to_string();
        d.register(info).expect("announce");
        (Mdns(d), name)
    })
}

/// Waits until a bystander on the LAN (namespace `ns`) resolves the announcement `name`:
/// it is on the wire.
fn resolved_on_the_lan(ns: &str, name: &str) -> bool {
    netlab::in_ns(ns, || {
        let d = Mdns(mdns_sd::ServiceDaemon::new().expect("mDNS daemon"));
        let rx =
            d.0.browse(valgbord::sync::discovery::SERVICE)
                .expect("browse");
        let until = Instant::now() + Duration::from_secs(20);
        let mut found = false;
        while !found && Instant::now() < until {
            if let Ok(mdns_sd::ServiceEvent::ServiceResolved(s)) =
                rx.recv_timeout(Duration::from_millis(200))
            {
                found = s.get_fullname() == name;
            }
        }
        drop(d);
        found
    })
}

#[test]
fn a_forged_mdns_announcement_moves_no_peer() {
    let _serial = one_at_a_time();
    let lab = Lab::for_faults(HOSTS);
    // Two tables that find each other by mDNS only.
    let mut net = start(lab, 2, false, "mdns = true\n", &[]);
    net.wait_connected("1 af 1 forbundet");
    // The attacker announces table 2's key at its own address, where a listener
    // accepts connections and completes no handshake.
    let attacker = net.lab.host(ATTACKER).clone();
    let silent = net.lab.silent_listener(ATTACKER, SYNC_PORT);
    let (forger, name) = forge_announcement(&attacker.ns, attacker.addr, &net.keys[1]);
    let on_the_lan = resolved_on_the_lan(&net.lab.host(CENTRAL).ns, &name);
    assert!(
        on_the_lan,
        "the forged announcement {name} was not seen on the LAN"
    );
    let window = Instant::now();
    let mut failures = Vec::new();
    let mut measures = Vec::new();
    let mut samples = 0;
    let mut off: Vec<(u128, String)> = Vec::new();
    // For at least 10 s: a check-in every 2 s, the status bar sampled meanwhile.
    while window.elapsed() < Duration::from_secs(10) || measures.len() < 5 {
        let started = Instant::now();
        measures.extend(net.check_in(0, &[1], &mut failures));
        while started.elapsed() < Duration::from_secs(2) {
            let text = net.tables[0].at(peers_text);
            samples += 1;
            if !text.starts_with("1 af 1 forbundet") {
                off.push((window.elapsed().as_millis(), text));
            }
            // The sampling interval of the status bar, not a wait for anything.
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    drop(forger);
    if !off.is_empty() {
        failures.push(format!(
            "table 1's status left \"1 af 1 forbundet\" in {} of {samples} samples after the forged announcement, first at {} ms: {:?}; table 1 connected {} times to the attacker",
            off.len(),
            off[0].0,
            off[0].1,
            silent.accepted_from(net.lab.host(0).addr)
        ));
    }
    let moved: Vec<String> = net.tables[0]
        .log_text()
        .lines()
        .filter(|l| l.contains(&attacker.addr.to_string()))
        .map(str::to_string)
        .take(5)
        .collect();
    if !moved.is_empty() {
        eprintln!(
            "table 1's log on the attacker's address:\n{}",
            moved.join("\n")
        );
    }
    verdict(
        "a_forged_mdns_announcement_moves_no_peer",
        &measures,
        failures,
    );
}

/// The election-mode configuration of table `no` in `dir` (its own signed list), with
/// `peers`, `devices` and `extra` in `[sync]`.
fn election_config(dir: &Path, no: u32, peers: &[String], devices: &str, extra: &str) -> PathBuf {
    import_signed_with(dir, &dir.join(format!("table{no}.db")), &extra_voters());
    let peers = peers
        .iter()
        .map(|u| format!("\"{u}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let config = prepare_with(
        dir,
        no,
        "127.0.0.1:0",
        "",
        &format!(
            "[sync]\nlisten = \"0.0.0.0:{SYNC_PORT}\"\npeers = [{peers}]\ndevices = [{devices}]\n{extra}"
        ),
    );
    let text = std::fs::read_to_string(&config)
        .expect("config")
        .replace("mode = \"test\"", "mode = \"election\"");
    std::fs::write(&config, text).expect("config");
    config
}

#[test]
fn a_reserve_whose_only_table_peer_is_silent_writes_nothing_until_it_answers() {
    const FETCHING: &str = "Reservebordet henter bord 1s historik fra de andre borde";
    let lab = Lab::for_faults(&["t1", "t2", "reserve"]);
    let root = tempfile::tempdir().expect("tempdir");
    let (place, spare) = (root.path().join("place"), root.path().join("reserve"));
    for d in [&place, &spare] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    let key = |d: &Path, no: u32| {
        keyfile::load_or_create(&d.join(format!("table{no}.key")))
            .expect("key")
            .public()
    };
    let devices = format!(
        "{}, {}",
        tables_enrolled([key(&place, 1), key(&place, 2)]),
        enrolled(key(&spare, 1), "role = \"reserve\"")
    );
    let (h1, h2) = (lab.host(0).https(SYNC_PORT), lab.host(1).https(SYNC_PORT));
    let c1 = election_config(&place, 1, std::slice::from_ref(&h2), &devices, "");
    let c2 = election_config(&place, 2, &[h1], &devices, "");
    let t1 = NetTable::start(lab.host(0), &place, &c1, &place.join("t1.log"));
    let t2 = NetTable::start(lab.host(1), &place, &c2, &place.join("t2.log"));
    t1.at(Table::open);
    t2.at(Table::open);
    assert_eq!(outcome(&t1.at(|t| t.scan("CARD-NORMAL"))), "pending");
    assert_eq!(outcome(&t1.at(Table::confirm)), "admitted");
    assert!(
        eventually(WATCH, || events(&t2) == events(&t1)),
        "table 2 never got table 1's check-in"
    );

    // Table 1 breaks; table 2 lives but its packets are dropped (no RST, no answer).
    drop(t1);
    lab.cut(1);
    let cr = election_config(&spare, 1, &[h2], &devices, "");
    let reserve = NetTable::start(lab.host(2), &spare, &cr, &spare.join("reserve.log"));
    let notice = || reserve.at(|t| screen(t)["notice"].as_str().unwrap_or_default().to_string());
    assert!(
        eventually(WATCH, || {
            let n = notice();
            n.contains(FETCHING) && n.contains("ingen andre borde svarer")
        }),
        "the reserve does not say it waits for table 1's history: {}",
        notice()
    );
    let before = events(&reserve);
    let s = reserve.at(|t| t.scan("CARD-NORMAL"));
    assert_eq!(outcome(&s), "history_missing", "{s}");
    assert!(
        s["view"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains(FETCHING)),
        "{s}"
    );
    let (status, r) = reserve.at(|t| t.post("/api/table/open", serde_json::json!({})));
    assert_ne!(status, 200, "{r}");
    assert_eq!(events(&reserve), before, "the reserve stored something");

    // The drop is lifted: the reserve catches up from table 2 and serves as table 1.
    lab.uncut(1);
    assert!(
        eventually(Duration::from_secs(30), || !notice().contains(FETCHING)),
        "the reserve never released its gate: {}",
        notice()
    );
    reserve.at(Table::open);
    assert_eq!(
        outcome(&reserve.at(|t| t.scan("CARD-NORMAL"))),
        "already_voted"
    );
    assert_eq!(outcome(&reserve.at(|t| t.scan("CARD-SECOND"))), "pending");
    assert_eq!(outcome(&reserve.at(Table::confirm)), "admitted");
}
