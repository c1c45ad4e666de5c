//! The ways a receipt printer is attached, and a simulated one.
//!
//! Every real driver sends the same ESC/POS bytes (`escpos::encode`); only the
//! transport differs. The device is opened per job, not held open: a printer that was
//! unplugged and plugged back in (or power-cycled) works at the next print without a
//! restart of the table.

use super::escpos::{self, COLUMNS};
use super::{error::PrintError, printer::Printer, printer::PrinterStatus, receipt::Receipt};
use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

/// How the table's receipt printer is attached: the `[printer]` section of the table
/// configuration (`kind = "usb"`, …), or `--printer usb:/dev/usb/lp0` on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PrinterConfig {
    /// A USB printer through the kernel's usblp driver (`/dev/usb/lp0`; better a stable
    /// udev link).
    Usb {
        path: PathBuf,
        /// Seconds the printer may take no data (out of paper, lid open) before the job
        /// fails with a message on the screen; usblp itself would wait for ever.
        #[serde(default = "default_stall_seconds")]
        stall_seconds: u64,
    },
    /// A printer on a serial line (RS-232 adapter or USB CDC-ACM), 8N1.
    Serial {
        path: PathBuf,
        #[serde(default = "default_baud")]
        baud: u32,
    },
    /// A network printer's raw port (usually 9100): `host:port`.
    Tcp { addr: String },
    /// Appends the bytes to a file (a spooler, or tests).
    File { path: PathBuf },
    /// Writes each receipt as text and ESC/POS bytes into a folder (demo, tests).
    Simulated { dir: PathBuf },
}

fn default_baud() -> u32 {
    19_200
}

fn default_stall_seconds() -> u64 {
    20
}

/// Why a `--printer` text names no printer; each variant quotes the whole text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrinterSpecError {
    #[error(
        "printer \"{0}\": expected usb:PATH, serial:PATH[@BAUD], tcp:HOST:PORT, file:PATH or sim:DIR"
    )]
    NoKind(String),
    #[error("printer \"{spec}\": nothing after \"{kind}:\"")]
    Empty { spec: String, kind: String },
    #[error("printer \"{spec}\": baud \"{baud}\" is not a number")]
    Baud { spec: String, baud: String },
    #[error("printer \"{spec}\": unknown kind \"{kind}\"")]
    UnknownKind { spec: String, kind: String },
}

impl FromStr for PrinterConfig {
    type Err = PrinterSpecError;
    /// `usb:PATH`, `serial:PATH[@BAUD]`, `tcp:HOST:PORT`, `file:PATH`, `sim:DIR`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| PrinterSpecError::NoKind(s.to_string()))?;
        if rest.is_empty() {
            return Err(PrinterSpecError::Empty {
                spec: s.to_string(),
                kind: kind.to_string(),
            });
        }
        Ok(match kind {
            "usb" => PrinterConfig::Usb {
                path: rest.into(),
                stall_seconds: default_stall_seconds(),
            },
            "serial" => match rest.rsplit_once('@') {
                Some((p, b)) => PrinterConfig::Serial {
                    path: p.into(),
                    baud: b.parse().map_err(|_| PrinterSpecError::Baud {
                        spec: s.to_string(),
                        baud: b.to_string(),
                    })?,
                },
                None => PrinterConfig::Serial {
                    path: rest.into(),
                    baud: default_baud(),
                },
            },
            "tcp" => PrinterConfig::Tcp {
                addr: if rest.contains(':') {
                    rest.to_string()
                } else {
                    format!("{rest}:9100")
                },
            },
            "file" => PrinterConfig::File { path: rest.into() },
            "sim" | "simulated" => PrinterConfig::Simulated { dir: rest.into() },
            other => {
                return Err(PrinterSpecError::UnknownKind {
                    spec: s.to_string(),
                    kind: other.to_string(),
                });
            }
        })
    }
}

/// The printer a configuration names. Opening checks nothing yet (the printer may be
/// switched on later); `status()` says whether it is there.
pub fn open_printer(cfg: &PrinterConfig) -> Box<dyn Printer> {
    match cfg {
        PrinterConfig::Usb {
            path,
            stall_seconds,
        } => Box::new(DeviceFilePrinter::new(
            path,
            Transport::Usb(Duration::from_secs(*stall_seconds)),
        )),
        PrinterConfig::File { path } => Box::new(DeviceFilePrinter::new(path, Transport::File)),
        PrinterConfig::Serial { path, baud } => Box::new(SerialPrinter {
            path: path.clone(),
            baud: *baud,
            last: LastError::default(),
        }),
        PrinterConfig::Tcp { addr } => Box::new(TcpPrinter {
            addr: addr.clone(),
            last: LastError::default(),
        }),
        PrinterConfig::Simulated { dir } => Box::new(SimulatedPrinter::new(dir)),
    }
}

