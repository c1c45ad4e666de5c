//! Making an election at the office: the list checked, then one signed package per
//! polling place from the public keys the devices made themselves (the enrolment) and
//! the place's officials. `valgbord election new` and the demo both make their packages
//! here, so the demo's tables are provisioned the way an election's are.

use super::enrol::Enrolled;
use super::error::{MakeError, PackageError};
use super::package::{
    CentralEntry, ElectionInfo, FORMAT, LIST_FILE, ListInfo, PACKAGE_FILE, Package, PlaceAddress,
    PlaceInfo, SignedPackage, TableEntry, sha256_hex,
};
use crate::election::keys::{DevicePublic, DeviceSecret};
use crate::election::list_change::BrevstemmeDigest;
use crate::election::official::OfficialsFile;
use crate::election::{list_signature, voter_list};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the office decided for the election.
pub struct Plan<'a> {
    pub election: ElectionInfo,
    /// The municipality's list file (with its brevstemme marks), as signed.
    pub list: &'a [u8],
    pub enrolled: &'a Enrolled,
    pub officials: &'a OfficialsFile,
    /// Where a table answers its peers, by (place, table number), when planned.
    pub addresses: &'a BTreeMap<(String, u32), String>,
    /// Each polling place's street address, by place id (every package carries all).
    pub place_addresses: &'a BTreeMap<String, String>,
    /// The office's central tallies (the office's and a reserve, or none), in the order
    /// every table lists them.
    pub centrals: Vec<CentralEntry>,
    /// The package of this polling place alone (the demo's): the enrolment need not
    /// cover the list's other places. `None` (an election): every place of the list.
    pub only_place: Option<&'a str>,
}

/// Where [`one_place`] writes the packages, under its folder.
pub const PACKAGES_DIR: &str = "pakker";

/// One polling place's package, as written.
pub struct Made {
    pub dir: PathBuf,
    pub package: Package,
}

/// The packages of the election and the list's figures, for the office to read back.
pub struct Election {
    pub places: Vec<Made>,
    pub voters: u64,
    pub brevstemmer: u64,
    pub sha256: String,
}

/// The folder of polling place `place`'s package under `out`.
pub fn place_dir(out: &Path, place: &str) -> PathBuf {
    out.join(format!("valgsted-{place}"))
}

/// Checks the list, the enrolment and the officials against each other, then writes a
/// signed package and the list into `out/valgsted-<place>` for every place of the list.
/// Nothing is written when any check fails.
pub fn make_packages(
    plan: &Plan,
    office: &DeviceSecret,
    out: &Path,
) -> Result<Election, MakeError> {
    let parsed = voter_list::parse(plan.list, |_| {}).map_err(|errors| MakeError::List {
        count: errors.len(),
        first: errors.first().map(|e| e.to_string()).unwrap_or_default(),
    })?;
    let places: Vec<(String, String)> = match plan.only_place {
        None => parsed.places.clone(),
        Some(only) => parsed
            .places
            .iter()
            .filter(|(p, _)| p == only)
            .cloned()
            .collect(),
    };
    if let Some(only) = plan.only_place.filter(|_| places.is_empty()) {
        return Err(MakeError::UnknownPlace(only.to_string()));
    }
    check_enrolment(plan.enrolled, &places, &parsed.places)?;
    for place in plan.officials.places() {
        if !parsed.places.iter().any(|(p, _)| p == place) {
            return Err(MakeError::OfficialsOfUnknownPlace(place.to_string()));
        }
    }
    for place in plan.place_addresses.keys() {
        if !parsed.places.iter().any(|(p, _)| p == place) {
            return Err(MakeError::AddressOfUnknownPlace(place.to_string()));
        }
    }
    let place_addresses: Vec<PlaceAddress> = plan
        .place_addresses
        .iter()
        .map(|(place, address)| PlaceAddress {
            place: place.clone(),
            address: address.clone(),
        })
        .collect();
    let list = ListInfo {
        sha256: sha256_hex(plan.list),
        signature: hex::encode(list_signature::sign_list(plan.list, office)),
        voters: parsed.voters.len() as u64,
        voters_here: 0,
        brevstemmer: BrevstemmeDigest::of_voters(&parsed.voters),
    };
    let created = chrono::Local::now().to_rfc3339();
    let mut packages = Vec::new();
    for (place, place_name) in &places {
        let tables = plan.enrolled.tables[place]
            .iter()
            .map(|(t, device)| TableEntry {
                table_no: *t,
                device: *device,
                address: plan.addresses.get(&(place.clone(), *t)).cloned(),
            })
            .collect();
        packages.push(Package {
            format: FORMAT.into(),
            election: plan.election.clone(),
            place: PlaceInfo {
                id: place.clone(),
                name: place_name.clone(),
            },
            tables,
            reserves: plan
                .enrolled
                .reserves
                .get(place)
                .cloned()
                .unwrap_or_default(),
            central: None,
            centrals: plan.centrals.clone(),
            list: ListInfo {
                voters_here: parsed.voters.iter().filter(|v| &v.place == place).count() as u64,
                ..list.clone()
            },
            officials: plan.officials.for_place(place)?,
            place_addresses: place_addresses.clone(),
            created: created.clone(),
        });
    }
    let mut places = Vec::new();
    for package in packages {
        let dir = place_dir(out, &package.place.id);
        write_package(&dir, &package, office, plan.list)?;
        places.push(Made { dir, package });
    }
    Ok(Election {
        places,
        voters: list.voters,
        brevstemmer: list.brevstemmer.count,
        sha256: list.sha256,
    })
}

