//! The table's HTTP API under `/api/` and its screen at `/`.

use super::assets;
use super::error::ApiError;
use super::pin::authorize;
use crate::election::checkin::TableState;
use crate::election::contest::Contest;
use crate::scan::clean::clean_scan;
use crate::table::admin::Reconciliation;
use crate::table::core::{TableCore, TableError};
use crate::table::printing::Queued;
use crate::table::screen::Screen;
use crate::table::shared::{SharedCore, lock};
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_core::Stream;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::convert::Infallible;
use tokio::sync::watch;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::WatchStream;

#[derive(Clone)]
struct AppState {
    core: SharedCore,
    screen: watch::Receiver<Screen>,
    api_scan: bool,
}

pub fn table_router(core: SharedCore, screen: watch::Receiver<Screen>, api_scan: bool) -> Router {
    let router = Router::new()
        .route("/", get(assets::table_html))
        .route("/assets/table.js", get(assets::table_js))
        .route("/assets/table.css", get(assets::table_css))
        .route("/api/screen", get(screen_now))
        .route("/api/events", get(events))
        .route("/api/health", get(health))
        .route("/api/checklist", get(checklist))
        .route("/api/checklist/test-card", post(print_test_card))
        .route("/api/checklist/print", post(print_checklist))
        .route("/api/scan", post(scan))
        .route("/api/confirm", post(confirm))
        .route("/api/cancel", post(cancel))
        .route("/api/dismiss", post(dismiss))
        .route("/api/table/open", post(open))
        .route("/api/table/pause", post(pause))
        .route("/api/table/close", post(close))
        .route("/api/reconcile", post(reconcile))
        .route("/api/undo", post(undo))
        .route("/api/card/reissue", post(reissue))
        .route("/api/demo/cards", get(demo_cards))
        .with_state(AppState {
            core,
            screen,
            api_scan,
        });
    super::same_origin::guard(router, super::same_origin::Hosts::AddressOnly)
}

/// Runs a table operation off the async workers: it may wait for the disk.
pub(super) async fn with_core<T: Send + 'static>(
    core: &SharedCore,
    f: impl FnOnce(&mut TableCore) -> Result<T, TableError> + Send + 'static,
) -> Result<T, ApiError> {
    let core = core.clone();
    match tokio::task::spawn_blocking(move || f(&mut lock(&core))).await {
        Ok(r) => Ok(r?),
        Err(e) => Err(ApiError {
            status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            danish: "Intern fejl. Prøv igen.".into(),
            english: format!("table operation failed: {e}"),
        }),
    }
}

/// Runs `before` under the table's lock (it queues a print), waits for the print with
/// the lock released, so scans go on meanwhile, then runs `after` under the lock with
/// the outcome.
pub(super) async fn with_core_printing<T: Send + 'static, U: Send + 'static>(
    core: &SharedCore,
    before: impl FnOnce(&mut TableCore) -> Result<(T, Queued), TableError> + Send + 'static,
    after: impl FnOnce(&mut TableCore, T, Result<(), String>) -> Result<U, TableError> + Send + 'static,
) -> Result<U, ApiError> {
    let (t, queued) = with_core(core, before).await?;
    let printed = match queued {
        Ok(ticket) => ticket.wait(crate::print::spool::WAIT).await,
        Err(why) => Err(why),
    };
    with_core(core, move |c| after(c, t, printed)).await
}

async fn screen_now(State(s): State<AppState>) -> Json<Screen> {
    // Events from peers rebuild the screen at most every 100 ms for the live stream; a
    // reader of the API gets it as it is now.
    let core = s.core.clone();
    let _ = tokio::task::spawn_blocking(move || lock(&core).flush_publish()).await;
    Json(s.screen.borrow().clone())
}

