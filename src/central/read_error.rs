//! Why a read of the tally for the election office's screens and downloads failed.
//! Its own file because the tally, its exports and the office's API all pass it on
//! (the exports' own error lives here too, so `export` can use the tally's types).

use crate::print::error::PrintError;
use crate::store::StoreError;

/// One failed read; the office's API answers it as an internal error with this text
/// in English.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Report(#[from] PrintError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A closing report was asked of a place that produced none.
    #[error("no report")]
    NoReport,
}

/// Why a CSV download (`super::export`) could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Row(#[from] csv::Error),
    #[error("CSV: {0}")]
    Finish(#[source] std::io::Error),
}
