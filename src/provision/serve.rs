//! A loaded table hands its polling place's package to a new table of the same place
//! over the LAN (`valgbord election load --from-peer`). Served on the sync listener, so
//! in an election only a device whose key the package lists gets through the TLS
//! handshake; the request is signed by that device as well, and stamped like every
//! signed sync request so a recorded one cannot be sent again. Only a table or reserve
//! of this polling place is given the package: it holds the valgsekretær's PIN hashes,
//! which the central tally and another place's devices have no use for. The package
//! itself is checked by the new table against the office key, so a peer cannot alter it.

use super::error::FetchError;
use super::package::{LIST_FILE, PACKAGE_FILE, Package, SignedPackage};
use crate::election::event::Trust;
use crate::election::keys::{DevicePublic, DeviceSecret};
use crate::election::roles::Role;
use crate::sync::auth;
use crate::sync::replay::{ReplayGuard, Stamp};
use crate::sync::server::{Refusal, check_sender, refusal};
use crate::sync::tls::TlsPeer;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const PATH: &str = "/sync/v1/package";

#[derive(Debug, Serialize, Deserialize)]
pub struct PackageRequest {
    pub device: DevicePublic,
    /// Time and nonce, as in every signed sync request; a request without is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<Stamp>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PackageResponse {
    pub package: SignedPackage,
    /// The voter list file, base64.
    pub list: String,
}

#[derive(Clone)]
struct ServeState {
    dir: PathBuf,
    trust: Arc<Trust>,
    /// This table's polling place: only its tables and reserves get the package.
    place: String,
    replay: Arc<ReplayGuard>,
}

/// `dir` is where `election load` left the package (the state folder); `place` is the
/// polling place of this table.
pub fn router(dir: PathBuf, trust: Trust, place: String) -> Router {
    Router::new()
        .route(PATH, post(package))
        .with_state(ServeState {
            dir,
            trust: Arc::new(trust),
            place,
            replay: Arc::new(ReplayGuard::default()),
        })
}

/// Whether `device` may have this place's package: a table or reserve of `place`. In
/// test mode without a key list (`enrolment` none) any device may, as it may sync.
fn may_have_package(trust: &Trust, place: &str, device: DevicePublic) -> Result<(), String> {
    let Some(enrolment) = &trust.enrolment else {
        return Ok(());
    };
    match enrolment.role(&device) {
        Some(role @ (Role::Table { .. } | Role::Reserve { .. })) if role.place() == Some(place) => {
            Ok(())
        }
        Some(role) => Err(format!(
            "device {} is {}, not a table or reserve of polling place {place}",
            device.short(),
            role.describe()
        )),
        None => Err(format!(
            "device {} is not enrolled: not a table or reserve of polling place {place}",
            device.short()
        )),
    }
}

