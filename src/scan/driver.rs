//! What every hardware scanner driver does alike: tell the table about its health only
//! when it changes (a missing device is retried every second, and the screen and log
//! should not hear about it every second), and turn raw text into [`ScanEvent`]s.

use super::clean::clean_scan;
use super::error::ScanError;
use super::{ScanEvent, ScannerStatus};
use std::fmt::Display;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a driver waits before reopening a device that is missing or failed.
pub(crate) const RETRY: Duration = Duration::from_secs(1);

/// The sending side of a driver, with the health last reported.
pub(crate) struct Reporter {
    out: mpsc::Sender<ScanEvent>,
    /// The device in English, for the log.
    what: String,
    connected: Option<bool>,
}

impl Reporter {
    pub(crate) fn new(out: mpsc::Sender<ScanEvent>, what: String) -> Self {
        Reporter {
            out,
            what,
            connected: None,
        }
    }

    /// Reports the device as working. False when nobody listens any more.
    pub(crate) async fn up(&mut self, detail: String) -> bool {
        if self.connected == Some(true) {
            return !self.out.is_closed();
        }
        tracing::info!(device = %self.what, "scanner connected");
        self.connected = Some(true);
        self.status(true, detail).await
    }

    /// Reports the device as missing or failed; only a change is sent and logged as a
    /// warning, the retries after it are logged at debug level.
    pub(crate) async fn down(&mut self, detail: String, why: &(dyn Display + Sync)) -> bool {
        if self.connected == Some(false) {
            tracing::debug!(device = %self.what, error = %why, "scanner still unavailable");
            return !self.out.is_closed();
        }
        tracing::warn!(device = %self.what, error = %why, "scanner unavailable; retrying every second");
        self.connected = Some(false);
        self.status(false, detail).await
    }

    /// Sends a finished scan: raw text is cleaned, a decoding failure becomes
    /// [`ScanEvent::Unreadable`]. False when nobody listens any more.
    pub(crate) async fn scan(&self, raw: Result<String, ScanError>) -> bool {
        let ev = match raw.and_then(|t| clean_scan(&t)) {
            Ok(code) => {
                tracing::debug!(device = %self.what, len = code.len(), "scan read");
                ScanEvent::Code(code)
            }
            Err(why) => {
                tracing::warn!(device = %self.what, reason = %why, "unreadable scan");
                ScanEvent::Unreadable(why.to_string())
            }
        };
        self.out.send(ev).await.is_ok()
    }

    /// Waits before the next attempt to open the device. False when nobody listens any
    /// more, so the driver can stop instead of retrying forever.
    pub(crate) async fn pause(&self) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(RETRY) => !self.out.is_closed(),
            _ = self.out.closed() => false,
        }
    }

    /// Resolves when the receiver is dropped; lets a read loop stop while idle.
    pub(crate) async fn closed(&self) {
        self.out.closed().await
    }

    async fn status(&self, connected: bool, detail: String) -> bool {
        self.out
            .send(ScanEvent::Status(ScannerStatus { connected, detail }))
            .await
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn health_is_sent_only_when_it_changes() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut r = Reporter::new(tx, "test device".into());
        assert!(r.down("væk".into(), &"missing").await);
        assert!(r.down("væk".into(), &"missing").await);
        assert!(r.up("her".into()).await);
        assert!(r.up("her".into()).await);
        assert!(r.scan(Ok(" 123\r".into())).await);
        assert!(r.scan(Err(ScanError::Empty)).await);
        let mut got = Vec::new();
        while let Ok(ev) = rx.try_recv() {
            got.push(ev);
        }
        let status = |connected, detail: &str| {
            ScanEvent::Status(ScannerStatus {
                connected,
                detail: detail.into(),
            })
        };
        assert_eq!(
            got,
            vec![
                status(false, "væk"),
                status(true, "her"),
                ScanEvent::Code("123".into()),
                ScanEvent::Unreadable("empty scan".into()),
            ]
        );
        drop(rx);
        assert!(!r.pause().await);
    }
}
