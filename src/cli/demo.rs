//! `valgbord demo`: a whole polling place on one machine, with simulated hardware.

use super::CmdResult;
use crate::election::checkin::TableState;
use crate::election::contest::Contest;
use crate::store::Store;
use crate::store::binding::Mode;
use crate::store::generate;
use crate::table::config::{PinConfig, ScannerConfig, SignalsConfig, SyncConfig, TableConfig};
use crate::table::daemon::{self, lock};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The demo's valgsekretær PIN, printed at start.
pub const DEMO_PIN: &str = "1234";

#[derive(Args)]
pub struct DemoArgs {
    /// Number of polling tables.
    #[arg(long, default_value_t = 3)]
    pub tables: u32,
    /// Voters in the municipality list (spread over two polling places).
    #[arg(long, default_value_t = 5_000)]
    pub voters: u64,
    /// Port of table 1; table N listens on port + N - 1. 0 picks free ports.
    #[arg(long, default_value_t = 8081)]
    pub port: u16,
    /// Data folder (made fresh under the temp folder when not given).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn run(a: DemoArgs) -> CmdResult {
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => {
            let d = std::env::temp_dir().join("valgbord-demo");
            // Our own scratch folder: start from nothing so old demo runs do not linger.
            let _ = std::fs::remove_dir_all(&d);
            d
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let list = dir.join("valgliste.csv");
    if !list.exists() {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&list)?);
        generate::write_list(&mut f, a.voters, a.seed, 2, generate::DEFAULT_CONTESTS)?;
        std::io::Write::flush(&mut f)?;
    }
    let bytes = std::fs::read(&list)?;
    let pin_hash = crate::table::pin::hash_pin(DEMO_PIN)?;
    // The last port is the central tally's.
    let ports = demo_ports(a.port, a.tables + 1)?;
    let central_url = format!("http://127.0.0.1:{}", ports[a.tables as usize]);
    let mut central_tables = Vec::new();
    let urls: Vec<String> = ports[..a.tables as usize]
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    let mut configs = Vec::new();
    for t in 1..=a.tables {
        let db = dir.join(format!("bord-{t}.db"));
        let mut store = Store::open(&db)?;
        if store.bound_election()?.is_none() {
            store.bind("demo", Mode::Test)?;
            store
                .import_file(&bytes, false, |_| {})
                .map_err(|e| format!("demo list does not import: {e:?}"))?;
        }
        drop(store);
        let port = ports[t as usize - 1];
        let key = dir.join(format!("bord-{t}.key"));
        central_tables.push(crate::central::config::TableEntry {
            place: generate::place_id(0),
            table_no: t,
            key: crate::store::keyfile::load_or_create(&key)?
                .public()
                .to_hex(),
            url: None,
        });
        let peers = urls
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != t as usize - 1)
            .map(|(_, u)| u.clone())
            .collect();
        configs.push(TableConfig {
            election: "demo".into(),
            mode: "test".into(),
            database: db,
            key,
            place: generate::place_id(0),
            table_no: t,
            contests: vec![Contest::Kv, Contest::Rv],
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            scanner: ScannerConfig::Simulated,
            signals: SignalsConfig::Simulated,
            pins: PinConfig {
                valgsekretaer: Some(pin_hash.clone()),
            },
            api_scan: true,
            debounce_ms: 2_000,
            sync: SyncConfig {
                peers,
                keys: Vec::new(),
                central: Some(central_url.clone()),
            },
            clock_offset_ms: 0,
            printer: Some(crate::print::drivers::PrinterConfig::Simulated {
                dir: dir.join(format!("printer-{t}")),
            }),
            paper_list_dir: Some(dir.join(format!("papirliste-{t}"))),
            election_name: Some("Kommunal- og regionsrådsvalg (demo)".into()),
            election_date: None,
        });
    }
    let central_cfg = crate::central::demo::config(
        &dir,
        "demo",
        &bytes,
        central_tables,
        ports[a.tables as usize],
    )?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let central = crate::central::daemon::start(central_cfg).await?;
        let mut running = Vec::new();
        for cfg in configs {
            let t = daemon::start(cfg).await?;
            {
                let mut core = lock(&t.core);
                let (state, _) = core.store().table_state(&generate::place_id(0), core.screen().map_err(|e| e.to_string())?.table_no).map_err(|e| e.to_string())?;
                if state != TableState::Open {
                    core.set_state(TableState::Open, "").map_err(|e| e.to_string())?;
                }
            }
            running.push(t);
        }
        println!("valgbord demo: a polling place ({}) with {} tables, simulated scanners and lights", generate::place_name(0), running.len());
        println!("data: {}", dir.display());
        for (i, t) in running.iter().enumerate() {
            println!("  bord {}: http://{}/", i + 1, t.addr);
        }
        println!(
            "  valgkontoret (central tally): http://{}/  login {} / {}",
            central.addr,
            crate::central::demo::DEMO_USER,
            crate::central::demo::DEMO_PASSWORD
        );
        println!("The tables share every check-in (sync over loopback): a voter checked in at one is refused at the others.");
        println!("valgsekretær-PIN: {DEMO_PIN}. Scan with the demo panel on each screen, or:");
        if let Some(t) = running.first() {
            println!("  curl -X POST -H 'Content-Type: application/json' -d '{{\"code\":\"...\"}}' http://{}/api/scan", t.addr);
        }
        println!("Ctrl-C stops the demo.");
        super::table::wait_for_shutdown().await;
        Ok::<(), String>(())
    })?;
    Ok(())
}

/// Ports for the tables: consecutive from `first`, or free ones when `first` is 0 (all
/// reserved at once so they differ, then released for the tables to bind).
fn demo_ports(first: u16, tables: u32) -> Result<Vec<u16>, String> {
    if first != 0 {
        return Ok((0..tables as u16).map(|i| first + i).collect());
    }
    let listeners = (0..tables)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("no free port: {e}"))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()).map_err(|e| e.to_string()))
        .collect()
}
