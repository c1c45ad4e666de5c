//! Assembling a running central tally: open it (`crate::central::open`), start its sync
//! client and background tasks, serve the election office's screen (HTTPS with the
//! municipality's certificate) and sync on a listener of its own over mutual TLS with
//! the device keys, as between tables.

use crate::central::Central;
use crate::central::config::CentralConfig;
use crate::central::office_tls::{self, OfficeTlsError};
use crate::central::open::{OpenError, OpenedCentral, open_central};
use crate::central::tasks::{checkpointer, snapshot_clock};
use crate::central::users::Users;
use crate::election::event::SignedEvent;
use crate::sync::client::{NewClientError, SyncClient};
use crate::sync::control::SyncControl;
use crate::sync::tls::{self, TlsError, TrustedKeys};
use crate::web::ListenError;
use crate::web::serve::Options;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Why the central did not start; each part's error keeps its own text and cause.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    SyncClient(#[from] NewClientError),
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error("the office screen's TLS: {0}")]
    OfficeTls(#[from] OfficeTlsError),
    #[error("cannot listen for sync on {at}: {source}")]
    SyncListen {
        at: SocketAddr,
        source: std::io::Error,
    },
}

pub struct RunningCentral {
    pub addr: SocketAddr,
    /// The office screen is HTTPS (`tls_cert`, `tls_key`).
    pub https: bool,
    /// The mutual-TLS sync listener (`sync_listen`), when there is one.
    pub sync_addr: Option<SocketAddr>,
    pub central: Arc<Central>,
    pub server: tokio::task::JoinHandle<()>,
    /// Held so the sync client (which pushes only events made here: none) keeps running.
    _local: mpsc::UnboundedSender<SignedEvent>,
}

/// Opens everything and starts serving. Errors say what to do.
pub async fn start(cfg: CentralConfig) -> Result<RunningCentral, StartError> {
    let OpenedCentral {
        central,
        node,
        hello,
        trust,
        key,
        pull_urls,
    } = open_central(&cfg)?;
    // Read before anything starts, so a wrong file stops the central with its name.
    let office = match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(cert), Some(key)) => Some(office_tls::server_config(cert, key)?),
        _ => None,
    };
    let control = Arc::new(SyncControl::default());
    let (local, rx) = mpsc::unbounded_channel();
    if !pull_urls.is_empty() {
        // Tables are pulled over mutual TLS as this device, and only the election's
        // table keys are trusted; plain HTTP only in test mode.
        let http = tls::http_client(&key, TrustedKeys::from(&trust), !cfg.is_test())?;
        let client = SyncClient::new(
            node.clone(),
            hello.clone(),
            pull_urls,
            Vec::new(),
            control.clone(),
            key.clone(),
            cfg.clock_offset_ms,
        )?
        .with_http(http);
        tokio::spawn(client.run(rx));
    }
    tokio::spawn(snapshot_clock(central.clone()));
    tokio::spawn(checkpointer(cfg.database.clone(), node.clone()));

    let sync_app = crate::sync::server::router(node, hello, control, cfg.is_test(), trust.clone());
    let sync_addr = serve_sync(&cfg, &key, &trust, sync_app.clone()).await?;
    // The office listener serves sync in plain HTTP only in test mode (tests, benches);
    // in an election it answers 421 and sync goes to `sync_listen`.
    let plain_sync = if cfg.is_test() {
        sync_app
    } else {
        crate::sync::server::plain_refusal_router()
    };
    let users = Arc::new(Users::new(cfg.users.clone()));
    let https = office.is_some();
    let app = crate::web::central_router(central.clone(), users, https).merge(plain_sync);
    let options = Options {
        // In test mode the tables of `bench central` all push from loopback to this
        // listener; in an election only browsers reach it and the usual cap holds.
        per_address: if cfg.is_test() {
            crate::web::serve::MAX_CONNECTIONS
        } else {
            crate::web::serve::PER_ADDRESS
        },
        tls: office,
    };
    let (addr, server) =
        crate::web::listen_and_serve_with(cfg.listen, app, "office screen server", options).await?;
    tracing::info!(
        election = %cfg.election,
        tables = cfg.tables.len(),
        %addr,
        https,
        sync = ?sync_addr,
        "central tally started"
    );
    Ok(RunningCentral {
        addr,
        https,
        sync_addr,
        central,
        server,
        _local: local,
    })
}

