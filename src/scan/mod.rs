//! Barcode and QR scanners. One trait, several drivers; the check-in logic only ever
//! sees [`ScanEvent`]s on a channel and never knows which driver made them.

pub mod camera;
pub mod clean;
mod driver;
pub mod error;
pub mod evdev_hid;
pub mod keymap;
pub mod serial;
pub mod simulated;

use tokio::sync::mpsc;

/// What a scanner reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanEvent {
    /// A code was read; the text is already cleaned (see [`clean::clean_scan`]).
    Code(String),
    /// Something was read that cannot be a card (control bytes, far too long, empty):
    /// the screen shows "ukendt stregkode". The text says why, for the log.
    Unreadable(String),
    /// The driver's health changed (device unplugged, reconnected…).
    Status(ScannerStatus),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScannerStatus {
    pub connected: bool,
    /// For people: which device, and what is wrong when it is not connected.
    pub detail: String,
}

/// A scanner driver. `spawn` starts it on the tokio runtime; it sends events until the
/// receiver is dropped, and reconnects by itself when its device comes back.
pub trait Scanner: Send + 'static {
    /// Short description for the status bar and the log ("USB-scanner /dev/input/…").
    fn describe(&self) -> String;
    fn spawn(self: Box<Self>, out: mpsc::Sender<ScanEvent>) -> tokio::task::JoinHandle<()>;
}
