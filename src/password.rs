//! PINs and passwords, stored only as argon2 hashes: the valgsekretær's PIN at a table
//! and the election office's logins at the central share one way of hashing, kept low
//! so both can use it without one depending on the other.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Why a PIN could not be hashed: no randomness for the salt, or argon2 refused. Rare
/// (the machine is broken); a type of its own so callers can hold it as a cause.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("no random source: {0}")]
    NoRandom(getrandom::Error),
    #[error("{0}")]
    Argon2(argon2::password_hash::Error),
}

pub fn hash_pin(pin: &str) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(HashError::NoRandom)?;
    let salt = SaltString::encode_b64(&salt).map_err(HashError::Argon2)?;
    Ok(Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map_err(HashError::Argon2)?
        .to_string())
}

pub fn verify_pin(pin: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(h) => Argon2::default()
            .verify_password(pin.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_pin_verifies_wrong_does_not() {
        let h = hash_pin("4711").unwrap();
        assert!(verify_pin("4711", &h));
        assert!(!verify_pin("4712", &h));
        assert!(!verify_pin("4711", "not a hash"));
    }
}
