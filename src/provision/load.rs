//! Loading a polling place's election package onto a table: every check before anything
//! is written (among them that the package enrols this device's own key, and that it is
//! not older than the package the device holds), then the list imported, the device key
//! kept in the state folder and the table's configuration written.

use super::error::LoadError;
use super::package::{LIST_FILE, PACKAGE_FILE, Package, SignedPackage, sha256_hex};
use crate::election::keys::{DevicePublic, DeviceSecret};
use crate::election::list_signature;
use crate::store::Store;
use crate::store::binding::Mode;
use crate::store::import::ImportFailure;
use crate::store::keyfile;
use crate::store::meta::MetaKey;
use crate::table::config::{DeviceEntry, DeviceRole, HardwareConfig, SyncConfig, TableConfig};
use std::path::{Path, PathBuf};

/// Where a loaded table keeps its files.
pub struct StatePaths {
    pub config: PathBuf,
    pub database: PathBuf,
    pub key: PathBuf,
}

impl StatePaths {
    pub fn in_dir(dir: &Path) -> StatePaths {
        StatePaths {
            config: dir.join("table.toml"),
            database: dir.join("valgbord.db"),
            key: dir.join("device.key"),
        }
    }
}

/// A device's own key, made in its state folder the first time (as `valgbord key init`
/// does on a Pi); only its public half leaves the folder. The demo and the rehearsal
/// make every device's key this way, so they are enrolled as an election's devices are.
pub fn own_key(state: &Path) -> Result<DeviceSecret, LoadError> {
    std::fs::create_dir_all(state).map_err(|source| LoadError::MakeDir {
        path: state.to_path_buf(),
        source,
    })?;
    Ok(keyfile::load_or_create(&StatePaths::in_dir(state).key)?)
}

/// Every URL of `urls` but the `own`-th: a table's peers among its place's tables, as
/// the demo and the rehearsal list them.
pub fn peers_but(urls: &[String], own: usize) -> Vec<String> {
    urls.iter()
        .enumerate()
        .filter(|(i, _)| *i != own)
        .map(|(_, u)| u.clone())
        .collect()
}

/// How the loaded table is reached and reaches its peers, when the package does not
/// say (or the test runs on loopback ports).
#[derive(Default)]
pub struct Network {
    /// The screen's listener (default 127.0.0.1:8080, for the kiosk browser).
    pub listen: Option<String>,
    /// The TLS sync listener (default: all interfaces, the port of the table's planned
    /// address, else 8443).
    pub sync_listen: Option<String>,
    /// No TLS sync listener at all: a rehearsal on one machine without a network of
    /// its own, whose tables sync in plain HTTP on their screen ports. Test mode only;
    /// an election's load refuses it.
    pub no_sync_listener: bool,
    pub peers: Option<Vec<String>>,
    /// This Pi's own `[scanner]`, `[signals]` and `[printer]` sections (a TOML text kept
    /// on the device, e.g. /etc/valgbord/hardware.toml), added to the configuration.
    pub hardware: Option<String>,
}

/// What was loaded, for the person at the Pi.
pub struct Loaded {
    pub package: Package,
    pub table_no: u32,
    pub voters: usize,
    pub paths: StatePaths,
}

fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads and opens the signed package in `dir`.
fn open_package(dir: &Path, office: DevicePublic) -> Result<Package, LoadError> {
    let package_file = dir.join(PACKAGE_FILE);
    let signed: SignedPackage =
        serde_json::from_slice(&read(&package_file)?).map_err(|source| LoadError::NotAPackage {
            path: package_file,
            source,
        })?;
    Ok(signed.open(office)?)
}

