//! The signed election package of one polling place: what a table needs to become a
//! table of this election — the election, the polling place, the public key of every
//! device of the place (its tables and reserves; each device made its own key and
//! keeps the secret half), the voter list's hash and signature, the brevstemme marks, the valgsekretær
//! PIN — signed by the office key that every Pi has installed. The office makes one per
//! polling place (`valgbord election new`); a table loads it from a USB stick or from a
//! peer of its polling place (`valgbord election load`).

use super::error::PackageError;
use crate::election::contest::Contest;
use crate::election::keys::{DevicePublic, DeviceSecret};
use crate::election::list_change::BrevstemmeDigest;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Domain separation for the office's signature over a package.
const PACKAGE_CONTEXT: &[u8] = b"valgbord-election-package-v1\0";
pub const FORMAT: &str = "valgbord-election-package-v1";
/// File names inside a package folder.
pub const PACKAGE_FILE: &str = "package.json";
pub const LIST_FILE: &str = "valgliste.csv";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    pub format: String,
    pub election: ElectionInfo,
    pub place: PlaceInfo,
    pub tables: Vec<TableEntry>,
    /// Spare devices of the place: each may be loaded as any table of it, so a broken
    /// Pi is replaced on the day without a new package. Absent in packages made before
    /// reserves existed.
    #[serde(default)]
    pub reserves: Vec<DevicePublic>,
    /// The election office's tally as packages made before there could be more than one
    /// named it; read so such a package still loads, never written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub central: Option<CentralEntry>,
    /// The election office's tallies (none, one, or the office's and a reserve in
    /// another building): every table pushes to and pulls from each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub centrals: Vec<CentralEntry>,
    pub list: ListInfo,
    /// The valgsekretær and the valgstyrere of this polling place, each with the argon2
    /// hash of a personal PIN, so every privileged action names who did it.
    pub officials: Vec<crate::election::official::Official>,
    /// Where each polling place of the list is (street, postcode, town), as the office
    /// gave them: a voter at the wrong place is told where to go. Absent in packages
    /// made before the office gave addresses; a place left out is named without one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub place_addresses: Vec<PlaceAddress>,
    /// When the office made the package (its clock, RFC 3339): a device refuses a
    /// package older than the one it holds.
    pub created: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElectionInfo {
    pub id: String,
    pub name: String,
    pub date: chrono::NaiveDate,
    pub contests: Vec<Contest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceInfo {
    pub id: String,
    pub name: String,
}

/// A polling place's address, by the place's id on the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceAddress {
    pub place: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableEntry {
    pub table_no: u32,
    pub device: DevicePublic,
    /// Where the table answers its peers ("http://10.0.0.11:8080"), when planned.
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentralEntry {
    pub url: String,
    pub device: DevicePublic,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListInfo {
    /// SHA-256 of the list file's bytes (hex), as shown on every screen.
    pub sha256: String,
    /// The office's detached signature of the list file (hex), as `voters import` takes.
    pub signature: String,
    /// Voters on the whole list and of this polling place.
    pub voters: u64,
    pub voters_here: u64,
    /// The accepted brevstemmer of the whole list.
    pub brevstemmer: BrevstemmeDigest,
}

/// A package as written to `package.json`: the exact signed text and the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedPackage {
    pub body: String,
    pub signature: String,
}

fn message(body: &str) -> Vec<u8> {
    let mut m = PACKAGE_CONTEXT.to_vec();
    m.extend_from_slice(body.as_bytes());
    m
}

impl SignedPackage {
    pub fn sign(p: &Package, office: &DeviceSecret) -> Result<Self, PackageError> {
        let body = serde_json::to_string_pretty(p).map_err(PackageError::Serialize)?;
        let signature = hex::encode(office.sign(&message(&body)).to_bytes());
        Ok(SignedPackage { body, signature })
    }

    /// Checks the office signature and reads the package. Every refusal says what is
    /// wrong, for the person at the Pi.
    pub fn open(&self, office: DevicePublic) -> Result<Package, PackageError> {
        let sig: [u8; 64] = hex::decode(self.signature.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(PackageError::NoSignature)?;
        if !office.verify(&message(&self.body), &sig) {
            return Err(PackageError::Altered);
        }
        let p: Package = serde_json::from_str(&self.body).map_err(PackageError::Parse)?;
        if p.format != FORMAT {
            return Err(PackageError::Format(p.format));
        }
        crate::election::official::check(&p.officials, |i| format!("officials[{i}]"), true)
            .map_err(PackageError::Officials)?;
        Ok(p)
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Package {
    pub fn table(&self, table_no: u32) -> Option<&TableEntry> {
        self.tables.iter().find(|t| t.table_no == table_no)
    }

    /// Every central the package names, an older package's single one included.
    pub fn all_centrals(&self) -> impl Iterator<Item = &CentralEntry> {
        self.central.iter().chain(&self.centrals)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A package of polling place 1 with one table; also `load`'s tests start from it.
    pub(crate) fn package() -> Package {
        Package {
            format: FORMAT.into(),
            election: ElectionInfo {
                id: "kv2025".into(),
                name: "Kommunal- og regionsrådsvalg".into(),
                date: chrono::NaiveDate::from_ymd_opt(2025, 11, 18).unwrap(),
                contests: vec![Contest::Kv, Contest::Rv],
            },
            place: PlaceInfo {
                id: "1".into(),
                name: "Rådhushallen".into(),
            },
            tables: vec![TableEntry {
                table_no: 1,
                device: DeviceSecret::from_seed([3; 32]).public(),
                address: None,
            }],
            reserves: vec![DeviceSecret::from_seed([5; 32]).public()],
            central: None,
            centrals: Vec::new(),
            list: ListInfo {
                sha256: "00".into(),
                signature: "11".into(),
                voters: 10,
                voters_here: 5,
                brevstemmer: BrevstemmeDigest::of(["a"]),
            },
            officials: vec![crate::election::official::Official {
                name: "Anne Sørensen".into(),
                role: crate::election::official::OfficialRole::Valgsekretaer,
                pin_hash: "$argon2id$v=19$m=19456,t=2,p=1$HSpozQwcVoqWYjAjppuogw$q0g/6lHli7W1BX6v1yVjfeTQVi9xGyJCkfM5fw4fmjg".into(),
            }],
            place_addresses: Vec::new(),
            created: "2025-11-01T10:00:00+01:00".into(),
        }
    }

    #[test]
    fn a_package_without_a_valgsekretaer_or_with_a_bad_hash_is_refused() {
        let office = DeviceSecret::from_seed([1; 32]);
        let mut p = package();
        p.officials[0].role = crate::election::official::OfficialRole::Valgstyrer;
        let e = SignedPackage::sign(&p, &office)
            .unwrap()
            .open(office.public());
        assert!(e.unwrap_err().to_string().contains("no valgsekretær"));
        let mut p = package();
        p.officials[0].pin_hash = "246810".into();
        let e = SignedPackage::sign(&p, &office)
            .unwrap()
            .open(office.public());
        let e = e.unwrap_err().to_string();
        assert!(e.contains("officials[0]") && e.contains("argon2"), "{e}");
    }

    #[test]
    fn a_signed_package_opens_and_a_changed_one_does_not() {
        let office = DeviceSecret::from_seed([1; 32]);
        let s = SignedPackage::sign(&package(), &office).unwrap();
        assert_eq!(s.open(office.public()).unwrap(), package());
        let mut t = s.clone();
        t.body = t.body.replace("Rådhushallen", "Rådhushal1en");
        assert!(
            t.open(office.public())
                .unwrap_err()
                .to_string()
                .contains("altered")
        );
        let other = DeviceSecret::from_seed([2; 32]);
        assert!(s.open(other.public()).is_err());
    }

    #[test]
    fn a_package_without_place_addresses_still_opens_and_one_with_them_keeps_them() {
        let office = DeviceSecret::from_seed([1; 32]);
        let old = SignedPackage::sign(&package(), &office).unwrap();
        assert!(!old.body.contains("place_addresses"), "{}", old.body);
        assert!(
            old.open(office.public())
                .unwrap()
                .place_addresses
                .is_empty()
        );
        let mut p = package();
        p.place_addresses = vec![PlaceAddress {
            place: "2".into(),
            address: "Skolevej 2, 8000 Aarhus C".into(),
        }];
        let opened = SignedPackage::sign(&p, &office)
            .unwrap()
            .open(office.public())
            .unwrap();
        assert_eq!(opened.place_addresses, p.place_addresses);
    }

    #[test]
    fn an_older_package_naming_one_central_still_opens_with_it() {
        let office = DeviceSecret::from_seed([1; 32]);
        let central = CentralEntry {
            url: "https://10.1.0.1:8443".into(),
            device: DeviceSecret::from_seed([7; 32]).public(),
        };
        let mut p = package();
        p.central = Some(central.clone());
        let body = serde_json::to_string_pretty(&p).unwrap();
        assert!(body.contains("\"central\"") && !body.contains("\"centrals\""));
        let opened = SignedPackage::sign(&p, &office)
            .unwrap()
            .open(office.public())
            .unwrap();
        assert_eq!(opened.all_centrals().collect::<Vec<_>>(), [&central]);
        let mut two = package();
        two.centrals = vec![central.clone(), central.clone()];
        let body = serde_json::to_string_pretty(&two).unwrap();
        assert!(!body.contains("\"central\""), "{body}");
        assert_eq!(two.all_centrals().count(), 2);
    }
}
