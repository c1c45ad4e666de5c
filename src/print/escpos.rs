//! ESC/POS bytes for an 80 mm receipt printer, as a pure function of a [`Receipt`].
//!
//! Written here instead of with the `escpos` crate: the crate has no Code 128 helper
//! (its Code 39 runs past the 576 dots of 80 mm paper and does not decode) and writes
//! to a driver as it goes, while a pure `Receipt -> Vec<u8>` can be tested byte by byte
//! and sent unchanged to any transport (USB device file, serial, TCP 9100, a file).
//! The commands used are the common Epson TM subset that clones also follow:
//! `ESC @`, `ESC t 5` (code page PC865, Nordic, which holds æ ø å Æ Ø Å), `ESC a`,
//! `ESC E`, `GS !`, `GS h/w/H/f`, `GS k` function B (m = 73, Code 128), `GS ( k`
//! (QR model 2), `ESC d`, `GS V`.

use super::code128::{BarcodeError, Code128};
use super::receipt::{Align, Item, Receipt, Size, wrap};
use unicode_normalization::UnicodeNormalization;

/// Printable width of 80 mm paper at 203 dpi (8 dots/mm): 72 mm.
pub const DOTS_PER_LINE: usize = 576;
/// Characters on a line in font A (12 × 24 dots).
pub const COLUMNS: usize = 48;
/// `ESC t n` number of code page PC865 (Nordic) in the Epson table.
pub const CODE_PAGE_PC865: u8 = 5;
/// Height of a printed Code 128 symbol in dots (12.5 mm: easy to hit with a scanner).
const BARCODE_HEIGHT: u8 = 100;
/// QR codes are kept at most this wide, so they sit comfortably inside the paper.
const QR_MAX_DOTS: usize = 400;

const ESC: u8 = 0x1b;
const GS: u8 = 0x1d;
const LF: u8 = 0x0a;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("barcode {code:?}: {source}")]
    Barcode { code: String, source: BarcodeError },
    #[error(
        "barcode {code:?} is {modules} modules wide with quiet zones and does not fit {DOTS_PER_LINE} dots even at 2 dots per module"
    )]
    BarcodeTooWide { code: String, modules: usize },
    #[error("QR code of {len} bytes: {detail}")]
    Qr { len: usize, detail: String },
}

impl EncodeError {
    pub fn danish(&self) -> String {
        match self {
            EncodeError::Barcode { code, .. } => {
                format!("Stregkoden «{code}» kan ikke laves (kun A–Z, 0–9 og tegn).")
            }
            EncodeError::BarcodeTooWide { code, .. } => {
                format!("Stregkoden «{code}» er for bred til 80 mm papir.")
            }
            EncodeError::Qr { .. } => "QR-koden er for lang.".into(),
        }
    }
}

/// The bytes that print `r`.
pub fn encode(r: &Receipt) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(1024);
    out.extend([ESC, b'@']); // initialise: default sizes, alignment, fonts
    out.extend([ESC, b't', CODE_PAGE_PC865]);
    for item in &r.items {
        match item {
            Item::Text {
                text,
                size,
                bold,
                align,
            } => {
                out.extend([ESC, b'a', align_byte(*align)]);
                out.extend([ESC, b'E', u8::from(*bold)]);
                out.extend([GS, b'!', size_byte(*size)]);
                for line in wrap(text, COLUMNS / size.width_factor()) {
                    out.extend(pc865(&line));
                    out.push(LF);
                }
                out.extend([GS, b'!', 0, ESC, b'E', 0, ESC, b'a', 0]);
            }
            Item::Code128(code) => code128(&mut out, code)?,
            Item::Qr(text) => qr(&mut out, text)?,
            Item::Rule => {
                out.extend([ESC, b'a', 0]);
                out.extend(std::iter::repeat_n(b'-', COLUMNS));
                out.push(LF);
            }
            Item::Feed(n) => out.extend([ESC, b'd', *n]),
            // Feed to the cutter, then a partial cut.
            Item::Cut => out.extend([GS, b'V', 66, 0]),
        }
    }
    Ok(out)
}

