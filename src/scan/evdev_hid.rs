//! USB barcode scanners that act as a keyboard ("keyboard wedge", HID), read through the
//! Linux input layer.
//!
//! The device is grabbed exclusively (`EVIOCGRAB`): while we hold it, no other program,
//! in particular the kiosk browser, sees its keys, so a scan can never type into a form
//! field. Key codes are turned back into text by [`super::keymap`], which needs the
//! layout the scanner is set to.
//!
//! Select the device by path (best: a stable udev link such as
//! `/dev/input/by-id/usb-…-event-kbd`) or by a part of its name, which finds it again
//! when it comes back on another `/dev/input/eventN`. The process needs read access to
//! the device (the `input` group).

use super::driver::Reporter;
use super::keymap::{KeyDecoder, Layout};
use super::{ScanEvent, Scanner};
use evdev::{Device, EventStream, EventSummary, KeyCode};
use std::io;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

/// A scan that stops this long without an end key is taken as complete: some scanners
/// are set to send no Enter. Scanners type a whole code in a few tens of milliseconds.
pub const IDLE_FLUSH: Duration = Duration::from_millis(500);

/// Which input device is the scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputDevice {
    /// An event device or a udev link to one.
    Path(PathBuf),
    /// The first `/dev/input/event*` keyboard whose name contains this text (ignoring
    /// case), e.g. "Honeywell" or "Barcode".
    NameContains(String),
}

pub struct EvdevScanner {
    pub device: InputDevice,
    pub layout: Layout,
    /// Take the device exclusively. Only turn off to debug with `evtest` side by side.
    pub grab: bool,
}

impl EvdevScanner {
    /// The scanner at `path`, grabbed.
    pub fn new(path: impl Into<PathBuf>, layout: Layout) -> Self {
        EvdevScanner {
            device: InputDevice::Path(path.into()),
            layout,
            grab: true,
        }
    }

    /// The first keyboard-like input device whose name contains `name`, grabbed.
    pub fn by_name(name: impl Into<String>, layout: Layout) -> Self {
        EvdevScanner {
            device: InputDevice::NameContains(name.into()),
            layout,
            grab: true,
        }
    }

    fn wanted(&self) -> String {
        match &self.device {
            InputDevice::Path(p) => p.display().to_string(),
            InputDevice::NameContains(n) => format!("\"{n}\""),
        }
    }

    /// Opens (and grabs) the device; blocking, but only a few system calls.
    fn open(&self) -> io::Result<(PathBuf, Device)> {
        let (path, mut dev) = match &self.device {
            InputDevice::Path(p) => (p.clone(), Device::open(p)?),
            InputDevice::NameContains(n) => find_by_name(n)?,
        };
        if self.grab {
            dev.grab().map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot grab {} (is another program holding it?): {e}",
                        path.display()
                    ),
                )
            })?;
        }
        Ok((path, dev))
    }
}

/// True when a device called `name` is the one configured as `wanted`.
pub fn name_matches(name: &str, wanted: &str) -> bool {
    !wanted.trim().is_empty() && name.to_lowercase().contains(&wanted.trim().to_lowercase())
}

/// Scanners often show up as several event devices (keyboard, consumer control, mouse);
/// only one of them has an Enter key.
fn find_by_name(wanted: &str) -> io::Result<(PathBuf, Device)> {
    let mut found: Vec<(PathBuf, Device)> = evdev::enumerate()
        .filter(|(_, d)| name_matches(d.name().unwrap_or(""), wanted))
        .filter(|(_, d)| {
            d.supported_keys()
                .is_some_and(|k| k.contains(KeyCode::KEY_ENTER))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    if found.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no input device with a name containing {wanted:?}"),
        ));
    }
    Ok(found.swap_remove(0))
}

impl Scanner for EvdevScanner {
    fn describe(&self) -> String {
        format!("USB-scanner {}", self.wanted())
    }

    fn spawn(self: Box<Self>, out: mpsc::Sender<ScanEvent>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move { self.run(out).await })
    }
}

