//! API errors: Danish for the screen, English for the log, a status code for clients.

use crate::table::core::TableError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub struct ApiError {
    pub status: StatusCode,
    pub danish: String,
    pub english: String,
}

impl ApiError {
    pub fn bad_request(danish: impl Into<String>, english: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            danish: danish.into(),
            english: english.into(),
        }
    }
}

impl From<TableError> for ApiError {
    fn from(e: TableError) -> Self {
        let status = match e {
            TableError::Refused(_) | TableError::Store(crate::store::StoreError::ListChange(_)) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            TableError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            danish: e.danish(),
            english: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(error = %self.english, "request failed");
        } else {
            tracing::warn!(error = %self.english, "request refused");
        }
        (
            self.status,
            Json(json!({"error": self.danish, "detail": self.english})),
        )
            .into_response()
    }
}
