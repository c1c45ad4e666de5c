//! `valgbord bench list`: the list as the office and a table handle it: generate, sign
//! and import as the user's own commands (processes), then card lookups and searches on
//! the imported database.

use super::measure::{ms, spread_by};
use super::proc;
use super::setup::{path_str, tempdir};
use crate::cli::failure::CmdResult;
use crate::election::voter::Voter;
use crate::election::voter_list;
use crate::store::Store;
use crate::store::generate;
use crate::store::search::SearchQuery;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub fn run(voters: u64, lookups: usize, searches: usize, dir: Option<PathBuf>) -> CmdResult {
    let tmp;
    let dir = match dir {
        Some(d) => {
            std::fs::create_dir_all(&d)?;
            d
        }
        None => {
            tmp = tempdir()?;
            tmp.clone()
        }
    };
    let file = dir.join("bench-voters.csv");
    let db = dir.join("bench.db");
    crate::store::remove_scratch_database(&db);
    println!(
        "valgbord bench list: {voters} voters; each step is the command a user runs, as a process (start-up, file, fsync)"
    );
    as_the_user(&dir, &file, &db, voters)?;
    let bytes = std::fs::read(&file)?;
    let store = Store::open(&db)?;
    let list = voter_list::parse(&bytes, |_| {})
        .map_err(|e| anyhow::anyhow!("generated list does not parse: {}", e[0]))?;
    println!("  lookups and searches below: in this process, on the imported database");

    let mut rng = ChaCha8Rng::seed_from_u64(99);
    card_lookups(&store, &mut rng, voters, lookups)?;
    searches_timed(&store, &mut rng, &list.voters, searches)?;
    Ok(())
}

/// Generate, sign and import as the user's own commands (processes), each timed with
/// its peak memory.
fn as_the_user(dir: &Path, file: &Path, db: &Path, voters: u64) -> CmdResult {
    let (file_s, db_s) = (path_str(file)?, path_str(db)?);
    let (secret, public, sig) = (
        dir.join("office.secret"),
        dir.join("office.pub"),
        dir.join("bench-voters.csv.sig"),
    );
    let (secret_s, public_s, sig_s) = (path_str(&secret)?, path_str(&public)?, path_str(&sig)?);
    for f in [&secret, &public] {
        let _ = std::fs::remove_file(f);
    }
    let count = voters.to_string();
    let generated = proc::run(&[
        "voters", "generate", "--count", &count, "--seed", "1", "--places", "10", "--out", file_s,
    ])?;
    proc::run(&[
        "office", "keygen", "--secret", secret_s, "--public", public_s,
    ])?;
    let signed = proc::run(&[
        "office", "sign", file_s, "--secret", secret_s, "--out", sig_s,
    ])?;
    let imported = proc::run(&[
        "voters",
        "import",
        file_s,
        "--db",
        db_s,
        "--election",
        "bench",
        "--signature",
        sig_s,
        "--office-key",
        public_s,
    ])?;
    let line = |what: &str, r: &proc::Ran| {
        println!(
            "  {what:<38} {:>7.2} s  (peak memory {})",
            r.took.as_secs_f64(),
            proc::mb(r.peak_kib)
        )
    };
    line("valgbord voters generate", &generated);
    line("valgbord office sign (at the office)", &signed);
    line("valgbord voters import --signature …", &imported);
    println!(
        "  generate + import                      {:>7.2} s",
        (generated.took + imported.took).as_secs_f64()
    );
    Ok(())
}

/// Card lookups of random voters on the imported database.
fn card_lookups(store: &Store, rng: &mut ChaCha8Rng, voters: u64, lookups: usize) -> CmdResult {
    let mut times = Vec::with_capacity(lookups);
    for _ in 0..lookups {
        let i = rng.random_range(0..voters);
        let code = generate::card_code(i, 1);
        let t = Instant::now();
        let found = store.lookup_card(&code)?;
        times.push(t.elapsed());
        if found.is_none() {
            return Err(anyhow::anyhow!("card {code} not found"));
        }
    }
    println!(
        "  card lookup        {}  ({lookups} lookups)",
        spread_by(times, ms)
    );

    Ok(())
}

/// Searches by name and birthdate, then by a typed partial name, of random voters.
fn searches_timed(
    store: &Store,
    rng: &mut ChaCha8Rng,
    voters: &[Voter],
    searches: usize,
) -> CmdResult {
    let mut times = Vec::with_capacity(searches);
    let mut found_total = 0usize;
    for _ in 0..searches {
        let v = &voters[rng.random_range(0..voters.len())];
        let q = SearchQuery {
            name: v.full_name(),
            birthdate: Some(v.birthdate),
            ..Default::default()
        };
        let t = Instant::now();
        let hits = store.search(&q, 50)?;
        times.push(t.elapsed());
        if !hits.iter().any(|h| h.id == v.id) {
            return Err(anyhow::anyhow!("search did not find {}", v.id));
        }
        found_total += hits.len();
    }
    println!(
        "  name+birthdate     {}  ({searches} searches, {:.1} hits each)",
        spread_by(times, ms),
        found_total as f64 / searches.max(1) as f64
    );

    let mut times = Vec::with_capacity(searches);
    for _ in 0..searches {
        let v = &voters[rng.random_range(0..voters.len())];
        // A typed partial name in swapped order: "Hansen Jør".
        let first: String = v.first_names.chars().take(3).collect();
        let q = SearchQuery {
            name: format!("{} {first}", v.last_name),
            ..Default::default()
        };
        let t = Instant::now();
        store.search(&q, 50)?;
        times.push(t.elapsed());
    }
    println!(
        "  name only (partial) {}  ({searches} searches)",
        spread_by(times, ms)
    );
    Ok(())
}
