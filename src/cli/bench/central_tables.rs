//! The simulated tables of `bench central` reaching the central as real tables do: over
//! mutual TLS on its sync listener, each table with its own device key and certificate
//! and one connection of its own, reused between pushes as a real table reuses it. Thousands of tables are
//! thousands of sockets, and this process holds the tables' end of each (the central,
//! its own process, the other), so the open-files limit is raised first and the
//! sockets open are counted.

use super::measure::spread;
use crate::election::keys::{DevicePublic, DeviceSecret};
use crate::sync::tls::{TrustedKeys, client_config};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Tables connecting at once: tables come up over the morning, not all in the same
/// millisecond, and the central drops a handshake not done within 2 s.
pub const CONNECTING: usize = 64;

/// Open files beside the sockets: the list's database while it is made, the runtime.
const FILES_BESIDE: u64 = 2_048;

/// Raises the open-files limit for the tables' ends of `each` connections per table;
/// says what it did. The central, started from this process, inherits the limit.
pub fn raise_open_files(tables: u32, each: u64) -> anyhow::Result<()> {
    let need = each * u64::from(tables) + FILES_BESIDE;
    let limits = crate::open_files::at_least(need)
        .map_err(|e| anyhow::anyhow!("bench central, {tables} tables: {e}"))?;
    println!(
        "  open-files limit {} (soft) / {} (hard); {tables} tables need about {need}",
        limits.soft.map_or("unlimited".into(), |n| n.to_string()),
        limits.hard.map_or("unlimited".into(), |n| n.to_string()),
    );
    Ok(())
}

/// A table's own HTTP client: its certificate, trusting only the central's key, at most
/// two connections (a table's pushes are sequential, and so are its pulls of the
/// central), not reused once idle as long as a
/// real table's client would not reuse it (`CLIENT_IDLE_REUSE`): at a country's rate a
/// table pushes about every 10 s, so most pushes open a new connection with a TLS
/// handshake, as on the day. The time-out is longer than a table's 5 s so that a slow
/// push shows as latency, not as a refusal.
pub fn table_client(key: &DeviceSecret, central: DevicePublic) -> anyhow::Result<reqwest::Client> {
    let trusted = TrustedKeys::Listed(std::iter::once(central).collect());
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(client_config(key, trusted)?)
        .https_only(true)
        .pool_max_idle_per_host(2)
        .pool_idle_timeout(crate::sync::tls::CLIENT_IDLE_REUSE)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// Every table connects (TCP, TLS handshake with both certificates checked, one
/// `GET /sync/v1/hello`), [`CONNECTING`] at a time; prints how long it took in all and
/// per table. A connection stays in its client for the pushes that follow within
/// `CLIENT_IDLE_REUSE`.
pub async fn connect_all(clients: &[reqwest::Client], sync: SocketAddr) -> anyhow::Result<()> {
    let url = Arc::new(format!("https://{sync}/sync/v1/hello"));
    let gate = Arc::new(tokio::sync::Semaphore::new(CONNECTING));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for http in clients {
        let (http, url, gate) = (http.clone(), url.clone(), gate.clone());
        tasks.spawn(async move {
            let _turn = gate.acquire_owned().await;
            let t = Instant::now();
            let r = http.get(url.as_str()).send().await;
            let ok = matches!(&r, Ok(r) if r.status().is_success());
            let why = match r {
                Err(e) => crate::sync::tls::error_chain(&e),
                Ok(r) => format!("HTTP {}", r.status()),
            };
            (t.elapsed(), ok.then_some(()).ok_or(why))
        });
    }
    let mut times = Vec::new();
    let mut failed = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (d, r) = done?;
        times.push(d);
        if let Err(why) = r {
            failed.push(why);
        }
    }
    let all = started.elapsed();
    println!(
        "  {} tables connected over mutual TLS in {:.1} s ({CONNECTING} at a time): each (TCP + handshake + one request) {}",
        clients.len(),
        all.as_secs_f64(),
        spread(times)
    );
    if let Some(first) = failed.first() {
        return Err(anyhow::anyhow!(
            "{} of {} tables could not connect to the central, the first: {first}",
            failed.len(),
            clients.len()
        ));
    }
    Ok(())
}

/// Sockets this process has open (its entries in /proc/self/fd that are sockets).
fn sockets_open() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter(|l| l.to_string_lossy().starts_with("socket:"))
        .count()
}

/// The most sockets open at the moments sampled: when the bench starts, once every
/// table has connected, and after the pushes. Not on a timer while pushes are timed: one
/// look reads a link in /proc for every open file, and with a country's 8,900 tables
/// (17,800 sockets) a look every half second took a quarter of this process's CPU
/// (`perf`, issue 14), CPU the timed central then lacked on a 2-core machine.
pub struct SocketPeak {
    peak: usize,
}

impl SocketPeak {
    pub fn start() -> SocketPeak {
        SocketPeak {
            peak: sockets_open(),
        }
    }

    /// Counts the sockets open now (call it outside the timed part).
    pub fn sample(&mut self) {
        self.peak = self.peak.max(sockets_open());
    }

    /// The peak so far, the present count included.
    pub fn peak(&mut self) -> usize {
        self.sample();
        self.peak
    }
}

/// A sync request as a table sends it: `req` as JSON, signed with the table's key in
/// the signature header (pushes and pulls alike).
pub fn signed_post(
    http: &reqwest::Client,
    url: &str,
    key: &DeviceSecret,
    req: &impl serde::Serialize,
) -> reqwest::RequestBuilder {
    let body = serde_json::to_vec(req).unwrap_or_default();
    let sig = crate::sync::auth::sign_body(key, &body);
    http.post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(crate::sync::auth::HEADER, sig)
        .body(body)
}
