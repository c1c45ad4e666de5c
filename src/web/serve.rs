//! Serving HTTP (and the central's HTTPS) so that slow or hostile clients cannot
//! starve a listener: every screen and API listener, a table's or the central's, is
//! served here.
//!
//! `axum::serve` sets no timeouts: a client that opens connections and never finishes
//! its headers (slowloris), or sends a body a byte a minute, holds a connection and a
//! file descriptor for ever; enough of them and the table can no longer accept the
//! screen's or its peers' requests. Here every connection must deliver its request
//! head within [`HEADER_READ_TIMEOUT`] (also between requests on a kept-alive
//! connection), every request must be answered within [`REQUEST_TIMEOUT`] (a slow body
//! included; a streamed answer such as the screen's SSE counts only until its head), a
//! body larger than its path allows is refused from its declared length at once,
//! one address may hold at most [`PER_ADDRESS`] connections, and all addresses together
//! at most [`MAX_CONNECTIONS`] (well below the default limit of 1024 open files).
//! The per-connection limits are [`crate::http_limits`], shared with the sync listener.

use crate::http_limits;
use axum::Router;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use crate::http_limits::{HEADER_READ_TIMEOUT, MAX_HEAD, REQUEST_TIMEOUT};

/// Connections one address may hold: a screen's browser uses about six, a peer table
/// a few; a hostile host on the LAN gets no more.
pub const PER_ADDRESS: usize = 128;
/// Bodies larger than this are refused from their declared length, before a byte is
/// read: axum's default for the table's API (2 MiB).
pub const API_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The largest body a path may declare: sync pages are larger than anything else.
fn body_limit(path: &str) -> usize {
    if path.starts_with("/sync/") {
        crate::sync::server::BODY_LIMIT
    } else {
        API_BODY_LIMIT
    }
}

/// Connections in all, at most; fewer when the process may open fewer files (three
/// quarters of its limit, the rest for the database, peers and logs).
pub const MAX_CONNECTIONS: usize = 768;

/// The connection cap for this process: [`MAX_CONNECTIONS`], or less under a low
/// open-files limit (read from /proc/self/limits on Linux).
fn connection_cap() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<usize>().ok())
        });
    match soft {
        Some(n) => (n * 3 / 4).saturating_sub(32).clamp(16, MAX_CONNECTIONS),
        None => MAX_CONNECTIONS,
    }
}

/// Open connections per address, and how many were turned away (for the log).
#[derive(Default)]
struct Book {
    open: HashMap<IpAddr, usize>,
    refused: u64,
}

/// Gives the address's slot back when the connection ends.
struct Held {
    book: Arc<Mutex<Book>>,
    ip: IpAddr,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut b = self.book.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = b.open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                b.open.remove(&self.ip);
            }
        }
    }
}

/// How a listener is served beyond the common limits.
#[derive(Clone)]
pub struct Options {
    /// Connections one address may hold ([`PER_ADDRESS`] unless a listener has reason
    /// for more).
    pub per_address: usize,
    /// HTTPS with this configuration; plain HTTP without.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            per_address: PER_ADDRESS,
            tls: None,
        }
    }
}

/// Accepts connections for ever and serves `app` on each (HTTP/1.1), plain.
pub async fn serve(listener: TcpListener, app: Router) {
    serve_with(listener, app, Options::default()).await
}

/// As [`serve`], with the listener's own [`Options`]. Over TLS the handshake must end
/// within [`HEADER_READ_TIMEOUT`] too: a client that connects and sends nothing is let
/// go as one that never finishes its headers.
pub async fn serve_with(listener: TcpListener, app: Router, options: Options) {
    let book = Arc::new(Mutex::new(Book::default()));
    let cap = connection_cap();
    let per_address = options.per_address;
    let acceptor = options.tls.map(tokio_rustls::TlsAcceptor::from);
    tracing::debug!(cap, per_address, tls = acceptor.is_some(), "connection cap");
    let slots = Arc::new(Semaphore::new(cap));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors or a connection reset before accept: try
                // again shortly rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let ip = peer.ip();
        let held = {
            let mut b = book.lock().unwrap_or_else(|e| e.into_inner());
            let n = b.open.entry(ip).or_insert(0);
            if *n >= per_address {
                b.refused += 1;
                // Said once, then every thousandth time: an attack must not fill the log.
                if b.refused % 1000 == 1 {
                    tracing::warn!(%ip, refused = b.refused, "too many connections from one address; closing new ones");
                }
                None
            } else {
                *n += 1;
                Some(Held {
                    book: book.clone(),
                    ip,
                })
            }
        };
        let Some(held) = held else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let served = match acceptor {
                None => http_limits::serve_connection(stream, app, peer, body_limit, |_| {}).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            http_limits::serve_connection(tls, app, peer, body_limit, |_| {}).await
                        }
                        Ok(Err(e)) => {
                            // Plain HTTP to an HTTPS port ends here, and so does garbage.
                            tracing::debug!(%ip, error = %e, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => {
                            tracing::debug!(%ip, "TLS handshake not finished in time");
                            Ok(())
                        }
                    }
                }
            };
            if let Err(e) = served {
                tracing::debug!(%ip, error = %e, "connection ended with an error");
            }
            drop(held);
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cap_leaves_files_for_the_database() {
        let cap = super::connection_cap();
        assert!((16..=super::MAX_CONNECTIONS).contains(&cap), "{cap}");
    }
}
