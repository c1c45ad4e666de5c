//! Who may read the election office screen: users from the configuration, each with an
//! argon2-hashed password and a role, and sessions that lapse when idle.

use super::config::{Role, UserEntry};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
}

impl Users {
    pub fn new(users: Vec<UserEntry>) -> Users {
        Users {
            users,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Checks the password and opens a session: (token, session). The same answer for
    /// an unknown user and a wrong password, so names cannot be probed.
    pub fn login(&self, name: &str, password: &str) -> Option<(String, Session)> {
        let user = self.users.iter().find(|u| u.name == name);
        // Verify against some hash even for an unknown user, so both take as long.
        let hash = user.map_or(DUMMY_HASH, |u| u.password.as_str());
        let ok = crate::password::verify_pin(password, hash);
        let user = user.filter(|_| ok)?;
        let mut raw = [0u8; 24];
        getrandom::getrandom(&mut raw).ok()?;
        let token = hex::encode(raw);
        let session = Session {
            user: user.name.clone(),
            role: user.role,
        };
        self.lock()
            .insert(token.clone(), (Instant::now(), session.clone()));
        Some((token, session))
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

    #[test]
    fn right_password_opens_a_session_wrong_does_not() {
        let u = Users::new(vec![UserEntry {
            name: "kontor".into(),
            password: crate::password::hash_pin("hemmelig").unwrap(),
            role: Role::Read,
        }]);
        assert!(u.login("kontor", "forkert").is_none());
        assert!(u.login("ukendt", "hemmelig").is_none());
        let (token, s) = u.login("kontor", "hemmelig").unwrap();
        assert_eq!(s.role, Role::Read);
        assert_eq!(u.session(&token), Some(s));
        u.logout(&token);
        assert_eq!(u.session(&token), None);
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
