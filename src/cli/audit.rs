//! `valgbord audit`: checks devices' bundles offline with only the election office's
//! public key, prints the report in Danish (or JSON; `--pdf` also writes it as a PDF
//! with a turnout chart per polling place) and fails naming the first thing
//! that does not hold.

use super::failure::CmdResult;
use crate::election::keys::DevicePublic;
use anyhow::anyhow;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct AuditArgs {
    /// The election office's public key: 64 hex digits, or a file holding them.
    #[arg(long)]
    pub office_key: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write the report in Danish as a PDF, with a turnout chart per polling place
    /// (written whole or not at all; also when the audit fails, naming what it found).
    #[arg(long, value_name = "FILE")]
    pub pdf: Option<PathBuf>,
    /// The bundles (`valgbord export`), of one or more polling places and the central.
    #[arg(required = true)]
    pub bundles: Vec<PathBuf>,
}

fn office_key(arg: &str) -> anyhow::Result<DevicePublic> {
    if let Ok(k) = DevicePublic::from_hex(arg.trim()) {
        return Ok(k);
    }
    crate::store::keyfile::load_public(std::path::Path::new(arg))
        .map_err(|e| anyhow!("--office-key is neither 64 hex digits nor a readable key file: {e}"))
}

pub fn run(a: AuditArgs) -> CmdResult {
    let office = office_key(&a.office_key)?;
    let report = crate::audit::check::audit(&a.bundles, office)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", crate::audit::text::render(&report));
    }
    if let Some(path) = &a.pdf {
        let bytes = crate::audit::pdf::render(&report)?;
        crate::print::atomic::write_atomically(path, &bytes)?;
        eprintln!("wrote the report as PDF to {}", path.display());
    }
    match report.findings.first() {
        None => Ok(()),
        Some(f) => Err(anyhow!("the audit failed: {f}")),
    }
}
