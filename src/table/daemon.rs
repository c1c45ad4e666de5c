//! Starting a table: open and check the database, load the key, start the drivers and
//! the screen server.

use super::config::{ScannerConfig, SignalsConfig, TableConfig};
use super::core::{TableCore, TableIdentity};
use super::screen::Screen;
use crate::election::event::Trust;
use crate::election::keys::DevicePublic;
use crate::scan::camera::{CameraScanner, CommandFrames, StreamFormat};
use crate::scan::evdev_hid::EvdevScanner;
use crate::scan::serial::SerialScanner;
use crate::scan::{ScanEvent, Scanner};
use crate::signal::Signals;
use crate::signal::gpio::{GpioPins, GpioSignals};
use crate::signal::simulated::SimulatedSignals;
use crate::store::Store;
use crate::store::binding::Mode;
use crate::store::keyfile;
use crate::sync::client::SyncClient;
use crate::sync::control::SyncControl;
use crate::sync::discovery;
use crate::sync::protocol::{Hello, PushResponse, VersionVector};
use crate::sync::tls::{self, TrustedKeys};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

/// The shared table, locked for each operation.
pub type SharedCore = Arc<Mutex<TableCore>>;

pub struct RunningTable {
    pub addr: SocketAddr,
    /// The TLS sync listener (`[sync] listen`), when there is one.
    pub sync_addr: Option<SocketAddr>,
    pub core: SharedCore,
    pub screen: watch::Receiver<Screen>,
    pub server: tokio::task::JoinHandle<()>,
}

/// Locks the core, recovering from a poisoned lock: a panic in one request must not
/// stop the table (the store's transactions keep the data consistent).
pub fn lock(core: &SharedCore) -> std::sync::MutexGuard<'_, TableCore> {
    core.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a table is made of before its drivers and server start.
pub struct OpenedTable {
    pub core: TableCore,
    pub screen: watch::Receiver<Screen>,
    pub signals: Arc<dyn Signals>,
    pub hello: Hello,
    pub trust: Trust,
    pub key: crate::election::keys::DeviceSecret,
}

/// Opens and checks the database, the key and the identity of a table (no drivers, no
/// server): shared by the daemon and by commands that work on a stopped table.
pub fn open_table(cfg: &TableConfig) -> Result<OpenedTable, String> {
    let mode = if cfg.is_test() {
        Mode::Test
    } else {
        Mode::Election
    };
    let store = Store::open(&cfg.database)
        .map_err(|e| format!("cannot open database {}: {e}", cfg.database.display()))?;
    match store.bound_election().map_err(|e| e.to_string())? {
        None => {
            return Err(format!(
                "the database {} holds no voter list; import one with `valgbord voters import FILE --db {} --election {}`",
                cfg.database.display(),
                cfg.database.display(),
                cfg.election
            ));
        }
        Some(_) => store
            .check_binding(&cfg.election, mode)
            .map_err(|e| e.to_string())?,
    }
    let voters = store
        .voter_count(Some(&cfg.place))
        .map_err(|e| e.to_string())?;
    if voters == 0 {
        return Err(format!(
            "the voter list in {} has no voters for polling place {}",
            cfg.database.display(),
            cfg.place
        ));
    }
    let key = keyfile::load_or_create(&cfg.key).map_err(|e| e.to_string())?;
    if store.meta("device").map_err(|e| e.to_string())?.is_none() {
        store
            .set_meta("device", &key.public().to_hex())
            .map_err(|e| e.to_string())?;
    }
    let signals = make_signals(&cfg.signals);
    let trust = make_trust(cfg, key.public())?;
    let hello = Hello {
        election: cfg.election.clone(),
        list_sha256: store
            .meta("list_sha256")
            .map_err(|e| e.to_string())?
            .unwrap_or_default(),
        software: env!("CARGO_PKG_VERSION").to_string(),
        device: key.public(),
        place: cfg.place.clone(),
        table_no: cfg.table_no,
    };
    let id = TableIdentity {
        election: cfg.election.clone(),
        test: cfg.is_test(),
        place: cfg.place.clone(),
        table_no: cfg.table_no,
        contests: cfg.contests.clone(),
        pin_hash: cfg.pins.valgsekretaer.clone(),
        debounce: std::time::Duration::from_millis(cfg.debounce_ms),
        trust: trust.clone(),
        clock_offset_ms: cfg.clock_offset_ms,
        printer: cfg
            .printer
            .as_ref()
            .map(|p| crate::print::spool::Spool::new(crate::print::drivers::open_printer(p))),
        election_name: cfg.election_name.clone(),
        election_date: cfg.election_date,
        shares: cfg.fast_shares()?,
    };
    let sync_key = key.clone();
    let (core, screen) =
        TableCore::new(store, key, id, signals.clone()).map_err(|e| e.to_string())?;
    Ok(OpenedTable {
        core,
        screen,
        signals,
        hello,
        trust,
        key: sync_key,
    })
}

