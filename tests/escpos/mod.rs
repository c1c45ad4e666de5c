//! An ESC/POS printer for tests: interprets the bytes `src/print/escpos.rs` sends and
//! prints them to an image, the way an 80 mm thermal printer (576 dots a line) would.
//! Written from Epson's ESC/POS command reference, sharing no code with `src/print/`:
//! the Code 128 bars are drawn from this file's own symbol table and check digit, as
//! the printer's firmware draws them from `GS k`, so zbar reading the image back checks
//! the bytes, not our encoder against itself. The QR symbol is drawn by the `qrcode`
//! crate from the data and settings of `GS ( k`, as the firmware's own QR encoder would.
//!
//! A byte sequence it does not know fails the render with its offset: a printer would
//! print it as garbage or ignore it, and either is a bug in what we send.
#![allow(dead_code)]

use image::{GrayImage, Luma};

/// Printable dots per line on 80 mm paper at 203 dpi.
pub const LINE_DOTS: u32 = 576;
/// The paper outside the printable width (4 mm each side), white.
const PAPER_MARGIN: u32 = 32;
/// Height of a line of text in the default font A (24-dot glyphs + spacing).
const TEXT_LINE: u32 = 30;

/// Code 128 symbol values 0–106 as bar/space widths in modules (bar first), from the
/// symbology's table; the stop symbol has a final 2-module bar.
const CODE128: [&str; 107] = [
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212",
    "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221",
    "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221",
    "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321",
    "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131",
    "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131",
    "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111",
    "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242",
    "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
];
const START: [u16; 3] = [103, 104, 105];
/// Switch to set A, B, C from another set.
const CODE_A: u16 = 101;
const CODE_B: u16 = 100;
const CODE_C: u16 = 99;
const STOP: u16 = 106;

/// What the printer did, besides the image.
#[derive(Debug, Default)]
pub struct Printed {
    /// Data of each `GS k 73` barcode as the printer read it (set C as digit pairs).
    pub barcodes: Vec<String>,
    /// Data of each QR symbol printed.
    pub qr: Vec<String>,
    /// Paper cuts.
    pub cuts: usize,
}

struct Printer {
    rows: Vec<Vec<bool>>,
    align: u8,
    bar_height: u32,
    bar_module: u32,
    qr_module: u32,
    qr_ec: qrcode::EcLevel,
    qr_data: Option<Vec<u8>>,
    text_in_line: bool,
    printed: Printed,
}

impl Printer {
    fn feed(&mut self, dots: u32) {
        for _ in 0..dots {
            self.rows.push(vec![false; LINE_DOTS as usize]);
        }
    }

    /// Prints a block `width` dots wide, `height` high, placed by the alignment.
    fn block(
        &mut self,
        width: u32,
        height: u32,
        dark: impl Fn(u32, u32) -> bool,
    ) -> Result<(), String> {
        if width > LINE_DOTS {
            return Err(format!(
                "a block {width} dots wide on {LINE_DOTS}-dot paper"
            ));
        }
        let left = match self.align {
            1 => (LINE_DOTS - width) / 2,
            2 => LINE_DOTS - width,
            _ => 0,
        };
        for y in 0..height {
            let mut row = vec![false; LINE_DOTS as usize];
            for x in 0..width {
                row[(left + x) as usize] = dark(x, y);
            }
            self.rows.push(row);
        }
        Ok(())
    }

    fn code128(&mut self, data: &[u8]) -> Result<(), String> {
        let (values, text) = code128_values(data)?;
        let mut checksum = u32::from(values[0]);
        for (i, v) in values.iter().enumerate().skip(1) {
            checksum += i as u32 * u32::from(*v);
        }
        let mut symbols = values;
        symbols.push((checksum % 103) as u16);
        symbols.push(STOP);
        let mut modules = Vec::new();
        for s in symbols {
            for (k, w) in CODE128[s as usize].bytes().enumerate() {
                modules.extend(std::iter::repeat_n(k % 2 == 0, usize::from(w - b'0')));
            }
        }
        let m = self.bar_module;
        let width = modules.len() as u32 * m;
        self.block(width, self.bar_height, |x, _| modules[(x / m) as usize])?;
        // The human-readable line below the bars (GS H 2) takes a text line.
        self.feed(TEXT_LINE);
        self.printed.barcodes.push(text);
        Ok(())
    }

