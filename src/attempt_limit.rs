//! How guessing a secret is slowed down, shared by the valgsekretær's PIN at a table and
//! the election office's passwords at the central: a few wrong guesses are free (a slip of
//! the finger), then each further one waits twice as long as the last, and after many the
//! secret is locked for a while. Only the schedule lives here; who counts, by which clock,
//! and what the screen says is each user's own.

use std::time::Duration;

/// The schedule of waits after wrong guesses in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Wrong guesses in a row that cost no wait.
    pub free: u32,
    /// The wait after the first wrong guess beyond the free ones; doubles with each more.
    pub first_delay: Duration,
    /// The longest wait before the lockout.
    pub max_delay: Duration,
    /// Wrong guesses in a row that lock for [`Policy::lockout`].
    pub lockout_after: u32,
    pub lockout: Duration,
}

impl Policy {
    /// The wait after `wrong` wrong guesses in a row: none for the first few, then
    /// `first_delay` doubling up to `max_delay`, then the lockout.
    pub fn delay_after(&self, wrong: u32) -> Option<Duration> {
        if wrong >= self.lockout_after {
            return Some(self.lockout);
        }
        if wrong < self.free {
            return None;
        }
        let doublings = wrong - self.free;
        Some(
            self.first_delay
                .checked_mul(1 << doublings.min(16))
                .unwrap_or(self.max_delay)
                .min(self.max_delay),
        )
    }

    /// Whether `wrong` wrong guesses in a row have locked the secret.
    pub fn locks(&self, wrong: u32) -> bool {
        wrong >= self.lockout_after
    }
}

/// "1 minut", "3 minutter".
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// How long is left, as a person reads it: seconds under two minutes, else minutes
/// (rounded up, so the wait is never longer than said).
pub fn danish_wait(left: Duration) -> String {
    let seconds = left.as_secs_f64().ceil().max(1.0) as u64;
    if seconds < 120 {
        plural(seconds, "sekund", "sekunder")
    } else {
        plural(seconds.div_ceil(60), "minut", "minutter")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Policy = Policy {
        free: 3,
        first_delay: Duration::from_secs(5),
        max_delay: Duration::from_secs(300),
        lockout_after: 10,
        lockout: Duration::from_secs(900),
    };

    #[test]
    fn free_then_doubling_then_capped_then_locked() {
        assert_eq!(P.delay_after(2), None);
        assert_eq!(P.delay_after(3), Some(Duration::from_secs(5)));
        assert_eq!(P.delay_after(4), Some(Duration::from_secs(10)));
        assert_eq!(P.delay_after(8), Some(Duration::from_secs(160)));
        assert_eq!(P.delay_after(9), Some(Duration::from_secs(300)));
        assert_eq!(P.delay_after(10), Some(Duration::from_secs(900)));
        assert_eq!(P.delay_after(u32::MAX), Some(Duration::from_secs(900)));
        assert!(!P.locks(9) && P.locks(10));
    }

    #[test]
    fn waits_read_in_seconds_then_minutes() {
        assert_eq!(danish_wait(Duration::from_millis(4_100)), "5 sekunder");
        assert_eq!(danish_wait(Duration::from_millis(10)), "1 sekund");
        assert_eq!(danish_wait(Duration::from_secs(119)), "119 sekunder");
        assert_eq!(danish_wait(Duration::from_secs(300)), "5 minutter");
        assert_eq!(danish_wait(Duration::from_secs(61 * 60)), "61 minutter");
    }
}
