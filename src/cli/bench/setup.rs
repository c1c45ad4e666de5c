//! Setting the scene of a benchmark: its scratch folder, a database holding a generated
//! list, a table's configuration. Not timed; shared by the benchmarks that start tables.

use crate::store::Store;
use crate::store::generate;
use anyhow::Context;
use std::path::PathBuf;

/// The benchmark's scratch folder, one per process.
pub fn tempdir() -> std::io::Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("valgbord-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

/// A new database at `db` (any old one removed) holding the list in `bytes`, bound to
/// the benchmark's test election.
pub fn import_list(db: &std::path::Path, bytes: &[u8]) -> anyhow::Result<Store> {
    crate::store::remove_scratch_database(db);
    let mut store = Store::open(db)?;
    store.bind("bench", crate::store::binding::Mode::Test)?;
    store
        .import_file(bytes, false, |_| {})
        .map_err(|e| anyhow::anyhow!("list does not import: {e:?}"))?;
    Ok(store)
}

/// Makes the configuration of table `t` of a benchmark polling place, its database
/// holding `bytes` as the list.
pub fn bench_table_config(
    dir: &std::path::Path,
    t: u32,
    bytes: &[u8],
    port: u16,
    sync_port: u16,
    peers: Vec<String>,
) -> anyhow::Result<crate::table::config::TableConfig> {
    use crate::table::config::*;
    let db = dir.join(format!("sync-{t}.db"));
    drop(import_list(&db, bytes)?);
    Ok(TableConfig {
        election: "bench".into(),
        mode: crate::store::binding::Mode::Test,
        database: db,
        key: dir.join(format!("sync-{t}.key")),
        place: generate::place_id(0),
        table_no: t,
        contests: vec![
            crate::election::contest::Contest::Kv,
            crate::election::contest::Contest::Rv,
        ],
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        scanner: ScannerConfig::Simulated,
        signals: SignalsConfig::Simulated,
        pins: None,
        officials: Vec::new(),
        api_scan: true,
        debounce_ms: 0,
        // Sync over mutual TLS on its own listener, as in an election.
        sync: SyncConfig {
            peers,
            listen: Some(std::net::SocketAddr::from(([127, 0, 0, 1], sync_port))),
            ..SyncConfig::default()
        },
        clock_offset_ms: 0,
        fast_bordvalg: Default::default(),
        place_addresses: Default::default(),
        printer: None,
        paper_list_dir: None,
        election_name: None,
        election_date: None,
    })
}

/// A path as the text of a command's argument.
pub fn path_str(p: &std::path::Path) -> anyhow::Result<&str> {
    p.to_str()
        .with_context(|| format!("{}: not UTF-8", p.display()))
}
