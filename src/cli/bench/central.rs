//! `valgbord bench central`: the central tally under the load of a whole country.
//!
//! The central runs as the office runs it, `valgbord central --config` in a process of
//! its own (`central_proc`), on a real database with the whole voter list; simulated
//! tables (each with its own key and hash chain) push signed check-ins to its sync
//! listener over mutual TLS on 127.0.0.1, each table on a connection of its own as real
//! tables do (`central_tables`), one event per push as a table does at each
//! check-in, at a fixed rate (open loop, so a slow central shows as latency, not as a
//! politely slower client). Reported: the time for every table to connect (the TLS
//! handshakes), then sustained events/s and the latency of each push (verify + store +
//! answer) on the open connections, the sockets open at peak, the office's overview
//! over HTTP, the central's peak memory, and the bytes each event takes on disk. `--connections N` pushes instead through N shared plain-HTTP
//! connections (test mode), to compare.

use super::central_proc;
use super::central_pulls;
use super::central_tables;
use super::measure::spread;
use super::push_refusals::Trouble;
use crate::central::config::{CentralConfig, Role, TableEntry, UserEntry};
use crate::cli::failure::CmdResult;
use crate::election::clock::Hlc;
use crate::election::contest::Contest;
use crate::election::event::{
    self, CheckInMethod, EventBody, EventHash, EventKind, FORMAT_VERSION, SignedEvent,
};
use crate::election::keys::DeviceSecret;
use crate::store::Store;
use crate::store::generate;
use crate::store::meta::MetaKey;
use crate::sync::protocol::{Hello, PushRequest};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub struct Args {
    pub places: u32,
    pub tables: u32,
    pub voters: u64,
    pub events: usize,
    pub rate: u32,
    /// Shared plain-HTTP connections instead of one TLS connection per table.
    pub connections: Option<usize>,
    /// Leave out the tables' pulls (only with a connection per table).
    pub no_pulls: bool,
    pub dir: Option<PathBuf>,
}

/// One simulated table: its key, place and the signed events it will push, in order.
struct SimTable {
    key: DeviceSecret,
    events: Vec<SignedEvent>,
    /// The table's own client and connection (over TLS); `None` when tables share.
    http: Option<reqwest::Client>,
    /// When the table's last push ended: without pulls in between, its client drops
    /// the connection once idle for `CLIENT_IDLE_REUSE`.
    last: Option<Instant>,
    /// What its place's tables have pushed (its pulls say they have it), when it pulls.
    place_have: Option<central_pulls::PlaceHave>,
    /// Its events stored so far (the sequence number of the last).
    pushed: u64,
}

