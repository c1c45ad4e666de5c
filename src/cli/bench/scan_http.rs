//! `valgbord bench scan`'s second half: the table as the screen uses it. A real table
//! daemon (`valgbord table --config`, its own process) is given a day's voters over
//! HTTP on loopback, scan then confirm, each timed from request to answer as the
//! screen's JavaScript sees it: routing, JSON, the table's lock, SQLite with fsync, the
//! screen rebuilt and serialised. Afterwards its peak memory, a day's check-ins in.
//! Left out: the browser's own rendering, the scanner's keystrokes (USB HID at ~1 ms a
//! character), and the sync to other tables (`bench promise`).

use super::measure::print_scan_confirm;
use super::proc as bench_proc;
use crate::election::voter::Voter;
use crate::rehearsal::client;
use anyhow::Context;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::time::{Duration, Instant};

pub fn run(dir: &Path, list_bytes: &[u8], voters: &[Voter], scans: usize) -> anyhow::Result<()> {
    let db = dir.join("bench-scan-http.db");
    drop(super::setup::import_list(&db, list_bytes)?);
    let port = crate::ports::ports(0, 1)?
        .first()
        .copied()
        .context("no free port")?;
    let config = dir.join("bench-scan-http.toml");
    let place = crate::store::generate::place_id(0);
    std::fs::write(
        &config,
        format!(
            "election = \"bench\"\nmode = \"test\"\ndatabase = \"{}\"\nkey = \"{}\"\n\
             place = \"{place}\"\ntable_no = 1\ncontests = [\"KV\", \"RV\"]\n\
             listen = \"127.0.0.1:{port}\"\napi_scan = true\ndebounce_ms = 0\n",
            db.display(),
            dir.join("bench-scan-http.key").display()
        ),
    )
    .with_context(|| format!("{}", config.display()))?;
    let mut child = crate::rehearsal::place::spawn_daemon(
        "table",
        &config,
        &dir.join("bench-scan-http.log"),
        "the table daemon",
    )?;
    let pid = child.id();
    let url = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Runtime::new()?;
    let result = rt.block_on(drive(&url, voters, &place, scans));
    let peak = bench_proc::peak_rss_kib(pid);
    let _ = child.kill();
    let _ = child.wait();
    let (scan_times, confirm_times) = result?;
    let admitted = confirm_times.len();
    println!(
        "  over HTTP, a table daemon process (screen API on loopback, one request at a time):"
    );
    print_scan_confirm(scan_times, confirm_times);
    println!(
        "  table daemon peak memory after {admitted} check-ins on a {}-voter list: {}",
        voters.len(),
        bench_proc::mb(peak)
    );
    Ok(())
}

async fn drive(
    url: &str,
    voters: &[Voter],
    place: &str,
    scans: usize,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let http = client::http()?;
    match client::post(&http, url, "/api/table/open", serde_json::json!({})).await {
        Ok((200, _)) => {}
        other => return Err(anyhow::anyhow!("the table does not open: {other:?}")),
    }
    let here: Vec<&Voter> = voters.iter().filter(|v| v.place == place).collect();
    if here.is_empty() {
        return Err(anyhow::anyhow!(
            "no voters at the benchmark's polling place"
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut scan_times = Vec::with_capacity(scans);
    let mut confirm_times = Vec::with_capacity(scans);
    for _ in 0..scans {
        let v = here[rng.random_range(0..here.len())];
        let t = Instant::now();
        let verdict = client::scan(&http, url, &v.card_code)
            .await
            .map_err(|e| anyhow::anyhow!("scan got no answer: {}", e.0))?;
        scan_times.push(t.elapsed());
        if verdict == "pending" {
            let t = Instant::now();
            let done = client::confirm(&http, url)
                .await
                .map_err(|e| anyhow::anyhow!("confirm got no answer: {}", e.0))?;
            confirm_times.push(t.elapsed());
            if done != "admitted" {
                return Err(anyhow::anyhow!("a confirm answered {done}"));
            }
        }
    }
    Ok((scan_times, confirm_times))
}
