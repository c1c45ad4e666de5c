//! Telling a press of the confirm button from contact bounce.
//!
//! The pin is sampled rather than interrupt-driven: an edge interrupt with a debounce
//! time still fires on the bounces when the button is *released* after a long press,
//! which would confirm a second voter. Requiring the level to stay put for the whole
//! debounce time takes care of both ends of a press.

use std::time::{Duration, Instant};

/// How long the level must hold before it counts.
pub const DEBOUNCE: Duration = Duration::from_millis(50);

/// How often the pin is read: 200 reads a second, well under 1 % of a Pi core.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(5);

#[derive(Debug)]
pub struct Debouncer {
    hold: Duration,
    /// The accepted level; unknown until the first sample, so a button held down while
    /// the daemon starts is not a press.
    stable: Option<bool>,
    candidate: bool,
    since: Instant,
}

impl Debouncer {
    pub fn new(hold: Duration, now: Instant) -> Self {
        Debouncer {
            hold,
            stable: None,
            candidate: false,
            since: now,
        }
    }

    /// Feeds one reading (true = pressed). True exactly once per press, when the press
    /// has held for the debounce time.
    pub fn sample(&mut self, pressed: bool, now: Instant) -> bool {
        let Some(stable) = self.stable else {
            self.stable = Some(pressed);
            self.candidate = pressed;
            self.since = now;
            return false;
        };
        if pressed != self.candidate {
            self.candidate = pressed;
            self.since = now;
            return false;
        }
        if pressed != stable && now.duration_since(self.since) >= self.hold {
            self.stable = Some(pressed);
            return pressed;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Feeds `levels` one per 5 ms; returns the times (ms) of accepted presses.
    fn presses(levels: &[bool]) -> Vec<u32> {
        let t = Instant::now();
        let mut d = Debouncer::new(DEBOUNCE, t);
        (0u32..)
            .zip(levels)
            .filter(|&(i, &l)| d.sample(l, t + 5 * i * MS))
            .map(|(i, _)| 5 * i)
            .collect()
    }

    fn level(pattern: &[(bool, usize)]) -> Vec<bool> {
        pattern
            .iter()
            .flat_map(|&(l, n)| std::iter::repeat_n(l, n))
            .collect()
    }

    #[test]
    fn a_bouncy_press_and_release_count_once() {
        let l = level(&[
            (false, 20),
            (true, 1),
            (false, 1),
            (true, 2),
            (false, 1),
            (true, 100), // held half a second
            (false, 1),
            (true, 1), // release bounce
            (false, 40),
        ]);
        assert_eq!(presses(&l), vec![5 * (20 + 1 + 1 + 2 + 1 + 10)]);
    }

    #[test]
    fn a_glitch_shorter_than_the_debounce_is_ignored() {
        let l = level(&[(false, 10), (true, 9), (false, 20)]);
        assert!(presses(&l).is_empty());
    }

    #[test]
    fn two_real_presses_count_twice_and_held_at_start_counts_not() {
        let l = level(&[(true, 30), (false, 30), (true, 20), (false, 20), (true, 20)]);
        assert_eq!(presses(&l), vec![5 * (60 + 10), 5 * (100 + 10)]);
    }
}
