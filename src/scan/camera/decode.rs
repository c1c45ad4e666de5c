//! Finding and reading QR codes in a camera frame.

use image::GrayImage;

/// The payloads of the QR codes that can be read in `frame`, each once, in the order
/// found. A code that is seen but cannot be read (half out of view, blurred) is left
/// out: the next frame will most likely read it, and "ukendt stregkode" for a card still
/// being moved into view would only confuse.
///
/// Byte-mode payloads that are not UTF-8 are read as ISO 8859-1, the QR standard's
/// default.
pub fn decode_qr(frame: GrayImage) -> Vec<String> {
    let mut img = rqrr::PreparedImage::prepare(frame);
    let mut out: Vec<String> = Vec::new();
    for grid in img.detect_grids() {
        let mut bytes = Vec::new();
        match grid.decode_to(&mut bytes) {
            Ok(_) => {
                let text = match String::from_utf8(bytes) {
                    Ok(s) => s,
                    Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
                };
                if !out.contains(&text) {
                    out.push(text);
                }
            }
            Err(e) => tracing::trace!(error = %e, "QR code seen but not readable"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, imageops};

    /// Rendered once with `segno.make("valgkort:123456789012", error="m")`, scale 4.
    const CARD: &[u8] = include_bytes!("../testdata/qr-card.png");

    fn card() -> GrayImage {
        image::load_from_memory(CARD)
            .expect("fixture decodes")
            .to_luma8()
    }

    /// The code as a camera sees it: small, off-centre, on a grey, uneven background.
    fn in_frame(code: &GrayImage) -> GrayImage {
        let mut frame = GrayImage::from_fn(640, 480, |x, y| Luma([90 + ((x + 2 * y) % 40) as u8]));
        imageops::overlay(&mut frame, code, 250, 130);
        frame
    }

    #[test]
    fn reads_the_fixture() {
        assert_eq!(decode_qr(card()), vec!["valgkort:123456789012"]);
    }

    #[test]
    fn reads_a_code_inside_a_larger_frame_and_turned() {
        assert_eq!(decode_qr(in_frame(&card())), vec!["valgkort:123456789012"]);
        let turned = imageops::rotate90(&card());
        assert_eq!(decode_qr(in_frame(&turned)), vec!["valgkort:123456789012"]);
        let two = {
            let mut f = in_frame(&card());
            imageops::overlay(&mut f, &card(), 20, 20);
            f
        };
        assert_eq!(decode_qr(two), vec!["valgkort:123456789012"]);
    }

    #[test]
    fn empty_and_damaged_frames_give_nothing() {
        assert!(decode_qr(GrayImage::new(320, 240)).is_empty());
        assert!(decode_qr(GrayImage::from_pixel(320, 240, Luma([255]))).is_empty());
        // Cut the code in half: finder patterns may still be seen, but nothing decodes.
        let mut c = card();
        for y in 66..132 {
            for x in 0..132 {
                c.put_pixel(x, y, Luma([255]));
            }
        }
        assert!(decode_qr(in_frame(&c)).is_empty());
    }
}
