//! `valgbord simulate`: an election-day rehearsal (generalprøve) of a whole polling
//! place on one machine, compressed in time.
//!
//! Real table daemons (this binary as `valgbord table --config`, their screens on
//! loopback ports; as root each also on an address of its own in a network namespace
//! of the rehearsal's own, see [`net`]) serve a day of voters arriving on the hourly curve of a Danish election: voters with
//! cards, without cards (found by the valgsekretær's search), with lost cards (reprinted;
//! the old card must then be refused), brevstemmer, struck voters, voters of another
//! polling place, and some who try twice. Faults strike on a seeded schedule: kill -9
//! and restart, a split LAN, a clock an hour off, a full disk, a table on paper whose
//! marks are entered afterwards, the election office's central tally unreachable for
//! hours (its reserve, a second central, must hold everything meanwhile), a slow and
//! lossy WAN to the central, a host that is not ours flooding the tables' sync ports. At the end every table's database and the central's are checked against what
//! the tilforordnede were told (the invariants in [`check`]), the office's figures
//! against the tables', and a report with a chart is written.

pub mod check;
pub mod client;
pub mod clock;
pub mod day;
pub mod fault_driver;
pub mod faults;
pub mod ledger;
pub mod net;
pub mod place;
pub mod report;
pub mod run;
pub mod tilforordnet;
pub mod valglokale;
pub mod valgsekretaer;
pub mod valgstyrere;

use crate::election::voter_list;
use crate::netfault::proxy::FaultProxy;
use crate::store::generate;
use anyhow::anyhow;
use faults::FaultKind;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub struct Options {
    pub tables: u32,
    /// Voters on the rehearsed polling place's list (the generated municipality list
    /// holds as many again at a second polling place, for voters at the wrong place).
    pub voters: u64,
    pub faults: Vec<FaultKind>,
    pub seed: u64,
    /// Real seconds for the day from 08:00 to 20:00.
    pub day_seconds: f64,
    pub dir: PathBuf,
    /// What the devices talk over ([`net::Network::choose`], before any thread).
    pub network: net::Network,
    /// Called with each device's name ("bord-1", "centralen") and database once its
    /// process is stopped, before anything is removed (`simulate --export`).
    pub export: Option<ExportHook>,
}

/// What `simulate --export` does with a stopped device's database.
pub type ExportHook = Box<dyn Fn(&str, &std::path::Path) -> anyhow::Result<()> + Send + Sync>;

pub struct Outcome {
    pub report: String,
    pub ok: bool,
    pub svg: PathBuf,
    pub text: PathBuf,
}

/// The PIN of the rehearsal's valgsekretær.
const PIN: &str = "246810";

pub fn run(o: Options) -> anyhow::Result<Outcome> {
    let t0 = Instant::now();
    if o.tables == 0 || o.voters < 100 {
        return Err(anyhow!("a rehearsal needs at least 1 table and 100 voters"));
    }
    if o.day_seconds.is_nan() || o.day_seconds <= 0.0 {
        return Err(anyhow!("--day-seconds must be positive"));
    }
    std::fs::create_dir_all(&o.dir).map_err(|e| anyhow!("{}: {e}", o.dir.display()))?;
    let mut bytes = Vec::new();
    generate::write_list(
        &mut bytes,
        o.voters * 2,
        o.seed,
        place::LIST_PLACES,
        generate::DEFAULT_CONTESTS,
    )?;
    let voters = voter_list::parse(&bytes, |_| {})
        .map_err(|e| anyhow!("the generated list does not parse: {}", e[0]))?
        .voters;
    let place = generate::place_id(0);
    let schedule = faults::schedule(&o.faults, o.tables as usize, o.seed);
    let disk_table = schedule
        .iter()
        .find(|f| f.kind == FaultKind::Disk)
        .and_then(|f| f.tables.first().copied());
    let pin_hash = crate::password::hash_pin(PIN)?;
    let namespaced = o.network.firewall().is_some();
    if namespaced && o.tables > net::MAX_TABLES {
        return Err(anyhow!(
            "at most {} tables, each on an address of its own",
            net::MAX_TABLES
        ));
    }
    let setup = place::prepare(
        &o.dir, &bytes, o.tables, &place, &pin_hash, disk_table, namespaced,
    )?;
    let network_line = o.network.line();
    let mut notes = Vec::new();
    if let Some(p) = &setup.disk_problem {
        notes.push(format!("fuld disk sprunget over: {p}"));
    }
    let electorate = voters.iter().filter(|v| v.place == place).count();
    let brevstemmer = voters
        .iter()
        .filter(|v| v.place == place && v.brevstemme)
        .count();
    let list_size = voters.len();
    let arrivals = day::plan(&voters, &place, o.seed);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let plan = Plan {
        voters,
        place: place.clone(),
        arrivals,
        schedule,
        day_seconds: o.day_seconds,
        network: o.network,
        namespaced,
        t0,
        export: o.export,
    };
    let held = rt.block_on(hold_day(setup, plan))?;
    let figures = report::Figures {
        tables: o.tables,
        electorate,
        brevstemmer,
        list_size,
        seed: o.seed,
        day_seconds: o.day_seconds,
        setup_s: held.times.0,
        day_s: held.times.1,
        held_s: held.times.2,
        converge_s: held.times.3,
        total_s: 0.0,
        doubles: held.audits.first().map_or(0, |a| a.flagged.len()),
        network: &network_line,
        notes: &notes,
    };
    write_report(&o.dir, &place, held, figures, t0)
}

