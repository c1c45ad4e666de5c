//! `valgbord simulate`: an election-day rehearsal with real table daemons, the central tally and faults.

use super::failure::CmdResult;
use crate::rehearsal::{self, Options, faults};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct SimulateArgs {
    /// Polling tables (each a `valgbord table` process; as root on an address of its own
    /// in a network namespace of the rehearsal's own).
    #[arg(long, default_value_t = 10)]
    pub tables: u32,
    /// Voters on the polling place's list.
    #[arg(long, default_value_t = 25_000)]
    pub voters: u64,
    /// Faults: all, none, or some of kill,split,clock,disk,paper,central,flood,wan (comma-separated).
    #[arg(long, default_value = "all")]
    pub faults: String,
    /// Seed of the list, the arrivals and the fault schedule.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Real seconds the day from 08:00 to 20:00 takes.
    #[arg(long, default_value_t = 150.0)]
    pub day_seconds: f64,
    /// Folder for databases, logs and the report (fresh under the temp folder when not given).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// At the end of the day, write each device's bundle (`valgbord export`) into this
    /// folder, for `valgbord audit`.
    #[arg(long)]
    pub export: Option<PathBuf>,
}

pub fn run(a: SimulateArgs) -> CmdResult {
    let faults = faults::parse_faults(&a.faults)?;
    // First of all, while this process has one thread: a namespace is per thread, and
    // the runtime's threads and the tables' processes must all be in it.
    let network = rehearsal::net::Network::choose();
    let dir = match a.dir {
        Some(d) => d,
        None => {
            let d = std::env::temp_dir().join("valgbord-simulate");
            // Our own scratch folder: start from nothing.
            let _ = std::fs::remove_dir_all(&d);
            d
        }
    };
    let outcome = rehearsal::run(Options {
        tables: a.tables,
        voters: a.voters,
        faults,
        seed: a.seed,
        day_seconds: a.day_seconds,
        dir,
        network,
        export: a.export.map(export_hook),
    })?;
    println!("{}", outcome.report);
    println!("Rapport: {}", outcome.text.display());
    if outcome.ok {
        Ok(())
    } else {
        Err(anyhow::anyhow!(
            "an invariant failed (see the report: {}, and the tables' logs beside it)",
            outcome.text.display()
        ))
    }
}

/// Writes `<folder>/<device>.json` from a stopped device's database.
fn export_hook(folder: PathBuf) -> rehearsal::ExportHook {
    Box::new(move |name, db| {
        std::fs::create_dir_all(&folder)?;
        let bundle = crate::audit::export::bundle_of(db, None)?;
        bundle.write(&folder.join(format!("{name}.json")))?;
        Ok(())
    })
}
