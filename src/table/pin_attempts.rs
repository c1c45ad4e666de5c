//! Limits on guessing the valgsekretær's PIN. A four-digit PIN has 10 000 values; without
//! a limit someone at the kiosk (or any page its browser opens) tries them all in an
//! afternoon. After a few wrong PINs each further attempt waits longer, and after many
//! the PIN is locked for a quarter of an hour; the right PIN resets the count.
//!
//! Kept apart from the table's lock and from argon2: [`PinAttempts`] is pure (the time
//! is passed in, so its tests need no clock and no sleeps), and [`PinGate`] lets only one
//! PIN check run at a time, so parallel guesses can neither multiply the rate nor fill
//! the blocking threads that scans need.

use crate::attempt_limit::{Policy, plural};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock, TryLockError};
use std::time::{Duration, Instant};

/// Wrong PINs in a row that are free of any delay (a slip of the finger).
pub const FREE_ATTEMPTS: u32 = 3;
/// The delay after the first wrong PIN beyond the free ones; doubles with each more.
pub const FIRST_DELAY: Duration = Duration::from_secs(5);
/// The longest delay before the lockout.
pub const MAX_DELAY: Duration = Duration::from_secs(5 * 60);
/// Wrong PINs in a row that lock the PIN for [`LOCKOUT`].
pub const LOCKOUT_AFTER: u32 = 10;
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);

/// The schedule above, as `attempt_limit` applies it.
const POLICY: Policy = Policy {
    free: FREE_ATTEMPTS,
    first_delay: FIRST_DELAY,
    max_delay: MAX_DELAY,
    lockout_after: LOCKOUT_AFTER,
    lockout: LOCKOUT,
};

/// Why an attempt is not checked now: the Danish text for the screen, the English for
/// the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    pub danish: String,
    pub english: String,
}

/// The count of wrong PINs in a row and until when the next attempt must wait.
#[derive(Debug, Default)]
pub struct PinAttempts {
    wrong: u32,
    blocked_until: Option<Instant>,
}

impl PinAttempts {
    /// May a PIN be checked at `now`? An attempt during a delay or lockout is refused
    /// without being checked (so even the right PIN waits) and does not count.
    pub fn check(&self, now: Instant) -> Result<(), Wait> {
        match self.blocked_until {
            Some(until) if now < until => Err(self.wait_text(until - now)),
            _ => Ok(()),
        }
    }

    /// Records the outcome of a checked PIN at `now`. Returns, for a wrong PIN, the
    /// Danish sentence to show after "Forkert PIN." when the next attempt must wait.
    pub fn record(&mut self, right: bool, now: Instant) -> Option<Wait> {
        if right {
            *self = PinAttempts::default();
            return None;
        }
        self.wrong = self.wrong.saturating_add(1);
        let delay = delay_after(self.wrong)?;
        self.blocked_until = Some(now + delay);
        Some(self.wait_text(delay))
    }

    /// The count and the end of the wait as wall-clock ms, for the database: an
    /// `Instant` means nothing after a restart.
    pub fn to_wall(&self, now: Instant, wall_ms: i64) -> (u32, Option<i64>) {
        let until = self
            .blocked_until
            .map(|u| wall_ms + u.saturating_duration_since(now).as_millis() as i64);
        (self.wrong, until)
    }

    /// The attempts as [`Self::to_wall`] saved them, at `now` (wall clock `wall_ms`).
    pub fn from_wall(wrong: u32, until_ms: Option<i64>, now: Instant, wall_ms: i64) -> Self {
        let blocked_until = until_ms
            .filter(|u| *u > wall_ms)
            .map(|u| now + Duration::from_millis((u - wall_ms) as u64));
        PinAttempts {
            wrong,
            blocked_until,
        }
    }

