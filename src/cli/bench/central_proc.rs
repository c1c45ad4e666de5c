//! The central tally under `bench central` as the office runs it: `valgbord central
//! --config FILE`, a process of its own. So its memory is its own (issue 14 asks for the
//! central's peak memory with a municipality and with the country, beside what the
//! office's machine has), its sockets are only the server ends, and what the bench
//! reads afterwards comes the way the office reads it: the stored count from `/metrics`,
//! the overview from `/api/overview` after a login.

use super::proc as bench_proc;
use crate::central::config::CentralConfig;
use anyhow::{Context, anyhow};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// The office login the bench's configuration lists (role read).
pub const USER: (&str, &str) = ("bench", "bench");

/// A running central; killed when dropped, so a failed bench leaves no process behind.
pub struct CentralProc {
    child: Option<Child>,
    pid: u32,
    /// The office screen and /metrics (plain HTTP: test mode).
    pub office: String,
    /// The sync listener (mutual TLS), when configured.
    pub sync: Option<std::net::SocketAddr>,
    /// The central's device key file, written by the central at its first start.
    pub key: PathBuf,
    /// Its peak memory (VmHWM) right after start: the list opened, nothing pushed yet.
    pub started_kib: Option<u64>,
    log: PathBuf,
}

impl CentralProc {
    /// Writes `cfg` (with free loopback ports) to `dir/central.toml` and starts the
    /// central on it; returns once it says where it listens.
    pub fn start(dir: &Path, mut cfg: CentralConfig) -> anyhow::Result<CentralProc> {
        let ports = crate::ports::ports(0, 2)?;
        let (office, sync) = (ports[0], ports[1]);
        cfg.listen = std::net::SocketAddr::from(([127, 0, 0, 1], office));
        if cfg.sync_listen.is_some() {
            cfg.sync_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], sync)));
        }
        let config = dir.join("central.toml");
        let body = toml::to_string_pretty(&cfg).context("the central's configuration")?;
        std::fs::write(
            &config,
            format!("# Written by `valgbord bench central` (test mode).\n{body}"),
        )
        .with_context(|| format!("{}", config.display()))?;
        let log = dir.join("central.log");
        let child =
            crate::rehearsal::place::spawn_daemon("central", &config, &log, "the central tally")?;
        let pid = child.id();
        let started_kib = bench_proc::peak_rss_kib(pid);
        Ok(CentralProc {
            child: Some(child),
            pid,
            office: format!("http://{}", cfg.listen),
            sync: cfg.sync_listen,
            key: cfg.key.clone(),
            started_kib,
            log,
        })
    }

    /// Events in the central's log, as its `/metrics` gauge says.
    pub async fn stored(&self, http: &reqwest::Client) -> anyhow::Result<u64> {
        let text = http
            .get(format!("{}/metrics", self.office))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        text.lines()
            .find_map(|l| l.strip_prefix("valgbord_central_events_stored "))
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| anyhow!("/metrics has no valgbord_central_events_stored"))
    }

    /// The office's overview, read twice over HTTP as the dashboard does all day (the
    /// electorate is counted only the first time): both times, the places, the turnout.
    pub async fn overview(
        &self,
        http: &reqwest::Client,
    ) -> anyhow::Result<(Duration, Duration, usize, f64)> {
        let login: serde_json::Value = http
            .post(format!("{}/api/login", self.office))
            .json(&serde_json::json!({"user": USER.0, "password": USER.1}))
            .send()
            .await?
            .error_for_status()
            .context("the office login")?
            .json()
            .await?;
        let token = login["token"]
            .as_str()
            .ok_or_else(|| anyhow!("the login answered no token: {login}"))?
            .to_string();
        let read = || async {
            let t = Instant::now();
            let body: serde_json::Value = http
                .get(format!("{}/api/overview", self.office))
                .bearer_auth(&token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            anyhow::Ok((t.elapsed(), body))
        };
        let (first, _) = read().await?;
        let (then, body) = read().await?;
        let places = body["places"].as_array().map_or(0, Vec::len);
        let percent = body["total"]["percent"].as_f64().unwrap_or(0.0);
        Ok((first, then, places, percent))
    }

    /// Reads the peak memory (VmHWM), then stops the central as systemd does
    /// (SIGTERM) and waits for it, so its database is closed and its WAL checkpointed;
    /// returns that peak.
    pub fn stop(mut self) -> anyhow::Result<Option<u64>> {
        let peak = bench_proc::peak_rss_kib(self.pid);
        let Some(mut child) = self.child.take() else {
            return Ok(peak);
        };
        let pid = i32::try_from(self.pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .ok_or_else(|| anyhow!("the central has no process id"))?;
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    return Err(anyhow!(
                        "the central stopped with {status}; see {}",
                        self.log.display()
                    ));
                }
                return Ok(peak);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(anyhow!(
                    "the central did not stop within 60 s of SIGTERM; see {}",
                    self.log.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for CentralProc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
