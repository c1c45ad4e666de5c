//! Limits on guessing the election office's passwords. The central is reachable from the
//! municipality's network, so without a limit a password falls to patience. Two counts:
//! per user (wrong passwords in a row for that name; the right one resets it) and per
//! source address (wrong passwords for any name, so one address cannot try one guess
//! against every user). The right password does not reset an address's count: an
//! attacker who knows one account must not launder guesses through it. A count that has
//! not grown for an hour starts again.
//!
//! Times are milliseconds of the central's clock (`central::clock`), which a rehearsal or
//! a test can move, so the delays are tested without sleeping.

use crate::attempt_limit::{Policy, danish_wait};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

/// Per user: five slips free, then 5 s doubling to 5 min, locked for 15 min after ten.
pub const PER_USER: Policy = Policy {
    free: 5,
    first_delay: Duration::from_secs(5),
    max_delay: Duration::from_secs(5 * 60),
    lockout_after: 10,
    lockout: Duration::from_secs(15 * 60),
};

/// Per address: more room (an office behind one NAT address), the same growth.
pub const PER_ADDRESS: Policy = Policy {
    free: 15,
    first_delay: Duration::from_secs(5),
    max_delay: Duration::from_secs(5 * 60),
    lockout_after: 40,
    lockout: Duration::from_secs(15 * 60),
};

/// A count not added to for this long starts again from nothing.
const FORGET_MS: i64 = 60 * 60_000;
/// Addresses remembered; beyond it the counts no longer waiting are dropped first.
const MAX_ADDRESSES: usize = 4096;

/// Why a login is not checked now, or what follows a wrong password: Danish for the
/// screen, English for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    pub danish: String,
    pub english: String,
}

#[derive(Debug, Default, Clone, Copy)]
struct Count {
    wrong: u32,
    last_ms: i64,
    until_ms: i64,
}

impl Count {
    fn left(&self, now_ms: i64) -> Option<Duration> {
        (self.until_ms > now_ms).then(|| Duration::from_millis((self.until_ms - now_ms) as u64))
    }

    /// One more wrong password at `now_ms`; the wait it sets, if any.
    fn wrong(&mut self, now_ms: i64, policy: &Policy) -> Option<Duration> {
        if now_ms - self.last_ms > FORGET_MS {
            self.wrong = 0;
        }
        self.wrong = self.wrong.saturating_add(1);
        self.last_ms = now_ms;
        let delay = policy.delay_after(self.wrong)?;
        self.until_ms = now_ms.saturating_add(delay.as_millis() as i64);
        Some(delay)
    }
}

/// Who is counted: the user by name (only names of the configuration, so invented names
/// cannot fill memory) and the address (an IPv6 address by its /64, which one host holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    V4(std::net::Ipv4Addr),
    V6(u64),
}

fn source(ip: IpAddr) -> Source {
    match ip {
        IpAddr::V4(a) => Source::V4(a),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => Source::V4(v4),
            None => Source::V6((u128::from(a) >> 64) as u64),
        },
    }
}

#[derive(Debug, Default)]
pub struct LoginLimit {
    users: Mutex<HashMap<String, Count>>,
    addresses: Mutex<HashMap<Source, Count>>,
}

impl LoginLimit {
    /// May a password for `user` (a configured name, or `None`) from `from` be checked at
    /// `now_ms`? During a wait even the right password is not checked.
    pub fn check(&self, user: Option<&str>, from: Option<IpAddr>, now_ms: i64) -> Result<(), Wait> {
        if let Some(name) = user
            && let Some(c) = lock(&self.users).get(name)
            && let Some(left) = c.left(now_ms)
        {
            return Err(user_wait(name, c, left));
        }
        if let Some(ip) = from
            && let Some(c) = lock(&self.addresses).get(&source(ip))
            && let Some(left) = c.left(now_ms)
        {
            return Err(address_wait(ip, c, left));
        }
        Ok(())
    }

