//! A TCP proxy in front of a server that can make it behave as a bad WAN does: pass
//! bytes through, hold every byte for a while (a slow link), or stall (a frozen process
//! or a WAN that swallows replies: connections are accepted and never answered, and
//! those already open go silent too).

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Pass,
    /// Each byte is held this long in each direction.
    Delay(Duration),
    /// Nothing is read or written; new connections are accepted and held.
    Stall,
}

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("proxy cannot listen on {at}: {source}")]
    Listen {
        at: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Address(#[source] std::io::Error),
}

/// A running proxy; stops with its tasks when dropped.
pub struct FaultProxy {
    pub addr: SocketAddr,
    behaviour: watch::Sender<Behaviour>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on `at` and forwards every connection to `target`.
    pub async fn start(at: SocketAddr, target: SocketAddr) -> Result<FaultProxy, ProxyError> {
        let listener = TcpListener::bind(at)
            .await
            .map_err(|source| ProxyError::Listen { at, source })?;
        let addr = listener.local_addr().map_err(ProxyError::Address)?;
        let (behaviour, rx) = watch::channel(Behaviour::Pass);
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                conns.spawn(forward(client, target, rx.clone()));
                // Reap what has ended, so a long run does not pile up handles.
                while conns.try_join_next().is_some() {}
            }
        });
        Ok(FaultProxy {
            addr,
            behaviour,
            task,
        })
    }

    pub fn set(&self, b: Behaviour) {
        self.behaviour.send_replace(b);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(client: TcpStream, target: SocketAddr, behaviour: watch::Receiver<Behaviour>) {
    let mut b = behaviour.clone();
    // A stalled proxy accepts and holds the connection: it is not even passed on.
    while *b.borrow_and_update() == Behaviour::Stall {
        if b.changed().await.is_err() {
            return;
        }
    }
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    tokio::select! {
        _ = pipe(cr, sw, behaviour.clone()) => {}
        _ = pipe(sr, cw, behaviour) => {}
    }
}

/// Copies one direction: reads are stamped on arrival and written once their delay is
/// up, so a delay adds latency without cutting the throughput of pipelined bytes.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    behaviour: watch::Receiver<Behaviour>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let mut rb = behaviour.clone();
    let reader = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            while *rb.borrow_and_update() == Behaviour::Stall {
                if rb.changed().await.is_err() {
                    return;
                }
            }
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let hold = match *rb.borrow() {
                Behaviour::Delay(d) => d,
                _ => Duration::ZERO,
            };
            if tx.send((Instant::now() + hold, buf[..n].to_vec())).is_err() {
                return;
            }
        }
    };
    let mut wb = behaviour;
    let writer = async move {
        while let Some((due, bytes)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            while *wb.borrow_and_update() == Behaviour::Stall {
                if wb.changed().await.is_err() {
                    return;
                }
            }
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
    };
    // The writer ends once the reader has ended and everything queued is written.
    tokio::join!(reader, writer);
}
