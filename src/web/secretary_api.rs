//! The valgsekretær's screen (`/sekretaer`) and API (`/api/secretary/…`): login with a
//! personal PIN (the valgsekretær or a valgstyrer, by name) and a session that locks
//! itself after five idle minutes.

use super::assets;
use super::error::ApiError;
use super::pin::authorize;
use super::table_api::{with_core, with_core_printing};
use crate::table::brevstemmer::{BrevstemmeList, must_be_valgstyrer, set_aside_reason};
use crate::table::secretary::{SearchHit, SearchReport, Secretary};
use crate::table::shared::SharedCore;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A session locks after this long without use: a screen left open at the secretary's
/// desk must not stay unlocked.
pub const IDLE_LOCK: Duration = Duration::from_secs(5 * 60);

/// Open sessions: token → (last use, the PIN proof).
type Sessions = Arc<Mutex<HashMap<String, (Instant, Arc<Secretary>)>>>;

#[derive(Clone)]
struct SecState {
    core: SharedCore,
    sessions: Sessions,
}

pub fn secretary_router(core: SharedCore) -> Router {
    let router = Router::new()
        .route("/sekretaer", get(assets::secretary_html))
        .route("/assets/secretary.js", get(assets::secretary_js))
        .route("/api/secretary/officials", get(officials))
        .route("/api/secretary/login", post(login))
        .route("/api/secretary/logout", post(logout))
        .route("/api/secretary/search", get(search))
        .route("/api/secretary/search/report", get(search_report))
        .route("/api/secretary/checkin", post(checkin))
        .route("/api/manual", post(manual))
        .route("/api/secretary/tables", get(tables))
        .route("/api/secretary/sent", get(sent))
        .route("/api/secretary/undo", post(undo))
        .route("/api/secretary/reissue", post(reissue))
        .route("/api/secretary/resolve", post(resolve))
        .route("/api/secretary/paper", post(paper))
        .route("/api/secretary/print", post(print_again))
        .route("/api/secretary/card.pdf", get(card_pdf))
        .route("/api/secretary/valgliste.pdf", get(valgliste_pdf))
        .route("/api/secretary/afslutning.pdf", get(report_pdf))
        .route("/api/list/changes", post(list_change).get(list_changes))
        .route("/api/secretary/mode", post(set_mode))
        .route(
            "/api/secretary/brevstemmer",
            get(brevstemmer).post(examine_brevstemmer),
        )
        .route("/api/secretary/skilte.pdf", get(signs_pdf))
        .route("/api/secretary/bundle.json", get(bundle_json))
        .with_state(SecState {
            core,
            sessions: Arc::new(Mutex::new(HashMap::new())),
        });
    super::same_origin::guard(router, super::same_origin::Hosts::AddressOnly)
}

fn locked() -> ApiError {
    ApiError {
        status: StatusCode::UNAUTHORIZED,
        danish: "Skærmen er låst. Indtast PIN.".into(),
        english: "no valid valgsekretær session".into(),
    }
}

/// The bearer token of a request.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// The session of a request, refreshed; a lapsed one is removed.
fn session(s: &SecState, headers: &HeaderMap) -> Result<Arc<Secretary>, ApiError> {
    session_of(s, bearer(headers).ok_or_else(locked)?)
}

/// The session of a token (also given as a query parameter, for PDFs opened in a tab).
fn session_of(s: &SecState, token: &str) -> Result<Arc<Secretary>, ApiError> {
    let mut sessions = s.sessions.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    sessions.retain(|_, (seen, _)| now.duration_since(*seen) < IDLE_LOCK);
    let entry = sessions.get_mut(token).ok_or_else(locked)?;
    entry.0 = now;
    Ok(entry.1.clone())
}

/// The session of a request without counting it as use: the page polls the list of
/// sends every few seconds, and that must not keep an unattended screen unlocked.
fn session_polled(s: &SecState, headers: &HeaderMap) -> Result<Arc<Secretary>, ApiError> {
    let token = bearer(headers).ok_or_else(locked)?;
    let sessions = s.sessions.lock().unwrap_or_else(|e| e.into_inner());
    match sessions.get(token) {
        Some((seen, sec)) if seen.elapsed() < IDLE_LOCK => Ok(sec.clone()),
        _ => Err(locked()),
    }
}

#[derive(Deserialize)]
struct Login {
    /// The official's name as the list of [`officials`] gives it.
    #[serde(default)]
    name: String,
    pin: String,
}

