//! Where camera frames come from, and the simplest source: a directory of images.

use super::stream::decode_image;
use image::GrayImage;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A camera, or something standing in for one. Called from a blocking thread, so it may
/// block until a frame is ready.
pub trait FrameSource: Send + 'static {
    /// The source for people ("kamera: ffmpeg -f v4l2 …").
    fn describe(&self) -> String;
    /// The next frame; `Ok(None)` when there is nothing new yet. An error means the
    /// camera is missing or failed: the scanner reports it and calls again a second
    /// later, and the source reopens the camera then.
    fn next_frame(&mut self) -> io::Result<Option<GrayImage>>;
}

/// Image files (PNG, JPEG, PGM) in a directory, each shown once, in name order, and again
/// when it changes. For the demo and tests: saving a photo of a card into the directory
/// is holding the card up to the camera.
pub struct DirFrames {
    dir: PathBuf,
    seen: HashMap<PathBuf, (SystemTime, u64)>,
}

impl DirFrames {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirFrames {
            dir: dir.into(),
            seen: HashMap::new(),
        }
    }
}

fn is_image(p: &Path) -> bool {
    let ext = p
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg" | "pgm"))
}

impl FrameSource for DirFrames {
    fn describe(&self) -> String {
        format!("billeder i {}", self.dir.display())
    }

    fn next_frame(&mut self) -> io::Result<Option<GrayImage>> {
        let mut files: Vec<(PathBuf, (SystemTime, u64))> = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if !is_image(&path) {
                continue;
            }
            // A file removed between listing and stat is simply not there.
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            let stamp = (
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                meta.len(),
            );
            files.push((path, stamp));
        }
        files.sort();
        self.seen.retain(|p, _| files.iter().any(|(f, _)| f == p));
        let Some((path, stamp)) = files
            .into_iter()
            .find(|(p, stamp)| self.seen.get(p) != Some(stamp))
        else {
            return Ok(None);
        };
        // Marked before decoding: a broken file is skipped until it changes, and a file
        // still being written is read again once its size or time changes.
        self.seen.insert(path.clone(), stamp);
        match std::fs::read(&path).and_then(|b| decode_image(&b)) {
            Ok(img) => Ok(Some(img)),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "skipping image file");
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &[u8] = include_bytes!("../testdata/qr-card.png");

    #[test]
    fn each_file_once_in_order_then_again_when_changed() {
        let dir = tempfile::tempdir().unwrap();
        let mut src = DirFrames::new(dir.path());
        assert!(src.describe().starts_with("billeder i "));
        assert!(src.next_frame().unwrap().is_none());
        std::fs::write(dir.path().join("b.png"), CARD).unwrap();
        std::fs::write(dir.path().join("a.pgm"), b"P5 2 1 255\n\x00\xff").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"not a frame").unwrap();
        std::fs::write(dir.path().join("c.jpg"), b"broken").unwrap();
        assert_eq!(src.next_frame().unwrap().unwrap().width(), 2);
        assert_eq!(src.next_frame().unwrap().unwrap().width(), 132);
        assert!(src.next_frame().unwrap().is_none()); // c.jpg is broken: skipped
        assert!(src.next_frame().unwrap().is_none());
        std::fs::write(dir.path().join("a.pgm"), b"P5 3 1 255\n\x00\xff\x00").unwrap();
        assert_eq!(src.next_frame().unwrap().unwrap().width(), 3);
    }

    #[test]
    fn missing_directory_is_an_error() {
        let mut src = DirFrames::new("/nonexistent/valgbord-frames");
        assert_eq!(
            src.next_frame().unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }
}
