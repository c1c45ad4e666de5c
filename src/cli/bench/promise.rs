//! `valgbord bench promise`: the one promise a digital valgliste exists for, measured
//! under the network a polling place really has. Every table checks voters in at once;
//! for each check-in, the time from "confirmed at table A" until the same voter would
//! be refused at another table B (B's database holds the check-in), under each
//! condition: healthy; the central's WAN dropping every packet; the central accepting
//! connections and never answering; one table's network cut; a host flooding every
//! table's sync port; a slow, lossy WAN to the central.
//!
//! The tables and the central run in this process, each device on an address of its
//! own in a network namespace the bench makes (so it needs root), and the faults are
//! real: nftables drops packets, a proxy stalls or delays the central's bytes, and a
//! flooder opens connections from its own address. What it leaves out: the screen's
//! HTTP and the browser (a check-in is the table's own scan + confirm), the scanner, and
//! a second machine (the flooder and the tables share the same two cores).

use crate::app::table::RunningTable;
use crate::central::config::{CentralConfig, TableEntry};
use crate::cli::failure::CmdResult;
use crate::election::checkin::TableState;
use crate::election::voter_list;
use crate::netfault::{firewall::Firewall, flood::Flood, proxy::Behaviour, proxy::FaultProxy};
use crate::store::inspect::Watcher;
use crate::store::{generate, keyfile};
use crate::table::screen::View;
use crate::table::shared::lock;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Condition {
    Healthy,
    /// Every packet to the central's address dropped (its WAN is down).
    CentralDropped,
    /// The central accepts connections and never answers (a frozen process).
    CentralSilent,
    /// The last table's network cut while its process lives on.
    TableCut,
    /// 500 connections held open without a byte on every table's sync port.
    Flood,
    /// 300 ms each way and 5 % packet loss between the tables and the central.
    SlowWan,
}

impl Condition {
    pub const ALL: [Condition; 6] = [
        Condition::Healthy,
        Condition::CentralDropped,
        Condition::CentralSilent,
        Condition::TableCut,
        Condition::Flood,
        Condition::SlowWan,
    ];

    fn describe(self) -> &'static str {
        match self {
            Condition::Healthy => "healthy",
            Condition::CentralDropped => "central: every packet dropped",
            Condition::CentralSilent => "central: accepts, never answers",
            Condition::TableCut => "one table's network cut",
            Condition::Flood => "flood: 500 half-open per table",
            Condition::SlowWan => "central: 300 ms + 5 % loss",
        }
    }
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 10)]
    pub tables: u32,
    #[arg(long, default_value_t = 25_000)]
    pub voters: u64,
    /// Measured seconds per condition.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Check-ins per second at every table.
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Condition::ALL)]
    pub conditions: Vec<Condition>,
    /// Work directory (a temporary one when not given).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// The address of table `i` (0-based), of the central as the tables reach it (the
/// proxy), of the central itself, and of the flooding host.
fn table_ip(i: usize) -> IpAddr {
    IpAddr::from([127, 0, 1, i as u8 + 1])
}
const CENTRAL_FRONT: [u8; 4] = [127, 0, 2, 1];
const CENTRAL_BACK: [u8; 4] = [127, 0, 2, 9];
const FLOODER: [u8; 4] = [127, 0, 3, 1];
const SYNC_PORT: u16 = 8443;
const CENTRAL_PORT: u16 = 8090;
/// How often B's database is asked whether it holds the check-in: the figures are at
/// most this much late.
const POLL: Duration = Duration::from_millis(2);
/// A check-in not visible by then counts as this long (and is counted apart).
const GIVE_UP: Duration = Duration::from_secs(10);

/// Enters a network namespace of its own (before any thread starts), then runs.
pub fn run(args: Args) -> CmdResult {
    crate::netfault::namespace::enter_private()?;
    crate::netfault::namespace::raise_file_limit();
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(run_async(args))
}

/// One check-in to watch: its voter, where it was confirmed and when, and where to look.
struct Watch {
    voter_id: String,
    at: usize,
    confirmed: Instant,
    look_at: usize,
}

#[derive(Default)]
struct Samples {
    visible: Vec<Duration>,
    not_seen: usize,
}

