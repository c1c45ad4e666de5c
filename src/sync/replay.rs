//! Replayed sync requests refused. The body signature (`auth`) says who sent a request,
//! not when: whoever recorded a pull on a link without TLS (test mode, a rehearsal, a
//! central not yet on TLS) could send it again later and read the check-ins made since.
//! So every pull and push carries a [`Stamp`] inside its signed body, and the receiver's
//! [`ReplayGuard`] refuses a stamp whose time is more than [`WINDOW_MS`] off its own clock,
//! or whose nonce it has already seen from that device within that window.
//!
//! Clocks: a Pi without a real-time clock may be hours off, and the tables tolerate that
//! (they show "URET AFVIGER"). So the time checked is the sender's time plus the offset
//! the sender has measured to the receiver's clock ([`PeerClocks`]: from pull answers, and
//! from a refusal, which carries the receiver's time). A device whose clock is off still
//! syncs; a recorded request still grows old, since its stamp cannot be changed without
//! the device key.

use crate::election::keys::DevicePublic;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// How far a request's time may be off the receiver's clock: generous for a slow network
/// and a sender's estimate of the offset that is a round trip old, and short enough that
/// the nonces of a busy device within it fit in memory.
pub const WINDOW_MS: i64 = 15 * 60_000;
/// Nonces kept per device. A table sends a few requests a second at most; when a device
/// sends more, the oldest are forgotten and requests no newer than them are refused.
const PER_DEVICE: usize = 1024;

/// When a request was sent, and a value used once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// The sender's wall clock when it sent the request (ms since the epoch).
    pub sent_ms: i64,
    /// The receiver's clock minus the sender's, as the sender last measured it.
    #[serde(default)]
    pub peer_offset_ms: i64,
    /// 16 random bytes in hex.
    pub nonce: String,
}

impl Stamp {
    pub fn new(sent_ms: i64, peer_offset_ms: i64) -> Result<Stamp, getrandom::Error> {
        let mut nonce = [0u8; 16];
        getrandom::getrandom(&mut nonce)?;
        Ok(Stamp {
            sent_ms,
            peer_offset_ms,
            nonce: hex::encode(nonce),
        })
    }

    /// The sending time on the receiver's clock.
    fn at_receiver(&self) -> i64 {
        self.sent_ms.saturating_add(self.peer_offset_ms)
    }

    fn nonce(&self) -> Option<u128> {
        let n = &self.nonce;
        if n.len() != 32 || !n.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u128::from_str_radix(n, 16).ok()
    }
}

/// Why a request's stamp was refused (English, for the log and the 401 answer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stale {
    #[error(
        "the request carries no time and nonce: the sending device runs an older valgbord; upgrade it"
    )]
    Unstamped,
    #[error("the request's nonce is not 32 hex digits")]
    BadNonce,
    #[error(
        "the request's time is {off_s} s off this device's clock (at most {} min allowed): a replayed request, or the sender's clock is far off",
        WINDOW_MS / 60_000
    )]
    Clock { off_s: i64 },
    #[error("replayed request: device {0} already sent this nonce")]
    Replayed(String),
    #[error("replayed request: older than requests of device {0} already forgotten")]
    Older(String),
}

impl Stale {
    /// The reason label in the central's `/metrics`.
    pub fn label(&self) -> &'static str {
        match self {
            Stale::Unstamped => "unstamped",
            Stale::BadNonce => "malformed",
            Stale::Clock { .. } => "clock",
            Stale::Replayed(_) | Stale::Older(_) => "replay",
        }
    }
}

/// The nonces seen from one device, by their time on the receiver's clock.
#[derive(Default)]
struct Seen {
    nonces: HashSet<u128>,
    by_time: BTreeSet<(i64, u128)>,
    /// Requests at or before this time are refused: newer nonces were forgotten for room.
    floor: Option<i64>,
}

impl Seen {
    fn forget_before(&mut self, cut: i64) {
        while let Some(&(at, n)) = self.by_time.first() {
            if at >= cut {
                break;
            }
            self.by_time.pop_first();
            self.nonces.remove(&n);
        }
    }
}

/// The receiver's memory of recent requests, per device. Only devices whose signature
/// verified reach it, so the devices of the election bound its size.
#[derive(Default)]
pub struct ReplayGuard {
    seen: Mutex<BTreeMap<DevicePublic, Seen>>,
}

impl ReplayGuard {
    /// Takes a request of `device` stamped `stamp`, at `now_ms` on this device's clock.
    pub fn check(
        &self,
        device: DevicePublic,
        stamp: Option<&Stamp>,
        now_ms: i64,
    ) -> Result<(), Stale> {
        let stamp = stamp.ok_or(Stale::Unstamped)?;
        let nonce = stamp.nonce().ok_or(Stale::BadNonce)?;
        let at = stamp.at_receiver();
        let off = at.saturating_sub(now_ms);
        if off.abs() > WINDOW_MS {
            return Err(Stale::Clock { off_s: off / 1000 });
        }
        let mut all = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let seen = all.entry(device).or_default();
        seen.forget_before(now_ms - WINDOW_MS);
        if seen.floor.is_some_and(|f| f > now_ms + WINDOW_MS) {
            // This clock was moved back (a rehearsal): the floor is of another time.
            seen.floor = None;
        }
        if seen.floor.is_some_and(|f| at <= f) {
            return Err(Stale::Older(device.short()));
        }
        if !seen.nonces.insert(nonce) {
            return Err(Stale::Replayed(device.short()));
        }
        seen.by_time.insert((at, nonce));
        if seen.by_time.len() > PER_DEVICE
            && let Some((t, n)) = seen.by_time.pop_first()
        {
            seen.nonces.remove(&n);
            seen.floor = Some(seen.floor.map_or(t, |f| f.max(t)));
        }
        Ok(())
    }
}

