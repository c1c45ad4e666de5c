//! The day itself: voters arrive on the simulated clock and queue at the tables, one
//! tilforordnet per table serves them over the table's HTTP API, the valgsekretær
//! searches and reprints cards, and the faults strike on their schedule. Everything
//! that was answered is written in the [`Ledger`], which the invariants are checked
//! against afterwards.

use super::client::{self, NoAnswer};
use super::clock::SimClock;
use super::day::{Arrival, Errand, hhmm};
use super::faults::{FLOOD_CONNECTIONS, Fault, FaultKind};
use super::net::{self, Network};
use super::place::{CentralProc, SmallDisk, TableProc};
use crate::election::voter::Voter;
use crate::netfault::proxy::{Behaviour, FaultProxy};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
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
    mode: AtomicU8,
    queued: AtomicUsize,
    tx: mpsc::UnboundedSender<Visit>,
    token: tokio::sync::Mutex<Option<String>>,
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

/// A check-in someone was told about (green on the screen, "Registreret" for the
/// valgsekretær, or a paper mark entered).
#[derive(Debug, Clone)]
pub struct Green {
    pub voter: usize,
    pub table: usize,
    pub method: &'static str,
    pub sim: f64,
}

#[derive(Default)]
pub struct Ledger {
    pub greens: Vec<Green>,
    /// (voter, table) of confirms that got no answer.
    pub unsure: Vec<(usize, usize)>,
    /// (simulated minute, scan ms, confirm ms) of each check-in by card.
    pub latency: Vec<(f64, f64, f64)>,
    /// Outcomes by errand label and code.
    pub outcomes: HashMap<(&'static str, String), usize>,
    /// Everything that went against the rules, in words.
    pub violations: Vec<String>,
    /// What happened to the faults, in words.
    pub fault_log: Vec<String>,
    pub arrivals: HashMap<&'static str, usize>,
    /// Voters sent to another table because theirs failed.
    pub moved: usize,
    pub superseded_refused: usize,
    pub repeats_refused: usize,
    pub repeats_admitted_in_fault: usize,
    pub paper_marks: usize,
    pub paper_conflicts: usize,
    pub disk_not_stored: usize,
    pub clock_skew_seen_ms: Option<i64>,
    /// Every fault with its simulated (start, end), to judge an admitted repeat.
    pub disturbed: Vec<(Fault, f64, f64)>,
    /// Card in force per voter, after a reissue.
    pub current_card: HashMap<usize, String>,
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
    outstanding: AtomicUsize,
    turn: AtomicUsize,
    done: tokio::sync::Notify,
    /// Paper fallback per table: who the printed list showed as voted, and the marks.
    paper: Mutex<HashMap<usize, PaperList>>,
    /// The split in force, so a table restarted during it is split again.
    split: Mutex<Option<Vec<usize>>>,
    /// What the devices talk over; with a firewall, a split is real.
    network: Network,
    /// The WAN from the tables to the office's central (in a namespace only).
    wan: Option<FaultProxy>,
}

impl Day {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn violation(&self, what: String) {
        tracing::warn!(%what, "rehearsal: rule broken");
        self.ledger().violations.push(what);
    }

    fn outcome(&self, label: &'static str, code: &str) {
        *self
            .ledger()
            .outcomes
            .entry((label, code.to_string()))
            .or_default() += 1;
    }

    fn voter_name(&self, v: usize) -> String {
        format!("{} ({})", self.voters[v].id, self.voters[v].full_name())
    }

