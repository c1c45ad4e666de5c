//! The election office's detached signature over a voter list file: a table imports
//! only the list the office signed, byte for byte.

use crate::election::keys::DevicePublic;
use crate::election::voter_list::{ListError, file_err};

/// Domain separation for the office's signature over a voter list file.
pub const LIST_SIGNING_CONTEXT: &[u8] = b"valgbord-voterlist-v1\0";

/// Reads a detached signature file: hex or base64 text, or the 64 raw bytes.
pub fn read_signature(bytes: &[u8]) -> Option<[u8; 64]> {
    use base64::Engine;
    if bytes.len() == 64 {
        return bytes.try_into().ok();
    }
    let text = std::str::from_utf8(bytes).ok()?.trim();
    let mut out = [0u8; 64];
    if hex::decode_to_slice(text, &mut out).is_ok() {
        return Some(out);
    }
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()
        .and_then(|v| v.try_into().ok())
}

/// Checks the office's detached signature over a list file.
pub fn verify_list_signature(
    file: &[u8],
    signature: &[u8],
    office: DevicePublic,
) -> Result<(), ListError> {
    let sig = read_signature(signature).ok_or_else(|| {
        file_err("the signature file is not a 64-byte ed25519 signature (hex or base64)")
    })?;
    let mut msg = Vec::with_capacity(LIST_SIGNING_CONTEXT.len() + file.len());
    msg.extend_from_slice(LIST_SIGNING_CONTEXT);
    msg.extend_from_slice(file);
    if office.verify(&msg, &sig) {
        Ok(())
    } else {
        Err(file_err(
            "the signature does not match: the file was changed after the election office signed it, or it was signed with another key",
        ))
    }
}

/// Signs a list file with the office key (the `office sign` command).
pub fn sign_list(file: &[u8], key: &crate::election::keys::DeviceSecret) -> [u8; 64] {
    let mut msg = Vec::with_capacity(LIST_SIGNING_CONTEXT.len() + file.len());
    msg.extend_from_slice(LIST_SIGNING_CONTEXT);
    msg.extend_from_slice(file);
    key.sign(&msg).to_bytes()
}