async fn package(
    State(s): State<ServeState>,
    peer: Option<Extension<TlsPeer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<PackageResponse>, Refusal> {
    let req: PackageRequest = serde_json::from_slice(&body).map_err(|e| {
        refusal(
            StatusCode::BAD_REQUEST,
            format!("not a package request: {e}"),
        )
    })?;
    check_sender(req.device, peer, &headers, &body, &s.trust)?;
    if let Err(why) = may_have_package(&s.trust, &s.place, req.device) {
        tracing::warn!(reason = %why, "election package refused");
        return Err(refusal(StatusCode::FORBIDDEN, why));
    }
    if let Err(why) = s
        .replay
        .check(req.device, req.stamp.as_ref(), crate::store::now_ms())
    {
        tracing::warn!(device = %req.device.short(), reason = %why, "election package refused");
        return Err(refusal(StatusCode::UNAUTHORIZED, why.to_string()));
    }
    let read = |name: &str| {
        std::fs::read(s.dir.join(name)).map_err(|e| {
            refusal(
                StatusCode::NOT_FOUND,
                format!("this table has no election package to give ({name}: {e})"),
            )
        })
    };
    let package: SignedPackage = serde_json::from_slice(&read(PACKAGE_FILE)?)
        .map_err(|e| refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let list = STANDARD.encode(read(LIST_FILE)?);
    tracing::info!(device = %req.device.short(), "election package given to a new table");
    Ok(Json(PackageResponse { package, list }))
}

/// Fetches the package from `peer` into `into` (package.json and the list), ready for
/// `load_package`. Only over TLS, and only from a table or reserve that the package
/// (signed by `office`) names for its place: a brand-new device knows no keys yet, so
/// the handshake accepts any device key and the key it presented is checked against the
/// package afterwards. A package the office did not sign is left to `load_package` to
/// refuse.
pub async fn fetch(
    peer: &str,
    key: &DeviceSecret,
    office: DevicePublic,
    into: &Path,
) -> Result<(), FetchError> {
    if !peer.trim().to_ascii_lowercase().starts_with("https://") {
        return Err(FetchError::NotTls {
            url: peer.to_string(),
        });
    }
    // The transport accepts any device key, and keeps the one presented (`tls_info`) to
    // check it against the package.
    let tls = crate::sync::tls::client_config(key, crate::sync::tls::TrustedKeys::Any)?;
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .tls_info(true)
        .https_only(true)
        .connect_timeout(std::time::Duration::from_secs(2))
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| FetchError::Tls(crate::sync::tls::TlsError::HttpClient(e)))?;
    let stamp = Stamp::new(crate::store::now_ms(), 0).map_err(FetchError::Nonce)?;
    let body = serde_json::to_vec(&PackageRequest {
        device: key.public(),
        stamp: Some(stamp),
    })
    .map_err(FetchError::Request)?;
    let url = format!("{}{PATH}", peer.trim_end_matches('/'));
    let res = http
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(auth::HEADER, auth::sign_body(key, &body))
        .body(body)
        .send()
        .await
        .map_err(|e| FetchError::Unreachable {
            url: url.clone(),
            why: crate::sync::tls::error_chain(&e),
        })?;
    let status = res.status();
    if !status.is_success() {
        let why = res.text().await.unwrap_or_default();
        return Err(FetchError::Refused { url, status, why });
    }
    let server = res
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(reqwest::tls::TlsInfo::peer_certificate)
        .and_then(|der| crate::sync::tls::device_of_certificate(&der.to_vec().into()).ok());
    let got: PackageResponse = res.json().await.map_err(|source| FetchError::Answer {
        url: url.clone(),
        source,
    })?;
    if let Ok(package) = got.package.open(office) {
        served_by_its_place(&package, server, &url)?;
    }
    let list = STANDARD
        .decode(got.list)
        .map_err(|source| FetchError::Base64 { url, source })?;
    std::fs::create_dir_all(into).map_err(|source| FetchError::MakeDir {
        path: into.to_path_buf(),
        source,
    })?;
    let json = serde_json::to_vec_pretty(&got.package).map_err(FetchError::Package)?;
    let write = |name: &'static str, bytes: &[u8]| {
        std::fs::write(into.join(name), bytes).map_err(|source| FetchError::Write { name, source })
    };
    write(PACKAGE_FILE, &json)?;
    write(LIST_FILE, &list)?;
    Ok(())
}

/// The device that served `package` (its TLS key, `None` when none was seen) must be a
/// table or reserve the package names.
fn served_by_its_place(
    package: &Package,
    server: Option<DevicePublic>,
    url: &str,
) -> Result<(), FetchError> {
    let of_place = server.is_some_and(|s| {
        package.tables.iter().any(|t| t.device == s) || package.reserves.contains(&s)
    });
    if of_place {
        return Ok(());
    }
    let server = server.map_or_else(|| "unknown".to_string(), DevicePublic::short);
    tracing::warn!(%url, %server, place = %package.place.id, "package refused: served by a device not of its place");
    Err(FetchError::NotOfPlace {
        url: url.to_string(),
        server,
        place: package.place.id.clone(),
    })
}