/// The names and roles of the officials who may log in, for the login screen's
/// buttons; never their hashes.
async fn officials(State(s): State<SecState>) -> Result<Json<Value>, ApiError> {
    let names = with_core(&s.core, |c| Ok(c.pin_check().names())).await?;
    Ok(Json(json!({ "officials": names })))
}

async fn login(State(s): State<SecState>, Json(b): Json<Login>) -> Result<Json<Value>, ApiError> {
    let sec = authorize(&s.core, b.name, b.pin)
        .await
        .map_err(|e| ApiError {
            status: StatusCode::UNAUTHORIZED,
            ..e
        })?;
    let mut raw = [0u8; 24];
    getrandom::getrandom(&mut raw).map_err(|e| ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        danish: "Intern fejl. Prøv igen.".into(),
        english: format!("no random source: {e}"),
    })?;
    let token = hex::encode(raw);
    let sec = Arc::new(sec);
    s.sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(token.clone(), (Instant::now(), sec.clone()));
    tracing::info!(
        who = sec.who(),
        role = sec.role().danish(),
        "official logged in"
    );
    Ok(Json(json!({
        "token": token,
        "idle_lock_s": IDLE_LOCK.as_secs(),
        "name": sec.who(),
        "role": sec.role().danish(),
    })))
}

async fn logout(State(s): State<SecState>, headers: HeaderMap) -> Json<Value> {
    if let Some(t) = bearer(&headers) {
        s.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(t);
    }
    Json(json!({ "locked": true }))
}

#[derive(Deserialize)]
struct SearchParams {
    q: String,
}

async fn search(
    State(s): State<SecState>,
    headers: HeaderMap,
    Query(p): Query<SearchParams>,
) -> Result<Json<Vec<SearchHit>>, ApiError> {
    let sec = session(&s, &headers)?;
    with_core(&s.core, move |c| c.search(&p.q, &sec))
        .await
        .map(Json)
}

/// The search with what found nothing ("Intet fundet for: …"); the plain search above
/// keeps its shape for the page as it is.
async fn search_report(
    State(s): State<SecState>,
    headers: HeaderMap,
    Query(p): Query<SearchParams>,
) -> Result<Json<SearchReport>, ApiError> {
    let sec = session(&s, &headers)?;
    with_core(&s.core, move |c| c.search_report(&p.q, &sec))
        .await
        .map(Json)
}

#[derive(Deserialize)]
struct CheckIn {
    voter_id: String,
    table_no: u32,
}

#[derive(Serialize)]
struct CheckInResult {
    /// Sent: the chosen table now shows the voter as pending.
    sent: bool,
    table_no: u32,
    ballots: Vec<crate::election::contest::Contest>,
    title: String,
    detail: String,
}

/// Sends a voter without a card to a table of the place (see
/// [`crate::table::core::TableCore::send_without_card`]).
async fn checkin(
    State(s): State<SecState>,
    headers: HeaderMap,
    Json(b): Json<CheckIn>,
) -> Result<Json<CheckInResult>, ApiError> {
    let sec = session(&s, &headers)?;
    let table_no = b.table_no;
    let (verdict, name, refusal) = with_core(&s.core, move |c| {
        let (v, name) = c.send_without_card(&b.voter_id, b.table_no, &sec)?;
        let store = c.store();
        let refusal = crate::table::screen::refusal(&v, |p| store.place_name(p).ok().flatten());
        Ok((v, name, refusal))
    })
    .await?;
    let (_, title, detail) = refusal;
    Ok(Json(match verdict {
        crate::election::checkin::Verdict::Admit { ballots } => CheckInResult {
            sent: true,
            table_no,
            title: format!("Sendt til bord {table_no}"),
            detail: format!(
                "{name} vises nu på bord {table_no}. Bordet godkender eller annullerer som efter en scanning."
            ),
            ballots,
        },
        _ => CheckInResult {
            sent: false,
            table_no,
            ballots: Vec::new(),
            title,
            detail,
        },
    }))
}

#[derive(Deserialize)]
struct Manual {
    voter_id: String,
}

/// A check-in without a card at this table (the table screen's own route, kept for
/// clients of the API): behind the valgsekretær's session like every other check-in
/// without a card, since nothing but the valgsekretær's check of the identity stands
/// behind it.
async fn manual(
    State(s): State<SecState>,
    headers: HeaderMap,
    Json(b): Json<Manual>,
) -> Result<Json<crate::table::screen::Screen>, ApiError> {
    let sec = session(&s, &headers)?;
    with_core(&s.core, move |c| c.stage_without_card(&b.voter_id, &sec))
        .await
        .map(Json)
}

