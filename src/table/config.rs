//! The table daemon's configuration file (TOML). `config/table.toml` is the commented
//! example.

use crate::election::contest::Contest;
use crate::election::keys::DevicePublic;
use crate::election::place_mode::{Share, ShareError};
use crate::election::roles::Role;
use crate::store::binding::Mode;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Read by the daemon; also written, by provisioning, through the same type, so the file
/// a package makes cannot drift from what the daemon reads.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    pub election: String,
    /// "election" or "test".
    #[serde(default)]
    pub mode: Mode,
    pub database: PathBuf,
    pub key: PathBuf,
    pub place: String,
    pub table_no: u32,
    pub contests: Vec<Contest>,
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    #[serde(default)]
    pub scanner: ScannerConfig,
    #[serde(default)]
    pub signals: SignalsConfig,
    /// The single valgsekretær PIN that earlier versions read. Refused with a message
    /// saying what to write instead; never written.
    #[serde(default, skip_serializing)]
    pub pins: Option<serde::de::IgnoredAny>,
    /// The valgsekretær and the valgstyrere, each with a personal PIN (`[[officials]]`,
    /// written by `valgbord election load`). None: nothing needing a PIN can be done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub officials: Vec<crate::election::official::Official>,
    #[serde(default)]
    pub sync: SyncConfig,
    /// The receipt printer (replacement cards, closing reports). None: no printer.
    pub printer: Option<crate::print::drivers::PrinterConfig>,
    /// Folder (e.g. a USB stick) where the marked paper valgliste is written as PDF every
    /// minute, atomically, so a table that fails leaves a list no older than a minute.
    pub paper_list_dir: Option<PathBuf>,
    /// The election's name and date as printed on cards and lists.
    pub election_name: Option<String>,
    pub election_date: Option<chrono::NaiveDate>,
    /// Accept scans over `POST /api/scan` (demo, tests, a second scanner on another
    /// machine). Off in an election unless the scanner itself is simulated.
    #[serde(default)]
    pub api_scan: bool,
    /// A second read of the same card within this many milliseconds counts once.
    #[serde(default = "default_debounce")]
    pub debounce_ms: u64,
    /// Test mode only: this table's wall clock runs this many milliseconds off, to
    /// rehearse a Pi without a correct clock.
    #[serde(default)]
    pub clock_offset_ms: i64,
    /// Fast bordvalg: each table's share of the list, by table number, the same on every
    /// table of the polling place ("A-H" surnames, or "1-800" løbenumre).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fast_bordvalg: std::collections::BTreeMap<String, String>,
    /// Each polling place's street address by place id, from the package: the refusal
    /// of a voter of another place says where to go.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub place_addresses: std::collections::BTreeMap<String, String>,
}

/// The sections of a table's configuration that describe the Pi's own hardware: kept
/// in a file on the device (e.g. /etc/valgbord/hardware.toml), and added by
/// provisioning to the configuration it makes from the package.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareConfig {
    #[serde(default)]
    pub scanner: ScannerConfig,
    #[serde(default)]
    pub signals: SignalsConfig,
    pub printer: Option<crate::print::drivers::PrinterConfig>,
}

