//! Starting the central tally: open and check the database, load the key, trust the
//! tables of the configuration, start the sync client, the snapshot clock and the server.

use super::Central;
use super::clock::Clock;
use super::config::CentralConfig;
use super::node::CentralNode;
use super::snapshots;
use super::users::Users;
use crate::election::event::{SignedEvent, Trust};
use crate::print::card::ElectionInfo;
use crate::store::Store;
use crate::store::binding::Mode;
use crate::store::keyfile;
use crate::sync::client::SyncClient;
use crate::sync::control::SyncControl;
use crate::sync::protocol::Hello;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

pub struct RunningCentral {
    pub addr: SocketAddr,
    pub central: Arc<Central>,
    pub server: tokio::task::JoinHandle<()>,
    /// Held so the sync client (which pushes only events made here: none) keeps running.
    _local: mpsc::UnboundedSender<SignedEvent>,
}

/// The place name the central gives in its sync hello.
pub const CENTRAL_PLACE: &str = "valgkontor";

/// Opens everything and starts serving. Errors say what to do.
pub async fn start(cfg: CentralConfig) -> Result<RunningCentral, String> {
    cfg.check()?;
    let mode = if cfg.is_test() {
        Mode::Test
    } else {
        Mode::Election
    };
    let db = &cfg.database;
    let writer =
        Store::open(db).map_err(|e| format!("cannot open database {}: {e}", db.display()))?;
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
    snapshots::ensure_schema(&writer.conn).map_err(|e| e.to_string())?;
    // Checkpoints run beside the writer (see `checkpointer`), not inside a commit.
    writer
        .conn
        .pragma_update(None, "wal_autocheckpoint", 0)
        .and_then(|_| {
            writer
                .conn
                .pragma_update(None, "journal_size_limit", WAL_RESTART_BYTES as i64)
        })
        .map_err(|e| e.to_string())?;
    let key = keyfile::load_or_create(&cfg.key).map_err(|e| e.to_string())?;
    let tables = cfg.known_tables()?;
    let others = cfg.other_centrals()?;
    // The other centrals may ask for events (they author none; they relay the tables').
    let trust = Trust {
        election: cfg.election.clone(),
        keys: Some(
            tables
                .iter()
                .map(|t| t.key)
                .chain(others.iter().map(|(_, k)| *k))
                .collect(),
        ),
        allow_test: cfg.is_test(),
    };
    let hello = Hello {
        election: cfg.election.clone(),
        list_sha256: writer
            .meta("list_sha256")
            .map_err(|e| e.to_string())?
            .unwrap_or_default(),
        software: env!("CARGO_PKG_VERSION").to_string(),
        device: key.public(),
        place: CENTRAL_PLACE.into(),
        table_no: 0,
    };
    let election =
        ElectionInfo::from_store(&writer, cfg.election_name.as_deref(), cfg.election_date)
            .map_err(|e| e.to_string())?;
    let open_reader =
        || Store::open(db).map_err(|e| format!("cannot open database {}: {e}", db.display()));
    let clock = Arc::new(Clock::new(cfg.clock_offset_ms, cfg.is_test()));
    let pull_urls: Vec<String> = tables
        .iter()
        .filter_map(|t| t.url.clone())
        .chain(others.into_iter().map(|(url, _)| url))
        .collect();
    let node = Arc::new(
        CentralNode::new(writer, open_reader()?, trust.clone(), tables, clock)
            .map_err(|e| e.to_string())?,
    );
    let central = Arc::new(Central::new(node.clone(), open_reader()?, election, &cfg)?);

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
    // Not the tables' hardened server: its per-address connection cap would refuse the
    // tables of a municipality that reach the central from behind one NAT address (and
    // `bench central`, whose simulated tables all come from loopback).
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "central server stopped");
        }
    });
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

/// Takes each scheduled snapshot when its time comes (checked twice a second, so a
/// moved test clock is noticed at once).
async fn snapshot_clock(central: Arc<Central>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let c = central.clone();
        match tokio::task::spawn_blocking(move || c.take_due()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                central
                    .node
                    .metrics
                    .errors
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::error!(error = %e, "turnout snapshot NOT taken");
            }
            Err(e) => tracing::error!(error = %e, "snapshot task failed"),
        }
    }
}

/// Keeps the write-ahead log small without holding up pushes.
///
/// By default SQLite checkpoints inside whichever commit crosses 1,000 pages, holding up
/// that push and every push queued behind it for the whole copy (seconds on a country's
/// database). So twice a second a passive checkpoint on a connection of its own copies
/// the WAL back beside the writer. That alone never lets the WAL start over while
/// tables push without pause (each copy ends behind the newest commit), and it grew by
/// gigabytes an hour in `bench central`. So once the WAL holds more than
/// [`WAL_RESTART_BYTES`], passive checkpoints repeat until what is left to copy is
/// small, and a last one runs while holding the writer: it copies only that tail
/// (milliseconds), after which the next commit writes the WAL from its beginning. A
/// reader on an old snapshot can still pin the WAL; that is tried again next time.
async fn checkpointer(db: std::path::PathBuf, node: Arc<CentralNode>) {
    let conn = match rusqlite::Connection::open(&db) {
        Ok(c) => std::sync::Arc::new(std::sync::Mutex::new(c)),
        Err(e) => {
            tracing::error!(error = %e, "no checkpoint connection; the WAL will grow");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (c, node) = (conn.clone(), node.clone());
        let r = tokio::task::spawn_blocking(move || {
            let c = c.lock().unwrap_or_else(|e| e.into_inner());
            let page = c.query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))?;
            let mut wal = passive(&c)?;
            if wal.frames * page < WAL_RESTART_BYTES as i64 {
                return Ok(());
            }
            for _ in 0..8 {
                if wal.left() * page <= WAL_TAIL_BYTES {
                    break;
                }
                wal = passive(&c)?;
            }
            if wal.left() * page <= WAL_TAIL_BYTES {
                let _writer = node.writer();
                passive(&c)?;
            }
            Ok::<_, rusqlite::Error>(())
        })
        .await;
        if let Ok(Err(e)) = r {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

/// The WAL size past which the checkpointer makes the log start over (see
/// [`checkpointer`]); also the size SQLite truncates the file to when it does.
pub const WAL_RESTART_BYTES: u64 = 32 << 20;

/// What may be left to copy while the writer waits.
const WAL_TAIL_BYTES: i64 = 1 << 20;

/// Frames in the WAL and frames copied back, after a checkpoint.
struct WalState {
    frames: i64,
    copied: i64,
}

impl WalState {
    fn left(&self) -> i64 {
        (self.frames - self.copied).max(0)
    }
}

fn passive(c: &rusqlite::Connection) -> rusqlite::Result<WalState> {
    c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok(WalState {
            frames: r.get(1)?,
            copied: r.get(2)?,
        })
    })
}
