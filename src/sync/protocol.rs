//! The messages peers exchange, as JSON over HTTP under `/sync/v1/`.

use crate::election::event::SignedEvent;
use crate::election::keys::DevicePublic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Largest request body accepted: a full page of events with room to spare. Here, not
/// in `server`, so the TLS listener can refuse a larger one before reading it.
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Highest sequence number held per device.
pub type VersionVector = BTreeMap<DevicePublic, u64>;

/// Largest page of events in one answer.
pub const MAX_PAGE: usize = 2_000;

/// Who is talking, so a peer of another election, list or software version is refused
/// before any event is looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub election: String,
    pub list_sha256: String,
    pub software: String,
    pub device: DevicePublic,
    pub place: String,
    pub table_no: u32,
}

impl Hello {
    /// This build's greeting: the software version is always the running binary's, so
    /// no caller can announce another.
    pub fn new(
        election: String,
        list_sha256: String,
        device: DevicePublic,
        place: String,
        table_no: u32,
    ) -> Hello {
        Hello {
            election,
            list_sha256,
            software: env!("CARGO_PKG_VERSION").to_string(),
            device,
            place,
            table_no,
        }
    }

    /// The greeting of the device whose database is `store`: the list it holds is the
    /// list it announces.
    pub fn of_device(
        store: &crate::store::Store,
        election: String,
        device: DevicePublic,
        place: String,
        table_no: u32,
    ) -> crate::store::Result<Hello> {
        let list_sha256 = store
            .meta(crate::store::meta::MetaKey::ListSha256)?
            .unwrap_or_default();
        Ok(Hello::new(election, list_sha256, device, place, table_no))
    }

    /// Why a peer cannot sync with us, in Danish for the status bar; `None` when it can.
    pub fn mismatch(&self, other: &Hello) -> Option<String> {
        if self.election != other.election {
            return Some(format!("andet valg ({})", other.election));
        }
        if self.list_sha256 != other.list_sha256 {
            return Some("anden valgliste".into());
        }
        if major_minor(&self.software) != major_minor(&other.software) {
            return Some(format!("anden version ({})", other.software));
        }
        None
    }
}

fn major_minor(v: &str) -> String {
    v.split('.').take(2).collect::<Vec<_>>().join(".")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullRequest {
    pub hello: Hello,
    pub have: VersionVector,
    pub limit: usize,
    /// When and once ([`super::replay`]); absent from an older version, which is refused.
    #[serde(default)]
    pub stamp: Option<super::replay::Stamp>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullResponse {
    pub hello: Hello,
    /// In order per device, so they can be ingested as they come.
    pub events: Vec<SignedEvent>,
    /// More events are waiting beyond this page.
    pub more: bool,
    /// The responder's version vector, to tell how far behind each side is.
    pub have: VersionVector,
    /// The responder's wall clock when it answered, to spot a table whose clock is off.
    #[serde(default)]
    pub wall_ms: i64,
    /// Every proof of a forked log the responder holds (usually none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forks: Vec<crate::election::event::ForkEvidence>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushRequest {
    pub hello: Hello,
    pub events: Vec<SignedEvent>,
    /// As in [`PullRequest`].
    #[serde(default)]
    pub stamp: Option<super::replay::Stamp>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushResponse {
    pub added: usize,
    pub duplicates: usize,
    /// Each refused event with the reason (English, for the log).
    pub rejected: Vec<String>,
}

/// Events in `a` that `b` lacks, counted.
pub fn lag(a: &VersionVector, b: &VersionVector) -> u64 {
    a.iter()
        .map(|(d, s)| s.saturating_sub(b.get(d).copied().unwrap_or(0)))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_counts_missing_events_per_device() {
        let d1 = DevicePublic([1; 32]);
        let d2 = DevicePublic([2; 32]);
        let a: VersionVector = [(d1, 10), (d2, 3)].into_iter().collect();
        let b: VersionVector = [(d1, 7)].into_iter().collect();
        assert_eq!(lag(&a, &b), 6);
        assert_eq!(lag(&b, &a), 0);
    }

    #[test]
    fn version_vector_round_trips_as_json_map() {
        let a: VersionVector = [(DevicePublic([7; 32]), 42)].into_iter().collect();
        let text = serde_json::to_string(&a).unwrap();
        assert!(text.starts_with("{\"0707"));
        let back: VersionVector = serde_json::from_str(&text).unwrap();
        assert_eq!(a, back);
    }

    #[test]
    fn mismatch_names_the_difference() {
        let h = Hello {
            election: "kv".into(),
            list_sha256: "aa".into(),
            software: "0.1.0".into(),
            device: DevicePublic([1; 32]),
            place: "1".into(),
            table_no: 1,
        };
        let mut o = h.clone();
        o.software = "0.1.7".into();
        assert_eq!(h.mismatch(&o), None);
        o.software = "0.2.0".into();
        assert!(h.mismatch(&o).unwrap().contains("version"));
        o = h.clone();
        o.list_sha256 = "bb".into();
        assert_eq!(h.mismatch(&o).as_deref(), Some("anden valgliste"));
    }
}
