//! `valgbord bench audit`: `valgbord audit` on the bundles of a polling place's day (10
//! tables, 25,000 voters, most of them checked in, every table holding every table's
//! events as after a converged day), timed. The bundles are made as `export` makes
//! them, from databases that took the day's signed events in through the store; only
//! the audit is timed.

use super::setup;
use crate::election::clock::Hlc;
use crate::election::contest::Contest;
use crate::election::event::{
    self, CheckInMethod, EventBody, EventHash, EventKind, SignedEvent, Trust,
};
use crate::election::keys::DeviceSecret;
use crate::election::roles::{Enrolment, Role};
use crate::election::voter_list;
use crate::provision::package::{ElectionInfo, LIST_FILE, PACKAGE_FILE};
use crate::store::Store;
use crate::store::binding::Mode;
use anyhow::anyhow;
use std::path::{Path, PathBuf};
use std::time::Instant;

const ELECTION: &str = "bench-audit";
const PLACE: &str = "1";

/// Every table's signed events of the day: its opening, then its share of check-ins
/// (every fifth eligible voter stays home).
fn day(keys: &[DeviceSecret], list: &[u8]) -> anyhow::Result<Vec<SignedEvent>> {
    let voters = voter_list::parse(list, |_| {})
        .map_err(|e| anyhow!("the generated list does not parse: {}", e[0]))?
        .voters;
    let mut chains: Vec<(u64, EventHash)> = vec![(0, EventHash::default()); keys.len()];
    let mut out = Vec::new();
    let mut append = |t: usize, kind: EventKind, out: &mut Vec<SignedEvent>| {
        let (seq, prev) = chains[t];
        let ms = 1_000 + out.len() as i64;
        let ev = event::sign(
            &EventBody {
                v: event::FORMAT_VERSION,
                election: ELECTION.into(),
                device: keys[t].public(),
                seq: seq + 1,
                hlc: Hlc::new(ms as u64, 0),
                wall_ms: ms,
                prev,
                test: true,
                kind,
                by: None,
            },
            &keys[t],
        );
        chains[t] = (seq + 1, ev.hash);
        out.push(ev.signed);
    };
    for t in 0..keys.len() {
        let table_no = t as u32 + 1;
        append(
            t,
            EventKind::TableOpened {
                place: PLACE.into(),
                table_no,
            },
            &mut out,
        );
    }
    let present = voters
        .iter()
        .filter(|v| v.place == PLACE && !v.brevstemme && v.struck.is_none())
        .enumerate()
        .filter(|(i, _)| i % 5 != 4);
    for (i, v) in present {
        let t = i % keys.len();
        let kind = EventKind::CheckIn {
            voter_id: v.id.clone(),
            place: PLACE.into(),
            table_no: t as u32 + 1,
            card_code: Some(v.card_code.clone()),
            method: CheckInMethod::Card,
            ballots: v.contests.clone(),
        };
        append(t, kind, &mut out);
    }
    Ok(out)
}

/// One database holding the list and the whole day, as every table's after convergence.
fn day_database(
    dir: &Path,
    pkg: &Path,
    keys: &[DeviceSecret],
    events: &[SignedEvent],
) -> anyhow::Result<PathBuf> {
    let db = dir.join("dag.db");
    crate::store::remove_scratch_database(&db);
    let mut store = Store::open(&db)?;
    let list = std::fs::read(pkg.join(LIST_FILE))?;
    store
        .import_file(&list, true, |_| {})
        .map_err(|e| anyhow!("the list does not import: {e:?}"))?;
    store.bind(ELECTION, Mode::Test)?;
    let enrolment = Enrolment::new(keys.iter().enumerate().map(|(t, k)| {
        (
            k.public(),
            Role::Table {
                place: PLACE.into(),
                table_no: t as u32 + 1,
            },
        )
    }))?;
    let trust = Trust {
        election: ELECTION.into(),
        enrolment: Some(enrolment),
        allow_test: true,
    };
    for page in events.chunks(2_000) {
        if let Some(Err(e)) = store
            .ingest_many(page, &trust)
            .into_iter()
            .find(|r| r.is_err())
        {
            return Err(anyhow!("the day's events do not ingest: {e}"));
        }
    }
    Ok(db)
}

pub fn run(tables: u32, voters: u64) -> crate::cli::failure::CmdResult {
    let dir = setup::tempdir()?.join("audit");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let mut list = Vec::new();
    crate::store::generate::write_list(
        &mut list,
        voters,
        7,
        1,
        crate::store::generate::DEFAULT_CONTESTS,
    )?;
    let keys: Vec<DeviceSecret> = (0..tables).map(|_| DeviceSecret::generate()).collect();
    let publics: Vec<_> = keys.iter().map(DeviceSecret::public).collect();
    let pin = crate::password::hash_pin("246810")?;
    let officials = crate::election::official::parse_csv(&format!(
        "name,role,pin_hash\nBench,valgsekretaer,\"{pin}\"\n"
    ))?;
    let election = ElectionInfo {
        id: ELECTION.into(),
        name: "Bench".into(),
        date: chrono::Local::now().date_naive(),
        contests: vec![Contest::Kv, Contest::Rv],
    };
    let (pkg, office) = crate::provision::make::one_place(
        &dir,
        crate::provision::make::OnePlace {
            election,
            list: &list,
            place: PLACE,
            tables: &publics,
            officials: &officials,
            centrals: Vec::new(),
            place_addresses: &crate::store::generate::place_addresses(1),
        },
    )?;
    let events = day(&keys, &list)?;
    let db = day_database(&dir, &pkg, &keys, &events)?;
    let mut bundles = Vec::new();
    for (t, key) in keys.iter().enumerate() {
        let state = dir.join(format!("bord-{}", t + 1));
        std::fs::create_dir_all(&state)?;
        for f in [PACKAGE_FILE, LIST_FILE] {
            std::fs::copy(pkg.join(f), state.join(f))?;
        }
        std::fs::copy(&db, state.join("valgbord.db"))?;
        let bundle =
            crate::audit::export::bundle_of(&state.join("valgbord.db"), Some(key.public()))?;
        let out = dir.join(format!("bord-{}.json", t + 1));
        bundle.write(&out)?;
        bundles.push(out);
    }
    let t0 = Instant::now();
    let report = crate::audit::check::audit(&bundles, office)?;
    let took = t0.elapsed().as_secs_f64();
    let persons = report.places.first().map_or(0, |p| p.figures.persons);
    println!(
        "audit of {tables} bundles ({} events each, {voters} voters, {persons} checked in): {took:.2} s (target < 10 s), {}",
        events.len(),
        if report.ok {
            "everything held"
        } else {
            "FINDINGS"
        }
    );
    let _ = std::fs::remove_dir_all(&dir);
    match report.findings.first() {
        None => Ok(()),
        Some(f) => Err(anyhow!("the untouched day did not pass the audit: {f}")),
    }
}
