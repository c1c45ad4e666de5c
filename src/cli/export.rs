//! `valgbord export`: a device's bundle for the afstemningsbog and for `valgbord audit`,
//! from its database (opened read-only), written atomically; it may be written again
//! at any time.

use super::failure::CmdResult;
use crate::election::keys::DevicePublic;
use anyhow::anyhow;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct ExportArgs {
    /// The device's database (a table's `valgbord.db`, with its package and list
    /// beside it, or the central's).
    #[arg(long)]
    pub db: PathBuf,
    /// Where the bundle goes (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// The device's public key (hex), when neither the database nor a key file beside
    /// it says.
    #[arg(long)]
    pub device: Option<String>,
}

pub fn run(a: ExportArgs) -> CmdResult {
    let device = match &a.device {
        Some(hex) => {
            Some(DevicePublic::from_hex(hex.trim()).map_err(|e| anyhow!("--device: {e}"))?)
        }
        None => None,
    };
    let bundle = crate::audit::export::bundle_of(&a.db, device)?;
    bundle.write(&a.out)?;
    println!(
        "bundle of {} written to {}: {} events, {} list changes",
        bundle.header.device,
        a.out.display(),
        bundle.events.len(),
        bundle.list_changes.len()
    );
    Ok(())
}
