//! The table's background work while it runs: scans and button presses routed into the
//! core, the screen rebuilt for peers' events, floods of the sync port shown, the paper
//! valgliste written. Started by the composition layer (`app/table.rs`).

use super::shared::{SharedCore, lock};
use crate::scan::ScanEvent;
use crate::store::Store;
use tokio::sync::mpsc;

/// Writes the marked paper valgliste every minute (the first at once). Runs on a blocking
/// thread on its own read connection, so check-ins never wait for it.
pub async fn paper_list_every_minute(
    db: std::path::PathBuf,
    dir: std::path::PathBuf,
    place: String,
    contests: Vec<crate::election::contest::Contest>,
    name: Option<String>,
    date: Option<chrono::NaiveDate>,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (db, dir, place, contests, name) = (
            db.clone(),
            dir.clone(),
            place.clone(),
            contests.clone(),
            name.clone(),
        );
        let result = tokio::task::spawn_blocking(move || {
            let store = Store::open(&db).map_err(|e| e.to_string())?;
            let election =
                crate::print::card::ElectionInfo::from_store(&store, name.as_deref(), date)
                    .map_err(|e| e.to_string())?;
            drop(store);
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let out = dir.join(format!("valgliste-{place}.pdf"));
            crate::print::valgliste::write_valgliste(
                &db,
                &election,
                Some(&place),
                Some(contests),
                false,
                &out,
            )
            .map(|w| (out, w.pages))
            .map_err(|e| e.to_string())
        })
        .await;
        match result {
            Ok(Ok((out, pages))) => {
                tracing::debug!(path = %out.display(), pages, "paper list written")
            }
            Ok(Err(e)) => tracing::error!(error = %e, "paper list NOT written"),
            Err(e) => tracing::error!(error = %e, "paper list task failed"),
        }
    }
}

pub async fn route_scans(mut rx: mpsc::Receiver<ScanEvent>, core: SharedCore) {
    while let Some(ev) = rx.recv().await {
        let core = core.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mut c = lock(&core);
            match ev {
                ScanEvent::Code(code) => c.scan(&code).map(|_| ()),
                ScanEvent::Unreadable(why) => c.unreadable(&why).map(|_| ()),
                ScanEvent::Status(s) => c.set_scanner_status(s.connected, &s.detail).map(|_| ()),
            }
        })
        .await;
        match result {
            Ok(Err(e)) => tracing::error!(error = %e, "scan not handled"),
            Err(e) => tracing::error!(error = %e, "scan handler failed"),
            Ok(Ok(())) => {}
        }
    }
}

pub async fn route_button(mut rx: mpsc::Receiver<()>, core: SharedCore) {
    while rx.recv().await.is_some() {
        let core = core.clone();
        let c = core.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mut table = lock(&c);
            table.confirm().map(|_| table.take_card_printing())
        })
        .await;
        match result {
            Ok(Ok(printing)) => super::no_card::report_card_print(&core, printing),
            Ok(Err(e)) => tracing::error!(error = %e, "confirm by button failed"),
            Err(e) => tracing::error!(error = %e, "confirm by button failed"),
        }
    }
}

/// Puts a flood of the sync port on the status bar, and takes it off when it is over.
pub async fn show_floods(
    mut floods: tokio::sync::watch::Receiver<Option<crate::sync::admission::Flood>>,
    core: SharedCore,
) {
    while floods.changed().await.is_ok() {
        let text = floods.borrow_and_update().as_ref().map(|f| f.danish());
        let core = core.clone();
        let _ = tokio::task::spawn_blocking(move || lock(&core).set_sync_flood(text)).await;
    }
}

/// Rebuilds the screen for events from peers that arrived since it was last built
/// ([`crate::table::core::TableCore`]'s `publish_soon`), every
/// [`crate::table::core::PUBLISH_EVERY`].
pub async fn flush_screen(core: SharedCore) {
    let mut every = tokio::time::interval(crate::table::core::PUBLISH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let core = core.clone();
        if tokio::task::spawn_blocking(move || lock(&core).flush_publish())
            .await
            .is_err()
        {
            return;
        }
    }
}
