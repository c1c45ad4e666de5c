//! The rehearsal's two valgstyrere: before the tables open they examine the place's
//! brevstemmer (KRVL § 71) at one table through the valgsekretær routes, the first
//! logged in with her personal PIN and the second confirming with his, and take every
//! one into account (the day's voters who sent one are then refused as brevstemmere).
//! Then they wait until every table has the decisions, as the checklist shows them.

use super::client::{NoAnswer, get, post, secretary};
use anyhow::anyhow;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The two valgstyrere and their personal PINs, as the office's officials file lists them.
pub const VALGSTYRERE: [(&str, &str); 2] = [("Ole Berg", "135790"), ("Lise Dam", "864202")];

/// How long the other tables may take to receive the decisions.
const SPREAD: Duration = Duration::from_secs(60);

fn failed(what: &str) -> impl Fn(NoAnswer) -> anyhow::Error + '_ {
    move |e| anyhow!("{what}: no answer ({})", e.0)
}

/// Examines at `urls[0]` and waits until every table of `urls` has every brevstemme
/// decided. Returns how many were taken into account.
pub async fn examine_brevstemmer(http: &reqwest::Client, urls: &[String]) -> anyhow::Result<usize> {
    let Some(first) = urls.first() else {
        return Ok(0);
    };
    let [(name, pin), (second, second_pin)] = VALGSTYRERE;
    let (status, r) = post(
        http,
        first,
        "/api/secretary/login",
        json!({ "name": name, "pin": pin }),
    )
    .await
    .map_err(failed("valgstyrer login"))?;
    let token = r["token"]
        .as_str()
        .ok_or_else(|| anyhow!("valgstyrer login refused ({status}): {r}"))?
        .to_string();
    let path = "/api/secretary/brevstemmer";
    let (_, list) = secretary(http, first, &token, path, None)
        .await
        .map_err(failed("brevstemmer"))?;
    let undecided: Vec<Value> = list["brevstemmer"]
        .as_array()
        .ok_or_else(|| anyhow!("no list of brevstemmer: {list}"))?
        .iter()
        .filter(|b| b["status"] == "modtaget")
        .map(|b| b["voter_id"].clone())
        .collect();
    if !undecided.is_empty() {
        let body = json!({
            "voter_ids": undecided,
            "accepted": true,
            "second_name": second,
            "second_pin": second_pin,
        });
        let (status, r) = secretary(http, first, &token, path, Some(body))
            .await
            .map_err(failed("brevstemmer examined"))?;
        if status != 200 {
            return Err(anyhow!(
                "the valgstyrere's decision was refused ({status}): {r}"
            ));
        }
    }
    let started = Instant::now();
    for url in urls {
        while !all_decided(http, url).await {
            if started.elapsed() > SPREAD {
                return Err(anyhow!("{url} never received the valgstyrere's decisions"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(undecided.len())
}

/// The table's checklist says every received brevstemme is decided.
async fn all_decided(http: &reqwest::Client, url: &str) -> bool {
    match get(http, url, "/api/checklist").await {
        Ok((200, c)) => c["items"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| i["id"] == "brevstemmer" && i["ok"] == true),
        _ => false,
    }
}
