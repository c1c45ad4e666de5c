//! `valgbord audit`: a set of bundles checked with only the office's public key. The
//! order is that of trust: the packages and lists first (`trust`), then the logs against
//! each other (`logs`), then each bundle's log replayed and its closing report
//! recomputed (`replay`), then the polling places' figures from all logs together.

use super::bundle::Bundle;
use super::figures::Figures;
use super::finding::{Finding, who};
use super::replay::{Replayed, Scratch, replay};
use super::trust::{Election, establish};
use crate::election::keys::DevicePublic;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Serialize)]
pub struct AuditReport {
    /// Everything held.
    pub ok: bool,
    pub election: String,
    pub election_name: String,
    /// The bundles are of a rehearsal (test mode).
    pub test: bool,
    /// What does not hold, the first first.
    pub findings: Vec<Finding>,
    pub bundles: Vec<BundleSummary>,
    pub places: Vec<PlaceSummary>,
}

#[derive(Debug, Serialize)]
pub struct BundleSummary {
    pub file: String,
    pub device: String,
    pub events: usize,
    /// What it lacks of other devices' logs ("bord 2 …: nr. 41–45").
    pub lacks: Vec<String>,
    /// Its closing report equals the one replayed from its log (`None`: it has none).
    pub report_holds: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct PlaceSummary {
    pub place: String,
    /// From every bundle's log together.
    pub figures: Figures,
    /// Voters checked in more than once, unresolved.
    pub double_registrations: Vec<String>,
    /// Check-ins in force per hour, for the turnout chart.
    pub checkins_per_hour: Vec<super::replay::HourCount>,
}

fn read_all(paths: &[PathBuf], findings: &mut Vec<Finding>) -> Vec<(String, Bundle)> {
    let mut out = Vec::new();
    for p in paths {
        let file = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match Bundle::read(p) {
            Ok(b) => out.push((file, b)),
            Err(e) => findings.push(Finding {
                bundle: file,
                device: "?".into(),
                seq: None,
                reason: format!("bundtet kan ikke læses: {e}"),
            }),
        }
    }
    out
}

/// Replays with one result per distinct log (after a converged day every table holds
/// the same log, so it is replayed once).
struct Replays {
    scratch: Scratch,
    done: BTreeMap<[u8; 32], std::rc::Rc<Replayed>>,
}

impl Replays {
    fn get(
        &mut self,
        election: &Election,
        sha: &str,
        events: &[super::bundle::BundledEvent],
        places: &[String],
    ) -> anyhow::Result<std::rc::Rc<Replayed>> {
        let mut h = Sha256::new();
        h.update(sha.as_bytes());
        for p in places {
            h.update(p.as_bytes());
            h.update([0]);
        }
        for e in events {
            h.update(e.body.as_bytes());
            h.update([0]);
            h.update(e.sig.as_bytes());
            h.update([0]);
        }
        let key: [u8; 32] = h.finalize().into();
        if let Some(r) = self.done.get(&key) {
            return Ok(r.clone());
        }
        let r = std::rc::Rc::new(replay(&mut self.scratch, election, sha, events, places)?);
        self.done.insert(key, r.clone());
        Ok(r)
    }
}

/// Checks the bundles at `paths` against the office key.
pub fn audit(paths: &[PathBuf], office: DevicePublic) -> anyhow::Result<AuditReport> {
    let mut findings = Vec::new();
    let bundles = read_all(paths, &mut findings);
    let Some(election) = establish(&bundles, office, &mut findings) else {
        findings.push(Finding {
            bundle: "(alle)".into(),
            device: "valgpakkerne".into(),
            seq: None,
            reason: "intet bundt har en valgpakke, der holder mod valgkontorets nøgle".into(),
        });
        return Ok(AuditReport {
            ok: false,
            election: String::new(),
            election_name: String::new(),
            test: false,
            findings,
            bundles: Vec::new(),
            places: Vec::new(),
        });
    };
    let mut replays = Replays {
        scratch: Scratch::new()?,
        done: BTreeMap::new(),
    };
    let all_places: Vec<String> = election.packages.keys().cloned().collect();
    let mut refused = Vec::new();
    let mut holds = Vec::new();
    for (file, b) in &bundles {
        let (devices, report_holds) =
            replay_bundle(&mut replays, &election, file, b, &all_places, &mut findings)?;
        refused.push(devices);
        holds.push(report_holds);
    }
    let compared = super::logs::compare(&bundles, &election, &refused, &mut findings);
    let name = |d: &str| who(d, Some(&election.enrolment));
    let summaries = bundles
        .iter()
        .zip(holds)
        .zip(&compared.lacks)
        .map(|(((file, b), report_holds), lacks)| BundleSummary {
            file: file.clone(),
            device: name(&b.header.device),
            events: b.events.len(),
            lacks: lacks
                .iter()
                .map(|(d, from, to)| format!("{}: nr. {from}–{to}", name(d)))
                .collect(),
            report_holds,
        })
        .collect();
    let places = place_figures(&mut replays, &election, &compared.union, &all_places)?;
    Ok(AuditReport {
        ok: findings.is_empty(),
        election: election.id.clone(),
        election_name: election.name.clone(),
        test: election.test,
        findings,
        bundles: summaries,
        places,
    })
}

/// One bundle's log replayed and its closing report compared: the devices whose events
/// were refused, and whether the report holds.
fn replay_bundle(
    replays: &mut Replays,
    election: &Election,
    file: &str,
    b: &Bundle,
    all_places: &[String],
    findings: &mut Vec<Finding>,
) -> anyhow::Result<(std::collections::BTreeSet<String>, Option<bool>)> {
    let name = |d: &str| who(d, Some(&election.enrolment));
    let mut found = |device: &str, seq, reason| {
        findings.push(Finding {
            bundle: file.to_string(),
            device: name(device),
            seq,
            reason,
        })
    };
    let places = b
        .header
        .place
        .clone()
        .map(|p| vec![p])
        .unwrap_or_else(|| all_places.to_vec());
    let sha = b.header.list_sha256.clone().unwrap_or_default();
    if !election.lists.contains_key(&sha) {
        found(
            &b.header.device,
            None,
            format!("ingen valgliste, der holder mod valgkontorets signatur, har SHA-256 {sha}"),
        );
        return Ok((Default::default(), None));
    }
    let r = replays.get(election, &sha, &b.events, &places)?;
    if let Some(first) = r.refused.first() {
        let more = r.refused.len() - 1;
        let also = if more > 0 {
            format!(" (og {more} fejl mere i bundtet)")
        } else {
            String::new()
        };
        found(&first.device, first.seq, format!("{}{also}", first.reason));
    }
    let holds = report_check(b, &r, &mut |reason| found(&b.header.device, None, reason));
    if let Some(copy) = &b.central {
        for reason in super::central::compare(copy, &r.db)? {
            found(&b.header.device, None, reason);
        }
    }
    Ok((r.refused.iter().map(|f| f.device.clone()).collect(), holds))
}

/// A table bundle's closing report against the replay of its own log.
fn report_check(b: &Bundle, r: &Replayed, found: &mut dyn FnMut(String)) -> Option<bool> {
    let place = b.header.place.as_ref()?;
    let Some(copy) = &b.closing_report else {
        found("bundtet har ingen afslutningsrapport".into());
        return Some(false);
    };
    let replayed = r.figures.get(place)?;
    if copy.figures.versions != replayed.versions {
        found(versions_differ(&copy.figures.versions, &replayed.versions));
        return Some(false);
    }
    let diffs = copy.figures.differences(replayed);
    if diffs.is_empty() {
        return Some(true);
    }
    found(format!(
        "afslutningsrapporten passer ikke med loggen: {}",
        diffs.join("; ")
    ));
    Some(false)
}

/// Every polling place's figures from all logs together.
fn place_figures(
    replays: &mut Replays,
    election: &Election,
    union: &[super::bundle::BundledEvent],
    places: &[String],
) -> anyhow::Result<Vec<PlaceSummary>> {
    let Some(sha) = election.lists.keys().next().cloned() else {
        return Ok(Vec::new());
    };
    let r = replays.get(election, &sha, union, places)?;
    Ok(places
        .iter()
        .filter_map(|p| {
            Some(PlaceSummary {
                place: p.clone(),
                figures: r.figures.get(p)?.clone(),
                double_registrations: r.doubles.get(p).cloned().unwrap_or_default(),
                checkins_per_hour: r.hourly.get(p).cloned().unwrap_or_default(),
            })
        })
        .collect())
}

/// Why a report's version vector is not its log's: the first device where they part.
fn versions_differ(report: &[(String, u64)], log: &[(String, u64)]) -> String {
    let held = |v: &[(String, u64)], d: &str| v.iter().find(|(k, _)| k == d).map_or(0, |(_, n)| *n);
    let devices = report.iter().chain(log).map(|(d, _)| d.as_str());
    for d in devices {
        let (r, l) = (held(report, d), held(log, d));
        let short: String = d.chars().take(8).collect();
        if l < r {
            return format!(
                "loggen i bundtet holder enhed {short}s hændelser til nr. {l}, men afslutningsrapporten bygger på hændelser til nr. {r}: loggen er afkortet"
            );
        }
        if l > r {
            return format!(
                "loggen i bundtet holder enhed {short}s hændelser til nr. {l}, men afslutningsrapporten kun til nr. {r}: rapporten er ikke lavet af denne log"
            );
        }
    }
    "afslutningsrapporten er lavet af en anden log end bundtets".into()
}