    fn wait_text(&self, left: Duration) -> Wait {
        if self.wrong >= LOCKOUT_AFTER {
            let minutes = left.as_secs().div_ceil(60).max(1);
            Wait {
                danish: format!(
                    "PIN er låst i {} minutter efter {} forkerte forsøg: prøv igen om {}. Valgstyreren kan genstarte bordet, hvis PIN'en skal bruges før.",
                    LOCKOUT.as_secs() / 60,
                    self.wrong,
                    plural(minutes, "minut", "minutter")
                ),
                english: format!(
                    "valgsekretær PIN locked after {} wrong attempts in a row; {} s left",
                    self.wrong,
                    left.as_secs()
                ),
            }
        } else {
            let seconds = left.as_secs_f64().ceil().max(1.0) as u64;
            Wait {
                danish: format!(
                    "For mange forsøg: prøv igen om {}.",
                    plural(seconds, "sekund", "sekunder")
                ),
                english: format!(
                    "valgsekretær PIN: {} wrong attempts in a row; next attempt in {seconds} s",
                    self.wrong
                ),
            }
        }
    }
}

fn wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The wait after `wrong` wrong PINs in a row: none for the first few, then 5 s
/// doubling up to [`MAX_DELAY`], then the lockout.
fn delay_after(wrong: u32) -> Option<Duration> {
    POLICY.delay_after(wrong)
}

/// One table's PIN attempts, shared by every screen that asks for the PIN, with a gate
/// that lets one check run at a time.
#[derive(Debug, Default)]
pub struct PinGate {
    attempts: Mutex<PinAttempts>,
    busy: Mutex<()>,
    /// The table's database, where every outcome is kept (see [`Self::keep_in`]).
    database: OnceLock<PathBuf>,
}