async fn run_async(args: Args) -> CmdResult {
    let dir = match args.dir {
        Some(d) => d,
        None => super::setup::tempdir()?,
    };
    std::fs::create_dir_all(&dir)?;
    let n = args.tables.max(2) as usize;
    let mut bytes = Vec::new();
    generate::write_list(&mut bytes, args.voters, 13, 1, generate::DEFAULT_CONTESTS)?;
    let list = voter_list::parse(&bytes, |_| {}).map_err(|e| anyhow::anyhow!("{}", e[0]))?;
    let queue: VecDeque<(String, String)> = list
        .voters
        .iter()
        .filter(|v| !v.brevstemme && v.struck.is_none())
        .map(|v| (v.card_code.clone(), v.id.clone()))
        .collect();
    let queue = Arc::new(Mutex::new(queue));

    // The central: a real one, behind a proxy that plays its WAN.
    let central_db = dir.join("central.db");
    super::setup::import_list(&central_db, &bytes)?;
    let central = crate::app::central::start(central_config(&dir, central_db, n)?).await?;
    let proxy = FaultProxy::start(
        SocketAddr::from((CENTRAL_FRONT, CENTRAL_PORT)),
        central.addr,
    )
    .await?;
    let central_url = format!("http://{}", proxy.addr);

    let sync_addr = |i: usize| SocketAddr::new(table_ip(i), SYNC_PORT);
    let mut tables: Vec<RunningTable> = Vec::new();
    let mut dbs = Vec::new();
    for i in 0..n {
        let peers = (0..n)
            .filter(|&j| j != i)
            .map(|j| format!("https://{}", sync_addr(j)))
            .collect();
        let mut cfg = super::setup::bench_table_config(&dir, i as u32 + 1, &bytes, 0, 0, peers)?;
        cfg.sync.listen = Some(sync_addr(i));
        cfg.sync.central = vec![central_url.clone()];
        dbs.push(cfg.database.clone());
        let t = crate::app::table::start(cfg).await?;
        lock(&t.core).set_state(TableState::Open, "")?;
        tables.push(t);
    }
    let tables = Arc::new(tables);
    let firewall = Firewall::new("bench")?;
    println!(
        "valgbord bench promise: {n} tables + the central in a network namespace of their own, {} voters, {} check-ins/s at every table, {} s per condition",
        args.voters, args.rate, args.seconds
    );
    println!(
        "  confirmed at table A -> refused at table B (B's database holds it; polled every {} ms)",
        POLL.as_millis()
    );

    for condition in args.conditions {
        // Start from a whole network where every table holds every event.
        firewall.heal()?;
        proxy.set(Behaviour::Pass);
        converge(&dbs, Duration::from_secs(60)).await?;
        let cut = (condition == Condition::TableCut).then_some(n - 1);
        let flood = impose(condition, &firewall, &proxy, n)?;
        // Let the fault take hold (pulls to the central hang, the cut table is lost)
        // before measuring: the worst moment is while it is in force, not as it begins.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let cpu0 = cpu_seconds();
        let wall0 = Instant::now();
        let samples = measure(&tables, &dbs, &queue, cut, args.rate, args.seconds).await?;
        let cpu = cpu_seconds() - cpu0;
        let reported = if condition == Condition::Flood {
            let shown = tables
                .iter()
                .filter(|t| t.screen.borrow().status.sync_flood.is_some())
                .count();
            format!(", flood on {shown} of {n} status bars")
        } else {
            String::new()
        };
        drop(flood);
        let count = samples.visible.len();
        let (p50, p99, max) = super::measure::percentiles(samples.visible);
        println!(
            "  {:<34} p50 {:>7}  p99 {:>7}  max {:>7}  (n={count}, not seen in {} s: {}, CPU {:.0} %{reported})",
            condition.describe(),
            super::measure::ms(p50),
            super::measure::ms(p99),
            super::measure::ms(max),
            GIVE_UP.as_secs(),
            samples.not_seen,
            100.0 * cpu / wall0.elapsed().as_secs_f64()
        );
    }
    firewall.heal()?;
    drop(central);
    Ok(())
}

