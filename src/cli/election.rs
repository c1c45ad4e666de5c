//! `valgbord election new` (the office makes an election and one signed package per
//! polling place from the public keys the devices made and the office enrolled) and
//! `valgbord election load` (a device takes its package from a USB stick or a table of
//! its place, and becomes the table the package enrols it as).

use super::failure::CmdResult;
use crate::election::contest::parse_contests;
use crate::provision::enrol::Enrolled;
use crate::provision::load::{Network, StatePaths, load_package};
use crate::provision::make::{Plan, make_packages};
use crate::provision::package::{CentralEntry, ElectionInfo};
use crate::store::keyfile;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ElectionCmd {
    /// Make an election: a signed package per polling place, listing the enrolled
    /// devices' public keys (no secret key is made or written).
    New(NewArgs),
    /// Load a polling place's package (e.g. from a USB stick) onto this enrolled device.
    Load(LoadArgs),
}

#[derive(Args)]
pub struct NewArgs {
    /// Short id, bound into every event and database ("kv2025").
    #[arg(long)]
    pub id: String,
    #[arg(long)]
    pub name: String,
    /// YYYY-MM-DD.
    #[arg(long)]
    pub date: chrono::NaiveDate,
    /// Contests held, e.g. KV+RV.
    #[arg(long)]
    pub contests: String,
    /// The voter list (the municipality's file, with brevstemme marks).
    #[arg(long)]
    pub list: PathBuf,
    /// The office's secret key (`valgbord office keygen`).
    #[arg(long)]
    pub office_secret: PathBuf,
    /// The enrolled devices: a line `place,role,table_no,key` per device (role `table`
    /// with its number, or `reserve` with none; key as `valgbord key show` prints it).
    #[arg(long)]
    pub enrol: PathBuf,
    /// The polling places' officials: CSV with the header `place,name,role,pin_hash`
    /// (each place's valgsekretær and valgstyrere), or `name,role,pin_hash` for the same
    /// officials at every place (role valgsekretaer or valgstyrer; hashes from
    /// `valgbord pin hash`).
    #[arg(long)]
    pub officials: PathBuf,
    /// PLACE:TABLE=URL: where a table answers its peers (its TLS sync listener,
    /// https://HOST:PORT).
    #[arg(long)]
    pub address: Vec<String>,
    /// PLACE=ADDRESS: where polling place PLACE is ("Skolevej 2, 8000 Aarhus C"), said
    /// at every table to a voter who came to the wrong place. Repeat for each place.
    #[arg(long)]
    pub place_address: Vec<String>,
    /// A central tally's URL; repeat for a reserve central, each with its
    /// `--central-key`, in the same order.
    #[arg(long, requires = "central_key")]
    pub central: Vec<String>,
    /// The public key file of the central named by the `--central` in the same place.
    #[arg(long)]
    pub central_key: Vec<PathBuf>,
    /// The folder that gets one sub-folder per polling place (copy it to the USB stick).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct LoadArgs {
    /// The package folder of the polling place (e.g. on the USB stick).
    #[arg(long, required_unless_present = "from_peer")]
    pub package: Option<PathBuf>,
    /// Or fetch it over the LAN, over mutual TLS, from a loaded table of the polling
    /// place (its sync URL, https://HOST:PORT).
    #[arg(long, conflicts_with = "package")]
    pub from_peer: Option<String>,
    /// This device's own key (`valgbord key init`); default: device.key in `--state`.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// For a reserve device: the table it replaces. A table's own number comes from
    /// the package; given, it must agree.
    #[arg(long)]
    pub table: Option<u32>,
    /// The office's public key, installed on the Pi with the software.
    #[arg(long)]
    pub office_key: PathBuf,
    /// Where the table keeps its database, key and configuration.
    #[arg(long)]
    pub state: PathBuf,
    /// The screen's listen address (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<String>,
    /// The TLS sync listen address (default 0.0.0.0 and the port of the table's
    /// planned address, or 8443).
    #[arg(long)]
    pub sync_listen: Option<String>,
    /// The peers' URLs (default: the addresses in the package).
    #[arg(long, num_args = 0..)]
    pub peer: Option<Vec<String>>,
    /// This Pi's [scanner], [signals] and [printer] sections (TOML), added to the
    /// configuration; without it the scanner and lights are simulated.
    #[arg(long)]
    pub hardware: Option<PathBuf>,
}

pub fn run(cmd: ElectionCmd) -> CmdResult {
    match cmd {
        ElectionCmd::New(a) => new(a),
        ElectionCmd::Load(a) => load(a),
    }
}