/// The hardware file is not TOML of the expected shape.
#[derive(Debug, thiserror::Error)]
#[error("the hardware configuration: {0}")]
pub struct HardwareConfigError(#[source] toml::de::Error);

impl HardwareConfig {
    pub fn parse(text: &str) -> Result<HardwareConfig, HardwareConfigError> {
        toml::from_str(text).map_err(HardwareConfigError)
    }
}

fn default_debounce() -> u64 {
    TableConfig::DEFAULT_DEBOUNCE_MS
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScannerConfig {
    /// Scans only through the API (and the demo screen).
    #[default]
    Simulated,
    /// USB HID keyboard-wedge scanner read through evdev with an exclusive grab. Give
    /// the event device `path` (a stable udev name), or `name`, a part of the device's
    /// name as the kernel reports it.
    Evdev {
        path: Option<PathBuf>,
        name: Option<String>,
        #[serde(default)]
        layout: crate::scan::keymap::Layout,
    },
    /// Serial or USB CDC-ACM scanner.
    Serial {
        path: PathBuf,
        #[serde(default = "default_baud")]
        baud: u32,
    },
    /// Camera frames decoded as QR codes. `command` prints frames on stdout: PNG or
    /// PGM images back to back, or raw YUV 4:2:0 of `yuv_width` × `yuv_height`.
    Camera {
        command: Vec<String>,
        yuv_width: Option<u32>,
        yuv_height: Option<u32>,
    },
}

fn default_baud() -> u32 {
    9600
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SignalsConfig {
    #[default]
    Simulated,
    /// GPIO pins in BCM numbering.
    Gpio {
        green: u8,
        red: u8,
        buzzer: Option<u8>,
        /// For a passive (piezo) buzzer: the tone to drive it with.
        buzzer_tone_hz: Option<f64>,
        button: Option<u8>,
    },
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// Base URLs of the other tables of the polling place ("https://10.0.0.12:8443", the
    /// peers' `listen` address). Plain `http://` only in test mode.
    #[serde(default)]
    pub peers: Vec<String>,
    /// Every device this table deals with and its role: the tables and reserve devices
    /// of the polling place and the central tally. Only these may connect, and each may
    /// author only the events of its role. May be empty only in test mode.
    #[serde(default)]
    pub devices: Vec<DeviceEntry>,
    /// The list of keys without roles that earlier versions read. Refused with a message
    /// saying what to write instead, rather than an "unknown field".
    #[serde(default, skip_serializing)]
    pub keys: Option<serde::de::IgnoredAny>,
    /// Base URL of the central tally (valgkontoret), reached over the WAN when it is
    /// up, or a list of them: an office that cannot lose its tally runs two, in two
    /// places. Each gets every event like a peer; the table never waits for any.
    #[serde(default, deserialize_with = "one_or_many")]
    pub central: Vec<String>,
    /// Where this table serves sync to its peers, over mutual TLS with the device keys
    /// ("0.0.0.0:8443"). None: no TLS listener (a table that only connects out, or test
    /// mode, where the screen listener also serves sync in plain HTTP).
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    /// Announce this table and find the other tables of the polling place on the LAN by
    /// mDNS. Needs `listen`.
    #[serde(default)]
    pub mdns: bool,
}

/// One enrolled device in `[sync] devices`: its public key and role. The polling place is
/// the table's own; a table knows no devices of other places.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceEntry {
    /// The device's public key (hex), as it shows it for enrolment.
    pub key: String,
    pub role: DeviceRole,
    /// The table's number, for `role = "table"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_no: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceRole {
    Table,
    Reserve,
    Central,
}

impl DeviceEntry {
    /// The key and its role at `place`, or what is wrong with the entry.
    pub fn enrolled(&self, place: &str) -> Result<(DevicePublic, Role), SyncConfigError> {
        let key =
            DevicePublic::from_hex(&self.key).map_err(|source| SyncConfigError::DeviceKey {
                key: self.key.clone(),
                source,
            })?;
        let role = match (self.role, self.table_no) {
            (DeviceRole::Table, Some(table_no)) => Role::Table {
                place: place.to_string(),
                table_no,
            },
            (DeviceRole::Table, None) => {
                return Err(SyncConfigError::TableWithoutNumber(self.key.clone()));
            }
            (_, Some(_)) => {
                return Err(SyncConfigError::NumberWithoutTable(self.key.clone()));
            }
            (DeviceRole::Reserve, None) => Role::Reserve {
                place: place.to_string(),
            },
            (DeviceRole::Central, None) => Role::Central,
        };
        Ok((key, role))
    }
}

/// A string or a list of strings, as a list.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

impl SyncConfig {
    /// Why these sync settings cannot run, for the person editing the file. In an
    /// election every peer is reached over TLS, so a plain `http://` URL is a mistake
    /// that would otherwise only show as a peer that never connects.
    pub fn check(&self, election: bool) -> Result<(), SyncConfigError> {
        if self.keys.is_some() {
            return Err(SyncConfigError::RolelessKeys);
        }
        for (what, url) in self
            .peers
            .iter()
            .map(|u| ("peers", u))
            .chain(self.central.iter().map(|u| ("central", u)))
        {
            let plain = url.starts_with("http://");
            let url = url.clone();
            if !plain && !url.starts_with("https://") {
                return Err(SyncConfigError::NotAUrl { what, url });
            }
            if plain && election {
                return Err(SyncConfigError::PlainHttp { what, url });
            }
        }
        if self.mdns && self.listen.is_none() {
            return Err(SyncConfigError::MdnsWithoutListen);
        }
        if election && self.listen.is_none() && !self.peers.is_empty() {
            return Err(SyncConfigError::NoListen);
        }
        Ok(())
    }
}

/// Why the `[sync]` section cannot run; `what` names the key (`peers` or `central`).
#[derive(Debug, thiserror::Error)]
pub enum SyncConfigError {
    #[error("[sync] {what}: \"{url}\" is not a URL; write https://HOST:PORT")]
    NotAUrl { what: &'static str, url: String },
    #[error(
        "[sync] {what}: \"{url}\" is plain HTTP; in an election (mode = \"election\") sync runs only over TLS: use https:// and the peer's [sync] listen port"
    )]
    PlainHttp { what: &'static str, url: String },
    #[error("[sync] mdns = true needs `listen`: the port other tables are told to connect to")]
    MdnsWithoutListen,
    #[error(
        "[sync] listen is missing: the other tables must be able to reach this one over TLS (e.g. listen = \"0.0.0.0:8443\")"
    )]
    NoListen,
    #[error(
        "[sync] keys: a list of keys without roles is no longer read; list each device with its role instead: devices = [{{ key = \"…\", role = \"table\", table_no = 1 }}, {{ key = \"…\", role = \"reserve\" }}, {{ key = \"…\", role = \"central\" }}] (valgbord election load writes it)"
    )]
    RolelessKeys,
    #[error("[sync] devices: \"{key}\": {source}")]
    DeviceKey {
        key: String,
        source: crate::election::keys::KeyHexError,
    },
    #[error("[sync] devices: \"{0}\" has role = \"table\" but no table_no")]
    TableWithoutNumber(String),
    #[error("[sync] devices: \"{0}\": table_no belongs only to role = \"table\"")]
    NumberWithoutTable(String),
}

