//! The peer side of sync: answer pulls and take pushes.

use super::auth;
use super::control::SyncControl;
use super::node::SyncNode;
use super::protocol::{Hello, MAX_PAGE, PullRequest, PullResponse, PushRequest, PushResponse};
use super::replay::{ReplayGuard, Stamp};
use super::tls::TlsPeer;
use crate::election::event::Trust;
use crate::election::keys::DevicePublic;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Json, Router};
use std::sync::Arc;

#[derive(Clone)]
struct SyncState {
    node: Arc<dyn SyncNode>,
    hello: Hello,
    control: Arc<SyncControl>,
    test_mode: bool,
    trust: Arc<Trust>,
    /// Recent requests per device, so a recorded one sent again is refused.
    replay: Arc<ReplayGuard>,
}

pub use super::protocol::BODY_LIMIT;

pub fn router(
    node: Arc<dyn SyncNode>,
    hello: Hello,
    control: Arc<SyncControl>,
    test_mode: bool,
    trust: Trust,
) -> Router {
    Router::new()
        .route("/sync/v1/hello", axum::routing::get(hello_handler))
        .route("/sync/v1/pull", post(pull))
        .route("/sync/v1/push", post(push))
        .route("/api/test/partition", post(partition))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(SyncState {
            node,
            hello,
            control,
            test_mode,
            trust: Arc::new(trust),
            replay: Arc::new(ReplayGuard::default()),
        })
}

/// For the plain (screen) listener of a table in an election: sync is served only over
/// TLS, so `/sync/v1/*` answers 421 with where to go instead of reading anything.
pub fn plain_refusal_router() -> Router {
    async fn refuse() -> Refusal {
        refusal(
            StatusCode::MISDIRECTED_REQUEST,
            "sync is served only over TLS on the [sync] listen address (https://)",
        )
    }
    Router::new()
        .route("/sync/v1/{*rest}", axum::routing::any(refuse))
        .route("/sync/v1", axum::routing::any(refuse))
}

#[derive(serde::Deserialize)]
struct PartitionBody {
    /// Device keys (hex) this table stops talking to; empty heals the split.
    blocked: Vec<String>,
}

/// Test mode only: split the LAN as seen by this table.
async fn partition(
    State(s): State<SyncState>,
    Json(b): Json<PartitionBody>,
) -> Result<Json<serde_json::Value>, Refusal> {
    if !s.test_mode {
        return Err(refusal(StatusCode::FORBIDDEN, "only in test mode"));
    }
    let mut set = std::collections::HashSet::new();
    for k in &b.blocked {
        set.insert(
            DevicePublic::from_hex(k)
                .map_err(|e| refusal(StatusCode::BAD_REQUEST, e.to_string()))?,
        );
    }
    tracing::warn!(blocked = set.len(), "test: LAN split set");
    s.control.set_blocked(set);
    Ok(Json(serde_json::json!({"blocked": b.blocked.len()})))
}

/// A refused sync request: status and `{"error": "…"}`.
pub(crate) type Refusal = (StatusCode, Json<serde_json::Value>);

pub(crate) fn refusal(status: StatusCode, why: impl Into<String>) -> Refusal {
    (status, Json(serde_json::json!({ "error": why.into() })))
}

/// Who this table is, so a peer (or an operator) can check configurations match.
async fn hello_handler(State(s): State<SyncState>) -> Json<Hello> {
    Json(s.hello.clone())
}

fn check_peer(s: &SyncState, theirs: &Hello) -> Result<(), Refusal> {
    if s.control.is_blocked(&theirs.device) {
        return Err(refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "blocked (test split)",
        ));
    }
    match s.hello.mismatch(theirs) {
        None => Ok(()),
        Some(why) => {
            tracing::warn!(peer = %theirs.device.short(), reason = %why, "sync refused: peer of another configuration");
            Err(refusal(StatusCode::CONFLICT, why))
        }
    }
}

