//! A camera as a QR scanner: for tables without a barcode scanner, and for the QR code
//! on cards valgbord prints itself.
//!
//! Frames come from a [`FrameSource`]: a directory of images ([`DirFrames`], demo and
//! tests) or a capture program such as `ffmpeg` or `rpicam-vid` writing frames to its
//! standard output ([`CommandFrames`]; why a program and not V4L2 directly is explained
//! there). Frames are decoded with `rqrr` on a blocking thread at a bounded rate, so a
//! fast camera cannot eat the CPU the rest of the table needs. A card held in front of
//! the camera is in many frames; it is reported once, and again only after it has been
//! out of view for a while.

mod command;
mod decode;
mod source;
mod stream;

pub use command::CommandFrames;
pub use decode::decode_qr;
pub use source::{DirFrames, FrameSource};
pub use stream::{StreamFormat, read_frame};

use super::driver::Reporter;
use super::{ScanEvent, Scanner};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Five frames a second: a card is read within a fifth of a second of being held still,
/// and decoding 640×480 five times a second leaves most of a Pi's core free.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(200);

/// A code is reported again once it has not been seen for this long. Long enough to
/// bridge frames where a moving card is blurred, short enough that taking the card away
/// and showing it again counts as a new scan.
pub const DEFAULT_FORGET_AFTER: Duration = Duration::from_secs(2);

pub struct CameraScanner {
    source: Box<dyn FrameSource>,
    /// Least time between two frames.
    pub interval: Duration,
    pub forget_after: Duration,
}

impl CameraScanner {
    pub fn new(source: impl FrameSource) -> Self {
        CameraScanner {
            source: Box::new(source),
            interval: DEFAULT_INTERVAL,
            forget_after: DEFAULT_FORGET_AFTER,
        }
    }
}

impl Scanner for CameraScanner {
    fn describe(&self) -> String {
        self.source.describe()
    }

    fn spawn(self: Box<Self>, out: mpsc::Sender<ScanEvent>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move { self.run(out).await })
    }
}

type FrameResult = std::io::Result<Option<Vec<String>>>;

/// Reads and decodes one frame. A panic in the decoder (a bug on some odd image) costs
/// that frame, not the camera.
fn frame_codes(source: &mut dyn FrameSource) -> FrameResult {
    let Some(frame) = source.next_frame()? else {
        return Ok(None);
    };
    match catch_unwind(AssertUnwindSafe(|| decode_qr(frame))) {
        Ok(codes) => Ok(Some(codes)),
        Err(_) => {
            tracing::error!("QR decoder panicked on a frame; skipping it");
            Ok(Some(Vec::new()))
        }
    }
}

impl CameraScanner {
    async fn run(self, out: mpsc::Sender<ScanEvent>) {
        let described = self.source.describe();
        let mut rep = Reporter::new(out, format!("camera ({described})"));
        let mut in_view = InView::new(self.forget_after);
        let mut tick = tokio::time::interval(self.interval.max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut source = self.source;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = rep.closed() => return,
            }
            let job = tokio::task::spawn_blocking(move || {
                let r = frame_codes(source.as_mut());
                (source, r)
            });
            let (returned, result) = match job.await {
                Ok(done) => done,
                Err(e) => {
                    tracing::error!(error = %e, "camera frame source panicked; camera stopped");
                    rep.down(format!("Kamera virker ikke: {described}"), &e)
                        .await;
                    return;
                }
            };
            source = returned;
            match result {
                Ok(codes) => {
                    if !rep.up(format!("Kamera: {described}")).await {
                        return;
                    }
                    for code in in_view.fresh(codes.unwrap_or_default(), Instant::now()) {
                        if !rep.scan(Ok(code)).await {
                            return;
                        }
                    }
                }
                Err(e) => {
                    let detail = if e.kind() == std::io::ErrorKind::NotFound {
                        format!("Kamera ikke fundet: {described}")
                    } else {
                        format!("Kamera virker ikke: {described}")
                    };
                    if !rep.down(detail, &e).await || !rep.pause().await {
                        return;
                    }
                }
            }
        }
    }
}

