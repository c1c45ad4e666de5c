//! Cutting a byte stream of images (a capture program's stdout) into frames.
//!
//! Hand-written rather than through `image`: the PGM decoder is not among the crate
//! features we build, and a stream of PNGs has to be cut at the end of each image before
//! it can be decoded at all.

use image::GrayImage;
use std::io::{self, Read};

/// How the frames follow one another on the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    /// Binary PGM (P5) or PNG images back to back, told apart by their first bytes:
    /// `ffmpeg … -f image2pipe -vcodec pgm -` (cheapest) or `-vcodec png`.
    Images,
    /// Raw YUV 4:2:0 frames of a fixed size (`rpicam-vid --codec yuv420`): the first
    /// width × height bytes, the Y plane, are the grey image.
    Yuv420 { width: u32, height: u32 },
}

/// Frames larger than this are refused rather than allocated (a garbled header must not
/// ask for gigabytes).
const MAX_SIDE: u32 = 8192;

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn check_size(w: u32, h: u32) -> io::Result<()> {
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(bad(format!("frame size {w}x{h} is out of range")));
    }
    Ok(())
}

/// Reads the next frame. An end of stream before a frame starts is `UnexpectedEof`, like
/// one in the middle: either way the capture program has stopped.
pub fn read_frame(r: &mut impl Read, format: StreamFormat) -> io::Result<GrayImage> {
    match format {
        StreamFormat::Images => {
            let mut magic = [0u8; 2];
            r.read_exact(&mut magic)?;
            match &magic {
                b"P5" => read_pgm_body(r),
                [0x89, b'P'] => read_png_rest(r),
                _ => Err(bad(format!(
                    "stream is neither PGM (P5) nor PNG: starts with {magic:02x?}"
                ))),
            }
        }
        StreamFormat::Yuv420 { width, height } => {
            check_size(width, height)?;
            let (w, h) = (width as usize, height as usize);
            let mut y = vec![0u8; w * h];
            r.read_exact(&mut y)?;
            // The two chroma planes, each a quarter of the Y plane (rounded up).
            let chroma = 2 * w.div_ceil(2) * h.div_ceil(2);
            io::copy(&mut r.take(chroma as u64), &mut io::sink()).and_then(|n| {
                if n as usize == chroma {
                    Ok(())
                } else {
                    Err(io::ErrorKind::UnexpectedEof.into())
                }
            })?;
            GrayImage::from_raw(width, height, y).ok_or_else(|| bad("short Y plane"))
        }
    }
}

/// A whole image file (PNG, JPEG or PGM) in memory, as grey.
pub fn decode_image(bytes: &[u8]) -> io::Result<GrayImage> {
    if bytes.starts_with(b"P5") {
        return read_pgm_body(&mut &bytes[2..]);
    }
    image::load_from_memory(bytes)
        .map(|i| i.to_luma8())
        .map_err(|e| bad(format!("cannot decode image: {e}")))
}

/// PGM after the "P5" magic: width, height and maxval as text (with `#` comments), one
/// whitespace byte, then the samples.
fn read_pgm_body(r: &mut impl Read) -> io::Result<GrayImage> {
    let width = pgm_number(r)?;
    let height = pgm_number(r)?;
    let maxval = pgm_number(r)?;
    check_size(width, height)?;
    if maxval == 0 || maxval > 65535 {
        return Err(bad(format!("PGM maxval {maxval} is out of range")));
    }
    let n = width as usize * height as usize;
    let img = if maxval < 256 {
        let mut px = vec![0u8; n];
        r.read_exact(&mut px)?;
        if maxval != 255 {
            for p in &mut px {
                *p = ((u32::from(*p) * 255) / maxval).min(255) as u8;
            }
        }
        px
    } else {
        let mut raw = vec![0u8; 2 * n];
        r.read_exact(&mut raw)?;
        raw.chunks_exact(2)
            .map(|b| ((u32::from(u16::from_be_bytes([b[0], b[1]])) * 255) / maxval).min(255) as u8)
            .collect()
    };
    GrayImage::from_raw(width, height, img).ok_or_else(|| bad("short PGM"))
}

/// A header number, skipping the whitespace and comments before it and consuming the
/// one whitespace byte after it.
fn pgm_number(r: &mut impl Read) -> io::Result<u32> {
    let mut byte = [0u8; 1];
    let mut digits: Option<u32> = None;
    let mut comment = false;
    loop {
        r.read_exact(&mut byte)?;
        let b = byte[0];
        if comment {
            comment = b != b'\n' && b != b'\r';
            continue;
        }
        match (b, digits) {
            (b'0'..=b'9', d) => {
                let v = d
                    .unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(u32::from(b - b'0')));
                digits = Some(v.ok_or_else(|| bad("PGM header number too large"))?);
            }
            (b'#', None) => comment = true,
            (b' ' | b'\t' | b'\n' | b'\r', None) => {}
            (b' ' | b'\t' | b'\n' | b'\r', Some(v)) => return Ok(v),
            _ => return Err(bad(format!("unexpected byte {b:#04x} in PGM header"))),
        }
    }
}