/// The tables of this polling place, for the buttons of a check-in without card.
async fn tables(State(s): State<SecState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    session(&s, &headers)?;
    with_core(&s.core, |c| {
        Ok(json!({ "tables": c.known_tables()?, "this_table": c.table_no() }))
    })
    .await
    .map(Json)
}

/// Each send of a voter without a card and where it stands (waiting, registered,
/// cancelled, not received), newest first, for the page's list (polled: not a use that
/// keeps the session open).
async fn sent(State(s): State<SecState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let sec = session_polled(&s, &headers)?;
    with_core(&s.core, move |c| Ok(json!({ "sends": c.sends(&sec)? })))
        .await
        .map(Json)
}

#[derive(Deserialize)]
struct Undo {
    voter_id: String,
    reason: String,
}

/// Undoes the check-in of a voter found by search; the answer names the voter.
async fn undo(
    State(s): State<SecState>,
    headers: HeaderMap,
    Json(b): Json<Undo>,
) -> Result<Json<Value>, ApiError> {
    let sec = session(&s, &headers)?;
    let text = with_core(&s.core, move |c| {
        c.undo_checkin(&b.voter_id, &b.reason, &sec)
    })
    .await?;
    Ok(Json(json!({ "undone": true, "text": text })))
}

#[derive(Deserialize)]
struct Reissue {
    voter_id: String,
}

async fn reissue(
    State(s): State<SecState>,
    headers: HeaderMap,
    Json(b): Json<Reissue>,
) -> Result<Json<Value>, ApiError> {
    let sec = session(&s, &headers)?;
    let id = b.voter_id.clone();
    with_core_printing(
        &s.core,
        move |c| {
            let (code, name, queued) = c.reissue_card(&b.voter_id, &sec)?;
            Ok(((code, name), queued))
        },
        move |c, (code, name), printed| {
            let notice = c.card_print_done(&name, &printed)?.notice;
            Ok(Json(json!({
                "voter_id": id,
                "new_code": code,
                "printed": printed.is_ok(),
                "notice": notice,
            })))
        },
    )
    .await
}

#[derive(Deserialize)]
struct Resolve {
    voter_id: String,
    note: String,
}

async fn resolve(
    State(s): State<SecState>,
    headers: HeaderMap,
    Json(b): Json<Resolve>,
) -> Result<Json<Value>, ApiError> {
    let sec = session(&s, &headers)?;
    with_core(&s.core, move |c| {
        c.resolve_double(&b.voter_id, &b.note, &sec)
    })
    .await?;
    Ok(Json(json!({ "resolved": true })))
}

#[derive(Deserialize)]
struct Paper {
    list_nos: Vec<u32>,
    table_no: u32,
    /// Start and end of the fallback (ms since the epoch).
    from_ms: i64,
    to_ms: i64,
}

async fn paper(
    State(s): State<SecState>,
    headers: HeaderMap,
    Json(b): Json<Paper>,
) -> Result<Json<crate::table::secretary::PaperReport>, ApiError> {
    let sec = session(&s, &headers)?;
    with_core(&s.core, move |c| {
        c.enter_paper_marks(&b.list_nos, b.table_no, b.from_ms, b.to_ms, &sec)
    })
    .await
    .map(Json)
}

/// Prints the voter's current card again on this table's receipt printer.
async fn print_again(
    State(s): State<SecState>,
    headers: HeaderMap,
    Json(b): Json<Reissue>,
) -> Result<Json<Value>, ApiError> {
    let _sec = session(&s, &headers)?;
    let printed = with_core_printing(
        &s.core,
        move |c| Ok(((), c.queue_card(&b.voter_id))),
        |c, (), printed| {
            c.printed(&printed)?;
            Ok(printed)
        },
    )
    .await?;
    match printed {
        Ok(()) => Ok(Json(json!({ "printed": true }))),
        Err(why) => Err(ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            english: format!("card not printed: {why}"),
            danish: format!("Kortet blev ikke udskrevet: {why}"),
        }),
    }
}

#[derive(Deserialize)]
struct CardParams {
    voter_id: String,
    token: String,
}

/// The voter's current card as PDF, for an office printer. The token is a query
/// parameter so the browser can open the PDF in a new tab.
async fn card_pdf(
    State(s): State<SecState>,
    Query(p): Query<CardParams>,
) -> Result<axum::response::Response, ApiError> {
    let _sec = session_of(&s, &p.token)?;
    let pdf = with_core(&s.core, move |c| {
        c.card(&p.voter_id)
            .and_then(|card| card.to_pdf())
            .map_err(|e| crate::table::core::TableError::Refused(e.danish()))
    })
    .await?;
    Ok(axum::response::IntoResponse::into_response((
        [(axum::http::header::CONTENT_TYPE, "application/pdf")],
        pdf,
    )))
}

