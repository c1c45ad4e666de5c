//! Making a device's bundle from its database, read-only: the log and facts in one read
//! transaction, the closing report by the code that prints it, the package and list
//! files the device keeps beside its database (`provision::load`). Writing it again
//! later gives the same content but for the time it was written.

use super::bundle::Bundle;
use super::bundle::{
    BundledEvent, FORMAT, Header, ListChangeCopy, ListFile, NOTHING_BEYOND, ReportCopy, VERSION,
};
use super::figures::Figures;
use crate::election::event::{EventBody, EventKind};
use crate::election::keys::DevicePublic;
use crate::election::roles::{Role, Scope};
use crate::print::card::ElectionInfo;
use crate::print::report::ClosingReport;
use crate::provision::package::{LIST_FILE, PACKAGE_FILE, Package, SignedPackage, sha256_hex};
use crate::store::bundle_queries::StoredEvent;
use crate::store::meta::MetaKey;
use crate::store::read_snapshot::ReadOnlyDb;
use anyhow::{Context, anyhow};
use std::path::Path;

/// Receipt columns of the report's text, as the table's printer prints it.
const COLUMNS: usize = 48;

/// What the database itself says, read in one transaction.
struct Held {
    events: Vec<StoredEvent>,
    forks: Vec<crate::election::event::ForkEvidence>,
    election: String,
    mode: String,
    list_sha256: Option<String>,
    device: Option<String>,
    exported: Option<String>,
    /// The central's tally and snapshots, when asked for (a device without a package).
    central: Option<super::central::CentralCopy>,
}

fn read_held(db: &Path, central: bool) -> anyhow::Result<Held> {
    let ro = ReadOnlyDb::open(db).with_context(|| format!("cannot open {}", db.display()))?;
    let snap = ro.snapshot()?;
    let held = Held {
        events: snap.stored_events()?,
        forks: snap.stored_forks()?,
        election: snap
            .meta_value(MetaKey::Election)?
            .ok_or_else(|| anyhow!("{} is not bound to an election", db.display()))?,
        mode: snap.meta_value(MetaKey::Mode)?.unwrap_or_default(),
        list_sha256: snap.meta_value(MetaKey::ListSha256)?,
        device: snap.meta_value(MetaKey::Device)?,
        exported: snap.meta_value(MetaKey::ClosingReport)?,
        central: if central {
            Some(super::central::copy(&snap)?)
        } else {
            None
        },
    };
    snap.finish()?;
    Ok(held)
}

/// The device whose database this is: as the table recorded at its start, else the
/// key file beside the database (the central's), else `given`.
fn device_of(db: &Path, held: &Held, given: Option<DevicePublic>) -> anyhow::Result<DevicePublic> {
    if let Some(d) = given {
        return Ok(d);
    }
    if let Some(hex) = &held.device {
        return DevicePublic::from_hex(hex)
            .map_err(|e| anyhow!("device key in {}: {e}", db.display()));
    }
    let key = db.with_file_name("device.key");
    if key.exists() {
        return Ok(crate::store::keyfile::load(&key)?.public());
    }
    Err(anyhow!(
        "{} does not say which device it belongs to: give --device with its public key",
        db.display()
    ))
}

/// The table the device's own events speak for (a reserve names the table it replaced).
fn own_table(events: &[StoredEvent], device: &str) -> Option<u32> {
    events.iter().filter(|e| e.device == device).find_map(|e| {
        let body: EventBody = serde_json::from_str(&e.signed.body).ok()?;
        match body.kind.scope() {
            Scope::OwnTable { table_no, .. } => Some(table_no),
            _ => None,
        }
    })
}

fn role_in(p: &Package, device: DevicePublic) -> Option<Role> {
    let place = p.place.id.clone();
    if let Some(t) = p.tables.iter().find(|t| t.device == device) {
        return Some(Role::Table {
            place,
            table_no: t.table_no,
        });
    }
    if p.reserves.contains(&device) {
        return Some(Role::Reserve { place });
    }
    p.all_centrals()
        .any(|c| c.device == device)
        .then_some(Role::Central)
}

fn list_changes(events: &[StoredEvent]) -> Vec<ListChangeCopy> {
    events
        .iter()
        .filter_map(|e| {
            let body: EventBody = serde_json::from_str(&e.signed.body).ok()?;
            match body.kind {
                EventKind::ListChanged {
                    change_id,
                    serial,
                    body,
                    signature,
                } => Some(ListChangeCopy {
                    device: e.device.clone(),
                    seq: e.seq,
                    change_id,
                    serial,
                    body,
                    signature,
                }),
                _ => None,
            }
        })
        .collect()
}

