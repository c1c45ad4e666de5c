//! Why provisioning failed: signing or opening a package, fetching it from a table of
//! the polling place, loading it. Its own file because `package`, `load` and `serve`
//! share the package's errors; each variant names what was wrong for the person at
//! the Pi, and store, key-file and TLS errors keep their own text and cause.

use crate::election::voter_list::ListError;
use crate::store::StoreError;
use crate::store::keyfile::KeyFileError;
use crate::sync::tls::TlsError;
use crate::table::config::{ConfigError, HardwareConfigError};
use std::path::PathBuf;

/// A signed package that cannot be made or is not to be trusted.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("{0}")]
    Serialize(#[source] serde_json::Error),
    #[error("the package has no valid signature")]
    NoSignature,
    #[error(
        "the package's signature does not match: it was altered after the election office signed it, or signed with another key"
    )]
    Altered,
    #[error("the package does not parse: {0}")]
    Parse(#[source] serde_json::Error),
    #[error("unknown package format \"{0}\"")]
    Format(String),
    #[error("the package's officials: {0}")]
    Officials(crate::election::official::OfficialsError),
}

/// Why the office's packages were not made; nothing is written when any is.
#[derive(Debug, thiserror::Error)]
pub enum MakeError {
    #[error("the list has {count} error(s); the first: {first}")]
    List { count: usize, first: String },
    #[error("the enrolment has no table of polling place {place} ({name})")]
    NoTable { place: String, name: String },
    #[error("the enrolment names polling place {0}, which is not on the list")]
    UnknownPlace(String),
    #[error("the officials file names polling place {0}, which is not on the list")]
    OfficialsOfUnknownPlace(String),
    #[error("--place-address names polling place {0}, which is not on the list")]
    AddressOfUnknownPlace(String),
    #[error("the officials file: {0}")]
    Officials(#[from] crate::election::official::OfficialsError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("the enrolment: {0}")]
    Enrolment(#[from] super::enrol::EnrolError),
    #[error("the office key: {0}")]
    OfficeKey(#[from] KeyFileError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Why a package was not loaded onto this table; nothing is loaded when any is.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not an election package: {source}", .path.display())]
    NotAPackage {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The table numbers the package has, comma-separated.
    #[error("the package of polling place {place} has no table {table_no} (it has {has})")]
    NoSuchTable {
        place: String,
        table_no: u32,
        has: String,
    },
    /// `fingerprint` is the device key's, for the office to find it or enrol it.
    #[error(
        "this device is not enrolled in the package of polling place {place}: enrol its key {fingerprint} with the election office (`valgbord key show` prints the whole key)"
    )]
    NotEnrolled { place: String, fingerprint: String },
    #[error(
        "this device is enrolled as table {enrolled} of polling place {place}, not table {asked}: leave out --table, or load the package on the Pi enrolled as table {asked}"
    )]
    OtherTable {
        place: String,
        enrolled: u32,
        asked: u32,
    },
    #[error(
        "this device is a reserve of polling place {place}: say which table it replaces with --table N"
    )]
    ReserveNeedsTable { place: String },
    #[error(
        "this package (made {offered}) is older than the one this device holds (made {held}): not loaded; get the newest package from the election office"
    )]
    Older { offered: String, held: String },
    #[error("the package's time \"{created}\" is not a time (RFC 3339)")]
    Created { created: String },
    #[error(
        "{list_file} is not the list the package names (SHA-256 {expected} expected, {found} found): it was changed or swapped"
    )]
    ListSwapped {
        list_file: &'static str,
        expected: String,
        found: String,
    },
    #[error("the list signature in the package is not hex: {0}")]
    SignatureHex(#[source] hex::FromHexError),
    #[error("{0}")]
    ListSignature(#[source] ListError),
    #[error("cannot make {}: {source}", .path.display())]
    MakeDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} already holds another voter list of this election; destroy it first", .0.display())]
    OtherList(PathBuf),
    /// The first error's text, as the import reported it.
    #[error("the package's list has {count} error(s); the first: {first}")]
    ListErrors { count: usize, first: String },
    #[error("the list holds {held} brevstemmer, the package says {signed}: not loaded")]
    Brevstemmer { held: u64, signed: u64 },
    #[error("cannot keep {name} in {}: {source}", .dir.display())]
    Keep {
        name: &'static str,
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", .path.display())]
    WriteConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    ConfigToml(#[source] toml::ser::Error),
    #[error(
        "a table of an election serves sync over TLS: a table without a sync listener is for test mode only (a rehearsal on one machine)"
    )]
    NoSyncListenerInElection,
    #[error("{what} \"{value}\" is not an address (HOST:PORT): {source}")]
    Address {
        what: &'static str,
        value: String,
        source: std::net::AddrParseError,
    },
    #[error(transparent)]
    Hardware(#[from] HardwareConfigError),
    #[error("the configuration made from the package does not load: {0}")]
    ConfigDoesNotLoad(#[source] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyFileError),
}

/// Why the package could not be fetched from a table of the polling place.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Only mutual TLS says who answered; in clear anyone on the LAN could.
    #[error(
        "--from-peer {url}: a package is fetched only over TLS from a table of the polling place (https://HOST:PORT, its sync address)"
    )]
    NotTls { url: String },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("{0}")]
    Request(#[source] serde_json::Error),
    /// The request's nonce (so it cannot be replayed) needs the system's randomness.
    #[error("no random nonce for the package request: {0}")]
    Nonce(getrandom::Error),
    /// `why` is the whole chain of the transport's error, as one line.
    #[error("cannot reach {url}: {why}")]
    Unreachable { url: String, why: String },
    /// `why` is the body the peer answered with.
    #[error("{url} refused: {status} {why}")]
    Refused {
        url: String,
        status: reqwest::StatusCode,
        why: String,
    },
    #[error("{url}: unreadable answer: {source}")]
    Answer { url: String, source: reqwest::Error },
    /// The package is genuine, but the device that handed it over is not one the
    /// package names: a host on the LAN that got hold of another place's package.
    #[error(
        "{url}: the device that answered (key {server}) is not a table or reserve of polling place {place} in the package it gave; nothing was loaded"
    )]
    NotOfPlace {
        url: String,
        server: String,
        place: String,
    },
    #[error("{url}: the list is not base64: {source}")]
    Base64 {
        url: String,
        source: base64::DecodeError,
    },
    #[error("cannot make {}: {source}", .path.display())]
    MakeDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Package(#[source] serde_json::Error),
    #[error("cannot write {name}: {source}")]
    Write {
        name: &'static str,
        source: std::io::Error,
    },
}
