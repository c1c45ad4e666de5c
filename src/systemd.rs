//! systemd integration of the table daemon (and of the central tally): readiness,
//! the watchdog and stopping, told to the service manager over its notify socket
//! (`sd_notify(3)`).
//!
//! `systemd/valgbord-table.service` is `Type=notify` with `WatchdogSec=`: systemd
//! counts the table as started only after [`notify_ready`] (so the kiosk browser, ordered
//! after it, never opens an unanswered page), and restarts it when the pings of
//! [`spawn_watchdog`] stop — a hung table is restarted instead of showing a frozen
//! screen while voters queue.
//!
//! Without `NOTIFY_SOCKET` in the environment (a terminal, the demo, the tests) every
//! function here does nothing. A failure to reach the socket is logged, never fatal: the
//! table keeps serving voters.

use sd_notify::NotifyState;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// Tells systemd the table is up (`READY=1`), with a line for `systemctl status`
/// (`STATUS=`), e.g. "bord 2, valgsted 3: http://127.0.0.1:8080".
pub fn notify_ready(status: &str) {
    let status = one_line(status);
    send(&[NotifyState::Ready, NotifyState::Status(&status)]);
}

/// Replaces the `STATUS=` line shown by `systemctl status`.
pub fn notify_status(status: &str) {
    let status = one_line(status);
    send(&[NotifyState::Status(&status)]);
}

/// Tells systemd the table is stopping (`STOPPING=1`), so a slow shutdown is not
/// mistaken for a hang.
pub fn notify_stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// The watchdog timeout systemd asked for (`WATCHDOG_USEC`, for this process according
/// to `WATCHDOG_PID`), or `None` when there is no watchdog or no notify socket.
pub fn watchdog_timeout() -> Option<Duration> {
    std::env::var_os("NOTIFY_SOCKET")?;
    sd_notify::watchdog_enabled().filter(|t| !t.is_zero())
}

/// Starts feeding the systemd watchdog, if systemd set one: a tokio task that every half
/// timeout runs `healthy` on a blocking thread and sends `WATCHDOG=1` only when it
/// returns true. A check that fails, panics or hangs feeds nothing, and systemd
/// restarts the table once the timeout passes (`Restart=always`).
///
/// `healthy` should be quick and prove the table can still do its work, e.g. take the
/// table lock and run a small SQLite query. It is never run twice at once. Returns the
/// task, or `None` when there is no watchdog. Must be called inside a tokio runtime.
pub fn spawn_watchdog(healthy: impl Fn() -> bool + Send + 'static) -> Option<JoinHandle<()>> {
    let timeout = watchdog_timeout()?;
    let every = timeout / 2;
    tracing::info!(
        timeout_ms = timeout.as_millis() as u64,
        every_ms = every.as_millis() as u64,
        "systemd watchdog enabled"
    );
    Some(tokio::spawn(watchdog_loop(
        every,
        healthy,
        || send(&[NotifyState::Watchdog]),
        notify_status,
    )))
}

/// The watchdog's loop, with the ping and the status line passed in so it can be
/// tested without a socket.
async fn watchdog_loop<H, P, S>(every: Duration, healthy: H, ping: P, status: S)
where
    H: Fn() -> bool + Send + 'static,
    P: Fn(),
    S: Fn(&str),
{
    // A Mutex makes the check shareable with the blocking thread without asking the
    // caller for Sync; the loop awaits each check, so it is never contended.
    let healthy = Arc::new(Mutex::new(healthy));
    let mut ticker = tokio::time::interval(every.max(Duration::from_millis(1)));
    // After a slow check, wait a full period instead of pinging in a burst.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut was_healthy = true;
    loop {
        ticker.tick().await;
        let check = healthy.clone();
        let ok = match tokio::task::spawn_blocking(move || {
            let check = check.lock().unwrap_or_else(|e| e.into_inner());
            check()
        })
        .await
        {
            Ok(ok) => ok,
            Err(e) => {
                tracing::error!(error = %e, "health check failed");
                false
            }
        };
        if ok {
            ping();
            if !was_healthy {
                tracing::info!("table healthy again; feeding the systemd watchdog");
                status("healthy again");
            }
        } else if was_healthy {
            tracing::error!(
                "table health check failing: not feeding the systemd watchdog, \
                 systemd restarts the table if this lasts"
            );
            status("health check failing; systemd restarts the table if this lasts");
        }
        was_healthy = ok;
    }
}

