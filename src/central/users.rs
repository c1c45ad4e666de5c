//! Who may read the election office screen: users from the configuration, each with an
//! argon2-hashed password and a role, and sessions that lapse when idle. A login is
//! checked within the limits of `login_limit`, and at most [`CHECKS_AT_ONCE`] passwords
//! are checked at a time: argon2 takes 19 MiB and tens of milliseconds on purpose, so a
//! crowd of logins must queue rather than take the central's memory and cores.

use super::clock::Clock;
use super::config::{Role, UserEntry};
use super::login_limit::{LoginLimit, Wait};
use super::password_checks::{NotRun, PasswordChecks};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Password checks that may run at once.
pub const CHECKS_AT_ONCE: usize = 2;
/// How long a login waits for its turn before it is turned away.
const TURN_WAIT: Duration = Duration::from_secs(3);

/// Why a login did not open a session.
#[derive(Debug)]
pub enum LoginError {
    /// Wrong user name or password; the wait it set, if any.
    Wrong(Option<Wait>),
    /// Not checked: too many wrong passwords before.
    Wait(Wait),
    /// Not checked: too many logins at once.
    Busy,
    /// The check could not run (a panicked thread, no randomness for the token).
    Internal(String),
}

/// A session lapses after this long unused. The dashboard refreshes itself every few
/// seconds, so an open screen stays logged in; a closed one does not.
pub const IDLE: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Session {
    pub user: String,
    pub role: Role,
}

pub struct Users {
    users: Vec<UserEntry>,
    sessions: Mutex<HashMap<String, (Instant, Session)>>,
    limit: LoginLimit,
    checks: PasswordChecks,
}

impl Users {
    pub fn new(users: Vec<UserEntry>) -> Users {
        Users {
            users,
            sessions: Mutex::new(HashMap::new()),
            limit: LoginLimit::default(),
            checks: PasswordChecks::new(CHECKS_AT_ONCE, TURN_WAIT),
        }
    }

    /// A login of `name` from `from` (when known), timed by `clock`: within the attempt
    /// limits, the check on a thread of `password_checks` when one is free. The same
    /// answer for an unknown user and a wrong password, so names cannot be probed.
    pub async fn login(
        self: &Arc<Self>,
        name: &str,
        password: &str,
        from: Option<IpAddr>,
        clock: &Clock,
    ) -> Result<(String, Session), LoginError> {
        let known = self.users.iter().any(|u| u.name == name).then_some(name);
        self.limit
            .check(known, from, clock.now_ms())
            .map_err(LoginError::Wait)?;
        let (me, n, p) = (self.clone(), name.to_string(), password.to_string());
        let (k, now) = (known.map(str::to_string), clock.now_ms());
        let opened = self
            .checks
            .run(move || {
                // Again on the checker: guesses sent side by side must not all pass the
                // check made before any of them was counted.
                me.limit.check(k.as_deref(), from, now)?;
                Ok(me.check_password(&n, &p))
            })
            .await
            .map_err(|e| match e {
                NotRun::Busy => LoginError::Busy,
                NotRun::Broken => LoginError::Internal("the password check failed".into()),
            })?
            .map_err(LoginError::Wait)?;
        let wait = self
            .limit
            .record(known, from, opened.is_some(), clock.now_ms());
        opened.ok_or(LoginError::Wrong(wait))?
    }

    /// The argon2 check, and a session when it passes (`None`: wrong name or password).
    fn check_password(
        &self,
        name: &str,
        password: &str,
    ) -> Option<Result<(String, Session), LoginError>> {
        let user = self.users.iter().find(|u| u.name == name);
        // Verify against some hash even for an unknown user, so both take as long.
        let hash = user.map_or(DUMMY_HASH, |u| u.password.as_str());
        let ok = crate::password::verify_pin(password, hash);
        let user = user.filter(|_| ok)?;
        let mut raw = [0u8; 24];
        if let Err(e) = getrandom::getrandom(&mut raw) {
            return Some(Err(LoginError::Internal(format!(
                "no random session token: {e}"
            ))));
        }
        let token = hex::encode(raw);
        let session = Session {
            user: user.name.clone(),
            role: user.role,
        };
        self.lock()
            .insert(token.clone(), (Instant::now(), session.clone()));
        Some(Ok((token, session)))
    }

    /// The session of a token, refreshed; lapsed sessions are dropped.
    pub fn session(&self, token: &str) -> Option<Session> {
        let mut s = self.lock();
        let now = Instant::now();
        s.retain(|_, (seen, _)| now.duration_since(*seen) < IDLE);
        let e = s.get_mut(token)?;
        e.0 = now;
        Some(e.1.clone())
    }

    pub fn logout(&self, token: &str) {
        self.lock().remove(token);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Session)>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An argon2 hash of nothing anyone knows, verified against for unknown user names.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$N0mdvF5tTJ3ycJOJ4J2lvKfpWeaP2tb0dGSkyl0Hc2A";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn right_password_opens_a_session_wrong_does_not() {
        let u = Arc::new(Users::new(vec![UserEntry {
            name: "kontor".into(),
            password: crate::password::hash_pin("hemmelig").unwrap(),
            role: Role::Read,
        }]));
        let clock = Clock::new(0, true);
        let from = Some(IpAddr::from([10, 0, 0, 1]));
        assert!(matches!(
            u.login("kontor", "forkert", from, &clock).await,
            Err(LoginError::Wrong(None))
        ));
        assert!(matches!(
            u.login("ukendt", "hemmelig", from, &clock).await,
            Err(LoginError::Wrong(None))
        ));
        let (token, s) = u.login("kontor", "hemmelig", from, &clock).await.unwrap();
        assert_eq!(s.role, Role::Read);
        assert_eq!(u.session(&token), Some(s));
        u.logout(&token);
        assert_eq!(u.session(&token), None);
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
