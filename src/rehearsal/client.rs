//! The tables' HTTP API as the screen and the valgsekretær use it.

use anyhow::anyhow;
use serde_json::{Value, json};
use std::time::Duration;

/// The request did not get an answer: the table may or may not have acted on it.
#[derive(Debug)]
pub struct NoAnswer(pub String);

pub fn http() -> anyhow::Result<reqwest::Client> {
    crate::sync::tls::install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(15))
        // Shorter than the tables' header-read timeout, so a pooled connection is
        // never reused just as the table closes it.
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| anyhow!("HTTP client: {e}"))
}

/// Status and JSON body of a request.
pub async fn send(req: reqwest::RequestBuilder) -> Result<(u16, Value), NoAnswer> {
    let res = req.send().await.map_err(|e| NoAnswer(e.to_string()))?;
    let status = res.status().as_u16();
    let body = res.bytes().await.map_err(|e| NoAnswer(e.to_string()))?;
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

pub async fn post(
    http: &reqwest::Client,
    url: &str,
    path: &str,
    body: Value,
) -> Result<(u16, Value), NoAnswer> {
    send(http.post(format!("{url}{path}")).json(&body)).await
}

pub async fn get(http: &reqwest::Client, url: &str, path: &str) -> Result<(u16, Value), NoAnswer> {
    send(http.get(format!("{url}{path}"))).await
}

/// Waits until the device at `url` holds `target` events (its `/api/health`):
/// `Ok(how long)`, or `Err(how long)` once `limit` has passed; with the events it held
/// last.
pub async fn holds_events(
    http: &reqwest::Client,
    url: &str,
    target: u64,
    limit: Duration,
) -> (Result<Duration, Duration>, u64) {
    let asked = std::time::Instant::now();
    loop {
        let have = match get(http, url, "/api/health").await {
            Ok((200, h)) => h["events"].as_u64().unwrap_or(0),
            _ => 0,
        };
        if have >= target {
            return (Ok(asked.elapsed()), have);
        }
        if asked.elapsed() > limit {
            return (Err(asked.elapsed()), have);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The refusal code of a screen, or the kind of its view.
pub fn outcome(screen: &Value) -> String {
    let view = &screen["view"];
    match view["kind"].as_str() {
        Some("refused") => view["code"].as_str().unwrap_or("?").to_string(),
        Some(k) => k.to_string(),
        None => format!("error: {}", screen["detail"].as_str().unwrap_or("?")),
    }
}

pub async fn scan(http: &reqwest::Client, url: &str, code: &str) -> Result<String, NoAnswer> {
    let (_, v) = post(http, url, "/api/scan", json!({ "code": code })).await?;
    Ok(outcome(&v))
}

pub async fn confirm(http: &reqwest::Client, url: &str) -> Result<String, NoAnswer> {
    let (_, v) = post(http, url, "/api/confirm", json!({})).await?;
    Ok(outcome(&v))
}

pub async fn cancel(http: &reqwest::Client, url: &str) {
    let _ = post(http, url, "/api/cancel", json!({})).await;
}

/// The name of the rehearsal's valgsekretær, as the tables' `[[officials]]` list her.
pub const VALGSEKRETAER: &str = "Karen Jensen";

/// Logs the rehearsal's valgsekretær in; the token of the session.
pub async fn login(http: &reqwest::Client, url: &str, pin: &str) -> Result<String, NoAnswer> {
    let body = json!({ "name": VALGSEKRETAER, "pin": pin });
    let (status, v) = post(http, url, "/api/secretary/login", body).await?;
    v["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| NoAnswer(format!("login refused ({status}): {v}")))
}

/// A valgsekretær call with the session's token.
pub async fn secretary(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value), NoAnswer> {
    let req = match body {
        Some(b) => http.post(format!("{url}{path}")).json(&b),
        None => http.get(format!("{url}{path}")),
    };
    send(req.bearer_auth(token)).await
}
