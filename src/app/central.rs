//! Assembling a running central tally: open it (`crate::central::open`), start its sync
//! client and background tasks, and serve the election office's screens and the sync
//! API on one listener.

use crate::central::Central;
use crate::central::config::CentralConfig;
use crate::central::open::{OpenError, OpenedCentral, open_central};
use crate::central::tasks::{checkpointer, snapshot_clock};
use crate::central::users::Users;
use crate::election::event::SignedEvent;
use crate::sync::client::{NewClientError, SyncClient};
use crate::sync::control::SyncControl;
use crate::sync::tls::TlsError;
use crate::web::ListenError;
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
}

pub struct RunningCentral {
    pub addr: SocketAddr,
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
    let control = Arc::new(SyncControl::default());
    let (local, rx) = mpsc::unbounded_channel();
    if !pull_urls.is_empty() {
        // Tables are pulled over mutual TLS as this device, and only the election's
        // table keys are trusted; plain HTTP only in test mode.
        let http = crate::sync::tls::http_client(
            &key,
            crate::sync::tls::TrustedKeys::from(&trust),
            !cfg.is_test(),
        )?;
        let client = SyncClient::new(
            node.clone(),
            hello.clone(),
            pull_urls,
            Vec::new(),
            control.clone(),
            key,
            cfg.clock_offset_ms,
        )?
        .with_http(http);
        tokio::spawn(client.run(rx));
    }
    tokio::spawn(snapshot_clock(central.clone()));
    tokio::spawn(checkpointer(cfg.database.clone(), node.clone()));

    let users = Arc::new(Users::new(cfg.users.clone()));
    let app = crate::web::central_router(central.clone(), users).merge(
        crate::sync::server::router(node, hello, control, cfg.is_test(), trust),
    );
    let (addr, server) = serve(cfg.listen, app).await?;
    tracing::info!(
        election = %cfg.election,
        tables = cfg.tables.len(),
        %addr,
        "central tally started"
    );
    Ok(RunningCentral {
        addr,
        central,
        server,
        _local: local,
    })
}

/// Serves `app` on `at`. Not the tables' hardened server: its per-address connection cap
/// would refuse the tables of a municipality that reach the central from behind one NAT
/// address (and `bench central`, whose simulated tables all come from loopback).
async fn serve(
    at: SocketAddr,
    app: axum::Router,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), ListenError> {
    let listener = tokio::net::TcpListener::bind(at)
        .await
        .map_err(|source| ListenError::Bind { listen: at, source })?;
    let addr = listener.local_addr().map_err(ListenError::Address)?;
    let server = tokio::spawn(async move {
        // The address of each connection: logins are limited per address too.
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "central server stopped");
        }
    });
    Ok((addr, server))
}
