//! The people who may act with a PIN at a polling place: the valgsekretær and the
//! valgstyrere, each with a personal PIN, so every privileged action in the log and in
//! the closing report names who did it. A valgstyrer presides over the polling place
//! and may do all the valgsekretær may; the role travels with the name so duties of
//! one role alone (two valgstyrere examining brevstemmer) can be added later.

use serde::{Deserialize, Serialize};

/// What an official is at the polling place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OfficialRole {
    Valgsekretaer,
    Valgstyrer,
}

impl OfficialRole {
    /// The role as the package, the configuration and the officials file spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            OfficialRole::Valgsekretaer => "valgsekretaer",
            OfficialRole::Valgstyrer => "valgstyrer",
        }
    }

    /// The role as people read it (screen, log lines, the closing report).
    pub fn danish(self) -> &'static str {
        match self {
            OfficialRole::Valgsekretaer => "valgsekretær",
            OfficialRole::Valgstyrer => "valgstyrer",
        }
    }

    pub fn parse(s: &str) -> Option<OfficialRole> {
        match s.trim() {
            "valgsekretaer" | "valgsekretær" => Some(OfficialRole::Valgsekretaer),
            "valgstyrer" => Some(OfficialRole::Valgstyrer),
            _ => None,
        }
    }
}

/// One official as the election package and the table's configuration list them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Official {
    pub name: String,
    pub role: OfficialRole,
    /// Argon2 hash of the official's PIN (`valgbord pin hash`).
    pub pin_hash: String,
}

/// Who acted, as an event names it: never the hash, only the person and the role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActedBy {
    pub name: String,
    pub role: OfficialRole,
}

impl ActedBy {
    /// "Mette Holm (valgstyrer)".
    pub fn label(&self) -> String {
        format!("{} ({})", self.name, self.role.danish())
    }
}

/// Why a list of officials cannot be used; `at` names the entry ("line 3", "officials[2]").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfficialsError {
    #[error("the officials list has no valgsekretær: add a line with role valgsekretaer")]
    NoSecretary,
    #[error("{at}: the name is empty")]
    EmptyName { at: String },
    #[error("{at}: \"{name}\" is listed twice; every official needs a name of their own")]
    Duplicate { at: String, name: String },
    #[error(
        "{at}: the PIN hash of \"{name}\" is not an argon2 hash; make it with `valgbord pin hash`"
    )]
    NotArgon2 { at: String, name: String },
    #[error("{at}: unknown role \"{role}\"; write valgsekretaer or valgstyrer")]
    UnknownRole { at: String, role: String },
    #[error("{at}: {why}")]
    Unreadable { at: String, why: String },
    #[error(
        "polling place {place} has no valgsekretær in the officials file: add a line {place},NAME,valgsekretaer,HASH"
    )]
    NoSecretaryAt { place: String },
    #[error(
        "the officials file names no official of polling place {place}: add its valgsekretær and valgstyrere with the place column"
    )]
    NoneFor { place: String },
}

/// Checks names and hashes of a list of officials; `at(i)` names entry `i` in the
/// caller's terms (a line of a file, an index in a package). `need_secretary`: a
/// package and an officials file must name one; a table's configuration may list none
/// (then nothing needing a PIN can be done at it).
pub fn check(
    officials: &[Official],
    at: impl Fn(usize) -> String,
    need_secretary: bool,
) -> Result<(), OfficialsError> {
    for (i, o) in officials.iter().enumerate() {
        let name = o.name.trim();
        if name.is_empty() {
            return Err(OfficialsError::EmptyName { at: at(i) });
        }
        if officials[..i].iter().any(|p| p.name.trim() == name) {
            return Err(OfficialsError::Duplicate {
                at: at(i),
                name: name.to_string(),
            });
        }
        if argon2::password_hash::PasswordHash::new(&o.pin_hash)
            .map(|h| !h.algorithm.as_str().starts_with("argon2"))
            .unwrap_or(true)
        {
            return Err(OfficialsError::NotArgon2 {
                at: at(i),
                name: name.to_string(),
            });
        }
    }
    let has_secretary = officials
        .iter()
        .any(|o| o.role == OfficialRole::Valgsekretaer);
    if need_secretary && !has_secretary {
        return Err(OfficialsError::NoSecretary);
    }
    Ok(())
}

