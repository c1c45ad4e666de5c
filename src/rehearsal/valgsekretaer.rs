//! The valgsekretær's errands at a table: the search for a voter without a card, a
//! reissued card, and the paper marks entered after a table was down.

use super::client;
use super::day::Errand;
use super::valglokale::{Day, Step, Visit};
use crate::election::event::RecordedMethod;
use anyhow::anyhow;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// The valgsekretær searches by name and birthdate and sends the voter to this table,
/// whose tilforordnet approves.
pub async fn without_card(day: &Arc<Day>, k: usize, v: &mut Visit, voter: usize) -> Step {
    let who = &day.voters[voter];
    let q = format!(
        "{} {} {}",
        who.first_names,
        who.last_name,
        who.birthdate.format("%d-%m-%Y")
    );
    let path = format!("/api/secretary/search?q={}", percent(&q));
    let Ok((status, hits)) = day.secretary(k, &path, None).await else {
        return Step::MoveOn;
    };
    let hit = hits
        .as_array()
        .and_then(|a| a.iter().find(|h| h["voter"]["id"] == who.id.as_str()));
    let Some(hit) = hit else {
        if status >= 500 {
            return Step::MoveOn;
        }
        day.violation(format!(
            "search \"{q}\" at table {} did not find {}",
            k + 1,
            who.id
        ));
        return Step::Done;
    };
    if hit["may_vote"] != true {
        if v.unsure {
            return Step::Done;
        }
        day.violation(format!(
            "search shows {} as not allowed to vote: {}",
            who.id, hit["status"]
        ));
        return Step::Done;
    }
    let body = json!({ "voter_id": who.id, "table_no": k + 1 });
    match day.secretary(k, "/api/secretary/checkin", Some(body)).await {
        // Sent: the table shows the voter as pending; its tilforordnet approves.
        Ok((200, r)) if r["sent"] == true => {
            let url = day.slots[k].url.clone();
            match client::confirm(&day.http, &url).await {
                Ok(c) if c == "admitted" => {
                    day.outcome(v.errand.label(), "admitted");
                    day.green(voter, k, RecordedMethod::Manual, v);
                    Step::Done
                }
                Ok(other) => {
                    client::cancel(&day.http, &url).await;
                    day.outcome(v.errand.label(), &other);
                    if !v.unsure {
                        day.violation(format!(
                            "check-in without card of {} refused at confirm: {other}",
                            who.id
                        ));
                    }
                    Step::Done
                }
                Err(_) => {
                    v.unsure = true;
                    day.ledger().unsure.push((voter, k));
                    Step::MoveOn
                }
            }
        }
        Ok((200, r)) => {
            day.outcome(v.errand.label(), r["title"].as_str().unwrap_or("refused"));
            if !v.unsure {
                day.violation(format!("check-in without card of {} refused: {r}", who.id));
            }
            Step::Done
        }
        // An error answer: nothing was stored (e.g. the disk is full).
        Ok(_) => Step::MoveOn,
        Err(_) => {
            v.unsure = true;
            day.ledger().unsure.push((voter, k));
            Step::MoveOn
        }
    }
}

/// The valgsekretær enters the paper marks at the table that was down.
pub async fn enter_paper(
    day: &Arc<Day>,
    k: usize,
    marks: &[usize],
    from_ms: i64,
) -> anyhow::Result<String> {
    let list_nos: Vec<u32> = marks.iter().map(|&m| day.voters[m].list_no).collect();
    let body = json!({
        "list_nos": list_nos,
        "table_no": k + 1,
        "from_ms": from_ms,
        "to_ms": crate::store::now_ms(),
    });
    let (status, r) = day
        .secretary(k, "/api/secretary/paper", Some(body))
        .await
        .map_err(|e| anyhow!("paper entry got no answer: {}", e.0))?;
    if status != 200 {
        return Err(anyhow!("paper entry refused ({status}): {r}"));
    }
    let by_id: HashMap<&str, usize> = marks
        .iter()
        .map(|&m| (day.voters[m].id.as_str(), m))
        .collect();
    let mut entered = 0;
    let dummy = Visit {
        errand: Errand::Vote { voter: 0 },
        repeats: false,
        avoid: Vec::new(),
        attempts: 0,
        unsure: false,
        new_code: None,
    };
    let conflicts = r["conflicts"].as_array().cloned().unwrap_or_default();
    for id in r["entered"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str())
        .chain(conflicts.iter().filter_map(|c| c["voter_id"].as_str()))
    {
        match by_id.get(id) {
            Some(&m) => {
                day.green(m, k, RecordedMethod::Paper, &dummy);
                entered += 1;
            }
            None => day.violation(format!("paper entry entered {id}, which was not marked")),
        }
    }
    for what in ["refused", "unknown"] {
        if r[what].as_array().is_some_and(|a| !a.is_empty()) {
            day.violation(format!("paper entry {what}: {}", r[what]));
        }
    }
    {
        let mut l = day.ledger();
        l.paper_marks += marks.len();
        l.paper_conflicts += conflicts.len();
    }
    if entered != marks.len() {
        day.violation(format!("{} paper marks, {entered} entered", marks.len()));
    }
    Ok(format!(
        "{} mærker på papir indtastet, {} konflikter (dobbeltregistreringer)",
        marks.len(),
        conflicts.len()
    ))
}

/// Percent-encoding of a query value.
fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The valgsekretær reissues the card of a voter who lost theirs; with `probe` the old
/// card turns up and is tried first (it must be refused). The new card's code, or what
/// becomes of the visitor when the table did not do it.
pub async fn reissue(
    day: &Arc<Day>,
    k: usize,
    v: &mut Visit,
    voter: usize,
    probe: bool,
) -> Result<String, Step> {
    let url = day.slots[k].url.clone();
    let id = day.voters[voter].id.clone();
    let Ok((status, r)) = day
        .secretary(k, "/api/secretary/reissue", Some(json!({ "voter_id": id })))
        .await
    else {
        return Err(Step::MoveOn);
    };
    let Some(code) = r["new_code"].as_str().map(str::to_string) else {
        if status >= 500 {
            return Err(Step::MoveOn);
        }
        day.violation(format!(
            "reissue for {} at table {} refused ({status}): {r}",
            day.voter_name(voter),
            k + 1
        ));
        return Err(Step::Done);
    };
    day.ledger().current_card.insert(voter, code.clone());
    v.new_code = Some(code.clone());
    if probe {
        // The old card turns up and is tried first.
        let old = day.voters[voter].card_code.clone();
        let Ok(got) = client::scan(&day.http, &url, &old).await else {
            return Err(Step::MoveOn);
        };
        day.outcome("gammelt kort efter genudstedelse", &got);
        if got == "card_superseded" {
            day.ledger().superseded_refused += 1;
        } else {
            if got == "pending" {
                client::cancel(&day.http, &url).await;
            }
            day.violation(format!(
                "the replaced card of {} gave {got} at table {}",
                day.voter_name(voter),
                k + 1
            ));
        }
    }
    Ok(code)
}
