//! Opening the central tally: open and check the database, load the key, trust the
//! tables of the configuration and build the sync node and the tally on top of them.
//! Serving them is the composition layer's part (`app/central.rs`); this file knows
//! nothing of HTTP.

use super::Central;
use super::clock::Clock;
use super::config::{CentralConfig, CentralConfigError};
use super::node::CentralNode;
use crate::election::event::Trust;
use crate::election::keys::DeviceSecret;
use crate::election::roles::{Enrolment, Role};
use crate::print::card::ElectionInfo;
use crate::print::error::PrintError;
use crate::store::keyfile::{self, KeyFileError};
use crate::store::{Store, StoreError};
use crate::sync::protocol::Hello;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The place name the central gives in its sync hello.
pub const CENTRAL_PLACE: &str = "valgkontor";

/// What a central is made of before its sync client and server start.
pub struct OpenedCentral {
    pub central: Arc<Central>,
    pub node: Arc<CentralNode>,
    pub hello: Hello,
    /// The tables and other centrals whose events are accepted.
    pub trust: Trust,
    pub key: DeviceSecret,
    /// The tables and centrals this central pulls from.
    pub pull_urls: Vec<String>,
}

/// Why the central cannot open; store, key-file and configuration errors pass through
/// with their own text.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open database {}: {source}", .path.display())]
    Database { path: PathBuf, source: StoreError },
    #[error(
        "the database {} holds no voter list; import the election's list with `valgbord voters import FILE --db {} --election {election}`",
        .path.display(),
        .path.display()
    )]
    NoList { path: PathBuf, election: String },
    #[error(transparent)]
    Config(#[from] CentralConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error(transparent)]
    Election(#[from] PrintError),
    #[error("tables and centrals: {0}")]
    Enrolment(crate::election::roles::RoleError),
}

/// Opens and checks everything the central needs. Errors say what to do.
pub fn open_central(cfg: &CentralConfig) -> Result<OpenedCentral, OpenError> {
    cfg.check()?;
    let db = &cfg.database;
    let writer = open_writer(cfg)?;
    let key = keyfile::load_or_create(&cfg.key)?;
    let tables = cfg.known_tables()?;
    let others = cfg.other_centrals()?;
    let reserves = cfg.known_reserves()?;
    // Each table may author the events of its own seat, a reserve those of any seat of
    // its place; the other centrals may ask for events and relay the tables' but author
    // none.
    let enrolment = Enrolment::new(
        tables
            .iter()
            .map(|t| {
                (
                    t.key,
                    Role::Table {
                        place: t.place.clone(),
                        table_no: t.table_no,
                    },
                )
            })
            .chain(reserves.iter().map(|(k, place)| {
                (
                    *k,
                    Role::Reserve {
                        place: place.clone(),
                    },
                )
            }))
            .chain(others.iter().map(|(_, k)| (*k, Role::Central))),
    )
    .map_err(OpenError::Enrolment)?;
    let trust = Trust {
        election: cfg.election.clone(),
        enrolment: Some(enrolment),
        allow_test: cfg.is_test(),
    };
    let hello = Hello::of_device(
        &writer,
        cfg.election.clone(),
        key.public(),
        CENTRAL_PLACE.into(),
        0,
    )?;
    let election =
        ElectionInfo::from_store(&writer, cfg.election_name.as_deref(), cfg.election_date)?;
    let clock = Arc::new(Clock::new(cfg.clock_offset_ms, cfg.is_test()));
    let pull_urls: Vec<String> = tables
        .iter()
        .filter_map(|t| t.url.clone())
        .chain(others.into_iter().map(|(url, _)| url))
        .collect();
    let node = Arc::new(CentralNode::new(
        writer,
        open_reader(db)?,
        trust.clone(),
        tables,
        reserves,
        clock,
    )?);
    let central = Arc::new(Central::new(node.clone(), open_reader(db)?, election, cfg)?);
    Ok(OpenedCentral {
        central,
        node,
        hello,
        trust,
        key,
        pull_urls,
    })
}

/// The writer's connection, checked to hold the configured election's list, with the
/// snapshot tables in place and SQLite's own checkpoints off (see
/// `super::tasks::checkpointer`).
fn open_writer(cfg: &CentralConfig) -> Result<Store, OpenError> {
    let mode = cfg.mode;
    let db = &cfg.database;
    let writer = open_reader(db)?;
    if writer.bound_election()?.is_none() {
        return Err(OpenError::NoList {
            path: db.clone(),
            election: cfg.election.clone(),
        });
    }
    writer.check_binding(&cfg.election, mode)?;
    writer.ensure_snapshot_tables()?;
    writer.checkpoint_outside_commits()?;
    Ok(writer)
}

fn open_reader(db: &Path) -> Result<Store, OpenError> {
    Store::open(db).map_err(|source| OpenError::Database {
        path: db.to_path_buf(),
        source,
    })
}