/// An officials file as read: one list for every polling place (header
/// `name,role,pin_hash`), or a list per polling place (header
/// `place,name,role,pin_hash`) — each place has valgstyrere of its own, so a
/// municipality with several places writes the place column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficialsFile {
    /// The officials of every place, from a file without the place column.
    everywhere: Vec<Official>,
    /// The officials per place, from a file with the place column.
    by_place: std::collections::BTreeMap<String, Vec<Official>>,
}

impl OfficialsFile {
    /// The officials of polling place `place`: refused when the file has a place column
    /// and no line for it.
    pub fn for_place(&self, place: &str) -> Result<Vec<Official>, OfficialsError> {
        if self.by_place.is_empty() {
            return Ok(self.everywhere.clone());
        }
        self.by_place
            .get(place)
            .cloned()
            .ok_or_else(|| OfficialsError::NoneFor {
                place: place.to_string(),
            })
    }

    /// The places the file names (none for a file without the place column).
    pub fn places(&self) -> impl Iterator<Item = &str> {
        self.by_place.keys().map(String::as_str)
    }
}

/// Reads an officials file (see [`OfficialsFile`]), one official a line, each place's
/// list checked as [`check`] does with the line numbers of the file.
pub fn parse_csv(text: &str) -> Result<OfficialsFile, OfficialsError> {
    // Flexible: an argon2 hash holds commas ("m=19456,t=2,p=1"), and the hash as
    // `valgbord pin hash` prints it, unquoted, is the rest of the line.
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| OfficialsError::Unreadable {
            at: "line 1".into(),
            why: e.to_string(),
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let with_place = match header.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["name", "role", "pin_hash"] => false,
        ["place", "name", "role", "pin_hash"] => true,
        _ => {
            return Err(OfficialsError::Unreadable {
                at: "line 1".into(),
                why: format!(
                    "the header is \"{}\"; write name,role,pin_hash (the same officials at every polling place) or place,name,role,pin_hash",
                    header.join(",")
                ),
            });
        }
    };
    let skip = usize::from(with_place);
    // Per place (the empty place for a file without the column): officials and lines.
    let mut groups: std::collections::BTreeMap<String, (Vec<Official>, Vec<u64>)> =
        Default::default();
    for record in reader.records() {
        let record = record.map_err(|e| OfficialsError::Unreadable {
            at: e
                .position()
                .map(|p| format!("line {}", p.line()))
                .unwrap_or_else(|| "the file".into()),
            why: e.to_string(),
        })?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let at = format!("line {line}");
        let field = |i: usize| record.get(i + skip).unwrap_or("").to_string();
        let place = if with_place {
            let place = record.get(0).unwrap_or("").to_string();
            if place.is_empty() {
                return Err(OfficialsError::Unreadable {
                    at,
                    why: "the polling place is empty".into(),
                });
            }
            place
        } else {
            String::new()
        };
        let role = OfficialRole::parse(&field(1)).ok_or_else(|| OfficialsError::UnknownRole {
            at: at.clone(),
            role: field(1),
        })?;
        let pin_hash = record.iter().skip(2 + skip).collect::<Vec<_>>().join(",");
        let group = groups.entry(place).or_default();
        group.0.push(Official {
            name: field(0),
            role,
            pin_hash,
        });
        group.1.push(line);
    }
    if groups.is_empty() {
        return Err(OfficialsError::NoSecretary);
    }
    for (place, (officials, lines)) in &groups {
        check(officials, |i| format!("line {}", lines[i]), true).map_err(|e| match e {
            OfficialsError::NoSecretary if with_place => OfficialsError::NoSecretaryAt {
                place: place.clone(),
            },
            e => e,
        })?;
    }
    let mut groups = groups.into_iter().map(|(p, (o, _))| (p, o));
    Ok(if with_place {
        OfficialsFile {
            everywhere: Vec::new(),
            by_place: groups.collect(),
        }
    } else {
        OfficialsFile {
            everywhere: groups.next().map(|(_, o)| o).unwrap_or_default(),
            by_place: Default::default(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `valgbord pin hash` of 246810.
    fn hash() -> String {
        "$argon2id$v=19$m=19456,t=2,p=1$HSpozQwcVoqWYjAjppuogw$q0g/6lHli7W1BX6v1yVjfeTQVi9xGyJCkfM5fw4fmjg".into()
    }

    #[test]
    fn a_good_file_reads_with_roles() {
        let h = hash();
        let text = format!(
            "name,role,pin_hash\nAnne Sørensen,valgsekretaer,{h}\nMette Holm,valgstyrer,\"{h}\"\n"
        );
        let o = parse_csv(&text).unwrap().for_place("7").unwrap();
        assert_eq!(o.len(), 2);
        assert_eq!(o[1].name, "Mette Holm");
        assert_eq!(o[1].role, OfficialRole::Valgstyrer);
        assert_eq!(o[1].pin_hash, h);
        // Unquoted, as `valgbord pin hash` prints it: the hash is the rest of the line.
        assert_eq!(o[0].pin_hash, h);
    }

    #[test]
    fn bad_files_are_refused_naming_the_line() {
        let h = hash();
        let none = format!("name,role,pin_hash\nMette Holm,valgstyrer,{h}\n");
        assert_eq!(parse_csv(&none), Err(OfficialsError::NoSecretary));
        let twice = format!(
            "name,role,pin_hash\nAnne,valgsekretaer,{h}\nMette,valgstyrer,{h}\nAnne,valgstyrer,{h}\n"
        );
        let e = parse_csv(&twice).unwrap_err().to_string();
        assert!(e.starts_with("line 4:") && e.contains("twice"), "{e}");
        let bad = format!("name,role,pin_hash\nAnne,valgsekretaer,{h}\nMette,valgstyrer,4711\n");
        let e = parse_csv(&bad).unwrap_err().to_string();
        assert!(e.starts_with("line 3:") && e.contains("argon2"), "{e}");
        let empty = format!("name,role,pin_hash\n ,valgsekretaer,{h}\n");
        assert!(
            parse_csv(&empty)
                .unwrap_err()
                .to_string()
                .starts_with("line 2:")
        );
        let role = format!("name,role,pin_hash\nAnne,formand,{h}\n");
        assert!(
            parse_csv(&role)
                .unwrap_err()
                .to_string()
                .contains("formand")
        );
    }

    #[test]
    fn a_file_with_the_place_column_gives_each_place_its_own_officials() {
        let h = hash();
        let text = format!(
            "place,name,role,pin_hash\n1,Anne,valgsekretaer,{h}\n1,Mette,valgstyrer,{h}\n2,Jens,valgsekretaer,{h}\n"
        );
        let f = parse_csv(&text).unwrap();
        let names = |p| -> Vec<String> {
            f.for_place(p)
                .unwrap()
                .into_iter()
                .map(|o| o.name)
                .collect()
        };
        assert_eq!(names("1"), ["Anne", "Mette"]);
        assert_eq!(names("2"), ["Jens"]);
        assert_eq!(
            f.for_place("3"),
            Err(OfficialsError::NoneFor { place: "3".into() })
        );
        // A place with valgstyrere only is refused, naming the place.
        let text =
            format!("place,name,role,pin_hash\n1,Anne,valgsekretaer,{h}\n2,Mette,valgstyrer,{h}\n");
        assert_eq!(
            parse_csv(&text),
            Err(OfficialsError::NoSecretaryAt { place: "2".into() })
        );
    }
}
