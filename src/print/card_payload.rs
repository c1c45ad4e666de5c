//! The signed text in the QR code of a valgkort that valgbord prints:
//! `VBK1.<base64url(json)>.<base64url(ed25519 signature)>`.
//!
//! The JSON names the election, the voter, the card code, when it was issued and the
//! public key of the device that printed it. The signature covers a domain-separation
//! prefix and the JSON bytes exactly as carried (never a re-serialisation), so any
//! change to the text, a card from another election, or a key that the election
//! configuration does not list is refused: a forged replacement card is detected at
//! the table. Pure: no I/O, no clock.

use crate::election::keys::{DevicePublic, DeviceSecret};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The text every payload starts with (version 1).
pub const PREFIX: &str = "VBK1.";
/// Domain separation: a card signature can never be replayed as an event or a list
/// signature, and the reverse.
const SIGNING_CONTEXT: &[u8] = b"valgbord-card-v1\0";
/// Longer texts are refused before decoding (a QR code of a card holds ~300).
const MAX_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardPayload {
    pub election: String,
    pub voter_id: String,
    /// The card code, as in the card's Code 128.
    pub code: String,
    /// When the card was issued (printed), milliseconds since the epoch.
    pub issued_ms: i64,
    /// The device that signed it.
    pub device: DevicePublic,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("not a valgbord card payload (expected it to start with {PREFIX})")]
    NotACardPayload,
    #[error("card payload is malformed: {0}")]
    Malformed(String),
    #[error("card payload signature does not verify (altered or forged)")]
    BadSignature,
    #[error("card payload is signed by device {0}, which the election configuration does not list")]
    UnknownDevice(String),
    #[error("card belongs to election \"{found}\", not \"{expected}\"")]
    OtherElection { expected: String, found: String },
}

impl CardError {
    /// The text for the screen at the table.
    pub fn danish(&self) -> String {
        match self {
            CardError::NotACardPayload | CardError::Malformed(_) => {
                "QR-koden er ikke et valgkort fra valgbord. Scan valgkortets stregkode, eller tilkald valgsekretæren.".into()
            }
            CardError::BadSignature => {
                "FALSK KORT: QR-kodens underskrift passer ikke. Tilkald valgsekretæren.".into()
            }
            // The device is named in the log (the English error), not on the screen.
            CardError::UnknownDevice(_) => {
                "FALSK KORT: kortet er underskrevet af en enhed, der ikke hører til valget. Tilkald valgsekretæren.".into()
            }
            CardError::OtherElection { found, .. } => {
                format!("Kortet hører til et andet valg ({found}). Bed om dagens valgkort, eller tilkald valgsekretæren.")
            }
        }
    }
}

/// The QR text of a card, signed by `key`.
pub fn sign_card_payload(
    key: &DeviceSecret,
    election: &str,
    voter_id: &str,
    code: &str,
    issued_ms: i64,
) -> String {
    let payload = CardPayload {
        election: election.to_string(),
        voter_id: voter_id.to_string(),
        code: code.to_string(),
        issued_ms,
        device: key.public(),
    };
    // Serialising a struct of strings and integers cannot fail.
    let json = serde_json::to_vec(&payload).unwrap_or_default();
    let sig = key.sign(&signed_bytes(&json));
    format!(
        "{PREFIX}{}.{}",
        URL_SAFE_NO_PAD.encode(&json),
        URL_SAFE_NO_PAD.encode(sig.to_bytes())
    )
}

/// The device a payload claims to be signed by, without checking anything: lets a
/// test-mode table (which trusts any device of its election) pick the key to verify with.
pub fn claimed_device(text: &str) -> Option<DevicePublic> {
    let body = text.strip_prefix(PREFIX)?.split_once('.')?.0;
    let json = URL_SAFE_NO_PAD.decode(body).ok()?;
    serde_json::from_slice::<CardPayload>(&json)
        .ok()
        .map(|p| p.device)
}

