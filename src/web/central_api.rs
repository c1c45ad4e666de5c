//! The election office's screen and API on the central tally: login with sessions,
//! totals, turnout, snapshots, exports, metrics and the OpenAPI description of it all.
//! The sync endpoints are merged in from `sync::server`.

use super::central_assets as assets;
use super::download::download;
use super::error::ApiError;
use crate::central::config::Role;
use crate::central::read_error::ReadError;
use crate::central::users::{LoginError, Session, Users};
use crate::central::{Central, export};
use axum::Extension;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

/// The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site
/// can make the browser use it), and Secure when the screen is HTTPS (the browser never
/// sends it in clear).
const COOKIE: &str = "valgbord_central";

#[derive(Clone)]
struct St {
    central: Arc<Central>,
    users: Arc<Users>,
    /// The screen is served over HTTPS: cookies get `Secure`.
    https: bool,
}

impl St {
    fn cookie_flags(&self) -> &'static str {
        if self.https {
            "Path=/; HttpOnly; SameSite=Strict; Secure"
        } else {
            "Path=/; HttpOnly; SameSite=Strict"
        }
    }
}

/// The office screen's routes; `https` says whether the listener serving them is HTTPS.
pub fn central_router(central: Arc<Central>, users: Arc<Users>, https: bool) -> Router {
    let router = Router::new()
        .route("/", get(assets::html))
        .route("/assets/central.js", get(assets::js))
        .route("/assets/central.css", get(assets::css))
        .route("/api/openapi.json", get(assets::openapi))
        .route("/api/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/overview", get(overview))
        .route("/api/turnout", get(turnout))
        .route("/api/snapshots", get(snapshots).post(take_snapshot))
        .route("/api/export/totals.csv", get(totals_csv))
        .route("/api/export/totals.json", get(totals_json))
        .route("/api/export/snapshots.csv", get(snapshots_csv))
        .route("/api/export/snapshots.json", get(snapshots_json))
        .route("/api/export/closing.csv", get(closing_csv))
        .route("/api/export/closing.json", get(closing_json))
        .route("/api/export/closing/{place}", get(closing_pdf))
        .route("/api/export/bundle.json", get(bundle_json))
        .route("/api/test/clock", post(test_clock))
        .with_state(St {
            central,
            users,
            https,
        });
    super::same_origin::guard(router, super::same_origin::Hosts::Any)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        danish: "Intern fejl i valgkontorets system. Prøv igen.".into(),
        english: e.to_string(),
    }
}

fn not_logged_in() -> ApiError {
    ApiError {
        status: StatusCode::UNAUTHORIZED,
        danish: "Du er ikke logget ind.".into(),
        english: "no valid session".into(),
    }
}

/// The session token of a request: the cookie, or `Authorization: Bearer`.
fn token(headers: &HeaderMap) -> Option<String> {
    if let Some(b) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(b.trim().to_string());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

fn session(s: &St, headers: &HeaderMap) -> Result<Session, ApiError> {
    token(headers)
        .and_then(|t| s.users.session(&t))
        .ok_or_else(not_logged_in)
}

/// Runs a blocking read of the central on the blocking pool.
async fn blocking<T: Send + 'static>(
    s: &St,
    f: impl FnOnce(&Central) -> Result<T, ReadError> + Send + 'static,
) -> Result<T, ApiError> {
    let c = s.central.clone();
    tokio::task::spawn_blocking(move || f(&c))
        .await
        .map_err(internal)?
        .map_err(internal)
}

