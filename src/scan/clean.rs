//! Cleaning scanned text and ignoring a card scanned twice in a row.

use super::error::ScanError;
use std::time::{Duration, Instant};

/// Longest text accepted from a scanner: a valgbord QR is under 300 characters.
pub const MAX_SCAN: usize = 512;

/// Trims what scanners add (CR, LF, tab, spaces, a leading AIM symbology id such as
/// "]C1") and checks what is left is printable text.
pub fn clean_scan(raw: &str) -> Result<String, ScanError> {
    let t = raw.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    let t = strip_aim_prefix(t);
    if t.is_empty() {
        return Err(ScanError::Empty);
    }
    if t.len() > MAX_SCAN {
        return Err(ScanError::TooLong {
            bytes: t.len(),
            max: MAX_SCAN,
        });
    }
    if let Some(c) = t.chars().find(|c| c.is_control()) {
        return Err(ScanError::Control(c as u32));
    }
    Ok(t.to_string())
}

/// AIM symbology identifiers ("]C0", "]Q1", "]E0" …) that some scanners prepend.
fn strip_aim_prefix(t: &str) -> &str {
    let b = t.as_bytes();
    if b.len() > 3 && b[0] == b']' && b[1].is_ascii_alphabetic() && b[2].is_ascii_alphanumeric() {
        &t[3..]
    } else {
        t
    }
}

/// Two scans of the same card within the window count once (a card held under the
/// scanner is often read twice).
#[derive(Debug)]
pub struct Debouncer {
    window: Duration,
    last: Option<(String, Instant)>,
}

impl Debouncer {
    pub fn new(window: Duration) -> Self {
        Debouncer { window, last: None }
    }

    /// True when the scan should be handled; false when it repeats the last one.
    pub fn accept(&mut self, code: &str, now: Instant) -> bool {
        if let Some((last, at)) = &self.last
            && last == code
            && now.duration_since(*at) < self.window
        {
            return false;
        }
        self.last = Some((code.to_string(), now));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_strips_symbology_id() {
        assert_eq!(clean_scan(" ]C1123456789012\r\n").unwrap(), "123456789012");
        assert_eq!(clean_scan("ABC-1\n").unwrap(), "ABC-1");
    }

    #[test]
    fn refuses_empty_control_and_oversized() {
        assert!(clean_scan("\r\n").is_err());
        assert!(clean_scan("12\u{1b}34").is_err());
        assert!(clean_scan(&"9".repeat(MAX_SCAN + 1)).is_err());
    }

    #[test]
    fn same_card_within_two_seconds_counts_once() {
        let mut d = Debouncer::new(Duration::from_secs(2));
        let t0 = Instant::now();
        assert!(d.accept("A", t0));
        assert!(!d.accept("A", t0 + Duration::from_millis(1500)));
        assert!(d.accept("B", t0 + Duration::from_millis(1600)));
        assert!(d.accept("A", t0 + Duration::from_millis(1700)));
        assert!(d.accept("A", t0 + Duration::from_millis(3800)));
    }
}
