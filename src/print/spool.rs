//! The receipt printer's own thread, so a printer that stops taking data (out of paper,
//! lid open, switched off halfway through a job) never holds up a check-in.
//!
//! The table's state lives behind one lock. Printing used to happen under it: a card
//! reprint into a USB printer that had run out of paper blocked in `write(2)`, and with
//! it every scan at the table. Now the table hands the receipt to this thread and gets
//! a [`Ticket`]; whoever wants the outcome waits for it after the lock is released, and
//! no longer than [`WAIT`].

use super::{error::PrintError, printer::Printer, printer::PrinterStatus, receipt::Receipt};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long a caller waits for a job before telling the user the printer does not
/// answer. Longer than the drivers' own write limits, so their precise reason wins.
pub const WAIT: Duration = Duration::from_secs(30);

struct Job {
    receipt: Receipt,
    done: oneshot::Sender<Result<(), PrintError>>,
}

/// A printer and the thread that prints on it, one job after another.
#[derive(Clone)]
pub struct Spool {
    printer: Arc<dyn Printer>,
    jobs: mpsc::Sender<Job>,
}

/// The outcome of one job, to wait for outside the table's lock.
pub struct Ticket {
    what: String,
    done: oneshot::Receiver<Result<(), PrintError>>,
}

impl Ticket {
    /// The job's outcome, as the Danish reason when it was not printed. A `String` on
    /// purpose: the text goes verbatim to the screen, and the English side is logged
    /// here and by the spool.
    pub async fn wait(self, limit: Duration) -> Result<(), String> {
        match tokio::time::timeout(limit, self.done).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(e.danish()),
            Ok(Err(_)) => Err("printeren er stoppet".into()),
            Err(_) => {
                tracing::error!(
                    job = %self.what,
                    seconds = limit.as_secs(),
                    "the printer took no data in time; the job stays queued"
                );
                Err(format!(
                    "printeren har ikke taget imod udskriften i {} sekunder (tom for papir, låget åbent eller slukket?)",
                    limit.as_secs()
                ))
            }
        }
    }

    /// Lets the job print without anyone waiting: a failure is logged.
    pub fn detach(self) {
        let what = self.what;
        let done = self.done;
        std::thread::Builder::new()
            .name("print-result".into())
            .spawn(move || {
                if let Ok(Err(e)) = done.blocking_recv() {
                    tracing::error!(job = %what, error = %e, "receipt not printed");
                }
            })
            .map(drop)
            .unwrap_or_else(|e| tracing::error!(error = %e, "no thread to watch a print job"));
    }
}

impl Spool {
    /// Starts the printer's thread.
    pub fn new(printer: Box<dyn Printer>) -> Spool {
        let printer: Arc<dyn Printer> = Arc::from(printer);
        let (jobs, rx) = mpsc::channel::<Job>();
        let p = printer.clone();
        let started = std::thread::Builder::new()
            .name("printer".into())
            .spawn(move || {
                for job in rx {
                    let r = p.print(&job.receipt);
                    if let Err(e) = &r {
                        tracing::error!(job = %job.receipt.title, error = %e, "print job failed");
                    }
                    let _ = job.done.send(r);
                }
            });
        if let Err(e) = started {
            // Jobs then fail at once with "printeren er stoppet".
            tracing::error!(error = %e, "no printer thread");
        }
        Spool { printer, jobs }
    }

    /// Queues a receipt; returns at once.
    pub fn submit(&self, receipt: Receipt) -> Ticket {
        let (done, rx) = oneshot::channel();
        let what = receipt.title.clone();
        // A closed queue drops `done`, and the ticket says the printer stopped.
        let _ = self.jobs.send(Job { receipt, done });
        Ticket { what, done: rx }
    }

    pub fn describe(&self) -> String {
        self.printer.describe()
    }

    pub fn status(&self) -> PrinterStatus {
        self.printer.status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A printer whose jobs block until the test lets them through.
    struct Stuck {
        gate: Mutex<mpsc::Receiver<()>>,
    }

    impl Printer for Stuck {
        fn print(&self, _job: &Receipt) -> Result<(), PrintError> {
            let _ = self.gate.lock().map(|g| g.recv());
            Ok(())
        }
        fn describe(&self) -> String {
            "stuck".into()
        }
        fn status(&self) -> PrinterStatus {
            PrinterStatus {
                ok: true,
                text: "stuck".into(),
            }
        }
    }

    #[tokio::test]
    async fn a_stuck_printer_times_out_the_wait_and_prints_when_it_comes_back() {
        let (open, gate) = mpsc::channel();
        let spool = Spool::new(Box::new(Stuck {
            gate: Mutex::new(gate),
        }));
        let first = spool.submit(Receipt::new("kort"));
        let second = spool.submit(Receipt::new("kort 2"));
        let err = first
            .wait(Duration::from_millis(50))
            .await
            .expect_err("stuck");
        assert!(err.contains("ikke taget imod"), "{err}");
        // The printer takes data again: the queued job is printed.
        open.send(()).unwrap();
        open.send(()).unwrap();
        second.wait(Duration::from_secs(10)).await.expect("printed");
    }
}