    fn qr(&mut self) -> Result<(), String> {
        let data = self.qr_data.take().ok_or("QR print without stored data")?;
        let q = qrcode::QrCode::with_error_correction_level(&data, self.qr_ec)
            .map_err(|e| format!("QR data the printer cannot encode: {e}"))?;
        let w = q.width() as u32;
        let colors = q.to_colors();
        let m = self.qr_module;
        // The printer adds no quiet zone of its own: our margins are the paper's.
        self.block(w * m, w * m, |x, y| {
            colors[((y / m) * w + x / m) as usize] == qrcode::Color::Dark
        })?;
        self.printed
            .qr
            .push(String::from_utf8_lossy(&data).into_owned());
        Ok(())
    }
}

/// Code 128 data of `GS k 73`: each code set chosen by `{A`, `{B`, `{C`; `{{` is a
/// brace. Returns the symbol values (start first) and the text they carry.
fn code128_values(data: &[u8]) -> Result<(Vec<u16>, String), String> {
    let mut values: Vec<u16> = Vec::new();
    let mut text = String::new();
    let mut set: Option<u8> = None;
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'{' && i + 1 < data.len() && data[i + 1] != b'{' {
            let to = data[i + 1];
            if !matches!(to, b'A' | b'B' | b'C') {
                return Err(format!("Code 128 function {{{} not supported", to as char));
            }
            values.push(match set {
                None => START[usize::from(to - b'A')],
                Some(_) => [CODE_A, CODE_B, CODE_C][usize::from(to - b'A')],
            });
            set = Some(to);
            i += 2;
            continue;
        }
        let b = data[i];
        i += if b == b'{' { 2 } else { 1 };
        match set {
            None => return Err("Code 128 data before a code set ({A, {B or {C)".into()),
            Some(b'A') if b < 96 => {
                values.push(if b < 32 {
                    u16::from(b) + 64
                } else {
                    u16::from(b) - 32
                });
                text.push(b as char);
            }
            Some(b'B') if (32..128).contains(&b) => {
                values.push(u16::from(b) - 32);
                text.push(b as char);
            }
            Some(b'C') if b < 100 => {
                values.push(u16::from(b));
                text.push_str(&format!("{b:02}"));
            }
            Some(s) => {
                return Err(format!("byte {b} is not in Code 128 set {}", s as char));
            }
        }
    }
    if values.len() < 2 {
        return Err("a Code 128 barcode without data".into());
    }
    Ok((values, text))
}

fn arg(bytes: &[u8], at: usize, n: usize) -> Result<&[u8], String> {
    bytes
        .get(at..at + n)
        .ok_or_else(|| format!("command at byte {at} cut short"))
}

