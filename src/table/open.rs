//! Opening a table: open and check the database, load the key, and build the table's
//! identity and core. Shared by the running daemon (`app/table.rs`) and by commands
//! that work on a stopped table.

use super::config::{SharesError, SyncConfigError, TableConfig};
use super::core::{TableCore, TableError, TableIdentity};
use super::drivers::make_signals;
use super::screen::Screen;
use crate::election::event::Trust;
use crate::election::keys::DevicePublic;
use crate::election::roles::{Enrolment, Role, RoleError};
use crate::signal::Signals;
use crate::store::keyfile::{self, KeyFileError};
use crate::store::meta::MetaKey;
use crate::store::{Store, StoreError};
use crate::sync::protocol::Hello;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;

/// What a table is made of before its drivers and server start.
pub struct OpenedTable {
    pub core: TableCore,
    pub screen: watch::Receiver<Screen>,
    pub signals: Arc<dyn Signals>,
    pub hello: Hello,
    pub trust: Trust,
    pub key: crate::election::keys::DeviceSecret,
}

/// Why a table cannot open; store, key-file and core errors pass through with their
/// own text.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open database {}: {source}", .path.display())]
    Database { path: PathBuf, source: StoreError },
    #[error(
        "the database {} holds no voter list; import one with `valgbord voters import FILE --db {} --election {election}`",
        .path.display(),
        .path.display()
    )]
    NoList { path: PathBuf, election: String },
    #[error("the voter list in {} has no voters for polling place {place}", .path.display())]
    NoVoters { path: PathBuf, place: String },
    #[error(transparent)]
    Devices(#[from] SyncConfigError),
    #[error(
        "[sync] devices is empty: list every device of the polling place and the central with its role"
    )]
    NoDevices,
    #[error(
        "[sync] devices lists this table's own key as {role}, but the configuration says table {table_no} of polling place {place}"
    )]
    OwnRole {
        role: String,
        table_no: u32,
        place: String,
    },
    #[error("[sync] devices: {0}")]
    Enrolment(RoleError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error(transparent)]
    Shares(#[from] SharesError),
    #[error(transparent)]
    Core(#[from] TableError),
}

/// Opens and checks the database, the key and the identity of a table (no drivers, no
/// server): shared by the daemon and by commands that work on a stopped table.
pub fn open_table(cfg: &TableConfig) -> Result<OpenedTable, OpenError> {
    let mode = cfg.mode;
    let store = Store::open(&cfg.database).map_err(|source| OpenError::Database {
        path: cfg.database.clone(),
        source,
    })?;
    match store.bound_election()? {
        None => {
            return Err(OpenError::NoList {
                path: cfg.database.clone(),
                election: cfg.election.clone(),
            });
        }
        Some(_) => store.check_binding(&cfg.election, mode)?,
    }
    let voters = store.voter_count(Some(&cfg.place))?;
    if voters == 0 {
        return Err(OpenError::NoVoters {
            path: cfg.database.clone(),
            place: cfg.place.clone(),
        });
    }
    let key = keyfile::load_or_create(&cfg.key)?;
    if store.meta(MetaKey::Device)?.is_none() {
        store.set_meta(MetaKey::Device, &key.public().to_hex())?;
    }
    // For `valgbord destroy`: the complaint deadline and the copies outside the database.
    store.record_election_facts(
        cfg.election_date,
        &cfg.contests,
        cfg.paper_list_dir.as_deref(),
    )?;
    let signals = make_signals(&cfg.signals);
    let trust = make_trust(cfg, key.public())?;
    let hello = Hello::of_device(
        &store,
        cfg.election.clone(),
        key.public(),
        cfg.place.clone(),
        cfg.table_no,
    )?;
    let id = TableIdentity {
        election: cfg.election.clone(),
        test: cfg.is_test(),
        place: cfg.place.clone(),
        table_no: cfg.table_no,
        contests: cfg.contests.clone(),
        officials: cfg.officials.clone(),
        debounce: std::time::Duration::from_millis(cfg.debounce_ms),
        trust: trust.clone(),
        clock_offset_ms: cfg.clock_offset_ms,
        printer: cfg
            .printer
            .as_ref()
            .map(|p| crate::print::spool::Spool::new(crate::print::drivers::open_printer(p))),
        election_name: cfg.election_name.clone(),
        election_date: cfg.election_date,
        shares: cfg.fast_shares()?,
        key_path: Some(cfg.key.clone()),
        place_addresses: cfg.place_addresses.clone(),
    };
    let sync_key = key.clone();
    let (core, screen) = TableCore::new(store, key, id, signals.clone())?;
    // Wrong PINs before a restart still count: a restart must not reset a delay.
    core.pin_gate
        .keep_in(cfg.database.clone(), core.store().pin_attempts()?);
    Ok(OpenedTable {
        core,
        screen,
        signals,
        hello,
        trust,
        key: sync_key,
    })
}

/// The devices whose events this table accepts, each in its role: the polling place's
/// devices and the central from the configuration, and this table itself as its own
/// seat. Only a test-mode table may run without a list (it then accepts any key of its
/// own election in any role, for demos and rehearsals).
fn make_trust(cfg: &TableConfig, own: DevicePublic) -> Result<Trust, OpenError> {
    let listed = cfg
        .sync
        .devices
        .iter()
        .map(|d| d.enrolled(&cfg.place))
        .collect::<Result<Vec<_>, SyncConfigError>>()?;
    if listed.is_empty() && !cfg.is_test() {
        // mDNS too: it would find tables and then refuse every one of them as unlisted.
        if !cfg.sync.peers.is_empty() || cfg.sync.mdns {
            return Err(OpenError::NoDevices);
        }
    }
    let mut own_role = Role::Table {
        place: cfg.place.clone(),
        table_no: cfg.table_no,
    };
    // A reserve of this place stands in for the table the configuration names and
    // keeps its reserve role: the others accept its events as a reserve's.
    let reserve = Role::Reserve {
        place: cfg.place.clone(),
    };
    if let Some((_, role)) = listed.iter().find(|(k, _)| *k == own) {
        if *role == reserve {
            own_role = reserve;
        } else if *role != own_role {
            return Err(OpenError::OwnRole {
                role: role.describe(),
                table_no: cfg.table_no,
                place: cfg.place.clone(),
            });
        }
    }
    let enrolment = if listed.is_empty() && cfg.is_test() {
        None
    } else {
        let mut e = Enrolment::new(listed.into_iter().filter(|(k, _)| *k != own))
            .map_err(OpenError::Enrolment)?;
        e.insert(own, own_role);
        Some(e)
    };
    Ok(Trust {
        election: cfg.election.clone(),
        enrolment,
        allow_test: cfg.is_test(),
    })
}
