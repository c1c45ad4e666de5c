//! The tilforordnede: one per table, serving the voters in its line over the table's
//! HTTP API as a person at the screen would (scan, ask the birthdate, confirm), or on
//! the printed list while the table is on paper.

use super::client;
use super::day::{Errand, hhmm};
use super::valglokale::{Day, Step, TableMode, Visit};
use super::valgsekretaer;
use crate::election::event::RecordedMethod;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::mpsc;

pub async fn worker(day: Arc<Day>, k: usize, mut rx: mpsc::UnboundedReceiver<Visit>) {
    while let Some(mut v) = rx.recv().await {
        day.slots[k].queued.fetch_sub(1, Ordering::SeqCst);
        match day.slots[k].mode() {
            TableMode::Paper => {
                if on_paper(&day, k, &v) {
                    day.finish();
                } else {
                    day.move_on(v, k);
                }
            }
            TableMode::Down | TableMode::Broken => day.move_on(v, k),
            TableMode::Up => match serve(&day, k, &mut v).await {
                Step::Done => day.finish(),
                Step::MoveOn => day.move_on(v, k),
            },
        }
    }
}

/// One visitor at a working table.
async fn serve(day: &Arc<Day>, k: usize, v: &mut Visit) -> Step {
    match v.errand.clone() {
        Errand::Vote { voter } => {
            let code = day.voters[voter].card_code.clone();
            card_checkin(day, k, v, voter, &code).await
        }
        Errand::Refused {
            voter,
            code,
            expect,
        } => refused(day, k, v, voter, code, expect).await,
        Errand::NoCard { voter } => valgsekretaer::without_card(day, k, v, voter).await,
        Errand::LostCard { voter, probe } => {
            let code = match v.new_code.clone() {
                Some(c) => c,
                None => match valgsekretaer::reissue(day, k, v, voter, probe).await {
                    Ok(code) => code,
                    Err(step) => return step,
                },
            };
            card_checkin(day, k, v, voter, &code).await
        }
        Errand::Repeat {
            voter,
            first_table,
            first_sim,
            across_split,
        } => repeat(day, k, v, voter, first_table, first_sim, across_split).await,
    }
}

/// A card the table must refuse (brevstemme, struck, another place, unknown): the
/// answer must be `expect`.
async fn refused(
    day: &Arc<Day>,
    k: usize,
    v: &Visit,
    voter: Option<usize>,
    code: String,
    expect: &str,
) -> Step {
    let url = day.slots[k].url.clone();
    let label = v.errand.label();
    let Ok(got) = client::scan(&day.http, &url, &code).await else {
        return Step::MoveOn;
    };
    day.outcome(label, &got);
    if got != expect {
        if got == "pending" {
            client::cancel(&day.http, &url).await;
        }
        day.violation(format!(
            "{label}: {} at table {} gave {got}, not {expect}",
            voter.map(|x| day.voter_name(x)).unwrap_or(code),
            k + 1
        ));
    }
    Step::Done
}

/// A voter who already voted tries again at table `k`: refused, unless a fault kept the
/// two tables apart (then the double registration is flagged later).
async fn repeat(
    day: &Arc<Day>,
    k: usize,
    v: &Visit,
    voter: usize,
    first_table: usize,
    first_sim: f64,
    across_split: bool,
) -> Step {
    let url = day.slots[k].url.clone();
    let label = v.errand.label();
    let code = day
        .ledger()
        .current_card
        .get(&voter)
        .cloned()
        .unwrap_or_else(|| day.voters[voter].card_code.clone());
    let Ok(got) = client::scan(&day.http, &url, &code).await else {
        return Step::MoveOn;
    };
    day.outcome(label, &got);
    match got.as_str() {
        // A voter checked in without a card got a new one written out: the posted card
        // the repeat brings is refused as superseded.
        "already_voted" | "card_superseded" => {
            day.ledger().repeats_refused += 1;
            Step::Done
        }
        "pending" => {
            let now = day.clock.now();
            let disturbed = across_split
                || day.ledger().disturbed.iter().any(|(f, s, e)| {
                    *s <= now && *e >= first_sim - 1.0 && f.kind.parts(first_table, k, &f.tables)
                });
            if !disturbed {
                client::cancel(&day.http, &url).await;
                day.violation(format!(
                    "{} voted at table {} at {} and was admitted again at table {} at {} with the LAN whole",
                    day.voter_name(voter),
                    first_table + 1,
                    hhmm(first_sim),
                    k + 1,
                    hhmm(now)
                ));
                return Step::Done;
            }
            // Neither table can know: the double registration is flagged later.
            match client::confirm(&day.http, &url).await {
                Ok(c) if c == "admitted" => {
                    day.ledger().repeats_admitted_in_fault += 1;
                    day.green(voter, k, RecordedMethod::Card, v);
                    Step::Done
                }
                Ok(_) => Step::Done,
                Err(_) => {
                    day.ledger().unsure.push((voter, k));
                    Step::Done
                }
            }
        }
        _ => Step::Done,
    }
}

