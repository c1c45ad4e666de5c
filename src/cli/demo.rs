//! `valgbord demo`: a whole polling place on one machine, with simulated hardware,
//! provisioned as an election is: each device makes its own key in its own folder, the
//! office enrols the public halves and makes the signed package (`provision::make`),
//! and each table loads it (`provision::load`), in test mode.

use super::failure::CmdResult;
use crate::central::config::CentralConfig;
use crate::election::checkin::TableState;
use crate::election::contest::Contest;
use crate::election::official::{OfficialRole, OfficialsFile};
use crate::provision::load::{Network, load_package, own_key, peers_but};
use crate::provision::make::{OnePlace, one_place};
use crate::provision::package::{CentralEntry, ElectionInfo};
use crate::store::binding::Mode;
use crate::store::generate;
use crate::table::config::TableConfig;
use crate::table::shared::lock;
use anyhow::Context;
use clap::Args;
use std::path::{Path, PathBuf};

/// The demo's valgsekretær PIN, printed at start.
pub const DEMO_PIN: &str = "246810";

/// The demo's officials: the valgsekretær (PIN [`DEMO_PIN`]) and two valgstyrere.
pub const DEMO_OFFICIALS: [(&str, OfficialRole, &str); 3] = [
    ("Anne Sørensen", OfficialRole::Valgsekretaer, DEMO_PIN),
    ("Mette Holm", OfficialRole::Valgstyrer, "135790"),
    ("Jens Nielsen", OfficialRole::Valgstyrer, "864202"),
];