pub async fn run(a: Args) -> CmdResult {
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("valgbord-bench-central-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("central.db");
    crate::store::remove_scratch_database(&db);
    println!(
        "valgbord bench central: {} voters in {} polling places, {} tables, {} check-ins at {} events/s, {}",
        a.voters,
        a.places,
        a.tables,
        a.events,
        a.rate,
        match a.connections {
            Some(n) => format!("{n} shared plain-HTTP connections"),
            None => "each table on its own mutual-TLS connection".into(),
        }
    );
    let pulls = a.connections.is_none() && !a.no_pulls;
    if a.connections.is_none() {
        // A table's pull and push can be under way at once, each on a connection.
        central_tables::raise_open_files(a.tables, if pulls { 2 } else { 1 })?;
    }

    let (list_sha, by_place, list_size) = central_list(&db, &a)?;
    // Tables: spread over the places; each place's voters check in round-robin at its tables.
    let t = Instant::now();
    let tables = sim_tables(a.tables, a.places);
    let mut sims = make_events(&tables, &by_place, a.events);
    let total: usize = sims.iter().map(|s| s.events.len()).sum();
    println!(
        "  {total} events signed by {} tables in {:.1} s",
        sims.len(),
        t.elapsed().as_secs_f64()
    );

    let cfg = central_config(&dir, &db, &tables, a.connections.is_none())?;
    let central = central_proc::CentralProc::start(&dir, cfg)?;
    let mut sockets = central_tables::SocketPeak::start();
    let base = match central.sync {
        Some(sync) => {
            let key = crate::store::keyfile::load(&central.key)?.public();
            for s in sims.iter_mut() {
                s.http = Some(central_tables::table_client(&s.key, key)?);
            }
            let clients: Vec<_> = sims.iter().filter_map(|s| s.http.clone()).collect();
            central_tables::connect_all(&clients, sync).await?;
            let connected = Instant::now();
            for s in sims.iter_mut() {
                s.last = Some(connected);
            }
            sockets.sample();
            format!("https://{sync}")
        }
        None => central.office.clone(),
    };
    let (stop_pulls, pulling) = watch::channel(false);
    let pullers = if pulls {
        start_pulls(&mut sims, &tables, &base, &list_sha, pulling)
    } else {
        Vec::new()
    };
    let pushed = push_all(&a, &base, &list_sha, sims, total, &db).await;
    let _ = stop_pulls.send(true);
    let mut pulled = central_pulls::Pulls::default();
    for p in pullers {
        pulled.merge(p.await?);
    }
    let (latencies, trouble, elapsed, wal_max) = pushed?;
    let refused = trouble.failed.total();
    let office = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let stored = central.stored(&office).await?;
    print_pushes(
        latencies,
        &trouble,
        elapsed,
        stored,
        a.connections.is_none() && !pulls,
    );
    if pulls {
        print_pulls(pulled, elapsed);
    }
    let retried = trouble.retried.total();
    if retried > 0 {
        println!("  {retried} pushes sent again on a new connection (in their latency), after:");
        trouble.retried.print();
    }
    println!(
        "  largest write-ahead log during the pushes: {:.0} MB",
        wal_max as f64 / 1e6
    );
    println!(
        "  sockets open at peak in the bench's process: {} (the tables' ends of the connections)",
        sockets.peak()
    );
    final_figures(central, &office, &db, (list_size, stored)).await?;
    if refused > 0 {
        return Err(anyhow::anyhow!("{refused} pushes were refused"));
    }
    Ok(())
}

/// On-disk size of the database at `db` with its write-ahead log.
fn db_size(db: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", db.display())).ok())
        .map(|m| m.len())
        .sum()
}

/// The voters of the check-ins pushed, by polling place.
type ByPlace = std::collections::HashMap<String, Vec<String>>;

/// The whole list in the central's database, as on election morning: its SHA-256, the
/// in-person voters checked in by place, and the database's size.
fn central_list(db: &Path, a: &Args) -> anyhow::Result<(String, ByPlace, u64)> {
    let t = Instant::now();
    let mut bytes = Vec::new();
    generate::write_list(
        &mut bytes,
        a.voters,
        21,
        a.places,
        generate::DEFAULT_CONTESTS,
    )?;
    let mut store = Store::open(db)?;
    store.bind("bench", crate::store::binding::Mode::Test)?;
    store
        .import_file(&bytes, false, |_| {})
        .map_err(|e| anyhow::anyhow!("list does not import: {e:?}"))?;
    drop(bytes);
    let list_sha = store.meta(MetaKey::ListSha256)?.unwrap_or_default();
    // Voters who may vote in person, by place; each check-in is at a table of the place.
    let mut by_place: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (p, v) in store.in_person_voters(a.events)? {
        by_place.entry(p).or_default().push(v);
    }
    drop(store);
    let list_size = db_size(db);
    // The list is imported the day before; its gigabyte must not still be on its way
    // to the disk while the pushes are timed.
    std::fs::File::open(db)?.sync_all()?;
    println!(
        "  list generated and imported in {:.1} s ({:.0} MB)",
        t.elapsed().as_secs_f64(),
        list_size as f64 / 1e6
    );

    Ok((list_sha, by_place, list_size))
}

/// The simulated tables, spread over the places, each with a key of its own.
fn sim_tables(tables: u32, places: u32) -> Vec<(String, u32, DeviceSecret)> {
    let ids: Vec<String> = (0..places).map(generate::place_id).collect();
    let mut sims: Vec<(String, u32, DeviceSecret)> = Vec::new();
    for i in 0..tables {
        let place = ids[(i % places) as usize].clone();
        let no = i / places + 1;
        let mut seed = [0u8; 32];
        seed[..4].copy_from_slice(&i.to_le_bytes());
        seed[31] = 0xce;
        sims.push((place, no, DeviceSecret::from_seed(seed)));
    }
    sims
}

/// The central's configuration: every simulated table known, one reading user.
/// With `tls`, sync on a mutual-TLS listener of its own, as in an election.
fn central_config(
    dir: &Path,
    db: &Path,
    tables: &[(String, u32, DeviceSecret)],
    tls: bool,
) -> anyhow::Result<CentralConfig> {
    Ok(CentralConfig {
        election: "bench".into(),
        mode: crate::store::binding::Mode::Test,
        database: db.to_path_buf(),
        key: dir.join("central.key"),
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        tls_cert: None,
        tls_key: None,
        sync_listen: tls.then(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
        election_name: None,
        election_date: None,
        snapshots: Vec::new(),
        clock_offset_ms: 0,
        tables: tables
            .iter()
            .map(|(place, no, k)| TableEntry {
                place: place.clone(),
                table_no: *no,
                key: k.public().to_hex(),
                url: None,
            })
            .collect(),
        users: vec![UserEntry {
            name: central_proc::USER.0.into(),
            password: crate::password::hash_pin(central_proc::USER.1)?,
            role: Role::Read,
        }],
        centrals: Vec::new(),
        reserves: Vec::new(),
    })
}

/// Latencies of the pushes, why some were refused or sent again, how long they took, and the largest
/// write-ahead log seen meanwhile.
type Pushed = (Vec<Duration>, Trouble, Duration, u64);

/// Every simulated table's events pushed to the central at `base` at the asked rate.
async fn push_all(
    a: &Args,
    base: &str,
    list_sha: &str,
    sims: Vec<SimTable>,
    total: usize,
    db: &Path,
) -> anyhow::Result<Pushed> {
    // One worker per connection, each owning a share of the tables and pushing their
    // events in order (a table's pushes are sequential, as in the client): with a
    // connection per table, a worker per table.
    let workers = a.connections.unwrap_or(sims.len()).max(1);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(workers)
        .timeout(Duration::from_secs(30))
        .build()?;
    let mut shares: Vec<Vec<SimTable>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, s) in sims.into_iter().enumerate() {
        shares[i % workers].push(s);
    }
    // The WAL must stay bounded under pushes without pause (see the central's
    // checkpointer): its largest size is sampled and reported.
    let wal_path = PathBuf::from(format!("{}-wal", db.display()));
    let wal_max = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let wal_max = wal_max.clone();
        tokio::spawn(async move {
            loop {
                let n = std::fs::metadata(&wal_path).map_or(0, |m| m.len());
                wal_max.fetch_max(n, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, share) in shares.into_iter().enumerate() {
        // Each worker's share of the rate is its share of the events, so all finish
        // together and the total rate is the one asked for; the workers start spread
        // over their first interval, not all at once.
        let mine: usize = share.iter().map(|s| s.events.len()).sum();
        let per_worker = a.rate as f64 * mine as f64 / total.max(1) as f64;
        let phase = i as f64 / workers as f64 / per_worker.max(0.001);
        let http = http.clone();
        let url = format!("{base}/sync/v1/push");
        let hello = Hello::new(
            "bench".into(),
            list_sha.to_string(),
            crate::election::keys::DevicePublic([0; 32]),
            String::new(),
            0,
        );
        tasks.push(tokio::spawn(async move {
            push_share(http, url, hello, share, (per_worker, phase)).await
        }));
    }
    let mut latencies = Vec::new();
    let mut refused = Trouble::default();
    for t in tasks {
        let (l, r) = t.await?;
        latencies.extend(l);
        refused.merge(r);
    }
    let elapsed = started.elapsed();
    sampler.abort();
    Ok((
        latencies,
        refused,
        elapsed,
        wal_max.load(std::sync::atomic::Ordering::Relaxed),
    ))
}

/// The pushes' rate and latency, and why some failed; with `idle_counted`, how many
/// opened a new connection because their table had been idle.
fn print_pushes(
    latencies: Vec<Duration>,
    trouble: &Trouble,
    elapsed: Duration,
    stored: u64,
    idle_counted: bool,
) {
    let refused = trouble.failed.total();
    let sent = latencies.len();
    println!(
        "  sustained {:.0} events/s ({sent} pushes in {:.1} s; {refused} refused; {stored} events stored)",
        sent as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
    );
    println!("  push → verified and stored: {}", spread(latencies));
    if refused > 0 {
        println!("  refused or failed, by kind (× count, first text):");
        trouble.failed.print();
    }
    if idle_counted {
        println!(
            "  without pulls, {} of {sent} pushes opened a new connection (TLS handshake in their latency): their table had been idle over {} s, when a table's client lets its connection go",
            trouble.reconnected,
            crate::sync::tls::CLIENT_IDLE_REUSE.as_secs()
        );
    }
}

/// Every table pulls the central as a real table does (`central_pulls`), on its own
/// client, until `stop`; each says it has what its place's tables have pushed.
fn start_pulls(
    sims: &mut [SimTable],
    tables: &[(String, u32, DeviceSecret)],
    base: &str,
    list_sha: &str,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<central_pulls::Pulls>> {
    let mut at_place: std::collections::HashMap<&str, usize> = Default::default();
    for (place, _, _) in tables {
        *at_place.entry(place.as_str()).or_default() += 1;
    }
    let mut haves: std::collections::HashMap<&str, central_pulls::PlaceHave> = Default::default();
    let url = format!("{base}/sync/v1/pull");
    let n = sims.len().max(1);
    let mut tasks = Vec::new();
    for (i, (s, (place, no, _))) in sims.iter_mut().zip(tables).enumerate() {
        let Some(http) = s.http.clone() else { continue };
        let have = haves.entry(place.as_str()).or_default().clone();
        s.place_have = Some(have.clone());
        let hello = Hello::new(
            "bench".into(),
            list_sha.to_string(),
            s.key.public(),
            place.clone(),
            *no,
        );
        let puller = central_pulls::Puller {
            http,
            key: s.key.clone(),
            hello,
            have,
            every: central_pulls::every(at_place.get(place.as_str()).copied().unwrap_or(1)),
            phase: i as f64 / n as f64,
        };
        tasks.push(tokio::spawn(central_pulls::run(
            puller,
            url.clone(),
            stop.clone(),
        )));
    }
    tasks
}

fn print_pulls(pulled: central_pulls::Pulls, elapsed: Duration) {
    let n = pulled.latencies.len();
    println!(
        "  pulls, as real tables pull the central in their rounds: {n} ({:.0}/s), each from when due {}; {} events sent back",
        n as f64 / elapsed.as_secs_f64().max(0.001),
        spread(pulled.latencies),
        pulled.events_back
    );
    if pulled.failed.total() > 0 {
        println!("  pulls failed, by kind (× count, first text):");
        pulled.failed.print();
    }
}

/// After the pushes: the office's overview time (over HTTP, as its dashboard reads
/// it), the central's memory (its own process), and the database's size per event once
/// the central has stopped and checkpointed its WAL.
async fn final_figures(
    central: central_proc::CentralProc,
    office: &reqwest::Client,
    db: &Path,
    (list_size, stored): (u64, u64),
) -> CmdResult {
    let (first, then, places, percent) = central.overview(office).await?;
    println!(
        "  overview of {places} places read over HTTP in {:.0} ms the first time, then {:.0} ms (turnout {percent:.1} %)",
        first.as_secs_f64() * 1000.0,
        then.as_secs_f64() * 1000.0,
    );
    let started = central.started_kib;
    let peak = central.stop()?;
    println!(
        "  the central's peak memory (its own process, VmHWM): {} after start with the list, {} after the pushes",
        super::proc::mb(started),
        super::proc::mb(peak),
    );
    // The central checkpoints and removes its WAL when it closes; if a connection of
    // its was still open at exit, this does it.
    if !Store::open(db)?.checkpoint_truncate()? {
        println!("  (the final checkpoint stayed busy: the size below includes the WAL)");
    }
    let size = db_size(db);
    println!(
        "  database {:.0} MB; {:.0} bytes on disk per event stored (event, signature, hash, indexes and projections)",
        size as f64 / 1e6,
        size.saturating_sub(list_size) as f64 / stored.max(1) as f64
    );
    Ok(())
}

/// Each table opens, then checks in its share of its place's voters; events are signed
/// here, before the clock starts, on every core.
fn make_events(
    tables: &[(String, u32, DeviceSecret)],
    by_place: &std::collections::HashMap<String, Vec<String>>,
    events: usize,
) -> Vec<SimTable> {
    let mut per_place_tables: std::collections::HashMap<&str, Vec<usize>> = Default::default();
    for (i, (p, _, _)) in tables.iter().enumerate() {
        per_place_tables.entry(p.as_str()).or_default().push(i);
    }
    let mut assigned: Vec<Vec<String>> = vec![Vec::new(); tables.len()];
    let mut n = 0;
    for (place, voters) in by_place {
        let Some(ts) = per_place_tables.get(place.as_str()) else {
            continue;
        };
        for (j, v) in voters.iter().enumerate() {
            if n >= events {
                break;
            }
            assigned[ts[j % ts.len()]].push(v.clone());
            n += 1;
        }
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = tables.len().div_ceil(threads).max(1);
    let now = crate::store::now_ms();
    std::thread::scope(|s| {
        let handles: Vec<_> = tables
            .chunks(chunk)
            .zip(assigned.chunks(chunk))
            .map(|(ts, vs)| {
                s.spawn(move || {
                    ts.iter()
                        .zip(vs)
                        .map(|((place, no, key), voters)| SimTable {
                            key: key.clone(),
                            events: chain(key, place, *no, voters, now),
                            http: None,
                            last: None,
                            place_have: None,
                            pushed: 0,
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn chain(
    key: &DeviceSecret,
    place: &str,
    no: u32,
    voters: &[String],
    now: i64,
) -> Vec<SignedEvent> {
    let mut prev = EventHash::default();
    let mut out = Vec::with_capacity(voters.len() + 1);
    let opened = EventKind::TableOpened {
        place: place.into(),
        table_no: no,
    };
    let kinds = std::iter::once(opened).chain(voters.iter().map(|v| EventKind::CheckIn {
        voter_id: v.clone(),
        place: place.into(),
        table_no: no,
        card_code: None,
        method: CheckInMethod::Card,
        ballots: vec![Contest::Kv, Contest::Rv],
    }));
    for (i, kind) in kinds.enumerate() {
        let wall = now + i as i64;
        let body = EventBody {
            v: FORMAT_VERSION,
            election: "bench".into(),
            device: key.public(),
            seq: i as u64 + 1,
            hlc: Hlc::new(wall as u64, 0),
            wall_ms: wall,
            prev,
            test: true,
            kind,
            by: None,
        };
        let ev = event::sign(&body, key);
        prev = ev.hash;
        out.push(ev.signed);
    }
    out
}

/// Whether a push of one event stored it, and if not why (a refusal, the central's
/// answer, or what broke the request).
/// `again`: the push was sent before, so a duplicate means stored.
async fn push_answer(r: reqwest::Result<reqwest::Response>, again: bool) -> Result<(), String> {
    let r = r.map_err(|e| format!("request failed: {}", crate::sync::tls::error_chain(&e)))?;
    let status = r.status();
    if !status.is_success() {
        let text = r.text().await.unwrap_or_default();
        return Err(format!("HTTP {status}: {}", text.trim()));
    }
    match r.json::<crate::sync::protocol::PushResponse>().await {
        Ok(p) if p.added == 1 || (again && p.duplicates == 1) => Ok(()),
        Ok(p) if p.duplicates == 1 => Err("stored already (duplicate)".into()),
        Ok(p) => Err(format!("rejected: {}", p.rejected.join("; "))),
        Err(e) => Err(format!("answer unreadable: {e}")),
    }
}

/// Pushes a share of the tables' events, one per request, at `rate` per second from
/// `phase` seconds on (open loop: each push is due at its time whether or not the
/// previous one was slow, and its latency counts from when it was due), each table on
/// its own client if it has one, else on `http`. Returns latencies and why pushes were
/// refused or sent again.
async fn push_share(
    http: reqwest::Client,
    url: String,
    hello: Hello,
    mut share: Vec<SimTable>,
    (rate, phase): (f64, f64),
) -> (Vec<Duration>, Trouble) {
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let start = tokio::time::Instant::now() + Duration::from_secs_f64(phase);
    let mut latencies = Vec::new();
    let mut trouble = Trouble::default();
    // Round-robin over the tables, each in its own order.
    for s in share.iter_mut() {
        s.events.reverse();
    }
    let mut k = 0u32;
    loop {
        let mut any = false;
        for s in share.iter_mut() {
            let Some(ev) = s.events.pop() else { continue };
            any = true;
            let due = start + interval * k;
            k += 1;
            tokio::time::sleep_until(due).await;
            let mut h = hello.clone();
            h.device = s.key.public();
            let http = s.http.as_ref().unwrap_or(&http);
            let send = || {
                // Stamped and signed anew for each try, as the table's client does: the
                // central refuses a nonce it has seen.
                let req = PushRequest {
                    hello: h.clone(),
                    events: vec![ev.clone()],
                    stamp: crate::sync::replay::Stamp::new(crate::store::now_ms(), 0).ok(),
                };
                central_tables::signed_post(http, &url, &s.key, &req).send()
            };
            // A table that pulls uses its connection every few seconds at most.
            let idle = s.place_have.is_none()
                && s.last
                    .is_some_and(|at| at.elapsed() > crate::sync::tls::CLIENT_IDLE_REUSE);
            if idle {
                trouble.reconnected += 1;
            }
            let mut r = send().await;
            // The connection broke before an answer: most often the central closed it
            // for being idle (`http_limits::HEADER_READ_TIMEOUT`) just as the push went
            // out on it. Sent once more on a new connection; a push is idempotent (a
            // second copy is answered as a duplicate, which counts as stored).
            let again = matches!(&r, Err(e) if !e.is_timeout());
            if again {
                if let Err(e) = &r {
                    trouble.retried.add(crate::sync::tls::error_chain(e));
                }
                r = send().await;
            }
            latencies.push(due.elapsed());
            match push_answer(r, again).await {
                Ok(()) => {
                    s.pushed += 1;
                    if let Some(have) = &s.place_have {
                        if let Ok(mut h) = have.lock() {
                            h.insert(s.key.public(), s.pushed);
                        }
                    }
                }
                Err(why) => trouble.failed.add(why),
            }
            if s.last.is_some() {
                s.last = Some(Instant::now());
            }
        }
        if !any {
            break;
        }
    }
    (latencies, trouble)
}
