//! `valgbord central --config FILE`: run the central tally of the election office.

use super::failure::CmdResult;
use crate::central::config::CentralConfig;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct CentralArgs {
    /// The central's configuration (see config/central.toml).
    #[arg(long)]
    pub config: PathBuf,
}

pub fn run(a: CentralArgs) -> CmdResult {
    let cfg = CentralConfig::load(&a.config)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let c = crate::app::central::start(cfg).await?;
        let scheme = if c.https { "https" } else { "http" };
        // Tests and supervisors read this line to find the port.
        println!("valgbord central listening on {scheme}://{}", c.addr);
        if let Some(at) = c.sync_addr {
            println!("valgbord central sync (mutual TLS) on https://{at}");
        }
        crate::systemd::notify_ready(&format!("valgkontor: {scheme}://{}", c.addr));
        // Fed only while the database answers: a tally that cannot store is restarted.
        let node = c.central.node.clone();
        let _watchdog = crate::systemd::spawn_watchdog(move || node.healthy());
        let mut server = c.server;
        tokio::select! {
            _ = super::table::wait_for_shutdown() => {}
            _ = &mut server => {
                crate::systemd::notify_stopping();
                anyhow::bail!("the central server stopped");
            }
        }
        crate::systemd::notify_stopping();
        tracing::info!("stopping");
        Ok(())
    })
}