/// `election new`: reads the office's files, then writes each polling place's
/// signed package beside a copy of the list (`provision::make`).
fn new(a: NewArgs) -> CmdResult {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let officials = crate::election::official::parse_csv(&read(&a.officials)?)
        .with_context(|| format!("{}", a.officials.display()))?;
    let enrolled =
        Enrolled::parse(&read(&a.enrol)?).with_context(|| format!("{}", a.enrol.display()))?;
    let office = keyfile::load(&a.office_secret)?;
    let contests = parse_contests(&a.contests).map_err(|e| anyhow::anyhow!("--contests: {e}"))?;
    let list =
        std::fs::read(&a.list).with_context(|| format!("cannot read {}", a.list.display()))?;
    let addresses = planned_addresses(&a.address)?;
    let place_addresses = place_addresses(&a.place_address)?;
    if a.central.len() != a.central_key.len() {
        return Err(anyhow::anyhow!(
            "{} --central but {} --central-key: give each central its URL and its public key file, in the same order",
            a.central.len(),
            a.central_key.len()
        ));
    }
    let centrals = a
        .central
        .iter()
        .zip(&a.central_key)
        .map(|(url, key)| {
            Ok(CentralEntry {
                url: url.clone(),
                device: keyfile::load_public(key)?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let plan = Plan {
        election: ElectionInfo {
            id: a.id.clone(),
            name: a.name.clone(),
            date: a.date,
            contests,
        },
        list: &list,
        enrolled: &enrolled,
        officials: &officials,
        addresses: &addresses,
        place_addresses: &place_addresses,
        centrals,
        only_place: None,
    };
    let made = make_packages(&plan, &office, &a.out).with_context(|| {
        format!(
            "no package made (list {}, enrolment {}, officials {})",
            a.list.display(),
            a.enrol.display(),
            a.officials.display()
        )
    })?;
    for m in &made.places {
        let p = &m.package;
        println!(
            "polling place {} ({}): {} tables, {} reserves, {} officials, {} voters here -> {}",
            p.place.id,
            p.place.name,
            p.tables.len(),
            p.reserves.len(),
            p.officials.len(),
            p.list.voters_here,
            m.dir.display()
        );
    }
    println!(
        "election {}: {} voters, {} brevstemmer, list SHA-256 {}",
        a.id, made.voters, made.brevstemmer, made.sha256
    );
    Ok(())
}

/// The `--address PLACE:TABLE=URL` arguments by (place, table).
fn planned_addresses(address: &[String]) -> anyhow::Result<BTreeMap<(String, u32), String>> {
    let mut addresses = BTreeMap::new();
    for a in address {
        let parsed = a.split_once('=').and_then(|(pt, url)| {
            let (p, t) = pt.split_once(':')?;
            Some((
                (p.trim().to_string(), t.trim().parse().ok()?),
                url.trim().to_string(),
            ))
        });
        let (k, v) =
            parsed.ok_or_else(|| anyhow::anyhow!("--address \"{a}\": expected PLACE:TABLE=URL"))?;
        addresses.insert(k, v);
    }
    Ok(addresses)
}

/// The `--place-address PLACE=ADDRESS` arguments by place.
fn place_addresses(given: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut addresses = BTreeMap::new();
    for a in given {
        let (place, address) = a
            .split_once('=')
            .map(|(p, ad)| (p.trim(), ad.trim()))
            .filter(|(p, ad)| !p.is_empty() && !ad.is_empty())
            .ok_or_else(|| anyhow::anyhow!("--place-address \"{a}\": expected PLACE=ADDRESS"))?;
        addresses.insert(place.to_string(), address.to_string());
    }
    Ok(addresses)
}

/// `election load`: a table takes its polling place's package, from a folder or from a
/// loaded peer over the LAN.
fn load(a: LoadArgs) -> CmdResult {
    let office = keyfile::load_public(&a.office_key)?;
    let hardware = match a.hardware {
        Some(h) => Some(
            std::fs::read_to_string(&h).with_context(|| format!("cannot read {}", h.display()))?,
        ),
        None => None,
    };
    let key_path = a.key.unwrap_or_else(|| StatePaths::in_dir(&a.state).key);
    if !key_path.exists() {
        anyhow::bail!(
            "no device key at {path}: make it with `valgbord key init --key {path}` and enrol its public key with the election office",
            path = key_path.display()
        );
    }
    let key = keyfile::load(&key_path)?;
    let incoming = a.state.join(".incoming");
    let package = match (a.package, a.from_peer) {
        (Some(p), _) => p,
        (None, Some(peer)) => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(crate::provision::serve::fetch(
                &peer, &key, office, &incoming,
            ))?;
            println!("fetched the package from {peer}");
            incoming.clone()
        }
        (None, None) => anyhow::bail!("give --package DIR, or --from-peer URL"),
    };
    let result = load_package(
        &package,
        &key,
        a.table,
        office,
        &a.state,
        &Network {
            listen: a.listen,
            sync_listen: a.sync_listen,
            peers: a.peer,
            hardware,
            no_sync_listener: false,
        },
        crate::store::binding::Mode::Election,
    );
    if incoming.exists() {
        let _ = std::fs::remove_dir_all(&incoming);
    }
    let loaded = result?;
    let p = &loaded.package;
    println!(
        "loaded election {} ({}), polling place {} ({}), table {}: {} voters, {} brevstemmer, list SHA-256 {}",
        p.election.id,
        p.election.name,
        p.place.id,
        p.place.name,
        loaded.table_no,
        loaded.voters,
        p.list.brevstemmer.count,
        p.list.sha256
    );
    if p.reserves.contains(&key.public()) {
        println!(
            "this reserve device stands in for table {} (its peers know it as a reserve of polling place {})",
            loaded.table_no, p.place.id
        );
    }
    println!(
        "start it with: valgbord table --config {}",
        loaded.paths.config.display()
    );
    Ok(())
}
