//! The faults of a rehearsed day: which, where and when, drawn from the seed.

use super::day::{OPEN_MIN, hhmm};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// kill -9 of a table daemon, restarted a few minutes later.
    Kill,
    /// The LAN split in two groups of tables.
    Split,
    /// A table whose clock runs an hour ahead (restarted with `clock_offset_ms`).
    Clock,
    /// The disk of one table's database fills up, and is freed again.
    Disk,
    /// A table down; its voters marked on paper, entered afterwards.
    Paper,
    /// The central tally unreachable for hours (its process frozen, so the tables'
    /// pushes hang rather than fail fast): the tables must not notice beyond the status
    /// bar, and the central must catch up completely afterwards.
    Central,
    /// A host on the LAN that is not ours holds hundreds of half-open connections
    /// against every table's sync port for an hour: the tables must go on syncing and
    /// serving voters, and their status bars must say so. Needs the rehearsal's own
    /// network namespace (the flooder needs an address of its own).
    Flood,
    /// The WAN to the office's central turns slow and lossy for an hour (300 ms each
    /// way, 5 % of packets lost): the tables must not notice beyond the status bar,
    /// and the central must keep up or catch up. Needs the rehearsal's own network
    /// namespace (the loss is nftables').
    Wan,
}

impl FaultKind {
    pub const ALL: [FaultKind; 8] = [
        FaultKind::Kill,
        FaultKind::Split,
        FaultKind::Clock,
        FaultKind::Disk,
        FaultKind::Paper,
        FaultKind::Central,
        FaultKind::Flood,
        FaultKind::Wan,
    ];

    /// Whether this fault, hitting `hit`, keeps tables `a` and `b` from learning of each
    /// other's check-ins: only then may a voter be admitted at both. A table down (kill,
    /// its restart with another clock, a full disk, paper) parts it from every other;
    /// a split parts the two sides. The central's outage or slow WAN parts no tables:
    /// they never wait for it. Nor does a flood: the sync listener keeps its slots for
    /// the tables, so a repeat voter admitted during one is a broken rule.
    pub fn parts(self, a: usize, b: usize, hit: &[usize]) -> bool {
        match self {
            FaultKind::Central | FaultKind::Flood | FaultKind::Wan => false,
            FaultKind::Split => hit.contains(&a) != hit.contains(&b),
            FaultKind::Kill | FaultKind::Clock | FaultKind::Disk | FaultKind::Paper => {
                hit.contains(&a) || hit.contains(&b)
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Kill => "kill",
            FaultKind::Split => "split",
            FaultKind::Clock => "clock",
            FaultKind::Disk => "disk",
            FaultKind::Paper => "paper",
            FaultKind::Central => "central",
            FaultKind::Flood => "flood",
            FaultKind::Wan => "wan",
        }
    }
}

/// `all`, `none`, or a comma-separated list of fault names.
pub fn parse_faults(s: &str) -> anyhow::Result<Vec<FaultKind>> {
    match s.trim() {
        "all" => return Ok(FaultKind::ALL.to_vec()),
        "none" | "" => return Ok(Vec::new()),
        _ => {}
    }
    let mut out = Vec::new();
    for name in s.split(',').map(str::trim) {
        let k = FaultKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown fault \"{name}\": use all, none, or some of kill,split,clock,disk,paper,central,flood,wan"
                )
            })?;
        if !out.contains(&k) {
            out.push(k);
        }
    }
    Ok(out)
}

/// The slow, lossy WAN of the `wan` fault.
pub const WAN_DELAY_MS: u64 = 300;
pub const WAN_LOSS_PERCENT: u32 = 5;

/// Connections the flooding host holds against each table's sync port.
pub const FLOOD_CONNECTIONS: usize = 300;

/// One planned fault: from `start` to `end` (simulated minutes since midnight).
#[derive(Debug, Clone)]
pub struct Fault {
    pub kind: FaultKind,
    pub start: f64,
    pub end: f64,
    /// The table(s) it hits (0-based); for a split, the first group.
    pub tables: Vec<usize>,
}