/// The outcome of the last job, for the status bar.
#[derive(Default)]
struct LastError(Mutex<Option<String>>);

impl LastError {
    /// Encodes a receipt as ESC/POS, hands the bytes to a transport, and remembers the
    /// outcome for the status bar: the part every ESC/POS driver shares.
    fn encode_and_send(
        &self,
        job: &Receipt,
        send: impl FnOnce(&[u8]) -> Result<(), PrintError>,
    ) -> Result<(), PrintError> {
        self.record(
            escpos::encode(job)
                .map_err(PrintError::from)
                .and_then(|b| send(&b)),
        )
    }

    fn record<T>(&self, r: Result<T, PrintError>) -> Result<T, PrintError> {
        if let Ok(mut g) = self.0.lock() {
            *g = r.as_ref().err().map(|e| e.danish());
        }
        r
    }
    fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|g| g.clone())
    }
}

/// `reachable`'s error is the Danish text for the status line (the string is the
/// product: it goes verbatim to the screen, and nothing else reads it).
fn status_of(last: &LastError, reachable: Result<(), String>, what: &str) -> PrinterStatus {
    match (reachable, last.get()) {
        (Err(why), _) => PrinterStatus {
            ok: false,
            text: format!("Printer mangler: {why}"),
        },
        (Ok(()), Some(e)) => PrinterStatus {
            ok: false,
            text: format!("Printerfejl: {e}"),
        },
        (Ok(()), None) => PrinterStatus {
            ok: true,
            text: format!("Printer klar ({what})"),
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// With how long the device may refuse data.
    Usb(Duration),
    File,
}

/// ESC/POS into a device file (`/dev/usb/lp0`) or appended to a plain file.
pub struct DeviceFilePrinter {
    path: PathBuf,
    transport: Transport,
    last: LastError,
}

impl DeviceFilePrinter {
    fn new(path: &Path, transport: Transport) -> Self {
        DeviceFilePrinter {
            path: path.to_path_buf(),
            transport,
            last: LastError::default(),
        }
    }

    fn send(&self, bytes: &[u8]) -> Result<(), PrintError> {
        let io = |source| PrintError::Io {
            target: self.path.display().to_string(),
            source,
        };
        match self.transport {
            Transport::Usb(limit) => {
                use std::os::unix::fs::OpenOptionsExt;
                // A character device: write, never create a regular file in /dev by
                // mistake; non-blocking, so a printer out of paper cannot hold the
                // job (and the printer's queue) for ever.
                let f = OpenOptions::new()
                    .write(true)
                    .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
                    .open(&self.path)
                    .map_err(io)?;
                write_within(&f, bytes, limit).map_err(|e| match e {
                    Stall::Timeout => PrintError::Stalled {
                        target: self.path.display().to_string(),
                        seconds: limit.as_secs(),
                    },
                    Stall::Io(e) => io(e),
                })
            }
            Transport::File => {
                let mut f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)
                    .map_err(io)?;
                f.write_all(bytes).map_err(io)?;
                f.flush().map_err(io)
            }
        }
    }
}

enum Stall {
    Timeout,
    Io(std::io::Error),
}

/// Writes all of `bytes` to a non-blocking file, waiting (poll) while it takes none,
/// for at most `limit` in all.
fn write_within(mut f: &std::fs::File, bytes: &[u8], limit: Duration) -> Result<(), Stall> {
    use rustix::event::{PollFd, PollFlags};
    use std::io::ErrorKind;
    let deadline = std::time::Instant::now() + limit;
    let mut rest = bytes;
    while !rest.is_empty() {
        match f.write(rest) {
            Ok(0) => return Err(Stall::Io(ErrorKind::WriteZero.into())),
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return Err(Stall::Timeout);
                }
                let timeout = rustix::time::Timespec::try_from(left)
                    .map_err(|_| Stall::Io(ErrorKind::InvalidInput.into()))?;
                let mut fds = [PollFd::new(&f, PollFlags::OUT)];
                match rustix::event::poll(&mut fds, Some(&timeout)) {
                    Ok(_) | Err(rustix::io::Errno::INTR) => {}
                    Err(e) => return Err(Stall::Io(e.into())),
                }
            }
            Err(e) => return Err(Stall::Io(e)),
        }
    }
    Ok(())
}