/// What the office puts in one polling place's package made by [`one_place`].
pub struct OnePlace<'a> {
    pub election: ElectionInfo,
    pub list: &'a [u8],
    /// The place's id on the list.
    pub place: &'a str,
    /// The tables' public keys (made on the devices), enrolled as tables 1, 2, ….
    pub tables: &'a [DevicePublic],
    pub officials: &'a OfficialsFile,
    pub centrals: Vec<CentralEntry>,
    /// The places' street addresses by place id (as `election new --place-address`).
    pub place_addresses: &'a BTreeMap<String, String>,
}

/// The office's work for one polling place on one machine, as the demo and the rehearsal
/// do it: the tables enrolled in `dir/enrolment.csv`, the office key in
/// `dir/kontor/office.key` (made the first time), and the place's package signed into
/// `dir/`[`PACKAGES_DIR`]. Returns the package's folder and the office's public key,
/// which every table has installed.
pub fn one_place(dir: &Path, what: OnePlace) -> Result<(PathBuf, DevicePublic), MakeError> {
    let OnePlace {
        election,
        list,
        place,
        tables,
        officials,
        centrals,
        place_addresses,
    } = what;
    let mut enrolment = String::from("place,role,table_no,key\n");
    for (i, key) in tables.iter().enumerate() {
        enrolment.push_str(&format!("{place},table,{},{}\n", i + 1, key.to_hex()));
    }
    let path = dir.join("enrolment.csv");
    std::fs::write(&path, &enrolment).map_err(|source| MakeError::Write { path, source })?;
    let enrolled = Enrolled::parse(&enrolment)?;
    let office = crate::store::keyfile::load_or_create(&dir.join("kontor").join("office.key"))?;
    let plan = Plan {
        election,
        list,
        enrolled: &enrolled,
        place_addresses,
        officials,
        addresses: &BTreeMap::new(),
        centrals,
        only_place: Some(place),
    };
    let made = make_packages(&plan, &office, &dir.join(PACKAGES_DIR))?;
    let package = made
        .places
        .into_iter()
        .next()
        .map(|m| m.dir)
        .ok_or_else(|| MakeError::UnknownPlace(place.to_string()))?;
    Ok((package, office.public()))
}

/// Every polling place packaged has a table, and every enrolled place is on the list.
fn check_enrolment(
    enrolled: &Enrolled,
    places: &[(String, String)],
    on_list: &[(String, String)],
) -> Result<(), MakeError> {
    for (place, name) in places {
        if !enrolled.tables.contains_key(place) {
            return Err(MakeError::NoTable {
                place: place.clone(),
                name: name.clone(),
            });
        }
    }
    for place in enrolled.tables.keys().chain(enrolled.reserves.keys()) {
        if !on_list.iter().any(|(p, _)| p == place) {
            return Err(MakeError::UnknownPlace(place.clone()));
        }
    }
    Ok(())
}

/// Signs `package` and writes it with the list into the polling place's folder.
fn write_package(
    dir: &Path,
    package: &Package,
    office: &DeviceSecret,
    list: &[u8],
) -> Result<(), MakeError> {
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|source| MakeError::Write { path, source })
    };
    std::fs::create_dir_all(dir).map_err(|source| MakeError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let signed = SignedPackage::sign(package, office)?;
    let json = serde_json::to_string_pretty(&signed).map_err(PackageError::Serialize)?;
    write(PACKAGE_FILE, (json + "\n").as_bytes())?;
    write(LIST_FILE, list)
}
