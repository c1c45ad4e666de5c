//! The central's wall clock. In test mode it can be moved (config `clock_offset_ms`, or
//! `POST /api/test/clock`), so a rehearsal can run a whole election day of snapshots in
//! minutes; in an election it is the system clock.

use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug)]
pub struct Clock {
    offset_ms: AtomicI64,
    test: bool,
}

impl Clock {
    pub fn new(offset_ms: i64, test: bool) -> Clock {
        Clock {
            offset_ms: AtomicI64::new(if test { offset_ms } else { 0 }),
            test,
        }
    }

    /// Milliseconds since the epoch as the central sees them.
    pub fn now_ms(&self) -> i64 {
        crate::store::now_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Moves the clock (test mode only).
    pub fn set_offset(&self, offset_ms: i64) -> Result<(), NotTestMode> {
        if !self.test {
            return Err(NotTestMode);
        }
        self.offset_ms.store(offset_ms, Ordering::Relaxed);
        Ok(())
    }
}

/// Refused: an election's clock is the machine's own; only a rehearsal moves it.
#[derive(Debug, thiserror::Error)]
#[error("the clock can only be moved in test mode")]
pub struct NotTestMode;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_test_clock_moves() {
        let c = Clock::new(5_000, false);
        assert_eq!(c.offset_ms(), 0);
        assert!(c.set_offset(1).is_err());
        let t = Clock::new(5_000, true);
        assert_eq!(t.offset_ms(), 5_000);
        t.set_offset(-3_600_000).unwrap();
        assert!(t.now_ms() < crate::store::now_ms() - 3_500_000);
    }
}
