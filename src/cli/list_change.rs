//! Election-day list changes from the command line: the office makes and signs one
//! (`office change`), a stopped table applies one (`list change`). A running table takes
//! the same file at the valgsekretær screen or as `POST /api/list/changes`.

use super::failure::CmdResult;
use crate::election::contest::parse_contests;
use crate::election::list_change::{
    BrevstemmeDigest, ChangeItem, FORMAT, ListChange, SignedListChange,
};
use crate::election::voter::Voter;
use crate::election::voter_list;
use crate::store::keyfile;
use crate::table::config::TableConfig;
use crate::table::open::open_table;
use anyhow::Context;
use clap::Args;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct MakeChangeArgs {
    /// The voter list file as signed and sent to the tables.
    #[arg(long)]
    list: PathBuf,
    /// Every change made before this one (any order); the new one gets the next serial.
    #[arg(long, num_args = 0..)]
    previous: Vec<PathBuf>,
    #[arg(long)]
    election: String,
    /// The office's secret key (the one that signed the list).
    #[arg(long)]
    secret: PathBuf,
    /// Voters to add, in the list's own CSV format.
    #[arg(long)]
    add: Option<PathBuf>,
    /// ID=REASON, e.g. `--strike 0101-17=død`.
    #[arg(long)]
    strike: Vec<String>,
    /// A voter whose strike was an error.
    #[arg(long)]
    reinstate: Vec<String>,
    /// ID=CONTESTS, e.g. `--contests 0101-17=RV`.
    #[arg(long)]
    contests: Vec<String>,
    /// A voter whose brevstemme was accepted.
    #[arg(long)]
    brevstemme: Vec<String>,
    /// ID=VALGSTED:LØBENUMMER, a voter moved to another polling place, e.g.
    /// `--move 0101-17=2:412`.
    #[arg(long = "move")]
    moves: Vec<String>,
    #[arg(long, default_value = "")]
    note: String,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct ApplyChangeArgs {
    /// The table's configuration (its database and key are used); the table must be
    /// stopped. A running table takes the file at its valgsekretær screen.
    #[arg(long)]
    config: PathBuf,
    /// The signed change file from the office.
    file: PathBuf,
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn split_pair<'a>(arg: &'a str, flag: &str) -> anyhow::Result<(&'a str, &'a str)> {
    arg.split_once('=')
        .map(|(a, b)| (a.trim(), b.trim()))
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .with_context(|| format!("--{flag} \"{arg}\": expected ID=VALUE"))
}

/// The items the flags ask for, in the order: additions, strikes, reinstatements,
/// entitlements, brevstemmer.
fn items(a: &MakeChangeArgs) -> anyhow::Result<Vec<ChangeItem>> {
    let mut out = Vec::new();
    if let Some(path) = &a.add {
        let list = voter_list::parse(&read(path)?, |_| {})
            .map_err(|errors| {
                let first: Vec<String> = errors.iter().take(5).map(|e| e.to_string()).collect();
                format!(
                    "{}: {} error(s): {}",
                    path.display(),
                    errors.len(),
                    first.join("; ")
                )
            })
            .map_err(anyhow::Error::msg)?;
        out.extend(list.voters.into_iter().map(|voter| ChangeItem::Add {
            voter: Box::new(voter),
        }));
    }
    for s in &a.strike {
        let (id, reason) = split_pair(s, "strike")?;
        out.push(ChangeItem::Strike {
            voter_id: id.into(),
            reason: reason.into(),
        });
    }
    for id in &a.reinstate {
        out.push(ChangeItem::Reinstate {
            voter_id: id.trim().into(),
        });
    }
    for s in &a.contests {
        let (id, codes) = split_pair(s, "contests")?;
        out.push(ChangeItem::Entitlement {
            voter_id: id.into(),
            contests: parse_contests(codes)
                .map_err(|e| anyhow::anyhow!("--contests \"{s}\": {e}"))?,
        });
    }
    for id in &a.brevstemme {
        out.push(ChangeItem::Brevstemme {
            voter_id: id.trim().into(),
        });
    }
    for s in &a.moves {
        let (id, to) = split_pair(s, "move")?;
        let (place, list_no) = to
            .split_once(':')
            .and_then(|(p, n)| Some((p.trim(), n.trim().parse::<u32>().ok()?)))
            .filter(|(p, n)| !p.is_empty() && *n > 0)
            .with_context(|| format!("--move \"{s}\": expected ID=VALGSTED:LØBENUMMER"))?;
        out.push(ChangeItem::Move {
            voter_id: id.into(),
            place: place.into(),
            list_no,
        });
    }
    if out.is_empty() {
        return Err(anyhow::anyhow!(
            "nothing to change: give --add, --strike, --reinstate, --contests, --brevstemme or --move"
        ));
    }
    Ok(out)
}

/// Applies items to the office's copy of the list, refusing what a table would refuse.
fn apply_items(
    voters: &mut HashMap<String, Voter>,
    items: &[ChangeItem],
    what: &str,
) -> anyhow::Result<()> {
    for (i, item) in items.iter().enumerate() {
        let id = item.voter_id();
        match item {
            ChangeItem::Add { voter } => {
                if voters.contains_key(id) {
                    return Err(anyhow::anyhow!(
                        "{what}, item {}: voter {id} is already on the list",
                        i + 1
                    ));
                }
                if let Some(other) = voters.values().find(|v| v.card_code == voter.card_code) {
                    return Err(anyhow::anyhow!(
                        "{what}, item {}: card code {} belongs to voter {}",
                        i + 1,
                        voter.card_code,
                        other.id
                    ));
                }
            }
            _ if !voters.contains_key(id) => {
                return Err(anyhow::anyhow!(
                    "{what}, item {}: voter {id} is not on the list",
                    i + 1
                ));
            }
            _ => {}
        }
        let next = item.apply(voters.remove(id));
        if let Some(v) = next {
            voters.insert(id.to_string(), v);
        }
    }
    Ok(())
}

pub fn make(a: MakeChangeArgs) -> CmdResult {
    let key = keyfile::load(&a.secret)?;
    let list = voter_list::parse(&read(&a.list)?, |_| {})
        .map_err(|errors| {
            format!(
                "{} does not parse ({} errors); it must be the list the tables imported",
                a.list.display(),
                errors.len()
            )
        })
        .map_err(anyhow::Error::msg)?;
    let mut voters: HashMap<String, Voter> =
        list.voters.into_iter().map(|v| (v.id.clone(), v)).collect();
    let mut previous = Vec::new();
    for p in &a.previous {
        let signed = SignedListChange::from_json(&read(p)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        let change = signed
            .open(Some(key.public()), &a.election)
            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        previous.push((p.clone(), change));
    }
    previous.sort_by_key(|(_, c)| c.serial);
    for (n, (p, c)) in previous.iter().enumerate() {
        if c.serial != n as u64 + 1 {
            return Err(anyhow::anyhow!(
                "the earlier changes must be numbered 1, 2, 3 …: {} is number {}, expected {}",
                p.display(),
                c.serial,
                n + 1
            ));
        }
        apply_items(&mut voters, &c.items, &p.display().to_string())?;
    }
    let new_items = items(&a)?;
    apply_items(&mut voters, &new_items, "this change")?;
    let change = ListChange {
        format: FORMAT.into(),
        election: a.election.clone(),
        serial: previous.len() as u64 + 1,
        issued: chrono::Local::now().to_rfc3339(),
        note: a.note.clone(),
        items: new_items,
        brevstemmer: BrevstemmeDigest::of_voters(voters.values()),
    };
    let signed = SignedListChange::sign(&change, &key);
    let text = serde_json::to_string_pretty(&signed)?;
    std::fs::write(&a.out, text + "\n")
        .with_context(|| format!("cannot write {}", a.out.display()))?;
    println!(
        "change {} for election {}: {} item(s), {} brevstemmer after it -> {}",
        change.serial,
        change.election,
        change.items.len(),
        change.brevstemmer.count,
        a.out.display()
    );
    for item in &change.items {
        println!("  {} {}", item.voter_id(), item.describe());
    }
    Ok(())
}

pub fn apply(a: ApplyChangeArgs) -> CmdResult {
    let cfg = TableConfig::load(&a.config)?;
    let signed = SignedListChange::from_json(&read(&a.file)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.file.display()))?;
    let mut opened = open_table(&cfg)?;
    let outcome = opened.core.apply_list_change(&signed)?;
    println!(
        "{}",
        if outcome.already {
            format!(
                "change {} was already applied; nothing written",
                outcome.serial
            )
        } else {
            format!(
                "change {} applied ({} item(s)); the other tables get it by sync",
                outcome.serial, outcome.items
            )
        }
    );
    Ok(())
}