#[derive(Deserialize)]
struct ListParams {
    token: String,
    #[serde(default)]
    blank: bool,
}

/// The marked paper valgliste of this polling place, now, as PDF: the fallback when the
/// system fails. Made on a blocking thread from its own read connection.
async fn valgliste_pdf(
    State(s): State<SecState>,
    Query(p): Query<ListParams>,
) -> Result<axum::response::Response, ApiError> {
    let _sec = session_of(&s, &p.token)?;
    let (db, place, contests, election) = with_core(&s.core, |c| {
        let election = crate::print::card::ElectionInfo::from_store(c.store(), None, None)
            .map_err(|e| crate::table::core::TableError::Refused(e.danish()))?;
        Ok((
            c.store().path().to_path_buf(),
            c.place().to_string(),
            c.contests().to_vec(),
            election,
        ))
    })
    .await?;
    let blank = p.blank;
    blocking_pdf(move || {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let out =
            std::env::temp_dir().join(format!("valgbord-valgliste-{}-{n}.pdf", std::process::id()));
        crate::print::valgliste::write_valgliste(
            &db,
            &election,
            Some(&place),
            Some(contests),
            blank,
            &out,
        )?;
        let bytes =
            std::fs::read(&out).map_err(|e| crate::print::PrintError::Invalid(e.to_string()));
        let _ = std::fs::remove_file(&out);
        bytes
    })
    .await
}

/// The polling place's closing report as it stands now (the same document as `valgbord
/// report print --out`), shown in the page: the valgsekretær reads it before the
/// valgstyre signs. Showing it records no export (the destruction waits for `report
/// print`).
async fn report_pdf(
    State(s): State<SecState>,
    Query(p): Query<TokenParam>,
) -> Result<axum::response::Response, ApiError> {
    let _sec = session_of(&s, &p.token)?;
    let (db, place, election) = with_core(&s.core, |c| {
        let election = crate::print::card::ElectionInfo::from_store(c.store(), None, None)
            .map_err(|e| crate::table::core::TableError::Refused(e.danish()))?;
        Ok((
            c.store().path().to_path_buf(),
            c.place().to_string(),
            election,
        ))
    })
    .await?;
    blocking_pdf(move || {
        crate::print::report::ClosingReport::read(&db, &place, crate::store::now_ms())?
            .to_pdf(&election)
    })
    .await
}

/// A PDF made off the async threads, answered as `application/pdf`; a failure says
/// why in Danish on the page and in English in the log.
async fn blocking_pdf(
    make: impl FnOnce() -> Result<Vec<u8>, crate::print::PrintError> + Send + 'static,
) -> Result<axum::response::Response, ApiError> {
    let pdf = tokio::task::spawn_blocking(make)
        .await
        .map_err(|e| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            danish: "Intern fejl. Prøv igen.".into(),
            english: e.to_string(),
        })?
        .map_err(|e| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            danish: e.danish(),
            english: e.to_string(),
        })?;
    Ok(axum::response::IntoResponse::into_response((
        [(axum::http::header::CONTENT_TYPE, "application/pdf")],
        pdf,
    )))
}

/// An election-day list change from the office (a file uploaded at this screen, or the
/// office's own signed call). The office signature is the authority, so no PIN is
/// asked; an unsigned change is accepted only by a table with an unsigned test list.
async fn list_change(
    State(s): State<SecState>,
    body: axum::body::Bytes,
) -> Result<Json<crate::table::admin::ListChangeOutcome>, ApiError> {
    let signed = crate::election::list_change::SignedListChange::from_json(&body)
        .map_err(|e| ApiError::bad_request(e.danish, e.english))?;
    with_core(&s.core, move |c| c.apply_list_change(&signed))
        .await
        .map(Json)
}

/// The audit trail of list changes, newest first, with the brevstemme marks as they
/// stand now (so the office can compare them with its own).
async fn list_changes(
    State(s): State<SecState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    session(&s, &headers)?;
    with_core(&s.core, |c| {
        let changes = c.store().list_changes()?;
        let marks = c.store().brevstemme_marks()?;
        Ok(json!({ "changes": changes, "brevstemmer": marks }))
    })
    .await
    .map(Json)
}

#[derive(Deserialize)]
struct ModeBody {
    mode: String,
    #[serde(default)]
    reason: String,
    /// Back to frit bordvalg although not every table is reached (the valgstyre decided).
    #[serde(default)]
    force: bool,
}