/// Opens everything and starts serving. Errors are for people: they say what to do.
pub async fn start(cfg: TableConfig) -> Result<RunningTable, String> {
    let OpenedTable {
        core,
        screen,
        signals,
        hello,
        trust: sync_trust,
        key: sync_key,
    } = open_table(&cfg)?;
    let core: SharedCore = Arc::new(Mutex::new(core));

    let scanner = make_scanner(&cfg.scanner)?;
    let described = scanner.describe();
    let (tx, rx) = mpsc::channel(32);
    scanner.spawn(tx);
    tokio::spawn(route_scans(rx, core.clone()));
    tokio::spawn(route_button(signals.button(), core.clone()));
    tokio::spawn(flush_screen(core.clone()));
    tracing::info!(scanner = %described, signals = %signals.describe(), "drivers started");

    let control = Arc::new(SyncControl::default());
    let node: Arc<dyn crate::sync::node::SyncNode> = Arc::new(TableNode {
        core: core.clone(),
        clock_offset_ms: cfg.clock_offset_ms,
    });
    // Sync between devices: mutual TLS with the device keys on its own listener.
    let trusted = TrustedKeys::from(&sync_trust);
    let tls_listener = match cfg.sync.listen {
        Some(at) => {
            let config = tls::server_config(&sync_key, trusted.clone())?;
            let listener = tokio::net::TcpListener::bind(at)
                .await
                .map_err(|e| format!("cannot listen for sync on {at}: {e}"))?;
            Some((listener, config))
        }
        None => None,
    };
    let sync_addr = match &tls_listener {
        Some((l, _)) => Some(l.local_addr().map_err(|e| e.to_string())?),
        None => None,
    };
    if !cfg.sync.peers.is_empty() || !cfg.sync.central.is_empty() || cfg.sync.mdns {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&core).set_append_hook(tx);
        let client = SyncClient::new(
            node.clone(),
            hello.clone(),
            cfg.sync.peers.clone(),
            cfg.sync.central.clone(),
            control.clone(),
            sync_key.clone(),
            cfg.clock_offset_ms,
        )?
        .with_http(tls::http_client_from(
            &sync_key,
            trusted.clone(),
            !cfg.is_test(),
            cfg.sync
                .listen
                .map(|a| a.ip())
                .filter(|ip| !ip.is_unspecified()),
        )?);
        lock(&core).set_peer_asker(client.peer_asker());
        let discovery = match (cfg.sync.mdns, sync_addr) {
            (true, Some(at)) => {
                let me = discovery::Announce {
                    election: cfg.election.clone(),
                    place: cfg.place.clone(),
                    table_no: cfg.table_no,
                    device: sync_key.public(),
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
    }

    if let Some(dir) = &cfg.paper_list_dir {
        tokio::spawn(paper_list_every_minute(
            cfg.database.clone(),
            dir.clone(),
            cfg.place.clone(),
            cfg.contests.clone(),
            cfg.election_name.clone(),
            cfg.election_date,
        ));
    }

    let api_scan = cfg.api_scan || matches!(cfg.scanner, ScannerConfig::Simulated);
    let package_dir = cfg
        .database
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let sync_app =
        crate::sync::server::router(node, hello, control, cfg.is_test(), sync_trust.clone())
            .merge(crate::provision::serve::router(package_dir, sync_trust));
    if let (Some((listener, config)), Some(at)) = (tls_listener, sync_addr) {
        let gate = crate::sync::admission::Gate::new();
        tokio::spawn(show_floods(gate.floods(), core.clone()));
        tokio::spawn(tls::serve(listener, config, sync_app.clone(), gate));
        tracing::info!(%at, "sync served over TLS");
    }
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
    let (addr, server) = crate::web::listen_and_serve(cfg.listen, app, "screen server").await?;
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

/// The keys whose events this table accepts: the polling place's devices from the
/// configuration. Only a test-mode table may run without a list (it then accepts any
/// key of its own election, for demos and rehearsals).
fn make_trust(cfg: &TableConfig, own: DevicePublic) -> Result<Trust, String> {
    let mut keys = HashSet::new();
    for k in &cfg.sync.keys {
        keys.insert(DevicePublic::from_hex(k).map_err(|e| format!("sync.keys: \"{k}\": {e}"))?);
    }
    if keys.is_empty() && !cfg.is_test() {
        // mDNS too: it would find tables and then refuse every one of them as unlisted.
        if !cfg.sync.peers.is_empty() || cfg.sync.mdns {
            return Err(
                "sync.keys is empty: list the public key of every device of the polling place"
                    .into(),
            );
        }
        keys.insert(own);
    }
    if !keys.is_empty() {
        keys.insert(own);
    }
    Ok(Trust {
        election: cfg.election.clone(),
        keys: if keys.is_empty() { None } else { Some(keys) },
        allow_test: cfg.is_test(),
    })
}

fn make_signals(cfg: &SignalsConfig) -> Arc<dyn Signals> {
    match cfg {
        SignalsConfig::Simulated => Arc::new(SimulatedSignals::default()),
        SignalsConfig::Gpio {
            green,
            red,
            buzzer,
            buzzer_tone_hz,
            button,
        } => {
            let pins = GpioPins {
                green: *green,
                red: *red,
                buzzer: *buzzer,
                buzzer_tone_hz: *buzzer_tone_hz,
                button: *button,
            };
            match GpioSignals::new(pins) {
                Ok(g) => Arc::new(g),
                Err(e) => {
                    // Off a Pi (or with the pins taken) the table still works: the
                    // screen and the sound of the browser carry the signal.
                    tracing::error!(error = %e, "GPIO unavailable; lights and buzzer are simulated");
                    Arc::new(SimulatedSignals::default())
                }
            }
        }
    }
}

fn make_scanner(cfg: &ScannerConfig) -> Result<Box<dyn Scanner>, String> {
    Ok(match cfg {
        ScannerConfig::Simulated => Box::new(crate::scan::simulated::simulated().0),
        ScannerConfig::Evdev { path, name, layout } => match (path, name) {
            (Some(p), _) => Box::new(EvdevScanner::new(p.clone(), *layout)),
            (None, Some(n)) => Box::new(EvdevScanner::by_name(n.clone(), *layout)),
            (None, None) => return Err("[scanner] evdev needs `path` or `name`".into()),
        },
        ScannerConfig::Serial { path, baud } => Box::new(SerialScanner::new(path.clone(), *baud)),
        ScannerConfig::Camera {
            command,
            yuv_width,
            yuv_height,
        } => {
            let format = match (yuv_width, yuv_height) {
                (Some(width), Some(height)) => StreamFormat::Yuv420 {
                    width: *width,
                    height: *height,
                },
                _ => StreamFormat::Images,
            };
            Box::new(CameraScanner::new(CommandFrames::stream(
                command.clone(),
                format,
            )))
        }
    })
}

/// Writes the marked paper valgliste every minute (the first at once). Runs on a blocking
/// thread on its own read connection, so check-ins never wait for it.
async fn paper_list_every_minute(
    db: std::path::PathBuf,
    dir: std::path::PathBuf,
    place: String,
    contests: Vec<crate::election::contest::Contest>,
    name: Option<String>,
    date: Option<chrono::NaiveDate>,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (db, dir, place, contests, name) = (
            db.clone(),
            dir.clone(),
            place.clone(),
            contests.clone(),
            name.clone(),
        );
        let result = tokio::task::spawn_blocking(move || {
            let store = Store::open(&db).map_err(|e| e.to_string())?;
            let election =
                crate::print::card::ElectionInfo::from_store(&store, name.as_deref(), date)
                    .map_err(|e| e.to_string())?;
            drop(store);
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let out = dir.join(format!("valgliste-{place}.pdf"));
            crate::print::valgliste::write_valgliste(
                &db,
                &election,
                Some(&place),
                Some(contests),
                false,
                &out,
            )
            .map(|w| (out, w.pages))
            .map_err(|e| e.to_string())
        })
        .await;
        match result {
            Ok(Ok((out, pages))) => {
                tracing::debug!(path = %out.display(), pages, "paper list written")
            }
            Ok(Err(e)) => tracing::error!(error = %e, "paper list NOT written"),
            Err(e) => tracing::error!(error = %e, "paper list task failed"),
        }
    }
}

async fn route_scans(mut rx: mpsc::Receiver<ScanEvent>, core: SharedCore) {
    while let Some(ev) = rx.recv().await {
        let core = core.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mut c = lock(&core);
            match ev {
                ScanEvent::Code(code) => c.scan(&code).map(|_| ()),
                ScanEvent::Unreadable(why) => c.unreadable(&why).map(|_| ()),
                ScanEvent::Status(s) => c.set_scanner_status(s.connected, &s.detail).map(|_| ()),
            }
        })
        .await;
        match result {
            Ok(Err(e)) => tracing::error!(error = %e, "scan not handled"),
            Err(e) => tracing::error!(error = %e, "scan handler failed"),
            Ok(Ok(())) => {}
        }
    }
}

