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

pub mod atomic;
pub mod brevstemme_section;
pub mod card;
pub mod card_payload;
pub mod code128;
pub mod drivers;
pub mod error;
pub mod escpos;
pub mod font;
pub mod pdf;
pub mod printer;
pub mod receipt;
pub mod report;
pub mod sign;
pub mod spool;
pub mod valgliste;

pub use atomic::write_atomically;
pub use drivers::{PrinterConfig, open_printer};
pub use error::PrintError;
pub use printer::{Printer, PrinterStatus};
pub use receipt::{Align, Item, Receipt, Size};
