//! A file offered for download (CSV, JSON, PDF): the one way every screen's API names
//! the file the browser saves, so the table's and the central's answers agree.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// `body` as an attachment named `name`.
pub fn download(content_type: &'static str, name: &str, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut res = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}