/// A PNG after its first two bytes: the rest of the signature, then chunks up to IEND.
fn read_png_rest(r: &mut impl Read) -> io::Result<GrayImage> {
    const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    const MAX_CHUNK: u32 = 64 << 20;
    let mut png = SIGNATURE[..2].to_vec();
    let mut rest = [0u8; 6];
    r.read_exact(&mut rest)?;
    if rest != SIGNATURE[2..] {
        return Err(bad("broken PNG signature"));
    }
    png.extend_from_slice(&rest);
    loop {
        let mut head = [0u8; 8];
        r.read_exact(&mut head)?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        if len > MAX_CHUNK {
            return Err(bad(format!("PNG chunk of {len} bytes")));
        }
        png.extend_from_slice(&head);
        let start = png.len();
        png.resize(start + len as usize + 4, 0); // data and CRC
        r.read_exact(&mut png[start..])?;
        if &head[4..] == b"IEND" {
            break;
        }
    }
    image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .map(|i| i.to_luma8())
        .map_err(|e| bad(format!("cannot decode PNG frame: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    const CARD: &[u8] = include_bytes!("../testdata/qr-card.png");

    fn pgm(img: &GrayImage, header: &str) -> Vec<u8> {
        let mut v = header.as_bytes().to_vec();
        v.extend_from_slice(img.as_raw());
        v
    }

    #[test]
    fn pgm_and_png_frames_back_to_back() {
        let a = GrayImage::from_fn(3, 2, |x, y| Luma([(x * 10 + y) as u8]));
        let card = decode_image(CARD).unwrap();
        let mut stream = pgm(&a, "P5\n# made by a test\n3 2\n255\n");
        stream.extend_from_slice(CARD);
        stream.extend(pgm(&a, "P5 3\t2 255 "));
        let mut r = &stream[..];
        assert_eq!(read_frame(&mut r, StreamFormat::Images).unwrap(), a);
        assert_eq!(read_frame(&mut r, StreamFormat::Images).unwrap(), card);
        assert_eq!(read_frame(&mut r, StreamFormat::Images).unwrap(), a);
        let end = read_frame(&mut r, StreamFormat::Images).unwrap_err();
        assert_eq!(end.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn pgm_with_other_maxval_is_scaled() {
        let mut r: &[u8] = b"P5 2 1 15\n\x00\x0f";
        let img = read_frame(&mut r, StreamFormat::Images).unwrap();
        assert_eq!(img.as_raw(), &vec![0, 255]);
        let mut r: &[u8] = b"P5 2 1 65535\n\x00\x00\xff\xff";
        let img = read_frame(&mut r, StreamFormat::Images).unwrap();
        assert_eq!(img.as_raw(), &vec![0, 255]);
    }

    #[test]
    fn yuv420_keeps_the_y_plane() {
        // 3x3: Y is 9 bytes, U and V are 2x2 each.
        let mut stream: Vec<u8> = (1..=9).collect();
        stream.extend([0u8; 8]);
        stream.extend((11..=19).collect::<Vec<u8>>());
        stream.extend([0u8; 8]);
        let f = StreamFormat::Yuv420 {
            width: 3,
            height: 3,
        };
        let mut r = &stream[..];
        assert_eq!(
            read_frame(&mut r, f).unwrap().as_raw(),
            &(1..=9).collect::<Vec<u8>>()
        );
        assert_eq!(read_frame(&mut r, f).unwrap().get_pixel(2, 2), &Luma([19]));
        assert!(read_frame(&mut r, f).is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic_or_a_huge_allocation() {
        for bytes in [
            &b"GIF89a"[..],
            b"P5 99999 99999 255\n",
            b"P5 -1 2 255\n",
            b"P5 2 2 0\n",
            b"P5 4294967296 1 255\n",
            b"\x89PNG\r\n\x1a\n\xff\xff\xff\xffIHDR",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\x00IEND\x00\x00\x00\x00",
        ] {
            let mut r = bytes;
            assert!(
                read_frame(&mut r, StreamFormat::Images).is_err(),
                "{bytes:?}"
            );
        }
        let mut r: &[u8] = &[];
        let f = StreamFormat::Yuv420 {
            width: 0,
            height: 480,
        };
        assert!(read_frame(&mut r, f).is_err());
        assert!(decode_image(b"not an image").is_err());
    }
}
