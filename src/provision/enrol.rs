//! The office's enrolment file: the public keys the devices made themselves, each with
//! its place in the election. `election new --enrol FILE` makes the packages from it,
//! so no secret key is ever made at the office or put on the USB stick.
//!
//! One device a line, `place,role,table_no,key`: `1,table,2,<64 hex digits>` or
//! `1,reserve,,<64 hex digits>`; a header line, blank lines and `#` comments are
//! skipped.

use crate::election::keys::DevicePublic;
use crate::election::roles::{Enrolment, Role, RoleError};
use std::collections::BTreeMap;

/// The enrolled devices of every polling place.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Enrolled {
    /// Per place: table number and key, by table number.
    pub tables: BTreeMap<String, BTreeMap<u32, DevicePublic>>,
    /// Per place: its reserve devices, in the file's order.
    pub reserves: BTreeMap<String, Vec<DevicePublic>>,
}

/// A line of the enrolment file that cannot be used; `line` counts from 1.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnrolError {
    #[error("line {line}: expected place,role,table_no,key (4 fields), found {found}")]
    Fields { line: usize, found: usize },
    #[error("line {line}: role \"{role}\" is neither table nor reserve")]
    Role { line: usize, role: String },
    #[error("line {line}: a table needs its number (a whole number from 1), found \"{found}\"")]
    TableNo { line: usize, found: String },
    #[error(
        "line {line}: a reserve has no table number (it stands in for any table of its place), found \"{found}\""
    )]
    ReserveNo { line: usize, found: String },
    #[error(
        "line {line}: \"{found}\" is not a public key (64 hexadecimal digits; `valgbord key show` on the device prints it)"
    )]
    Key { line: usize, found: String },
    #[error("{0}")]
    Twice(#[from] RoleError),
}

impl Enrolled {
    pub fn parse(text: &str) -> Result<Enrolled, EnrolError> {
        let mut e = Enrolled::default();
        let mut roles = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') || l.to_ascii_lowercase().starts_with("place,") {
                continue;
            }
            let line = i + 1;
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            let [place, role, table_no, key] = f[..] else {
                return Err(EnrolError::Fields {
                    line,
                    found: f.len(),
                });
            };
            let key = DevicePublic::from_hex(key).map_err(|_| EnrolError::Key {
                line,
                found: key.to_string(),
            })?;
            let place = place.to_string();
            match role.to_ascii_lowercase().as_str() {
                "table" => {
                    let n = table_no
                        .parse::<u32>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| EnrolError::TableNo {
                            line,
                            found: table_no.to_string(),
                        })?;
                    e.tables.entry(place.clone()).or_default().insert(n, key);
                    roles.push((key, Role::Table { place, table_no: n }));
                }
                "reserve" => {
                    if !table_no.is_empty() {
                        return Err(EnrolError::ReserveNo {
                            line,
                            found: table_no.to_string(),
                        });
                    }
                    e.reserves.entry(place.clone()).or_default().push(key);
                    roles.push((key, Role::Reserve { place }));
                }
                _ => {
                    return Err(EnrolError::Role {
                        line,
                        role: role.to_string(),
                    });
                }
            }
        }
        // A key twice, or a table with two keys, would leave it open who speaks for it.
        Enrolment::new(roles)?;
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::keys::DeviceSecret;

    fn key(seed: u8) -> String {
        DeviceSecret::from_seed([seed; 32]).public().to_hex()
    }

    #[test]
    fn tables_and_reserves_per_place() {
        let text = format!(
            "place,role,table_no,key\n# valgsted 1\n1,table,1,{}\n1,reserve,,{}\n2,table,1,{}\n",
            key(1),
            key(2),
            key(3)
        );
        let e = Enrolled::parse(&text).unwrap();
        assert_eq!(e.tables["1"].len(), 1);
        assert_eq!(e.tables["2"][&1].to_hex(), key(3));
        assert_eq!(e.reserves["1"][0].to_hex(), key(2));
    }

    #[test]
    fn a_bad_line_is_named() {
        let bad = [
            (format!("1,table,,{}", key(1)), "needs its number"),
            (format!("1,reserve,2,{}", key(1)), "has no table number"),
            (
                format!("1,valgstyrer,,{}", key(1)),
                "neither table nor reserve",
            ),
            ("1,table,1,abc".to_string(), "not a public key"),
            ("1,table,1".to_string(), "4 fields"),
            (
                format!("1,table,1,{}\n1,table,1,{}", key(1), key(2)),
                "two keys",
            ),
            (
                format!("1,table,1,{}\n2,reserve,,{}", key(1), key(1)),
                "enrolled twice",
            ),
        ];
        for (text, says) in bad {
            let e = Enrolled::parse(&text).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
