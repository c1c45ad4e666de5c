//! Frames from a capture program's standard output.
//!
//! Reading V4L2 or libcamera directly needs ioctls (or bindings) that the crate does not
//! depend on; a capture program is one line of configuration, works for USB webcams and
//! the Pi camera alike, and a crash in it cannot take the table daemon down. Examples:
//!
//! - USB webcam, streamed: `ffmpeg -loglevel error -f v4l2 -video_size 640x480 -i
//!   /dev/video0 -vf fps=5 -pix_fmt gray -f image2pipe -vcodec pgm -` with
//!   [`StreamFormat::Images`].
//! - Pi camera, streamed: `rpicam-vid -t 0 -n --width 640 --height 480 --framerate 5
//!   --codec yuv420 -o -` with [`StreamFormat::Yuv420`] of 640×480.
//! - Pi camera, one still per frame (slow, about a second each): `rpicam-still -n -t 1
//!   --width 640 --height 480 -e png -o -` with [`CommandFrames::one_shot`].
//!
//! Keep the program's frame rate near the scanner's: a program that produces faster than
//! frames are decoded waits on the pipe, and the frame read next is then a little old.
//! 640×480 is plenty for a card held up to the camera and decodes quickly on a Pi.

use super::source::FrameSource;
use super::stream::{StreamFormat, decode_image, read_frame};
use image::GrayImage;
use std::io::{self, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

pub struct CommandFrames {
    argv: Vec<String>,
    mode: Mode,
    running: Option<(Child, BufReader<ChildStdout>)>,
}

enum Mode {
    Stream(StreamFormat),
    OneShot,
}

impl CommandFrames {
    /// A program that keeps writing frames until it is stopped. Restarted when it exits.
    pub fn stream(argv: Vec<String>, format: StreamFormat) -> Self {
        CommandFrames {
            argv,
            mode: Mode::Stream(format),
            running: None,
        }
    }

    /// A program that writes one image (PNG, JPEG or PGM) and exits; run for every frame.
    pub fn one_shot(argv: Vec<String>) -> Self {
        CommandFrames {
            argv,
            mode: Mode::OneShot,
            running: None,
        }
    }

    fn command(&self) -> io::Result<Command> {
        let (prog, args) = self
            .argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty camera command"))?;
        let mut cmd = Command::new(prog);
        // The program's complaints go to our stderr, hence the journal.
        cmd.args(args).stdin(Stdio::null()).stderr(Stdio::inherit());
        Ok(cmd)
    }

    fn stop(&mut self) {
        if let Some((mut child, _)) = self.running.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn next_streamed(&mut self, format: StreamFormat) -> io::Result<GrayImage> {
        if self.running.is_none() {
            let mut child = self.command()?.stdout(Stdio::piped()).spawn()?;
            let Some(out) = child.stdout.take() else {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::other("capture program has no stdout"));
            };
            // Large enough for a whole 640×480 grey frame in one read.
            self.running = Some((child, BufReader::with_capacity(1 << 19, out)));
        }
        let res = match &mut self.running {
            Some((_, out)) => read_frame(out, format),
            None => Err(io::Error::other("capture program not running")),
        };
        if let Err(e) = &res {
            let status = self
                .running
                .as_mut()
                .and_then(|(c, _)| c.try_wait().ok().flatten());
            tracing::warn!(error = %e, exit = ?status, command = ?self.argv, "camera stream ended; restarting it");
            self.stop();
        }
        res
    }

    fn next_one_shot(&mut self) -> io::Result<GrayImage> {
        let out = self.command()?.stdout(Stdio::piped()).output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "camera command failed: {}",
                out.status
            )));
        }
        decode_image(&out.stdout)
    }
}

impl FrameSource for CommandFrames {
    fn describe(&self) -> String {
        format!("kamera: {}", self.argv.join(" "))
    }

    fn next_frame(&mut self) -> io::Result<Option<GrayImage>> {
        match self.mode {
            Mode::Stream(format) => self.next_streamed(format).map(Some),
            Mode::OneShot => self.next_one_shot().map(Some),
        }
    }
}

impl Drop for CommandFrames {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn streamed_frames_and_restart_after_the_program_exits() {
        // Two frames, then the program ends; the next call starts it again.
        let mut src = CommandFrames::stream(
            sh(r"printf 'P5 2 1 255\n\000\377P5 1 1 255\n\177'"),
            StreamFormat::Images,
        );
        assert_eq!(src.next_frame().unwrap().unwrap().width(), 2);
        assert_eq!(src.next_frame().unwrap().unwrap().width(), 1);
        assert!(src.next_frame().is_err());
        assert_eq!(src.next_frame().unwrap().unwrap().width(), 2);
    }

    #[test]
    fn one_shot_runs_the_program_each_time() {
        let mut src = CommandFrames::one_shot(sh(r"printf 'P5 2 2 255\n\000\377\377\000'"));
        assert_eq!(src.next_frame().unwrap().unwrap().height(), 2);
        assert_eq!(src.next_frame().unwrap().unwrap().height(), 2);
        let mut failing = CommandFrames::one_shot(sh("exit 3"));
        assert!(failing.next_frame().is_err());
    }

    #[test]
    fn missing_program_is_not_found() {
        let mut src = CommandFrames::stream(
            vec!["/nonexistent/rpicam-vid".into()],
            StreamFormat::Yuv420 {
                width: 640,
                height: 480,
            },
        );
        assert_eq!(
            src.next_frame().unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert!(CommandFrames::one_shot(vec![]).next_frame().is_err());
        assert_eq!(src.describe(), "kamera: /nonexistent/rpicam-vid");
    }
}
