//! Static files of the screens, compiled into the binary so a table needs nothing else.

use axum::http::header;
use axum::response::IntoResponse;

pub async fn table_html() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        include_str!("assets/table.html"),
    )
}

pub async fn table_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("assets/table.js"),
    )
}

pub async fn table_css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("assets/table.css"),
    )
}

pub async fn secretary_html() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        include_str!("assets/secretary.html"),
    )
}

pub async fn secretary_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("assets/secretary.js"),
    )
}