    /// Sends a visitor to the table with the shortest line that is working (or on
    /// paper) and that they were not sent away from.
    fn dispatch(self: &Arc<Self>, mut v: Visit) {
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
    fn move_on(self: &Arc<Self>, mut v: Visit, k: usize) {
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

    fn finish(&self) {
        if self.outstanding.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.done.notify_one();
        }
    }

    fn green(self: &Arc<Self>, voter: usize, table: usize, method: &'static str, v: &Visit) {
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
    fn schedule_repeat(
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

    async fn token(&self, k: usize, fresh: bool) -> Result<String, NoAnswer> {
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
    async fn secretary(
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

enum Step {
    Done,
    MoveOn,
}

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
) -> Result<(Arc<Day>, Rig), String> {
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
    // The clock stands still while the lines are long (more than two voters a table
    // waiting): the day stretches to what this machine can serve.
    let keeper = {
        let day = day.clone();
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
    };
    {
        let day = day.clone();
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
    day.done.notified().await;
    let rig = fault_task
        .await
        .map_err(|e| format!("fault task failed: {e}"))??;
    keeper.abort();
    day.clock.hold(false);
    for w in workers {
        w.abort();
    }
    Ok((day, rig))
}

/// The rehearsal's processes and the small disk, handed to the faults for the day.
pub struct Rig {
    pub tables: Vec<TableProc>,
    pub disk: Option<(usize, SmallDisk)>,
    /// The office's central and its reserve.
    pub centrals: Vec<CentralProc>,
}

async fn worker(day: Arc<Day>, k: usize, mut rx: mpsc::UnboundedReceiver<Visit>) {
    while let Some(mut v) = rx.recv().await {
        day.slots[k].queued.fetch_sub(1, Ordering::SeqCst);
        match day.slots[k].mode() {
            TableMode::Paper => {
                if on_paper(&day, k, &v) {
                    day.finish();
                } else {
                    day.move_on(v, k);
                }
            }
            TableMode::Down | TableMode::Broken => day.move_on(v, k),
            TableMode::Up => match serve(&day, k, &mut v).await {
                Step::Done => day.finish(),
                Step::MoveOn => day.move_on(v, k),
            },
        }
    }
}

/// One visitor at a working table.
async fn serve(day: &Arc<Day>, k: usize, v: &mut Visit) -> Step {
    let url = day.slots[k].url.clone();
    let label = v.errand.label();
    match v.errand.clone() {
        Errand::Vote { voter } => {
            let code = day.voters[voter].card_code.clone();
            card_checkin(day, k, v, voter, &code).await
        }
        Errand::Refused {
            voter,
            code,
            expect,
        } => {
            let Ok(got) = client::scan(&day.http, &url, &code).await else {
                return Step::MoveOn;
            };
            day.outcome(label, &got);
            if got != expect {
                if got == "pending" {
                    client::cancel(&day.http, &url).await;
                }
                day.violation(format!(
                    "{label}: {} at table {} gave {got}, not {expect}",
                    voter.map(|x| day.voter_name(x)).unwrap_or(code),
                    k + 1
                ));
            }
            Step::Done
        }
        Errand::NoCard { voter } => without_card(day, k, v, voter).await,
        Errand::LostCard { voter, probe } => {
            let code = match v.new_code.clone() {
                Some(c) => c,
                None => {
                    let id = day.voters[voter].id.clone();
                    let Ok((status, r)) = day
                        .secretary(k, "/api/secretary/reissue", Some(json!({ "voter_id": id })))
                        .await
                    else {
                        return Step::MoveOn;
                    };
                    let Some(code) = r["new_code"].as_str().map(str::to_string) else {
                        if status >= 500 {
                            return Step::MoveOn;
                        }
                        day.violation(format!(
                            "reissue for {} at table {} refused ({status}): {r}",
                            day.voter_name(voter),
                            k + 1
                        ));
                        return Step::Done;
                    };
                    day.ledger().current_card.insert(voter, code.clone());
                    v.new_code = Some(code.clone());
                    if probe {
                        // The old card turns up and is tried first.
                        let old = day.voters[voter].card_code.clone();
                        let Ok(got) = client::scan(&day.http, &url, &old).await else {
                            return Step::MoveOn;
                        };
                        day.outcome("gammelt kort efter genudstedelse", &got);
                        if got == "card_superseded" {
                            day.ledger().superseded_refused += 1;
                        } else {
                            if got == "pending" {
                                client::cancel(&day.http, &url).await;
                            }
                            day.violation(format!(
                                "the replaced card of {} gave {got} at table {}",
                                day.voter_name(voter),
                                k + 1
                            ));
                        }
                    }
                    code
                }
            };
            card_checkin(day, k, v, voter, &code).await
        }
        Errand::Repeat {
            voter,
            first_table,
            first_sim,
            across_split,
        } => {
            let code = day
                .ledger()
                .current_card
                .get(&voter)
                .cloned()
                .unwrap_or_else(|| day.voters[voter].card_code.clone());
            let Ok(got) = client::scan(&day.http, &url, &code).await else {
                return Step::MoveOn;
            };
            day.outcome(label, &got);
            match got.as_str() {
                "already_voted" => {
                    day.ledger().repeats_refused += 1;
                    Step::Done
                }
                "pending" => {
                    let now = day.clock.now();
                    let disturbed = across_split
                        || day.ledger().disturbed.iter().any(|(f, s, e)| {
                            *s <= now
                                && *e >= first_sim - 1.0
                                && f.kind.parts(first_table, k, &f.tables)
                        });
                    if !disturbed {
                        client::cancel(&day.http, &url).await;
                        day.violation(format!(
                            "{} voted at table {} at {} and was admitted again at table {} at {} with the LAN whole",
                            day.voter_name(voter),
                            first_table + 1,
                            hhmm(first_sim),
                            k + 1,
                            hhmm(now)
                        ));
                        return Step::Done;
                    }
                    // Neither table can know: the double registration is flagged later.
                    match client::confirm(&day.http, &url).await {
                        Ok(c) if c == "admitted" => {
                            day.ledger().repeats_admitted_in_fault += 1;
                            day.green(voter, k, "card", v);
                            Step::Done
                        }
                        Ok(_) => Step::Done,
                        Err(_) => {
                            day.ledger().unsure.push((voter, k));
                            Step::Done
                        }
                    }
                }
                _ => Step::Done,
            }
        }
    }
}

/// Scan, ask the birthdate, confirm.
async fn card_checkin(day: &Arc<Day>, k: usize, v: &mut Visit, voter: usize, code: &str) -> Step {
    let url = day.slots[k].url.clone();
    let label = v.errand.label();
    let t0 = Instant::now();
    let Ok(got) = client::scan(&day.http, &url, code).await else {
        return Step::MoveOn;
    };
    let scan_ms = t0.elapsed().as_secs_f64() * 1e3;
    match got.as_str() {
        "pending" => {}
        "already_voted" if v.unsure => {
            // The confirm that got no answer had been stored.
            day.outcome(label, "already_voted (svar tabt)");
            return Step::Done;
        }
        other => {
            day.outcome(label, other);
            day.violation(format!(
                "{} ({label}) was refused at table {}: {other}",
                day.voter_name(voter),
                k + 1
            ));
            return Step::Done;
        }
    }
    let t1 = Instant::now();
    match client::confirm(&day.http, &url).await {
        Ok(c) if c == "admitted" => {
            let confirm_ms = t1.elapsed().as_secs_f64() * 1e3;
            day.outcome(label, "admitted");
            day.ledger()
                .latency
                .push((day.clock.now(), scan_ms, confirm_ms));
            day.green(voter, k, "card", v);
            Step::Done
        }
        Ok(c) if c == "store_error" => {
            // "IKKE GEMT": the table cannot write. The voter goes to another table;
            // this one waits for the valgsekretær.
            client::cancel(&day.http, &url).await;
            day.slots[k].set_mode(TableMode::Broken);
            day.ledger().disk_not_stored += 1;
            day.outcome(label, "store_error");
            Step::MoveOn
        }
        Ok(other) => {
            day.outcome(label, &other);
            day.violation(format!(
                "{} was refused at confirm at table {}: {other}",
                day.voter_name(voter),
                k + 1
            ));
            Step::Done
        }
        Err(_) => {
            // No answer: stored or not, nobody saw green. They try another table.
            v.unsure = true;
            day.ledger().unsure.push((voter, k));
            Step::MoveOn
        }
    }
}

/// The valgsekretær searches by name and birthdate and sends the voter to this table,
/// whose tilforordnet approves.
async fn without_card(day: &Arc<Day>, k: usize, v: &mut Visit, voter: usize) -> Step {
    let who = &day.voters[voter];
    let q = format!(
        "{} {} {}",
        who.first_names,
        who.last_name,
        who.birthdate.format("%d-%m-%Y")
    );
    let path = format!("/api/secretary/search?q={}", percent(&q));
    let Ok((status, hits)) = day.secretary(k, &path, None).await else {
        return Step::MoveOn;
    };
    let hit = hits
        .as_array()
        .and_then(|a| a.iter().find(|h| h["voter"]["id"] == who.id.as_str()));
    let Some(hit) = hit else {
        if status >= 500 {
            return Step::MoveOn;
        }
        day.violation(format!(
            "search \"{q}\" at table {} did not find {}",
            k + 1,
            who.id
        ));
        return Step::Done;
    };
    if hit["may_vote"] != true {
        if v.unsure {
            return Step::Done;
        }
        day.violation(format!(
            "search shows {} as not allowed to vote: {}",
            who.id, hit["status"]
        ));
        return Step::Done;
    }
    let body = json!({ "voter_id": who.id, "table_no": k + 1 });
    match day.secretary(k, "/api/secretary/checkin", Some(body)).await {
        // Sent: the table shows the voter as pending; its tilforordnet approves.
        Ok((200, r)) if r["sent"] == true => {
            let url = day.slots[k].url.clone();
            match client::confirm(&day.http, &url).await {
                Ok(c) if c == "admitted" => {
                    day.outcome(v.errand.label(), "admitted");
                    day.green(voter, k, "manual", v);
                    Step::Done
                }
                Ok(other) => {
                    client::cancel(&day.http, &url).await;
                    day.outcome(v.errand.label(), &other);
                    if !v.unsure {
                        day.violation(format!(
                            "check-in without card of {} refused at confirm: {other}",
                            who.id
                        ));
                    }
                    Step::Done
                }
                Err(_) => {
                    v.unsure = true;
                    day.ledger().unsure.push((voter, k));
                    Step::MoveOn
                }
            }
        }
        Ok((200, r)) => {
            day.outcome(v.errand.label(), r["title"].as_str().unwrap_or("refused"));
            if !v.unsure {
                day.violation(format!("check-in without card of {} refused: {r}", who.id));
            }
            Step::Done
        }
        // An error answer: nothing was stored (e.g. the disk is full).
        Ok(_) => Step::MoveOn,
        Err(_) => {
            v.unsure = true;
            day.ledger().unsure.push((voter, k));
            Step::MoveOn
        }
    }
}

/// A visitor at a table working on paper: the printed list (as it was when the table
/// failed) is checked by eye and marked. False when the table is no longer on paper.
fn on_paper(day: &Arc<Day>, k: usize, v: &Visit) -> bool {
    let label = v.errand.label();
    let mut paper = day.paper.lock().unwrap_or_else(|e| e.into_inner());
    let Some((voted, marks)) = paper.get_mut(&k) else {
        return false;
    };
    let verdict = match v.errand.voter() {
        None => "unknown_card",
        Some(x) => {
            let vt = &day.voters[x];
            if vt.place != day.place {
                "wrong_place"
            } else if vt.struck.is_some() {
                "struck"
            } else if vt.brevstemme {
                "brevstemme"
            } else if voted.contains(&x) || marks.contains(&x) {
                "already_voted"
            } else {
                marks.push(x);
                "marked on paper"
            }
        }
    };
    drop(paper);
    day.outcome(label, &format!("{verdict} (papir)"));
    if let Errand::Refused { expect, .. } = &v.errand
        && *expect != verdict
    {
        day.violation(format!("on paper a {label} visitor was {verdict}"));
    }
    true
}

/// The faults, each at its time. Owns the table processes; gives them back at the end.
async fn run_faults(day: Arc<Day>, faults: Vec<Fault>, rig: Rig) -> Result<Rig, String> {
    let tables = Arc::new(tokio::sync::Mutex::new(rig.tables));
    let disk = Arc::new(rig.disk);
    let central = Arc::new(tokio::sync::Mutex::new(rig.centrals));
    let mut running = Vec::new();
    for f in faults {
        day.clock.sleep_until(f.start).await;
        let (day, tables, disk, central) =
            (day.clone(), tables.clone(), disk.clone(), central.clone());
        running.push(tokio::spawn(async move {
            // Disturbed from now until it is over: a repeat voter admitted meanwhile
            // is no broken rule if this fault kept the two tables apart (the tables
            // could not know); see `FaultKind::parts`.
            let at = {
                let mut l = day.ledger();
                l.disturbed.push((f.clone(), f.start, f64::INFINITY));
                l.disturbed.len() - 1
            };
            let r = one_fault(&day, &f, &tables, &disk, &central).await;
            let mut l = day.ledger();
            // A few simulated minutes more, for what was pushed but not yet taken.
            l.disturbed[at].2 = day.clock.now().max(f.end) + 5.0;
            match r {
                Ok(what) => l.fault_log.push(format!("{} — {what}", f.describe())),
                Err(e) => {
                    l.fault_log.push(format!("{} — FEJL: {e}", f.describe()));
                    l.violations
                        .push(format!("fault {} failed: {e}", f.describe()));
                }
            }
        }));
    }
    for r in running {
        r.await.map_err(|e| format!("fault failed: {e}"))?;
    }
    match (
        Arc::try_unwrap(tables),
        Arc::try_unwrap(disk),
        Arc::try_unwrap(central),
    ) {
        (Ok(t), Ok(disk), Ok(c)) => Ok(Rig {
            tables: t.into_inner(),
            disk,
            centrals: c.into_inner(),
        }),
        _ => Err("fault tasks still hold the tables".into()),
    }
}

/// Kills table `k` and starts it again with a clock offset, marking it down meanwhile
/// and splitting it off again if the LAN is split.
async fn restart(
    day: &Arc<Day>,
    tables: &tokio::sync::Mutex<Vec<TableProc>>,
    k: usize,
    down_until: Option<f64>,
    offset_ms: i64,
) -> Result<(), String> {
    let was = day.slots[k].mode();
    day.slots[k].set_mode(TableMode::Down);
    {
        let mut t = tables.lock().await;
        t[k].kill();
    }
    if let Some(until) = down_until {
        day.clock.sleep_until(until).await;
    }
    {
        let mut t = tables.lock().await;
        let proc_ = &mut t[k];
        tokio::task::block_in_place(|| proc_.start(offset_ms))?;
    }
    *day.slots[k].token.lock().await = None;
    let split = day.split.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // The test filter is the daemon's memory and is lost with it; firewall rules are
    // by address and outlive the process.
    if let Some(group) = split
        && day.network.firewall().is_none()
    {
        apply_split(day, Some(&group), Some(k)).await?;
    }
    day.slots[k].set_mode(if was == TableMode::Paper {
        TableMode::Paper
    } else {
        TableMode::Up
    });
    Ok(())
}

/// Splits the LAN between `group` and the other tables; `None` heals it. In the
/// rehearsal's own namespace the firewall drops the packets between the two halves;
/// otherwise each table (or only `only`) is told whom to stop talking to.
async fn apply_split(
    day: &Arc<Day>,
    group: Option<&[usize]>,
    only: Option<usize>,
) -> Result<(), String> {
    if let Some(fw) = day.network.firewall() {
        let ip = |i: usize| day.slots[i].sync_addr.map(|a| a.ip());
        let (a, b): (Vec<usize>, Vec<usize>) =
            (0..day.slots.len()).partition(|i| group.is_some_and(|g| g.contains(i)));
        let a: Vec<IpAddr> = a.into_iter().filter_map(ip).collect();
        let b: Vec<IpAddr> = b.into_iter().filter_map(ip).collect();
        return tokio::task::block_in_place(|| {
            fw.heal()?;
            match group {
                Some(_) => fw.partition(&a, &b),
                None => Ok(()),
            }
        });
    }
    for (i, s) in day.slots.iter().enumerate() {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        let blocked: Vec<&str> = match group {
            None => Vec::new(),
            Some(g) => {
                let mine = g.contains(&i);
                day.slots
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| g.contains(j) != mine)
                    .map(|(_, o)| o.device.as_str())
                    .collect()
            }
        };
        let mut ok = false;
        for _ in 0..20 {
            if let Ok((200, _)) = client::post(
                &day.http,
                &s.url,
                "/api/test/partition",
                json!({ "blocked": blocked }),
            )
            .await
            {
                ok = true;
                break;
            }
            if day.slots[i].mode() == TableMode::Down {
                // It is being restarted; the restart splits it again.
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !ok {
            return Err(format!("table {} did not take the split", i + 1));
        }
    }
    Ok(())
}

async fn one_fault(
    day: &Arc<Day>,
    f: &Fault,
    tables: &tokio::sync::Mutex<Vec<TableProc>>,
    disk: &Option<(usize, SmallDisk)>,
    central: &tokio::sync::Mutex<Vec<CentralProc>>,
) -> Result<String, String> {
    let k = f.tables.first().copied().unwrap_or(0);
    match f.kind {
        FaultKind::Kill => {
            restart(day, tables, k, Some(f.end), 0).await?;
            Ok("startede igen".into())
        }
        FaultKind::Split => {
            *day.split.lock().unwrap_or_else(|e| e.into_inner()) = Some(f.tables.clone());
            apply_split(day, Some(&f.tables), None).await?;
            let split_at = Instant::now();
            // How the split shows: the first table of one half sees the first of the
            // other half lost (with real packet drops, once its requests time out).
            let across = (0..day.slots.len()).find(|i| !f.tables.contains(i));
            let watch = across.map(|j| {
                let (day, until) = (day.clone(), f.end);
                let at = f.tables.first().copied().unwrap_or(0);
                tokio::spawn(async move {
                    // Past the hour if need be: on a day compressed into seconds the
                    // hour may end before a request across could time out.
                    while day.clock.now() < until || split_at.elapsed() < SPLIT_SHOWN_WITHIN {
                        if peer_state(&day, at, j)
                            .await
                            .is_some_and(|s| s != "connected")
                        {
                            return Some((at, j, split_at.elapsed()));
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    None
                })
            });
            // A few voters checked in during the split go straight to a table across
            // it to vote again: neither side can know.
            day.clock.sleep_until(f.start + 5.0).await;
            let recent: Vec<(usize, usize, f64)> = {
                let l = day.ledger();
                l.greens
                    .iter()
                    .rev()
                    .take_while(|g| g.sim > f.start + 1.0)
                    .filter(|g| g.method == "card" && !l.current_card.contains_key(&g.voter))
                    .take(3)
                    .map(|g| (g.voter, g.table, g.sim))
                    .collect()
            };
            for (voter, table, _) in &recent {
                day.schedule_repeat(*voter, *table, day.clock.now(), true);
            }
            day.clock.sleep_until(f.end).await;
            // The split lasts until a status bar shows it (or the watch gives up).
            let seen = match watch {
                Some(w) => w.await.ok().flatten(),
                None => None,
            };
            *day.split.lock().unwrap_or_else(|e| e.into_inner()) = None;
            apply_split(day, None, None).await?;
            if seen.is_none() && across.is_some() {
                day.violation(format!(
                    "the LAN was split for {:.0} s and no table's status bar showed the other half as lost",
                    split_at.elapsed().as_secs_f64()
                ));
            }
            let how = match day.network.firewall() {
                Some(_) => "pakker imellem tabt af nftables",
                None => "test-filter",
            };
            Ok(format!(
                "{how}; {}; {} vælgere sendt over skellet",
                match seen {
                    Some((a, b, d)) => format!(
                        "bord {} så bord {} som tabt efter {:.1} s",
                        a + 1,
                        b + 1,
                        d.as_secs_f64()
                    ),
                    None => format!(
                        "intet bord nåede at se den anden halvdel som tabt på {:.1} s",
                        split_at.elapsed().as_secs_f64()
                    ),
                },
                recent.len()
            ))
        }
        FaultKind::Clock => {
            restart(day, tables, k, None, 3_600_000).await?;
            // Halfway: what the other tables' status bars say about its clock.
            day.clock.sleep_until((f.start + f.end) / 2.0).await;
            let other = (k + 1) % day.slots.len();
            let mut seen = None;
            if other != k
                && let Ok((_, s)) =
                    client::get(&day.http, &day.slots[other].url, "/api/screen").await
            {
                seen = s["peers"].as_array().and_then(|ps| {
                    ps.iter()
                        .find(|p| p["url"] == day.slots[k].peer_url.as_str())
                        .and_then(|p| p["clock_skew_ms"].as_i64())
                });
            }
            day.ledger().clock_skew_seen_ms = seen;
            day.clock.sleep_until(f.end).await;
            restart(day, tables, k, None, 0).await?;
            Ok(match seen {
                Some(ms) => format!(
                    "bord {} så uret {:+.0} s forkert",
                    other + 1,
                    ms as f64 / 1e3
                ),
                None => "afvigelsen blev ikke aflæst".into(),
            })
        }
        FaultKind::Disk => {
            let Some((d, small)) = disk.as_ref().filter(|(d, _)| *d == k) else {
                return Ok("SPRUNGET OVER: ingen lille disk (se ovenfor)".into());
            };
            let bytes = small.fill(&tables.lock().await[*d].db)?;
            day.clock.sleep_until(f.end).await;
            small.free();
            // The valgsekretær has made room; the table is used again.
            day.slots[*d].set_mode(TableMode::Up);
            let n = day.ledger().disk_not_stored;
            Ok(format!(
                "{} MB fyldt; {n} bekræftelser afvist med \"IKKE GEMT\"",
                bytes >> 20
            ))
        }
        FaultKind::Paper => {
            let from_ms = crate::store::now_ms();
            let voted: HashSet<usize> = day.ledger().greens.iter().map(|g| g.voter).collect();
            day.paper
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(k, (voted, Vec::new()));
            day.slots[k].set_mode(TableMode::Paper);
            {
                let mut t = tables.lock().await;
                t[k].kill();
            }
            day.clock.sleep_until(f.end).await;
            restart(day, tables, k, None, 0).await?;
            let marks = day
                .paper
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&k)
                .map(|(_, m)| m)
                .unwrap_or_default();
            day.slots[k].set_mode(TableMode::Up);
            enter_paper(day, k, &marks, from_ms).await
        }
        FaultKind::Central => central_away(day, f, central).await,
        FaultKind::Flood => flood(day, f).await,
        FaultKind::Wan => slow_wan(day, f, central).await,
    }
}

/// How long the central is held frozen past its hours if no status bar has shown it
/// yet: a table calls a central lost once a request has gone unanswered for its
/// timeout (5 s), and a day compressed into seconds may end the hours before that.
const CENTRAL_SHOWN_WITHIN: Duration = Duration::from_secs(15);

/// How far behind the tables the reserve central may be while the office's central is
/// away: it gets every table's pushes, so only what is on its way (a push, a page).
const RESERVE_BEHIND: Duration = Duration::from_secs(5);

/// The office's central is frozen for the fault's hours (held until a status bar says
/// so), then thawed. Meanwhile the reserve central must hold every event the tables
/// hold, checked over and over; afterwards the central must catch up. Returns how the
/// tables served meanwhile, how far behind the reserve was, and the catch-up time.
async fn central_away(
    day: &Arc<Day>,
    f: &Fault,
    centrals: &tokio::sync::Mutex<Vec<CentralProc>>,
) -> Result<String, String> {
    let (url, reserve) = {
        let mut c = centrals.lock().await;
        c[0].freeze()?;
        (c[0].url(), c.get(1).map(CentralProc::url))
    };
    // The tables must show it on the status bar, and nowhere else.
    let frozen = Instant::now();
    let mut shown = None;
    let mut behind = Duration::ZERO;
    let mut checks = 0;
    while day.clock.now() < f.end || (shown.is_none() && frozen.elapsed() < CENTRAL_SHOWN_WITHIN) {
        if shown.is_none()
            && let Some(s) = day.slots.iter().find(|s| s.mode() == TableMode::Up)
            && let Ok((200, v)) = client::get(&day.http, &s.url, "/api/screen").await
            && v["status"]["central_ok"] == false
        {
            shown = Some(frozen.elapsed());
        }
        if let Some(r) = &reserve {
            behind = behind.max(reserve_lag(day, r).await?);
            checks += 1;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let away = frozen.elapsed();
    if shown.is_none() {
        day.violation(format!(
            "the central was away {:.0} s, and no table's status bar said so",
            away.as_secs_f64()
        ));
    }
    // What the tables hold now is what the central must catch up on.
    let target = tables_hold(day).await;
    centrals.lock().await[0].thaw()?;
    let caught_up = caught_up(day, &url, target, 120, "the WAN came back").await?;
    let (during, p99) = served_during(day, f.start, f.end);
    Ok(format!(
        "{during} registreringer imens (scan + bekræft p99 {}); {}; {}; centralen havde alle {target} hændelser {:.1} s efter",
        p99.map_or("—".into(), |v| format!("{v:.0} ms")),
        match shown {
            Some(d) => format!(
                "statuslinjen viste \"Centralen: ikke forbundet\" efter {:.0} s",
                d.as_secs_f64()
            ),
            None => format!(
                "statuslinjen nåede ikke at vise det på {:.0} s",
                away.as_secs_f64()
            ),
        },
        match reserve {
            Some(_) => format!(
                "reservecentralen havde hele tiden bordenes hændelser ({checks} kontroller, højst {:.1} s bagud)",
                behind.as_secs_f64()
            ),
            None => "ingen reservecentral".into(),
        },
        caught_up.as_secs_f64()
    ))
}

/// The most events any working table holds (the others may be catching up).
async fn tables_hold(day: &Day) -> u64 {
    let mut most = 0;
    for s in &day.slots {
        if let Ok((200, h)) = client::get(&day.http, &s.url, "/api/health").await {
            most = most.max(h["events"].as_u64().unwrap_or(0));
        }
    }
    most
}

/// How long the central at `url` took to hold as many events as the tables held when
/// asked; over [`RESERVE_BEHIND`] is a broken promise (an office with two centrals
/// must lose nothing while one is away).
async fn reserve_lag(day: &Day, url: &str) -> Result<Duration, String> {
    let target = tables_hold(day).await;
    let (lag, have) = client::holds_events(&day.http, url, target, RESERVE_BEHIND).await;
    lag.or_else(|waited| {
        day.violation(format!(
            "while the central was away the reserve held {have} events, the tables {target}, for more than {} s",
            RESERVE_BEHIND.as_secs()
        ));
        Ok(waited)
    })
}

/// How long the central at `url` took to hold `target` events after `what`; more than
/// `limit` seconds is a failed fault.
async fn caught_up(
    day: &Day,
    url: &str,
    target: u64,
    limit: u64,
    what: &str,
) -> Result<Duration, String> {
    match client::holds_events(&day.http, url, target, Duration::from_secs(limit)).await {
        (Ok(d), _) => Ok(d),
        (Err(_), have) => Err(format!(
            "the central held {have} of {target} events {limit} s after {what}"
        )),
    }
}

/// The WAN to the office's central is slow and lossy for the fault's hour. The tables
/// must serve as before (they never wait for the central), and the central must hold
/// every event soon after the WAN is good again.
async fn slow_wan(
    day: &Arc<Day>,
    f: &Fault,
    centrals: &tokio::sync::Mutex<Vec<CentralProc>>,
) -> Result<String, String> {
    let (Some(proxy), Some(_)) = (&day.wan, day.network.firewall()) else {
        return Ok(match &day.network {
            Network::Loopback { why } => {
                format!("IKKE KØRT: kræver generalprøvens eget netværksnavnerum ({why})")
            }
            Network::Namespace(_) => "IKKE KØRT: ingen WAN-proxy".into(),
        });
    };
    // A firewall of its own, so its end removes its rules and no other fault's.
    let lossy = crate::netfault::firewall::Firewall::new("simulate_wan")?;
    proxy.set(Behaviour::Delay(Duration::from_millis(
        super::faults::WAN_DELAY_MS,
    )));
    lossy.lossy(net::CENTRAL_FRONT, super::faults::WAN_LOSS_PERCENT)?;
    let url = centrals.lock().await[0].url();
    let began = Instant::now();
    // How far behind the tables the central was, sampled over the hour.
    let mut behind = Duration::ZERO;
    let mut samples = 0;
    while day.clock.now() < f.end {
        let target = tables_hold(day).await;
        let (lag, _) = client::holds_events(&day.http, &url, target, Duration::from_secs(30)).await;
        behind = behind.max(lag.unwrap_or_else(|waited| waited));
        samples += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(lossy);
    proxy.set(Behaviour::Pass);
    let target = tables_hold(day).await;
    let caught_up = caught_up(day, &url, target, 60, "the WAN was good again").await?;
    let (during, p99) = served_during(day, f.start, f.end);
    Ok(format!(
        "{during} registreringer imens (scan + bekræft p99 {}); centralen højst {:.1} s bagud i WAN-timen ({samples} målinger over {:.0} s); havde alle {target} hændelser {:.1} s efter",
        p99.map_or("—".into(), |v| format!("{v:.0} ms")),
        behind.as_secs_f64(),
        began.elapsed().as_secs_f64(),
        caught_up.as_secs_f64()
    ))
}

/// Table `at`'s status bar on peer `of`: "connected", "lost", … (`None`: no answer).
async fn peer_state(day: &Day, at: usize, of: usize) -> Option<String> {
    let (_, s) = client::get(&day.http, &day.slots[at].url, "/api/screen")
        .await
        .ok()?;
    let p = s["peers"]
        .as_array()?
        .iter()
        .find(|p| p["url"] == day.slots[of].peer_url.as_str())?;
    Some(match &p["state"] {
        serde_json::Value::String(v) => v.clone(),
        // A variant with data ({"wrong_config": "…"}).
        other => other.to_string(),
    })
}

/// How long a split is held past its hour if no status bar has shown it yet: a peer
/// across a split is lost once a request to it has timed out (5 s) and the next probe
/// has failed.
const SPLIT_SHOWN_WITHIN: Duration = Duration::from_secs(15);

/// How long a flood is held past its hour if no status bar has shown it yet: on a day
/// compressed into seconds the hour may be over before a table could have said so.
const FLOOD_SHOWN_WITHIN: Duration = Duration::from_secs(15);

/// A host on the LAN that is not ours floods every table's sync port for the fault's
/// hour. The tables must go on serving voters and syncing with each other, and at
/// least one status bar must say what is going on (otherwise nobody calls IT).
async fn flood(day: &Arc<Day>, f: &Fault) -> Result<String, String> {
    if let Network::Loopback { why } = &day.network {
        // On shared loopback the flooder has no address of its own to be told apart
        // by: what the listener does with strangers would not be rehearsed.
        return Ok(format!(
            "IKKE KØRT: kræver generalprøvens eget netværksnavnerum ({why})"
        ));
    }
    let targets: Vec<SocketAddr> = day.slots.iter().filter_map(|s| s.sync_addr).collect();
    let flooder = crate::netfault::flood::Flood::start(net::FLOODER, &targets, FLOOD_CONNECTIONS);
    let began = Instant::now();
    let mut shown: Option<(usize, Duration, String)> = None;
    loop {
        if day.clock.now() >= f.end && (shown.is_some() || began.elapsed() > FLOOD_SHOWN_WITHIN) {
            break;
        }
        if shown.is_none() {
            for (i, s) in day.slots.iter().enumerate() {
                if s.mode() != TableMode::Up {
                    continue;
                }
                if let Ok((200, v)) = client::get(&day.http, &s.url, "/api/screen").await
                    && let Some(text) = v["status"]["sync_flood"].as_str()
                {
                    shown = Some((i, began.elapsed(), text.to_string()));
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Sync between the working tables as their status bars show it, the flood still on.
    let up: Vec<usize> = (0..day.slots.len())
        .filter(|&i| day.slots[i].mode() == TableMode::Up)
        .collect();
    let (mut connected, mut pairs) = (0, 0);
    for &a in &up {
        for &b in up.iter().filter(|&&b| b != a) {
            pairs += 1;
            if peer_state(day, a, b).await.as_deref() == Some("connected") {
                connected += 1;
            }
        }
    }
    let opened = flooder.opened.load(Ordering::Relaxed);
    let held = began.elapsed();
    drop(flooder);
    let (during, p99) = served_during(day, f.start, f.end);
    if shown.is_none() {
        day.violation(format!(
            "the sync ports were flooded for {:.0} s and no table's status bar said so",
            held.as_secs_f64()
        ));
    }
    if during == 0 {
        day.violation("no check-in during the flood of the sync ports".into());
    }
    if pairs > 0 && connected == 0 {
        day.violation(format!(
            "during the flood no working table was in sync with another ({pairs} pairs)"
        ));
    }
    Ok(format!(
        "{during} registreringer imens (scan + bekræft p99 {}); {}; {opened} forbindelser åbnet på {:.0} s; kørende borde forbundet med hinanden: {connected} af {pairs}",
        p99.map_or("—".into(), |v| format!("{v:.0} ms")),
        match &shown {
            Some((i, d, text)) => format!(
                "statuslinjen på bord {} viste \"{text}\" efter {:.1} s",
                i + 1,
                d.as_secs_f64()
            ),
            None => "ingen statuslinje viste det".into(),
        },
        held.as_secs_f64()
    ))
}

/// Check-ins confirmed between simulated minutes `from` and `to`, and the p99 of their
/// scan + confirm in ms.
fn served_during(day: &Day, from: f64, to: f64) -> (usize, Option<f64>) {
    let l = day.ledger();
    let during = l
        .greens
        .iter()
        .filter(|g| g.sim >= from && g.sim < to)
        .count();
    let mut ms: Vec<f64> = l
        .latency
        .iter()
        .filter(|(sim, _, _)| *sim >= from && *sim < to)
        .map(|(_, scan, confirm)| scan + confirm)
        .collect();
    ms.sort_by(f64::total_cmp);
    let p99 = ms
        .get((ms.len() * 99 / 100).min(ms.len().saturating_sub(1)))
        .copied();
    (during, p99)
}

/// The valgsekretær enters the paper marks at the table that was down.
async fn enter_paper(
    day: &Arc<Day>,
    k: usize,
    marks: &[usize],
    from_ms: i64,
) -> Result<String, String> {
    let list_nos: Vec<u32> = marks.iter().map(|&m| day.voters[m].list_no).collect();
    let body = json!({
        "list_nos": list_nos,
        "table_no": k + 1,
        "from_ms": from_ms,
        "to_ms": crate::store::now_ms(),
    });
    let (status, r) = day
        .secretary(k, "/api/secretary/paper", Some(body))
        .await
        .map_err(|e| format!("paper entry got no answer: {}", e.0))?;
    if status != 200 {
        return Err(format!("paper entry refused ({status}): {r}"));
    }
    let by_id: HashMap<&str, usize> = marks
        .iter()
        .map(|&m| (day.voters[m].id.as_str(), m))
        .collect();
    let mut entered = 0;
    let dummy = Visit {
        errand: Errand::Vote { voter: 0 },
        repeats: false,
        avoid: Vec::new(),
        attempts: 0,
        unsure: false,
        new_code: None,
    };
    let conflicts = r["conflicts"].as_array().cloned().unwrap_or_default();
    for id in r["entered"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str())
        .chain(conflicts.iter().filter_map(|c| c["voter_id"].as_str()))
    {
        match by_id.get(id) {
            Some(&m) => {
                day.green(m, k, "paper", &dummy);
                entered += 1;
            }
            None => day.violation(format!("paper entry entered {id}, which was not marked")),
        }
    }
    for what in ["refused", "unknown"] {
        if r[what].as_array().is_some_and(|a| !a.is_empty()) {
            day.violation(format!("paper entry {what}: {}", r[what]));
        }
    }
    {
        let mut l = day.ledger();
        l.paper_marks += marks.len();
        l.paper_conflicts += conflicts.len();
    }
    if entered != marks.len() {
        day.violation(format!("{} paper marks, {entered} entered", marks.len()));
    }
    Ok(format!(
        "{} mærker på papir indtastet, {} konflikter (dobbeltregistreringer)",
        marks.len(),
        conflicts.len()
    ))
}

/// Percent-encoding of a query value.
fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