async fn health(State(s): State<St>) -> Json<Value> {
    let c = &s.central;
    Json(json!({
        "role": "central",
        "election": c.election.id,
        "test": c.test,
        "events": c.node.stored(),
        "now_ms": c.node.clock.now_ms(),
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

async fn metrics(State(s): State<St>) -> Result<Response, ApiError> {
    let text = blocking(&s, |c| {
        let now = c.node.clock.now_ms();
        let contacts = c.node.contacts();
        let tables: Vec<(String, u32, u64, Option<f64>)> = c
            .node
            .tables()
            .iter()
            .map(|t| {
                let ct = contacts.get(&t.key).cloned().unwrap_or_default();
                let age = ct
                    .last_contact(now)
                    .map(|at| (now - at).max(0) as f64 / 1000.0);
                (t.place.clone(), t.table_no, ct.lag, age)
            })
            .collect();
        Ok(c.node.metrics.render(c.node.stored(), &tables))
    })
    .await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

#[derive(Deserialize)]
struct Login {
    user: String,
    password: String,
}

/// A refused login as the office's screen shows it.
fn login_refused(name: &str, e: LoginError) -> ApiError {
    const WRONG: &str = "Forkert brugernavn eller adgangskode.";
    let (status, danish, english) = match e {
        LoginError::Wrong(None) => (
            StatusCode::UNAUTHORIZED,
            WRONG.to_string(),
            format!("login refused for user \"{name}\""),
        ),
        LoginError::Wrong(Some(w)) => (
            StatusCode::UNAUTHORIZED,
            format!("{WRONG} {}", w.danish),
            format!("login refused for user \"{name}\"; {}", w.english),
        ),
        LoginError::Wait(w) => (StatusCode::TOO_MANY_REQUESTS, w.danish, w.english),
        LoginError::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Vent et øjeblik: mange logger ind lige nu. Prøv igen.".into(),
            format!(
                "login of \"{name}\" turned away: {} password checks already running and more waiting",
                crate::central::users::CHECKS_AT_ONCE
            ),
        ),
        LoginError::Internal(why) => return internal(why),
    };
    ApiError {
        status,
        danish,
        english,
    }
}

async fn login(
    State(s): State<St>,
    connected: Option<Extension<ConnectInfo<SocketAddr>>>,
    Json(b): Json<Login>,
) -> Result<Response, ApiError> {
    let from = connected.map(|Extension(ConnectInfo(a))| a.ip());
    let (token, session) = s
        .users
        .login(&b.user, &b.password, from, &s.central.node.clock)
        .await
        .map_err(|e| login_refused(&b.user, e))?;
    tracing::info!(user = %session.user, role = ?session.role, "election office login");
    let cookie = format!("{COOKIE}={token}; {}", s.cookie_flags());
    let mut res = Json(json!({
        "token": token,
        "user": session.user,
        "role": session.role,
    }))
    .into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(internal)?,
    );
    Ok(res)
}

async fn logout(State(s): State<St>, headers: HeaderMap) -> Response {
    if let Some(t) = token(&headers) {
        s.users.logout(&t);
    }
    let mut res = Json(json!({ "logged_out": true })).into_response();
    let gone = format!("{COOKIE}=; {}; Max-Age=0", s.cookie_flags());
    if let Ok(v) = HeaderValue::from_str(&gone) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

async fn me(State(s): State<St>, headers: HeaderMap) -> Result<Json<Session>, ApiError> {
    session(&s, &headers).map(Json)
}

async fn overview(State(s): State<St>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    session(&s, &headers)?;
    blocking(&s, |c| {
        let o = c.overview()?;
        Ok(serde_json::to_value(o)?)
    })
    .await
    .map(Json)
}

async fn turnout(State(s): State<St>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    session(&s, &headers)?;
    blocking(&s, |c| {
        let t = c.turnout()?;
        Ok(serde_json::to_value(t)?)
    })
    .await
    .map(Json)
}

async fn snapshots(State(s): State<St>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    session(&s, &headers)?;
    blocking(&s, |c| {
        let v = c.snapshots()?;
        Ok(serde_json::to_value(v)?)
    })
    .await
    .map(Json)
}

/// An extra snapshot now, e.g. when the press asks at 15:30 (administrators only).
async fn take_snapshot(State(s): State<St>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let who = session(&s, &headers)?;
    if who.role != Role::Admin {
        return Err(ApiError {
            status: StatusCode::FORBIDDEN,
            danish: "Kun en administrator kan tage et ekstra øjebliksbillede.".into(),
            english: format!("user \"{}\" (read-only) tried to take a snapshot", who.user),
        });
    }
    blocking(&s, move |c| {
        let now = c.node.clock.now_ms();
        let label = crate::central::local_time(now)
            .chars()
            .take(5)
            .collect::<String>();
        c.take(&label, now, false)?;
        tracing::info!(user = %who.user, "extra snapshot taken");
        Ok(json!({ "label": label, "at_ms": now }))
    })
    .await
    .map(Json)
}

const CSV: &str = "text/csv; charset=utf-8";

async fn totals_csv(State(s): State<St>, headers: HeaderMap) -> Result<Response, ApiError> {
    session(&s, &headers)?;
    let body = blocking(&s, |c| Ok(export::totals_csv(&*c.tally()?)?)).await?;
    Ok(download(CSV, "valgdeltagelse.csv", body))
}

async fn totals_json(State(s): State<St>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    session(&s, &headers)?;
    blocking(&s, |c| Ok(serde_json::to_value(&*c.tally()?)?))
        .await
        .map(Json)
}

async fn snapshots_csv(State(s): State<St>, headers: HeaderMap) -> Result<Response, ApiError> {
    session(&s, &headers)?;
    let body = blocking(&s, |c| Ok(export::snapshots_csv(&c.snapshots()?.taken)?)).await?;
    Ok(download(CSV, "oejebliksbilleder.csv", body))
}

async fn snapshots_json(State(s): State<St>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    session(&s, &headers)?;
    blocking(&s, |c| Ok(serde_json::to_value(c.snapshots()?.taken)?))
        .await
        .map(Json)
}

async fn closing_csv(State(s): State<St>, headers: HeaderMap) -> Result<Response, ApiError> {
    session(&s, &headers)?;
    let body = blocking(&s, |c| Ok(export::closing_csv(&c.closing_reports(None)?)?)).await?;
    Ok(download(CSV, "afslutning.csv", body))
}

async fn closing_json(State(s): State<St>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    session(&s, &headers)?;
    blocking(&s, |c| Ok(export::closing_json(&c.closing_reports(None)?)))
        .await
        .map(Json)
}

/// The closing report of one polling place as PDF (the same report the tables print).
async fn closing_pdf(
    State(s): State<St>,
    headers: HeaderMap,
    Path(place): Path<String>,
) -> Result<Response, ApiError> {
    session(&s, &headers)?;
    let known = {
        let p = place.clone();
        blocking(&s, move |c| Ok(c.tally()?.places.iter().any(|x| x.id == p))).await?
    };
    if !known {
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            danish: format!("Valgstedet \"{place}\" findes ikke på valglisten."),
            english: format!("unknown polling place \"{place}\""),
        });
    }
    let p = place.clone();
    let pdf = blocking(&s, move |c| {
        let reports = c.closing_reports(Some(&p))?;
        let r = reports.first().ok_or(ReadError::NoReport)?;
        Ok(r.to_pdf(&c.election)?)
    })
    .await?;
    Ok(download(
        "application/pdf",
        &format!("afslutning-valgsted-{}.pdf", sanitize(&place)),
        pdf,
    ))
}

/// The central's bundle for `valgbord audit`: its log, tally and snapshots, read from
/// its database read-only (any logged-in user may read the figures it holds).
async fn bundle_json(State(s): State<St>, headers: HeaderMap) -> Result<Response, ApiError> {
    session(&s, &headers)?;
    let c = s.central.clone();
    let body = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        let device = crate::store::keyfile::load(&c.key_file)?.public();
        let bundle = crate::audit::export::bundle_of(&c.database, Some(device))?;
        Ok(bundle.json()?)
    })
    .await
    .map_err(internal)?
    .map_err(|e| internal(format!("{e:#}")))?;
    Ok(download("application/json", "bundt-centralen.json", body))
}

