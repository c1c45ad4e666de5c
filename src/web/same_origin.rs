//! Every state-changing request (POST and the like) must come from the screen's own
//! page. The kiosk browser may open other pages (a help link, a captive portal); without
//! this check any of them could post to the table on loopback — check a voter in, open
//! or close the table — because the browser sends such cross-site requests. And a page
//! of a DNS name that is made to point at 127.0.0.1 (DNS rebinding) reaches the table
//! with its own name in `Host`.
//!
//! So: an `Origin`, when the browser sends one, must be the request's own `Host`; and
//! on a table's screen `Host` must be an IP address or `localhost`, never a name from
//! DNS. The central, served to the office under its own DNS name, checks only the
//! first. Clients that are not browsers (the tests, the benches, `curl`) send no
//! `Origin` and the address they connect to as `Host`.

use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;

/// Which `Host` a router accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hosts {
    /// An IP address or `localhost` (the table's screens).
    AddressOnly,
    /// Any name (the central, reached by the office under its DNS name).
    Any,
}

/// Wraps `router` so its state-changing requests pass [`check`].
pub fn guard(router: axum::Router, hosts: Hosts) -> axum::Router {
    router.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| async move {
            match check(req.method(), req.headers(), hosts) {
                Ok(()) => next.run(req).await,
                Err(why) => refuse(&why.to_string()),
            }
        },
    ))
}

/// Why a request that would change something is not from the screen's own page; the
/// text is English, for the log and the answer's `detail`.
#[derive(Debug, thiserror::Error)]
pub enum CrossSite {
    #[error("{0} is not text")]
    NotText(&'static str),
    #[error("no Host header")]
    NoHost,
    #[error("Host {0:?} is a name, not this device's address (DNS rebinding?)")]
    HostIsName(String),
    #[error("Origin {origin:?} is not this screen's own ({host}): a cross-site request")]
    ForeignOrigin { origin: String, host: String },
}

/// `Ok` for reads and for requests from the page itself.
pub fn check(method: &Method, headers: &HeaderMap, hosts: Hosts) -> Result<(), CrossSite> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let header = |name: &'static str| -> Result<Option<&str>, CrossSite> {
        headers
            .get(name)
            .map(|v| v.to_str().map_err(|_| CrossSite::NotText(name)))
            .transpose()
    };
    let host = header("host")?.ok_or(CrossSite::NoHost)?;
    if hosts == Hosts::AddressOnly && !is_address(host) {
        return Err(CrossSite::HostIsName(host.to_string()));
    }
    if let Some(origin) = header("origin")? {
        let own = ["http://", "https://"]
            .iter()
            .any(|scheme| origin.eq_ignore_ascii_case(&format!("{scheme}{host}")));
        if !own {
            return Err(CrossSite::ForeignOrigin {
                origin: origin.to_string(),
                host: host.to_string(),
            });
        }
    }
    Ok(())
}

/// Whether a `Host` value (with or without port) is an IP address or `localhost`.
fn is_address(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // "[::1]:8080"
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok()
}

fn refuse(why: &str) -> Response {
    tracing::warn!(
        reason = why,
        "request refused: not from this screen's own page"
    );
    (
        StatusCode::FORBIDDEN,
        axum::Json(serde_json::json!({
            "error": "Afvist: forespørgslen kom ikke fra denne skærms egen side.",
            "detail": why,
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_page_itself_and_plain_clients_pass() {
        let post = Method::POST;
        let a = Hosts::AddressOnly;
        assert!(check(&post, &headers(&[("host", "127.0.0.1:8080")]), a).is_ok());
        assert!(check(&post, &headers(&[("host", "localhost:8080")]), a).is_ok());
        assert!(check(&post, &headers(&[("host", "[::1]:8080")]), a).is_ok());
        assert!(check(&post, &headers(&[("host", "10.0.0.2")]), a).is_ok());
        let page = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ]);
        assert!(check(&post, &page, a).is_ok());
    }

    #[test]
    fn other_sites_and_dns_names_are_refused() {
        let post = Method::POST;
        let a = Hosts::AddressOnly;
        let cross = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example"),
        ]);
        assert!(check(&post, &cross, a).is_err());
        assert!(check(&post, &cross, Hosts::Any).is_err());
        let other_port = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:9999"),
        ]);
        assert!(check(&post, &other_port, a).is_err());
        let null = headers(&[("host", "127.0.0.1:8080"), ("origin", "null")]);
        assert!(check(&post, &null, a).is_err());
        let rebound = headers(&[
            ("host", "evil.example:8080"),
            ("origin", "http://evil.example:8080"),
        ]);
        assert!(check(&post, &rebound, a).is_err());
        assert!(check(&post, &rebound, Hosts::Any).is_ok());
        assert!(check(&post, &HeaderMap::new(), a).is_err());
        // Reads are not this check's business.
        assert!(check(&Method::GET, &cross, a).is_ok());
    }
}