/// Which codes are in view, so each is reported once per appearance.
#[derive(Debug)]
pub struct InView {
    forget_after: Duration,
    last_seen: HashMap<String, Instant>,
}

impl InView {
    pub fn new(forget_after: Duration) -> Self {
        InView {
            forget_after,
            last_seen: HashMap::new(),
        }
    }

    /// The codes of a frame taken at `now` that were not in view just before.
    pub fn fresh(&mut self, codes: Vec<String>, now: Instant) -> Vec<String> {
        let forget = self.forget_after;
        self.last_seen
            .retain(|_, seen| now.saturating_duration_since(*seen) < forget);
        codes
            .into_iter()
            .filter(|c| self.last_seen.insert(c.clone(), now).is_none())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::ScannerStatus;

    const CARD: &[u8] = include_bytes!("../testdata/qr-card.png");

    #[test]
    fn a_code_in_view_is_reported_once() {
        let mut v = InView::new(Duration::from_secs(2));
        let t = Instant::now();
        let ms = Duration::from_millis;
        let codes = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(v.fresh(codes(&["A", "A"]), t), codes(&["A"]));
        assert!(v.fresh(codes(&["A"]), t + ms(200)).is_empty());
        // Missed for a few frames while moving, still the same appearance.
        assert_eq!(v.fresh(codes(&["B", "A"]), t + ms(1900)), codes(&["B"]));
        // Gone for two seconds: shown again is a new scan.
        assert!(v.fresh(vec![], t + ms(3000)).is_empty());
        assert_eq!(v.fresh(codes(&["A"]), t + ms(4000)), codes(&["A"]));
        assert_eq!(v.fresh(codes(&["B", "A"]), t + ms(4100)), codes(&["B"]));
    }

    /// Hands out the same frames over and over, then fails.
    struct Fake {
        frames: Vec<Option<&'static [u8]>>,
        at: usize,
    }

    impl FrameSource for Fake {
        fn describe(&self) -> String {
            "testkamera".into()
        }
        fn next_frame(&mut self) -> std::io::Result<Option<image::GrayImage>> {
            let f = self.frames.get(self.at).copied();
            self.at += 1;
            match f {
                Some(Some(bytes)) => image::load_from_memory(bytes)
                    .map(|i| Some(i.to_luma8()))
                    .map_err(std::io::Error::other),
                Some(None) => Ok(None),
                None => Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "unplugged",
                )),
            }
        }
    }

    #[tokio::test]
    async fn reports_a_card_once_and_a_lost_camera() {
        let fake = Fake {
            frames: vec![Some(CARD), Some(CARD), None, Some(CARD)],
            at: 0,
        };
        let mut scanner = CameraScanner::new(fake);
        scanner.interval = Duration::from_millis(20);
        assert_eq!(scanner.describe(), "testkamera");
        let (tx, mut rx) = mpsc::channel(8);
        let task = Box::new(scanner).spawn(tx);
        let mut got = Vec::new();
        while got.len() < 3 {
            match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
                Ok(Some(ev)) => got.push(ev),
                other => panic!("stopped early: {other:?} after {got:?}"),
            }
        }
        assert_eq!(
            got,
            vec![
                ScanEvent::Status(ScannerStatus {
                    connected: true,
                    detail: "Kamera: testkamera".into()
                }),
                ScanEvent::Code("valgkort:123456789012".into()),
                ScanEvent::Status(ScannerStatus {
                    connected: false,
                    detail: "Kamera ikke fundet: testkamera".into()
                }),
            ]
        );
        drop(rx);
        assert!(
            tokio::time::timeout(Duration::from_secs(3), task)
                .await
                .is_ok()
        );
    }
}