/// Why a table's configuration file was refused; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    File(#[from] crate::toml_file::TomlFileError),
    #[error("{}: clock_offset_ms is for rehearsals; it needs mode = \"test\"", .0.display())]
    ClockOffset(PathBuf),
    #[error("{}: [scanner] kind = \"evdev\" needs `path` or `name`", .0.display())]
    EvdevWithoutDevice(PathBuf),
    #[error("{}: contests is empty", .0.display())]
    NoContests(PathBuf),
    #[error(
        "{}: [pins] valgsekretaer: one shared PIN is no longer read; list each official with a personal PIN instead: [[officials]] name = \"…\", role = \"valgsekretaer\" or \"valgstyrer\", pin_hash = \"…\" (`valgbord pin hash`; valgbord election load writes them)",
        .0.display()
    )]
    SinglePin(PathBuf),
    #[error("{}: {source}", .path.display())]
    Officials {
        path: PathBuf,
        source: crate::election::official::OfficialsError,
    },
    #[error("{}: {source}", .path.display())]
    Shares { path: PathBuf, source: SharesError },
    #[error("{}: {source}", .path.display())]
    Sync {
        path: PathBuf,
        source: SyncConfigError,
    },
    #[error("{}: {source}", .path.display())]
    Listen {
        path: PathBuf,
        source: ListenNotLoopback,
    },
}

/// An election table whose screen would listen beyond loopback: the screen shows voters'
/// names and birthdates.
#[derive(Debug, thiserror::Error)]
#[error(
    "listen = {0}: in an election the table screen, which shows voters' names and birthdates, listens on loopback only (127.0.0.1); sync to other tables uses [sync] listen over TLS"
)]
pub struct ListenNotLoopback(pub SocketAddr);

