//! The central tally's configuration file (TOML). `config/central.toml` is the commented
//! example.

use crate::election::keys::{DevicePublic, KeyHexError};
use crate::store::binding::Mode;
use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct CentralConfig {
    pub election: String,
    /// "election" or "test".
    #[serde(default)]
    pub mode: Mode,
    pub database: PathBuf,
    /// The central's own device key: it signs the central's sync requests, so every
    /// table must list its public half in `[sync] devices` (role "central") for the
    /// central's pulls.
    pub key: PathBuf,
    /// The office screen, its API and /metrics; HTTPS with `tls_cert` and `tls_key`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The certificate (PEM, a chain is fine) of the office screen, as the municipality
    /// provides it: the screen carries logins and who voted over the WAN, so an
    /// election central does not start without it.
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Sync over mutual TLS with the device keys, as between tables: the tables push
    /// here and the other centrals pull here, and only enrolled keys get through.
    pub sync_listen: Option<SocketAddr>,
    pub election_name: Option<String>,
    /// The election day; snapshots are taken at `snapshots` on this day. Without it, the
    /// day the central was started.
    pub election_date: Option<NaiveDate>,
    /// Local times ("HH:MM") of the turnout snapshots.
    #[serde(default)]
    pub snapshots: Vec<String>,
    /// Test mode only: the central's clock runs this many milliseconds off.
    #[serde(default)]
    pub clock_offset_ms: i64,
    /// Every table of the election: its polling place, number and public key; `url` when
    /// the central should also pull from it.
    #[serde(default)]
    pub tables: Vec<TableEntry>,
    #[serde(default)]
    pub users: Vec<UserEntry>,
    /// The office's other central tallies (an office that cannot lose its tally runs
    /// two, in two places): each is pulled from like a table, and may pull from this
    /// one, so either holds every event the other got.
    #[serde(default)]
    pub centrals: Vec<OtherCentral>,
    /// The polling places' reserve devices (as in their election packages): a reserve
    /// standing in for a broken table is sent its place's events like a table, so it
    /// can catch up from the central when no table of its place answers, and its own
    /// check-ins are accepted here.
    #[serde(default)]
    pub reserves: Vec<ReserveEntry>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReserveEntry {
    pub place: String,
    /// The reserve's public key (hex), as `valgbord key show` prints it.
    pub key: String,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct OtherCentral {
    /// Base URL of the other central's sync ("http://kontor2:8090").
    pub url: String,
    /// Its device key (hex): the `device` of its `GET /sync/v1/hello`.
    pub key: String,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TableEntry {
    pub place: String,
    pub table_no: u32,
    /// The table's public key (hex), as `valgbord table` prints it in its health.
    pub key: String,
    /// Base URL the central pulls from ("http://10.3.0.12:8080"); without it the central
    /// waits for the table's pushes.
    pub url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads totals, snapshots and exports.
    Read,
    /// Also takes an extra snapshot on demand.
    Admin,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub name: String,
    /// Argon2 hash of the password (`valgbord pin hash`).
    pub password: String,
    pub role: Role,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8090))
}

/// A table as the central knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownTable {
    pub place: String,
    pub table_no: u32,
    pub key: DevicePublic,
    pub url: Option<String>,
}

/// What is wrong in a central's configuration; each message names the key, and tables
/// and centrals by their index in the file.
#[derive(Debug, thiserror::Error)]
pub enum CentralConfigError {
    #[error("clock_offset_ms is for rehearsals; it needs mode = \"test\"")]
    ClockOffset,
    #[error("users is empty: nobody could log in to the election office screen")]
    NoUsers,
    #[error("users: the name \"{0}\" appears twice")]
    UserTwice(String),
    #[error(
        "users: the password of \"{0}\" is not an argon2 hash (make one with `valgbord pin hash`)"
    )]
    NotArgon2(String),
    #[error("snapshots: \"{0}\" is not a time of day (expected HH:MM, e.g. \"09:00\")")]
    SnapshotTime(String),
    #[error("snapshots: \"{0}\" appears twice")]
    SnapshotTwice(String),
    #[error("tables[{i}].key: \"{key}\": {source}")]
    TableKey {
        i: usize,
        key: String,
        source: KeyHexError,
    },
    #[error("tables[{0}].key: the key is listed twice")]
    TableKeyTwice(usize),
    #[error("tables[{i}]: polling place {place} table {table_no} is listed twice")]
    SeatTwice {
        i: usize,
        place: String,
        table_no: u32,
    },
    #[error(
        "the office screen carries logins and who voted over the WAN: give tls_cert and tls_key (PEM files of the municipality's certificate and its key); plain HTTP only with mode = \"test\""
    )]
    NoOfficeTls,
    #[error("tls_cert and tls_key go together: give both or neither")]
    HalfOfficeTls,
    #[error(
        "{what}: \"{url}\" is plain HTTP; in an election the central syncs only over mutual TLS (https://)"
    )]
    PlainSyncUrl { what: String, url: String },
    #[error("tables[{i}].url: \"{url}\" must start with http:// or https://")]
    TableUrl { i: usize, url: String },
    #[error("centrals[{i}].url: \"{url}\" must start with http:// or https://")]
    CentralUrl { i: usize, url: String },
    #[error("centrals[{i}].key: \"{key}\": {source}")]
    CentralKey {
        i: usize,
        key: String,
        source: KeyHexError,
    },
    #[error("reserves[{i}].key: \"{key}\": {source}")]
    ReserveKey {
        i: usize,
        key: String,
        source: KeyHexError,
    },
}

