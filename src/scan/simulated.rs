//! The simulated scanner: scans come from a handle (the HTTP API, stdin, tests).

use super::{ScanEvent, Scanner, ScannerStatus, clean::clean_scan};
use tokio::sync::mpsc;

/// The scanner end; keep the [`SimulatedHandle`] to "scan".
pub struct SimulatedScanner {
    rx: mpsc::Receiver<String>,
}

#[derive(Clone)]
pub struct SimulatedHandle {
    tx: mpsc::Sender<String>,
}

impl SimulatedHandle {
    /// Feeds raw text as if a scanner had read it.
    pub async fn scan(&self, raw: &str) -> bool {
        self.tx.send(raw.to_string()).await.is_ok()
    }
}

pub fn simulated() -> (SimulatedScanner, SimulatedHandle) {
    let (tx, rx) = mpsc::channel(64);
    (SimulatedScanner { rx }, SimulatedHandle { tx })
}

impl Scanner for SimulatedScanner {
    fn describe(&self) -> String {
        "simuleret scanner".into()
    }

    fn spawn(mut self: Box<Self>, out: mpsc::Sender<ScanEvent>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let _ = out
                .send(ScanEvent::Status(ScannerStatus {
                    connected: true,
                    detail: "simuleret scanner".into(),
                }))
                .await;
            while let Some(raw) = self.rx.recv().await {
                let ev = match clean_scan(&raw) {
                    Ok(code) => ScanEvent::Code(code),
                    Err(why) => ScanEvent::Unreadable(why.to_string()),
                };
                if out.send(ev).await.is_err() {
                    break;
                }
            }
        })
    }
}
