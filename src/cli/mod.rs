//! The command line: one binary, one subcommand per job.

mod audit;
pub mod bench;
mod central;
mod demo;
mod destroy;
mod election;
mod export;
mod failure;
mod key;
mod list_change;
mod office;
mod paper;
mod pin;
mod print;
mod simulate;
pub mod table;
mod voters;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "valgbord",
    version,
    about = "Digitale valglister for a Danish polling place",
    long_about = "valgbord runs the polling tables of a Danish polling place: scan the valgkort, \
                  check the voter, hand out the right ballots, and keep every table in step."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a whole simulated polling place on this machine (tables, simulated hardware).
    Demo(demo::DemoArgs),
    /// Run one polling table (the daemon).
    Table(table::TableArgs),
    /// Run the central tally of the election office (valgkontoret).
    Central(central::CentralArgs),
    /// Voter lists: generate, import, look up, search.
    #[command(subcommand)]
    Voters(voters::VotersCmd),
    /// Provisioning: the office makes an election and its packages; a table loads one.
    #[command(subcommand)]
    Election(election::ElectionCmd),
    /// This device's own key: make it, and show its public half for enrolment.
    #[command(subcommand)]
    Key(key::KeyCmd),
    /// The election office's signing key.
    #[command(subcommand)]
    Office(office::OfficeCmd),
    /// Overwrite and delete a device's election data, and print a destruction receipt.
    Destroy(destroy::DestroyArgs),
    /// Paper registrations after a fallback.
    #[command(subcommand)]
    Paper(paper::PaperCmd),
    /// The valgsekretær PIN.
    #[command(subcommand)]
    Pin(pin::PinCmd),
    /// Rehearse an election day: real tables and central, voters on the hourly curve, faults, invariants.
    Simulate(simulate::SimulateArgs),
    /// Measure performance and print figures.
    #[command(subcommand)]
    Bench(bench::BenchCmd),
    /// Write a device's bundle (package, list, list changes, log, closing report) for the afstemningsbog and `audit`.
    Export(export::ExportArgs),
    /// Check devices' bundles offline against the election office's public key.
    Audit(audit::AuditArgs),
    /// Printing: `list print` (the paper valgliste), `card print` (a valgkort), `report print`.
    #[command(flatten)]
    Print(print::PrintCmds),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Benchmarks print figures; a log line per scan would drown them.
    let level = match cli.command {
        Command::Bench(_) | Command::Simulate(_) => "warn",
        _ => "info",
    };
    crate::logging::init(level);
    crate::sync::tls::install_crypto_provider();
    let result = match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Table(a) => table::run(a),
        Command::Central(a) => central::run(a),
        Command::Pin(c) => pin::run(c),
        Command::Paper(c) => paper::run(c),
        Command::Voters(c) => voters::run(c),
        Command::Key(c) => key::run(c),
        Command::Office(c) => office::run(c),
        Command::Election(c) => election::run(c),
        Command::Destroy(a) => destroy::run(a),
        Command::Bench(c) => bench::run(c),
        Command::Simulate(a) => simulate::run(a),
        Command::Print(c) => print::run(c),
        Command::Export(a) => export::run(a),
        Command::Audit(a) => audit::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", failure::message(&e));
            ExitCode::FAILURE
        }
    }
}