impl PinGate {
    /// Runs `check` (the argon2 verification, slow on purpose) if no other PIN check is
    /// running and the attempts allow one now; records its outcome. `Err` carries what
    /// to tell the person: wait, or wrong PIN (and how long to wait before the next).
    pub fn attempt(&self, check: impl FnOnce() -> bool) -> Result<(), Wait> {
        let _busy = match self.busy.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => {
                return Err(Wait {
                    danish: "Vent et øjeblik: en anden PIN bliver kontrolleret.".into(),
                    english: "valgsekretær PIN attempt refused: another check is running".into(),
                });
            }
        };
        self.attempts().check(Instant::now())?;
        let right = check();
        let recorded = self.attempts().record(right, Instant::now());
        self.save();
        match recorded {
            _ if right => Ok(()),
            Some(wait) => Err(Wait {
                danish: format!("Forkert PIN. {}", wait.danish),
                english: format!("wrong valgsekretær PIN; {}", wait.english),
            }),
            None => Err(Wait {
                danish: "Forkert PIN.".into(),
                english: "wrong valgsekretær PIN".into(),
            }),
        }
    }

    /// Restores the attempts saved in `database` and keeps every later outcome there,
    /// so a restart of the table resets no delay or lockout.
    pub fn keep_in(&self, database: PathBuf, saved: Option<(u32, Option<i64>)>) {
        if let Some((wrong, until)) = saved {
            *self.attempts() = PinAttempts::from_wall(wrong, until, Instant::now(), wall_ms());
        }
        let _ = self.database.set(database);
    }

    /// Writes the attempts to the database, if the gate keeps them there. A failure is
    /// logged: the limits still hold until the table restarts.
    fn save(&self) {
        let Some(db) = self.database.get() else {
            return;
        };
        let (wrong, until) = self.attempts().to_wall(Instant::now(), wall_ms());
        if let Err(e) = crate::store::meta::save_pin_attempts(db, wrong, until) {
            tracing::error!("PIN attempts not saved in {}: {e}", db.display());
        }
    }

    fn attempts(&self) -> std::sync::MutexGuard<'_, PinAttempts> {
        self.attempts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrong(a: &mut PinAttempts, at: Instant) -> Option<Wait> {
        a.check(at).expect("allowed");
        a.record(false, at)
    }

    #[test]
    fn a_few_slips_cost_nothing_then_the_wait_doubles() {
        let t0 = Instant::now();
        let mut a = PinAttempts::default();
        assert_eq!(wrong(&mut a, t0), None);
        assert_eq!(wrong(&mut a, t0), None);
        let w = wrong(&mut a, t0).expect("a wait after the third");
        assert_eq!(w.danish, "For mange forsøg: prøv igen om 5 sekunder.");
        // Even the right PIN is not checked during the wait, and the refusal says how
        // long is left.
        let e = a.check(t0 + Duration::from_secs(2)).unwrap_err();
        assert_eq!(e.danish, "For mange forsøg: prøv igen om 3 sekunder.");
        let t1 = t0 + Duration::from_secs(5);
        let w = wrong(&mut a, t1).expect("wait");
        assert!(w.danish.contains("10 sekunder"), "{}", w.danish);
        let t2 = t1 + Duration::from_secs(10);
        let w = wrong(&mut a, t2).expect("wait");
        assert!(w.danish.contains("20 sekunder"), "{}", w.danish);
        assert!(a.check(t2 + Duration::from_secs(19)).is_err());
        assert!(a.check(t2 + Duration::from_secs(20)).is_ok());
    }

    #[test]
    fn ten_wrong_in_a_row_lock_for_a_quarter_of_an_hour() {
        let mut t = Instant::now();
        let mut a = PinAttempts::default();
        let mut last = None;
        for _ in 0..LOCKOUT_AFTER {
            last = wrong(&mut a, t);
            t += MAX_DELAY;
        }
        let w = last.expect("locked");
        assert!(
            w.danish
                .starts_with("PIN er låst i 15 minutter efter 10 forkerte forsøg"),
            "{}",
            w.danish
        );
        let locked_at = t - MAX_DELAY;
        let e = a
            .check(locked_at + Duration::from_secs(14 * 60))
            .unwrap_err();
        assert!(e.danish.contains("prøv igen om 1 minut."), "{}", e.danish);
        assert!(a.check(locked_at + LOCKOUT).is_ok());
        // One more wrong PIN after the lockout locks again at once.
        assert!(
            wrong(&mut a, locked_at + LOCKOUT)
                .expect("locked again")
                .danish
                .starts_with("PIN er låst")
        );
    }

    #[test]
    fn the_delays_are_capped_below_the_lockout() {
        assert_eq!(delay_after(FREE_ATTEMPTS - 1), None);
        assert_eq!(delay_after(FREE_ATTEMPTS), Some(FIRST_DELAY));
        assert_eq!(delay_after(LOCKOUT_AFTER - 1), Some(MAX_DELAY));
        assert_eq!(delay_after(LOCKOUT_AFTER), Some(LOCKOUT));
        assert_eq!(delay_after(u32::MAX), Some(LOCKOUT));
    }

    #[test]
    fn a_wait_saved_as_wall_clock_is_restored() {
        let t = Instant::now();
        let mut a = PinAttempts::default();
        for _ in 0..FREE_ATTEMPTS {
            wrong(&mut a, t);
        }
        let (w, until) = a.to_wall(t, 1_000_000);
        assert_eq!((w, until), (FREE_ATTEMPTS, Some(1_005_000)));
        // Restored 2 s later (wall clock and a new process's Instant).
        let later = Instant::now();
        let b = PinAttempts::from_wall(w, until, later, 1_002_000);
        let e = b.check(later).unwrap_err();
        assert_eq!(e.danish, "For mange forsøg: prøv igen om 3 sekunder.");
        assert!(
            PinAttempts::from_wall(w, until, later, 1_005_000)
                .check(later)
                .is_ok()
        );
    }

    #[test]
    fn the_right_pin_resets_the_count() {
        let t = Instant::now();
        let mut a = PinAttempts::default();
        wrong(&mut a, t);
        wrong(&mut a, t);
        a.record(true, t);
        assert_eq!(wrong(&mut a, t), None);
        assert_eq!(wrong(&mut a, t), None);
    }

    #[test]
    fn a_second_check_while_one_runs_is_turned_away() {
        let gate = PinGate::default();
        let inner = gate.attempt(|| {
            let e = gate.attempt(|| true).unwrap_err();
            assert!(e.danish.starts_with("Vent et øjeblik"), "{}", e.danish);
            false
        });
        assert_eq!(inner.unwrap_err().danish, "Forkert PIN.");
        assert!(gate.attempt(|| true).is_ok());
    }
}
