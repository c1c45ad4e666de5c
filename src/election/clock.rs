//! Hybrid logical clock.
//!
//! Wall clocks on Raspberry Pis drift and may be an hour off without an RTC. Ordering
//! check-ins by a hybrid logical clock keeps causality (an undo is always after the
//! check-in it undoes, on any table) while staying close to real time for reports.

use serde::{Deserialize, Serialize};

/// A timestamp: milliseconds since the epoch in the upper 48 bits, a logical counter in
/// the lower 16. Packed so that ordering is plain integer ordering in SQL too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hlc(pub u64);

impl Hlc {
    const LOGICAL_BITS: u32 = 16;

    pub fn new(millis: u64, logical: u16) -> Self {
        Hlc((millis << Self::LOGICAL_BITS) | logical as u64)
    }
    pub fn millis(self) -> u64 {
        self.0 >> Self::LOGICAL_BITS
    }
    pub fn logical(self) -> u16 {
        (self.0 & 0xffff) as u16
    }
}

/// The clock state of one device. Pure: the caller passes the wall time in, so tests can
/// give it any clock (one an hour off, one that jumps back).
#[derive(Debug, Clone, Default)]
pub struct HlcClock {
    last: u64,
}

impl HlcClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// A timestamp for a local event, strictly after every earlier one.
    pub fn now(&mut self, wall_millis: u64) -> Hlc {
        let last = Hlc(self.last);
        let next = if wall_millis > last.millis() {
            Hlc::new(wall_millis, 0)
        } else {
            Self::bump(last)
        };
        self.last = next.0;
        next
    }

    /// Takes in a timestamp seen on a received event so local events order after it.
    pub fn observe(&mut self, seen: Hlc) {
        if seen.0 > self.last {
            self.last = seen.0;
        }
    }

    fn bump(h: Hlc) -> Hlc {
        if h.logical() == u16::MAX {
            Hlc::new(h.millis() + 1, 0)
        } else {
            Hlc(h.0 + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_when_wall_goes_back() {
        let mut c = HlcClock::new();
        let a = c.now(10_000);
        let b = c.now(9_000);
        let d = c.now(10_000);
        assert!(a < b && b < d);
        assert_eq!(b.millis(), 10_000);
    }

    #[test]
    fn observe_pushes_local_clock_forward() {
        let mut c = HlcClock::new();
        // A peer whose clock runs an hour ahead.
        let remote = Hlc::new(3_600_000 + 1_000, 5);
        c.observe(remote);
        let local = c.now(1_000);
        assert!(local > remote);
    }

    #[test]
    fn logical_overflow_carries_into_millis() {
        let mut c = HlcClock::new();
        c.observe(Hlc::new(5, u16::MAX));
        let n = c.now(0);
        assert_eq!(n, Hlc::new(6, 0));
    }
}
