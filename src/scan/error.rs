//! Why a scan cannot be read. Its own file because the key decoder, the text cleaner
//! and the driver glue that turns either into [`super::ScanEvent::Unreadable`] all
//! produce it; it uses none of them, so they can all use it.

/// A scan refused as a whole; the screen shows "ukendt stregkode", the log this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("empty scan")]
    Empty,
    /// The length in bytes after cleaning, and the most accepted.
    #[error("scan of {bytes} bytes is longer than {max}")]
    TooLong { bytes: usize, max: usize },
    /// The code point of the first control character.
    #[error("scan contains control character U+{0:04X}")]
    Control(u32),
    /// The keys did not type a barcode; `text` is what they typed up to the end key.
    #[error("{problem}; text so far {text:?}")]
    Keys {
        #[source]
        problem: KeyProblem,
        text: String,
    },
}

/// The first key of a keyboard-wedge scan that typed nothing a barcode carries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    #[error("dead key {dead:?} followed by {next:?}")]
    DeadThenChar { dead: char, next: char },
    #[error("dead key {first:?} followed by dead key {then:?}")]
    DeadThenDead { first: char, then: char },
    #[error("dead key {0:?} at the end of the scan")]
    DeadAtEnd(char),
    #[error(
        "key code {code} (shift {shift}, altgr {altgr}, ctrl/alt {command}) types nothing a barcode carries on layout {layout}"
    )]
    Unknown {
        code: u16,
        shift: bool,
        altgr: bool,
        command: bool,
        /// The layout's name ("us", "dk").
        layout: String,
    },
}