fn read_package(dir: &Path) -> anyhow::Result<Option<(SignedPackage, Package)>> {
    let path = dir.join(PACKAGE_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let signed: SignedPackage = serde_json::from_slice(&std::fs::read(&path)?)
        .with_context(|| format!("{} is not an election package", path.display()))?;
    let package: Package = serde_json::from_str(&signed.body)
        .with_context(|| format!("{} does not read as a package", path.display()))?;
    Ok(Some((signed, package)))
}

fn read_list(dir: &Path, package: &Package) -> anyhow::Result<Option<ListFile>> {
    use base64::Engine;
    let path = dir.join(LIST_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Some(ListFile {
        name: LIST_FILE.into(),
        sha256: sha256_hex(&bytes),
        signature: package.list.signature.clone(),
        base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
    }))
}

/// The closing report of `place` and the log it was computed from, of one moment: read
/// again while a table appended between the two reads.
fn report_and_log(db: &Path, place: &str) -> anyhow::Result<(ClosingReport, Held)> {
    for _ in 0..5 {
        let rep = ClosingReport::read(db, place, crate::store::now_ms())?;
        let held = read_held(db, false)?;
        let mut versions: Vec<(String, u64)> = Vec::new();
        for e in &held.events {
            match versions.last_mut() {
                Some((d, s)) if *d == e.device => *s = e.seq,
                _ => versions.push((e.device.clone(), e.seq)),
            }
        }
        if versions == rep.versions {
            return Ok((rep, held));
        }
    }
    Err(anyhow!(
        "the log of {} kept changing while it was read; export again when the table is closed",
        db.display()
    ))
}

/// The bundle of the device whose database is `db` (opened read-only; nothing in it
/// changes).
pub fn bundle_of(db: &Path, device: Option<DevicePublic>) -> anyhow::Result<Bundle> {
    let dir = db.parent().unwrap_or(Path::new("."));
    let package = read_package(dir)?;
    let (report, held) = match &package {
        Some((_, p)) => {
            let (rep, held) = report_and_log(db, &p.place.id)?;
            (Some(rep), held)
        }
        None => (None, read_held(db, true)?),
    };
    let device = device_of(db, &held, device)?;
    let role = package.as_ref().and_then(|(_, p)| role_in(p, device));
    let closing_report = match (&report, &package) {
        (Some(rep), Some((_, p))) => {
            let election = ElectionInfo {
                id: p.election.id.clone(),
                name: p.election.name.clone(),
                date: Some(p.election.date),
            };
            let exported = held.exported.as_deref().and_then(|j| {
                serde_json::from_str::<crate::store::retention::ExportedReport>(j).ok()
            });
            Some(ReportCopy {
                figures: Figures::from(rep),
                text: rep.to_receipt(&election, None).to_text(COLUMNS),
                exported_pdf_sha256: exported.map(|e| e.sha256),
            })
        }
        _ => None,
    };
    let list = match &package {
        Some((_, p)) => read_list(dir, p)?,
        None => None,
    };
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        device: device.to_hex(),
        place: package.as_ref().map(|(_, p)| p.place.id.clone()),
        table_no: own_table(&held.events, &device.to_hex()),
        role,
        election: held.election.clone(),
        mode: held.mode.clone(),
        list_sha256: held.list_sha256.clone(),
        written_at: chrono::Local::now().to_rfc3339(),
        note: NOTHING_BEYOND.into(),
    };
    Ok(Bundle {
        header,
        package: package.map(|(s, _)| s),
        list,
        list_changes: list_changes(&held.events),
        events: held
            .events
            .iter()
            .map(|e| BundledEvent {
                body: e.signed.body.clone(),
                sig: e.signed.sig.clone(),
                hash: hex::encode(&e.hash),
            })
            .collect(),
        forks: held.forks,
        closing_report,
        central: held.central,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::event::EventKind;
    use crate::election::keys::DeviceSecret;
    use crate::store::Store;
    use crate::store::append::Author;
    use crate::store::binding::Mode;

    #[test]
    fn a_bundle_reads_back_as_written_and_the_database_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("central.db");
        let key = DeviceSecret::generate();
        let mut bytes = Vec::new();
        crate::store::generate::write_list(&mut bytes, 20, 1, 1, "KV+RV").unwrap();
        let mut store = Store::open(&db).unwrap();
        store.import_file(&bytes, true, |_| {}).unwrap();
        store.bind("kv-test", Mode::Test).unwrap();
        let author = Author {
            key: &key,
            election: "kv-test",
            test: true,
        };
        for kind in [
            EventKind::TableOpened {
                place: "1".into(),
                table_no: 1,
            },
            EventKind::TablePaused {
                place: "1".into(),
                table_no: 1,
            },
        ] {
            store.append_local(&author, 1000, kind).unwrap();
        }
        drop(store);
        let before = std::fs::read(&db).unwrap();
        let bundle = bundle_of(&db, Some(key.public())).unwrap();
        assert_eq!(
            std::fs::read(&db).unwrap(),
            before,
            "export changed the database"
        );
        assert_eq!(bundle.events.len(), 2);
        assert_eq!(bundle.header.table_no, Some(1));
        assert_eq!(bundle.header.device, key.public().to_hex());
        assert!(bundle.package.is_none() && bundle.closing_report.is_none());
        let out = dir.path().join("bundle.json");
        bundle.write(&out).unwrap();
        bundle.write(&out).unwrap();
        assert_eq!(super::Bundle::read(&out).unwrap(), bundle);
        let mut other = serde_json::to_value(&bundle).unwrap();
        other["header"]["format"] = "zip".into();
        let e = super::Bundle::from_bytes(other.to_string().as_bytes()).unwrap_err();
        assert!(e.contains("format zip"), "{e}");
    }
}