/// Why the central's configuration file was refused; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadConfigError {
    #[error(transparent)]
    File(#[from] crate::toml_file::TomlFileError),
    #[error("{}: {source}", .path.display())]
    Check {
        path: PathBuf,
        source: CentralConfigError,
    },
}

impl CentralConfig {
    pub fn load(path: &Path) -> Result<CentralConfig, LoadConfigError> {
        let at = || path.to_path_buf();
        let cfg: CentralConfig = crate::toml_file::read(path)?;
        cfg.check()
            .map_err(|source| LoadConfigError::Check { path: at(), source })?;
        Ok(cfg)
    }

    /// Every check that needs no file: each message names the key that is wrong.
    pub fn check(&self) -> Result<(), CentralConfigError> {
        if self.clock_offset_ms != 0 && !self.is_test() {
            return Err(CentralConfigError::ClockOffset);
        }
        self.snapshot_times()?;
        self.known_tables()?;
        self.other_centrals()?;
        if self.users.is_empty() {
            return Err(CentralConfigError::NoUsers);
        }
        let mut names = HashSet::new();
        for u in &self.users {
            if !names.insert(u.name.as_str()) {
                return Err(CentralConfigError::UserTwice(u.name.clone()));
            }
            if argon2::password_hash::PasswordHash::new(&u.password).is_err() {
                return Err(CentralConfigError::NotArgon2(u.name.clone()));
            }
        }
        self.check_tls()
    }

