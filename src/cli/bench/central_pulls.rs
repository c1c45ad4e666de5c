//! The other half of what a real table sends the central: its pulls. A table pulls from
//! its peers in rounds, every `ANTI_ENTROPY` from `FANOUT` connected peers at random
//! (`sync::client`), and the central is one of those peers; while every other table of
//! its place answers, the central joins a round only once `CENTRAL_PULL_EVERY` has
//! passed since its last pull. Before that rule it was pulled like a table peer: at the country's 7.6
//! tables a place, 1.3 times a second by each table, about 13,000 pulls a second at a
//! central for 10,000 tables, far more requests than its 1,000 pushes; this bench
//! showed the central could not answer them. The pulls also keep the table's
//! connection in use, so its pushes seldom need a new handshake.
//!
//! Each simulated table pulls at its real rate on its own client (open loop from a
//! phase of its own), saying it has what its place's tables have pushed so far, as a
//! table on a healthy LAN does; the central then answers with its version vector and
//! usually no events.

use super::push_refusals::Refusals;
use crate::election::keys::DeviceSecret;
use crate::sync::client::{ANTI_ENTROPY, CENTRAL_PULL_EVERY, FANOUT};
use crate::sync::protocol::{Hello, MAX_PAGE, PullRequest, PullResponse, VersionVector};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// What a place's tables have pushed so far: what each of them holds on a healthy LAN.
pub type PlaceHave = Arc<Mutex<VersionVector>>;

/// How often, about, a table of a place with `tables` tables pulls the central: alone
/// at its place, every round; otherwise once `CENTRAL_PULL_EVERY` has passed, at the
/// next round that picks it (`FANOUT` of its peers, the other tables and the central).
pub fn every(tables: usize) -> Duration {
    let peers = tables.max(1);
    let share = (FANOUT as f64 / peers as f64).min(1.0);
    let picked = ANTI_ENTROPY.div_f64(share);
    if tables <= 1 {
        picked
    } else {
        CENTRAL_PULL_EVERY + picked
    }
}

/// One table's pulls: their latencies (from when each was due), failures by kind, and
/// events the central sent back (pushed by a table of the place, stored at the central
/// before the push's answer reached the bench).
#[derive(Default)]
pub struct Pulls {
    pub latencies: Vec<Duration>,
    pub failed: Refusals,
    pub events_back: u64,
}

impl Pulls {
    pub fn merge(&mut self, other: Pulls) {
        self.latencies.extend(other.latencies);
        self.failed.merge(other.failed);
        self.events_back += other.events_back;
    }
}

/// One table.
pub struct Puller {
    pub http: reqwest::Client,
    pub key: DeviceSecret,
    pub hello: Hello,
    pub have: PlaceHave,
    pub every: Duration,
    /// Where in the first interval its first pull falls, 0..1.
    pub phase: f64,
}

/// Pulls until `stop` turns true.
pub async fn run(p: Puller, url: String, mut stop: watch::Receiver<bool>) -> Pulls {
    let mut out = Pulls::default();
    let mut due = tokio::time::Instant::now() + p.every.mul_f64(p.phase);
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(due) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        let have = p.have.lock().map(|h| h.clone()).unwrap_or_default();
        let req = PullRequest {
            hello: p.hello.clone(),
            have,
            limit: MAX_PAGE,
            stamp: crate::sync::replay::Stamp::new(crate::store::now_ms(), 0).ok(),
        };
        let sent = super::central_tables::signed_post(&p.http, &url, &p.key, &req)
            .send()
            .await;
        match answer(sent).await {
            Ok(events) => out.events_back += events,
            Err(why) => out.failed.add(why),
        }
        out.latencies.push(due.elapsed());
        due += p.every;
        // A pull later than its next turn is not made up for: a table's round waits
        // for the pull before it (open loop only within that).
        let now = tokio::time::Instant::now();
        if due < now {
            due = now;
        }
    }
    out
}

async fn answer(sent: reqwest::Result<reqwest::Response>) -> Result<u64, String> {
    let r = sent.map_err(|e| crate::sync::tls::error_chain(&e))?;
    let status = r.status();
    if !status.is_success() {
        let text = r.text().await.unwrap_or_default();
        return Err(format!("HTTP {status}: {text}"));
    }
    let page: PullResponse = r.json().await.map_err(|e| format!("answer: {e}"))?;
    Ok(page.events.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_pulls_the_central_as_often_as_its_rounds_choose_it() {
        // Alone at its place: the central is its only peer, pulled every round.
        assert_eq!(every(1), ANTI_ENTROPY);
        // With a table beside it: every CENTRAL_PULL_EVERY, at the next round.
        assert_eq!(every(2), CENTRAL_PULL_EVERY + ANTI_ENTROPY);
        // Six tables: the central is one of six peers, three chosen a round.
        assert_eq!(every(6), CENTRAL_PULL_EVERY + ANTI_ENTROPY * 2);
    }
}