impl Printer for DeviceFilePrinter {
    fn print(&self, job: &Receipt) -> Result<(), PrintError> {
        self.last.encode_and_send(job, |b| self.send(b))
    }

    fn describe(&self) -> String {
        match self.transport {
            Transport::Usb(_) => format!("ESC/POS USB {}", self.path.display()),
            Transport::File => format!("ESC/POS file {}", self.path.display()),
        }
    }

    fn status(&self) -> PrinterStatus {
        let reachable = match (self.transport, self.path.exists()) {
            (Transport::Usb(_), false) => Err(format!("{} findes ikke", self.path.display())),
            _ => Ok(()),
        };
        status_of(&self.last, reachable, &self.describe())
    }
}

/// ESC/POS on a serial line.
pub struct SerialPrinter {
    path: PathBuf,
    baud: u32,
    last: LastError,
}

impl SerialPrinter {
    fn send(&self, bytes: &[u8]) -> Result<(), PrintError> {
        let target = self.path.display().to_string();
        let mut port = tokio_serial::new(target.clone(), self.baud)
            .timeout(Duration::from_secs(5))
            .open()
            .map_err(|e| PrintError::Device {
                target: target.clone(),
                detail: e.to_string(),
            })?;
        port.write_all(bytes)
            .and_then(|_| port.flush())
            .map_err(|source| PrintError::Io { target, source })
    }
}

impl Printer for SerialPrinter {
    fn print(&self, job: &Receipt) -> Result<(), PrintError> {
        self.last.encode_and_send(job, |b| self.send(b))
    }

    fn describe(&self) -> String {
        format!("ESC/POS serial {} {} baud", self.path.display(), self.baud)
    }

    fn status(&self) -> PrinterStatus {
        let reachable = if self.path.exists() {
            Ok(())
        } else {
            Err(format!("{} findes ikke", self.path.display()))
        };
        status_of(&self.last, reachable, &self.describe())
    }
}

/// ESC/POS to a network printer's raw port (9100).
pub struct TcpPrinter {
    addr: String,
    last: LastError,
}

impl TcpPrinter {
    fn connect(&self, timeout: Duration) -> Result<TcpStream, PrintError> {
        let io = |source| PrintError::Io {
            target: self.addr.clone(),
            source,
        };
        let addrs: Vec<_> = self.addr.to_socket_addrs().map_err(io)?.collect();
        let mut last = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, timeout) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(io(last.unwrap_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "no address")
        })))
    }

    fn send(&self, bytes: &[u8]) -> Result<(), PrintError> {
        let io = |source| PrintError::Io {
            target: self.addr.clone(),
            source,
        };
        let mut s = self.connect(Duration::from_secs(3))?;
        s.set_write_timeout(Some(Duration::from_secs(10)))
            .map_err(io)?;
        s.write_all(bytes).map_err(io)?;
        s.flush().map_err(io)?;
        s.shutdown(std::net::Shutdown::Write).map_err(io)
    }
}

impl Printer for TcpPrinter {
    fn print(&self, job: &Receipt) -> Result<(), PrintError> {
        self.last.encode_and_send(job, |b| self.send(b))
    }

    fn describe(&self) -> String {
        format!("ESC/POS TCP {}", self.addr)
    }

    fn status(&self) -> PrinterStatus {
        let reachable = self
            .connect(Duration::from_millis(300))
            .map(drop)
            .map_err(|_| format!("{} svarer ikke", self.addr));
        status_of(&self.last, reachable, &self.describe())
    }
}

/// Writes each receipt into a folder as `NNNN-title.txt` (what the paper would show)
/// and `NNNN-title.escpos` (the bytes a real printer would get).
pub struct SimulatedPrinter {
    dir: PathBuf,
    next: Mutex<u32>,
}

impl SimulatedPrinter {
    pub fn new(dir: &Path) -> Self {
        // Continue after files already there, so a restart never overwrites a receipt.
        let highest = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        name.split('-').next()?.parse::<u32>().ok()
                    })
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        SimulatedPrinter {
            dir: dir.to_path_buf(),
            next: Mutex::new(highest + 1),
        }
    }
}