    /// Records a checked password. For a wrong one, the wait it sets (the longer of the
    /// user's and the address's), to say after "Forkert brugernavn eller adgangskode.".
    pub fn record(
        &self,
        user: Option<&str>,
        from: Option<IpAddr>,
        right: bool,
        now_ms: i64,
    ) -> Option<Wait> {
        if right {
            if let Some(name) = user {
                lock(&self.users).remove(name);
            }
            return None;
        }
        let mut wait: Option<(Duration, Wait)> = None;
        if let Some(name) = user {
            let mut users = lock(&self.users);
            let c = users.entry(name.to_string()).or_default();
            if let Some(d) = c.wrong(now_ms, &PER_USER) {
                wait = Some((d, user_wait(name, c, d)));
            }
        }
        if let Some(ip) = from {
            let mut addresses = lock(&self.addresses);
            if addresses.len() >= MAX_ADDRESSES {
                addresses.retain(|_, c| c.left(now_ms).is_some());
            }
            if addresses.len() < MAX_ADDRESSES {
                let c = addresses.entry(source(ip)).or_default();
                if let Some(d) = c.wrong(now_ms, &PER_ADDRESS)
                    && wait.as_ref().is_none_or(|(w, _)| d > *w)
                {
                    wait = Some((d, address_wait(ip, c, d)));
                }
            } else {
                tracing::warn!(%ip, "login limits: too many addresses waiting; this one is not counted");
            }
        }
        wait.map(|(_, w)| w)
    }
}

fn user_wait(name: &str, c: &Count, left: Duration) -> Wait {
    let locked = if PER_USER.locks(c.wrong) {
        format!(
            " Brugeren er låst efter {} forkerte forsøg i træk.",
            c.wrong
        )
    } else {
        String::new()
    };
    Wait {
        danish: format!(
            "For mange forkerte forsøg for brugeren {name}: prøv igen om {}.{locked}",
            danish_wait(left)
        ),
        english: format!(
            "login for user \"{name}\" refused: {} wrong passwords in a row; next attempt in {} s",
            c.wrong,
            left.as_secs_f64().ceil()
        ),
    }
}

fn address_wait(ip: IpAddr, c: &Count, left: Duration) -> Wait {
    Wait {
        danish: format!(
            "For mange forkerte forsøg fra denne adresse: prøv igen om {}.",
            danish_wait(left)
        ),
        english: format!(
            "login from {ip} refused: {} wrong passwords from this address; next attempt in {} s",
            c.wrong,
            left.as_secs_f64().ceil()
        ),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000_000;
    const MIN: i64 = 60_000;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn a_user_waits_after_five_wrong_and_is_locked_after_ten() {
        let l = LoginLimit::default();
        let from = ip("10.0.0.1");
        for i in 1..5 {
            assert!(l.check(Some("kontor"), from, T0).is_ok());
            assert_eq!(l.record(Some("kontor"), from, false, T0 + i), None);
        }
        let w = l
            .record(Some("kontor"), from, false, T0 + 5)
            .expect("a wait");
        assert_eq!(
            w.danish,
            "For mange forkerte forsøg for brugeren kontor: prøv igen om 5 sekunder."
        );
        // Even the right password waits; then it is checked and resets the count.
        assert!(l.check(Some("kontor"), from, T0 + 1_000).is_err());
        assert!(l.check(Some("andre"), from, T0 + 1_000).is_ok());
        assert!(l.check(Some("kontor"), from, T0 + 5_005).is_ok());
        let mut t = T0 + 6 * MIN;
        for _ in 6..=10 {
            l.record(Some("kontor"), from, false, t);
            t += 6 * MIN;
        }
        let locked_at = t - 6 * MIN;
        let e = l.check(Some("kontor"), from, locked_at + MIN).unwrap_err();
        assert!(
            e.danish
                .contains("prøv igen om 14 minutter. Brugeren er låst"),
            "{}",
            e.danish
        );
        assert!(l.check(Some("kontor"), from, locked_at + 15 * MIN).is_ok());
        l.record(Some("kontor"), from, true, locked_at + 15 * MIN);
        assert_eq!(
            l.record(Some("kontor"), from, false, locked_at + 16 * MIN),
            None
        );
    }

    #[test]
    fn one_address_against_many_names_waits_and_the_right_password_does_not_clear_it() {
        let l = LoginLimit::default();
        let from = ip("2001:db8::7");
        let mut last = None;
        for i in 0..15 {
            last = l.record(None, from, false, T0 + i * MIN);
        }
        let w = last.expect("a wait after 15 wrong");
        assert!(
            w.danish
                .starts_with("For mange forkerte forsøg fra denne adresse")
        );
        // Another host of the same /64 is the same source; another network is not.
        assert!(l.check(None, ip("2001:db8::8"), T0 + 14 * MIN + 1).is_err());
        assert!(l.check(None, ip("10.0.0.2"), T0 + 14 * MIN + 1).is_ok());
        l.record(Some("kontor"), from, true, T0 + 15 * MIN);
        assert!(l.record(None, from, false, T0 + 16 * MIN).is_some());
        // An hour without a wrong password forgets the count.
        assert_eq!(l.record(None, from, false, T0 + 80 * MIN), None);
    }
}