/// A place id as a safe file name.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

#[derive(Deserialize)]
struct ClockBody {
    /// The central's clock minus the system clock, in ms.
    offset_ms: i64,
}

/// Test mode only: move the central's clock, to rehearse a day of snapshots quickly.
async fn test_clock(
    State(s): State<St>,
    Json(b): Json<ClockBody>,
) -> Result<Json<Value>, ApiError> {
    s.central
        .node
        .clock
        .set_offset(b.offset_ms)
        .map_err(|e| ApiError {
            status: StatusCode::FORBIDDEN,
            danish: "Uret kan kun flyttes i prøvetilstand.".into(),
            english: e.to_string(),
        })?;
    tracing::warn!(offset_ms = b.offset_ms, "test: central clock moved");
    Ok(Json(
        json!({ "offset_ms": b.offset_ms, "now_ms": s.central.node.clock.now_ms() }),
    ))
}

#[cfg(test)]
mod tests {
    /// Every route the central serves (its own and the sync routes merged in) is
    /// described in the OpenAPI file; and everything the file describes is a route.
    #[test]
    fn every_route_is_in_the_openapi_file() {
        let spec: serde_json::Value =
            serde_json::from_str(include_str!("assets/central_openapi.json")).unwrap();
        assert_eq!(spec["openapi"].as_str().map(|v| &v[..2]), Some("3."));
        let paths = spec["paths"].as_object().unwrap();
        let mut routes = Vec::new();
        for src in [
            include_str!("central_api.rs"),
            include_str!("../sync/server.rs"),
        ] {
            for part in src.split(".route(\"").skip(1) {
                let path = part.split('"').next().unwrap();
                // The catch-all that refuses plain sync on a table's screen listener is
                // not a route of the central.
                if part.split(')').next().unwrap_or("").contains("any(refuse") {
                    continue;
                }
                let methods = part.split(')').next().unwrap_or("");
                let rest = &part[..part.find("\n        .").unwrap_or(part.len())];
                let mut ms: Vec<&str> = ["get", "post"]
                    .into_iter()
                    .filter(|m| rest.contains(&format!("{m}(")))
                    .collect();
                if ms.is_empty() {
                    ms = vec![if methods.contains("post") {
                        "post"
                    } else {
                        "get"
                    }];
                }
                routes.push((path.to_string(), ms));
            }
        }
        assert!(routes.len() > 20, "{routes:?}");
        for (path, methods) in &routes {
            let entry = paths
                .get(path)
                .unwrap_or_else(|| panic!("{path} is not in central_openapi.json"));
            for m in methods {
                assert!(
                    entry.get(*m).is_some(),
                    "{} {path} is not in central_openapi.json",
                    m.to_uppercase()
                );
            }
        }
        for p in paths.keys() {
            assert!(
                routes.iter().any(|(r, _)| r == p),
                "central_openapi.json describes {p}, which no router serves"
            );
        }
    }
}
