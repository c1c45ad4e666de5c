//! Who may sync: every pull and push carries an ed25519 signature over its body by the
//! device named in its `hello`, and that device must be one the election configuration
//! lists. Without it nobody on the LAN can read or add check-ins.
//!
//! The signature says who, not when: the body carries a time and a nonce of its own
//! (`replay`), so a recorded request sent again is refused after this check.

use crate::election::event::Trust;
use crate::election::keys::{DevicePublic, DeviceSecret};

pub const HEADER: &str = "x-valgbord-signature";
const CONTEXT: &[u8] = b"valgbord-sync-v1\0";

fn message(body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(CONTEXT.len() + body.len());
    m.extend_from_slice(CONTEXT);
    m.extend_from_slice(body);
    m
}

/// The header value for a request body.
pub fn sign_body(key: &DeviceSecret, body: &[u8]) -> String {
    hex::encode(key.sign(&message(body)).to_bytes())
}

/// Checks a request: the device is trusted and the signature is its, over this body.
pub fn verify_body(
    device: DevicePublic,
    signature: Option<&str>,
    body: &[u8],
    trust: &Trust,
) -> Result<(), SignatureError> {
    if let Some(enrolment) = &trust.enrolment
        && !enrolment.contains(&device)
    {
        return Err(SignatureError::Unlisted(device.short()));
    }
    let sig = signature.ok_or(SignatureError::Unsigned)?;
    let mut bytes = [0u8; 64];
    hex::decode_to_slice(sig.trim(), &mut bytes).map_err(|_| SignatureError::NotHex)?;
    if device.verify(&message(body), &bytes) {
        Ok(())
    } else {
        Err(SignatureError::NotBy(device.short()))
    }
}

/// Why a sync request's body signature was refused; devices are named by their short
/// key, as in every other message about them.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("device {0} is not listed in the election configuration")]
    Unlisted(String),
    #[error("the request is not signed")]
    Unsigned,
    #[error("the signature is not 64 bytes of hex")]
    NotHex,
    #[error("the signature is not by device {0}")]
    NotBy(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::roles::Enrolment;

    fn trust(keys: &[DevicePublic]) -> Trust {
        Trust {
            election: "e".into(),
            enrolment: Some(Enrolment::reserves_of("1", keys.iter().copied())),
            allow_test: false,
        }
    }

    #[test]
    fn a_signed_body_verifies_and_nothing_else_does() {
        let k = DeviceSecret::generate();
        let other = DeviceSecret::generate();
        let t = trust(&[k.public()]);
        let sig = sign_body(&k, b"{\"a\":1}");
        assert!(verify_body(k.public(), Some(&sig), b"{\"a\":1}", &t).is_ok());
        assert!(verify_body(k.public(), Some(&sig), b"{\"a\":2}", &t).is_err());
        assert!(verify_body(k.public(), None, b"{\"a\":1}", &t).is_err());
        let forged = sign_body(&other, b"{\"a\":1}");
        assert!(verify_body(k.public(), Some(&forged), b"{\"a\":1}", &t).is_err());
        // Signed by itself, but not a device of this polling place.
        let sig = sign_body(&other, b"x");
        assert!(
            verify_body(other.public(), Some(&sig), b"x", &t)
                .unwrap_err()
                .to_string()
                .contains("not listed")
        );
    }
}