impl EvdevScanner {
    async fn run(self, out: mpsc::Sender<ScanEvent>) {
        let mut rep = Reporter::new(out, format!("HID scanner {}", self.wanted()));
        let mut decoder = KeyDecoder::new(self.layout);
        loop {
            let opened = self.open().and_then(|(path, dev)| {
                let name = dev.name().unwrap_or("").to_string();
                Ok((path, name, dev.into_event_stream()?))
            });
            match opened {
                Ok((path, name, stream)) => {
                    let detail = format!("USB-scanner {} ({name})", path.display());
                    if !rep.up(detail).await {
                        return;
                    }
                    decoder.reset();
                    let err = match read(stream, &mut decoder, &rep).await {
                        Some(e) => e,
                        None => return,
                    };
                    // Unplugged: to the people at the table the same as never plugged in.
                    let detail = format!("Scanner ikke fundet: {}", path.display());
                    if !rep.down(detail, &err).await {
                        return;
                    }
                }
                Err(e) => {
                    let detail = match e.kind() {
                        io::ErrorKind::NotFound => {
                            format!("Scanner ikke fundet: {}", self.wanted())
                        }
                        io::ErrorKind::PermissionDenied => {
                            format!("Ingen adgang til scanneren: {}", self.wanted())
                        }
                        io::ErrorKind::ResourceBusy => {
                            format!("Scanneren bruges af et andet program: {}", self.wanted())
                        }
                        _ => format!("Scanneren kan ikke åbnes: {}", self.wanted()),
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

/// Reads scans until the device fails (returns the error) or nobody listens (None).
async fn read(mut stream: EventStream, dec: &mut KeyDecoder, rep: &Reporter) -> Option<io::Error> {
    loop {
        let ev = tokio::select! {
            ev = stream.next_event() => ev,
            _ = tokio::time::sleep(IDLE_FLUSH), if dec.pending() => {
                if let Some(scan) = dec.flush() && !rep.scan(scan).await {
                    return None;
                }
                continue;
            }
            _ = rep.closed() => return None,
        };
        match ev {
            Err(e) => return Some(e),
            Ok(ev) => {
                if let EventSummary::Key(_, code, value) = ev.destructure()
                    && let Some(scan) = dec.key(code.code(), value)
                    && !rep.scan(scan).await
                {
                    return None;
                }
            }
        }
    }
}

/// Lists the input devices that have an Enter key, for setup ("which one is the
/// scanner?"): path and name.
pub fn list_keyboards() -> Vec<(PathBuf, String)> {
    let mut v: Vec<(PathBuf, String)> = evdev::enumerate()
        .filter(|(_, d)| {
            d.supported_keys()
                .is_some_and(|k| k.contains(KeyCode::KEY_ENTER))
        })
        .map(|(p, d)| (p, d.name().unwrap_or("").to_string()))
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::ScannerStatus;

    #[test]
    fn name_match_ignores_case_and_refuses_empty() {
        assert!(name_matches("Honeywell Imaging 1450g", "honeywell"));
        assert!(name_matches("NT USB Barcode Scanner", " barcode "));
        assert!(!name_matches("AT Translated Set 2 keyboard", "scanner"));
        assert!(!name_matches("anything", ""));
    }

    #[tokio::test]
    async fn missing_device_is_reported_in_danish_and_retried() {
        let scanner = EvdevScanner::new("/dev/input/by-id/does-not-exist-event-kbd", Layout::Dk);
        assert_eq!(
            scanner.describe(),
            "USB-scanner /dev/input/by-id/does-not-exist-event-kbd"
        );
        let (tx, mut rx) = mpsc::channel(4);
        let task = Box::new(scanner).spawn(tx);
        let first = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert_eq!(
            first.ok().flatten(),
            Some(ScanEvent::Status(ScannerStatus {
                connected: false,
                detail: "Scanner ikke fundet: /dev/input/by-id/does-not-exist-event-kbd".into()
            }))
        );
        // Retries are silent; dropping the receiver stops the driver.
        assert!(
            tokio::time::timeout(Duration::from_millis(1500), rx.recv())
                .await
                .is_err()
        );
        drop(rx);
        assert!(
            tokio::time::timeout(Duration::from_secs(3), task)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn missing_name_is_reported() {
        let scanner = EvdevScanner::by_name("no such scanner 7f3a", Layout::Us);
        let (tx, mut rx) = mpsc::channel(4);
        let task = Box::new(scanner).spawn(tx);
        let first = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        match first.ok().flatten() {
            Some(ScanEvent::Status(s)) => {
                assert!(!s.connected);
                assert_eq!(s.detail, "Scanner ikke fundet: \"no such scanner 7f3a\"");
            }
            other => panic!("expected a status, got {other:?}"),
        }
        task.abort();
    }
}
