//! Loading a polling place's election package onto a table: every check before anything
//! is written, then the list imported, the device key installed and the table's
//! configuration written.

use super::package::{LIST_FILE, PACKAGE_FILE, Package, SignedPackage, key_file, sha256_hex};
use crate::election::keys::DevicePublic;
use crate::election::list_signature;
use crate::store::Store;
use crate::store::binding::Mode;
use crate::store::import::ImportFailure;
use crate::store::keyfile;
use crate::store::meta::MetaKey;
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

/// How the loaded table is reached and reaches its peers, when the package does not
/// say (or the test runs on loopback ports).
#[derive(Default)]
pub struct Network {
    /// The screen's listener (default 127.0.0.1:8080, for the kiosk browser).
    pub listen: Option<String>,
    /// The TLS sync listener (default: all interfaces, the port of the table's planned
    /// address, else 8443).
    pub sync_listen: Option<String>,
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

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Loads the package in `dir` as table `table_no`, into the state folder `state`.
pub fn load_package(
    dir: &Path,
    table_no: u32,
    office: DevicePublic,
    state: &Path,
    net: &Network,
) -> Result<Loaded, String> {
    let signed: SignedPackage =
        serde_json::from_slice(&read(&dir.join(PACKAGE_FILE))?).map_err(|e| {
            format!(
                "{}: not an election package: {e}",
                dir.join(PACKAGE_FILE).display()
            )
        })?;
    let package = signed.open(office)?;
    let entry = package.table(table_no).ok_or_else(|| {
        format!(
            "the package of polling place {} has no table {table_no} (it has {})",
            package.place.id,
            package
                .tables
                .iter()
                .map(|t| t.table_no.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let key = keyfile::load(&dir.join(key_file(table_no))).map_err(|e| e.to_string())?;
    if key.public() != entry.device {
        return Err(format!(
            "{} is not the key the package lists for table {table_no}",
            key_file(table_no)
        ));
    }
    let list = read(&dir.join(LIST_FILE))?;
    if sha256_hex(&list) != package.list.sha256 {
        return Err(format!(
            "{LIST_FILE} is not the list the package names (SHA-256 {} expected, {} found): it was changed or swapped",
            package.list.sha256,
            sha256_hex(&list)
        ));
    }
    let sig = hex::decode(package.list.signature.trim())
        .map_err(|e| format!("the list signature in the package is not hex: {e}"))?;
    list_signature::verify_list_signature(&list, &sig, office).map_err(|e| e.to_string())?;

    std::fs::create_dir_all(state).map_err(|e| format!("cannot make {}: {e}", state.display()))?;
    let paths = StatePaths::in_dir(state);
    let mut store = Store::open(&paths.database).map_err(|e| e.to_string())?;
    // A device bound to another election, or holding a rehearsal's data, is refused
    // before anything changes (FA 2022: test data left on the machines).
    store
        .check_binding(&package.election.id, Mode::Election)
        .map_err(|e| e.to_string())?;
    let voters = match store.meta(MetaKey::ListSha256).map_err(|e| e.to_string())? {
        Some(h) if h == package.list.sha256 => {
            store.voter_count(None).map_err(|e| e.to_string())? as usize
        }
        Some(_) => {
            return Err(format!(
                "{} already holds another voter list of this election; destroy it first",
                paths.database.display()
            ));
        }
        None => match store.import_file(&list, true, |_| {}) {
            Ok(r) => r.voters,
            Err(ImportFailure::List(errors)) => {
                return Err(format!(
                    "the package's list has {} error(s); the first: {}",
                    errors.len(),
                    errors.first().map(|e| e.to_string()).unwrap_or_default()
                ));
            }
            Err(ImportFailure::Store(e)) => return Err(e.to_string()),
        },
    };
    store
        .bind(&package.election.id, Mode::Election)
        .map_err(|e| e.to_string())?;
    store
        .set_meta(MetaKey::OfficeKey, &office.to_hex())
        .map_err(|e| e.to_string())?;
    // The brevstemme marks loaded must be those the office signed (EP 2024).
    let marks = store.brevstemme_marks().map_err(|e| e.to_string())?;
    if marks != package.list.brevstemmer {
        return Err(format!(
            "the list holds {} brevstemmer, the package says {}: not loaded",
            marks.count, package.list.brevstemmer.count
        ));
    }
    keyfile::save(&paths.key, &key).map_err(|e| e.to_string())?;
    // Kept beside the database, so this table can hand the package to a new table of
    // its polling place over the LAN.
    if dir != state {
        for name in [PACKAGE_FILE, LIST_FILE] {
            std::fs::copy(dir.join(name), state.join(name))
                .map_err(|e| format!("cannot keep {name} in {}: {e}", state.display()))?;
        }
    }
    std::fs::write(&paths.config, config_text(&package, table_no, &paths, net)?)
        .map_err(|e| format!("cannot write {}: {e}", paths.config.display()))?;
    crate::table::config::TableConfig::load(&paths.config)
        .map_err(|e| format!("the configuration made from the package does not load: {e}"))?;
    Ok(Loaded {
        package,
        table_no,
        voters,
        paths,
    })
}

/// The table's configuration, made from the package.
fn config_text(
    p: &Package,
    table_no: u32,
    paths: &StatePaths,
    net: &Network,
) -> Result<String, String> {
    use toml::Value;
    let s = |x: &str| Value::String(x.to_string());
    let peers: Vec<String> = match &net.peers {
        Some(v) => v.clone(),
        None => p
            .tables
            .iter()
            .filter(|t| t.table_no != table_no)
            .filter_map(|t| t.address.clone())
            .collect(),
    };
    let mut keys: Vec<String> = p.tables.iter().map(|t| t.device.to_hex()).collect();
    if let Some(c) = &p.central {
        keys.push(c.device.to_hex());
    }
    let listen = net
        .listen
        .clone()
        .unwrap_or_else(|| "127.0.0.1:8080".into());
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
    let mut t = toml::Table::new();
    t.insert("election".into(), s(&p.election.id));
    t.insert("mode".into(), s("election"));
    t.insert("database".into(), s(&paths.database.display().to_string()));
    t.insert("key".into(), s(&paths.key.display().to_string()));
    t.insert("place".into(), s(&p.place.id));
    t.insert("table_no".into(), Value::Integer(table_no.into()));
    t.insert(
        "contests".into(),
        Value::Array(p.election.contests.iter().map(|c| s(c.code())).collect()),
    );
    t.insert("listen".into(), s(&listen));
    t.insert("election_name".into(), s(&p.election.name));
    t.insert(
        "election_date".into(),
        s(&p.election.date.format("%Y-%m-%d").to_string()),
    );
    let mut pins = toml::Table::new();
    pins.insert("valgsekretaer".into(), s(&p.pin_hash));
    t.insert("pins".into(), Value::Table(pins));
    let mut sync = toml::Table::new();
    sync.insert("listen".into(), s(&sync_listen));
    sync.insert(
        "peers".into(),
        Value::Array(peers.iter().map(|x| s(x)).collect()),
    );
    sync.insert(
        "keys".into(),
        Value::Array(keys.iter().map(|x| s(x)).collect()),
    );
    if let Some(c) = &p.central {
        sync.insert("central".into(), s(&c.url));
    }
    t.insert("sync".into(), Value::Table(sync));
    let body = toml::to_string(&t).map_err(|e| e.to_string())?;
    let hardware = net
        .hardware
        .as_deref()
        .map(|h| format!("\n# This Pi's hardware\n{h}\n"))
        .unwrap_or_default();
    Ok(format!(
        "# Written by `valgbord election load` from the signed package of polling place {} ({}).\n# Load the package again rather than editing this file.\n{body}{hardware}",
        p.place.id, p.place.name
    ))
}
