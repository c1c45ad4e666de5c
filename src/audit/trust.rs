//! What the audit believes before it reads a single event, and why: every package
//! opened with the office's public key, the devices' roles from those packages alone,
//! every list file against its package's hash and the office's signature, every
//! election-day list change against the office's signature.

use super::bundle::Bundle;
use super::finding::{Finding, who};
use crate::election::keys::DevicePublic;
use crate::election::list_change::SignedListChange;
use crate::election::list_signature::verify_list_signature;
use crate::election::roles::{Enrolment, Role};
use crate::provision::package::{Package, sha256_hex};
use std::collections::BTreeMap;

/// The election as the office's signatures establish it.
pub struct Election {
    pub id: String,
    pub name: String,
    pub enrolment: Enrolment,
    /// The packages by polling place.
    pub packages: BTreeMap<String, Package>,
    /// The verified list files by SHA-256.
    pub lists: BTreeMap<String, Vec<u8>>,
    /// Every bundle is of a rehearsal (test mode): its test events are accepted, and
    /// the report says so.
    pub test: bool,
    pub office: DevicePublic,
}

/// Opens every bundle's package and list; what does not hold goes to `findings`.
/// `None` when there is no election to check against at all.
pub fn establish(
    bundles: &[(String, Bundle)],
    office: DevicePublic,
    findings: &mut Vec<Finding>,
) -> Option<Election> {
    let mut packages = BTreeMap::new();
    let mut roles: Vec<(DevicePublic, Role)> = Vec::new();
    let mut add = |key: DevicePublic, role: Role| {
        if !roles.iter().any(|(k, r)| *k == key && *r == role) {
            roles.push((key, role));
        }
    };
    for (file, b) in bundles {
        let Some(signed) = &b.package else { continue };
        let found = |reason: String| Finding {
            bundle: file.clone(),
            device: who(&b.header.device, None),
            seq: None,
            reason,
        };
        let p = match signed.open(office) {
            Ok(p) => p,
            Err(e) => {
                findings.push(found(format!(
                    "valgpakken holder ikke mod valgkontorets nøgle: {e}"
                )));
                continue;
            }
        };
        for t in &p.tables {
            add(
                t.device,
                Role::Table {
                    place: p.place.id.clone(),
                    table_no: t.table_no,
                },
            );
        }
        for r in &p.reserves {
            add(
                *r,
                Role::Reserve {
                    place: p.place.id.clone(),
                },
            );
        }
        for c in p.all_centrals() {
            add(c.device, Role::Central);
        }
        packages.insert(p.place.id.clone(), p);
    }
    let first = packages.values().next()?.clone();
    let enrolment = match Enrolment::new(roles) {
        Ok(e) => e,
        Err(e) => {
            findings.push(Finding {
                bundle: "(alle)".into(),
                device: "valgpakkerne".into(),
                seq: None,
                reason: format!("pakkerne indskriver enhederne modstridende: {e}"),
            });
            return None;
        }
    };
    let mut election = Election {
        id: first.election.id.clone(),
        name: first.election.name.clone(),
        enrolment,
        packages,
        lists: BTreeMap::new(),
        test: bundles.iter().all(|(_, b)| b.header.mode == "test"),
        office,
    };
    for (file, b) in bundles {
        check_bundle(&mut election, file, b, findings);
    }
    Some(election)
}

/// One bundle's header, list and list changes against the office's signatures.
fn check_bundle(e: &mut Election, file: &str, b: &Bundle, findings: &mut Vec<Finding>) {
    let device = who(&b.header.device, Some(&e.enrolment));
    let mut found = |seq: Option<u64>, reason: String| {
        findings.push(Finding {
            bundle: file.to_string(),
            device: device.clone(),
            seq,
            reason,
        })
    };
    if b.header.election != e.id {
        found(
            None,
            format!(
                "bundtet er fra valget \"{}\", ikke \"{}\"",
                b.header.election, e.id
            ),
        );
    }
    let held_role = DevicePublic::from_hex(&b.header.device)
        .ok()
        .and_then(|k| e.enrolment.role(&k).cloned());
    if held_role.is_none() {
        found(None, "enheden er ikke indskrevet i nogen valgpakke".into());
    }
    if let (Some(list), Some(place)) = (&b.list, &b.header.place) {
        match (list.bytes(), e.packages.get(place)) {
            (Err(why), _) => found(None, format!("valglisten kan ikke læses: {why}")),
            (Ok(_), None) => found(None, format!("ingen gyldig valgpakke for valgsted {place}")),
            (Ok(bytes), Some(p)) => {
                let sha = sha256_hex(&bytes);
                let sig = hex::decode(p.list.signature.trim()).unwrap_or_default();
                if sha != p.list.sha256 {
                    found(
                        None,
                        format!(
                            "valglisten er ikke den valgkontoret signerede: SHA-256 {sha}, pakken siger {}",
                            p.list.sha256
                        ),
                    );
                } else if let Err(why) = verify_list_signature(&bytes, &sig, e.office) {
                    found(None, format!("valglistens signatur holder ikke: {why}"));
                } else {
                    e.lists.insert(sha, bytes);
                }
            }
        }
    }
    for c in &b.list_changes {
        let signed = SignedListChange {
            body: c.body.clone(),
            signature: c.signature.clone(),
        };
        let office = (!e.test || !c.signature.is_empty()).then_some(e.office);
        if let Err(why) = signed.open(office, &e.id) {
            findings.push(Finding {
                bundle: file.to_string(),
                device: who(&c.device, Some(&e.enrolment)),
                seq: Some(c.seq),
                reason: format!("listeændring {}: {}", c.serial, why.danish),
            });
        }
    }
}
