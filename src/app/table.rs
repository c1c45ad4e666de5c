//! Assembling a running table: open it (`crate::table::open`), start its drivers and
//! background tasks, its sync client and discovery, and serve the screens, the
//! valgsekretær's API, sync and provisioning. The table itself knows nothing of HTTP;
//! this is where it meets `web`, `sync`'s servers and `provision`.

use crate::sync::client::{NewClientError, SyncClient};
use crate::sync::control::SyncControl;
use crate::sync::discovery;
use crate::sync::node::SyncNode;
use crate::sync::tls::{self, TlsError, TrustedKeys};
use crate::table::config::{ScannerConfig, TableConfig};
use crate::table::drivers::{ScannerUnnamed, make_scanner};
use crate::table::open::{OpenError, OpenedTable, open_table};
use crate::table::screen::Screen;
use crate::table::shared::{SharedCore, lock};
use crate::table::sync_node::TableNode;
use crate::table::tasks;
use crate::web::ListenError;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// Why a table did not start; each part's error keeps its own text and cause.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Scanner(#[from] ScannerUnnamed),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot listen for sync on {at}: {source}")]
    SyncListen {
        at: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Address(#[source] std::io::Error),
    #[error(transparent)]
    SyncClient(#[from] NewClientError),
    #[error(transparent)]
    Listen(#[from] ListenError),
}

pub struct RunningTable {
    pub addr: SocketAddr,
    /// The TLS sync listener (`[sync] listen`), when there is one.
    pub sync_addr: Option<SocketAddr>,
    pub core: SharedCore,
    pub screen: watch::Receiver<Screen>,
    pub server: tokio::task::JoinHandle<()>,
}

/// The sync listener of `[sync] listen`, bound, with its TLS configuration.
struct SyncListener {
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    at: SocketAddr,
}

/// Opens everything and starts serving. Errors are for people: they say what to do.
pub async fn start(cfg: TableConfig) -> Result<RunningTable, StartError> {
    let OpenedTable {
        core,
        screen,
        signals,
        hello,
        trust,
        key,
    } = open_table(&cfg)?;
    let core: SharedCore = Arc::new(Mutex::new(core));
    start_drivers(&cfg, &core, signals.as_ref())?;

    let control = Arc::new(SyncControl::default());
    let node: Arc<dyn SyncNode> = Arc::new(TableNode {
        core: core.clone(),
        clock_offset_ms: cfg.clock_offset_ms,
    });
    // Sync between devices: mutual TLS with the device keys on its own listener.
    let trusted = TrustedKeys::from(&trust);
    let sync_listener = bind_sync(&cfg, &key, &trusted).await?;
    let sync_addr = sync_listener.as_ref().map(|l| l.at);
    if !cfg.sync.peers.is_empty() || !cfg.sync.central.is_empty() || cfg.sync.mdns {
        let client = SyncClient::new(
            node.clone(),
            hello.clone(),
            cfg.sync.peers.clone(),
            cfg.sync.central.clone(),
            control.clone(),
            key.clone(),
            cfg.clock_offset_ms,
        )?;
        start_sync_client(&cfg, &core, client, &key, &trusted, sync_addr)?;
    }
    if let Some(dir) = &cfg.paper_list_dir {
        tokio::spawn(tasks::paper_list_every_minute(
            cfg.database.clone(),
            dir.clone(),
            cfg.place.clone(),
            cfg.contests.clone(),
            cfg.election_name.clone(),
            cfg.election_date,
        ));
    }

    let package_dir = cfg
        .database
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let sync_app =
        crate::sync::server::router(node, hello, control, cfg.is_test(), trust.clone()).merge(
            crate::provision::serve::router(package_dir, trust, cfg.place.clone()),
        );
    if let Some(SyncListener {
        listener,
        config,
        at,
    }) = sync_listener
    {
        let gate = crate::sync::admission::Gate::new();
        tokio::spawn(tasks::show_floods(gate.floods(), core.clone()));
        tokio::spawn(tls::serve(listener, config, sync_app.clone(), gate));
        tracing::info!(%at, "sync served over TLS");
    }
    let (addr, server) = serve_screens(&cfg, &core, &screen, sync_app).await?;
    tracing::info!(
        place = %cfg.place,
        table = cfg.table_no,
        election = %cfg.election,
        %addr,
        "table started"
    );
    Ok(RunningTable {
        addr,
        sync_addr,
        core,
        screen,
        server,
    })
}

/// Starts the scanner and routes its scans, the button and the screen's rebuilding into
/// the core.
fn start_drivers(
    cfg: &TableConfig,
    core: &SharedCore,
    signals: &dyn crate::signal::Signals,
) -> Result<(), ScannerUnnamed> {
    let scanner = make_scanner(&cfg.scanner)?;
    let described = scanner.describe();
    let (tx, rx) = mpsc::channel(32);
    scanner.spawn(tx);
    tokio::spawn(tasks::route_scans(rx, core.clone()));
    tokio::spawn(tasks::route_button(signals.button(), core.clone()));
    tokio::spawn(tasks::flush_screen(core.clone()));
    tracing::info!(scanner = %described, signals = %signals.describe(), "drivers started");
    Ok(())
}

/// Binds the TLS sync listener of `[sync] listen`, if there is one.
async fn bind_sync(
    cfg: &TableConfig,
    key: &crate::election::keys::DeviceSecret,
    trusted: &TrustedKeys,
) -> Result<Option<SyncListener>, StartError> {
    let Some(at) = cfg.sync.listen else {
        return Ok(None);
    };
    let config = tls::server_config(key, trusted.clone())?;
    let listener = TcpListener::bind(at)
        .await
        .map_err(|source| StartError::SyncListen { at, source })?;
    let at = listener.local_addr().map_err(StartError::Address)?;
    Ok(Some(SyncListener {
        listener,
        config,
        at,
    }))
}

/// Hooks the sync client to the core (new events, asking peers) and runs it, with mDNS
/// discovery feeding it peers when that is on.
fn start_sync_client(
    cfg: &TableConfig,
    core: &SharedCore,
    client: SyncClient,
    key: &crate::election::keys::DeviceSecret,
    trusted: &TrustedKeys,
    sync_addr: Option<SocketAddr>,
) -> Result<(), TlsError> {
    let (tx, rx) = mpsc::unbounded_channel();
    lock(core).set_append_hook(tx);
    let client = client.with_http(tls::http_client_from(
        key,
        trusted.clone(),
        !cfg.is_test(),
        cfg.sync
            .listen
            .map(|a| a.ip())
            .filter(|ip| !ip.is_unspecified()),
    )?);
    lock(core).set_peer_asker(client.peer_asker());
    let discovery = match (cfg.sync.mdns, sync_addr) {
        (true, Some(at)) => {
            let me = discovery::Announce {
                election: cfg.election.clone(),
                place: cfg.place.clone(),
                table_no: cfg.table_no,
                device: key.public(),
                port: at.port(),
            };
            // Without mDNS the table still syncs with its configured peers.
            discovery::start(me, trusted.clone(), client.peer_adder())
                .inspect_err(|e| tracing::error!(error = %e, "mDNS discovery NOT running"))
                .ok()
        }
        _ => None,
    };
    tokio::spawn(async move {
        // Discovery lives as long as the client it feeds.
        let _discovery = discovery;
        client.run(rx).await
    });
    Ok(())
}

/// Serves the table's screen, the valgsekretær's screen and (in test mode only) sync in
/// plain HTTP on the screen listener.
async fn serve_screens(
    cfg: &TableConfig,
    core: &SharedCore,
    screen: &watch::Receiver<Screen>,
    sync_app: axum::Router,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), ListenError> {
    let api_scan = cfg.api_scan || matches!(cfg.scanner, ScannerConfig::Simulated);
    // The screen listener serves sync in plain HTTP only in test mode (existing
    // rehearsal set-ups, tests); in an election it refuses every sync request.
    let plain_sync = if cfg.is_test() {
        sync_app
    } else {
        crate::sync::server::plain_refusal_router()
    };
    let app = crate::web::table_router(core.clone(), screen.clone(), api_scan)
        .merge(crate::web::secretary_router(core.clone()))
        .merge(plain_sync);
    crate::web::listen_and_serve(cfg.listen, app, "screen server").await
}
