//! `valgbord list print`, `valgbord card print` and `valgbord report print`: the paper
//! valgliste, a voter's valgkort and the closing report, from the command line of any
//! table (the paper fallback must work when the daemon or its screen does not).

use super::failure::CmdResult;
use crate::election::contest::parse_contests;
use crate::print::card::{Card, ElectionInfo};
use crate::print::report::ClosingReport;
use crate::print::valgliste;
use crate::print::{PrintError, PrinterConfig, open_printer};
use crate::store::{Store, keyfile};
use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Flattened into the top-level commands: `list …`, `card …` and `report …`.
#[derive(Subcommand)]
pub enum PrintCmds {
    /// The paper valgliste.
    #[command(subcommand)]
    List(ListCmd),
    /// Valgkort.
    #[command(subcommand)]
    Card(CardCmd),
    /// Closing reports for the afstemningsbog.
    #[command(subcommand)]
    Report(ReportCmd),
}

#[derive(Subcommand)]
pub enum ReportCmd {
    /// The closing report of a polling place (PDF) or of one table (receipt): check-ins
    /// per contest, brevstemmer, returned ballots, undos, reissued cards, double
    /// registrations, state changes.
    Print(ReportPrintArgs),
}

#[derive(Args)]
pub struct ReportPrintArgs {
    #[arg(long)]
    db: PathBuf,
    /// Polling place id; needed when the database holds more than one.
    #[arg(long)]
    place: Option<String>,
    /// Only this table on the receipt (the PDF always has every table).
    #[arg(long)]
    table: Option<u32>,
    /// Write the polling place's report as an A4 PDF.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write the ESC/POS bytes of the receipt to this file.
    #[arg(long)]
    escpos: Option<PathBuf>,
    /// Print the receipt: usb:/dev/usb/lp0, serial:PATH@BAUD, tcp:HOST:9100, file:PATH, sim:DIR.
    #[arg(long)]
    printer: Option<PrinterConfig>,
    #[command(flatten)]
    election: ElectionArgs,
}

#[derive(Subcommand)]
pub enum ListCmd {
    /// Write the marked paper valgliste of a polling place as PDF (cover page with the
    /// snapshot time, counts and last event per device; voters in list order).
    Print(ListPrintArgs),
    /// Apply an election-day list change from the office at a stopped table.
    Change(super::list_change::ApplyChangeArgs),
}

#[derive(Subcommand)]
pub enum CardCmd {
    /// Print a voter's current valgkort (no event is stored: reissuing is done at a
    /// table, which then prints the new card).
    Print(CardPrintArgs),
}

/// The election as people read it; by default the id the database is bound to.
#[derive(Args)]
pub struct ElectionArgs {
    /// Election name printed on the page, e.g. "Kommunal- og regionsrådsvalg 2025".
    #[arg(long)]
    election_name: Option<String>,
    /// Election day (YYYY-MM-DD).
    #[arg(long)]
    election_date: Option<NaiveDate>,
}

#[derive(Args)]
pub struct ListPrintArgs {
    #[arg(long)]
    db: PathBuf,
    /// The PDF to write (atomically: a reader never sees half a file).
    #[arg(long)]
    out: PathBuf,
    /// Polling place id; needed when the database holds more than one.
    #[arg(long)]
    place: Option<String>,
    /// No check-in marks: the list printed before the election. Brevstemmer (B) and
    /// struck voters are still shown; they are part of the list.
    #[arg(long)]
    blank: bool,
    /// Contests of the day, one box each (default: every contest on the list).
    #[arg(long)]
    contests: Option<String>,
    #[command(flatten)]
    election: ElectionArgs,
}

#[derive(Args)]
pub struct CardPrintArgs {
    #[arg(long)]
    db: PathBuf,
    /// Voter id (vaelger_id).
    #[arg(long)]
    voter: String,
    /// Write the card as an A6 PDF.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The device key that signs the QR code; without it the card has no QR code.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Also write the ESC/POS bytes of the receipt to this file.
    #[arg(long)]
    escpos: Option<PathBuf>,
    /// Print on a receipt printer: usb:/dev/usb/lp0, serial:/dev/ttyUSB0@19200,
    /// tcp:HOST:9100, file:PATH or sim:DIR.
    #[arg(long)]
    printer: Option<PrinterConfig>,
    #[command(flatten)]
    election: ElectionArgs,
}

pub fn run(cmd: PrintCmds) -> CmdResult {
    match cmd {
        PrintCmds::List(ListCmd::Print(a)) => list_print(a),
        PrintCmds::List(ListCmd::Change(a)) => super::list_change::apply(a),
        PrintCmds::Card(CardCmd::Print(a)) => card_print(a),
        PrintCmds::Report(ReportCmd::Print(a)) => report_print(a),
    }
}

fn open_existing(db: &Path) -> anyhow::Result<Store> {
    // `Store::open` would make an empty database where none is.
    if !db.exists() {
        return Err(anyhow::anyhow!("no database at {}", db.display()));
    }
    Ok(Store::open(db)?)
}

fn election(store: &Store, a: &ElectionArgs) -> Result<ElectionInfo, PrintError> {
    ElectionInfo::from_store(store, a.election_name.as_deref(), a.election_date)
}

