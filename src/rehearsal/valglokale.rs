//! The valglokale on the simulated day: the tables with their lines, where a voter goes
//! next when a table fails, and the ledger every helper writes in. The tilforordnede,
//! the valgsekretær and the fault driver all act on it; it knows none of them.

use super::client::{self, NoAnswer};
use super::clock::SimClock;
use super::day::Errand;
use super::ledger::{Green, Ledger};
use super::net::Network;
use crate::election::event::RecordedMethod;
use crate::election::voter::Voter;
use crate::netfault::proxy::FaultProxy;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// How a table can be used right now, as the people at the polling place see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TableMode {
    Up = 0,
    /// Killed or restarting: its line moves to the other tables.
    Down = 1,
    /// Working on the paper list.
    Paper = 2,
    /// Said "IKKE GEMT" (disk full): not used until the valgsekretær has fixed it.
    Broken = 3,
}

pub struct Slot {
    pub url: String,
    pub device: String,
    /// How the other tables name it (the `url` of their status bars' peers).
    pub peer_url: String,
    /// Its TLS sync listener, in the rehearsal's own network namespace.
    pub sync_addr: Option<SocketAddr>,
    pub(super) mode: AtomicU8,
    pub(super) queued: AtomicUsize,
    pub(super) tx: mpsc::UnboundedSender<Visit>,
    pub(super) token: tokio::sync::Mutex<Option<String>>,
}

impl Slot {
    pub fn mode(&self) -> TableMode {
        match self.mode.load(Ordering::SeqCst) {
            0 => TableMode::Up,
            1 => TableMode::Down,
            2 => TableMode::Paper,
            _ => TableMode::Broken,
        }
    }

    pub fn set_mode(&self, m: TableMode) {
        self.mode.store(m as u8, Ordering::SeqCst);
    }
}

/// A voter in a line: the errand, and where they were already sent away from.
#[derive(Debug, Clone)]
pub struct Visit {
    pub errand: Errand,
    pub repeats: bool,
    pub avoid: Vec<usize>,
    pub attempts: u32,
    /// A confirm without an answer happened: the voter may already be checked in.
    pub unsure: bool,
    pub new_code: Option<String>,
}

/// A table's paper fallback: who the printed list showed as voted, and the marks made.
type PaperList = (HashSet<usize>, Vec<usize>);

pub struct Day {
    pub clock: SimClock,
    pub voters: Vec<Voter>,
    /// The polling place rehearsed.
    pub place: String,
    pub slots: Vec<Slot>,
    pub ledger: Mutex<Ledger>,
    pub http: reqwest::Client,
    pub pin: String,
    pub(super) outstanding: AtomicUsize,
    pub(super) turn: AtomicUsize,
    pub(super) done: tokio::sync::Notify,
    /// Paper fallback per table: who the printed list showed as voted, and the marks.
    pub(super) paper: Mutex<HashMap<usize, PaperList>>,
    /// The split in force, so a table restarted during it is split again.
    pub(super) split: Mutex<Option<Vec<usize>>>,
    /// What the devices talk over; with a firewall, a split is real.
    pub(super) network: Network,
    /// The WAN from the tables to the office's central (in a namespace only).
    pub(super) wan: Option<FaultProxy>,
}

impl Day {
    pub(super) fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn violation(&self, what: String) {
        tracing::warn!(%what, "rehearsal: rule broken");
        self.ledger().violations.push(what);
    }

    pub(super) fn outcome(&self, label: &'static str, code: &str) {
        *self
            .ledger()
            .outcomes
            .entry((label, code.to_string()))
            .or_default() += 1;
    }

    pub(super) fn voter_name(&self, v: usize) -> String {
        format!("{} ({})", self.voters[v].id, self.voters[v].full_name())
    }

