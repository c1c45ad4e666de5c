//! The bundle: everything one device holds of an election that an examiner needs, in
//! one JSON document. One document rather than JSON lines or an archive: any JSON tool
//! (jq, a browser) reads it without valgbord, the signed texts travel verbatim as
//! strings, and a day's log of a polling place (tens of MB) still reads in a moment.
//! The voter list file travels as base64 so its bytes, which the office signed, are
//! kept exactly whatever their encoding.

use super::figures::Figures;
use crate::election::event::{ForkEvidence, SignedEvent};
use crate::election::roles::Role;
use crate::provision::package::SignedPackage;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const FORMAT: &str = "valgbord-bundle";
pub const VERSION: u32 = 1;

/// The header's promise, for whoever opens the file.
pub const NOTHING_BEYOND: &str = "Filen indeholder intet ud over afstemningsbogens materiale: \
    valgpakken, valglisten med valgkontorets signatur, listeændringerne, enhedens \
    hændelseslog og afslutningsrapporten.";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub header: Header,
    /// The election package as loaded (`package.json` beside the database); `None` for
    /// the central tally, which holds no package.
    pub package: Option<SignedPackage>,
    /// The voter list file and its signature as imported; `None` for the central.
    pub list: Option<ListFile>,
    /// Every election-day list change the log holds, as the office signed it.
    pub list_changes: Vec<ListChangeCopy>,
    /// The whole log: every device's events the database holds, by device and number.
    pub events: Vec<BundledEvent>,
    /// Both versions of every forked log the device kept as evidence.
    pub forks: Vec<ForkEvidence>,
    /// The polling place's closing report as the device prints it; `None` for the central.
    pub closing_report: Option<ReportCopy>,
    /// The central's tally and snapshots as it showed them; `None` for a table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub central: Option<super::central::CentralCopy>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The device's public key (hex).
    pub device: String,
    /// Its role as its package enrols it (`None`: the central, enrolled by every
    /// package's `centrals`).
    pub role: Option<Role>,
    pub place: Option<String>,
    /// The table the device's own events speak for (a reserve's included).
    pub table_no: Option<u32>,
    pub election: String,
    /// "election" or "test" (a rehearsal's events can never be part of an election).
    pub mode: String,
    pub list_sha256: Option<String>,
    /// When the bundle was written (RFC 3339).
    pub written_at: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListFile {
    pub name: String,
    pub sha256: String,
    /// The office's detached signature (hex), as the package carries it.
    pub signature: String,
    pub base64: String,
}

impl ListFile {
    pub fn bytes(&self) -> Result<Vec<u8>, String> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(&self.base64)
            .map_err(|e| format!("the list file is not base64: {e}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListChangeCopy {
    /// The event that carried it (device hex, number).
    pub device: String,
    pub seq: u64,
    pub change_id: String,
    pub serial: u64,
    pub body: String,
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundledEvent {
    pub body: String,
    pub sig: String,
    /// The hash the device stored (hex).
    pub hash: String,
}

impl BundledEvent {
    pub fn signed(&self) -> SignedEvent {
        SignedEvent {
            body: self.body.clone(),
            sig: self.sig.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportCopy {
    pub figures: Figures,
    /// The report as the receipt printer prints it for the polling place.
    pub text: String,
    /// SHA-256 of the PDF as last exported (`report print --out`), if recorded.
    pub exported_pdf_sha256: Option<String>,
}

/// Why a bundle cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valgbord bundle: {why}")]
    NotABundle { path: String, why: String },
    #[error("cannot write {path}: {why}")]
    Write { path: String, why: String },
}

impl Bundle {
    pub fn read(path: &Path) -> Result<Bundle, BundleError> {
        let bytes = std::fs::read(path).map_err(|source| BundleError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Bundle::from_bytes(&bytes).map_err(|why| BundleError::NotABundle {
            path: path.display().to_string(),
            why,
        })
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Bundle, String> {
        let b: Bundle = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if b.header.format != FORMAT || b.header.version != VERSION {
            return Err(format!(
                "format {} version {}, this build reads {FORMAT} version {VERSION}",
                b.header.format, b.header.version
            ));
        }
        Ok(b)
    }

    /// The bundle's bytes, as the file and every download hold them.
    pub fn json(&self) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec_pretty(self)
    }

    /// Writes the bundle whole or not at all (temporary file, fsync, rename).
    pub fn write(&self, path: &Path) -> Result<(), BundleError> {
        let err = |why: String| BundleError::Write {
            path: path.display().to_string(),
            why,
        };
        let text = self.json().map_err(|e| err(e.to_string()))?;
        crate::print::atomic::write_atomically(path, &text).map_err(|e| err(e.to_string()))
    }
}
