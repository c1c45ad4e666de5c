//! `valgbord bench …`: performance figures, printed. Benchmarks measure; tests do not
//! time anything.

use crate::cli::CmdResult;
use crate::store::Store;
use crate::store::generate;
use crate::store::import;
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
    /// Scan → verdict and confirm → durable check-in latency at one table.
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

fn ms(d: Duration) -> String {
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
    println!("valgbord bench list: {voters} voters");

    let t = Instant::now();
    let f = std::fs::File::create(&file)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    generate::write_list(&mut w, voters, 1, 10, generate::DEFAULT_CONTESTS)?;
    std::io::Write::flush(&mut w)?;
    drop(w);
    let gen_time = t.elapsed();

    let t = Instant::now();
    let bytes = std::fs::read(&file)?;
    let mut store = Store::open(&db)?;
    store.bind("bench", crate::store::binding::Mode::Test)?;
    store
        .import_file(&bytes, false, |_| {})
        .map_err(|e| format!("generated list does not import: {e:?}"))?;
    let import_time = t.elapsed();
    let list = import::parse(&bytes, |_| {})
        .map_err(|e| format!("generated list does not parse: {}", e[0]))?;
    println!("  generate           {:>8.2} s", gen_time.as_secs_f64());
    println!("  import (check+write){:>7.2} s", import_time.as_secs_f64());
    println!(
        "  generate + import  {:>8.2} s",
        (gen_time + import_time).as_secs_f64()
    );

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
    let db = dir.join("bench-scan.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let mut bytes = Vec::new();
    generate::write_list(&mut bytes, voters, 3, 1, generate::DEFAULT_CONTESTS)?;
    let mut store = Store::open(&db)?;
    store.bind("bench", crate::store::binding::Mode::Test)?;
    store
        .import_file(&bytes, false, |_| {})
        .map_err(|e| format!("list does not import: {e:?}"))?;
    let list = import::parse(&bytes, |_| {}).map_err(|e| format!("{}", e[0]))?;
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
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut scan_times = Vec::with_capacity(scans);
    let mut confirm_times = Vec::with_capacity(scans);
    let mut admitted = 0usize;
    for _ in 0..scans {
        let v = &list.voters[rng.random_range(0..list.voters.len())];
        let t = Instant::now();
        let screen = core.scan(&v.card_code).map_err(|e| e.to_string())?;
        scan_times.push(t.elapsed());
        if matches!(screen.view, View::Pending { .. }) {
            let t = Instant::now();
            core.confirm().map_err(|e| e.to_string())?;
            confirm_times.push(t.elapsed());
            admitted += 1;
        }
    }
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
    Ok(())
}

fn tempdir() -> std::io::Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("valgbord-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