/// Sync connections per enrolled device: a table's pushes and its pulls may each hold
/// one, all day.
const SYNC_PER_DEVICE: usize = 2;
/// Room beyond that, for a table reconnecting before its old connection has timed out.
const SYNC_SPARE: usize = 64;
/// Open files the central keeps for other things than connections: the database and
/// its write-ahead log, the log, certificates.
const FILES_RESERVED: u64 = 256;

/// Sync connections the central serves at once: one or two from every table and
/// central it enrols (a municipality has hundreds of tables, the country about 10,000),
/// within what the open-files limit leaves beside the office screen's connections and
/// the central's own pulls; never fewer than a table's listener serves.
fn sync_capacity(devices: usize, pulls: usize, open_files: Option<u64>) -> usize {
    let floor = crate::sync::admission::MAX_CONNECTIONS;
    let wanted = (devices * SYNC_PER_DEVICE + SYNC_SPARE).max(floor);
    let Some(limit) = open_files else {
        return wanted;
    };
    let others = (crate::web::serve::MAX_CONNECTIONS + pulls) as u64 + FILES_RESERVED;
    let budget = usize::try_from(limit.saturating_sub(others)).unwrap_or(usize::MAX);
    wanted.min(budget).max(floor)
}

/// Serves sync on `sync_listen` over mutual TLS as the central's device key, to the
/// enrolled tables and centrals only, with the tables' admission control.
async fn serve_sync(
    cfg: &CentralConfig,
    key: &crate::election::keys::DeviceSecret,
    trust: &crate::election::event::Trust,
    app: axum::Router,
) -> Result<Option<SocketAddr>, StartError> {
    let Some(at) = cfg.sync_listen else {
        return Ok(None);
    };
    let config = tls::server_config(key, TrustedKeys::from(trust))?;
    let listener = tokio::net::TcpListener::bind(at)
        .await
        .map_err(|source| StartError::SyncListen { at, source })?;
    let at = listener
        .local_addr()
        .map_err(|source| StartError::SyncListen { at, source })?;
    // Every table holds a connection all day: as many open files as that needs, as far
    // as the hard limit allows (systemd's LimitNOFILE= sets both).
    let files = crate::open_files::raise_to_hard();
    let devices = cfg.tables.len() + cfg.centrals.len();
    let pulls = cfg.tables.iter().filter(|t| t.url.is_some()).count() + cfg.centrals.len();
    let capacity = sync_capacity(devices, pulls, files.soft);
    let wanted = sync_capacity(devices, pulls, None);
    if capacity < wanted {
        tracing::warn!(
            devices,
            capacity,
            wanted,
            open_files = ?files.soft,
            "the open-files limit lets fewer tables hold a sync connection than are enrolled: the rest are refused until one lets go; raise LimitNOFILE="
        );
    }
    let gate = crate::sync::admission::Gate::with_capacity(capacity);
    tokio::spawn(tls::serve(listener, config, app, gate));
    Ok(Some(at))
}

#[cfg(test)]
mod tests {
    use super::sync_capacity;
    use crate::sync::admission::MAX_CONNECTIONS;

    #[test]
    fn the_sync_listener_fits_every_enrolled_table_within_the_open_files() {
        // The country's 10,000 tables under the unit's LimitNOFILE=65536: all fit.
        assert_eq!(sync_capacity(10_000, 0, Some(65_536)), 20_064);
        assert_eq!(sync_capacity(10_000, 0, None), 20_064);
        // Under 1,024 open files, what is left beside the office screen and the
        // central's pulls (never below a table's own cap).
        assert_eq!(sync_capacity(10_000, 0, Some(1_024)), MAX_CONNECTIONS);
        assert_eq!(
            sync_capacity(10_000, 100, Some(4_096)),
            4_096 - 768 - 100 - 256
        );
        // A small office: no more than it needs.
        assert_eq!(sync_capacity(3, 3, Some(65_536)), MAX_CONNECTIONS);
    }
}