/// Switches the polling place between frit bordvalg, fast bordvalg and papir.
async fn set_mode(
    State(s): State<SecState>,
    headers: HeaderMap,
    Json(b): Json<ModeBody>,
) -> Result<Json<crate::table::place_mode::ModeSwitch>, ApiError> {
    let sec = session(&s, &headers)?;
    let mode = crate::election::place_mode::PlaceMode::parse(&b.mode).ok_or_else(|| {
        ApiError::bad_request(
            format!(
                "Ukendt tilstand \"{}\": brug frit, fast eller papir.",
                b.mode
            ),
            format!("unknown mode \"{}\"", b.mode),
        )
    })?;
    // Back to frit bordvalg asks every other table first, outside the table lock, so the
    // answer is definite at once: never a verdict on how recent a last contact is.
    let force = b.force;
    let asker = with_core(&s.core, move |c| c.asker_for(mode, force)).await?;
    let asked = match asker {
        Some(a) => a.ask_tables().await,
        None => None,
    };
    with_core(&s.core, move |c| {
        c.set_place_mode(mode, &b.reason, b.force, &sec, asked.as_deref())
    })
    .await
    .map(Json)
}

#[derive(Deserialize)]
struct TokenParam {
    token: String,
}

/// The A4 signs for fast bordvalg, one page per table.
async fn signs_pdf(
    State(s): State<SecState>,
    Query(p): Query<TokenParam>,
) -> Result<axum::response::Response, ApiError> {
    let _sec = session_of(&s, &p.token)?;
    let pdf = with_core(&s.core, |c| {
        let (name, shares) = c.fast_shares();
        crate::print::sign::fast_bordvalg_signs(&name, &shares)
            .map_err(|e| crate::table::core::TableError::Refused(e.danish()))
    })
    .await?;
    Ok(axum::response::IntoResponse::into_response((
        [(axum::http::header::CONTENT_TYPE, "application/pdf")],
        pdf,
    )))
}

/// The place's received brevstemmer with the valgstyrere's decisions, for any
/// official's session.
async fn brevstemmer(
    State(s): State<SecState>,
    headers: HeaderMap,
) -> Result<Json<BrevstemmeList>, ApiError> {
    let sec = session(&s, &headers)?;
    with_core(&s.core, move |c| c.brevstemmer(&sec))
        .await
        .map(Json)
}

#[derive(Deserialize)]
struct Examine {
    voter_ids: Vec<String>,
    accepted: bool,
    /// The act's reason (its code) when set aside.
    #[serde(default)]
    reason: Option<String>,
    /// The second valgstyrer, who confirms with a PIN of their own.
    second_name: String,
    second_pin: String,
}

/// Two valgstyrere decide on brevstemmer (KRVL § 71): the session's valgstyrer and a
/// second one by name and personal PIN, checked off the table lock like a login.
async fn examine_brevstemmer(
    State(s): State<SecState>,
    headers: HeaderMap,
    Json(b): Json<Examine>,
) -> Result<Json<Value>, ApiError> {
    let sec = session(&s, &headers)?;
    // Refused before the second PIN is tried, so no attempt is spent on it.
    must_be_valgstyrer(&sec)?;
    let reason = set_aside_reason(b.accepted, b.reason.as_deref())?;
    let second = authorize(&s.core, b.second_name, b.second_pin).await?;
    let decided = b.voter_ids.len();
    let text = with_core(&s.core, move |c| {
        c.examine_brevstemmer(&b.voter_ids, reason, &sec, &second)
    })
    .await?;
    Ok(Json(json!({ "decided": decided, "text": text })))
}

/// The table's bundle for `valgbord audit` (its package, list, log and closing report),
/// offered as a download rather than written to a folder: the table has no export
/// folder, and the browser saves it where the valgsekretær keeps the afstemningsbog's
/// files. Read from the database read-only, off the table lock.
async fn bundle_json(
    State(s): State<SecState>,
    Query(p): Query<TokenParam>,
) -> Result<axum::response::Response, ApiError> {
    let _sec = session_of(&s, &p.token)?;
    let db = with_core(&s.core, |c| Ok(c.store().path().to_path_buf())).await?;
    let internal = |english: String| ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        danish: "Bundtet til efterprøvning kunne ikke skrives. Prøv igen.".into(),
        english,
    };
    let body = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        Ok(crate::audit::export::bundle_of(&db, None)?.json()?)
    })
    .await
    .map_err(|e| internal(e.to_string()))?
    .map_err(|e| internal(format!("{e:#}")))?;
    Ok(super::download::download(
        "application/json",
        "bundt.json",
        body,
    ))
}
