//! `valgbord destroy`: the end of the complaint period.

use super::failure::CmdResult;
use crate::store::binding;
use crate::store::keyfile;
use anyhow::Context;
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
}

pub fn run(a: DestroyArgs) -> CmdResult {
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
    let receipt = binding::destroy(&a.db, &device)?;
    print!("{}", receipt.to_text());
    if let Some(path) = a.receipt {
        let json = serde_json::to_string_pretty(&receipt)?;
        std::fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    tracing::info!(db = %a.db.display(), events = receipt.events, "election data destroyed");
    Ok(())
}
