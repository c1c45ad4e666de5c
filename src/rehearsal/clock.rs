//! The simulated clock of a rehearsal: the day from 08:00 to 20:00 compressed into a
//! few real minutes, and elastic: it stands still while the lines at the tables are
//! long, so a machine slower than the polling place's Raspberry Pis (ten tables share
//! two cores here) stretches the day instead of serving voters hours after they came.
//! Arrivals, faults and the hour of each check-in all read this one clock.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct SimClock {
    pub start: Instant,
    /// Real seconds per simulated minute.
    pub scale: f64,
    /// Simulated minute (since midnight) at `start`.
    pub origin: f64,
    /// Real time stood still so far, and since when it stands still now.
    paused: Mutex<(Duration, Option<Instant>)>,
}

impl SimClock {
    pub fn new(scale: f64, origin: f64) -> SimClock {
        SimClock {
            start: Instant::now(),
            scale,
            origin,
            paused: Mutex::new((Duration::ZERO, None)),
        }
    }

    fn stood_still(&self, at: Instant) -> Duration {
        let p = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        p.0 + p
            .1
            .map_or(Duration::ZERO, |since| at.saturating_duration_since(since))
    }

    /// Real time the clock has stood still.
    pub fn paused_total(&self) -> Duration {
        self.stood_still(Instant::now())
    }

    /// Simulated minutes since midnight.
    pub fn now(&self) -> f64 {
        let at = Instant::now();
        let ran = at
            .duration_since(self.start)
            .saturating_sub(self.stood_still(at));
        self.origin + ran.as_secs_f64() / self.scale
    }

    /// Stops (true) or restarts (false) the clock; repeating either is harmless.
    pub fn hold(&self, hold: bool) {
        let mut p = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        match (hold, p.1) {
            (true, None) => p.1 = Some(Instant::now()),
            (false, Some(since)) => {
                p.0 += since.elapsed();
                p.1 = None;
            }
            _ => {}
        }
    }

    /// Waits until the simulated clock shows `sim`.
    pub async fn sleep_until(&self, sim: f64) {
        loop {
            let left = sim - self.now();
            if left <= 0.0 {
                return;
            }
            // Re-read at least every 50 ms: the clock may stop or go on meanwhile.
            let wait = Duration::from_secs_f64(left * self.scale).min(Duration::from_millis(50));
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_clock_stands_still_and_goes_on_where_it_stopped() {
        // A clock where a real microsecond is a simulated minute, so any real time
        // that passes shows.
        let c = SimClock::new(1e-6, 480.0);
        c.hold(true);
        let a = c.now();
        // However long this takes, a held clock reads the same.
        let held_from = Instant::now();
        while held_from.elapsed() < Duration::from_micros(50) {
            std::hint::spin_loop();
        }
        let b = c.now();
        assert!((b - a).abs() < 1e-9, "{a} {b}");
        c.hold(false);
        let going = Instant::now();
        while c.now() <= b + 10.0 {
            assert!(
                going.elapsed() < Duration::from_secs(10),
                "the clock stayed still"
            );
            std::hint::spin_loop();
        }
        assert!(c.paused_total() >= Duration::from_micros(50));
    }
}
