//! The table daemon's configuration file (TOML). `config/table.toml` is the commented
//! example.

use crate::election::contest::Contest;
use crate::election::keys::DevicePublic;
use crate::election::place_mode::Share;
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
    #[serde(default)]
    pub pins: PinConfig,
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

impl HardwareConfig {
    pub fn parse(text: &str) -> Result<HardwareConfig, String> {
        toml::from_str(text).map_err(|e| format!("the hardware configuration: {e}"))
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
    pub fn enrolled(&self, place: &str) -> Result<(DevicePublic, Role), String> {
        let key = DevicePublic::from_hex(&self.key)
            .map_err(|e| format!("[sync] devices: \"{}\": {e}", self.key))?;
        let role = match (self.role, self.table_no) {
            (DeviceRole::Table, Some(table_no)) => Role::Table {
                place: place.to_string(),
                table_no,
            },
            (DeviceRole::Table, None) => {
                return Err(format!(
                    "[sync] devices: \"{}\" has role = \"table\" but no table_no",
                    self.key
                ));
            }
            (_, Some(_)) => {
                return Err(format!(
                    "[sync] devices: \"{}\": table_no belongs only to role = \"table\"",
                    self.key
                ));
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
    pub fn check(&self, election: bool) -> Result<(), String> {
        if self.keys.is_some() {
            return Err("[sync] keys: a list of keys without roles is no longer read; list each device with its role instead: devices = [{ key = \"…\", role = \"table\", table_no = 1 }, { key = \"…\", role = \"reserve\" }, { key = \"…\", role = \"central\" }] (valgbord election load writes it)".into());
        }
        for (what, url) in self
            .peers
            .iter()
            .map(|u| ("peers", u))
            .chain(self.central.iter().map(|u| ("central", u)))
        {
            let plain = url.starts_with("http://");
            if !plain && !url.starts_with("https://") {
                return Err(format!(
                    "[sync] {what}: \"{url}\" is not a URL; write https://HOST:PORT"
                ));
            }
            if plain && election {
                return Err(format!(
                    "[sync] {what}: \"{url}\" is plain HTTP; in an election (mode = \"election\") sync runs only over TLS: use https:// and the peer's [sync] listen port"
                ));
            }
        }
        if self.mdns && self.listen.is_none() {
            return Err(
                "[sync] mdns = true needs `listen`: the port other tables are told to connect to"
                    .into(),
            );
        }
        if election && self.listen.is_none() && !self.peers.is_empty() {
            return Err("[sync] listen is missing: the other tables must be able to reach this one over TLS (e.g. listen = \"0.0.0.0:8443\")".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PinConfig {
    /// Argon2 hash of the valgsekretær's PIN (`valgbord pin hash`). Without it, undo is
    /// refused.
    pub valgsekretaer: Option<String>,
}

impl TableConfig {
    /// `debounce_ms` when the file does not say.
    pub const DEFAULT_DEBOUNCE_MS: u64 = 2_000;

    pub fn load(path: &Path) -> Result<TableConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let cfg: TableConfig =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if cfg.clock_offset_ms != 0 && !cfg.is_test() {
            return Err(format!(
                "{}: clock_offset_ms is for rehearsals; it needs mode = \"test\"",
                path.display()
            ));
        }
        if let ScannerConfig::Evdev {
            path: None,
            name: None,
            ..
        } = &cfg.scanner
        {
            return Err(format!(
                "{}: [scanner] kind = \"evdev\" needs `path` or `name`",
                path.display()
            ));
        }
        if cfg.contests.is_empty() {
            return Err(format!("{}: contests is empty", path.display()));
        }
        cfg.fast_shares()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        cfg.sync
            .check(!cfg.is_test())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        cfg.check_listen()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(cfg)
    }

    /// In an election the screen listener stays on loopback: it serves voters' names,
    /// birthdates and addresses to whoever reaches it, and only the kiosk browser on
    /// the same device should. Other tables reach this one over TLS on `[sync] listen`.
    /// Test mode (demos, rehearsals in network namespaces) may listen elsewhere.
    fn check_listen(&self) -> Result<(), String> {
        if self.is_test() || self.listen.ip().is_loopback() {
            return Ok(());
        }
        Err(format!(
            "listen = {}: in an election the table screen, which shows voters' names and birthdates, listens on loopback only (127.0.0.1); sync to other tables uses [sync] listen over TLS",
            self.listen
        ))
    }

    /// The `[fast_bordvalg]` shares, checked: table numbers, ranges, and that no voter
    /// falls in two tables' shares is the office's to plan (overlaps are refused here
    /// only for løbenummer ranges, which can be checked without the list).
    pub fn fast_shares(&self) -> Result<Vec<(u32, Share)>, String> {
        let mut out: Vec<(u32, Share)> = Vec::new();
        for (table, range) in &self.fast_bordvalg {
            let n: u32 = table.trim().parse().map_err(|_| {
                format!("[fast_bordvalg] \"{table}\": the key must be a table number")
            })?;
            let share = Share::parse(range).map_err(|e| format!("[fast_bordvalg] {table}: {e}"))?;
            out.push((n, share));
        }
        for (i, (a, sa)) in out.iter().enumerate() {
            for (b, sb) in &out[i + 1..] {
                if let (Share::ListNos { from: f1, to: t1 }, Share::ListNos { from: f2, to: t2 }) =
                    (sa, sb)
                    && f1 <= t2
                    && f2 <= t1
                {
                    return Err(format!(
                        "[fast_bordvalg]: the shares of tables {a} and {b} overlap"
                    ));
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
        let e = TableConfig::load(&p).unwrap_err();
        assert!(e.contains("plain HTTP") && e.contains("https://"), "{e}");
        std::fs::write(&p, format!("{base}mode = \"test\"\n{sync}")).unwrap();
        assert!(TableConfig::load(&p).is_ok());
        let central = "[sync]\nlisten = \"0.0.0.0:8443\"\ncentral = \"http://kontor:8090\"\n";
        std::fs::write(&p, format!("{base}mode = \"election\"\n{central}")).unwrap();
        assert!(
            TableConfig::load(&p)
                .unwrap_err()
                .contains("[sync] central")
        );
        // Peers but no TLS listener: the others could not reach this table.
        let nolisten = "[sync]\npeers = [\"https://10.0.0.2:8443\"]\n";
        std::fs::write(&p, format!("{base}mode = \"election\"\n{nolisten}")).unwrap();
        assert!(TableConfig::load(&p).unwrap_err().contains("listen"));
        std::fs::write(&p, format!("{base}mode = \"test\"\n[sync]\nmdns = true\n")).unwrap();
        assert!(TableConfig::load(&p).unwrap_err().contains("mdns"));
    }

    #[test]
    fn unknown_keys_and_modes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.toml");
        let base = "election = \"e\"\ndatabase = \"d\"\nkey = \"k\"\nplace = \"1\"\ntable_no = 1\ncontests = [\"KV\"]\n";
        std::fs::write(&p, format!("{base}tabel = 3\n")).unwrap();
        assert!(TableConfig::load(&p).unwrap_err().contains("tabel"));
        std::fs::write(&p, format!("{base}mode = \"prøve\"\n")).unwrap();
        assert!(TableConfig::load(&p).unwrap_err().contains("mode"));
    }

    #[test]
    fn the_screen_listens_on_loopback_only_in_an_election() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.toml");
        let base = "election = \"e\"\ndatabase = \"d\"\nkey = \"k\"\nplace = \"1\"\ntable_no = 1\ncontests = [\"KV\"]\nlisten = \"0.0.0.0:8080\"\n";
        std::fs::write(&p, format!("{base}mode = \"election\"\n")).unwrap();
        let e = TableConfig::load(&p).unwrap_err();
        assert!(e.contains("listen = 0.0.0.0:8080: in an election"), "{e}");
        std::fs::write(&p, format!("{base}mode = \"test\"\n")).unwrap();
        TableConfig::load(&p).unwrap();
    }
}
