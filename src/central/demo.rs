//! The central tally of `valgbord demo`: the demo's tables push to it and it shows the
//! polling place on the election office screen.

use super::config::{CentralConfig, Role, TableEntry, UserEntry};
use crate::store::binding::Mode;
use crate::store::{Store, StoreError};
use std::path::Path;

/// The demo's login on the election office screen (an administrator).
pub const DEMO_USER: &str = "valgkontor";
pub const DEMO_PASSWORD: &str = "demo";

/// Why the demo's central could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] crate::password::HashError),
    /// The import's failure as debug text: the generated list should never fail.
    #[error("demo list does not import: {0}")]
    Import(String),
    #[error(transparent)]
    OfficeTls(#[from] super::office_tls::OfficeTlsError),
}

/// A test-mode central for the demo in `dir` with the list imported, trusting `tables`:
/// the office screen on `port` over HTTPS with a self-signed certificate, sync over
/// mutual TLS on `sync_port`, as in an election.
pub fn config(
    dir: &Path,
    election: &str,
    list: &[u8],
    tables: Vec<TableEntry>,
    (port, sync_port): (u16, u16),
) -> Result<CentralConfig, DemoError> {
    let database = dir.join("valgkontor.db");
    let mut store = Store::open(&database)?;
    if store.bound_election()?.is_none() {
        store.bind(election, Mode::Test)?;
        store
            .import_file(list, false, |_| {})
            .map_err(|e| DemoError::Import(format!("{e:?}")))?;
    }
    let (cert, key) = super::office_tls::self_signed(dir)?;
    Ok(CentralConfig {
        election: election.into(),
        mode: Mode::Test,
        database,
        // Its own key, made in its folder like a device's (`valgbord key init`).
        key: dir.join("device.key"),
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        tls_cert: Some(cert),
        tls_key: Some(key),
        sync_listen: Some(std::net::SocketAddr::from(([127, 0, 0, 1], sync_port))),
        election_name: Some("Kommunal- og regionsrådsvalg (demo)".into()),
        election_date: None,
        snapshots: [
            "09:00", "10:00", "12:00", "14:00", "16:00", "18:00", "19:00", "20:00",
        ]
        .map(String::from)
        .to_vec(),
        clock_offset_ms: 0,
        tables,
        users: vec![UserEntry {
            name: DEMO_USER.into(),
            password: crate::password::hash_pin(DEMO_PASSWORD)?,
            role: Role::Admin,
        }],
        centrals: Vec::new(),
        reserves: Vec::new(),
    })
}
