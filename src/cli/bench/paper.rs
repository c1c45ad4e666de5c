//! `valgbord bench paper`: the marked paper valgliste a table prints when the system
//! fails, timed as the command the valgsekretær's fallback runs (`valgbord list print`,
//! a process of its own: start-up, reading the database, the PDF with its font, written
//! to disk). The database is a polling place at the evening peak: the whole list, 64 %
//! of it checked in at three tables. Left out: sending the PDF to a printer and the
//! printer's own speed (a laser printer takes minutes for 482 pages; the table prints
//! the pages of its own letters first, see the README).

use super::proc as bench_proc;
use crate::cli::failure::CmdResult;
use crate::election::event::{CheckInMethod, EventKind};
use crate::election::voter_list;
use crate::store::append::Author;
use crate::store::generate;
use anyhow::Context;
use std::path::PathBuf;

pub fn run(voters: u64, dir: Option<PathBuf>) -> CmdResult {
    let dir = match dir {
        Some(d) => d,
        None => super::setup::tempdir()?,
    };
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("bench-paper.db");
    let mut bytes = Vec::new();
    generate::write_list(&mut bytes, voters, 1, 1, generate::DEFAULT_CONTESTS)?;
    let list = voter_list::parse(&bytes, |_| {}).map_err(|e| anyhow::anyhow!("{}", e[0]))?;
    let mut store = super::setup::import_list(&db, &bytes)?;
    // Setting the scene is not timed: no fsync per check-in here.
    store.without_fsync()?;
    let key = crate::election::keys::DeviceSecret::generate();
    let author = Author {
        key: &key,
        election: "bench",
        test: true,
    };
    let mut checked_in = 0usize;
    let can_vote: Vec<_> = list
        .voters
        .iter()
        .filter(|v| !v.brevstemme && v.struck.is_none())
        .collect();
    let want = list.voters.len() * 64 / 100;
    for (i, v) in can_vote.iter().enumerate().take(want) {
        store.append_local(
            &author,
            crate::store::now_ms(),
            EventKind::CheckIn {
                voter_id: v.id.clone(),
                place: v.place.clone(),
                table_no: 1 + (i % 3) as u32,
                card_code: Some(v.card_code.clone()),
                method: CheckInMethod::Card,
                ballots: v.contests.clone(),
            },
        )?;
        checked_in += 1;
    }
    drop(store);
    let out = dir.join("valgliste.pdf");
    let (db_s, out_s) = (
        db.to_str().context("database path is not UTF-8")?,
        out.to_str().context("output path is not UTF-8")?,
    );
    println!(
        "valgbord bench paper: the marked valgliste of {} voters ({checked_in} checked in), as `valgbord list print` (a process)",
        list.voters.len()
    );
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(bench_proc::run(&[
            "list",
            "print",
            "--db",
            db_s,
            "--out",
            out_s,
            "--contests",
            "KV+RV",
        ])?);
    }
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    for (i, r) in runs.iter().enumerate() {
        println!(
            "  run {}: {:.2} s, peak memory {}",
            i + 1,
            r.took.as_secs_f64(),
            bench_proc::mb(r.peak_kib)
        );
    }
    if let Some(r) = runs.last() {
        println!(
            "  {} ({:.1} MB): {}",
            out.display(),
            size as f64 / 1e6,
            r.stdout.trim()
        );
    }
    Ok(())
}
