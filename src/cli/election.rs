//! `valgbord election new` (the office makes an election and one signed package per
//! polling place) and `valgbord election load` (a table takes its package from a USB
//! stick).

use super::CmdResult;
use crate::election::contest::parse_contests;
use crate::election::list_change::BrevstemmeDigest;
use crate::election::{list_signature, voter_list};
use crate::provision::load::{Network, load_package};
use crate::provision::package::{
    CentralEntry, ElectionInfo, FORMAT, LIST_FILE, ListInfo, PACKAGE_FILE, Package, PlaceInfo,
    SignedPackage, TableEntry, key_file, sha256_hex,
};
use crate::store::keyfile;
use clap::Subcommand;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ElectionCmd {
    /// Make an election: a signed package per polling place, with a device key per table.
    New {
        /// Short id, bound into every event and database ("kv2025").
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        date: chrono::NaiveDate,
        /// Contests held, e.g. KV+RV.
        #[arg(long)]
        contests: String,
        /// The voter list (the municipality's file, with brevstemme marks).
        #[arg(long)]
        list: PathBuf,
        /// The office's secret key (`valgbord office keygen`).
        #[arg(long)]
        office_secret: PathBuf,
        /// Tables per polling place; `--tables-at PLACE=N` overrides it for one place.
        #[arg(long, default_value_t = 3)]
        tables: u32,
        #[arg(long)]
        tables_at: Vec<String>,
        /// The valgsekretær PIN's argon2 hash (`valgbord pin hash`).
        #[arg(long)]
        pin_hash: String,
        /// PLACE:TABLE=URL: where a table answers its peers (its TLS sync listener,
        /// https://HOST:PORT).
        #[arg(long)]
        address: Vec<String>,
        /// The central tally's URL and public key file.
        #[arg(long, requires = "central_key")]
        central: Option<String>,
        #[arg(long)]
        central_key: Option<PathBuf>,
        /// The folder that gets one sub-folder per polling place (copy it to the USB stick).
        #[arg(long)]
        out: PathBuf,
    },
    /// Load a polling place's package (e.g. from a USB stick) as one of its tables.
    Load {
        /// The package folder of the polling place (e.g. on the USB stick).
        #[arg(long, required_unless_present = "from_peer")]
        package: Option<PathBuf>,
        /// Or fetch it over the LAN from a loaded table of the polling place
        /// (its sync URL, https://HOST:PORT); needs `--key`.
        #[arg(long, requires = "key", conflicts_with = "package")]
        from_peer: Option<String>,
        /// This table's device key (for `--from-peer`; on a USB stick it is in the package).
        #[arg(long)]
        key: Option<PathBuf>,
        #[arg(long)]
        table: u32,
        /// The office's public key, installed on the Pi with the software.
        #[arg(long)]
        office_key: PathBuf,
        /// Where the table keeps its database, key and configuration.
        #[arg(long)]
        state: PathBuf,
        /// The screen's listen address (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
        /// The TLS sync listen address (default 0.0.0.0 and the port of the table's
        /// planned address, or 8443).
        #[arg(long)]
        sync_listen: Option<String>,
        /// The peers' URLs (default: the addresses in the package).
        #[arg(long, num_args = 0..)]
        peer: Option<Vec<String>>,
        /// This Pi's [scanner], [signals] and [printer] sections (TOML), added to the
        /// configuration; without it the scanner and lights are simulated.
        #[arg(long)]
        hardware: Option<PathBuf>,
    },
}

