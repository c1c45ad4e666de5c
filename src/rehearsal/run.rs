//! The day itself: voters arrive on the simulated clock and queue at the tables of the
//! [`valglokale`](super::valglokale), one [`tilforordnet`](super::tilforordnet) per
//! table serves them, the valgsekretær searches and reprints cards, and the
//! [`fault driver`](super::fault_driver) strikes on its schedule. Everything that was
//! answered is written in the [`Ledger`](super::ledger::Ledger), which the invariants
//! are checked against afterwards.

use super::client;
use super::clock::SimClock;
use super::day::Arrival;
use super::fault_driver::{Rig, run_faults};
use super::faults::Fault;
use super::ledger::Ledger;
use super::net::Network;
use super::place::{CentralProc, SmallDisk, TableProc};
use super::tilforordnet::worker;
use super::valglokale::{Day, Slot, TableMode, Visit};
use crate::election::voter::Voter;
use crate::netfault::proxy::FaultProxy;
use anyhow::anyhow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Starts the day: a worker per table, the arrivals, the faults. Returns when every
/// visitor has been served and every fault is over.
#[allow(clippy::too_many_arguments)]
pub async fn run_day(
    voters: Vec<Voter>,
    place: String,
    arrivals: Vec<Arrival>,
    faults: Vec<Fault>,
    tables: Vec<TableProc>,
    disk: Option<(usize, SmallDisk)>,
    centrals: Vec<CentralProc>,
    clock: SimClock,
    pin: String,
    network: Network,
    wan: Option<FaultProxy>,
) -> anyhow::Result<(Arc<Day>, Rig)> {
    let http = client::http()?;
    let mut slots = Vec::new();
    let mut inboxes = Vec::new();
    for t in &tables {
        let (tx, rx) = mpsc::unbounded_channel();
        slots.push(Slot {
            url: t.url(),
            device: t.device.clone(),
            peer_url: t.peer_url.clone(),
            sync_addr: t.sync_addr,
            mode: AtomicU8::new(TableMode::Up as u8),
            queued: AtomicUsize::new(0),
            tx,
            token: tokio::sync::Mutex::new(None),
        });
        inboxes.push(rx);
    }
    let day = Arc::new(Day {
        clock,
        voters,
        place,
        slots,
        ledger: Mutex::new(Ledger::default()),
        http,
        pin,
        outstanding: AtomicUsize::new(arrivals.len() + 1),
        turn: AtomicUsize::new(0),
        done: tokio::sync::Notify::new(),
        paper: Mutex::new(HashMap::new()),
        split: Mutex::new(None),
        network,
        wan,
    });
    let workers: Vec<_> = inboxes
        .into_iter()
        .enumerate()
        .map(|(k, rx)| tokio::spawn(worker(day.clone(), k, rx)))
        .collect();
    let fault_task = tokio::spawn(run_faults(
        day.clone(),
        faults,
        Rig {
            tables,
            disk,
            centrals,
        },
    ));
    let keeper = hold_clock_while_lines_are_long(day.clone());
    arrive(day.clone(), arrivals);
    day.done.notified().await;
    let rig = fault_task
        .await
        .map_err(|e| anyhow!("fault task failed: {e}"))??;
    keeper.abort();
    day.clock.hold(false);
    for w in workers {
        w.abort();
    }
    Ok((day, rig))
}

/// The clock stands still while the lines are long (more than two voters a table
/// waiting): the day stretches to what this machine can serve.
fn hold_clock_while_lines_are_long(day: Arc<Day>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let waiting: usize = day
                .slots
                .iter()
                .map(|s| s.queued.load(Ordering::SeqCst))
                .sum();
            day.clock.hold(waiting > 2 * day.slots.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

/// The voters come, each at their simulated time, and go to the shortest line.
fn arrive(day: Arc<Day>, arrivals: Vec<Arrival>) {
    tokio::spawn(async move {
        for a in arrivals {
            day.clock.sleep_until(a.sim).await;
            *day.ledger().arrivals.entry(a.errand.label()).or_default() += 1;
            day.dispatch(Visit {
                errand: a.errand,
                repeats: a.repeats,
                avoid: Vec::new(),
                attempts: 0,
                unsure: false,
                new_code: None,
            });
        }
        // The arrivals' own count held the day open until the last had come.
        day.finish();
    });
}