async fn events(State(s): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = WatchStream::new(s.screen.clone()).map(|screen| {
        Ok(Event::default()
            .event("screen")
            .json_data(&screen)
            .unwrap_or_else(|_| Event::default().comment("unserialisable screen")))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[derive(Serialize)]
struct Health {
    ok: bool,
    device: String,
    events: u64,
    version: &'static str,
    /// SHA-256 over every projection row: equal on two tables that hold the same log.
    projection_sha256: String,
}

async fn health(State(s): State<AppState>) -> Result<Json<Health>, ApiError> {
    with_core(&s.core, |c| {
        Ok(Health {
            ok: true,
            device: c.device().to_hex(),
            events: c.store().event_count()?,
            version: env!("CARGO_PKG_VERSION"),
            projection_sha256: projection_hash(&c.store().projection_dump()?),
        })
    })
    .await
    .map(Json)
}

fn projection_hash(rows: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for r in rows {
        h.update(r.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

#[derive(Deserialize)]
struct ScanBody {
    code: String,
}

async fn scan(
    State(s): State<AppState>,
    Json(b): Json<ScanBody>,
) -> Result<Json<Screen>, ApiError> {
    if !s.api_scan {
        return Err(ApiError {
            status: axum::http::StatusCode::FORBIDDEN,
            danish: "Scanning via netværket er slået fra på dette bord.".into(),
            english: "scans over the API are disabled (set api_scan = true)".into(),
        });
    }
    let r = match clean_scan(&b.code) {
        Ok(code) => with_core(&s.core, move |c| c.scan(&code)).await,
        Err(why) => with_core(&s.core, move |c| c.unreadable(&why.to_string())).await,
    };
    r.map(Json)
}

async fn confirm(State(s): State<AppState>) -> Result<Json<Screen>, ApiError> {
    let (screen, printing) =
        with_core(&s.core, |c| Ok((c.confirm()?, c.take_card_printing()))).await?;
    crate::table::no_card::report_card_print(&s.core, printing);
    Ok(Json(screen))
}

async fn cancel(State(s): State<AppState>) -> Result<Json<Screen>, ApiError> {
    with_core(&s.core, |c| c.cancel()).await.map(Json)
}

#[derive(Deserialize)]
struct DismissBody {
    view_id: u64,
}

/// The page's timer ran out on a verdict: back to "Scan valgkortet" (see
/// [`TableCore::dismiss`]).
async fn dismiss(
    State(s): State<AppState>,
    Json(b): Json<DismissBody>,
) -> Result<Json<Screen>, ApiError> {
    with_core(&s.core, move |c| c.dismiss(b.view_id))
        .await
        .map(Json)
}

async fn open(State(s): State<AppState>) -> Result<Json<Screen>, ApiError> {
    with_core(&s.core, |c| c.set_state(TableState::Open, ""))
        .await
        .map(Json)
}

/// The pre-opening checklist, as the screen shows it.
async fn checklist(
    State(s): State<AppState>,
) -> Result<Json<crate::table::checklist::Checklist>, ApiError> {
    with_core(&s.core, |c| c.checklist()).await.map(Json)
}

/// Prints the scanner test card; the print is the printer test.
async fn print_test_card(
    State(s): State<AppState>,
) -> Result<Json<crate::table::checklist::Checklist>, ApiError> {
    with_core_printing(
        &s.core,
        |c| Ok(((), Ok(c.queue_test_card()?))),
        |c, (), printed| {
            c.test_card_printed(printed)?;
            c.checklist()
        },
    )
    .await
    .map(Json)
}

/// Prints the "klar til åbning" receipt.
async fn print_checklist(
    State(s): State<AppState>,
) -> Result<Json<crate::table::checklist::Checklist>, ApiError> {
    with_core_printing(
        &s.core,
        |c| c.queue_checklist().map(|(list, ticket)| (list, Ok(ticket))),
        |c, list, printed| {
            c.printed(&printed)?;
            printed.map_err(TableError::Refused)?;
            Ok(list)
        },
    )
    .await
    .map(Json)
}

async fn pause(State(s): State<AppState>) -> Result<Json<Screen>, ApiError> {
    with_core(&s.core, |c| c.set_state(TableState::Paused, ""))
        .await
        .map(Json)
}

#[derive(Deserialize, Default)]
struct CloseBody {
    #[serde(default)]
    reason: String,
}

async fn close(
    State(s): State<AppState>,
    body: Option<Json<CloseBody>>,
) -> Result<Json<Screen>, ApiError> {
    let reason = body.map(|b| b.0.reason).unwrap_or_default();
    with_core(&s.core, move |c| c.set_state(TableState::Closed, &reason))
        .await
        .map(Json)
}

#[derive(Deserialize)]
struct ReconcileBody {
    handed_out: BTreeMap<Contest, u32>,
    #[serde(default)]
    returned: BTreeMap<Contest, u32>,
    /// Spoiled ballots exchanged (ombyttet); absent means none.
    #[serde(default)]
    exchanged: BTreeMap<Contest, u32>,
}

async fn reconcile(
    State(s): State<AppState>,
    Json(b): Json<ReconcileBody>,
) -> Result<Json<Reconciliation>, ApiError> {
    let ho: Vec<(Contest, u32)> = b.handed_out.into_iter().collect();
    let re: Vec<(Contest, u32)> = b.returned.into_iter().collect();
    let ex: Vec<(Contest, u32)> = b.exchanged.into_iter().collect();
    with_core(&s.core, move |c| c.reconcile(&ho, &re, &ex))
        .await
        .map(Json)
}

#[derive(Deserialize)]
struct UndoBody {
    voter_id: String,
    reason: String,
    /// The official's name (the valgsekretær or a valgstyrer) and personal PIN.
    #[serde(default)]
    name: String,
    pin: String,
}

async fn undo(
    State(s): State<AppState>,
    Json(b): Json<UndoBody>,
) -> Result<Json<Screen>, ApiError> {
    let by = authorize(&s.core, b.name.clone(), b.pin.clone()).await?;
    with_core(&s.core, move |c| c.undo(&b.voter_id, &b.reason, &by))
        .await
        .map(Json)
}

#[derive(Deserialize)]
struct ReissueBody {
    voter_id: String,
    #[serde(default)]
    name: String,
    pin: String,
}

#[derive(Serialize)]
struct Reissued {
    voter_id: String,
    new_code: String,
    /// Whether the new card came out of the receipt printer.
    printed: bool,
    /// The screen's notice: issued, and printed or why not.
    notice: Option<String>,
}

async fn reissue(
    State(s): State<AppState>,
    Json(b): Json<ReissueBody>,
) -> Result<Json<Reissued>, ApiError> {
    let voter_id = b.voter_id.clone();
    let by = authorize(&s.core, b.name.clone(), b.pin.clone()).await?;
    with_core_printing(
        &s.core,
        move |c| {
            let (code, name, queued) = c.reissue_card(&b.voter_id, &by)?;
            Ok(((code, name), queued))
        },
        move |c, (new_code, name), printed| {
            let screen = c.card_print_done(&name, &printed)?;
            Ok(Reissued {
                voter_id,
                new_code,
                printed: printed.is_ok(),
                notice: screen.notice,
            })
        },
    )
    .await
    .map(Json)
}

#[derive(Serialize)]
struct DemoCard {
    label: String,
    code: String,
}

/// Example cards for trying the demo: one of each kind of voter. Only in test mode.
async fn demo_cards(State(s): State<AppState>) -> Result<Json<Vec<DemoCard>>, ApiError> {
    if !s.api_scan || !s.screen.borrow().test_mode {
        return Err(ApiError::bad_request(
            "Kun i demo- og testtilstand.",
            "demo cards exist only in test mode with API scans",
        ));
    }
    let place = s.screen.borrow().place.clone();
    with_core(&s.core, move |c| {
        Ok(c.store()
            .sample_cards(&place)?
            .into_iter()
            .map(|(label, code)| DemoCard { label, code })
            .collect())
    })
    .await
    .map(Json)
}