pub fn run(cmd: ElectionCmd) -> CmdResult {
    match cmd {
        ElectionCmd::New {
            id,
            name,
            date,
            contests,
            list,
            office_secret,
            tables,
            tables_at,
            pin_hash,
            address,
            central,
            central_key,
            out,
        } => {
            let office = keyfile::load(&office_secret)?;
            let contests = parse_contests(&contests).map_err(|e| format!("--contests: {e}"))?;
            let bytes =
                std::fs::read(&list).map_err(|e| format!("cannot read {}: {e}", list.display()))?;
            let parsed = voter_list::parse(&bytes, |_| {}).map_err(|errors| {
                format!(
                    "{} has {} error(s); the first: {}",
                    list.display(),
                    errors.len(),
                    errors.first().map(|e| e.to_string()).unwrap_or_default()
                )
            })?;
            let mut per_place: BTreeMap<String, u32> = BTreeMap::new();
            for (place, _) in &parsed.places {
                per_place.insert(place.clone(), tables);
            }
            for t in &tables_at {
                let (p, n) = t
                    .split_once('=')
                    .ok_or_else(|| format!("--tables-at \"{t}\": expected PLACE=N"))?;
                let n: u32 = n
                    .trim()
                    .parse()
                    .map_err(|_| format!("--tables-at \"{t}\": N is not a number"))?;
                let slot = per_place.get_mut(p.trim()).ok_or_else(|| {
                    format!("--tables-at \"{t}\": the list has no polling place {p}")
                })?;
                *slot = n;
            }
            let mut addresses: BTreeMap<(String, u32), String> = BTreeMap::new();
            for a in &address {
                let parsed = a.split_once('=').and_then(|(pt, url)| {
                    let (p, t) = pt.split_once(':')?;
                    Some((
                        (p.trim().to_string(), t.trim().parse().ok()?),
                        url.trim().to_string(),
                    ))
                });
                let (k, v) =
                    parsed.ok_or_else(|| format!("--address \"{a}\": expected PLACE:TABLE=URL"))?;
                addresses.insert(k, v);
            }
            let central = match (central, central_key) {
                (Some(url), Some(key)) => Some(CentralEntry {
                    url,
                    device: keyfile::load_public(&key)?,
                }),
                _ => None,
            };
            let list_sig = hex::encode(list_signature::sign_list(&bytes, &office));
            let sha = sha256_hex(&bytes);
            let marks = BrevstemmeDigest::of_voters(&parsed.voters);
            for (place, place_name) in &parsed.places {
                let n = per_place.get(place).copied().unwrap_or(tables);
                let dir = out.join(format!("valgsted-{place}"));
                std::fs::create_dir_all(&dir)
                    .map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
                let mut entries = Vec::new();
                for t in 1..=n {
                    let key = keyfile::load_or_create(&dir.join(key_file(t)))?;
                    entries.push(TableEntry {
                        table_no: t,
                        device: key.public(),
                        address: addresses.get(&(place.clone(), t)).cloned(),
                    });
                }
                let package = Package {
                    format: FORMAT.into(),
                    election: ElectionInfo {
                        id: id.clone(),
                        name: name.clone(),
                        date,
                        contests: contests.clone(),
                    },
                    place: PlaceInfo {
                        id: place.clone(),
                        name: place_name.clone(),
                    },
                    tables: entries,
                    central: central.clone(),
                    list: ListInfo {
                        sha256: sha.clone(),
                        signature: list_sig.clone(),
                        voters: parsed.voters.len() as u64,
                        voters_here: parsed.voters.iter().filter(|v| &v.place == place).count()
                            as u64,
                        brevstemmer: marks.clone(),
                    },
                    pin_hash: pin_hash.clone(),
                    created: chrono::Local::now().to_rfc3339(),
                };
                let signed = SignedPackage::sign(&package, &office)?;
                let json = serde_json::to_string_pretty(&signed).map_err(|e| e.to_string())?;
                std::fs::write(dir.join(PACKAGE_FILE), json + "\n")
                    .map_err(|e| format!("cannot write the package: {e}"))?;
                std::fs::write(dir.join(LIST_FILE), &bytes)
                    .map_err(|e| format!("cannot write the list: {e}"))?;
                println!(
                    "polling place {place} ({place_name}): {n} tables, {} voters here -> {}",
                    package.list.voters_here,
                    dir.display()
                );
            }
            println!(
                "election {id}: {} voters, {} brevstemmer, list SHA-256 {sha}",
                parsed.voters.len(),
                marks.count
            );
            Ok(())
        }
        ElectionCmd::Load {
            package,
            from_peer,
            key,
            table,
            office_key,
            state,
            listen,
            sync_listen,
            peer,
            hardware,
        } => {
            let office = keyfile::load_public(&office_key)?;
            let hardware = match hardware {
                Some(h) => Some(
                    std::fs::read_to_string(&h)
                        .map_err(|e| format!("cannot read {}: {e}", h.display()))?,
                ),
                None => None,
            };
            let incoming = state.join(".incoming");
            let package = match (package, from_peer, key) {
                (Some(p), _, _) => p,
                (None, Some(peer), Some(key)) => {
                    let key = keyfile::load(&key)?;
                    let rt = tokio::runtime::Runtime::new()?;
                    rt.block_on(crate::provision::serve::fetch(
                        &peer, &key, table, &incoming,
                    ))?;
                    println!("fetched the package from {peer}");
                    incoming.clone()
                }
                _ => return Err("give --package DIR, or --from-peer URL with --key".into()),
            };
            let result = load_package(
                &package,
                table,
                office,
                &state,
                &Network {
                    listen,
                    sync_listen,
                    peers: peer,
                    hardware,
                },
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
            println!(
                "start it with: valgbord table --config {}",
                loaded.paths.config.display()
            );
            Ok(())
        }
    }
}
