//! The device key on disk: made on first start, readable by the daemon's user only.

use crate::election::keys::{DevicePublic, DeviceSecret};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("key file {path} is readable by other users (mode {mode:o}); run: chmod 600 {path}")]
    TooOpen { path: String, mode: u32 },
    #[error("key file {path} does not hold a key (expected 64 hexadecimal digits)")]
    Malformed { path: String },
}

impl KeyFileError {
    pub fn danish(&self) -> String {
        match self {
            KeyFileError::Io { path, .. } => format!("Nøglefilen {path} kan ikke læses."),
            KeyFileError::TooOpen { path, .. } => {
                format!(
                    "Nøglefilen {path} kan læses af andre brugere. Ret rettighederne (chmod 600)."
                )
            }
            KeyFileError::Malformed { path } => format!("Nøglefilen {path} er ødelagt."),
        }
    }
}

/// Loads the secret key at `path`, making a new one (mode 0600) when there is none.
pub fn load_or_create(path: &Path) -> Result<DeviceSecret, KeyFileError> {
    let p = path.display().to_string();
    let io = |source| KeyFileError::Io {
        path: p.clone(),
        source,
    };
    match fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyFileError::TooOpen { path: p, mode });
            }
            load(path)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = DeviceSecret::generate();
            save(path, &key)?;
            Ok(key)
        }
        Err(e) => Err(io(e)),
    }
}

/// Writes `key` to a new file (mode 0600). A file that already holds the same key is
/// left as it is; one holding another key is never overwritten.
pub fn save(path: &Path, key: &DeviceSecret) -> Result<(), KeyFileError> {
    let p = path.display().to_string();
    let io = |source| KeyFileError::Io {
        path: p.clone(),
        source,
    };
    if path.exists() {
        let there = load(path)?;
        if there.public() == key.public() {
            return Ok(());
        }
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "another key is already there; it is never overwritten",
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    writeln!(f, "{}", hex::encode(key.seed())).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(())
}

/// Loads an existing secret key.
pub fn load(path: &Path) -> Result<DeviceSecret, KeyFileError> {
    let p = path.display().to_string();
    let text = fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: p.clone(),
        source,
    })?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed)
        .map_err(|_| KeyFileError::Malformed { path: p })?;
    Ok(DeviceSecret::from_seed(seed))
}

/// Reads a public key file (64 hex digits; a line starting with # is a comment).
pub fn load_public(path: &Path) -> Result<DevicePublic, KeyFileError> {
    let p = path.display().to_string();
    let text = fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: p.clone(),
        source,
    })?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    DevicePublic::from_hex(line).map_err(|_| KeyFileError::Malformed { path: p })
}

/// The file beside a key that says the key has written events: `<key>.written`.
fn written_marker(key: &Path) -> std::path::PathBuf {
    let mut name = key.as_os_str().to_owned();
    name.push(".written");
    name.into()
}

/// Whether the key at `key` has written events on this device (see [`mark_written`]).
pub fn has_written(key: &Path) -> bool {
    written_marker(key).exists()
}

/// Notes beside the key file, durably, that the key has written events. A device whose
/// database is deleted or replaced but whose key stays finds the note and knows that its
/// own earlier events exist elsewhere: it must fetch them before it writes again, or it
/// would number its next event 1 over a log its peers hold.
pub fn mark_written(key: &Path) -> std::io::Result<()> {
    let marker = written_marker(key);
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&marker)?;
    f.sync_all()?;
    if let Some(dir) = marker.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_with_mode_0600_and_reloads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/device.key");
        let a = load_or_create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let b = load_or_create(&path).unwrap();
        assert_eq!(a.public(), b.public());
    }

    #[test]
    fn refuses_a_key_others_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.key");
        load_or_create(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(KeyFileError::TooOpen { .. })
        ));
    }

    #[test]
    fn a_key_notes_that_it_has_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.key");
        load_or_create(&path).unwrap();
        assert!(!has_written(&path));
        mark_written(&path).unwrap();
        mark_written(&path).unwrap();
        assert!(has_written(&path));
        // The key file itself is unchanged.
        assert!(load(&path).is_ok());
    }
}
