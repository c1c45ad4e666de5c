//! `valgbord bench scan`'s first half: scan -> verdict and confirm -> stored on the
//! table's core in this process, without HTTP; the second half is `scan_http`.

use super::measure::print_scan_confirm;
use super::setup::{import_list, tempdir};
use crate::cli::failure::CmdResult;
use crate::election::voter_list;
use crate::store::generate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub fn run(voters: u64, scans: usize, dir: Option<PathBuf>) -> CmdResult {
    use crate::election::checkin::TableState;
    use crate::election::contest::Contest;
    use crate::table::core::{TableCore, TableIdentity};
    use crate::table::screen::View;

    let dir = match dir {
        Some(d) => d,
        None => tempdir()?,
    };
    std::fs::create_dir_all(&dir)?;
    let mut bytes = Vec::new();
    generate::write_list(&mut bytes, voters, 3, 1, generate::DEFAULT_CONTESTS)?;
    let store = import_list(&dir.join("bench-scan.db"), &bytes)?;
    let list = voter_list::parse(&bytes, |_| {}).map_err(|e| anyhow::anyhow!("{}", e[0]))?;
    let id = TableIdentity {
        election: "bench".into(),
        test: true,
        place: generate::place_id(0),
        table_no: 1,
        contests: vec![Contest::Kv, Contest::Rv],
        officials: Vec::new(),
        debounce: Duration::ZERO,
        trust: crate::election::event::Trust {
            election: "bench".into(),
            enrolment: None,
            allow_test: true,
        },
        clock_offset_ms: 0,
        printer: None,
        election_name: None,
        election_date: None,
        shares: Vec::new(),
        key_path: None,
        place_addresses: Default::default(),
    };
    let signals = std::sync::Arc::new(crate::signal::simulated::SimulatedSignals::default());
    let (mut core, _rx) = TableCore::new(
        store,
        crate::election::keys::DeviceSecret::generate(),
        id,
        signals,
    )?;
    core.set_state(TableState::Open, "")?;
    println!(
        "valgbord bench scan: {voters} voters, {scans} scans on a file database (WAL, synchronous=FULL)"
    );
    println!("  in this process, the table's core without HTTP:");
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut scan_times = Vec::with_capacity(scans);
    let mut confirm_times = Vec::with_capacity(scans);
    for _ in 0..scans {
        let v = &list.voters[rng.random_range(0..list.voters.len())];
        let t = Instant::now();
        let screen = core.scan(&v.card_code)?;
        scan_times.push(t.elapsed());
        if matches!(screen.view, View::Pending { .. }) {
            let t = Instant::now();
            core.confirm()?;
            confirm_times.push(t.elapsed());
        }
    }
    print_scan_confirm(scan_times, confirm_times);
    super::scan_http::run(&dir, &bytes, &list.voters, scans)?;
    Ok(())
}
