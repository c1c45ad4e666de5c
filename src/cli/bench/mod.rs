//! `valgbord bench …`: performance figures, printed. Benchmarks measure; tests do not
//! time anything.

mod audit;
mod central;
mod central_proc;
mod central_pulls;
mod central_tables;
mod list;
mod measure;
mod paper;
mod proc;
mod promise;
mod push_refusals;
mod scan;
mod scan_http;
mod setup;
mod sync;
mod sync_peak;

use crate::cli::failure::CmdResult;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// `valgbord audit` on the bundles of a polling place's day, timed.
    Audit {
        #[arg(long, default_value_t = 10)]
        tables: u32,
        #[arg(long, default_value_t = 25_000)]
        voters: u64,
    },
    /// Generate, import, then measure card lookups and searches on the imported list.
    List {
        #[arg(long, default_value_t = 1_000_000)]
        voters: u64,
        #[arg(long, default_value_t = 10_000)]
        lookups: usize,
        #[arg(long, default_value_t = 2_000)]
        searches: usize,
        /// Work directory (a temporary one when not given).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Cross-table visibility and catch-up with real table daemons on loopback, every
    /// table checking in at the evening peak.
    Sync(sync::Args),
    /// The central tally under a country's load: simulated tables, each on its own
    /// mutual-TLS connection, push signed check-ins on loopback at a fixed rate and pull
    /// as real tables do; the time to connect them all, sustained events/s, push and pull
    /// latency, the central's memory.
    Central {
        #[arg(long, default_value_t = 1_314)]
        places: u32,
        #[arg(long, default_value_t = 10_000)]
        tables: u32,
        #[arg(long, default_value_t = 4_300_000)]
        voters: u64,
        /// Check-ins pushed (each table also pushes its opening).
        #[arg(long, default_value_t = 100_000)]
        events: usize,
        /// Pushes per second, all tables together.
        #[arg(long, default_value_t = 1_000)]
        rate: u32,
        /// Push instead through this many plain-HTTP connections that all tables share
        /// (test mode; no TLS), to compare with one TLS connection per table.
        #[arg(long)]
        connections: Option<usize>,
        /// Leave out the tables' pulls of the central (which real tables make several
        /// times a second each), to see what the pushes alone cost.
        #[arg(long)]
        no_pulls: bool,
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// The promise under real network faults, every table checking in at once:
    /// confirmed at one table -> refused at another, per condition (needs root: it
    /// makes a network namespace of its own and drops packets with nftables).
    Promise(promise::Args),
    /// The marked paper valgliste of a polling place as `valgbord list print` makes it.
    Paper {
        #[arg(long, default_value_t = 25_000)]
        voters: u64,
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Scan → verdict and confirm → durable check-in latency at one table: in
    /// process, then over HTTP on a table daemon process.
    Scan {
        #[arg(long, default_value_t = 25_000)]
        voters: u64,
        #[arg(long, default_value_t = 3_000)]
        scans: usize,
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

pub fn run(cmd: BenchCmd) -> CmdResult {
    match cmd {
        BenchCmd::Audit { tables, voters } => audit::run(tables, voters),
        BenchCmd::List {
            voters,
            lookups,
            searches,
            dir,
        } => list::run(voters, lookups, searches, dir),
        BenchCmd::Scan { voters, scans, dir } => scan::run(voters, scans, dir),
        BenchCmd::Promise(args) => promise::run(args),
        BenchCmd::Paper { voters, dir } => paper::run(voters, dir),
        BenchCmd::Central {
            places,
            tables,
            voters,
            events,
            rate,
            connections,
            no_pulls,
            dir,
        } => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(central::run(central::Args {
                places,
                tables,
                voters,
                events,
                rate,
                connections,
                no_pulls,
                dir,
            }))
        }
        BenchCmd::Sync(args) => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(sync::run(args))
        }
    }
}