impl Fault {
    pub fn describe(&self) -> String {
        let t = |v: &[usize]| {
            v.iter()
                .map(|i| (i + 1).to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        let what = match self.kind {
            FaultKind::Kill => format!("kill -9 af bord {}, genstartet", t(&self.tables)),
            FaultKind::Split => format!("LAN delt: bord {} mod resten", t(&self.tables)),
            FaultKind::Clock => format!("bord {}s ur 1 time foran", t(&self.tables)),
            FaultKind::Disk => format!("fuld disk på bord {}", t(&self.tables)),
            FaultKind::Paper => format!("bord {} på papir, indtastet bagefter", t(&self.tables)),
            FaultKind::Central => {
                "centralen (valgkontoret) utilgængelig; reservecentralen kører videre".into()
            }
            FaultKind::Wan => format!(
                "WAN til centralen langsom og tabsramt ({} ms hver vej, {} % tab)",
                WAN_DELAY_MS, WAN_LOSS_PERCENT
            ),
            FaultKind::Flood => format!(
                "en fremmed vært ({}) holder {FLOOD_CONNECTIONS} halvåbne forbindelser mod hvert bords synkroniseringsport",
                super::net::FLOODER
            ),
        };
        format!("{}–{} {what}", hhmm(self.start), hhmm(self.end))
    }
}

/// The day's faults of the chosen kinds for `tables` tables. Windows of the faults
/// that take a table out never overlap on one table, so each fault's effect is its own.
pub fn schedule(kinds: &[FaultKind], tables: usize, seed: u64) -> Vec<Fault> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xfa17);
    let mut out = Vec::new();
    let pick = |rng: &mut ChaCha8Rng, busy: &[usize]| -> usize {
        let free: Vec<usize> = (0..tables).filter(|t| !busy.contains(t)).collect();
        if free.is_empty() {
            rng.random_range(0..tables)
        } else {
            free[rng.random_range(0..free.len())]
        }
    };
    let mut used = Vec::new();
    // Start minute, length: paper mid-morning, clock over lunch, disk in the
    // afternoon, the split in the evening peak.
    for (kind, start, len) in [
        (FaultKind::Paper, 10.0 * 60.0, 40.0),
        (FaultKind::Clock, 11.0 * 60.0, 120.0),
        (FaultKind::Disk, 14.0 * 60.0, 30.0),
    ] {
        if kinds.contains(&kind) {
            let t = pick(&mut rng, &used);
            used.push(t);
            let start = start + rng.random_range(0.0..20.0);
            out.push(Fault {
                kind,
                start,
                end: start + len,
                tables: vec![t],
            });
        }
    }
    if kinds.contains(&FaultKind::Split) && tables >= 2 {
        let start = 17.0 * 60.0 + rng.random_range(0.0..15.0);
        out.push(Fault {
            kind: FaultKind::Split,
            start,
            // A simulated hour of the evening peak (issue 4: split, heal, converge).
            end: start + 60.0,
            tables: (0..tables / 2).collect(),
        });
    }
    if kinds.contains(&FaultKind::Kill) {
        // Three kills at random instants, on tables no other fault has out then.
        for _ in 0..3 {
            let start = OPEN_MIN + 60.0 + rng.random_range(0.0..600.0);
            let busy: Vec<usize> = out
                .iter()
                .filter(|f| f.kind != FaultKind::Split && f.start - 10.0 < start + 5.0)
                .filter(|f| f.end + 10.0 > start)
                .flat_map(|f| f.tables.clone())
                .collect();
            let t = pick(&mut rng, &busy);
            out.push(Fault {
                kind: FaultKind::Kill,
                start,
                end: start + rng.random_range(2.0..6.0),
                tables: vec![t],
            });
        }
    }
    if kinds.contains(&FaultKind::Central) {
        // Drawn last, so the other faults of a seed stay where they were.
        let start = 12.0 * 60.0 + rng.random_range(0.0..30.0);
        out.push(Fault {
            kind: FaultKind::Central,
            start,
            end: start + 180.0,
            tables: Vec::new(),
        });
    }
    if kinds.contains(&FaultKind::Flood) {
        // After the central, for the same reason. Early afternoon, hours before the
        // split, so each shows its own effect on sync.
        let start = 13.0 * 60.0 + rng.random_range(0.0..30.0);
        out.push(Fault {
            kind: FaultKind::Flood,
            start,
            end: start + 60.0,
            tables: Vec::new(),
        });
    }
    if kinds.contains(&FaultKind::Wan) {
        // After the flood, for the same reason; ends before the evening's split.
        let start = 15.0 * 60.0 + 40.0 + rng.random_range(0.0..15.0);
        out.push(Fault {
            kind: FaultKind::Wan,
            start,
            end: start + 60.0,
            tables: Vec::new(),
        });
    }
    out.sort_by(|a, b| a.start.total_cmp(&b.start));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(parse_faults("all").unwrap().len(), 8);
        assert!(parse_faults("none").unwrap().is_empty());
        assert_eq!(
            parse_faults("kill, split").unwrap(),
            vec![FaultKind::Kill, FaultKind::Split]
        );
        assert!(
            parse_faults("kil")
                .unwrap_err()
                .to_string()
                .contains("unknown fault")
        );
        assert_eq!(parse_faults("central").unwrap(), vec![FaultKind::Central]);
        assert_eq!(parse_faults("flood").unwrap(), vec![FaultKind::Flood]);
        assert_eq!(parse_faults("wan").unwrap(), vec![FaultKind::Wan]);
    }

    #[test]
    fn only_a_fault_that_keeps_two_tables_apart_excuses_a_repeat() {
        assert!(FaultKind::Split.parts(0, 2, &[0, 1]));
        assert!(!FaultKind::Split.parts(0, 1, &[0, 1]));
        assert!(FaultKind::Kill.parts(0, 2, &[2]));
        assert!(!FaultKind::Central.parts(0, 2, &[]));
        assert!(!FaultKind::Flood.parts(0, 2, &[]));
        assert!(!FaultKind::Wan.parts(0, 2, &[]));
    }

    #[test]
    fn every_fault_lies_within_the_day_and_table_faults_do_not_overlap() {
        for seed in 0..50 {
            let s = schedule(&FaultKind::ALL, 3, seed);
            assert_eq!(s.len(), 10);
            for f in &s {
                assert!(f.start >= OPEN_MIN && f.end <= 19.5 * 60.0, "{f:?}");
            }
            let split = s.iter().find(|f| f.kind == FaultKind::Split).unwrap();
            let flood = s.iter().find(|f| f.kind == FaultKind::Flood).unwrap();
            let wan = s.iter().find(|f| f.kind == FaultKind::Wan).unwrap();
            let central = s.iter().find(|f| f.kind == FaultKind::Central).unwrap();
            assert!(flood.end <= split.start, "{flood:?} {split:?}");
            assert!(
                central.end <= wan.start && wan.end <= split.start,
                "{wan:?}"
            );
            // The faults that take a table out.
            let outs: Vec<&Fault> = s
                .iter()
                .filter(|f| !f.tables.is_empty() && f.kind != FaultKind::Split)
                .collect();
            for a in &outs {
                for b in &outs {
                    if std::ptr::eq(*a, *b) || a.tables != b.tables {
                        continue;
                    }
                    assert!(a.end <= b.start || b.end <= a.start, "{a:?} {b:?}");
                }
            }
        }
    }
}