/// Prints `bytes` and returns the paper (white outside the printable width) and what
/// was printed. Text is not drawn (its lines are fed); barcodes and QR codes are.
pub fn render(bytes: &[u8]) -> Result<(GrayImage, Printed), String> {
    let mut p = Printer {
        rows: Vec::new(),
        align: 0,
        bar_height: 162,
        bar_module: 3,
        qr_module: 3,
        qr_ec: qrcode::EcLevel::L,
        qr_data: None,
        text_in_line: false,
        printed: Printed::default(),
    };
    p.feed(TEXT_LINE);
    let mut i = 0;
    while i < bytes.len() {
        let at = i;
        match bytes[i] {
            0x1b => {
                let c = *arg(bytes, i + 1, 1)?.first().unwrap_or(&0);
                match c {
                    b'@' => i += 2,
                    b't' | b'E' | b'M' | b'-' => i += 3,
                    b'a' => {
                        p.align = arg(bytes, i + 2, 1)?[0] % 48;
                        i += 3;
                    }
                    b'd' => {
                        let n = arg(bytes, i + 2, 1)?[0];
                        p.feed(u32::from(n) * TEXT_LINE);
                        i += 3;
                    }
                    other => return Err(format!("unknown ESC {other:#04x} at byte {at}")),
                }
            }
            0x1d => {
                let c = *arg(bytes, i + 1, 1)?.first().unwrap_or(&0);
                match c {
                    b'!' | b'H' | b'f' => i += 3,
                    b'h' => {
                        p.bar_height = u32::from(arg(bytes, i + 2, 1)?[0]);
                        i += 3;
                    }
                    b'w' => {
                        let n = arg(bytes, i + 2, 1)?[0];
                        if !(2..=6).contains(&n) {
                            return Err(format!("GS w {n} at byte {at}: the printer takes 2–6"));
                        }
                        p.bar_module = u32::from(n);
                        i += 3;
                    }
                    b'V' => {
                        let m = arg(bytes, i + 2, 1)?[0];
                        i += if m >= 65 { 4 } else { 3 };
                        p.printed.cuts += 1;
                    }
                    b'k' => {
                        let m = arg(bytes, i + 2, 1)?[0];
                        if m != 73 {
                            return Err(format!(
                                "barcode type {m} at byte {at}: only 73 (Code 128) expected"
                            ));
                        }
                        let n = usize::from(arg(bytes, i + 3, 1)?[0]);
                        let data = arg(bytes, i + 4, n)?.to_vec();
                        p.code128(&data)
                            .map_err(|e| format!("GS k at byte {at}: {e}"))?;
                        i += 4 + n;
                    }
                    b'(' => {
                        let head = arg(bytes, i + 2, 5)?;
                        if head[0] != b'k' || head[3] != 49 {
                            return Err(format!("unknown GS ( {:?} at byte {at}", &head[..1]));
                        }
                        let len = usize::from(head[1]) + 256 * usize::from(head[2]);
                        let body = arg(bytes, i + 5, len)?;
                        match body[1] {
                            65 => {}
                            67 => p.qr_module = u32::from(body[2]),
                            69 => {
                                p.qr_ec = match body[2] {
                                    48 => qrcode::EcLevel::L,
                                    49 => qrcode::EcLevel::M,
                                    50 => qrcode::EcLevel::Q,
                                    51 => qrcode::EcLevel::H,
                                    e => {
                                        return Err(format!(
                                            "QR error correction {e} at byte {at}"
                                        ));
                                    }
                                }
                            }
                            80 => p.qr_data = Some(body[3..].to_vec()),
                            81 => p.qr().map_err(|e| format!("at byte {at}: {e}"))?,
                            f => return Err(format!("QR function {f} at byte {at}")),
                        }
                        i += 5 + len;
                    }
                    other => return Err(format!("unknown GS {other:#04x} at byte {at}")),
                }
            }
            b'\n' => {
                if p.text_in_line {
                    p.feed(TEXT_LINE);
                }
                p.text_in_line = false;
                i += 1;
            }
            b if b < 0x20 => return Err(format!("control byte {b:#04x} at byte {at}")),
            _ => {
                p.text_in_line = true;
                i += 1;
            }
        }
    }
    p.feed(TEXT_LINE);
    let width = LINE_DOTS + 2 * PAPER_MARGIN;
    let mut img = GrayImage::from_pixel(width, p.rows.len() as u32, Luma([255]));
    for (y, row) in p.rows.iter().enumerate() {
        for (x, dark) in row.iter().enumerate() {
            if *dark {
                img.put_pixel(PAPER_MARGIN + x as u32, y as u32, Luma([0]));
            }
        }
    }
    Ok((img, p.printed))
}

#[test]
fn the_symbol_table_is_the_symbologys() {
    for (v, w) in CODE128.iter().enumerate() {
        let sum: u32 = w.bytes().map(|b| u32::from(b - b'0')).sum();
        assert_eq!(sum, if v == 106 { 13 } else { 11 }, "symbol {v}");
    }
    // Every symbol differs from every other.
    let distinct: std::collections::HashSet<&str> = CODE128.iter().copied().collect();
    assert_eq!(distinct.len(), CODE128.len());
}
