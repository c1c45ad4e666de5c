//! The fault driver: each fault of the schedule ([`super::faults`]) struck at its time
//! on the real processes and network, what the tables showed meanwhile checked, and
//! the outcome written in the ledger.

use super::client;
use super::faults::{FLOOD_CONNECTIONS, Fault, FaultKind};
use super::net::{self, Network};
use super::place::{CentralProc, SmallDisk, TableProc};
use super::valglokale::{Day, TableMode};
use super::valgsekretaer::enter_paper;
use crate::election::event::RecordedMethod;
use crate::netfault::proxy::Behaviour;
use anyhow::anyhow;
use serde_json::json;
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The rehearsal's processes and the small disk, handed to the faults for the day.
pub struct Rig {
    pub tables: Vec<TableProc>,
    pub disk: Option<(usize, SmallDisk)>,
    /// The office's central and its reserve.
    pub centrals: Vec<CentralProc>,
}

/// The faults, each at its time. Owns the table processes; gives them back at the end.
pub async fn run_faults(day: Arc<Day>, faults: Vec<Fault>, rig: Rig) -> anyhow::Result<Rig> {
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
        r.await.map_err(|e| anyhow!("fault failed: {e}"))?;
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
        _ => Err(anyhow!("fault tasks still hold the tables")),
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
) -> anyhow::Result<()> {
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
) -> anyhow::Result<()> {
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
        })
        .map_err(anyhow::Error::from);
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
            return Err(anyhow!("table {} did not take the split", i + 1));
        }
    }
    Ok(())
}

/// Strikes one fault and waits until it is over; what happened, in words for the report.
async fn one_fault(
    day: &Arc<Day>,
    f: &Fault,
    tables: &tokio::sync::Mutex<Vec<TableProc>>,
    disk: &Option<(usize, SmallDisk)>,
    central: &tokio::sync::Mutex<Vec<CentralProc>>,
) -> anyhow::Result<String> {
    let k = f.tables.first().copied().unwrap_or(0);
    match f.kind {
        FaultKind::Kill => {
            restart(day, tables, k, Some(f.end), 0).await?;
            Ok("startede igen".into())
        }
        FaultKind::Split => split_lan(day, f).await,
        FaultKind::Clock => clock_off(day, f, tables, k).await,
        FaultKind::Disk => disk_full(day, f, tables, disk, k).await,
        FaultKind::Paper => on_paper(day, f, tables, k).await,
        FaultKind::Central => central_away(day, f, central).await,
        FaultKind::Flood => flood(day, f).await,
        FaultKind::Wan => slow_wan(day, f, central).await,
    }
}

/// The LAN split between the fault's tables and the others for its hour; a few voters
/// cross the split to vote again; a status bar must show the other half as lost.
async fn split_lan(day: &Arc<Day>, f: &Fault) -> anyhow::Result<String> {
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
            .filter(|g| g.method == RecordedMethod::Card && !l.current_card.contains_key(&g.voter))
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

/// Table `k` restarted with its clock an hour off, and back; what another table's
/// status bar said about its clock meanwhile.
async fn clock_off(
    day: &Arc<Day>,
    f: &Fault,
    tables: &tokio::sync::Mutex<Vec<TableProc>>,
    k: usize,
) -> anyhow::Result<String> {
    restart(day, tables, k, None, 3_600_000).await?;
    // Halfway: what the other tables' status bars say about its clock.
    day.clock.sleep_until((f.start + f.end) / 2.0).await;
    let other = (k + 1) % day.slots.len();
    let mut seen = None;
    if other != k
        && let Ok((_, s)) = client::get(&day.http, &day.slots[other].url, "/api/screen").await
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

/// Table `k`'s disk full for the fault's hour (when the small disk could be made):
/// its confirms must say "IKKE GEMT" until the valgsekretær has made room.
async fn disk_full(
    day: &Arc<Day>,
    f: &Fault,
    tables: &tokio::sync::Mutex<Vec<TableProc>>,
    disk: &Option<(usize, SmallDisk)>,
    k: usize,
) -> anyhow::Result<String> {
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

/// Table `k` is down and works on the printed list for the fault's hour; afterwards
/// the valgsekretær enters the paper marks.
async fn on_paper(
    day: &Arc<Day>,
    f: &Fault,
    tables: &tokio::sync::Mutex<Vec<TableProc>>,
    k: usize,
) -> anyhow::Result<String> {
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
) -> anyhow::Result<String> {
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
async fn reserve_lag(day: &Day, url: &str) -> anyhow::Result<Duration> {
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
) -> anyhow::Result<Duration> {
    match client::holds_events(&day.http, url, target, Duration::from_secs(limit)).await {
        (Ok(d), _) => Ok(d),
        (Err(_), have) => Err(anyhow!(
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
) -> anyhow::Result<String> {
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
async fn flood(day: &Arc<Day>, f: &Fault) -> anyhow::Result<String> {
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