fn list_print(a: ListPrintArgs) -> CmdResult {
    let started = Instant::now();
    let store = open_existing(&a.db)?;
    let contests = a
        .contests
        .as_deref()
        .map(parse_contests)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--contests: {e}"))?;
    let e = election(&store, &a.election)?;
    let w = valgliste::write_valgliste(
        store.path(),
        &e,
        a.place.as_deref(),
        contests,
        a.blank,
        &a.out,
    )?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "wrote {}: {} pages, {} voters ({} eligible, {} checked in, {} brevstemmer, {} struck){} in {secs:.2} s",
        a.out.display(),
        w.pages,
        w.counts.listed,
        w.counts.eligible,
        if a.blank {
            "-".to_string()
        } else {
            w.counts.checked_in.to_string()
        },
        w.counts.brevstemmer,
        w.counts.struck,
        if a.blank { ", blank" } else { "" },
    );
    tracing::info!(
        out = %a.out.display(),
        pages = w.pages,
        bytes = w.bytes,
        ms = started.elapsed().as_millis() as u64,
        "paper valgliste written"
    );
    Ok(())
}

/// Sends a document where the command line said: a PDF file, an ESC/POS file, a printer
/// (any of them).
fn deliver(
    pdf_out: Option<&Path>,
    escpos_out: Option<&Path>,
    printer: Option<&PrinterConfig>,
    pdf: impl FnOnce() -> Result<Vec<u8>, PrintError>,
    receipt: &crate::print::receipt::Receipt,
) -> CmdResult {
    if let Some(out) = pdf_out {
        crate::print::write_atomically(out, &pdf()?)?;
        println!("wrote {}", out.display());
    }
    if let Some(path) = escpos_out {
        crate::print::write_atomically(path, &crate::print::escpos::encode(receipt)?)?;
        println!("wrote {} (ESC/POS)", path.display());
    }
    if let Some(cfg) = printer {
        let p = open_printer(cfg);
        p.print(receipt)?;
        println!("printed on {}", p.describe());
    }
    Ok(())
}

fn card_print(a: CardPrintArgs) -> CmdResult {
    if a.out.is_none() && a.escpos.is_none() && a.printer.is_none() {
        return Err(anyhow::anyhow!(
            "say where the card goes: --out FILE.pdf, --escpos FILE or --printer"
        ));
    }
    let store = open_existing(&a.db)?;
    let e = election(&store, &a.election)?;
    let key = a.key.as_deref().map(keyfile::load).transpose()?;
    if key.is_none() {
        eprintln!("warning: no --key: the card is printed without the signed QR code");
    }
    let card = Card::current(&store, &e, &a.voter, crate::store::now_ms(), key.as_ref())?;
    deliver(
        a.out.as_deref(),
        a.escpos.as_deref(),
        a.printer.as_ref(),
        || card.to_pdf(),
        &card.to_receipt(),
    )?;
    if a.out.is_some() {
        println!("card {}", card.code);
    }
    tracing::info!(voter = %a.voter, code = %card.code, "valgkort printed");
    Ok(())
}

fn report_print(a: ReportPrintArgs) -> CmdResult {
    if a.out.is_none() && a.escpos.is_none() && a.printer.is_none() {
        return Err(anyhow::anyhow!(
            "say where the report goes: --out FILE.pdf, --escpos FILE or --printer"
        ));
    }
    let store = open_existing(&a.db)?;
    let e = election(&store, &a.election)?;
    let place = match a.place {
        Some(p) => p,
        None => match store.places()?.as_slice() {
            [(id, _)] => id.clone(),
            _ => {
                return Err(anyhow::anyhow!(
                    "the database holds several polling places: choose one with --place"
                ));
            }
        },
    };
    let rep = ClosingReport::read(store.path(), &place, crate::store::now_ms())?;
    if let Some(t) = a.table
        && !rep.tables.iter().any(|r| r.table_no == t)
    {
        eprintln!("warning: table {t} has no events at polling place {place}");
    }
    deliver(
        a.out.as_deref(),
        a.escpos.as_deref(),
        a.printer.as_ref(),
        || rep.to_pdf(&e),
        &rep.to_receipt(&e, a.table),
    )?;
    if let Some(out) = &a.out {
        record_export(&store, out)?;
    }
    println!(
        "{} persons checked in, {} brevstemmer, {} tables",
        rep.persons,
        rep.brevstemmer,
        rep.tables.len()
    );
    Ok(())
}

/// Records the hash of the closing report just written, for the afstemningsbog: the
/// database cannot be destroyed before one was, and the receipt names it.
fn record_export(store: &Store, out: &Path) -> CmdResult {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(out).with_context(|| format!("cannot read {}", out.display()))?;
    let report = crate::store::retention::ExportedReport {
        sha256: hex::encode(Sha256::digest(&bytes)),
        file: out.display().to_string(),
        at: chrono::Local::now().to_rfc3339(),
    };
    store.record_exported_report(&report)?;
    println!("closing report SHA-256 {} recorded", report.sha256);
    Ok(())
}
