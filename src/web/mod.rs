//! HTTP: the table screen (for the kiosk browser) and its JSON API; the election
//! office's screen and API on the central tally.

mod assets;
mod central_api;
mod central_assets;
mod download;
mod error;
mod pin;
pub mod same_origin;
mod secretary_api;
pub mod serve;
mod table_api;

pub use central_api::central_router;
pub use secretary_api::secretary_router;
pub use table_api::table_router;

/// Why a server could not start listening.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("cannot listen on {listen}: {source}")]
    Bind {
        listen: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Address(#[source] std::io::Error),
}

/// Binds `listen` and serves `app` on a task with the hardened server (timeouts,
/// connection caps); returns the address bound (port 0 picks a free one) and the task,
/// which ends only if the server fails.
pub async fn listen_and_serve(
    listen: std::net::SocketAddr,
    app: axum::Router,
    what: &'static str,
) -> Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>), ListenError> {
    listen_and_serve_with(listen, app, what, serve::Options::default()).await
}

/// As [`listen_and_serve`], with the listener's own options (HTTPS, a larger cap per
/// address).
pub async fn listen_and_serve_with(
    listen: std::net::SocketAddr,
    app: axum::Router,
    what: &'static str,
    options: serve::Options,
) -> Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>), ListenError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ListenError::Bind { listen, source })?;
    let addr = listener.local_addr().map_err(ListenError::Address)?;
    let server = tokio::spawn(async move {
        serve::serve_with(listener, app, options).await;
        tracing::error!("{what} stopped");
    });
    Ok((addr, server))
}
