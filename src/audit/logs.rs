//! The devices' logs against each other: version vectors compared (which bundle holds
//! all of a device's events, which lacks which), one (device, number) with two
//! different events across bundles (a fork), a device whose own log in its own bundle
//! is shorter than another device's copy of it (cut short), and the fork evidence the
//! devices kept. Also the union of the logs, for the polling places' figures.

use super::bundle::{Bundle, BundledEvent};
use super::finding::{Finding, who};
use super::replay::claimed;
use super::trust::Election;
use crate::election::event::{Trust, proves_fork, verify};
use std::collections::BTreeMap;

/// One device's events in one bundle: number → (hash, index in the bundle).
type Chain = BTreeMap<u64, (String, usize)>;

/// What comparing the logs found besides the findings.
pub struct Compared {
    /// Per bundle, what it lacks of other devices' logs: (device, from, to).
    pub lacks: Vec<Vec<(String, u64, u64)>>,
    /// Each device's longest log found, all devices together, by device and number.
    pub union: Vec<BundledEvent>,
}

fn chains(b: &Bundle) -> BTreeMap<String, Chain> {
    let mut out: BTreeMap<String, Chain> = BTreeMap::new();
    for (i, e) in b.events.iter().enumerate() {
        let (device, seq) = claimed(&e.body);
        if let Some(seq) = seq {
            out.entry(device)
                .or_default()
                .insert(seq, (e.hash.clone(), i));
        }
    }
    out
}

/// Compares the logs; `refused[i]` are the devices whose events bundle `i`'s replay
/// refused (already reported, and not evidence of another device's log).
pub fn compare(
    bundles: &[(String, Bundle)],
    election: &Election,
    refused: &[std::collections::BTreeSet<String>],
    findings: &mut Vec<Finding>,
) -> Compared {
    let mut all: Vec<BTreeMap<String, Chain>> = bundles.iter().map(|(_, b)| chains(b)).collect();
    for (chains, refused) in all.iter_mut().zip(refused) {
        chains.retain(|d, _| !refused.contains(d));
    }
    let devices: std::collections::BTreeSet<&String> = all.iter().flat_map(|c| c.keys()).collect();
    let name = |d: &str| who(d, Some(&election.enrolment));
    let mut lacks = vec![Vec::new(); bundles.len()];
    let mut union = Vec::new();
    for device in devices {
        let held = |i: usize| {
            all[i]
                .get(device)
                .and_then(|c| c.keys().next_back().copied())
                .unwrap_or(0)
        };
        let Some(longest) = (0..bundles.len()).max_by_key(|&i| held(i)) else {
            continue;
        };
        let top = held(longest);
        let reference = &all[longest][device];
        for (i, (file, b)) in bundles.iter().enumerate() {
            let Some(chain) = all[i].get(device) else {
                lacks[i].push((device.clone(), 1, top));
                continue;
            };
            if let Some((seq, _)) = chain
                .iter()
                .find(|(s, (h, _))| reference.get(s).is_some_and(|(r, _)| r != h))
            {
                findings.push(Finding {
                    bundle: file.clone(),
                    device: name(device),
                    seq: Some(*seq),
                    reason: format!(
                        "en anden hændelse med samme nummer end i {}: enhedens log er forgrenet eller ændret",
                        bundles[longest].0
                    ),
                });
            }
            let mine = held(i);
            if mine < top {
                if b.header.device == *device {
                    findings.push(Finding {
                        bundle: file.clone(),
                        device: name(device),
                        seq: Some(mine + 1),
                        reason: format!(
                            "enhedens egen log slutter ved nr. {mine}, men {} holder dens hændelser til nr. {top}: loggen er afkortet",
                            bundles[longest].0
                        ),
                    });
                }
                lacks[i].push((device.clone(), mine + 1, top));
            }
        }
        union.extend(
            reference
                .values()
                .map(|(_, idx)| bundles[longest].1.events[*idx].clone()),
        );
    }
    check_fork_evidence(bundles, election, findings);
    Compared { lacks, union }
}

/// Every fork proof a device kept: both versions verified, and that they do prove a
/// fork. A proven fork does not hold (someone wrote two versions of a table's log); a
/// proof that does not verify is itself altered.
fn check_fork_evidence(
    bundles: &[(String, Bundle)],
    election: &Election,
    findings: &mut Vec<Finding>,
) {
    let trust = Trust {
        election: election.id.clone(),
        enrolment: Some(election.enrolment.clone()),
        allow_test: election.test,
    };
    for (file, b) in bundles {
        for f in &b.forks {
            let (device, seq) = claimed(&f.other.body);
            let reason = match (verify(&f.first, &trust), verify(&f.other, &trust)) {
                (Ok(a), Ok(o)) if proves_fork(&a, &o) => {
                    "to versioner af enhedens log er signeret med dens nøgle (gaffel, gemt som bevis)".to_string()
                }
                _ => "beviset for en gaffel holder ikke: det er ændret".to_string(),
            };
            findings.push(Finding {
                bundle: file.clone(),
                device: who(&device, Some(&election.enrolment)),
                seq,
                reason,
            });
        }
    }
}
