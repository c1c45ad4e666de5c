//! `valgbord voters …`: the voter list from file to database.

use super::failure::CmdResult;
use crate::election::voter_list::ListError;
use crate::store::binding::Mode;
use crate::store::generate;
use crate::store::import::ImportFailure;
use crate::store::keyfile;
use crate::store::meta::MetaKey;
use crate::store::search::SearchQuery;
use crate::store::{Store, StoreError};
use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Subcommand)]
pub enum VotersCmd {
    /// Write a deterministic synthetic voter list (realistic Danish names and addresses).
    Generate {
        #[arg(long, default_value_t = 10_000)]
        count: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of polling places the voters are spread over.
        #[arg(long, default_value_t = 1)]
        places: u32,
        /// Contests of the day, e.g. KV+RV or FV.
        #[arg(long, default_value = generate::DEFAULT_CONTESTS)]
        contests: String,
        /// Percent of voters with an address abroad or without a fixed address (adds
        /// the `land` column), as FV, FA and EP extracts have them.
        #[arg(long, default_value_t = 0.0)]
        abroad: f64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Check and import a voter list (CSV with ';'). All errors are reported; a file
    /// with any error changes nothing.
    Import {
        file: PathBuf,
        #[arg(long)]
        db: PathBuf,
        /// Election id the database is bound to (needed for a new database).
        #[arg(long)]
        election: Option<String>,
        /// Detached ed25519 signature of the file by the election office.
        #[arg(long, requires = "office_key")]
        signature: Option<PathBuf>,
        /// The election office's public key.
        #[arg(long, requires = "signature")]
        office_key: Option<PathBuf>,
    },
    /// Show the voter a card code belongs to.
    Lookup {
        #[arg(long)]
        db: PathBuf,
        code: String,
    },
    /// Search by any mix of name, birthdate (DD-MM-YYYY) and address.
    Search {
        #[arg(long)]
        db: PathBuf,
        query: Vec<String>,
    },
}

pub fn run(cmd: VotersCmd) -> CmdResult {
    match cmd {
        VotersCmd::Generate {
            count,
            seed,
            places,
            contests,
            abroad,
            out,
        } => {
            crate::election::contest::parse_contests(&contests)?;
            let f = std::fs::File::create(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let mut w = BufWriter::with_capacity(1 << 20, f);
            generate::write_list_abroad(&mut w, count, seed, places, &contests, abroad)
                .and_then(|_| w.flush())
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!(
                "wrote {count} voters in {places} polling places to {}",
                out.display()
            );
            Ok(())
        }
        VotersCmd::Import {
            file,
            db,
            election,
            signature,
            office_key,
        } => import_cmd(
            &file,
            &db,
            election.as_deref(),
            signature.as_deref(),
            office_key.as_deref(),
        ),
        VotersCmd::Lookup { db, code } => {
            let store = open_existing(&db)?;
            match store.lookup_card(code.trim())? {
                None => Err(anyhow::anyhow!("no voter has card code {code}")),
                Some(l) => {
                    let v = &l.voter;
                    println!(
                        "{}\t{}\t{}\t{}\t{}\tvalgsted {}\tløbenr. {}",
                        v.id,
                        v.full_name(),
                        v.birthdate.format("%d-%m-%Y"),
                        v.sex.danish(),
                        v.address_line(),
                        v.place,
                        v.list_no
                    );
                    if let Some(at) = l.superseded_at_ms {
                        println!("card superseded at {at}");
                    }
                    Ok(())
                }
            }
        }
        VotersCmd::Search { db, query } => {
            let store = open_existing(&db)?;
            let text = query.join(" ");
            let q = SearchQuery::parse_free(&text);
            let hits = store.search(&q, 50)?;
            if hits.is_empty() {
                let unmatched = store.unmatched_words(&text, None)?;
                eprintln!("{}", crate::store::search::nothing_found_text(&unmatched));
            }
            for v in hits {
                println!(
                    "{}\t{}\t{}\t{}\tvalgsted {}",
                    v.id,
                    v.full_name(),
                    v.birthdate.format("%d-%m-%Y"),
                    v.address_line(),
                    v.place
                );
            }
            Ok(())
        }
    }
}

pub(crate) fn open_existing(db: &Path) -> anyhow::Result<Store> {
    if !db.exists() {
        return Err(anyhow::anyhow!("there is no database at {}", db.display()));
    }
    Ok(Store::open(db)?)
}

fn import_cmd(
    file: &Path,
    db: &Path,
    election: Option<&str>,
    signature: Option<&Path>,
    office_key: Option<&Path>,
) -> CmdResult {
    let started = Instant::now();
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let office = match (signature, office_key) {
        (Some(sig), Some(key)) => {
            let office = keyfile::load_public(key)?;
            let sig_bytes =
                std::fs::read(sig).with_context(|| format!("cannot read {}", sig.display()))?;
            crate::election::list_signature::verify_list_signature(&bytes, &sig_bytes, office)
                .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was imported", file.display()))?;
            Some(office)
        }
        _ => None,
    };
    let signed = office.is_some();
    let mut store = Store::open(db)?;
    let election = match (store.bound_election()?, election) {
        (Some(b), Some(e)) if b != e => {
            return Err(StoreError::Binding(format!(
                "the database {} belongs to election \"{b}\", not \"{e}\"",
                db.display()
            ))
            .into());
        }
        (Some(b), _) => b,
        (None, Some(e)) => e.to_string(),
        (None, None) => {
            return Err(anyhow::anyhow!(
                "the database {} is new: name the election with --election ID",
                db.display()
            ));
        }
    };
    let mode = if signed { Mode::Election } else { Mode::Test };
    store.check_binding(&election, Mode::Test)?;
    let bar = ProgressBar::new(bytes.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {percent}% {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("importing");
    let progress = bar.clone();
    let result = store.import_file(&bytes, signed, move |pos| progress.set_position(pos));
    bar.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(ImportFailure::List(errors)) => return Err(report_errors(file, &errors)),
        Err(ImportFailure::Store(e)) => return Err(e.into()),
    };
    store.bind(&election, mode)?;
    store.set_meta(MetaKey::Mode, mode.as_str())?;
    // Election-day list changes are checked against the key that signed the list.
    if let Some(office) = office {
        store.set_meta(MetaKey::OfficeKey, &office.to_hex())?;
    }
    println!(
        "imported {} voters in {} polling places into {} (election {election}, list SHA-256 {}, {}) in {:.1} s",
        report.voters,
        report.places,
        db.display(),
        hex::encode(report.sha256),
        if signed {
            "signature verified"
        } else {
            "UNSIGNED: test mode only"
        },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Formats all errors of a list, at most a thousand lines of them.
fn report_errors(file: &Path, errors: &[ListError]) -> anyhow::Error {
    const SHOWN: usize = 1000;
    let mut s = format!(
        "{} has {} error{}; nothing was imported\n",
        file.display(),
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    for e in errors.iter().take(SHOWN) {
        s.push_str(&format!("  {e}\n"));
    }
    if errors.len() > SHOWN {
        s.push_str(&format!("  … and {} more\n", errors.len() - SHOWN));
    }
    anyhow::anyhow!(s.trim_end().to_string())
}