impl Printer for SimulatedPrinter {
    fn print(&self, job: &Receipt) -> Result<(), PrintError> {
        let bytes = escpos::encode(job)?;
        let out = |source| PrintError::Output {
            path: self.dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(out)?;
        let n = {
            let mut g = self
                .next
                .lock()
                .map_err(|_| PrintError::Invalid("simulated printer lock poisoned".into()))?;
            let n = *g;
            *g += 1;
            n
        };
        let slug: String = job
            .title
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(40)
            .collect();
        let base = self.dir.join(format!("{n:04}-{slug}"));
        super::atomic::write_atomically(&base.with_extension("escpos"), &bytes)?;
        super::atomic::write_atomically(
            &base.with_extension("txt"),
            job.to_text(COLUMNS).as_bytes(),
        )
    }

    fn describe(&self) -> String {
        format!("simulated printer → {}", self.dir.display())
    }

    fn status(&self) -> PrinterStatus {
        PrinterStatus {
            ok: true,
            text: "Printer simuleret".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn receipt() -> Receipt {
        let mut r = Receipt::new("Erstatningsvalgkort 1");
        r.line("Søren Ærø");
        r
    }

    #[test]
    fn parses_printer_specs() {
        assert_eq!(
            "usb:/dev/usb/lp0".parse::<PrinterConfig>().unwrap(),
            PrinterConfig::Usb {
                path: "/dev/usb/lp0".into(),
                stall_seconds: 20
            }
        );
        assert_eq!(
            "serial:/dev/ttyUSB0@9600".parse::<PrinterConfig>().unwrap(),
            PrinterConfig::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 9600
            }
        );
        assert_eq!(
            "tcp:10.0.0.7".parse::<PrinterConfig>().unwrap(),
            PrinterConfig::Tcp {
                addr: "10.0.0.7:9100".into()
            }
        );
        assert!("lpt:1".parse::<PrinterConfig>().is_err());
        assert!("usb:".parse::<PrinterConfig>().is_err());
    }

    #[test]
    fn config_reads_from_toml() {
        #[derive(Deserialize)]
        struct T {
            printer: PrinterConfig,
        }
        let t: T = toml::from_str("[printer]\nkind = \"serial\"\npath = \"/dev/ttyS0\"\n").unwrap();
        assert_eq!(
            t.printer,
            PrinterConfig::Serial {
                path: "/dev/ttyS0".into(),
                baud: 19_200
            }
        );
    }

    #[test]
    fn file_printer_appends_escpos_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.bin");
        let p = open_printer(&PrinterConfig::File { path: path.clone() });
        p.print(&receipt()).unwrap();
        p.print(&receipt()).unwrap();
        let one = escpos::encode(&receipt()).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), [one.clone(), one].concat());
        assert!(p.status().ok);
    }

    #[test]
    fn usb_printer_that_is_missing_says_so_in_danish() {
        let p = open_printer(&PrinterConfig::Usb {
            path: "/nonexistent/lp9".into(),
            stall_seconds: 1,
        });
        let st = p.status();
        assert!(!st.ok);
        assert!(st.text.contains("findes ikke"), "{}", st.text);
        let e = p.print(&receipt()).unwrap_err();
        assert!(e.danish().contains("Printeren"));
        assert!(!Path::new("/nonexistent/lp9").exists());
    }

    #[test]
    fn tcp_printer_sends_the_bytes_and_reports_a_dead_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let got = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).unwrap();
            buf
        });
        let p = open_printer(&PrinterConfig::Tcp { addr: addr.clone() });
        p.print(&receipt()).unwrap();
        assert_eq!(got.join().unwrap(), escpos::encode(&receipt()).unwrap());

        // Nothing listens there any more.
        let dead = open_printer(&PrinterConfig::Tcp { addr });
        assert!(dead.print(&receipt()).is_err());
        assert!(!dead.status().ok);
    }

    #[test]
    fn simulated_printer_writes_text_and_bytes_and_numbers_on() {
        let dir = tempfile::tempdir().unwrap();
        let p = SimulatedPrinter::new(dir.path());
        p.print(&receipt()).unwrap();
        let text =
            std::fs::read_to_string(dir.path().join("0001-Erstatningsvalgkort_1.txt")).unwrap();
        assert!(text.contains("Søren Ærø"));
        assert!(
            dir.path()
                .join("0001-Erstatningsvalgkort_1.escpos")
                .exists()
        );
        // A new instance on the same folder continues the numbering.
        let p2 = SimulatedPrinter::new(dir.path());
        p2.print(&receipt()).unwrap();
        assert!(dir.path().join("0002-Erstatningsvalgkort_1.txt").exists());
    }
}
