//! Scanners on a serial line: RS-232 adapters and USB scanners in "virtual COM" mode
//! (CDC-ACM, `/dev/ttyACM0`). Unlike keyboard mode the text arrives as bytes, so the
//! scanner's keyboard layout plays no part.
//!
//! A scan ends with CR, LF or CRLF. Some scanners are set to send no terminator; a line
//! that stops arriving for [`STALL`] is taken as complete. Bytes that are not UTF-8 are
//! read as Latin-1, which is what scanners send for æøå when not set to UTF-8.
//!
//! The port is opened exclusively. On Debian, ModemManager probes new `/dev/ttyACM*`
//! devices by writing AT commands to them; a udev rule with `ENV{ID_MM_DEVICE_IGNORE}="1"`
//! for the scanner keeps it away.

use super::clean::MAX_SCAN;
use super::driver::Reporter;
use super::{ScanEvent, Scanner};
use std::io;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_serial::SerialPortBuilderExt;

/// A partial line that gets no more bytes for this long is a complete scan.
pub const STALL: Duration = Duration::from_millis(500);

pub struct SerialScanner {
    pub path: PathBuf,
    /// Ignored by USB CDC-ACM scanners; RS-232 scanners default to 9600.
    pub baud: u32,
}

impl SerialScanner {
    pub fn new(path: impl Into<PathBuf>, baud: u32) -> Self {
        SerialScanner {
            path: path.into(),
            baud,
        }
    }

    fn open(&self) -> tokio_serial::Result<tokio_serial::SerialStream> {
        tokio_serial::new(self.path.to_string_lossy(), self.baud).open_native_async()
    }
}

impl Scanner for SerialScanner {
    fn describe(&self) -> String {
        format!("seriel scanner {}", self.path.display())
    }

    fn spawn(self: Box<Self>, out: mpsc::Sender<ScanEvent>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move { self.run(out).await })
    }
}

impl SerialScanner {
    async fn run(self, out: mpsc::Sender<ScanEvent>) {
        let shown = self.path.display().to_string();
        let mut rep = Reporter::new(out, format!("serial scanner {shown}"));
        loop {
            match self.open() {
                Ok(port) => {
                    if !rep.up(format!("Seriel scanner {shown}")).await {
                        return;
                    }
                    let err = match read(port, &rep).await {
                        Some(e) => e,
                        None => return,
                    };
                    // Unplugged: to the people at the table the same as never plugged in.
                    if !rep
                        .down(format!("Scanner ikke fundet: {shown}"), &err)
                        .await
                    {
                        return;
                    }
                }
                Err(e) => {
                    let detail = match e.kind() {
                        tokio_serial::ErrorKind::Io(io::ErrorKind::NotFound) => {
                            format!("Scanner ikke fundet: {shown}")
                        }
                        // What serialport reports for a port another program holds.
                        tokio_serial::ErrorKind::NoDevice => {
                            format!("Scanneren bruges af et andet program: {shown}")
                        }
                        tokio_serial::ErrorKind::Io(io::ErrorKind::PermissionDenied) => {
                            format!("Ingen adgang til scanneren: {shown}")
                        }
                        _ => format!("Scanneren kan ikke åbnes: {shown}"),
                    };
                    if !rep.down(detail, &e).await {
                        return;
                    }
                }
            }
            if !rep.pause().await {
                return;
            }
        }
    }
}

/// Reads scans until the port fails or closes (returns why) or nobody listens (None).
async fn read(mut port: tokio_serial::SerialStream, rep: &Reporter) -> Option<io::Error> {
    let mut lines = LineAssembler::default();
    let mut buf = [0u8; 256];
    loop {
        let deadline = lines.deadline();
        tokio::select! {
            r = port.read(&mut buf) => match r {
                // With the raw settings of the port a read of 0 means the other end hung up.
                Ok(0) => return Some(io::Error::new(io::ErrorKind::UnexpectedEof, "port closed")),
                Ok(n) => {
                    for line in lines.push(&buf[..n], Instant::now().into_std()) {
                        if !rep.scan(Ok(line)).await {
                            return None;
                        }
                    }
                }
                Err(e) => return Some(e),
            },
            _ = sleep_until(deadline), if deadline.is_some() => {
                if let Some(line) = lines.flush_stalled(Instant::now().into_std())
                    && !rep.scan(Ok(line)).await
                {
                    return None;
                }
            }
            _ = rep.closed() => return None,
        }
    }
}