/// Scan, ask the birthdate, confirm.
async fn card_checkin(day: &Arc<Day>, k: usize, v: &mut Visit, voter: usize, code: &str) -> Step {
    let url = day.slots[k].url.clone();
    let label = v.errand.label();
    let t0 = Instant::now();
    let Ok(got) = client::scan(&day.http, &url, code).await else {
        return Step::MoveOn;
    };
    let scan_ms = t0.elapsed().as_secs_f64() * 1e3;
    match got.as_str() {
        "pending" => {}
        "already_voted" if v.unsure => {
            // The confirm that got no answer had been stored.
            day.outcome(label, "already_voted (svar tabt)");
            return Step::Done;
        }
        other => {
            day.outcome(label, other);
            day.violation(format!(
                "{} ({label}) was refused at table {}: {other}",
                day.voter_name(voter),
                k + 1
            ));
            return Step::Done;
        }
    }
    let t1 = Instant::now();
    match client::confirm(&day.http, &url).await {
        Ok(c) if c == "admitted" => {
            let confirm_ms = t1.elapsed().as_secs_f64() * 1e3;
            day.outcome(label, "admitted");
            day.ledger()
                .latency
                .push((day.clock.now(), scan_ms, confirm_ms));
            day.green(voter, k, RecordedMethod::Card, v);
            Step::Done
        }
        Ok(c) if c == "store_error" => {
            // "IKKE GEMT": the table cannot write. The voter goes to another table;
            // this one waits for the valgsekretær.
            client::cancel(&day.http, &url).await;
            day.slots[k].set_mode(TableMode::Broken);
            day.ledger().disk_not_stored += 1;
            day.outcome(label, "store_error");
            Step::MoveOn
        }
        Ok(other) => {
            day.outcome(label, &other);
            day.violation(format!(
                "{} was refused at confirm at table {}: {other}",
                day.voter_name(voter),
                k + 1
            ));
            Step::Done
        }
        Err(_) => {
            // No answer: stored or not, nobody saw green. They try another table.
            v.unsure = true;
            day.ledger().unsure.push((voter, k));
            Step::MoveOn
        }
    }
}

/// A visitor at a table working on paper: the printed list (as it was when the table
/// failed) is checked by eye and marked. False when the table is no longer on paper.
fn on_paper(day: &Arc<Day>, k: usize, v: &Visit) -> bool {
    let label = v.errand.label();
    let mut paper = day.paper.lock().unwrap_or_else(|e| e.into_inner());
    let Some((voted, marks)) = paper.get_mut(&k) else {
        return false;
    };
    let verdict = match v.errand.voter() {
        None => "unknown_card",
        Some(x) => {
            let vt = &day.voters[x];
            if vt.place != day.place {
                "wrong_place"
            } else if vt.struck.is_some() {
                "struck"
            } else if vt.brevstemme {
                "brevstemme"
            } else if voted.contains(&x) || marks.contains(&x) {
                "already_voted"
            } else {
                marks.push(x);
                "marked on paper"
            }
        }
    };
    drop(paper);
    day.outcome(label, &format!("{verdict} (papir)"));
    if let Errand::Refused { expect, .. } = &v.errand
        && *expect != verdict
    {
        day.violation(format!("on paper a {label} visitor was {verdict}"));
    }
    true
}