/// The sender's side: the offset to each peer's clock (by base URL) it last measured, so
/// its stamps read right on the peer's clock. Shared by the pull and push tasks.
#[derive(Clone, Default)]
pub struct PeerClocks {
    offsets: Arc<Mutex<HashMap<String, i64>>>,
    /// This device's own clock offset (test mode), as in every time it sends.
    clock_offset_ms: i64,
}

impl PeerClocks {
    pub fn new(clock_offset_ms: i64) -> PeerClocks {
        PeerClocks {
            offsets: Arc::default(),
            clock_offset_ms,
        }
    }

    /// This device's wall clock.
    pub fn now(&self) -> i64 {
        crate::store::now_ms() + self.clock_offset_ms
    }

    pub fn learn(&self, peer: &str, offset_ms: i64) {
        self.lock().insert(peer.to_string(), offset_ms);
    }

    /// Learns a peer's clock from a refusal that carries it (`wall_ms`), the request
    /// having been sent at `sent_ms`; false when the refusal carries no clock.
    pub fn learn_from_refusal(
        &self,
        peer: &str,
        refusal: &serde_json::Value,
        sent_ms: i64,
    ) -> bool {
        let Some(theirs) = refusal["wall_ms"].as_i64() else {
            return false;
        };
        self.learn(peer, theirs - (sent_ms + self.now()) / 2);
        true
    }

    /// A stamp for a request to `peer` sent at `now_ms` on this device's clock.
    pub fn stamp_at(&self, peer: &str, now_ms: i64) -> Result<Stamp, getrandom::Error> {
        let offset = self.lock().get(peer).copied().unwrap_or(0);
        Stamp::new(now_ms, offset)
    }

    /// A stamp for a request to `peer` sent now.
    pub fn stamp(&self, peer: &str) -> Result<Stamp, getrandom::Error> {
        self.stamp_at(peer, self.now())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.offsets.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::keys::DeviceSecret;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn a_nonce_is_taken_once_and_an_old_or_far_time_never() {
        let g = ReplayGuard::default();
        let d = DeviceSecret::generate().public();
        let s = Stamp::new(NOW, 0).unwrap();
        assert_eq!(g.check(d, Some(&s), NOW), Ok(()));
        assert!(matches!(
            g.check(d, Some(&s), NOW + 1),
            Err(Stale::Replayed(_))
        ));
        // Another device may use the same nonce.
        let other = DeviceSecret::generate().public();
        assert_eq!(g.check(other, Some(&s), NOW), Ok(()));
        // Once the window has passed, the time refuses it, whatever the memory holds.
        let later = NOW + WINDOW_MS + 1;
        assert!(matches!(
            g.check(d, Some(&s), later),
            Err(Stale::Clock { .. })
        ));
        let ahead = Stamp::new(NOW + WINDOW_MS + 1, 0).unwrap();
        assert!(matches!(
            g.check(d, Some(&ahead), NOW),
            Err(Stale::Clock { .. })
        ));
        assert_eq!(g.check(d, None, NOW), Err(Stale::Unstamped));
        let mut bad = Stamp::new(NOW, 0).unwrap();
        bad.nonce = "+".repeat(32);
        assert_eq!(g.check(d, Some(&bad), NOW), Err(Stale::BadNonce));
    }

    #[test]
    fn a_sender_an_hour_off_is_taken_at_its_measured_offset() {
        let g = ReplayGuard::default();
        let d = DeviceSecret::generate().public();
        let hour = 3_600_000;
        let naive = Stamp::new(NOW + hour, 0).unwrap();
        assert!(g.check(d, Some(&naive), NOW).is_err());
        let clocks = PeerClocks::default();
        clocks.learn("http://t1", -hour);
        let s = clocks.stamp_at("http://t1", NOW + hour).unwrap();
        assert_eq!(g.check(d, Some(&s), NOW), Ok(()));
    }

    #[test]
    fn a_full_memory_forgets_the_oldest_and_refuses_anything_as_old() {
        let g = ReplayGuard::default();
        let d = DeviceSecret::generate().public();
        let first = Stamp::new(NOW, 0).unwrap();
        g.check(d, Some(&first), NOW).unwrap();
        for i in 0..PER_DEVICE as i64 {
            g.check(d, Some(&Stamp::new(NOW + 1 + i, 0).unwrap()), NOW)
                .unwrap();
        }
        // The first nonce is forgotten, but its time is now below the floor.
        assert!(matches!(
            g.check(d, Some(&first), NOW),
            Err(Stale::Older(_))
        ));
        let fresh = Stamp::new(NOW + 5_000, 0).unwrap();
        assert_eq!(g.check(d, Some(&fresh), NOW), Ok(()));
    }
}
