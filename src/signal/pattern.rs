//! When the lights blink and the buzzer sounds, apart from which pins do it, so the
//! timing can be tested off a Pi.
//!
//! [`Light::Pending`] lights both LEDs and blinks them together at 2 Hz. A steady green
//! alone must only ever mean "hand out ballots", and a hurried tilforordnet could take a
//! blinking green for that; both LEDs blinking (amber on a two-colour LED) cannot be
//! confused with either answer and draws the eye to the screen.

use super::{Buzz, Light};
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Half a blink period of [`Light::Pending`].
pub const BLINK: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Green,
    Red,
    Buzzer,
}

/// The physical side: switches one output on or off.
pub trait Outputs {
    fn set(&mut self, output: Output, on: bool);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Light(Light),
    Buzz(Buzz),
}

/// Buzzer on/off steps of a pattern; it ends off.
fn steps(buzz: Buzz) -> &'static [(bool, Duration)] {
    const SHORT: Duration = Duration::from_millis(100);
    const OK: [(bool, Duration); 1] = [(true, Duration::from_millis(120))];
    const REFUSED: [(bool, Duration); 5] = [
        (true, SHORT),
        (false, SHORT),
        (true, SHORT),
        (false, SHORT),
        (true, SHORT),
    ];
    match buzz {
        Buzz::Ok => &OK,
        Buzz::Refused => &REFUSED,
    }
}

/// The state of the lights and the buzzer between two moments something changes.
#[derive(Debug)]
pub struct Patterns {
    light: Light,
    blink_on: bool,
    next_blink: Option<Instant>,
    buzz_left: VecDeque<(bool, Duration)>,
    next_buzz: Option<Instant>,
}

impl Default for Patterns {
    fn default() -> Self {
        Patterns {
            light: Light::Off,
            blink_on: false,
            next_blink: None,
            buzz_left: VecDeque::new(),
            next_buzz: None,
        }
    }
}

impl Patterns {
    pub fn command(&mut self, cmd: Command, now: Instant, outs: &mut impl Outputs) {
        match cmd {
            Command::Light(light) => {
                self.light = light;
                let (green, red) = match light {
                    Light::Off => (false, false),
                    Light::Green => (true, false),
                    Light::Red => (false, true),
                    Light::Pending => (true, true),
                };
                outs.set(Output::Green, green);
                outs.set(Output::Red, red);
                self.blink_on = light == Light::Pending;
                self.next_blink = (light == Light::Pending).then(|| now + BLINK);
            }
            Command::Buzz(buzz) => {
                // A new pattern replaces one still playing: it answers the newer scan.
                self.buzz_left = steps(buzz).iter().copied().collect();
                self.next_buzz = Some(now);
                self.tick(now, outs);
            }
        }
    }

    /// Carries out whatever is due at `now`.
    pub fn tick(&mut self, now: Instant, outs: &mut impl Outputs) {
        while let Some(at) = self.next_blink.filter(|at| *at <= now) {
            self.blink_on = !self.blink_on;
            outs.set(Output::Green, self.blink_on);
            outs.set(Output::Red, self.blink_on);
            self.next_blink = Some(at + BLINK);
        }
        while let Some(at) = self.next_buzz.filter(|at| *at <= now) {
            match self.buzz_left.pop_front() {
                Some((on, length)) => {
                    outs.set(Output::Buzzer, on);
                    self.next_buzz = Some(at + length);
                }
                None => {
                    outs.set(Output::Buzzer, false);
                    self.next_buzz = None;
                }
            }
        }
    }

    /// When [`Patterns::tick`] next has something to do.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.next_blink, self.next_buzz) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn light(&self) -> Light {
        self.light
    }
}