fn align_byte(a: Align) -> u8 {
    match a {
        Align::Left => 0,
        Align::Center => 1,
        Align::Right => 2,
    }
}

fn size_byte(s: Size) -> u8 {
    match s {
        Size::Normal => 0x00,
        Size::Tall => 0x01,
        Size::Double => 0x11,
    }
}

/// The widest module (in dots) at which the symbol with its quiet zones fits the
/// paper; wider modules scan more reliably.
pub fn code128_module_dots(c: &Code128) -> Option<u8> {
    (2..=4u8)
        .rev()
        .find(|w| c.modules_with_quiet_zone() * usize::from(*w) <= DOTS_PER_LINE)
}

fn code128(out: &mut Vec<u8>, code: &str) -> Result<(), EncodeError> {
    let c = Code128::new(code).map_err(|source| EncodeError::Barcode {
        code: code.to_string(),
        source,
    })?;
    let w = code128_module_dots(&c).ok_or_else(|| EncodeError::BarcodeTooWide {
        code: code.to_string(),
        modules: c.modules_with_quiet_zone(),
    })?;
    let data = c.escpos_data();
    // `Code128::new` allows at most 60 characters: at most 122 bytes of data.
    let n = u8::try_from(data.len()).map_err(|_| EncodeError::BarcodeTooWide {
        code: code.to_string(),
        modules: c.modules_with_quiet_zone(),
    })?;
    out.extend([ESC, b'a', 1]); // centred: the paper margins are the quiet zones
    out.extend([GS, b'h', BARCODE_HEIGHT]);
    out.extend([GS, b'w', w]);
    out.extend([GS, b'H', 2]); // human-readable text below
    out.extend([GS, b'f', 0]);
    out.extend([GS, b'k', 73, n]);
    out.extend(data);
    out.push(LF);
    out.extend([ESC, b'a', 0]);
    Ok(())
}

/// Dots per QR module so that the symbol (with its 4-module quiet zone) stays within
/// `QR_MAX_DOTS`, between 3 and 8.
pub fn qr_module_dots(text: &str) -> Result<u8, EncodeError> {
    let q = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| EncodeError::Qr {
            len: text.len(),
            detail: e.to_string(),
        })?;
    let dots = QR_MAX_DOTS / (q.width() + 8);
    Ok(dots.clamp(3, 8) as u8)
}

fn qr(out: &mut Vec<u8>, text: &str) -> Result<(), EncodeError> {
    let module = qr_module_dots(text)?;
    let len = text.len() + 3;
    let too_long = || EncodeError::Qr {
        len: text.len(),
        detail: "longer than a QR code holds".into(),
    };
    if len > 7089 {
        return Err(too_long());
    }
    let (pl, ph) = ((len % 256) as u8, (len / 256) as u8);
    out.extend([ESC, b'a', 1]);
    out.extend([GS, b'(', b'k', 4, 0, 49, 65, 50, 0]); // model 2
    out.extend([GS, b'(', b'k', 3, 0, 49, 67, module]); // module size
    out.extend([GS, b'(', b'k', 3, 0, 49, 69, 49]); // error correction M
    out.extend([GS, b'(', b'k', pl, ph, 49, 80, 48]); // store the data
    out.extend(text.as_bytes());
    out.extend([GS, b'(', b'k', 3, 0, 49, 81, 48]); // print it
    out.push(LF);
    out.extend([ESC, b'a', 0]);
    Ok(())
}

/// Code page 865 (Nordic), bytes 0x80–0xFF.
const PC865_HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜø£Ø₧ƒáíóúñÑªº¿⌐¬½¼¡«¤░▒▓│┤╡╢╖╕╣║╗╝╜╛┐\
└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{a0}";

