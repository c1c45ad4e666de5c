//! `valgbord paper enter`: the paper list's marks entered after a fallback, from the
//! command line (the valgsekretær screen does the same at /sekretaer).

use super::failure::CmdResult;
use crate::table::config::TableConfig;
use crate::table::open::open_table;
use anyhow::Context;
use chrono::{Local, NaiveDate, NaiveTime, TimeZone};
use clap::Subcommand;
use std::io::BufRead;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum PaperCmd {
    /// Enter the løbenumre marked on paper; reads the official's personal PIN on stdin.
    Enter {
        /// Who enters the marks: the valgsekretær's or a valgstyrer's name as the
        /// table's [[officials]] list it; the events name this person.
        #[arg(long)]
        official: String,
        /// The table's configuration (its database and key are used).
        #[arg(long)]
        config: PathBuf,
        /// The table whose paper list was marked.
        #[arg(long)]
        table: u32,
        /// Start and end of the fallback, HH:MM local time.
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// The day (default today), YYYY-MM-DD.
        #[arg(long)]
        date: Option<NaiveDate>,
        /// The løbenumre marked on paper.
        #[arg(required = true)]
        list_nos: Vec<u32>,
    },
}

fn at(date: NaiveDate, hhmm: &str) -> anyhow::Result<i64> {
    let t = NaiveTime::parse_from_str(hhmm, "%H:%M")
        .map_err(|_| anyhow::anyhow!("\"{hhmm}\" is not a time HH:MM"))?;
    Local
        .from_local_datetime(&date.and_time(t))
        .earliest()
        .map(|d| d.timestamp_millis())
        .with_context(|| format!("{date} {hhmm} does not exist in local time"))
}

pub fn run(cmd: PaperCmd) -> CmdResult {
    match cmd {
        PaperCmd::Enter {
            official,
            config,
            table,
            from,
            to,
            date,
            list_nos,
        } => {
            let cfg = TableConfig::load(&config)?;
            let day = date.unwrap_or_else(|| Local::now().date_naive());
            let (from_ms, to_ms) = (at(day, &from)?, at(day, &to)?);
            let mut pin = String::new();
            std::io::stdin().lock().read_line(&mut pin)?;
            let mut opened = open_table(&cfg)?;
            let by = opened.core.authorize(&official, pin.trim())?;
            let r = opened
                .core
                .enter_paper_marks(&list_nos, table, from_ms, to_ms, &by)?;
            println!("entered: {}", r.entered.len());
            for c in &r.conflicts {
                println!(
                    "CONFLICT løbenr. {} {} ({}): {}",
                    c.list_no, c.name, c.voter_id, c.reason
                );
            }
            for c in &r.refused {
                println!(
                    "not entered løbenr. {} {} ({}): {}",
                    c.list_no, c.name, c.voter_id, c.reason
                );
            }
            if !r.unknown.is_empty() {
                println!(
                    "unknown løbenumre: {}",
                    r.unknown
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Ok(())
        }
    }
}