    /// In an election the office screen is HTTPS and sync leaves only over mutual TLS.
    fn check_tls(&self) -> Result<(), CentralConfigError> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) | (None, Some(_)) => return Err(CentralConfigError::HalfOfficeTls),
            (None, None) if !self.is_test() => return Err(CentralConfigError::NoOfficeTls),
            _ => {}
        }
        if self.is_test() {
            return Ok(());
        }
        let tables = self.tables.iter().enumerate().filter_map(|(i, t)| {
            t.url
                .as_ref()
                .map(|u| (format!("tables[{i}].url"), u.clone()))
        });
        let centrals = (self.centrals.iter().enumerate())
            .map(|(i, c)| (format!("centrals[{i}].url"), c.url.clone()));
        match tables
            .chain(centrals)
            .find(|(_, u)| u.starts_with("http://"))
        {
            Some((what, url)) => Err(CentralConfigError::PlainSyncUrl { what, url }),
            None => Ok(()),
        }
    }

    pub fn is_test(&self) -> bool {
        self.mode == Mode::Test
    }

    /// The snapshot times, sorted, with their labels.
    pub fn snapshot_times(&self) -> Result<Vec<NaiveTime>, CentralConfigError> {
        let mut out = Vec::new();
        for s in &self.snapshots {
            let t = NaiveTime::parse_from_str(s.trim(), "%H:%M")
                .map_err(|_| CentralConfigError::SnapshotTime(s.clone()))?;
            if out.contains(&t) {
                return Err(CentralConfigError::SnapshotTwice(s.clone()));
            }
            out.push(t);
        }
        out.sort();
        Ok(out)
    }

    /// The tables, checked: valid keys, no key or (place, table) twice.
    pub fn known_tables(&self) -> Result<Vec<KnownTable>, CentralConfigError> {
        let mut keys = HashSet::new();
        let mut seats = HashSet::new();
        let mut out = Vec::new();
        for (i, t) in self.tables.iter().enumerate() {
            let key = DevicePublic::from_hex(t.key.trim()).map_err(|source| {
                CentralConfigError::TableKey {
                    i,
                    key: t.key.clone(),
                    source,
                }
            })?;
            if !keys.insert(key) {
                return Err(CentralConfigError::TableKeyTwice(i));
            }
            if !seats.insert((t.place.clone(), t.table_no)) {
                return Err(CentralConfigError::SeatTwice {
                    i,
                    place: t.place.clone(),
                    table_no: t.table_no,
                });
            }
            if let Some(u) = &t.url
                && !(u.starts_with("http://") || u.starts_with("https://"))
            {
                return Err(CentralConfigError::TableUrl { i, url: u.clone() });
            }
            out.push(KnownTable {
                place: t.place.clone(),
                table_no: t.table_no,
                key,
                url: t.url.as_ref().map(|u| u.trim_end_matches('/').to_string()),
            });
        }
        Ok(out)
    }

    /// The other centrals, checked: a URL and a valid key each.
    pub fn other_centrals(&self) -> Result<Vec<(String, DevicePublic)>, CentralConfigError> {
        self.centrals
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if !(c.url.starts_with("http://") || c.url.starts_with("https://")) {
                    return Err(CentralConfigError::CentralUrl {
                        i,
                        url: c.url.clone(),
                    });
                }
                let key = DevicePublic::from_hex(c.key.trim()).map_err(|source| {
                    CentralConfigError::CentralKey {
                        i,
                        key: c.key.clone(),
                        source,
                    }
                })?;
                Ok((c.url.trim_end_matches('/').to_string(), key))
            })
            .collect()
    }

    /// The reserve devices with their polling places.
    pub fn known_reserves(&self) -> Result<Vec<(DevicePublic, String)>, CentralConfigError> {
        self.reserves
            .iter()
            .enumerate()
            .map(|(i, r)| {
                DevicePublic::from_hex(r.key.trim())
                    .map(|key| (key, r.place.clone()))
                    .map_err(|source| CentralConfigError::ReserveKey {
                        i,
                        key: r.key.clone(),
                        source,
                    })
            })
            .collect()
    }

    /// Tables per polling place, for the screens.
    pub fn tables_by_place(&self) -> BTreeMap<String, Vec<u32>> {
        let mut m: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for t in &self.tables {
            m.entry(t.place.clone()).or_default().push(t.table_no);
        }
        for v in m.values_mut() {
            v.sort();
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_example_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/central.toml");
        let cfg = CentralConfig::load(&path).unwrap();
        assert!(!cfg.is_test());
        assert_eq!(cfg.snapshot_times().unwrap().len(), 8);
        let tables = cfg.known_tables().unwrap();
        assert!(tables.len() >= 2);
        assert!(tables.iter().any(|t| t.url.is_some()));
        assert!(cfg.users.iter().any(|u| u.role == Role::Admin));
        assert!(cfg.users.iter().any(|u| u.role == Role::Read));
    }

    fn base() -> String {
        let h = crate::password::hash_pin("x").unwrap();
        format!(
            "election = \"e\"\ndatabase = \"d\"\nkey = \"k\"\n\
             tls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n\
             [[users]]\nname = \"a\"\npassword = \"{h}\"\nrole = \"admin\"\n"
        )
    }

    fn load(text: &str) -> Result<CentralConfig, String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, text).unwrap();
        CentralConfig::load(&p).map_err(|e| e.to_string())
    }

    #[test]
    fn mistakes_are_named() {
        assert!(load(&base()).is_ok());
        let key = "11".repeat(32);
        let cases = [
            ("snapshots = [\"9\"]\n", "snapshots"),
            ("clock_offset_ms = 5\n", "clock_offset_ms"),
            ("mode = \"prøve\"\n", "mode"),
            ("tabels = []\n", "tabels"),
        ];
        for (extra, word) in cases {
            let e = load(&format!("{extra}{}", base())).unwrap_err();
            assert!(e.contains(word), "{extra}: {e}");
        }
        let twice = format!(
            "{}[[tables]]\nplace = \"1\"\ntable_no = 1\nkey = \"{key}\"\n\
             [[tables]]\nplace = \"1\"\ntable_no = 2\nkey = \"{key}\"\n",
            base()
        );
        assert!(load(&twice).unwrap_err().contains("tables[1].key"));
        let bad = format!(
            "{}[[tables]]\nplace = \"1\"\ntable_no = 1\nkey = \"xyz\"\n",
            base()
        );
        assert!(load(&bad).unwrap_err().contains("tables[0].key"));
        let nobody = "election = \"e\"\ndatabase = \"d\"\nkey = \"k\"\n";
        assert!(load(nobody).unwrap_err().contains("users"));
        let plain = base().replace("$argon2", "plain");
        assert!(load(&plain).unwrap_err().contains("argon2"));
    }

    #[test]
    fn an_election_central_is_https_and_syncs_over_tls() {
        let no_tls = base().replace("tls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n", "");
        let e = load(&no_tls).unwrap_err();
        assert!(e.contains("tls_cert") && e.contains("WAN"), "{e}");
        assert!(load(&format!("mode = \"test\"\n{no_tls}")).is_ok());
        let half = base().replace("tls_key = \"k.pem\"\n", "");
        assert!(load(&half).unwrap_err().contains("go together"));
        let key = "11".repeat(32);
        let table = |url: &str| {
            format!(
                "{}[[tables]]\nplace = \"1\"\ntable_no = 1\nkey = \"{key}\"\nurl = \"{url}\"\n",
                base()
            )
        };
        let e = load(&table("http://10.0.0.1:8443")).unwrap_err();
        assert!(e.contains("tables[0].url") && e.contains("https://"), "{e}");
        assert!(load(&table("https://10.0.0.1:8443")).is_ok());
        let central = format!(
            "{}[[centrals]]\nurl = \"http://k2:8091\"\nkey = \"{key}\"\n",
            base()
        );
        assert!(load(&central).unwrap_err().contains("centrals[0].url"));
    }
}