fn send(states: &[NotifyState<'_>]) {
    // sd_notify does nothing without NOTIFY_SOCKET; checked here too so that the
    // common case (a terminal, the demo) does not even build a message.
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// A notify message is newline-separated `KEY=value` lines: a newline in the status
/// would start a bogus assignment.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::os::unix::net::UnixDatagram;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Instant;

    const VARS: [&str; 3] = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];

    /// Saves the notify variables and puts them back when dropped, also when an
    /// assertion fails. Only `notify_socket_gets_ready_watchdog_and_stopping` changes
    /// them, so no other test of this binary sees a half-set environment from here.
    struct EnvGuard(Vec<(&'static str, Option<OsString>)>);

    impl EnvGuard {
        fn new() -> Self {
            EnvGuard(VARS.iter().map(|v| (*v, std::env::var_os(v))).collect())
        }
        fn set(&self, key: &str, value: impl AsRef<std::ffi::OsStr>) {
            // SAFETY: the environment is changed by this one test only; Rust's own
            // env functions, which the rest of the process uses, take a lock.
            unsafe { std::env::set_var(key, value) }
        }
        fn remove(&self, key: &str) {
            // SAFETY: as in `set`.
            unsafe { std::env::remove_var(key) }
        }
    }

    impl Drop for EnvGuard {
        fn drop(&mut self) {
            for (k, v) in &self.0 {
                match v {
                    Some(v) => self.set(k, v),
                    None => self.remove(k),
                }
            }
        }
    }

    /// Reads datagrams until one contains every line of `want`, or fails after 5 s.
    /// Other messages (another test of this binary may notify too) are skipped.
    fn expect(sock: &UnixDatagram, want: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            match sock.recv(&mut buf) {
                Ok(n) => {
                    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                    if want.iter().all(|w| msg.lines().any(|l| l == *w)) {
                        return msg;
                    }
                    seen.push(msg);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("reading the fake notify socket: {e}"),
            }
        }
        panic!("no notify message with {want:?} within 5 s; got {seen:?}");
    }

    // Every assertion that depends on the process environment is in this one test:
    // tests run on parallel threads of one process.
    // Multi-threaded: `expect` blocks its thread while the watchdog task runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn notify_socket_gets_ready_watchdog_and_stopping() {
        let env = EnvGuard::new();
        for v in VARS {
            env.remove(v);
        }

        // No socket: silent no-ops, no watchdog task.
        notify_ready("no socket");
        notify_status("no socket");
        notify_stopping();
        env.set("WATCHDOG_USEC", "200000");
        assert!(watchdog_timeout().is_none());
        assert!(spawn_watchdog(|| true).is_none());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        env.set("NOTIFY_SOCKET", &path);

        notify_ready("bord 2, valgsted 3\nREADY=0");
        let msg = expect(&sock, &["READY=1", "STATUS=bord 2, valgsted 3 READY=0"]);
        assert!(!msg.lines().any(|l| l == "READY=0"), "{msg:?}");

        // WATCHDOG_USEC for this process: pings at half the interval while healthy.
        env.set("WATCHDOG_PID", std::process::id().to_string());
        assert_eq!(watchdog_timeout(), Some(Duration::from_millis(200)));
        let task = spawn_watchdog(|| true).expect("watchdog task");
        expect(&sock, &["WATCHDOG=1"]);
        expect(&sock, &["WATCHDOG=1"]);
        task.abort();

        // A watchdog meant for another process (WATCHDOG_PID), or none, starts nothing.
        env.set("WATCHDOG_PID", "1");
        assert!(spawn_watchdog(|| true).is_none());
        env.remove("WATCHDOG_PID");
        env.set("WATCHDOG_USEC", "0");
        assert!(spawn_watchdog(|| true).is_none());
        env.remove("WATCHDOG_USEC");
        assert!(spawn_watchdog(|| true).is_none());

        notify_stopping();
        expect(&sock, &["STOPPING=1"]);

        // A socket that went away is logged, not fatal.
        drop(sock);
        notify_status("nobody listens");
    }

    /// Waits (event-based, up to 10 s) until `f` holds.
    async fn until(what: &str, f: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(
                Instant::now() < deadline,
                "{what} did not happen within 10 s"
            );
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[tokio::test]
    async fn watchdog_pings_only_while_healthy() {
        let healthy = Arc::new(AtomicBool::new(true));
        let pings = Arc::new(AtomicUsize::new(0));
        // How many checks have run: the test counts checks, not milliseconds.
        let checks = Arc::new(AtomicUsize::new(0));
        let statuses = Arc::new(Mutex::new(Vec::<String>::new()));
        let (h, c, p, st) = (
            healthy.clone(),
            checks.clone(),
            pings.clone(),
            statuses.clone(),
        );
        let task = tokio::spawn(watchdog_loop(
            Duration::from_millis(5),
            move || {
                let ok = h.load(Ordering::SeqCst);
                c.fetch_add(1, Ordering::SeqCst);
                ok
            },
            move || {
                p.fetch_add(1, Ordering::SeqCst);
            },
            move |s: &str| st.lock().unwrap().push(s.to_string()),
        ));
        let pinged = || pings.load(Ordering::SeqCst);
        let checked = || checks.load(Ordering::SeqCst);

        until("three pings", || pinged() >= 3).await;
        assert!(statuses.lock().unwrap().is_empty());

        healthy.store(false, Ordering::SeqCst);
        // A check already running may still have read "healthy" and ping once; the one
        // after it reads "unhealthy".
        let c0 = checked();
        until("two more checks", || checked() >= c0 + 2).await;
        let stalled = pinged();
        let c1 = checked();
        until("five checks while unhealthy", || checked() >= c1 + 5).await;
        assert_eq!(pinged(), stalled, "pinged while unhealthy");

        healthy.store(true, Ordering::SeqCst);
        until("a ping when healthy again", || pinged() > stalled).await;
        task.abort();
        let statuses = statuses.lock().unwrap().clone();
        assert_eq!(
            statuses,
            [
                "health check failing; systemd restarts the table if this lasts",
                "healthy again"
            ],
            "one status line per change, not per check"
        );
    }

    #[tokio::test]
    async fn a_panicking_or_hanging_check_feeds_nothing() {
        let pings = Arc::new(AtomicUsize::new(0));
        let panicked = Arc::new(AtomicUsize::new(0));
        let (p, n) = (pings.clone(), panicked.clone());
        let panics = tokio::spawn(watchdog_loop(
            Duration::from_millis(5),
            move || {
                n.fetch_add(1, Ordering::SeqCst);
                panic!("health check exploded")
            },
            move || {
                p.fetch_add(1, Ordering::SeqCst);
            },
            |_: &str| {},
        ));
        let p = pings.clone();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let hanging = Arc::new(AtomicBool::new(false));
        let entered = hanging.clone();
        let hangs = tokio::spawn(watchdog_loop(
            Duration::from_millis(5),
            move || {
                entered.store(true, Ordering::SeqCst);
                let _ = release_rx.recv();
                false
            },
            move || {
                p.fetch_add(1, Ordering::SeqCst);
            },
            |_: &str| {},
        ));
        // Three panics survived, and the hanging check entered and is held.
        until("three panicking checks", || {
            panicked.load(Ordering::SeqCst) >= 3
        })
        .await;
        until("the hanging check", || hanging.load(Ordering::SeqCst)).await;
        assert_eq!(pings.load(Ordering::SeqCst), 0);
        assert!(
            !panics.is_finished(),
            "a panicking check must not end the loop"
        );
        panics.abort();
        hangs.abort();
        drop(release_tx);
    }

    #[test]
    fn status_is_one_line() {
        assert_eq!(one_line("a\nb\r\nc"), "a b  c");
    }
}
