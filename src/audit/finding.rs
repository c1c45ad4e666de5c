//! What the audit found that does not hold: which bundle, which device, which event,
//! and why, in Danish for the examiner (the JSON report carries the same).

use crate::election::keys::DevicePublic;
use crate::election::roles::{Enrolment, Role};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The bundle file it was found in.
    pub bundle: String,
    /// The device concerned, as people name it ("bord 2 på valgsted 1 (ab12cd34)").
    pub device: String,
    /// The event's sequence number, when one event is concerned.
    pub seq: Option<u64>,
    pub reason: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(s) => write!(
                f,
                "{}: {}, hændelse nr. {s}: {}",
                self.bundle, self.device, self.reason
            ),
            None => write!(f, "{}: {}: {}", self.bundle, self.device, self.reason),
        }
    }
}

/// A device as people name it: its role by the enrolment and its short key.
pub fn who(device: &str, enrolment: Option<&Enrolment>) -> String {
    let key = DevicePublic::from_hex(device).ok();
    let short = key
        .map(DevicePublic::short)
        .unwrap_or_else(|| device.chars().take(8).collect());
    match key.and_then(|k| enrolment.and_then(|e| e.role(&k))) {
        Some(Role::Table { place, table_no }) => {
            format!("bord {table_no} på valgsted {place} ({short})")
        }
        Some(Role::Reserve { place }) => format!("reserveenhed på valgsted {place} ({short})"),
        Some(Role::Central) => format!("centralen ({short})"),
        None => format!("ukendt enhed ({short})"),
    }
}
