//! An official's personal PIN as the screens check it: the hash is copied out under the
//! table's lock and argon2 runs on a blocking thread without it, so scans go on while
//! someone types (or guesses) a PIN.

use super::error::ApiError;
use crate::table::secretary::Secretary;
use crate::table::shared::{SharedCore, lock};

/// Checks `name`'s personal `pin` within the table's attempt limits.
pub(super) async fn authorize(
    core: &SharedCore,
    name: String,
    pin: String,
) -> Result<Secretary, ApiError> {
    let core = core.clone();
    let checked = tokio::task::spawn_blocking(move || {
        // The lock is held for the copy only, not for the check.
        let check = lock(&core).pin_check();
        check.verify(&name, &pin)
    });
    match checked.await {
        Ok(r) => Ok(r?),
        Err(e) => Err(ApiError {
            status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            danish: "Intern fejl. Prøv igen.".into(),
            english: format!("PIN check failed: {e}"),
        }),
    }
}
