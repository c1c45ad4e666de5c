//! `valgbord demo`: a whole polling place on one machine, with simulated hardware.

use super::failure::CmdResult;
use crate::election::checkin::TableState;
use crate::election::contest::Contest;
use crate::election::official::{Official, OfficialRole};
use crate::store::Store;
use crate::store::binding::Mode;
use crate::store::generate;
use crate::table::config::{
    DeviceEntry, DeviceRole, ScannerConfig, SignalsConfig, SyncConfig, TableConfig,
};
use crate::table::shared::lock;
use anyhow::Context;
use clap::Args;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The demo's valgsekretær PIN, printed at start.
pub const DEMO_PIN: &str = "246810";

/// The demo's officials: the valgsekretær (PIN [`DEMO_PIN`]) and two valgstyrere.
pub const DEMO_OFFICIALS: [(&str, OfficialRole, &str); 3] = [
    ("Anne Sørensen", OfficialRole::Valgsekretaer, DEMO_PIN),
    ("Mette Holm", OfficialRole::Valgstyrer, "135790"),
    ("Jens Nielsen", OfficialRole::Valgstyrer, "864202"),
];

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
    /// TLS sync port of table 1; table N syncs on sync-port + N - 1, the central tally on
    /// the next. 0 picks free ports.
    #[arg(long, default_value_t = 8443)]
    pub sync_port: u16,
    /// Data folder (made fresh under the temp folder when not given).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn run(a: DemoArgs) -> CmdResult {
    let dir = demo_dir(&a)?;
    let bytes = demo_list(&dir, &a)?;
    let officials = demo_officials()?;
    let (ports, sync_ports) = demo_ports(&a)?;
    // The tables sync over TLS as in an election: each device key is made up front so
    // every table can list all of them, and only they can connect.
    let central_key = crate::store::keyfile::load_or_create(&dir.join("valgkontor.key"))?;
    let mut devices = vec![DeviceEntry {
        key: central_key.public().to_hex(),
        role: DeviceRole::Central,
        table_no: None,
    }];
    let mut central_tables = Vec::new();
    for t in 1..=a.tables {
        let key = crate::store::keyfile::load_or_create(&dir.join(format!("bord-{t}.key")))?;
        devices.push(DeviceEntry {
            key: key.public().to_hex(),
            role: DeviceRole::Table,
            table_no: Some(t),
        });
        central_tables.push(crate::central::config::TableEntry {
            place: generate::place_id(0),
            table_no: t,
            key: key.public().to_hex(),
            url: None,
        });
    }
    // The central tally only receives here: the tables push to it (and pull from it)
    // over mutual TLS on its sync port, the last of the sync ports.
    let urls: Vec<String> = sync_ports
        .iter()
        .map(|p| format!("https://127.0.0.1:{p}"))
        .collect();
    let central_url = urls[a.tables as usize].clone();
    let mut configs = Vec::new();
    for t in 1..=a.tables {
        let db = demo_database(&dir, t, &bytes)?;
        let peers = urls[..a.tables as usize]
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != t as usize - 1)
            .map(|(_, u)| u.clone())
            .collect();
        let sync = SyncConfig {
            peers,
            devices: devices.clone(),
            central: vec![central_url.clone()],
            listen: Some(SocketAddr::from((
                [127, 0, 0, 1],
                sync_ports[t as usize - 1],
            ))),
            ..SyncConfig::default()
        };
        configs.push(table_config(
            &dir,
            t,
            a.tables,
            db,
            ports[t as usize - 1],
            sync,
            &officials,
        ));
    }
    let central_cfg = crate::central::demo::config(
        &dir,
        "demo",
        &bytes,
        central_tables,
        (ports[a.tables as usize], sync_ports[a.tables as usize]),
    )?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let central = crate::app::central::start(central_cfg).await?;
        let mut running = Vec::new();
        for cfg in configs {
            let t = crate::app::table::start(cfg).await?;
            {
                let mut core = lock(&t.core);
                let (state, _) = core.store().table_state(&generate::place_id(0), core.screen()?.table_no)?;
                if state != TableState::Open {
                    core.set_state(TableState::Open, "")?;
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
            "  valgkontoret (central tally): https://{}/  login {} / {}",
            central.addr,
            crate::central::demo::DEMO_USER,
            crate::central::demo::DEMO_PASSWORD
        );
        println!("    (a self-signed certificate, {}: the browser asks once to trust it; the tables push to it over mutual TLS)", dir.join("kontor-cert.pem").display());
        println!("The tables share every check-in (sync over TLS with the device keys, on loopback): a voter checked in at one is refused at the others.");
        for (name, role, pin) in DEMO_OFFICIALS {
            println!("{} {name}: PIN {pin}", role.danish());
        }
        println!("Scan with the demo panel on each screen, or:");
        if let Some(t) = running.first() {
            println!("  curl -X POST -H 'Content-Type: application/json' -d '{{\"code\":\"...\"}}' http://{}/api/scan", t.addr);
        }
        println!("Ctrl-C stops the demo.");
        super::table::wait_for_shutdown().await;
        Ok::<(), anyhow::Error>(())
    }).map_err(anyhow::Error::msg)?;
    Ok(())
}