/// Everything the day needs besides the processes: who comes when, the faults, the
/// network.
struct Plan {
    voters: Vec<crate::election::voter::Voter>,
    place: String,
    arrivals: Vec<day::Arrival>,
    schedule: Vec<faults::Fault>,
    day_seconds: f64,
    network: net::Network,
    namespaced: bool,
    /// When the rehearsal began, for the set-up time.
    t0: Instant,
    export: Option<ExportHook>,
}

/// What the day left to check: the ledger, every database read after the processes
/// were stopped, whether they converged, the office's screen, and the times (set-up,
/// day, held, convergence) in seconds.
struct Held {
    day: std::sync::Arc<valglokale::Day>,
    audits: Vec<check::TableAudit>,
    converged: anyhow::Result<()>,
    office: Vec<(&'static str, anyhow::Result<check::OfficeFigures>)>,
    times: (f64, f64, f64, f64),
}

/// Starts the centrals, the WAN proxy and the tables, opens the tables, and runs the
/// day; then waits for convergence and reads every database.
async fn hold_day(setup: place::Setup, plan: Plan) -> anyhow::Result<Held> {
    let mut centrals = setup.centrals;
    for c in centrals.iter_mut() {
        tokio::task::block_in_place(|| c.start())?;
    }
    // The WAN to the office's central, through a proxy the `wan` fault slows down.
    let wan = match plan.namespaced {
        true => Some(
            FaultProxy::start(
                SocketAddr::new(net::CENTRAL_FRONT, centrals[0].sync_port),
                SocketAddr::from(([127, 0, 0, 1], centrals[0].sync_port)),
            )
            .await?,
        ),
        false => None,
    };
    let mut tables = setup.tables;
    for t in tables.iter_mut() {
        tokio::task::block_in_place(|| t.start(0))?;
    }
    let http = client::http()?;
    let urls: Vec<String> = tables.iter().map(|t| t.url()).collect();
    valgstyrere::examine_brevstemmer(&http, &urls).await?;
    for t in &tables {
        match client::post(&http, &t.url(), "/api/table/open", serde_json::json!({})).await {
            Ok((200, _)) => {}
            other => return Err(anyhow!("table {} does not open: {other:?}", t.no)),
        }
    }
    let setup_s = plan.t0.elapsed().as_secs_f64();
    let clock = clock::SimClock::new(plan.day_seconds / day::DAY_MINUTES, day::OPEN_MIN);
    let (day, rig) = run::run_day(
        plan.voters,
        plan.place.clone(),
        plan.arrivals,
        plan.schedule,
        tables,
        setup.disk,
        centrals,
        clock,
        PIN.into(),
        plan.network,
        wan,
    )
    .await?;
    let day_s = day.clock.start.elapsed().as_secs_f64();
    let held_s = day.clock.paused_total().as_secs_f64();
    let (audits, converged, office, converge_s) =
        after_day(&http, rig, &plan.place, plan.export.as_ref()).await?;
    Ok(Held {
        day,
        audits,
        converged,
        office,
        times: (setup_s, day_s, held_s, converge_s),
    })
}

/// What [`after_day`] read: the audits, whether all converged, the office's figures per
/// central, and how long convergence took in seconds.
type AfterDay = (
    Vec<check::TableAudit>,
    anyhow::Result<()>,
    Vec<(&'static str, anyhow::Result<check::OfficeFigures>)>,
    f64,
);

/// After the day: waits until the tables and the centrals hold the same, reads the
/// office's screen, stops every process and reads the databases.
async fn after_day(
    http: &reqwest::Client,
    rig: fault_driver::Rig,
    place: &str,
    export: Option<&ExportHook>,
) -> anyhow::Result<AfterDay> {
    let fault_driver::Rig {
        tables,
        disk,
        centrals,
    } = rig;
    let t1 = Instant::now();
    let urls: Vec<String> = tables.iter().map(|t| t.url()).collect();
    let mut converged = converge(http, &urls, Duration::from_secs(180)).await;
    for c in &centrals {
        if converged.is_ok() {
            converged = central_converge(http, c, &urls[0]).await;
        }
    }
    let converge_s = t1.elapsed().as_secs_f64();
    let mut office = Vec::new();
    for c in &centrals {
        office.push((c.name, office_figures(http, &c.url(), place).await));
    }
    let mut dbs: Vec<(String, PathBuf)> = tables
        .iter()
        .map(|t| (format!("table {}", t.no), t.db.clone()))
        .collect();
    dbs.extend(centrals.iter().map(|c| (c.name.to_string(), c.db.clone())));
    // Stop every table and the centrals (SIGKILL: what is confirmed is on disk) and
    // read the files.
    drop(tables);
    drop(centrals);
    if let Some(export) = export {
        for (who, db) in &dbs {
            let name = who.replace("table ", "bord-");
            tokio::task::block_in_place(|| export(&name, db))?;
        }
    }
    let audits = tokio::task::block_in_place(|| {
        dbs.iter()
            .map(|(who, db)| check::audit(who, db, place))
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    drop(disk);
    Ok((audits, converged, office, converge_s))
}

/// Checks the invariants and writes the report (text and chart) into `dir`.
fn write_report(
    dir: &std::path::Path,
    place: &str,
    held: Held,
    mut figures: report::Figures,
    t0: Instant,
) -> anyhow::Result<Outcome> {
    let Held {
        day,
        audits,
        converged,
        office,
        ..
    } = held;
    let ledger = day.ledger.lock().unwrap_or_else(|e| e.into_inner());
    let verdicts = check::check(&ledger, &day.voters, place, &audits, converged, office);
    let ok = verdicts.iter().all(check::Verdict::held);
    let svg_path = dir.join("rapport.svg");
    let text_path = dir.join("rapport.txt");
    let hourly = report::hourly(&ledger);
    let title = format!(
        "Generalprøve: {} borde, {} vælgere — registreringer og svartid pr. time",
        figures.tables, figures.electorate
    );
    std::fs::write(&svg_path, report::svg(&hourly, &title))
        .map_err(|e| anyhow!("{}: {e}", svg_path.display()))?;
    figures.total_s = t0.elapsed().as_secs_f64();
    let text = report::text(
        &figures,
        &ledger,
        &verdicts,
        &svg_path.display().to_string(),
    );
    std::fs::write(&text_path, &text).map_err(|e| anyhow!("{}: {e}", text_path.display()))?;
    Ok(Outcome {
        report: text,
        ok,
        svg: svg_path,
        text: text_path,
    })
}

/// Waits until every table reports the same event count and projection hash.
async fn converge(
    http: &reqwest::Client,
    urls: &[String],
    deadline: Duration,
) -> anyhow::Result<()> {
    let until = Instant::now() + deadline;
    loop {
        let mut seen = Vec::new();
        for u in urls {
            seen.push(match client::get(http, u, "/api/health").await {
                Ok((200, h)) => Some((
                    h["events"].as_u64().unwrap_or(0),
                    h["projection_sha256"].as_str().unwrap_or("").to_string(),
                )),
                _ => None,
            });
        }
        if seen.iter().all(Option::is_some) && seen.windows(2).all(|w| w[0] == w[1]) {
            return Ok(());
        }
        if Instant::now() > until {
            return Err(anyhow!(
                "the tables did not converge within {} s: {:?}",
                deadline.as_secs(),
                seen.iter()
                    .map(|s| s
                        .as_ref()
                        .map(|(n, h)| format!("{n} events, {}", &h[..h.len().min(12)])))
                    .collect::<Vec<_>>()
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits (up to 60 s) until a central holds as many events as the converged tables.
async fn central_converge(
    http: &reqwest::Client,
    c: &place::CentralProc,
    table: &str,
) -> anyhow::Result<()> {
    let want = match client::get(http, table, "/api/health").await {
        Ok((200, h)) => h["events"].as_u64().unwrap_or(0),
        other => return Err(anyhow!("table health: {other:?}")),
    };
    match client::holds_events(http, &c.url(), want, Duration::from_secs(60)).await {
        (Ok(_), have) if have == want => Ok(()),
        (_, have) => Err(anyhow!(
            "{} holds {have} events, the tables {want}, 60 s after the day",
            c.name
        )),
    }
}

/// What the election office's screen shows for the place: logged in as the office.
async fn office_figures(
    http: &reqwest::Client,
    central: &str,
    place: &str,
) -> anyhow::Result<check::OfficeFigures> {
    let (user, password) = place::OFFICE_USER;
    let token = match client::post(
        http,
        central,
        "/api/login",
        serde_json::json!({ "user": user, "password": password }),
    )
    .await
    {
        Ok((200, v)) => v["token"].as_str().unwrap_or_default().to_string(),
        other => return Err(anyhow!("office login: {other:?}")),
    };
    let overview = client::send(
        http.get(format!("{central}/api/overview"))
            .bearer_auth(token),
    )
    .await
    .map_err(|e| anyhow!("office overview: {}", e.0))?;
    let p = overview
        .1
        .get("places")
        .and_then(|ps| ps.as_array())
        .and_then(|ps| ps.iter().find(|p| p["id"] == place))
        .ok_or_else(|| anyhow!("place {place} not on the office screen: {}", overview.1))?;
    Ok(check::OfficeFigures {
        checked_in: p["figures"]["checked_in"].as_u64().unwrap_or(0),
        double_registrations: p["double_registrations"].as_u64().unwrap_or(0),
    })
}
