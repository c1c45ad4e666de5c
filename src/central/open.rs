//! Opening the central tally: open and check the database, load the key, trust the
//! tables of the configuration and build the sync node and the tally on top of them.
//! Serving them is the composition layer's part (`app/central.rs`); this file knows
//! nothing of HTTP.

use super::Central;
use super::clock::Clock;
use super::config::CentralConfig;
use super::node::CentralNode;
use crate::election::event::Trust;
use crate::election::keys::DeviceSecret;
use crate::election::roles::{Enrolment, Role};
use crate::print::card::ElectionInfo;
use crate::store::Store;
use crate::store::keyfile;
use crate::sync::protocol::Hello;
use std::path::Path;
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

/// Opens and checks everything the central needs. Errors say what to do.
pub fn open_central(cfg: &CentralConfig) -> Result<OpenedCentral, String> {
    cfg.check()?;
    let db = &cfg.database;
    let writer = open_writer(cfg)?;
    let key = keyfile::load_or_create(&cfg.key).map_err(|e| e.to_string())?;
    let tables = cfg.known_tables()?;
    let others = cfg.other_centrals()?;
    // Each table may author the events of its own seat; the other centrals may ask for
    // events and relay the tables' but author none.
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
            .chain(others.iter().map(|(_, k)| (*k, Role::Central))),
    )
    .map_err(|e| format!("tables and centrals: {e}"))?;
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
    )
    .map_err(|e| e.to_string())?;
    let election =
        ElectionInfo::from_store(&writer, cfg.election_name.as_deref(), cfg.election_date)
            .map_err(|e| e.to_string())?;
    let clock = Arc::new(Clock::new(cfg.clock_offset_ms, cfg.is_test()));
    let pull_urls: Vec<String> = tables
        .iter()
        .filter_map(|t| t.url.clone())
        .chain(others.into_iter().map(|(url, _)| url))
        .collect();
    let node = Arc::new(
        CentralNode::new(writer, open_reader(db)?, trust.clone(), tables, clock)
            .map_err(|e| e.to_string())?,
    );
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
fn open_writer(cfg: &CentralConfig) -> Result<Store, String> {
    let mode = cfg.mode;
    let db = &cfg.database;
    let writer = open_reader(db)?;
    if writer
        .bound_election()
        .map_err(|e| e.to_string())?
        .is_none()
    {
        return Err(format!(
            "the database {} holds no voter list; import the election's list with `valgbord voters import FILE --db {} --election {}`",
            db.display(),
            db.display(),
            cfg.election
        ));
    }
    writer
        .check_binding(&cfg.election, mode)
        .map_err(|e| e.to_string())?;
    writer.ensure_snapshot_tables().map_err(|e| e.to_string())?;
    writer
        .checkpoint_outside_commits()
        .map_err(|e| e.to_string())?;
    Ok(writer)
}

fn open_reader(db: &Path) -> Result<Store, String> {
    Store::open(db).map_err(|e| format!("cannot open database {}: {e}", db.display()))
}