/// The central's configuration: the bench's tables known by their keys, one user.
fn central_config(dir: &Path, central_db: PathBuf, n: usize) -> anyhow::Result<CentralConfig> {
    let keys: Vec<String> = (0..n)
        .map(|i| {
            keyfile::load_or_create(&dir.join(format!("sync-{}.key", i + 1)))
                .map(|k| k.public().to_hex())
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    Ok(CentralConfig {
        election: "bench".into(),
        mode: crate::store::binding::Mode::Test,
        database: central_db,
        key: dir.join("central.key"),
        listen: SocketAddr::from((CENTRAL_BACK, CENTRAL_PORT)),
        tls_cert: None,
        tls_key: None,
        sync_listen: None,
        election_name: None,
        election_date: None,
        snapshots: Vec::new(),
        clock_offset_ms: 0,
        tables: keys
            .iter()
            .enumerate()
            .map(|(i, key)| TableEntry {
                place: generate::place_id(0),
                table_no: i as u32 + 1,
                key: key.clone(),
                url: None,
            })
            .collect(),
        // Nobody logs in; the central wants a user all the same.
        users: vec![crate::central::config::UserEntry {
            name: "bench".into(),
            password: crate::password::hash_pin("bench")?,
            role: crate::central::config::Role::Read,
        }],
        centrals: Vec::new(),
        reserves: Vec::new(),
    })
}

/// Puts `condition` in force on the network; the flooder, when it is the flood, is
/// held until dropped.
fn impose(
    condition: Condition,
    firewall: &Firewall,
    proxy: &FaultProxy,
    n: usize,
) -> anyhow::Result<Option<Flood>> {
    match condition {
        Condition::Healthy => {}
        Condition::CentralDropped => firewall.drop_to(IpAddr::from(CENTRAL_FRONT))?,
        Condition::CentralSilent => proxy.set(Behaviour::Stall),
        Condition::TableCut => firewall.cut(table_ip(n - 1))?,
        Condition::Flood => {
            let targets: Vec<SocketAddr> = (0..n)
                .map(|i| SocketAddr::new(table_ip(i), SYNC_PORT))
                .collect();
            return Ok(Some(Flood::start(IpAddr::from(FLOODER), &targets, 500)));
        }
        Condition::SlowWan => {
            proxy.set(Behaviour::Delay(Duration::from_millis(300)));
            firewall.lossy(IpAddr::from(CENTRAL_FRONT), 5)?;
        }
    }
    Ok(None)
}

/// Every table checks voters in at `rate` a second for `seconds`; each check-in is
/// watched at a random other table.
async fn measure(
    tables: &Arc<Vec<RunningTable>>,
    dbs: &[PathBuf],
    queue: &Arc<Mutex<VecDeque<(String, String)>>>,
    cut: Option<usize>,
    rate: f64,
    seconds: u64,
) -> anyhow::Result<Samples> {
    let n = tables.len();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Watch>();
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut load = tokio::task::JoinSet::new();
    for at in (0..n).filter(|&i| Some(i) != cut) {
        let (tables, queue, tx) = (tables.clone(), queue.clone(), tx.clone());
        let live: Vec<usize> = (0..n).filter(|&j| j != at && Some(j) != cut).collect();
        load.spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(at as u64);
            let period = Duration::from_secs_f64(1.0 / rate.max(0.01));
            // Tables out of step, as at a polling place.
            tokio::time::sleep(period.mul_f64(rng.random_range(0.0..1.0))).await;
            let mut tick = tokio::time::interval(period);
            while Instant::now() < end {
                tick.tick().await;
                let Some((code, voter_id)) = queue.lock().ok().and_then(|mut q| q.pop_front())
                else {
                    return Err(anyhow::anyhow!(
                        "the voter list ran out; give more --voters"
                    ));
                };
                let core = tables[at].core.clone();
                let admitted = tokio::task::spawn_blocking(move || {
                    let mut c = lock(&core);
                    let s = c.scan(&code)?;
                    if !matches!(s.view, View::Pending { .. }) {
                        return Ok(false);
                    }
                    c.confirm()?;
                    Ok::<bool, anyhow::Error>(true)
                })
                .await??;
                if admitted {
                    let look_at = live[rng.random_range(0..live.len())];
                    let _ = tx.send(Watch {
                        voter_id,
                        at,
                        confirmed: Instant::now(),
                        look_at,
                    });
                }
            }
            Ok(())
        });
    }
    drop(tx);
    let mut watches = tokio::task::JoinSet::new();
    while let Some(w) = rx.recv().await {
        let db = dbs[w.look_at].clone();
        debug_assert_ne!(w.at, w.look_at);
        watches.spawn_blocking(move || visible_after(&db, &w));
    }
    while let Some(r) = load.join_next().await {
        r?.map_err(anyhow::Error::msg)?;
    }
    let mut samples = Samples::default();
    while let Some(r) = watches.join_next().await {
        match r? {
            Some(d) => samples.visible.push(d),
            None => {
                samples.not_seen += 1;
                samples.visible.push(GIVE_UP);
            }
        }
    }
    Ok(samples)
}

/// How long after its confirm B's database held the check-in; `None` past [`GIVE_UP`].
fn visible_after(db: &Path, w: &Watch) -> Option<Duration> {
    let watcher = Watcher::open(db).ok()?;
    loop {
        let held = watcher.holds_checkin(&w.voter_id).unwrap_or(false);
        let elapsed = w.confirmed.elapsed();
        if held {
            return Some(elapsed);
        }
        if elapsed > GIVE_UP {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// Waits until every table holds the same number of events (after a fault, the cut
/// table has caught up).
async fn converge(dbs: &[PathBuf], within: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let dbs = dbs.to_vec();
        let counts = tokio::task::spawn_blocking(move || {
            dbs.iter()
                .map(|db| {
                    Watcher::open(db)
                        .and_then(|w| w.event_count())
                        .unwrap_or(-1i64)
                })
                .collect::<Vec<i64>>()
        })
        .await?;
        if counts.windows(2).all(|w| w[0] == w[1]) && counts[0] >= 0 {
            return Ok(());
        }
        if started.elapsed() > within {
            return Err(anyhow::anyhow!(
                "the tables did not converge within {within:?}: events {counts:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// CPU seconds this process has used (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name;
    // Linux counts them in 1/100 s (USER_HZ).
    (ticks(11) + ticks(12)) / 100.0
}
