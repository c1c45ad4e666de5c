//! `valgbord bench sync`: cross-table visibility and catch-up with real table daemons
//! syncing over TLS on loopback: with every table checking in at the evening peak
//! (`sync_peak`), or one check-in at a time on idle tables (`--idle`).

use super::measure::{ms, spread_by};
use super::setup::{bench_table_config, tempdir};
use crate::app::table::RunningTable;
use crate::cli::failure::CmdResult;
use crate::election::checkin::TableState;
use crate::election::voter_list;
use crate::store::generate;
use crate::table::config::TableConfig;
use crate::table::shared::lock;
use anyhow::Context;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What `bench sync` is asked to do.
#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 10)]
    pub tables: u32,
    #[arg(long, default_value_t = 300)]
    pub checkins: usize,
    /// Events made while one table is away, then caught up.
    #[arg(long, default_value_t = 2_000)]
    pub partition_events: usize,
    /// One check-in at a time on idle tables instead (the earlier measurement).
    #[arg(long)]
    pub idle: bool,
    /// Check-ins an hour at each table instead of the evening peak's (about 328).
    #[arg(long)]
    pub per_hour: Option<f64>,
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

pub async fn run(a: Args) -> CmdResult {
    let Args {
        tables,
        checkins,
        partition_events,
        dir,
        ..
    } = a;
    let dir = match dir {
        Some(d) => d,
        None => tempdir()?,
    };
    std::fs::create_dir_all(&dir)?;
    let voters = (checkins + partition_events) as u64 * 2 + 1_000;
    let mut bytes = Vec::new();
    generate::write_list(&mut bytes, voters, 11, 1, generate::DEFAULT_CONTESTS)?;
    let list = voter_list::parse(&bytes, |_| {}).map_err(|e| anyhow::anyhow!("{}", e[0]))?;
    let mut admissible = list
        .voters
        .iter()
        .filter(|v| !v.brevstemme && v.struck.is_none())
        .map(|v| (v.id.clone(), v.card_code.clone()));

    let ports = crate::ports::ports(0, 2 * tables + 2)?;
    // Screen ports first, then the TLS sync ports.
    let sync_port = |i: usize| ports[tables as usize + 1 + i];
    let url = |i: usize| format!("https://127.0.0.1:{}", sync_port(i));
    let all = tables as usize + 1; // the last one joins later, for the catch-up figure
    let mut running = Vec::new();
    let mut dbs = Vec::new();
    for (i, &port) in ports.iter().enumerate().take(tables as usize) {
        let peers = (0..all).filter(|&j| j != i).map(url).collect();
        let cfg = bench_table_config(&dir, i as u32 + 1, &bytes, port, sync_port(i), peers)?;
        dbs.push(cfg.database.clone());
        let t = crate::app::table::start(cfg).await?;
        lock(&t.core).set_state(TableState::Open, "")?;
        running.push(t);
    }
    println!("valgbord bench sync: {tables} tables on loopback, {checkins} check-ins");
    if a.idle {
        idle(&running, &mut admissible, checkins).await?;
    } else {
        let voters = admissible.by_ref().take(checkins).collect();
        let per_hour = a.per_hour.unwrap_or_else(super::sync_peak::peak_per_hour);
        super::sync_peak::run(&running, &dbs, voters, per_hour).await?;
    }

    // Catch-up: events made while the last table is away, then it starts and pulls them.
    let i = tables as usize;
    let peers = (0..tables as usize).map(url).collect();
    let late = bench_table_config(&dir, i as u32 + 1, &bytes, ports[i], sync_port(i), peers)?;
    let mut codes = admissible.map(|(_, code)| code);
    catch_up(&running, &mut codes, partition_events, late).await?;
    Ok(())
}

/// One check-in at a time on idle tables, each timed until the other tables' screens
/// count it.
async fn idle(
    running: &[RunningTable],
    admissible: &mut impl Iterator<Item = (String, String)>,
    checkins: usize,
) -> CmdResult {
    let mut codes = admissible.map(|(_, code)| code);
    let (per_table, all_tables) = visibility(running, &mut codes, checkins).await?;
    println!(
        "  idle, visible at another table   {}",
        spread_by(per_table, ms)
    );
    println!(
        "  idle, visible at every table     {}",
        spread_by(all_tables, ms)
    );
    Ok(())
}

/// Each check-in at a table picked at random, timed until the other tables' screens
/// count it: per table, and until the last of them.
async fn visibility(
    running: &[RunningTable],
    admissible: &mut impl Iterator<Item = String>,
    checkins: usize,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let mut per_table = Vec::new();
    let mut all_tables = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut done = 0i64;
    for _ in 0..checkins {
        let at = rng.random_range(0..running.len());
        let code = admissible.next().context("list too small")?;
        let mut watchers: Vec<_> = running
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, t)| t.screen.clone())
            .collect();
        let core = running[at].core.clone();
        let t0 = Instant::now();
        if !super::sync_peak::check_in(core, code).await? {
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
                return Err(anyhow::anyhow!(
                    "a table did not see a check-in within 10 s"
                ));
            }
            let d = t0.elapsed();
            per_table.push(d);
            slowest = slowest.max(d);
        }
        all_tables.push(slowest);
    }
    Ok((per_table, all_tables))
}

/// Check-ins made at table 1 while the late table is away; then it starts (`late`) and
/// is timed until it holds them.
async fn catch_up(
    running: &[RunningTable],
    admissible: &mut impl Iterator<Item = String>,
    partition_events: usize,
    cfg: TableConfig,
) -> CmdResult {
    let core = running[0].core.clone();
    let codes: Vec<String> = admissible.take(partition_events).collect();
    tokio::task::spawn_blocking(move || {
        // One lock per check-in, as at a real table, so peers' pulls interleave.
        for code in codes {
            let mut c = lock(&core);
            c.scan(&code)?;
            c.confirm()?;
        }
        Ok::<(), crate::table::core::TableError>(())
    })
    .await??;
    let target = lock(&running[0].core).store().event_count()?;
    let t0 = Instant::now();
    let late = crate::app::table::start(cfg).await?;
    let mut w = late.screen.clone();
    let expected = lock(&running[0].core)
        .store()
        .persons_checked_in(&generate::place_id(0))?;
    tokio::time::timeout(
        Duration::from_secs(60),
        w.wait_for(|s| s.persons_checked_in >= expected),
    )
    .await
    .map_err(|_| "the late table did not catch up within 60 s".to_string())
    .map_err(anyhow::Error::msg)??;
    let caught = t0.elapsed();
    let have = lock(&late.core).store().event_count()?;
    println!(
        "  catch-up of a table away for {partition_events} check-ins: {:.0} ms ({have} of {target} events, start included)",
        caught.as_secs_f64() * 1000.0
    );
    Ok(())
}
