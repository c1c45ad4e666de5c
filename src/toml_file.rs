//! Reading a configuration file written in TOML: the table's and the central's files are
//! read the same way and refused with the same two reasons, each naming the file.

use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// Why a configuration file could not be read at all; its contents' own checks come
/// after.
#[derive(Debug, thiserror::Error)]
pub enum TomlFileError {
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", .path.display())]
    Toml {
        path: PathBuf,
        source: toml::de::Error,
    },
}

pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T, TomlFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| TomlFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| TomlFileError::Toml {
        path: path.to_path_buf(),
        source,
    })
}