/// Which table this device is in the package: its own table, or (for a reserve of the
/// place) the table `table` it replaces. A key the package does not enrol gets nothing.
fn enrolled_as(p: &Package, device: DevicePublic, table: Option<u32>) -> Result<u32, LoadError> {
    let place = p.place.id.clone();
    if let Some(own) = p.tables.iter().find(|t| t.device == device) {
        return match table {
            Some(n) if n != own.table_no => Err(LoadError::OtherTable {
                place,
                enrolled: own.table_no,
                asked: n,
            }),
            _ => Ok(own.table_no),
        };
    }
    if !p.reserves.contains(&device) {
        return Err(LoadError::NotEnrolled {
            place,
            fingerprint: device.fingerprint(),
        });
    }
    let table_no = table.ok_or_else(|| LoadError::ReserveNeedsTable {
        place: place.clone(),
    })?;
    match p.table(table_no) {
        Some(_) => Ok(table_no),
        None => Err(LoadError::NoSuchTable {
            place,
            table_no,
            has: p
                .tables
                .iter()
                .map(|t| t.table_no.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Refuses a package older than the one the device already holds (in `state`): a
/// genuine but withdrawn package (an old stick, a peer that was not updated) must not
/// undo the office's later one.
fn check_not_older(p: &Package, state: &Path, office: DevicePublic) -> Result<(), LoadError> {
    if !state.join(PACKAGE_FILE).exists() {
        return Ok(());
    }
    let held = open_package(state, office)?;
    let time = |p: &Package| {
        chrono::DateTime::parse_from_rfc3339(&p.created).map_err(|_| LoadError::Created {
            created: p.created.clone(),
        })
    };
    if held.election.id == p.election.id && time(p)? < time(&held)? {
        return Err(LoadError::Older {
            offered: p.created.clone(),
            held: held.created.clone(),
        });
    }
    Ok(())
}

/// Loads the package in `dir` onto this device (its key `key`), into the state folder
/// `state`: as the table the package enrols the key for, or, for a reserve of the
/// place, as table `table`. `mode` is [`Mode::Election`] but for the demo and the
/// rehearsal, which load their packages the same way in test mode (their events can
/// never be part of an election).
pub fn load_package(
    dir: &Path,
    key: &DeviceSecret,
    table: Option<u32>,
    office: DevicePublic,
    state: &Path,
    net: &Network,
    mode: Mode,
) -> Result<Loaded, LoadError> {
    if net.no_sync_listener && mode != Mode::Test {
        return Err(LoadError::NoSyncListenerInElection);
    }
    let package = open_package(dir, office)?;
    let table_no = enrolled_as(&package, key.public(), table)?;
    check_not_older(&package, state, office)?;
    let list = read(&dir.join(LIST_FILE))?;
    if sha256_hex(&list) != package.list.sha256 {
        return Err(LoadError::ListSwapped {
            list_file: LIST_FILE,
            expected: package.list.sha256.clone(),
            found: sha256_hex(&list),
        });
    }
    let sig = hex::decode(package.list.signature.trim()).map_err(LoadError::SignatureHex)?;
    list_signature::verify_list_signature(&list, &sig, office).map_err(LoadError::ListSignature)?;

    std::fs::create_dir_all(state).map_err(|source| LoadError::MakeDir {
        path: state.to_path_buf(),
        source,
    })?;
    let paths = StatePaths::in_dir(state);
    let mut store = Store::open(&paths.database)?;
    // A device bound to another election, or holding a rehearsal's data, is refused
    // before anything changes (FA 2022: test data left on the machines).
    store.check_binding(&package.election.id, mode)?;
    let voters = match store.meta(MetaKey::ListSha256)? {
        Some(h) if h == package.list.sha256 => store.voter_count(None)? as usize,
        Some(_) => return Err(LoadError::OtherList(paths.database.clone())),
        None => match store.import_file(&list, true, |_| {}) {
            Ok(r) => r.voters,
            Err(ImportFailure::List(errors)) => {
                return Err(LoadError::ListErrors {
                    count: errors.len(),
                    first: errors.first().map(|e| e.to_string()).unwrap_or_default(),
                });
            }
            Err(ImportFailure::Store(e)) => return Err(e.into()),
        },
    };
    store.bind(&package.election.id, mode)?;
    store.set_meta(MetaKey::OfficeKey, &office.to_hex())?;
    // The brevstemme marks loaded must be those the office signed (EP 2024).
    let marks = store.brevstemme_marks()?;
    if marks != package.list.brevstemmer {
        return Err(LoadError::Brevstemmer {
            held: marks.count,
            signed: package.list.brevstemmer.count,
        });
    }
    keyfile::save(&paths.key, key)?;
    // Kept beside the database, so this table can hand the package to a new table of
    // its polling place over the LAN.
    if dir != state {
        for name in [PACKAGE_FILE, LIST_FILE] {
            std::fs::copy(dir.join(name), state.join(name)).map_err(|source| LoadError::Keep {
                name,
                dir: state.to_path_buf(),
                source,
            })?;
        }
    }
    std::fs::write(
        &paths.config,
        config_text(&package, table_no, &paths, net, mode)?,
    )
    .map_err(|source| LoadError::WriteConfig {
        path: paths.config.clone(),
        source,
    })?;
    TableConfig::load(&paths.config).map_err(LoadError::ConfigDoesNotLoad)?;
    Ok(Loaded {
        package,
        table_no,
        voters,
        paths,
    })
}

/// The table's configuration file as written: a header saying where it came from, then
/// the configuration serialized through [`TableConfig`] itself.
fn config_text(
    p: &Package,
    table_no: u32,
    paths: &StatePaths,
    net: &Network,
    mode: Mode,
) -> Result<String, LoadError> {
    let body = toml::to_string_pretty(&table_config(p, table_no, paths, net, mode)?)
        .map_err(LoadError::ConfigToml)?;
    Ok(format!(
        "# Written by `valgbord election load` from the signed package of polling place {} ({}).\n# Load the package again rather than editing this file.\n{body}",
        p.place.id, p.place.name
    ))
}

/// The table's configuration, made from the package and this Pi's own hardware.
fn table_config(
    p: &Package,
    table_no: u32,
    paths: &StatePaths,
    net: &Network,
    mode: Mode,
) -> Result<TableConfig, LoadError> {
    let peers: Vec<String> = match &net.peers {
        Some(v) => v.clone(),
        None => p
            .tables
            .iter()
            .filter(|t| t.table_no != table_no)
            .filter_map(|t| t.address.clone())
            .collect(),
    };
    let devices: Vec<DeviceEntry> = p
        .tables
        .iter()
        .map(|t| DeviceEntry {
            key: t.device.to_hex(),
            role: DeviceRole::Table,
            table_no: Some(t.table_no),
        })
        .chain(p.reserves.iter().map(|r| DeviceEntry {
            key: r.to_hex(),
            role: DeviceRole::Reserve,
            table_no: None,
        }))
        .chain(p.all_centrals().map(|c| DeviceEntry {
            key: c.device.to_hex(),
            role: DeviceRole::Central,
            table_no: None,
        }))
        .collect();
    let listen = net.listen.as_deref().unwrap_or("127.0.0.1:8080");
    let sync_listen = net
        .sync_listen
        .clone()
        .or_else(|| {
            p.table(table_no)
                .and_then(|t| t.address.as_deref())
                .and_then(|a| a.trim_end_matches('/').rsplit(':').next())
                .map(|port| format!("0.0.0.0:{port}"))
        })
        .unwrap_or_else(|| "0.0.0.0:8443".into());
    let address = |what: &'static str, a: &str| {
        a.parse().map_err(|source| LoadError::Address {
            what,
            value: a.to_string(),
            source,
        })
    };
    let hardware = match &net.hardware {
        Some(text) => HardwareConfig::parse(text)?,
        None => HardwareConfig::default(),
    };
    Ok(TableConfig {
        election: p.election.id.clone(),
        mode,
        database: paths.database.clone(),
        key: paths.key.clone(),
        place: p.place.id.clone(),
        table_no,
        contests: p.election.contests.clone(),
        listen: address("listen", listen)?,
        scanner: hardware.scanner,
        signals: hardware.signals,
        pins: None,
        officials: p.officials.clone(),
        sync: SyncConfig {
            peers,
            devices,
            keys: None,
            central: p.all_centrals().map(|c| c.url.clone()).collect(),
            listen: match net.no_sync_listener {
                true => None,
                false => Some(address("the sync listen address", &sync_listen)?),
            },
            mdns: false,
        },
        printer: hardware.printer,
        paper_list_dir: None,
        election_name: Some(p.election.name.clone()),
        election_date: Some(p.election.date),
        api_scan: false,
        debounce_ms: TableConfig::DEFAULT_DEBOUNCE_MS,
        clock_offset_ms: 0,
        fast_bordvalg: Default::default(),
        place_addresses: p
            .place_addresses
            .iter()
            .map(|a| (a.place.clone(), a.address.clone()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::keys::DeviceSecret;
    use crate::provision::package::TableEntry;

    #[test]
    fn a_device_loads_as_what_the_package_enrols_it_as() {
        let p = crate::provision::package::tests::package();
        let table = DeviceSecret::from_seed([3; 32]).public();
        let reserve = DeviceSecret::from_seed([5; 32]).public();
        let stranger = DeviceSecret::from_seed([9; 32]).public();
        assert_eq!(enrolled_as(&p, table, None).unwrap(), 1);
        assert_eq!(enrolled_as(&p, table, Some(1)).unwrap(), 1);
        assert!(matches!(
            enrolled_as(&p, table, Some(2)),
            Err(LoadError::OtherTable {
                enrolled: 1,
                asked: 2,
                ..
            })
        ));
        assert_eq!(enrolled_as(&p, reserve, Some(1)).unwrap(), 1);
        assert!(matches!(
            enrolled_as(&p, reserve, None),
            Err(LoadError::ReserveNeedsTable { .. })
        ));
        assert!(matches!(
            enrolled_as(&p, reserve, Some(7)),
            Err(LoadError::NoSuchTable { table_no: 7, .. })
        ));
        let e = enrolled_as(&p, stranger, Some(1)).unwrap_err().to_string();
        assert!(e.contains(&stranger.fingerprint()), "{e}");
    }

    #[test]
    fn the_configuration_written_loads_back_the_same() {
        let mut p = crate::provision::package::tests::package();
        p.tables.push(TableEntry {
            table_no: 2,
            device: DeviceSecret::from_seed([4; 32]).public(),
            address: Some("https://10.0.0.12:8443".into()),
        });
        let dir = tempfile::tempdir().unwrap();
        let paths = StatePaths::in_dir(dir.path());
        let net = Network {
            hardware: Some("[printer]\nkind = \"simulated\"\ndir = \"/tmp/kvitteringer\"\n".into()),
            ..Network::default()
        };
        let text = config_text(&p, 1, &paths, &net, Mode::Election).unwrap();
        assert!(
            text.starts_with("# Written by `valgbord election load`"),
            "{text}"
        );
        std::fs::write(&paths.config, &text).unwrap();
        let loaded = TableConfig::load(&paths.config).unwrap();
        assert_eq!(
            loaded,
            table_config(&p, 1, &paths, &net, Mode::Election).unwrap()
        );
        assert_eq!(loaded.sync.peers, ["https://10.0.0.12:8443"]);
        // Both tables and the reserve.
        assert_eq!(loaded.sync.devices.len(), 3);
        assert!(loaded.printer.is_some() && !loaded.is_test());
    }

    #[test]
    fn only_a_test_table_goes_without_a_sync_listener() {
        let mut p = crate::provision::package::tests::package();
        p.centrals = vec![
            crate::provision::package::CentralEntry {
                url: "https://10.1.0.1:8443".into(),
                device: DeviceSecret::from_seed([7; 32]).public(),
            },
            crate::provision::package::CentralEntry {
                url: "https://10.2.0.1:8443".into(),
                device: DeviceSecret::from_seed([8; 32]).public(),
            },
        ];
        let dir = tempfile::tempdir().unwrap();
        let paths = StatePaths::in_dir(dir.path());
        let net = Network {
            no_sync_listener: true,
            ..Network::default()
        };
        let cfg = table_config(&p, 1, &paths, &net, Mode::Test).unwrap();
        assert_eq!(cfg.sync.listen, None);
        // Both centrals: each a device of role central and a URL to push to.
        assert_eq!(
            cfg.sync.central,
            ["https://10.1.0.1:8443", "https://10.2.0.1:8443"]
        );
        let roles = cfg
            .sync
            .devices
            .iter()
            .filter(|d| d.role == DeviceRole::Central);
        assert_eq!(roles.count(), 2);
        let key = DeviceSecret::from_seed([3; 32]);
        let e = load_package(
            dir.path(),
            &key,
            None,
            key.public(),
            dir.path(),
            &net,
            Mode::Election,
        );
        assert!(matches!(e, Err(LoadError::NoSyncListenerInElection)));
    }
}
