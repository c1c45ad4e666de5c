//! `valgbord table --config FILE`: run one polling table.

use super::failure::CmdResult;
use crate::table::config::TableConfig;
use crate::table::shared::lock;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct TableArgs {
    /// The table's configuration (see config/table.toml).
    #[arg(long)]
    pub config: PathBuf,
}

pub fn run(a: TableArgs) -> CmdResult {
    let cfg = TableConfig::load(&a.config)?;
    let status = format!("bord {}, valgsted {}", cfg.table_no, cfg.place);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let table = crate::app::table::start(cfg).await?;
        // Tests and supervisors read this line to find the port.
        println!("valgbord table listening on http://{}", table.addr);
        if let Some(at) = table.sync_addr {
            println!("valgbord sync listening on https://{at}");
        }
        crate::systemd::notify_ready(&format!("{status}: http://{}", table.addr));
        // The watchdog is fed only while the database answers: a table that cannot
        // store check-ins is restarted by systemd rather than left showing a screen.
        let core = table.core.clone();
        let _watchdog =
            crate::systemd::spawn_watchdog(move || lock(&core).store().event_count().is_ok());
        let mut server = table.server;
        tokio::select! {
            _ = wait_for_shutdown() => {}
            _ = &mut server => {
                crate::systemd::notify_stopping();
                anyhow::bail!("the screen server stopped");
            }
        }
        crate::systemd::notify_stopping();
        tracing::info!("stopping");
        Ok(())
    })
}

/// Ctrl-C or SIGTERM (systemd's stop).
pub async fn wait_for_shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
