//! The limits every HTTP connection is served under, whichever listener accepted it:
//! the screen and API listeners (`web::serve`) and the mutual-TLS sync listeners of
//! the tables and the central (`sync::tls::serve`).
//!
//! hyper sets no timeouts of its own: a client that never finishes its request head
//! (slowloris), or sends a body a byte a minute, holds a connection and a file
//! descriptor for ever. A device with a listed key passes the sync listener's TLS
//! handshake, so the handshake alone does not protect a table from a stolen or
//! misbehaving device; the limits apply after it as well. They live here, below both
//! `web` and `sync`, so that there is one set of them.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::time::Duration;
use tower::ServiceExt;

/// A request head must arrive within this. Browsers and the sync client send it in
/// one go; only a slow or hostile client needs longer.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A request (body and handler) must be answered within this. The slowest real
/// request, the paper valgliste of a large polling place, takes about a second.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// A request head (request line and headers) may be this large; hyper's default of
/// about 400 KiB a connection would let a few hundred slow clients hold 100 MiB.
pub const MAX_HEAD: usize = 64 * 1024;

/// Serves `app` on one accepted connection (HTTP/1.1) until it ends: the head within
/// [`HEADER_READ_TIMEOUT`] (also between requests on a kept-alive connection), each
/// request answered within [`REQUEST_TIMEOUT`] (a streamed answer such as the screen's
/// SSE counts only until its head), a body declared larger than `body_limit` of its
/// path refused with 413 before a byte of it is read. `mark` adds what the listener
/// knows of the connection to each request (the TLS peer's device key).
pub async fn serve_connection<I, M>(
    io: I,
    app: Router,
    peer: SocketAddr,
    body_limit: fn(&str) -> usize,
    mark: M,
) -> Result<(), hyper::Error>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    M: Fn(&mut Request<Body>) + Clone + Send + Sync + 'static,
{
    let ip = peer.ip();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        let mark = mark.clone();
        async move {
            let declared = req
                .headers()
                .get(axum::http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if declared.is_some_and(|n| n > body_limit(req.uri().path())) {
                tracing::warn!(%ip, path = %req.uri().path(), "request body too large; answered 413");
                return Ok(error_answer(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Forespørgslen er for stor.",
                    "request body too large",
                ));
            }
            let mut req = req.map(Body::new);
            // As axum's own server gives it: who is asking (login limits).
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            mark(&mut req);
            // The whole body is read before the handler runs, also by handlers that
            // take none (`POST /api/table/open` with `{}`): hyper keeps a connection
            // only if it can read an unread body at once after the answer, so a body
            // whose bytes came late made it close the connection silently, and the
            // client's next request on it failed ("Peer disconnected"; issue 14, seen
            // under load).
            let limit = body_limit(req.uri().path());
            let work = async move {
                let (parts, body) = req.into_parts();
                match axum::body::to_bytes(body, limit).await {
                    Ok(bytes) => {
                        app.oneshot(Request::from_parts(parts, Body::from(bytes)))
                            .await
                    }
                    Err(e) => {
                        tracing::warn!(%ip, error = %e, "request body not read; answered 400");
                        Ok(error_answer(
                            StatusCode::BAD_REQUEST,
                            "Forespørgslen kunne ikke læses.",
                            "request body could not be read",
                        ))
                    }
                }
            };
            match tokio::time::timeout(REQUEST_TIMEOUT, work).await {
                Ok(r) => r,
                Err(_) => {
                    tracing::warn!(%ip, "request not finished in time; answered 408");
                    Ok(error_answer(
                        StatusCode::REQUEST_TIMEOUT,
                        "Forespørgslen tog for lang tid.",
                        "request not completed in time",
                    ))
                }
            }
        }
    });
    hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD)
        .serve_connection(TokioIo::new(io), service)
        .await
}

/// An error answer in the API's shape: `{"error": Danish, "detail": English}`.
fn error_answer(status: StatusCode, danish: &str, english: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": danish, "detail": english }).to_string();
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    r
}