/// Why the `[fast_bordvalg]` section is not a plan of shares.
#[derive(Debug, thiserror::Error)]
pub enum SharesError {
    #[error("[fast_bordvalg] \"{0}\": the key must be a table number")]
    TableNumber(String),
    #[error("[fast_bordvalg] {table}: {source}")]
    Share { table: String, source: ShareError },
    #[error("[fast_bordvalg]: the shares of tables {0} and {1} overlap")]
    Overlap(u32, u32),
}

impl TableConfig {
    /// `debounce_ms` when the file does not say.
    pub const DEFAULT_DEBOUNCE_MS: u64 = 2_000;

    pub fn load(path: &Path) -> Result<TableConfig, ConfigError> {
        let at = || path.to_path_buf();
        let cfg: TableConfig = crate::toml_file::read(path)?;
        if cfg.clock_offset_ms != 0 && !cfg.is_test() {
            return Err(ConfigError::ClockOffset(at()));
        }
        if let ScannerConfig::Evdev {
            path: None,
            name: None,
            ..
        } = &cfg.scanner
        {
            return Err(ConfigError::EvdevWithoutDevice(at()));
        }
        if cfg.contests.is_empty() {
            return Err(ConfigError::NoContests(at()));
        }
        if cfg.pins.is_some() {
            return Err(ConfigError::SinglePin(at()));
        }
        crate::election::official::check(
            &cfg.officials,
            |i| format!("[[officials]] {}", i + 1),
            false,
        )
        .map_err(|source| ConfigError::Officials { path: at(), source })?;
        cfg.fast_shares()
            .map_err(|source| ConfigError::Shares { path: at(), source })?;
        cfg.sync
            .check(!cfg.is_test())
            .map_err(|source| ConfigError::Sync { path: at(), source })?;
        cfg.check_listen()
            .map_err(|source| ConfigError::Listen { path: at(), source })?;
        Ok(cfg)
    }

    /// In an election the screen listener stays on loopback: it serves voters' names,
    /// birthdates and addresses to whoever reaches it, and only the kiosk browser on
    /// the same device should. Other tables reach this one over TLS on `[sync] listen`.
    /// Test mode (demos, rehearsals in network namespaces) may listen elsewhere.
    fn check_listen(&self) -> Result<(), ListenNotLoopback> {
        if self.is_test() || self.listen.ip().is_loopback() {
            return Ok(());
        }
        Err(ListenNotLoopback(self.listen))
    }

    /// The `[fast_bordvalg]` shares, checked: table numbers, ranges, and that no voter
    /// falls in two tables' shares is the office's to plan (overlaps are refused here
    /// only for løbenummer ranges, which can be checked without the list).
    pub fn fast_shares(&self) -> Result<Vec<(u32, Share)>, SharesError> {
        let mut out: Vec<(u32, Share)> = Vec::new();
        for (table, range) in &self.fast_bordvalg {
            let n: u32 = table
                .trim()
                .parse()
                .map_err(|_| SharesError::TableNumber(table.clone()))?;
            let share = Share::parse(range).map_err(|source| SharesError::Share {
                table: table.clone(),
                source,
            })?;
            out.push((n, share));
        }
        for (i, (a, sa)) in out.iter().enumerate() {
            for (b, sb) in &out[i + 1..] {
                if let (Share::ListNos { from: f1, to: t1 }, Share::ListNos { from: f2, to: t2 }) =
                    (sa, sb)
                    && f1 <= t2
                    && f2 <= t1
                {
                    return Err(SharesError::Overlap(*a, *b));
                }
            }
        }
        Ok(out)
    }

