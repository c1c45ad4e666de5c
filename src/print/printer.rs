//! What the table holds of its receipt printer, whichever way it is attached: the check-in
//! logic and the status bar see only this trait.

use super::error::PrintError;
use super::receipt::Receipt;
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