async fn sleep_until(at: Option<std::time::Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(Instant::from_std(at)).await
    }
}

/// Cuts a byte stream into scans. Pure: the caller passes the time.
#[derive(Debug, Default)]
pub struct LineAssembler {
    buf: Vec<u8>,
    last_byte: Option<std::time::Instant>,
    /// A CR ended the last line; an LF right after it belongs to it.
    after_cr: bool,
}

impl LineAssembler {
    /// Adds bytes received at `now`; returns the lines they complete. Empty lines (a
    /// lone terminator) are dropped.
    pub fn push(&mut self, bytes: &[u8], now: std::time::Instant) -> Vec<String> {
        let mut done = Vec::new();
        for &b in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, false);
            match b {
                b'\n' if after_cr => {}
                b'\r' | b'\n' => {
                    self.after_cr = b == b'\r';
                    done.extend(self.take());
                }
                // Past the limit the scan is refused anyway; keep one byte too many so
                // the cleaner can tell.
                _ if self.buf.len() > MAX_SCAN => {}
                _ => self.buf.push(b),
            }
        }
        self.last_byte = if self.buf.is_empty() { None } else { Some(now) };
        done
    }

    /// When the partial line counts as stalled, if there is one.
    pub fn deadline(&self) -> Option<std::time::Instant> {
        self.last_byte.map(|t| t + STALL)
    }

    /// The partial line, if no byte has come for [`STALL`].
    pub fn flush_stalled(&mut self, now: std::time::Instant) -> Option<String> {
        match self.deadline() {
            Some(d) if now >= d => self.take(),
            _ => None,
        }
    }

    fn take(&mut self) -> Option<String> {
        self.last_byte = None;
        if self.buf.is_empty() {
            return None;
        }
        let bytes = std::mem::take(&mut self.buf);
        Some(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::ScannerStatus;
    use std::io::Write;
    use std::process::{Child, Command, Stdio};

    fn t0() -> std::time::Instant {
        std::time::Instant::now()
    }

    #[test]
    fn cr_lf_and_crlf_end_lines() {
        let now = t0();
        let mut a = LineAssembler::default();
        assert_eq!(a.push(b"123\r\n456\n78", now), vec!["123", "456"]);
        assert_eq!(a.push(b"9\r", now), vec!["789"]);
        // The LF of a CRLF split across reads is not an empty scan.
        assert_eq!(a.push(b"\nABC-1\r\r\n\n", now), vec!["ABC-1"]);
        assert_eq!(a.deadline(), None);
    }

    #[test]
    fn a_stalled_partial_line_is_flushed_after_half_a_second() {
        let now = t0();
        let mut a = LineAssembler::default();
        assert!(a.push(b"12", now).is_empty());
        assert!(a.push(b"34", now + Duration::from_millis(300)).is_empty());
        assert_eq!(a.deadline(), Some(now + Duration::from_millis(800)));
        assert_eq!(a.flush_stalled(now + Duration::from_millis(700)), None);
        assert_eq!(
            a.flush_stalled(now + Duration::from_millis(800)).as_deref(),
            Some("1234")
        );
        assert_eq!(a.flush_stalled(now + Duration::from_secs(5)), None);
        assert_eq!(a.deadline(), None);
    }

    #[test]
    fn latin1_bytes_and_overlong_lines() {
        let now = t0();
        let mut a = LineAssembler::default();
        assert_eq!(a.push(b"S\xf8ren\n", now), vec!["Søren"]);
        assert_eq!(a.push("Søren\n".as_bytes(), now), vec!["Søren"]);
        let long = vec![b'7'; 4 * MAX_SCAN];
        let lines = a.push(&[&long[..], b"\n"].concat(), now);
        assert_eq!(lines[0].len(), MAX_SCAN + 1);
    }

    /// A socat process joining two pseudo-terminals; killed on drop.
    struct Socat {
        child: Child,
        a: PathBuf,
        b: PathBuf,
    }

    impl Socat {
        fn start(dir: &std::path::Path) -> Socat {
            let (a, b) = (dir.join("A"), dir.join("B"));
            let _ = std::fs::remove_file(&a);
            let _ = std::fs::remove_file(&b);
            let child = Command::new("socat")
                .arg(format!("pty,raw,echo=0,link={}", a.display()))
                .arg(format!("pty,raw,echo=0,link={}", b.display()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot run socat ({e}); install it: apt-get install socat")
                });
            let start = std::time::Instant::now();
            while !(a.exists() && b.exists()) {
                assert!(
                    start.elapsed() < Duration::from_secs(5),
                    "socat made no ptys"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            Socat { child, a, b }
        }

        fn writer(&self) -> std::fs::File {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&self.b)
                .unwrap_or_else(|e| panic!("open {}: {e}", self.b.display()))
        }
    }

    impl Drop for Socat {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    async fn next(rx: &mut mpsc::Receiver<ScanEvent>) -> ScanEvent {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some(ev)) => ev,
            other => panic!("no scan event within 5 s: {other:?}"),
        }
    }

    #[tokio::test]
    async fn reads_scans_from_a_pty_and_reconnects() {
        let dir = tempfile::tempdir().unwrap();
        let socat = Socat::start(dir.path());
        let (tx, mut rx) = mpsc::channel(16);
        let scanner = Box::new(SerialScanner::new(&socat.a, 9600));
        assert!(scanner.describe().starts_with("seriel scanner "));
        let task = scanner.spawn(tx);
        match next(&mut rx).await {
            ScanEvent::Status(s) => assert!(s.connected, "{s:?}"),
            other => panic!("expected connected, got {other:?}"),
        }

        let mut w = socat.writer();
        w.write_all(b"]C1123456789012\r\nABC-1\n").unwrap();
        assert_eq!(next(&mut rx).await, ScanEvent::Code("123456789012".into()));
        assert_eq!(next(&mut rx).await, ScanEvent::Code("ABC-1".into()));
        // No terminator: flushed after the stall time.
        w.write_all(b"789").unwrap();
        assert_eq!(next(&mut rx).await, ScanEvent::Code("789".into()));
        w.write_all(b"12\x1b34\r").unwrap();
        assert!(matches!(next(&mut rx).await, ScanEvent::Unreadable(_)));

        // Unplugged: reported once, in Danish.
        drop(w);
        let dir_path = dir.path().to_path_buf();
        drop(socat);
        let shown = dir_path.join("A").display().to_string();
        match next(&mut rx).await {
            ScanEvent::Status(ScannerStatus { connected, detail }) => {
                assert!(!connected);
                assert_eq!(detail, format!("Scanner ikke fundet: {shown}"));
            }
            other => panic!("expected disconnected, got {other:?}"),
        }

        // Plugged back in: found again within the retry interval.
        let socat = Socat::start(&dir_path);
        match next(&mut rx).await {
            ScanEvent::Status(s) => assert!(s.connected, "{s:?}"),
            other => panic!("expected connected, got {other:?}"),
        }
        socat.writer().write_all(b"again\r\n").unwrap();
        assert_eq!(next(&mut rx).await, ScanEvent::Code("again".into()));

        drop(rx);
        assert!(
            tokio::time::timeout(Duration::from_secs(3), task)
                .await
                .is_ok()
        );
    }
}