/// The demo's data folder: the one given, or a fresh one under the temp folder.
fn demo_dir(a: &DemoArgs) -> anyhow::Result<PathBuf> {
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => {
            let d = std::env::temp_dir().join("valgbord-demo");
            // Our own scratch folder: start from nothing so old demo runs do not linger.
            let _ = std::fs::remove_dir_all(&d);
            d
        }
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// The demo's voter list: generated into the folder the first time, then reused.
fn demo_list(dir: &Path, a: &DemoArgs) -> anyhow::Result<Vec<u8>> {
    let list = dir.join("valgliste.csv");
    if !list.exists() {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&list)?);
        generate::write_list(&mut f, a.voters, a.seed, 2, generate::DEFAULT_CONTESTS)?;
        std::io::Write::flush(&mut f)?;
    }
    Ok(std::fs::read(&list)?)
}

/// The screen ports (the tables', then the central tally's) and the sync (TLS) ports
/// (likewise).
fn demo_ports(a: &DemoArgs) -> anyhow::Result<(Vec<u16>, Vec<u16>)> {
    let (ports, sync_ports) = if a.port == 0 && a.sync_port == 0 {
        // Reserved at once, so the two sets cannot share a port.
        let mut all = crate::ports::ports(0, 2 * a.tables + 2)?;
        let sync = all.split_off(a.tables as usize + 1);
        (all, sync)
    } else {
        (
            crate::ports::ports(a.port, a.tables + 1)?,
            crate::ports::ports(a.sync_port, a.tables + 1)?,
        )
    };
    if ports.iter().any(|p| sync_ports.contains(p)) {
        return Err(anyhow::anyhow!("--port and --sync-port ranges overlap"));
    }
    Ok((ports, sync_ports))
}

/// Table `t`'s database, bound to the demo election and holding the list (kept from
/// an earlier run in the same folder).
fn demo_database(dir: &Path, t: u32, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    let db = dir.join(format!("bord-{t}.db"));
    let mut store = Store::open(&db)?;
    if store.bound_election()?.is_none() {
        store.bind("demo", Mode::Test)?;
        store
            .import_file(bytes, false, |_| {})
            .map_err(|e| anyhow::anyhow!("demo list does not import: {e:?}"))?;
    }
    Ok(db)
}

/// The demo's officials with their PINs hashed.
fn demo_officials() -> Result<Vec<Official>, crate::password::HashError> {
    DEMO_OFFICIALS
        .iter()
        .map(|(name, role, pin)| {
            Ok(Official {
                name: name.to_string(),
                role: *role,
                pin_hash: crate::password::hash_pin(pin)?,
            })
        })
        .collect()
}

/// Table `t`'s configuration: simulated hardware and printer, the demo's officials.
fn table_config(
    dir: &Path,
    t: u32,
    tables: u32,
    database: PathBuf,
    port: u16,
    sync: SyncConfig,
    officials: &[Official],
) -> TableConfig {
    TableConfig {
        election: "demo".into(),
        mode: Mode::Test,
        database,
        key: dir.join(format!("bord-{t}.key")),
        place: generate::place_id(0),
        table_no: t,
        contests: vec![Contest::Kv, Contest::Rv],
        listen: SocketAddr::from(([127, 0, 0, 1], port)),
        scanner: ScannerConfig::Simulated,
        signals: SignalsConfig::Simulated,
        pins: None,
        officials: officials.to_vec(),
        api_scan: true,
        debounce_ms: 2_000,
        sync,
        clock_offset_ms: 0,
        printer: Some(crate::print::drivers::PrinterConfig::Simulated {
            dir: dir.join(format!("printer-{t}")),
        }),
        paper_list_dir: Some(dir.join(format!("papirliste-{t}"))),
        election_name: Some("Kommunal- og regionsrådsvalg (demo)".into()),
        election_date: None,
        fast_bordvalg: demo_shares(tables),
    }
}

/// The demo's fast bordvalg: the surnames split evenly over the tables.
fn demo_shares(tables: u32) -> std::collections::BTreeMap<String, String> {
    const LETTERS: &[char] = &[
        'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R',
        'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Æ', 'Ø', 'Å',
    ];
    let n = tables.max(1) as usize;
    (0..n)
        .map(|i| {
            let from = LETTERS[i * LETTERS.len() / n];
            let to = LETTERS[((i + 1) * LETTERS.len() / n).max(1) - 1];
            ((i + 1).to_string(), format!("{from}-{to}"))
        })
        .collect()
}