/// The demo election's id and name.
const ELECTION: &str = "demo";
const ELECTION_NAME: &str = "Kommunal- og regionsrådsvalg (demo)";

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
    let (configs, central_cfg) = provision(&dir, &a)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let central = crate::app::central::start(central_cfg).await?;
        let mut running = Vec::new();
        for cfg in configs {
            let t = crate::app::table::start(cfg).await?;
            if running.is_empty() {
                examine_brevstemmer(&t.core)?;
            }
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
        println!("data: {} (each device's own key in its folder, the office's package in pakker/)", dir.display());
        for (i, t) in running.iter().enumerate() {
            println!("  bord {}: http://{}/", i + 1, t.addr);
        }
        println!(
            "  valgkontoret (central tally): https://{}/  login {} / {}",
            central.addr,
            crate::central::demo::DEMO_USER,
            crate::central::demo::DEMO_PASSWORD
        );
        println!("    (a self-signed certificate, {}: the browser asks once to trust it; the tables push to it over mutual TLS)", central_dir(&dir).join("kontor-cert.pem").display());
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

/// The demo's two valgstyrere examine the place's brevstemmer before the tables open
/// (KRVL § 71), each with a personal PIN, and take every one into account; the other
/// tables get the decisions by sync.
fn examine_brevstemmer(core: &crate::table::shared::SharedCore) -> anyhow::Result<()> {
    let [_, (first, _, first_pin), (second, _, second_pin)] = DEMO_OFFICIALS;
    // The PINs are checked (argon2) without the table's lock, as on the screen.
    let check = lock(core).pin_check();
    let (first, second) = (
        check.verify(first, first_pin)?,
        check.verify(second, second_pin)?,
    );
    let mut core = lock(core);
    let list = core.brevstemmer(&first)?;
    let undecided: Vec<String> = list
        .brevstemmer
        .into_iter()
        .filter(|b| b.status == crate::election::brevstemme::Examination::Undecided.code())
        .map(|b| b.voter_id)
        .collect();
    if !undecided.is_empty() {
        core.examine_brevstemmer(&undecided, None, &first, &second)?;
    }
    Ok(())
}

/// The central tally's folder: its own key, database and certificate.
fn central_dir(dir: &Path) -> PathBuf {
    dir.join("valgkontor")
}

/// Provisions the demo as an office and its devices would: keys made on the devices,
/// the enrolment and officials files, the signed package, each table loading it. Returns
/// the tables' configurations (as loaded, with the demo's paper list folder and fast
/// bordvalg) and the central tally's.
fn provision(dir: &Path, a: &DemoArgs) -> anyhow::Result<(Vec<TableConfig>, CentralConfig)> {
    let list = demo_list(dir, a)?;
    let (ports, sync_ports) = demo_ports(a)?;
    let place = generate::place_id(0);
    let tables = a.tables as usize;
    let urls: Vec<String> = sync_ports
        .iter()
        .map(|p| format!("https://127.0.0.1:{p}"))
        .collect();
    let table_dirs: Vec<PathBuf> = (1..=a.tables)
        .map(|t| dir.join(format!("bord-{t}")))
        .collect();
    let keys = table_dirs
        .iter()
        .map(|d| own_key(d))
        .collect::<Result<Vec<_>, _>>()?;
    let publics: Vec<_> = keys.iter().map(|k| k.public()).collect();
    let central_tables = publics
        .iter()
        .enumerate()
        .map(|(i, key)| crate::central::config::TableEntry {
            place: place.clone(),
            table_no: i as u32 + 1,
            key: key.to_hex(),
            url: None,
        })
        .collect();
    let central_key = own_key(&central_dir(dir))?;
    let election = ElectionInfo {
        id: ELECTION.into(),
        name: ELECTION_NAME.into(),
        date: chrono::Local::now().date_naive(),
        contests: vec![Contest::Kv, Contest::Rv],
    };
    // The central tally only receives here: the tables push to it (and pull from it)
    // over mutual TLS on its sync port, the last of the sync ports.
    let central = CentralEntry {
        url: urls[tables].clone(),
        device: central_key.public(),
    };
    let (package, office) = one_place(
        dir,
        OnePlace {
            election,
            list: &list,
            place: &place,
            tables: &publics,
            officials: &demo_officials()?,
            centrals: vec![central],
            place_addresses: &generate::place_addresses(DEMO_PLACES),
        },
    )?;
    let mut configs = Vec::new();
    for (i, (state, key)) in table_dirs.iter().zip(&keys).enumerate() {
        let net = Network {
            listen: Some(format!("127.0.0.1:{}", ports[i])),
            sync_listen: Some(format!("127.0.0.1:{}", sync_ports[i])),
            peers: Some(peers_but(&urls[..tables], i)),
            hardware: Some(simulated_printer(&dir.join(format!("printer-{}", i + 1)))?),
            no_sync_listener: false,
        };
        let loaded = load_package(&package, key, None, office, state, &net, Mode::Test)?;
        let mut cfg = TableConfig::load(&loaded.paths.config)?;
        cfg.paper_list_dir = Some(dir.join(format!("papirliste-{}", i + 1)));
        cfg.fast_bordvalg = demo_shares(a.tables);
        configs.push(cfg);
    }
    let central_cfg = crate::central::demo::config(
        &central_dir(dir),
        ELECTION,
        &list,
        central_tables,
        (ports[tables], sync_ports[tables]),
    )?;
    Ok((configs, central_cfg))
}

/// This "Pi"'s hardware section: a simulated printer writing into `dir` (the scanner
/// and lights are simulated when the section names none).
fn simulated_printer(dir: &Path) -> anyhow::Result<String> {
    #[derive(serde::Serialize)]
    struct Hardware {
        printer: crate::print::drivers::PrinterConfig,
    }
    Ok(toml::to_string(&Hardware {
        printer: crate::print::drivers::PrinterConfig::Simulated {
            dir: dir.to_path_buf(),
        },
    })?)
}

/// The demo's officials file, their PINs hashed, read as the office's file is.
fn demo_officials() -> anyhow::Result<OfficialsFile> {
    let mut csv = String::from("name,role,pin_hash\n");
    for (name, role, pin) in DEMO_OFFICIALS {
        let hash = crate::password::hash_pin(pin)?;
        csv.push_str(&format!("{name},{},\"{hash}\"\n", role.as_str()));
    }
    Ok(crate::election::official::parse_csv(&csv)?)
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

/// The municipality list's polling places: the demo's own and one other, so a voter of the
/// other is refused with its name and address.
const DEMO_PLACES: u32 = 2;

/// The demo's voter list: generated into the folder the first time, then reused.
fn demo_list(dir: &Path, a: &DemoArgs) -> anyhow::Result<Vec<u8>> {
    let list = dir.join("valgliste.csv");
    if !list.exists() {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&list)?);
        generate::write_list(
            &mut f,
            a.voters,
            a.seed,
            DEMO_PLACES,
            generate::DEFAULT_CONTESTS,
        )?;
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
