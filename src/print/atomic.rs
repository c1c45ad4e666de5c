//! Files written whole or not at all: a PDF or paper list read while it is written, or
//! on a USB stick pulled out, must never be half a file.

use super::error::PrintError;

/// Writes a file atomically (temporary file in the same folder, then rename), so a
/// reader (or a USB stick pulled out) never sees half a PDF.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), PrintError> {
    use std::io::Write;
    let err = |source| PrintError::Output {
        path: path.display().to_string(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}