    /// Sends a visitor to the table with the shortest line that is working (or on
    /// paper) and that they were not sent away from.
    pub(super) fn dispatch(self: &Arc<Self>, mut v: Visit) {
        let usable = |i: usize, avoid: &[usize]| {
            !avoid.contains(&i) && matches!(self.slots[i].mode(), TableMode::Up | TableMode::Paper)
        };
        // Equal lines: the next table in turn, so free tables share the voters.
        let n = self.slots.len();
        let first = self.turn.fetch_add(1, Ordering::Relaxed);
        let shortest = |avoid: &[usize]| {
            (0..n)
                .map(|j| (first + j) % n)
                .filter(|&i| usable(i, avoid))
                .min_by_key(|&i| self.slots[i].queued.load(Ordering::SeqCst))
        };
        let mut best = shortest(&v.avoid);
        if best.is_none() {
            // Every table they have not tried is out: any working one will do.
            v.avoid.clear();
            best = shortest(&[]);
        }
        match best {
            Some(i) => {
                self.slots[i].queued.fetch_add(1, Ordering::SeqCst);
                if self.slots[i].tx.send(v).is_err() {
                    self.finish();
                }
            }
            None => {
                // No table works at all: wait a moment in the hall and try again.
                let day = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    day.dispatch(v);
                });
            }
        }
    }

    /// The voter leaves table `k` for another one.
    pub(super) fn move_on(self: &Arc<Self>, mut v: Visit, k: usize) {
        v.attempts += 1;
        if v.attempts > 40 {
            let who = v.errand.voter().map(|x| self.voter_name(x));
            self.violation(format!(
                "a voter ({who:?}) was sent on 40 times and never served"
            ));
            self.finish();
            return;
        }
        if !v.avoid.contains(&k) {
            v.avoid.push(k);
        }
        if matches!(v.errand, Errand::LostCard { .. }) {
            // The replacement is printed again where they go next.
            v.new_code = None;
        }
        self.ledger().moved += 1;
        self.dispatch(v);
    }

    pub(super) fn finish(&self) {
        if self.outstanding.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.done.notify_one();
        }
    }

    pub(super) fn green(
        self: &Arc<Self>,
        voter: usize,
        table: usize,
        method: RecordedMethod,
        v: &Visit,
    ) {
        let sim = self.clock.now();
        {
            let mut l = self.ledger();
            l.greens.push(Green {
                voter,
                table,
                method,
                sim,
            });
        }
        let brev = self.voters[voter].brevstemme;
        if brev {
            self.violation(format!(
                "brevstemmer {} admitted at table {}",
                self.voter_name(voter),
                table + 1
            ));
        }
        if v.repeats {
            self.schedule_repeat(voter, table, sim, false);
        }
    }

    /// The voter comes back later (at least half an hour, at least three real seconds)
    /// and tries another table.
    pub(super) fn schedule_repeat(
        self: &Arc<Self>,
        voter: usize,
        first_table: usize,
        first: f64,
        across: bool,
    ) {
        self.outstanding.fetch_add(1, Ordering::SeqCst);
        let day = self.clone();
        let later = if across {
            first + 2.0
        } else {
            first + 30.0_f64.max(3.0 / day.clock.scale)
        };
        let avoid = match (
            across,
            &*day.split.lock().unwrap_or_else(|e| e.into_inner()),
        ) {
            (true, Some(group)) => {
                let mine = group.contains(&first_table);
                (0..day.slots.len())
                    .filter(|i| group.contains(i) == mine)
                    .collect()
            }
            _ => vec![first_table],
        };
        tokio::spawn(async move {
            day.clock.sleep_until(later).await;
            let errand = Errand::Repeat {
                voter,
                first_table,
                first_sim: first,
                across_split: across,
            };
            *day.ledger().arrivals.entry(errand.label()).or_default() += 1;
            day.dispatch(Visit {
                errand,
                repeats: false,
                avoid,
                attempts: 0,
                unsure: false,
                new_code: None,
            });
        });
    }

    pub(super) async fn token(&self, k: usize, fresh: bool) -> Result<String, NoAnswer> {
        let mut t = self.slots[k].token.lock().await;
        if fresh {
            *t = None;
        }
        if let Some(tok) = &*t {
            return Ok(tok.clone());
        }
        let tok = client::login(&self.http, &self.slots[k].url, &self.pin).await?;
        *t = Some(tok.clone());
        Ok(tok)
    }

    /// A valgsekretær call at table `k`, logging in again once if the session is gone
    /// (a restarted table forgets its sessions).
    pub(super) async fn secretary(
        &self,
        k: usize,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(u16, serde_json::Value), NoAnswer> {
        let url = &self.slots[k].url;
        let tok = self.token(k, false).await?;
        let r = client::secretary(&self.http, url, &tok, path, body.clone()).await?;
        if r.0 != 401 {
            return Ok(r);
        }
        let tok = self.token(k, true).await?;
        client::secretary(&self.http, url, &tok, path, body).await
    }
}

/// What becomes of a visitor after a table has tried to serve them.
pub enum Step {
    Done,
    MoveOn,
}
