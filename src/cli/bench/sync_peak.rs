//! `valgbord bench sync` under the evening peak: every table checks voters in at the
//! rate of a busy polling place's busiest hour, all at once, while each check-in is
//! watched at another table. Idle tables (one check-in at a time) flatter the sync: at
//! the peak each table also ingests, rebuilds its screen for and answers pulls about
//! the others' check-ins.

use super::measure::{ms, spread_by};
use crate::app::table::RunningTable;
use crate::store::inspect::Watcher;
use crate::table::screen::View;
use crate::table::shared::lock;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Voters a busy table checks in in a day (`bench scan`'s day is 3,000 scans).
pub const BUSY_TABLE_DAY: f64 = 3_000.0;
/// The hourly curve's peak (16:00–19:30, `rehearsal::day`): 7 % of the electorate an
/// hour, of the 64 % who vote in person in the day.
pub const PEAK_SHARE: f64 = 0.07 / 0.64;

/// Check-ins an hour at one table in the evening peak: 3,000 × 7/64 ≈ 328.
pub fn peak_per_hour() -> f64 {
    BUSY_TABLE_DAY * PEAK_SHARE
}

/// How long a watcher waits for a check-in to show before calling the run failed.
const WITHIN: Duration = Duration::from_secs(10);
/// How often another table's database is looked at.
const POLL: Duration = Duration::from_millis(2);

/// What is watched for one check-in: from the start of its scan at table A until B's
/// database holds it and until B's screen counts it.
type Seen = (Duration, Duration);

/// Every table checks in `checkins / tables` voters (id, card code) at `per_hour` each,
/// arrivals at random (Poisson) times; each check-in is watched at a random other
/// table. Prints the rate and the times.
pub async fn run(
    running: &[RunningTable],
    dbs: &[PathBuf],
    voters: Vec<(String, String)>,
    per_hour: f64,
) -> anyhow::Result<()> {
    let n = running.len();
    let peak = peak_per_hour();
    let why = if (per_hour - peak).abs() < 0.5 {
        format!(
            "the evening peak: {BUSY_TABLE_DAY:.0} a day × the peak hour's {:.1} %",
            PEAK_SHARE * 100.0
        )
    } else {
        format!("{:.1} × the evening peak's {peak:.0}", per_hour / peak)
    };
    println!(
        "  every table checks in {per_hour:.0} voters an hour ({why}): {:.2} check-ins/s over {n} tables; {} check-ins",
        per_hour * n as f64 / 3600.0,
        voters.len()
    );
    let mean_gap = 3600.0 / per_hour.max(0.001);
    let mut tasks = tokio::task::JoinSet::new();
    for (at, table) in running.iter().enumerate() {
        let mine: Vec<_> = voters.iter().skip(at).step_by(n).cloned().collect();
        let core = table.core.clone();
        let others: Vec<_> = (0..n)
            .filter(|&j| j != at)
            .map(|j| (running[j].screen.clone(), dbs[j].clone()))
            .collect();
        tasks.spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(at as u64);
            let mut watches = tokio::task::JoinSet::new();
            let mut due = tokio::time::Instant::now();
            for (id, code) in mine {
                // Exponential gaps: arrivals at random, on average `mean_gap` apart.
                let gap = -mean_gap * (1.0 - rng.random::<f64>()).ln();
                due += Duration::from_secs_f64(gap);
                tokio::time::sleep_until(due).await;
                let t0 = Instant::now();
                if !check_in(core.clone(), code).await? {
                    continue;
                }
                let (screen, db) = others[rng.random_range(0..others.len())].clone();
                watches.spawn(watch(screen, db, id, t0));
            }
            let mut seen = Vec::new();
            while let Some(w) = watches.join_next().await {
                seen.push(w??);
            }
            Ok::<Vec<Seen>, anyhow::Error>(seen)
        });
    }
    let mut seen = Vec::new();
    while let Some(t) = tasks.join_next().await {
        seen.extend(t??);
    }
    let (db, screen): (Vec<_>, Vec<_>) = seen.into_iter().unzip();
    for (what, times) in [("database", db), ("screen", screen)] {
        let count = times.len();
        println!(
            "  at the peak, visible at another table ({what:<8}) {}  (n={count})",
            spread_by(times, ms)
        );
    }
    Ok(())
}

/// Scan and confirm at a table, as the tilforordnede do; false if the scan was refused.
pub(super) async fn check_in(
    core: crate::table::shared::SharedCore,
    code: String,
) -> anyhow::Result<bool> {
    Ok(tokio::task::spawn_blocking(move || {
        let mut c = lock(&core);
        let s = c.scan(&code)?;
        if matches!(s.view, View::Pending { .. }) {
            c.confirm()?;
            Ok::<bool, crate::table::core::TableError>(true)
        } else {
            Ok(false)
        }
    })
    .await??)
}

/// Waits until the table with `screen` and database `db` holds the voter's check-in
/// (its database polled read-only, as `bench promise` does), then until its screen
/// counts at least as many persons as its database did then.
async fn watch(
    mut screen: tokio::sync::watch::Receiver<crate::table::screen::Screen>,
    db: PathBuf,
    voter: String,
    t0: Instant,
) -> anyhow::Result<Seen> {
    let watcher = std::sync::Arc::new(std::sync::Mutex::new(Watcher::open(&db)?));
    let count = loop {
        let (w, v) = (watcher.clone(), voter.clone());
        let held = tokio::task::spawn_blocking(move || {
            let w = w.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            w.checked_in_count(&v)
        })
        .await??;
        if let Some(n) = held {
            break n;
        }
        if t0.elapsed() > WITHIN {
            anyhow::bail!("a check-in was not in another table's database within 10 s");
        }
        tokio::time::sleep(POLL).await;
    };
    let in_db = t0.elapsed();
    tokio::time::timeout(WITHIN, screen.wait_for(|s| s.persons_checked_in >= count))
        .await
        .map_err(|_| {
            anyhow::anyhow!("a check-in was not on another table's screen within 10 s")
        })??;
    Ok((in_db, t0.elapsed()))
}
