//! Where the central checks passwords: a few threads of their own, so at most that many
//! argon2 runs exist at once whatever arrives. Each run takes 19 MiB and tens of
//! milliseconds on purpose; on the blocking pool a crowd of logins would run side by side
//! (hundreds of MiB, every core) and leave the pool's threads holding the memory after.
//! A login waits its turn a few seconds and is then turned away.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, oneshot};

type Job = Box<dyn FnOnce() + Send>;

/// Why a check did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotRun {
    /// Every checker stayed busy for the whole wait.
    Busy,
    /// No checker thread could be started, or one failed during the check.
    Broken,
}

pub struct PasswordChecks {
    jobs: SyncSender<Job>,
    turns: Semaphore,
    workers: usize,
    wait: Duration,
}

impl PasswordChecks {
    /// `n` checker threads; a check waits at most `wait` for one.
    pub fn new(n: usize, wait: Duration) -> PasswordChecks {
        let (jobs, rx) = sync_channel::<Job>(n);
        let rx = Arc::new(Mutex::new(rx));
        let workers = (0..n)
            .filter(|i| {
                let rx = rx.clone();
                std::thread::Builder::new()
                    .name(format!("password-check-{i}"))
                    .spawn(move || work(&rx))
                    .map_err(|e| tracing::error!(error = %e, "no password check thread"))
                    .is_ok()
            })
            .count();
        PasswordChecks {
            jobs,
            turns: Semaphore::new(workers),
            workers,
            wait,
        }
    }

    /// Runs `check` on a checker thread when one is free within the wait.
    pub async fn run<T: Send + 'static>(
        &self,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, NotRun> {
        if self.workers == 0 {
            return Err(NotRun::Broken);
        }
        let _turn = match tokio::time::timeout(self.wait, self.turns.acquire()).await {
            Ok(Ok(turn)) => turn,
            _ => return Err(NotRun::Busy),
        };
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(check());
        });
        // A turn is held, so a checker is free or about to be: the queue has room.
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(NotRun::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(NotRun::Broken),
        }
        rx.await.map_err(|_| NotRun::Broken)
    }
}

fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = match rx.lock() {
            Ok(r) => r.recv(),
            Err(e) => e.into_inner().recv(),
        };
        let Ok(job) = job else { return };
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
            tracing::error!("a password check panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn no_more_than_n_checks_run_at_once_and_the_rest_wait_or_are_turned_away() {
        let checks = Arc::new(PasswordChecks::new(2, Duration::from_secs(30)));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (open_tx, open_rx) = std::sync::mpsc::channel::<()>();
        let open_rx = Arc::new(Mutex::new(open_rx));
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (c, r, p, o) = (
                checks.clone(),
                running.clone(),
                peak.clone(),
                open_rx.clone(),
            );
            tasks.push(tokio::spawn(async move {
                c.run(move || {
                    let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                    p.fetch_max(now, Ordering::SeqCst);
                    // Held until the test lets one check finish.
                    let _ = o.lock().map(|rx| rx.recv());
                    r.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        // Two start and stay; the other four wait their turn.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while running.load(Ordering::SeqCst) < 2 && std::time::Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        assert_eq!(checks.turns.available_permits(), 0);
        assert_eq!(running.load(Ordering::SeqCst), 2);
        for _ in 0..6 {
            let _ = open_tx.send(());
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(()));
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        let short = PasswordChecks::new(1, Duration::from_millis(50));
        let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
        let short = Arc::new(short);
        let s2 = short.clone();
        let held = tokio::spawn(async move { s2.run(move || hold_rx.recv().is_ok()).await });
        tokio::task::yield_now().await;
        while short.turns.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(short.run(|| true).await, Err(NotRun::Busy));
        hold_tx.send(()).unwrap();
        assert_eq!(held.await.unwrap(), Ok(true));
    }
}
