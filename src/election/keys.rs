//! Ed25519 keys of devices and of the election office, as values. Key files live in
//! the store module; this is only the cryptography the domain needs.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A public key written as something other than 64 hexadecimal digits.
#[derive(Debug, thiserror::Error)]
#[error("a public key is 64 hexadecimal digits")]
pub struct KeyHexError;

/// A device's public key: its identity in the event log.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevicePublic(pub [u8; 32]);

impl DevicePublic {
    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }
    /// The first 8 hex digits, enough for people to tell devices apart in messages.
    pub fn short(self) -> String {
        hex::encode(&self.0[..4])
    }
    /// The first 16 hex digits in groups of four ("ab12 cd34 ef56 7890"): short enough
    /// to read aloud when the office and the person at the Pi compare an enrolled key.
    pub fn fingerprint(self) -> String {
        hex::encode(&self.0[..8])
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
    pub fn from_hex(s: &str) -> Result<Self, KeyHexError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut out).map_err(|_| KeyHexError)?;
        Ok(DevicePublic(out))
    }
    pub fn verifying_key(self) -> Result<VerifyingKey, ed25519_dalek::SignatureError> {
        VerifyingKey::from_bytes(&self.0)
    }
    /// Verifies a detached signature over `msg`.
    pub fn verify(self, msg: &[u8], sig: &[u8; 64]) -> bool {
        match self.verifying_key() {
            Ok(vk) => vk.verify(msg, &Signature::from_bytes(sig)).is_ok(),
            Err(_) => false,
        }
    }
}

impl fmt::Debug for DevicePublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DevicePublic({})", self.short())
    }
}

impl Serialize for DevicePublic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for DevicePublic {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DevicePublic::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// A secret signing key (a device's or the election office's).
#[derive(Clone)]
pub struct DeviceSecret(SigningKey);

impl DeviceSecret {
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        // The OS random source failing is not recoverable: no key can be made safely.
        getrandom::getrandom(&mut seed).expect("operating system random source");
        DeviceSecret(SigningKey::from_bytes(&seed))
    }
    pub fn from_seed(seed: [u8; 32]) -> Self {
        DeviceSecret(SigningKey::from_bytes(&seed))
    }
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
    pub fn public(&self) -> DevicePublic {
        DevicePublic(self.0.verifying_key().to_bytes())
    }
    pub fn sign(&self, msg: &[u8]) -> Signature {
        self.0.sign(msg)
    }
}

impl fmt::Debug for DeviceSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceSecret(public {})", self.public().short())
    }
}