/// Runs commands until every sender is gone, then switches everything off.
pub fn run(commands: Receiver<Command>, mut outs: impl Outputs) {
    let mut p = Patterns::default();
    loop {
        let msg = match p.deadline() {
            Some(at) => commands.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => commands.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let now = Instant::now();
        match msg {
            Ok(cmd) => p.command(cmd, now, &mut outs),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        p.tick(now, &mut outs);
    }
    for o in [Output::Green, Output::Red, Output::Buzzer] {
        outs.set(o, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Records the level of every output after each change.
    #[derive(Default, Clone)]
    struct Rec {
        on: [bool; 3],
        log: Arc<Mutex<Vec<[bool; 3]>>>,
    }

    impl Outputs for Rec {
        fn set(&mut self, output: Output, on: bool) {
            let i = output as usize;
            if self.on[i] != on {
                self.on[i] = on;
                self.log.lock().unwrap().push(self.on);
            }
        }
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn lights_are_steady_except_pending_which_blinks_both() {
        let mut p = Patterns::default();
        let mut r = Rec::default();
        let t = Instant::now();
        p.command(Command::Light(Light::Green), t, &mut r);
        assert_eq!(r.on, [true, false, false]);
        assert_eq!(p.deadline(), None);
        p.command(Command::Light(Light::Red), t, &mut r);
        assert_eq!(r.on, [false, true, false]);
        p.command(Command::Light(Light::Pending), t, &mut r);
        assert_eq!(r.on, [true, true, false]);
        p.tick(t + 249 * MS, &mut r);
        assert_eq!(r.on, [true, true, false]);
        p.tick(t + 250 * MS, &mut r);
        assert_eq!(r.on, [false, false, false]);
        p.tick(t + 500 * MS, &mut r);
        assert_eq!(r.on, [true, true, false]);
        // A late tick catches up without drifting.
        p.tick(t + 1000 * MS, &mut r);
        assert_eq!(p.deadline(), Some(t + 1250 * MS));
        p.command(Command::Light(Light::Off), t + 1100 * MS, &mut r);
        assert_eq!(r.on, [false, false, false]);
        assert_eq!(p.deadline(), None);
        assert_eq!(p.light(), Light::Off);
    }

    #[test]
    fn refused_is_three_beeps_and_a_new_buzz_replaces_it() {
        let mut p = Patterns::default();
        let mut r = Rec::default();
        let t = Instant::now();
        p.command(Command::Buzz(Buzz::Refused), t, &mut r);
        let mut beeps = 0;
        let mut was_on = false;
        for ms in 0..1000 {
            p.tick(t + ms * MS, &mut r);
            if r.on[2] && !was_on {
                beeps += 1;
            }
            was_on = r.on[2];
        }
        assert_eq!(beeps, 3);
        assert!(!r.on[2]);
        assert_eq!(p.deadline(), None);

        p.command(Command::Buzz(Buzz::Refused), t, &mut r);
        p.command(Command::Buzz(Buzz::Ok), t + 50 * MS, &mut r);
        assert!(r.on[2]);
        p.tick(t + 169 * MS, &mut r);
        assert!(r.on[2]);
        p.tick(t + 170 * MS, &mut r);
        assert!(!r.on[2]);
        p.tick(t + 2000 * MS, &mut r);
        assert!(!r.on[2]);
    }

    #[test]
    fn the_worker_thread_plays_without_blocking_and_switches_off_at_the_end() {
        let rec = Rec::default();
        let log = rec.log.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = std::thread::spawn(move || run(rx, rec));
        // The check-in path only sends on an unbounded channel: it never waits for
        // the buzzer (no time is asserted; a loaded machine may pause any thread).
        tx.send(Command::Light(Light::Green)).unwrap();
        tx.send(Command::Buzz(Buzz::Ok)).unwrap();
        // Wait until the worker has played the buzz and switched it off, green still on.
        let played = || {
            let log = log.lock().unwrap();
            // Green alone comes first too: the buzzer must go on and then off again.
            log.iter()
                .position(|s| *s == [true, false, true])
                .is_some_and(|on| log[on..].contains(&[true, false, false]))
        };
        let deadline = Instant::now() + 10_000 * MS;
        while !played() {
            assert!(Instant::now() < deadline, "the buzz did not play");
            std::thread::sleep(MS);
        }
        tx.send(Command::Light(Light::Red)).unwrap();
        drop(tx);
        worker.join().unwrap();
        let log = log.lock().unwrap().clone();
        assert!(log.contains(&[true, false, true]), "{log:?}");
        assert!(log.contains(&[true, false, false]), "{log:?}");
        assert!(log.contains(&[false, true, false]), "{log:?}");
        assert_eq!(log.last(), Some(&[false, false, false]));
    }
}