    pub fn is_test(&self) -> bool {
        self.mode == Mode::Test
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_shared_pin_is_refused_with_what_to_write_instead() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table.toml");
        let example = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("config/table.toml"),
        )
        .unwrap();
        let text = example.replace(
            "[fast_bordvalg]",
            "[pins]\nvalgsekretaer = \"x\"\n\n[fast_bordvalg]",
        );
        std::fs::write(&path, text).unwrap();
        let e = TableConfig::load(&path).unwrap_err().to_string();
        assert!(e.contains("[pins]") && e.contains("[[officials]]"), "{e}");
    }

    #[test]
    fn the_shipped_example_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/table.toml");
        let cfg = TableConfig::load(&path).unwrap();
        assert_eq!(cfg.table_no, 2);
        assert!(matches!(cfg.scanner, ScannerConfig::Evdev { .. }));
        assert!(matches!(cfg.signals, SignalsConfig::Gpio { green: 17, .. }));
        assert!(!cfg.is_test());
        assert_eq!(
            cfg.sync.listen,
            Some(SocketAddr::from(([0, 0, 0, 0], 8443)))
        );
        assert!(cfg.sync.mdns);
        assert!(cfg.sync.peers.iter().all(|p| p.starts_with("https://")));
    }

    #[test]
    fn plain_http_peers_are_refused_in_an_election_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.toml");
        let base = "election = \"e\"\ndatabase = \"d\"\nkey = \"k\"\nplace = \"1\"\ntable_no = 1\ncontests = [\"KV\"]\n";
        let sync = "[sync]\nlisten = \"0.0.0.0:8443\"\npeers = [\"http://10.0.0.2:8080\"]\n";
        std::fs::write(&p, format!("{base}mode = \"election\"\n{sync}")).unwrap();
        let e = TableConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("plain HTTP") && e.contains("https://"), "{e}");
        std::fs::write(&p, format!("{base}mode = \"test\"\n{sync}")).unwrap();
        assert!(TableConfig::load(&p).is_ok());
        let central = "[sync]\nlisten = \"0.0.0.0:8443\"\ncentral = \"http://kontor:8090\"\n";
        std::fs::write(&p, format!("{base}mode = \"election\"\n{central}")).unwrap();
        assert!(
            TableConfig::load(&p)
                .unwrap_err()
                .to_string()
                .contains("[sync] central")
        );
        // Peers but no TLS listener: the others could not reach this table.
        let nolisten = "[sync]\npeers = [\"https://10.0.0.2:8443\"]\n";
        std::fs::write(&p, format!("{base}mode = \"election\"\n{nolisten}")).unwrap();
        assert!(
            TableConfig::load(&p)
                .unwrap_err()
                .to_string()
                .contains("listen")
        );
        std::fs::write(&p, format!("{base}mode = \"test\"\n[sync]\nmdns = true\n")).unwrap();
        assert!(
            TableConfig::load(&p)
                .unwrap_err()
                .to_string()
                .contains("mdns")
        );
    }

    #[test]
    fn unknown_keys_and_modes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.toml");
        let base = "election = \"e\"\ndatabase = \"d\"\nkey = \"k\"\nplace = \"1\"\ntable_no = 1\ncontests = [\"KV\"]\n";
        std::fs::write(&p, format!("{base}tabel = 3\n")).unwrap();
        assert!(
            TableConfig::load(&p)
                .unwrap_err()
                .to_string()
                .contains("tabel")
        );
        std::fs::write(&p, format!("{base}mode = \"prøve\"\n")).unwrap();
        assert!(
            TableConfig::load(&p)
                .unwrap_err()
                .to_string()
                .contains("mode")
        );
    }

    #[test]
    fn the_screen_listens_on_loopback_only_in_an_election() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.toml");
        let base = "election = \"e\"\ndatabase = \"d\"\nkey = \"k\"\nplace = \"1\"\ntable_no = 1\ncontests = [\"KV\"]\nlisten = \"0.0.0.0:8080\"\n";
        std::fs::write(&p, format!("{base}mode = \"election\"\n")).unwrap();
        let e = TableConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("listen = 0.0.0.0:8080: in an election"), "{e}");
        std::fs::write(&p, format!("{base}mode = \"test\"\n")).unwrap();
        TableConfig::load(&p).unwrap();
    }
}
