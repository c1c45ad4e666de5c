//! The benchmarks' way of running what a user runs: this binary's own commands as
//! processes, timed from spawn to exit (start-up, reading files, fsync and all), with
//! their peak memory, so a figure stands for the command a person types.

use anyhow::Context;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// One finished command.
pub struct Ran {
    pub took: Duration,
    /// Peak resident memory (VmHWM) in KiB, as last read before the process ended.
    pub peak_kib: Option<u64>,
    pub stdout: String,
}

/// How often a running command's peak memory is read: VmHWM only grows, so the last
/// reading before exit misses at most what the last few milliseconds added.
const SAMPLE: Duration = Duration::from_millis(5);

/// Runs `valgbord ARGS…` and waits for it; an exit other than 0 is an error with the
/// command's own message.
pub fn run(args: &[&str]) -> anyhow::Result<Ran> {
    let started = Instant::now();
    let out_file = tempfile_in(&std::env::temp_dir())?;
    let mut child = crate::own_binary::command()?
        .args(args)
        .stdin(Stdio::null())
        .stdout(out_file.0.try_clone().context("stdout file")?)
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run valgbord {}", args.join(" ")))?;
    let mut peak = None;
    let status = loop {
        if let Some(k) = peak_rss_kib(child.id()) {
            peak = Some(k);
        }
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => std::thread::sleep(SAMPLE),
            Err(e) => return Err(anyhow::anyhow!("valgbord {}: {e}", args.join(" "))),
        }
    };
    let took = started.elapsed();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    let stdout = std::fs::read_to_string(&out_file.1).unwrap_or_default();
    let _ = std::fs::remove_file(&out_file.1);
    if !status.success() {
        return Err(anyhow::anyhow!(
            "valgbord {} failed ({status}): {}",
            args.join(" "),
            err.trim()
        ));
    }
    Ok(Ran {
        took,
        peak_kib: peak,
        stdout,
    })
}

/// A file for a command's output (a pipe could fill while we only poll the process).
fn tempfile_in(dir: &Path) -> anyhow::Result<(std::fs::File, std::path::PathBuf)> {
    let path = dir.join(format!(
        "valgbord-bench-{}-{}.out",
        std::process::id(),
        crate::store::now_ms()
    ));
    let f = std::fs::File::create(&path).with_context(|| format!("{}", path.display()))?;
    Ok((f, path))
}

/// Peak resident memory of a running process, in KiB (`VmHWM` in `/proc/PID/status`).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// "123 MB" from KiB, or "—" when not known.
pub fn mb(kib: Option<u64>) -> String {
    kib.map_or("—".into(), |k| {
        format!("{:.0} MB", k as f64 * 1024.0 / 1e6)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_its_own_peak_memory() {
        // Now first: the peak read after it can only be as high or higher.
        let now = super::status_kib(std::process::id(), "VmRSS:").expect("VmRSS");
        let kib = super::peak_rss_kib(std::process::id()).expect("VmHWM");
        assert!(kib > 100, "{kib} KiB");
        assert!(now <= kib, "{now} > {kib}");
        assert_eq!(super::mb(Some(1000)), "1 MB");
        assert_eq!(super::mb(None), "—");
    }
}
