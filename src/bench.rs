//! `valgbord bench …`: performance figures, printed. Benchmarks measure; tests do not
//! time anything.

use crate::bench_proc as proc;
use crate::cli::CmdResult;
use crate::election::voter_list;
use crate::store::Store;
use crate::store::generate;
use crate::store::search::SearchQuery;
use clap::Subcommand;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Generate, import, then measure card lookups and searches on the imported list.
    List {
        #[arg(long, default_value_t = 1_000_000)]
        voters: u64,
        #[arg(long, default_value_t = 10_000)]
        lookups: usize,
        #[arg(long, default_value_t = 2_000)]
        searches: usize,
        /// Work directory (a temporary one when not given).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Cross-table visibility and catch-up with real table daemons on loopback.
    Sync {
        #[arg(long, default_value_t = 10)]
        tables: u32,
        #[arg(long, default_value_t = 300)]
        checkins: usize,
        /// Events made while one table is away, then caught up.
        #[arg(long, default_value_t = 2_000)]
        partition_events: usize,
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// The central tally under a country's load: simulated tables push signed check-ins
    /// over HTTP on loopback at a fixed rate; sustained events/s and push latency.
    Central {
        #[arg(long, default_value_t = 1_314)]
        places: u32,
        #[arg(long, default_value_t = 10_000)]
        tables: u32,
        #[arg(long, default_value_t = 4_300_000)]
        voters: u64,
        /// Check-ins pushed (each table also pushes its opening).
        #[arg(long, default_value_t = 100_000)]
        events: usize,
        /// Pushes per second, all tables together.
        #[arg(long, default_value_t = 1_000)]
        rate: u32,
        /// Concurrent HTTP connections the tables' pushes share.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// The promise under real network faults, every table checking in at once:
    /// confirmed at one table -> refused at another, per condition (needs root: it
    /// makes a network namespace of its own and drops packets with nftables).
    Promise(crate::bench_promise::Args),
    /// The marked paper valgliste of a polling place as `valgbord list print` makes it.
    Paper {
        #[arg(long, default_value_t = 25_000)]
        voters: u64,
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Scan → verdict and confirm → durable check-in latency at one table: in
    /// process, then over HTTP on a table daemon process.
    Scan {
        #[arg(long, default_value_t = 25_000)]
        voters: u64,
        #[arg(long, default_value_t = 3_000)]
        scans: usize,
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

pub fn run(cmd: BenchCmd) -> CmdResult {
    match cmd {
        BenchCmd::List {
            voters,
            lookups,
            searches,
            dir,
        } => bench_list(voters, lookups, searches, dir),
        BenchCmd::Scan { voters, scans, dir } => bench_scan(voters, scans, dir),
        BenchCmd::Promise(args) => crate::bench_promise::run(args),
        BenchCmd::Paper { voters, dir } => crate::bench_paper::run(voters, dir),
        BenchCmd::Central {
            places,
            tables,
            voters,
            events,
            rate,
            connections,
            dir,
        } => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(crate::bench_central::run(crate::bench_central::Args {
                places,
                tables,
                voters,
                events,
                rate,
                connections: connections.max(1),
                dir,
            }))
        }
        BenchCmd::Sync {
            tables,
            checkins,
            partition_events,
            dir,
        } => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(bench_sync(tables, checkins, partition_events, dir))
        }
    }
}

/// p50, p99 and max of a set of durations.
pub fn percentiles(mut d: Vec<Duration>) -> (Duration, Duration, Duration) {
    if d.is_empty() {
        return (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    }
    d.sort();
    let at = |q: f64| {
        d[((d.len() as f64 * q).ceil() as usize)
            .saturating_sub(1)
            .min(d.len() - 1)]
    };
    (at(0.50), at(0.99), d[d.len() - 1])
}

/// The two latencies of a table's check-in: scan to verdict, confirm to stored.
pub(crate) fn print_scan_confirm(scan_times: Vec<Duration>, confirm_times: Vec<Duration>) {
    let admitted = confirm_times.len();
    let (p50, p99, max) = percentiles(scan_times);
    println!(
        "  scan -> verdict    p50 {}  p99 {}  max {}",
        ms(p50),
        ms(p99),
        ms(max)
    );
    let (p50, p99, max) = percentiles(confirm_times);
    println!(
        "  confirm -> stored  p50 {}  p99 {}  max {}  ({admitted} check-ins, fsync included)",
        ms(p50),
        ms(p99),
        ms(max)
    );
}

/// A new database at `db` (any old one removed) holding the list in `bytes`, bound to
/// the benchmark's test election.
pub(crate) fn import_list(db: &std::path::Path, bytes: &[u8]) -> Result<Store, String> {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let mut store = Store::open(db).map_err(|e| e.to_string())?;
    store
        .bind("bench", crate::store::binding::Mode::Test)
        .map_err(|e| e.to_string())?;
    store
        .import_file(bytes, false, |_| {})
        .map_err(|e| format!("list does not import: {e:?}"))?;
    Ok(store)
}

/// A path as the text of a command's argument.
fn path_str(p: &std::path::Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{}: not UTF-8", p.display()))
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn bench_list(voters: u64, lookups: usize, searches: usize, dir: Option<PathBuf>) -> CmdResult {
    let tmp;
    let dir = match dir {
        Some(d) => {
            std::fs::create_dir_all(&d)?;
            d
        }
        None => {
            tmp = tempdir()?;
            tmp.clone()
        }
    };
    let file = dir.join("bench-voters.csv");
    let db = dir.join("bench.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    println!(
        "valgbord bench list: {voters} voters; each step is the command a user runs, as a process (start-up, file, fsync)"
    );
    let (file_s, db_s) = (path_str(&file)?, path_str(&db)?);
    let (secret, public, sig) = (
        dir.join("office.secret"),
        dir.join("office.pub"),
        dir.join("bench-voters.csv.sig"),
    );
    let (secret_s, public_s, sig_s) = (path_str(&secret)?, path_str(&public)?, path_str(&sig)?);
    for f in [&secret, &public] {
        let _ = std::fs::remove_file(f);
    }
    let count = voters.to_string();
    let generated = proc::run(&[
        "voters", "generate", "--count", &count, "--seed", "1", "--places", "10", "--out", file_s,
    ])?;
    proc::run(&[
        "office", "keygen", "--secret", secret_s, "--public", public_s,
    ])?;
    let signed = proc::run(&[
        "office", "sign", file_s, "--secret", secret_s, "--out", sig_s,
    ])?;
    let imported = proc::run(&[
        "voters",
        "import",
        file_s,
        "--db",
        db_s,
        "--election",
        "bench",
        "--signature",
        sig_s,
        "--office-key",
        public_s,
    ])?;
    let line = |what: &str, r: &proc::Ran| {
        println!(
            "  {what:<38} {:>7.2} s  (peak memory {})",
            r.took.as_secs_f64(),
            proc::mb(r.peak_kib)
        )
    };
    line("valgbord voters generate", &generated);
    line("valgbord office sign (at the office)", &signed);
    line("valgbord voters import --signature …", &imported);
    println!(
        "  generate + import                      {:>7.2} s",
        (generated.took + imported.took).as_secs_f64()
    );
    let bytes = std::fs::read(&file)?;
    let store = Store::open(&db)?;
    let list = voter_list::parse(&bytes, |_| {})
        .map_err(|e| format!("generated list does not parse: {}", e[0]))?;
    println!("  lookups and searches below: in this process, on the imported database");

    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut times = Vec::with_capacity(lookups);
    for _ in 0..lookups {
        let i = rng.random_range(0..voters);
        let code = generate::card_code(i, 1);
        let t = Instant::now();
        let found = store.lookup_card(&code)?;
        times.push(t.elapsed());
        if found.is_none() {
            return Err(format!("card {code} not found").into());
        }
    }
    let (p50, p99, max) = percentiles(times);
    println!(
        "  card lookup        p50 {}  p99 {}  max {}  ({lookups} lookups)",
        ms(p50),
        ms(p99),
        ms(max)
    );

    let mut times = Vec::with_capacity(searches);
    let mut found_total = 0usize;
    for _ in 0..searches {
        let v = &list.voters[rng.random_range(0..list.voters.len())];
        let q = SearchQuery {
            name: v.full_name(),
            birthdate: Some(v.birthdate),
            ..Default::default()
        };
        let t = Instant::now();
        let hits = store.search(&q, 50)?;
        times.push(t.elapsed());
        if !hits.iter().any(|h| h.id == v.id) {
            return Err(format!("search did not find {}", v.id).into());
        }
        found_total += hits.len();
    }
    let (p50, p99, max) = percentiles(times);
    println!(
        "  name+birthdate     p50 {}  p99 {}  max {}  ({searches} searches, {:.1} hits each)",
        ms(p50),
        ms(p99),
        ms(max),
        found_total as f64 / searches.max(1) as f64
    );

    let mut times = Vec::with_capacity(searches);
    for _ in 0..searches {
        let v = &list.voters[rng.random_range(0..list.voters.len())];
        // A typed partial name in swapped order: "Hansen Jør".
        let first: String = v.first_names.chars().take(3).collect();
        let q = SearchQuery {
            name: format!("{} {first}", v.last_name),
            ..Default::default()
        };
        let t = Instant::now();
        store.search(&q, 50)?;
        times.push(t.elapsed());
    }
    let (p50, p99, max) = percentiles(times);
    println!(
        "  name only (partial) p50 {}  p99 {}  max {}  ({searches} searches)",
        ms(p50),
        ms(p99),
        ms(max)
    );
    Ok(())
}

fn bench_scan(voters: u64, scans: usize, dir: Option<PathBuf>) -> CmdResult {
    use crate::election::checkin::TableState;
    use crate::election::contest::Contest;
    use crate::table::core::{TableCore, TableIdentity};
    use crate::table::screen::View;

    let dir = match dir {
        Some(d) => d,
        None => tempdir()?,
    };
    std::fs::create_dir_all(&dir)?;
    let mut bytes = Vec::new();
    generate::write_list(&mut bytes, voters, 3, 1, generate::DEFAULT_CONTESTS)?;
    let store = import_list(&dir.join("bench-scan.db"), &bytes)?;
    let list = voter_list::parse(&bytes, |_| {}).map_err(|e| format!("{}", e[0]))?;
    let id = TableIdentity {
        election: "bench".into(),
        test: true,
        place: generate::place_id(0),
        table_no: 1,
        contests: vec![Contest::Kv, Contest::Rv],
        pin_hash: None,
        debounce: Duration::ZERO,
        trust: crate::election::event::Trust {
            election: "bench".into(),
            keys: None,
            allow_test: true,
        },
        clock_offset_ms: 0,
        printer: None,
        election_name: None,
        election_date: None,
        shares: Vec::new(),
    };
    let signals = std::sync::Arc::new(crate::signal::simulated::SimulatedSignals::default());
    let (mut core, _rx) = TableCore::new(
        store,
        crate::election::keys::DeviceSecret::generate(),
        id,
        signals,
    )
    .map_err(|e| e.to_string())?;
    core.set_state(TableState::Open, "")
        .map_err(|e| e.to_string())?;
    println!(
        "valgbord bench scan: {voters} voters, {scans} scans on a file database (WAL, synchronous=FULL)"
    );
    println!("  in this process, the table's core without HTTP:");
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut scan_times = Vec::with_capacity(scans);
    let mut confirm_times = Vec::with_capacity(scans);
    for _ in 0..scans {
        let v = &list.voters[rng.random_range(0..list.voters.len())];
        let t = Instant::now();
        let screen = core.scan(&v.card_code).map_err(|e| e.to_string())?;
        scan_times.push(t.elapsed());
        if matches!(screen.view, View::Pending { .. }) {
            let t = Instant::now();
            core.confirm().map_err(|e| e.to_string())?;
            confirm_times.push(t.elapsed());
        }
    }
    print_scan_confirm(scan_times, confirm_times);
    crate::bench_scan_http::run(&dir, &bytes, &list.voters, scans)?;
    Ok(())
}

/// Makes the configuration of table `t` of a benchmark polling place, its database
/// holding `bytes` as the list.
pub(crate) fn bench_table_config(
    dir: &std::path::Path,
    t: u32,
    bytes: &[u8],
    port: u16,
    sync_port: u16,
    peers: Vec<String>,
) -> Result<crate::table::config::TableConfig, crate::cli::Failure> {
    use crate::table::config::*;
    let db = dir.join(format!("sync-{t}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let mut store = Store::open(&db)?;
    store.bind("bench", crate::store::binding::Mode::Test)?;
    store
        .import_file(bytes, false, |_| {})
        .map_err(|e| format!("list does not import: {e:?}"))?;
    Ok(TableConfig {
        election: "bench".into(),
        mode: "test".into(),
        database: db,
        key: dir.join(format!("sync-{t}.key")),
        place: generate::place_id(0),
        table_no: t,
        contests: vec![
            crate::election::contest::Contest::Kv,
            crate::election::contest::Contest::Rv,
        ],
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        scanner: ScannerConfig::Simulated,
        signals: SignalsConfig::Simulated,
        pins: PinConfig::default(),
        api_scan: true,
        debounce_ms: 0,
        // Sync over mutual TLS on its own listener, as in an election.
        sync: SyncConfig {
            peers,
            listen: Some(std::net::SocketAddr::from(([127, 0, 0, 1], sync_port))),
            ..SyncConfig::default()
        },
        clock_offset_ms: 0,
        fast_bordvalg: Default::default(),
        printer: None,
        paper_list_dir: None,
        election_name: None,
        election_date: None,
    })
}

async fn bench_sync(
    tables: u32,
    checkins: usize,
    partition_events: usize,
    dir: Option<PathBuf>,
) -> CmdResult {
    use crate::election::checkin::TableState;
    use crate::table::daemon::{self, lock};
    use crate::table::screen::View;

    let dir = match dir {
        Some(d) => d,
        None => tempdir()?,
    };
    std::fs::create_dir_all(&dir)?;
    let voters = (checkins + partition_events) as u64 * 2 + 1_000;
    let mut bytes = Vec::new();
    generate::write_list(&mut bytes, voters, 11, 1, generate::DEFAULT_CONTESTS)?;
    let list = voter_list::parse(&bytes, |_| {}).map_err(|e| format!("{}", e[0]))?;
    let mut admissible = list
        .voters
        .iter()
        .filter(|v| !v.brevstemme && v.struck.is_none())
        .map(|v| v.card_code.clone());

    let ports: Vec<u16> = (0..=2 * tables + 1)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()?;
    // Screen ports first, then the TLS sync ports.
    let sync_port = |i: usize| ports[tables as usize + 1 + i];
    let url = |i: usize| format!("https://127.0.0.1:{}", sync_port(i));
    let all = tables as usize + 1; // the last one joins later, for the catch-up figure
    let mut running = Vec::new();
    for (i, &port) in ports.iter().enumerate().take(tables as usize) {
        let peers = (0..all).filter(|&j| j != i).map(url).collect();
        let cfg = bench_table_config(&dir, i as u32 + 1, &bytes, port, sync_port(i), peers)?;
        let t = daemon::start(cfg).await?;
        lock(&t.core)
            .set_state(TableState::Open, "")
            .map_err(|e| e.to_string())?;
        running.push(t);
    }
    println!("valgbord bench sync: {tables} tables on loopback, {checkins} check-ins");

    let mut per_table = Vec::new();
    let mut all_tables = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut done = 0i64;
    for _ in 0..checkins {
        let at = rng.random_range(0..running.len());
        let code = admissible.next().ok_or("list too small")?;
        let mut watchers: Vec<_> = running
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, t)| t.screen.clone())
            .collect();
        let core = running[at].core.clone();
        let t0 = Instant::now();
        let ok = tokio::task::spawn_blocking(move || {
            let mut c = lock(&core);
            let s = c.scan(&code)?;
            if matches!(s.view, View::Pending { .. }) {
                c.confirm()?;
                Ok::<bool, crate::table::core::TableError>(true)
            } else {
                Ok(false)
            }
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        if !ok {
            continue;
        }
        done += 1;
        let want = done;
        let mut slowest = Duration::ZERO;
        for w in watchers.iter_mut() {
            let deadline = tokio::time::timeout(
                Duration::from_secs(10),
                w.wait_for(|s| s.persons_checked_in >= want),
            )
            .await;
            if deadline.is_err() {
                return Err("a table did not see a check-in within 10 s"
                    .to_string()
                    .into());
            }
            let d = t0.elapsed();
            per_table.push(d);
            slowest = slowest.max(d);
        }
        all_tables.push(slowest);
    }
    let (p50, p99, max) = percentiles(per_table);
    println!(
        "  visible at another table   p50 {}  p99 {}  max {}",
        ms(p50),
        ms(p99),
        ms(max)
    );
    let (p50, p99, max) = percentiles(all_tables);
    println!(
        "  visible at every table     p50 {}  p99 {}  max {}",
        ms(p50),
        ms(p99),
        ms(max)
    );

    // Catch-up: events made while the last table is away, then it starts and pulls them.
    let core = running[0].core.clone();
    let codes: Vec<String> = admissible.by_ref().take(partition_events).collect();
    tokio::task::spawn_blocking(move || {
        // One lock per check-in, as at a real table, so peers' pulls interleave.
        for code in codes {
            let mut c = lock(&core);
            c.scan(&code)?;
            c.confirm()?;
        }
        Ok::<(), crate::table::core::TableError>(())
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let target = lock(&running[0].core).store().event_count()?;
    let i = tables as usize;
    let peers = (0..tables as usize).map(url).collect();
    let cfg = bench_table_config(&dir, i as u32 + 1, &bytes, ports[i], sync_port(i), peers)?;
    let t0 = Instant::now();
    let late = daemon::start(cfg).await?;
    let mut w = late.screen.clone();
    let expected = lock(&running[0].core)
        .store()
        .persons_checked_in(&generate::place_id(0))?;
    tokio::time::timeout(
        Duration::from_secs(60),
        w.wait_for(|s| s.persons_checked_in >= expected),
    )
    .await
    .map_err(|_| "the late table did not catch up within 60 s".to_string())?
    .map_err(|e| e.to_string())?;
    let caught = t0.elapsed();
    let have = lock(&late.core).store().event_count()?;
    println!(
        "  catch-up of a table away for {partition_events} check-ins: {:.0} ms ({have} of {target} events, start included)",
        caught.as_secs_f64() * 1000.0
    );
    Ok(())
}

pub(crate) fn tempdir() -> std::io::Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("valgbord-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
