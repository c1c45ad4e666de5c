//! Static files of the election office screen, compiled into the binary like the table
//! screen's, so the central needs nothing else (and no internet: no CDN).

use axum::http::header;
use axum::response::IntoResponse;

pub async fn html() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        include_str!("assets/central.html"),
    )
}

pub async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("assets/central.js"),
    )
}

pub async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("assets/central.css"),
    )
}

/// The API description (OpenAPI 3), checked in beside the assets.
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("assets/central_openapi.json"),
    )
}