/// Checks a scanned QR text: format, signature, that the signer is `trusted`, and
/// that the card is of `election`.
pub fn verify_card_payload(
    text: &str,
    trusted: &HashSet<DevicePublic>,
    election: &str,
) -> Result<CardPayload, CardError> {
    let rest = text
        .strip_prefix(PREFIX)
        .ok_or(CardError::NotACardPayload)?;
    if text.len() > MAX_LEN {
        return Err(CardError::Malformed(format!(
            "{} characters (at most {MAX_LEN})",
            text.len()
        )));
    }
    let (body, sig) = rest
        .split_once('.')
        .ok_or_else(|| CardError::Malformed("no signature part".into()))?;
    let json = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|e| CardError::Malformed(format!("body: {e}")))?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|e| CardError::Malformed(format!("signature: {e}")))?;
    let sig: [u8; 64] = sig
        .try_into()
        .map_err(|_| CardError::Malformed("signature is not 64 bytes".into()))?;
    let payload: CardPayload =
        serde_json::from_slice(&json).map_err(|e| CardError::Malformed(format!("json: {e}")))?;
    if !trusted.contains(&payload.device) {
        return Err(CardError::UnknownDevice(payload.device.short()));
    }
    if !payload.device.verify(&signed_bytes(&json), &sig) {
        return Err(CardError::BadSignature);
    }
    if payload.election != election {
        return Err(CardError::OtherElection {
            expected: election.to_string(),
            found: payload.election,
        });
    }
    Ok(payload)
}

fn signed_bytes(json: &[u8]) -> Vec<u8> {
    [SIGNING_CONTEXT, json].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> DeviceSecret {
        DeviceSecret::from_seed([n; 32])
    }

    fn trusted(k: &DeviceSecret) -> HashSet<DevicePublic> {
        [k.public()].into_iter().collect()
    }

    fn sample(k: &DeviceSecret) -> String {
        sign_card_payload(
            k,
            "kv2025-aarhus",
            "V-0001",
            "VB123456789012",
            1_763_900_000_000,
        )
    }

    #[test]
    fn round_trip() {
        let k = key(1);
        let text = sample(&k);
        assert!(text.starts_with("VBK1."));
        let p = verify_card_payload(&text, &trusted(&k), "kv2025-aarhus").unwrap();
        assert_eq!(
            p,
            CardPayload {
                election: "kv2025-aarhus".into(),
                voter_id: "V-0001".into(),
                code: "VB123456789012".into(),
                issued_ms: 1_763_900_000_000,
                device: k.public(),
            }
        );
        // base64url and dots only: nothing a scanner's keyboard layout can garble.
        assert!(
            text.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        );
    }

    #[test]
    fn one_flipped_bit_anywhere_is_refused() {
        let k = key(1);
        let text = sample(&k);
        let t = trusted(&k);
        for i in 0..text.len() {
            for bit in 0..8 {
                let mut b = text.as_bytes().to_vec();
                b[i] ^= 1 << bit;
                let Ok(s) = String::from_utf8(b) else {
                    continue; // not text at all: a scanner cannot even hand it over
                };
                assert!(
                    verify_card_payload(&s, &t, "kv2025-aarhus").is_err(),
                    "byte {i} bit {bit} accepted: {s}"
                );
            }
        }
    }

    #[test]
    fn unknown_key_is_refused() {
        let text = sample(&key(1));
        let e = verify_card_payload(&text, &trusted(&key(2)), "kv2025-aarhus").unwrap_err();
        assert!(matches!(e, CardError::UnknownDevice(_)));
        assert!(e.danish().starts_with("FALSK KORT"));
        // The device's key is for the log, not the screen the tilforordnet reads.
        let CardError::UnknownDevice(d) = &e else {
            unreachable!()
        };
        assert!(!e.danish().contains(&d[..8]), "{}", e.danish());
    }

    #[test]
    fn a_payload_re_signed_by_another_key_claiming_a_trusted_device_is_refused() {
        // A forger keeps the trusted device's public key in the JSON but signs with
        // their own key.
        let trusted_key = key(1);
        let forger = key(9);
        let json = serde_json::to_vec(&CardPayload {
            election: "kv2025-aarhus".into(),
            voter_id: "V-0001".into(),
            code: "VB999999999999".into(),
            issued_ms: 1,
            device: trusted_key.public(),
        })
        .unwrap();
        let sig = forger.sign(&signed_bytes(&json));
        let text = format!(
            "{PREFIX}{}.{}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(sig.to_bytes())
        );
        assert_eq!(
            verify_card_payload(&text, &trusted(&trusted_key), "kv2025-aarhus"),
            Err(CardError::BadSignature)
        );
    }

    #[test]
    fn other_election_is_refused() {
        let k = key(1);
        let e = verify_card_payload(&sample(&k), &trusted(&k), "fv2026").unwrap_err();
        assert_eq!(
            e,
            CardError::OtherElection {
                expected: "fv2026".into(),
                found: "kv2025-aarhus".into()
            }
        );
    }

    #[test]
    fn other_texts_are_not_card_payloads() {
        let t = trusted(&key(1));
        assert_eq!(
            verify_card_payload("123456789012", &t, "e"),
            Err(CardError::NotACardPayload)
        );
        assert!(matches!(
            verify_card_payload("VBK1.abc", &t, "e"),
            Err(CardError::Malformed(_))
        ));
    }
}
