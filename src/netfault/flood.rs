//! A host on the LAN that is not ours and floods a port: it opens connections from its
//! own address and never sends a byte (half-open at the TLS level), opening each again
//! a while after the server closes it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpSocket;

/// How long a closed connection waits before the flooder opens it again. A laptop could
/// go faster, but here it would share the two cores with the tables it attacks.
pub const REOPEN: Duration = Duration::from_secs(1);

/// A running flood; stops when dropped.
pub struct Flood {
    tasks: tokio::task::JoinSet<()>,
    /// Connections opened so far.
    pub opened: Arc<AtomicU64>,
}

impl Flood {
    /// Holds `per_target` connections from `from` on each of `targets`.
    pub fn start(from: IpAddr, targets: &[SocketAddr], per_target: usize) -> Flood {
        let opened = Arc::new(AtomicU64::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for &target in targets {
            for _ in 0..per_target {
                tasks.spawn(hold(from, target, opened.clone()));
            }
        }
        Flood { tasks, opened }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

async fn hold(from: IpAddr, target: SocketAddr, opened: Arc<AtomicU64>) {
    loop {
        let socket = match from {
            IpAddr::V4(_) => TcpSocket::new_v4(),
            IpAddr::V6(_) => TcpSocket::new_v6(),
        };
        let stream = match socket.and_then(|s| {
            s.bind(SocketAddr::new(from, 0))?;
            Ok(s)
        }) {
            Ok(s) => s.connect(target).await,
            Err(e) => Err(e),
        };
        if let Ok(mut stream) = stream {
            opened.fetch_add(1, Ordering::Relaxed);
            // Send nothing; wait until the server closes the connection.
            let mut byte = [0u8; 1];
            let _ = stream.read(&mut byte).await;
        }
        tokio::time::sleep(REOPEN).await;
    }
}
