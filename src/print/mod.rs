//! Printing: replacement valgkort and reports on the table's 80 mm receipt printer
//! (ESC/POS), and PDFs for an office printer (the valgkort, the paper valgliste).
//!
//! - [`Printer`] is what the table daemon holds; [`drivers`] has one per way a receipt
//!   printer is attached (USB device file, serial tty, TCP port 9100, a plain file) and
//!   a simulated one that writes each receipt as text and bytes into a folder.
//! - [`receipt::Receipt`] is what to print; [`escpos::encode`] turns it into bytes as a
//!   pure function (written here, not with the `escpos` crate: see that module).
//! - [`card`] builds the replacement valgkort (PDF and receipt) with the signed QR
//!   payload of [`card_payload`]; [`valgliste`] the marked paper list for the fallback;
//!   [`report`] the closing report for the afstemningsbog (receipt and PDF).
//! - [`pdf`] is a small PDF writer (pdf-writer + an embedded, subsetted DejaVu Sans),
//!   fast enough for a 25,000-voter list in well under the 3 s the fallback allows.
//!
//! Reads the store only (through `Store` and a second read-only SQLite connection),
//! never writes it: printing a card is not the reissue event, which the table appends.

pub mod card;
pub mod card_payload;
pub mod code128;
pub mod drivers;
pub mod escpos;
pub mod font;
pub mod pdf;
pub mod receipt;
pub mod report;
pub mod sign;
pub mod spool;
pub mod valgliste;

pub use drivers::{PrinterConfig, open_printer};
pub use receipt::{Align, Item, Receipt, Size};

use serde::Serialize;

/// A receipt printer. Calls block (device files and sockets); the table daemon calls
/// them in `spawn_blocking`.
pub trait Printer: Send + Sync {
    /// Prints one receipt; returns when the bytes are handed to the printer.
    fn print(&self, job: &Receipt) -> Result<(), PrintError>;
    /// What the printer is, for the log and the setup screen ("ESC/POS USB /dev/usb/lp0").
    fn describe(&self) -> String;
    /// For the status bar: whether the printer can be reached now and the last error.
    /// Cheap for device files; a TCP printer is probed with a short connect (≤ 300 ms).
    fn status(&self) -> PrinterStatus;
}

/// What the status bar shows about the printer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrinterStatus {
    pub ok: bool,
    /// Danish, for the screen ("Printer klar", "Printer mangler: /dev/usb/lp0").
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("cannot encode the receipt: {0}")]
    Encode(#[from] escpos::EncodeError),
    #[error("printer {target}: {source}")]
    Io {
        target: String,
        source: std::io::Error,
    },
    #[error("printer {target}: {detail}")]
    Device { target: String, detail: String },
    #[error("printer {target} took no data for {seconds} s (out of paper, lid open?)")]
    Stalled { target: String, seconds: u64 },
    #[error("cannot write {path}: {source}")]
    Output {
        path: String,
        source: std::io::Error,
    },
    #[error("PDF: {0}")]
    Pdf(String),
    #[error("database: {0}")]
    Store(String),
    #[error("voter {0} is not on the list")]
    UnknownVoter(String),
    #[error("polling place {0} is not on the list")]
    UnknownPlace(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Key(#[from] crate::store::keyfile::KeyFileError),
}

impl PrintError {
    /// The text for the screen.
    pub fn danish(&self) -> String {
        match self {
            PrintError::Encode(e) => e.danish(),
            PrintError::Io { target, .. } | PrintError::Device { target, .. } => format!(
                "Printeren ({target}) svarer ikke. Tjek at den er tændt, har papir og er sluttet til."
            ),
            PrintError::Stalled { target, seconds } => format!(
                "Printeren ({target}) har ikke taget imod data i {seconds} sekunder. Tjek papiret og at låget er lukket, og udskriv igen."
            ),
            PrintError::Output { path, .. } => format!("Filen {path} kan ikke skrives."),
            PrintError::Pdf(_) => "PDF-filen kunne ikke laves.".into(),
            PrintError::Store(_) => "Databasen kunne ikke læses.".into(),
            PrintError::UnknownVoter(id) => format!("Vælger {id} findes ikke på valglisten."),
            PrintError::UnknownPlace(id) => format!("Valgsted {id} findes ikke på valglisten."),
            PrintError::Invalid(e) => format!("Ugyldigt input: {e}"),
            PrintError::Key(e) => e.danish(),
        }
    }
}

impl From<crate::store::StoreError> for PrintError {
    fn from(e: crate::store::StoreError) -> Self {
        PrintError::Store(e.to_string())
    }
}

impl From<rusqlite::Error> for PrintError {
    fn from(e: rusqlite::Error) -> Self {
        PrintError::Store(e.to_string())
    }
}

/// Writes a file atomically (temporary file in the same folder, then rename), so a
/// reader (or a USB stick pulled out) never sees half a PDF.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), PrintError> {
    use std::io::Write;
    let err = |source| PrintError::Output {
        path: path.display().to_string(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}