async fn route_button(mut rx: mpsc::Receiver<()>, core: SharedCore) {
    while rx.recv().await.is_some() {
        let core = core.clone();
        let result = tokio::task::spawn_blocking(move || lock(&core).confirm().map(|_| ())).await;
        if let Ok(Err(e)) = result {
            tracing::error!(error = %e, "confirm by button failed");
        }
    }
}

/// The table as sync sees it. The clock offset is kept apart so reading the clock never
/// waits for the table lock (a long ingest would distort the skew peers measure).
pub struct TableNode {
    pub core: SharedCore,
    pub clock_offset_ms: i64,
}

impl crate::sync::node::SyncNode for TableNode {
    fn version_vector(&self) -> Result<VersionVector, crate::store::StoreError> {
        crate::sync::node::store_version_vector(lock(&self.core).store())
    }

    fn pull_page(
        &self,
        theirs: &VersionVector,
        limit: usize,
    ) -> Result<crate::sync::node::PullPage, crate::store::StoreError> {
        crate::sync::node::store_pull_page(lock(&self.core).store(), theirs, limit)
    }

    fn ingest(&self, events: &[crate::election::event::SignedEvent]) -> PushResponse {
        lock(&self.core).ingest_events(events)
    }

    fn set_peers(&self, status: Vec<crate::sync::client::PeerStatus>) {
        lock(&self.core).set_peers(status)
    }

    fn wall_now(&self) -> i64 {
        crate::store::now_ms() + self.clock_offset_ms
    }
}

/// Puts a flood of the sync port on the status bar, and takes it off when it is over.
async fn show_floods(
    mut floods: tokio::sync::watch::Receiver<Option<crate::sync::admission::Flood>>,
    core: SharedCore,
) {
    while floods.changed().await.is_ok() {
        let text = floods.borrow_and_update().as_ref().map(|f| f.danish());
        let core = core.clone();
        let _ = tokio::task::spawn_blocking(move || lock(&core).set_sync_flood(text)).await;
    }
}

/// Rebuilds the screen for events from peers that arrived since it was last built
/// ([`crate::table::core::TableCore::publish_soon`]), every
/// [`crate::table::core::PUBLISH_EVERY`].
async fn flush_screen(core: SharedCore) {
    let mut every = tokio::time::interval(crate::table::core::PUBLISH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let core = core.clone();
        if tokio::task::spawn_blocking(move || lock(&core).flush_publish())
            .await
            .is_err()
        {
            return;
        }
    }
}