/// One character in PC865: itself when the code page has it, else without its accent
/// (ő → o), else `?`.
pub fn pc865_byte(c: char) -> u8 {
    if (' '..='~').contains(&c) {
        return c as u8;
    }
    if let Some(i) = PC865_HIGH.chars().position(|h| h == c) {
        return 0x80 + i as u8;
    }
    match c {
        '–' | '—' => return b'-',
        '’' | '‘' => return b'\'',
        '“' | '”' | '«' | '»' => return b'"',
        '…' => return b'.',
        _ => {}
    }
    let base = std::iter::once(c).nfd().next().unwrap_or('?');
    if base != c && (base.is_ascii_graphic() || base == ' ') {
        base as u8
    } else {
        b'?'
    }
}

pub fn pc865(s: &str) -> Vec<u8> {
    s.chars().map(pc865_byte).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pc865_table_is_complete_and_has_the_danish_letters() {
        assert_eq!(PC865_HIGH.chars().count(), 128);
        assert_eq!(pc865("æøåÆØÅ"), [0x91, 0x9b, 0x86, 0x92, 0x9d, 0x8f]);
        assert_eq!(pc865("é ü"), [0x82, b' ', 0x81]);
        assert_eq!(pc865("ő€"), [b'o', b'?']);
    }

    #[test]
    fn header_selects_pc865() {
        let b = encode(&Receipt::new("x")).unwrap();
        assert_eq!(b, [ESC, b'@', ESC, b't', 5]);
    }

    #[test]
    fn text_lines_are_styled_and_encoded() {
        let mut r = Receipt::new("x");
        r.styled("Søren", Size::Double, true, Align::Center);
        let b = encode(&r).unwrap();
        let want: Vec<u8> = [
            &[ESC, b'a', 1, ESC, b'E', 1, GS, b'!', 0x11][..],
            b"S\x9bren\n",
            &[GS, b'!', 0, ESC, b'E', 0, ESC, b'a', 0],
        ]
        .concat();
        assert_eq!(&b[5..], &want[..]);
    }

    #[test]
    fn code128_uses_gs_k_function_b_with_code_sets() {
        let mut r = Receipt::new("x");
        r.push(Item::Code128("VB123456789012".into()));
        let b = encode(&r).unwrap();
        let mut cmd = vec![GS, b'k', 73, 12];
        cmd.extend(b"{BVB{C");
        cmd.extend([12, 34, 56, 78, 90, 12]);
        assert!(b.windows(cmd.len()).any(|w| w == cmd), "{b:02x?}");
        // 154 modules with quiet zones at 3 dots = 462 dots ≤ 576.
        assert!(b.windows(3).any(|w| w == [GS, b'w', 3]));
    }

    #[test]
    fn a_long_barcode_gets_narrower_modules_or_is_refused() {
        let c = Code128::new("ABCDEFGHIJKLMNOP").unwrap();
        assert_eq!(code128_module_dots(&c), Some(2));
        let mut r = Receipt::new("x");
        r.push(Item::Code128("ABCDEFGHIJKLMNOPQRSTUVWXYZ".into()));
        assert!(matches!(
            encode(&r),
            Err(EncodeError::BarcodeTooWide { .. })
        ));
    }

    #[test]
    fn qr_is_sent_with_model_2_store_and_print() {
        let text = "VBK1.abc";
        let mut r = Receipt::new("x");
        r.push(Item::Qr(text.into()));
        let b = encode(&r).unwrap();
        let mut store = vec![GS, b'(', b'k', (text.len() + 3) as u8, 0, 49, 80, 48];
        store.extend(text.as_bytes());
        assert!(b.windows(store.len()).any(|w| w == store));
        assert!(
            b.windows(9)
                .any(|w| w == [GS, b'(', b'k', 4, 0, 49, 65, 50, 0])
        );
        assert!(b.ends_with(&[GS, b'(', b'k', 3, 0, 49, 81, 48, LF, ESC, b'a', 0]));
    }

    #[test]
    fn qr_modules_fit_the_paper() {
        let long = "x".repeat(300);
        let m = usize::from(qr_module_dots(&long).unwrap());
        let q = qrcode::QrCode::with_error_correction_level(long.as_bytes(), qrcode::EcLevel::M)
            .unwrap();
        assert!((q.width() + 8) * m <= DOTS_PER_LINE);
    }
}
