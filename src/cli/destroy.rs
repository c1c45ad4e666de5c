//! `valgbord destroy`: the end of the complaint period. Refuses before the complaint
//! deadline, before an FV/FA/EP election is approved, under a research hold and before
//! the closing report was exported (`store::retention`); `--research-hold` and
//! `--release-hold` set and release the municipality's hold.

use super::failure::CmdResult;
use crate::store::Store;
use crate::store::binding;
use crate::store::keyfile;
use crate::store::retention::{DestroyRules, ResearchHold};
use anyhow::Context;
use chrono::NaiveDate;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct DestroyArgs {
    /// The device database to destroy.
    #[arg(long)]
    pub db: PathBuf,
    /// The device key, to name the device on the receipt (the key itself is kept).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Also write the receipt to this file (JSON).
    #[arg(long)]
    pub receipt: Option<PathBuf>,
    /// Confirm: the data cannot be recovered afterwards.
    #[arg(long)]
    pub yes: bool,
    /// Folketinget has decided on the election's validity (FV), or the result of a
    /// folkeafstemning or Europa-Parlamentsvalg is approved: needed for those.
    #[arg(long)]
    pub validity_decided: bool,
    /// The election day, for a database whose table never recorded one.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub election_date: Option<NaiveDate>,
    /// Rehearsals only (a test-mode database): take this day as today.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub today: Option<NaiveDate>,
    /// The municipality keeps the material for research (KRVL § 106): no destruction
    /// until released. Give the reason; --by names who sets it.
    #[arg(long, value_name = "REASON", conflicts_with_all = ["yes", "release_hold"])]
    pub research_hold: Option<String>,
    /// Release the research hold (--by names who releases it).
    #[arg(long, conflicts_with = "yes")]
    pub release_hold: bool,
    /// Who sets or releases the research hold (name, and office).
    #[arg(long)]
    pub by: Option<String>,
}

pub fn run(a: DestroyArgs) -> CmdResult {
    if a.research_hold.is_some() || a.release_hold {
        return hold(&a);
    }
    if !a.yes {
        return Err(anyhow::anyhow!(
            "destroying {} cannot be undone; add --yes to confirm",
            a.db.display()
        ));
    }
    let device = match &a.key {
        Some(k) => keyfile::load(k)?.public().to_hex(),
        None => "(ukendt / unknown)".into(),
    };
    let rules = DestroyRules {
        today: a.today.unwrap_or_else(|| chrono::Local::now().date_naive()),
        today_given: a.today.is_some(),
        approved: a.validity_decided,
        election_day: a.election_date,
    };
    let receipt = binding::destroy(&a.db, &device, &rules)?;
    print!("{}", receipt.to_text());
    if let Some(path) = a.receipt {
        let json = serde_json::to_string_pretty(&receipt)?;
        std::fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    tracing::info!(db = %a.db.display(), events = receipt.events, "election data destroyed");
    Ok(())
}

/// Sets or releases the research hold, naming who and (for a hold) why.
fn hold(a: &DestroyArgs) -> CmdResult {
    let by = a.by.as_deref().map(str::trim).unwrap_or_default();
    if by.is_empty() {
        return Err(anyhow::anyhow!(
            "say who sets or releases the research hold with --by \"name, office\""
        ));
    }
    if !a.db.exists() {
        return Err(anyhow::anyhow!(
            "there is no database at {}",
            a.db.display()
        ));
    }
    let store = Store::open(&a.db)?;
    let now = chrono::Local::now().to_rfc3339();
    match &a.research_hold {
        Some(reason) => {
            let reason = reason.trim();
            if reason.is_empty() {
                return Err(anyhow::anyhow!("give the research hold a reason"));
            }
            store.set_research_hold(&ResearchHold {
                reason: reason.to_string(),
                by: by.to_string(),
                set_at: now,
                released_by: None,
                released_at: None,
            })?;
            tracing::info!(db = %a.db.display(), by, reason, "research hold set");
            println!(
                "Forskningshold sat af {by}: {reason}. Databasen destrueres ikke, før det er frigivet."
            );
        }
        None => {
            let Some(mut h) = store.research_hold()?.filter(ResearchHold::in_force) else {
                return Err(anyhow::anyhow!(
                    "{} has no research hold to release",
                    a.db.display()
                ));
            };
            h.released_by = Some(by.to_string());
            h.released_at = Some(now);
            store.set_research_hold(&h)?;
            tracing::info!(db = %a.db.display(), by, reason = %h.reason, "research hold released");
            println!("Forskningshold ({}) frigivet af {by}.", h.reason);
        }
    }
    Ok(())
}