/// Parses a request and checks its signature and sender. Over TLS the request must also
/// speak for the device at the other end of the connection. Last, its stamp must be fresh
/// and new (not a replay); that refusal carries this device's clock, so a sender whose
/// clock is off can stamp its next request right.
fn authenticated<T: serde::de::DeserializeOwned + HasHello>(
    s: &SyncState,
    tls: Option<Extension<TlsPeer>>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, Refusal> {
    let req: T = serde_json::from_slice(body)
        .map_err(|e| refusal(StatusCode::BAD_REQUEST, format!("not a sync request: {e}")))?;
    let device = req.hello().device;
    check_sender(device, tls, headers, body, &s.trust)?;
    check_peer(s, req.hello())?;
    let now = s.node.wall_now();
    if let Err(why) = s.replay.check(device, req.stamp(), now) {
        tracing::warn!(device = %device.short(), reason = %why, "sync request refused");
        s.node.request_refused(why.label());
        return Err((
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({ "error": why.to_string(), "wall_ms": now })),
        ));
    }
    Ok(req)
}

/// The sender of a request is `device`: over TLS the device at the other end of the
/// connection, and the body signed by it, with its key listed in `trust`.
pub(crate) fn check_sender(
    device: DevicePublic,
    tls: Option<Extension<TlsPeer>>,
    headers: &HeaderMap,
    body: &[u8],
    trust: &Trust,
) -> Result<(), Refusal> {
    if let Some(Extension(TlsPeer(peer))) = tls
        && peer != device
    {
        let why = format!(
            "the TLS connection is device {} but the request speaks for device {}",
            peer.short(),
            device.short()
        );
        tracing::warn!(reason = %why, "sync request refused");
        return Err(refusal(StatusCode::UNAUTHORIZED, why));
    }
    let sig = headers.get(auth::HEADER).and_then(|v| v.to_str().ok());
    if let Err(why) = auth::verify_body(device, sig, body, trust) {
        tracing::warn!(device = %device.short(), reason = %why, "sync request refused");
        return Err(refusal(StatusCode::UNAUTHORIZED, why.to_string()));
    }
    Ok(())
}

trait HasHello {
    fn hello(&self) -> &Hello;
    fn stamp(&self) -> Option<&Stamp>;
}

impl HasHello for PullRequest {
    fn hello(&self) -> &Hello {
        &self.hello
    }
    fn stamp(&self) -> Option<&Stamp> {
        self.stamp.as_ref()
    }
}

impl HasHello for PushRequest {
    fn hello(&self) -> &Hello {
        &self.hello
    }
    fn stamp(&self) -> Option<&Stamp> {
        self.stamp.as_ref()
    }
}

async fn pull(
    State(s): State<SyncState>,
    tls: Option<Extension<TlsPeer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<PullResponse>, Refusal> {
    let req: PullRequest = authenticated(&s, tls, &headers, &body)?;
    let node = s.node.clone();
    let hello = s.hello.clone();
    let limit = req.limit.clamp(1, MAX_PAGE);
    let result = tokio::task::spawn_blocking(move || {
        let page = node.pull_page_for(&req.hello, &req.have, limit)?;
        let mut answer = page.into_response(hello, node.wall_now());
        answer.forks = node.fork_evidence()?;
        Ok::<_, crate::store::StoreError>(answer)
    })
    .await;
    match result {
        Ok(Ok(r)) => Ok(Json(r)),
        Ok(Err(e)) => Err(refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
        Err(e) => Err(refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

async fn push(
    State(s): State<SyncState>,
    tls: Option<Extension<TlsPeer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<PushResponse>, Refusal> {
    let req: PushRequest = authenticated(&s, tls, &headers, &body)?;
    if req.events.len() > MAX_PAGE {
        return Err(refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("at most {MAX_PAGE} events a push"),
        ));
    }
    let node = s.node.clone();
    let r = tokio::task::spawn_blocking(move || node.ingest(&req.events))
        .await
        .map_err(|e| refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(r))
}
