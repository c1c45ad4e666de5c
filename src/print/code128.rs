//! Code 128: from text to symbol values, and from symbol values to bars.
//!
//! Written here rather than taken from a crate because both outputs need the same
//! symbol sequence: the PDF draws the bars itself, and an ESC/POS printer is sent the
//! code-set switches (`{B`, `{C`) of the same sequence in its `GS k` command, so the
//! printed card and the PDF card carry the same barcode. Runs of four or more digits
//! use code set C (two digits per symbol), which keeps a card code such as
//! `VB123456789012` narrow enough for 80 mm paper at a module of 3 dots.

use std::fmt;

/// Width of the quiet zone on each side, in modules (ISO/IEC 15417 asks for 10).
pub const QUIET_ZONE: usize = 10;

/// Bar and space widths of each symbol value, in modules (bar first). 103–105 are the
/// start symbols A/B/C, 106 is the stop symbol (with its final bar).
const PATTERNS: [&str; 107] = [
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

const START_B: u8 = 104;
const START_C: u8 = 105;
const SWITCH_TO_C: u8 = 99;
const SWITCH_TO_B: u8 = 100;
const STOP: u8 = 106;

/// One step of the encoded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sym {
    /// Start in code set B (printable ASCII).
    StartB,
    /// Start in code set C (digit pairs).
    StartC,
    /// Switch from code set C to B.
    ToB,
    /// Switch from code set B to C.
    ToC,
    /// One ASCII character in code set B.
    B(u8),
    /// Two digits (00–99) in code set C.
    C(u8),
}

impl Sym {
    fn value(self) -> u8 {
        match self {
            Sym::StartB => START_B,
            Sym::StartC => START_C,
            Sym::ToB => SWITCH_TO_B,
            Sym::ToC => SWITCH_TO_C,
            Sym::B(c) => c - 32,
            Sym::C(v) => v,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BarcodeError {
    Empty,
    /// A character outside printable ASCII (Code 128 code set B holds only those).
    Character(char),
    TooLong(usize),
}

impl std::error::Error for BarcodeError {}

impl fmt::Display for BarcodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BarcodeError::Empty => write!(f, "a barcode needs at least one character"),
            BarcodeError::Character(c) => {
                write!(
                    f,
                    "{c:?} cannot be put in a Code 128 barcode (printable ASCII only)"
                )
            }
            BarcodeError::TooLong(n) => {
                write!(
                    f,
                    "a {n}-character code is too long for a barcode (at most 60)"
                )
            }
        }
    }
}

/// A text encoded as Code 128 symbols (without check symbol and stop; those follow
/// from the symbols).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code128 {
    text: String,
    syms: Vec<Sym>,
}

impl Code128 {
    /// Encodes printable ASCII, switching to code set C for runs of 4+ digits (or a
    /// text of digits only, of even length).
    pub fn new(text: &str) -> Result<Code128, BarcodeError> {
        if text.is_empty() {
            return Err(BarcodeError::Empty);
        }
        if text.len() > 60 {
            return Err(BarcodeError::TooLong(text.len()));
        }
        if let Some(c) = text.chars().find(|c| !(' '..='~').contains(c)) {
            return Err(BarcodeError::Character(c));
        }
        let b = text.as_bytes();
        let all_digits = b.iter().all(u8::is_ascii_digit);
        let mut syms = Vec::with_capacity(b.len() + 4);
        let mut in_c = false;
        let mut i = 0;
        while i < b.len() {
            let run = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            let use_c = run >= 4 || (all_digits && run >= 2);
            if use_c {
                // An odd run: its first digit goes in code set B, the pairs in C.
                if run % 2 == 1 {
                    if syms.is_empty() {
                        syms.push(Sym::StartB);
                    } else if in_c {
                        syms.push(Sym::ToB);
                    }
                    in_c = false;
                    syms.push(Sym::B(b[i]));
                    i += 1;
                }
                if syms.is_empty() {
                    syms.push(Sym::StartC);
                } else if !in_c {
                    syms.push(Sym::ToC);
                }
                in_c = true;
                let end = i + run - run % 2;
                while i < end {
                    syms.push(Sym::C((b[i] - b'0') * 10 + (b[i + 1] - b'0')));
                    i += 2;
                }
            } else {
                if syms.is_empty() {
                    syms.push(Sym::StartB);
                } else if in_c {
                    syms.push(Sym::ToB);
                }
                in_c = false;
                syms.push(Sym::B(b[i]));
                i += 1;
            }
        }
        Ok(Code128 {
            text: text.to_string(),
            syms,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn symbols(&self) -> &[Sym] {
        &self.syms
    }

    /// The modulo-103 check symbol.
    pub fn check_value(&self) -> u8 {
        let sum: u32 = self
            .syms
            .iter()
            .enumerate()
            .map(|(i, s)| u32::from(s.value()) * (i as u32).max(1))
            .sum();
        (sum % 103) as u8
    }

    /// Width of the symbol in modules, without quiet zones.
    pub fn modules(&self) -> usize {
        // Data symbols (with start) and the check symbol: 11 modules; stop: 13.
        (self.syms.len() + 1) * 11 + 13
    }

    /// Width in modules including a quiet zone on each side.
    pub fn modules_with_quiet_zone(&self) -> usize {
        self.modules() + 2 * QUIET_ZONE
    }

    /// The bars as (start module, width in modules), from the left edge of the symbol
    /// (the quiet zone is not included).
    pub fn bars(&self) -> Vec<(usize, usize)> {
        let mut values: Vec<u8> = self.syms.iter().map(|s| s.value()).collect();
        values.push(self.check_value());
        values.push(STOP);
        let mut out = Vec::with_capacity(values.len() * 3 + 1);
        let mut x = 0;
        for v in values {
            for (k, w) in PATTERNS[usize::from(v)].bytes().enumerate() {
                let w = usize::from(w - b'0');
                if k % 2 == 0 {
                    out.push((x, w));
                }
                x += w;
            }
        }
        out
    }

    /// The data of an ESC/POS `GS k` command (function B, m = 73): code-set selectors
    /// `{B` / `{C`, characters in B (a `{` doubled), digit pairs in C as bytes 0–99.
    /// The printer adds the check symbol and stop itself.
    pub fn escpos_data(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.syms.len() * 2);
        for s in &self.syms {
            match *s {
                Sym::StartB | Sym::ToB => out.extend_from_slice(b"{B"),
                Sym::StartC | Sym::ToC => out.extend_from_slice(b"{C"),
                Sym::B(b'{') => out.extend_from_slice(b"{{"),
                Sym::B(c) => out.push(c),
                Sym::C(v) => out.push(v),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_11_modules_and_distinct() {
        for (i, p) in PATTERNS.iter().enumerate() {
            let sum: u32 = p.bytes().map(|b| u32::from(b - b'0')).sum();
            assert_eq!(sum, if i == 106 { 13 } else { 11 }, "pattern {i}");
        }
        let set: std::collections::HashSet<_> = PATTERNS.iter().collect();
        assert_eq!(set.len(), PATTERNS.len());
    }

    #[test]
    fn digits_only_use_code_set_c() {
        let c = Code128::new("123456789012").unwrap();
        assert_eq!(c.symbols()[0], Sym::StartC);
        assert_eq!(c.symbols().len(), 7);
        assert_eq!(c.escpos_data(), b"{C\x0c\x22\x38\x4e\x5a\x0c");
    }

    #[test]
    fn letters_then_digits_switch_to_c() {
        let c = Code128::new("VB123456789012").unwrap();
        assert_eq!(
            &c.symbols()[..4],
            &[Sym::StartB, Sym::B(b'V'), Sym::B(b'B'), Sym::ToC]
        );
        let mut want = b"{BVB{C".to_vec();
        want.extend([12, 34, 56, 78, 90, 12]);
        assert_eq!(c.escpos_data(), want);
        // 11 symbols: start, V, B, to-C, 6 pairs, check; plus stop.
        assert_eq!(c.modules(), 11 * 11 + 13);
    }

    #[test]
    fn odd_digit_runs_put_one_digit_in_b() {
        let c = Code128::new("A12345").unwrap();
        assert_eq!(
            c.symbols(),
            &[
                Sym::StartB,
                Sym::B(b'A'),
                Sym::B(b'1'),
                Sym::ToC,
                Sym::C(23),
                Sym::C(45)
            ]
        );
        let c = Code128::new("12345").unwrap();
        assert_eq!(
            c.symbols(),
            &[Sym::StartB, Sym::B(b'1'), Sym::ToC, Sym::C(23), Sym::C(45)]
        );
    }

    #[test]
    fn brace_is_doubled_for_escpos() {
        let c = Code128::new("a{b").unwrap();
        assert_eq!(c.escpos_data(), b"{Ba{{b");
    }

    #[test]
    fn check_symbol_of_a_known_code() {
        // "PJJ123C" in code set B: 104 + 48·1 + 42·2 + 42·3 + 17·4 + 18·5 + 19·6 + 35·7
        // = 879, and 879 mod 103 = 55.
        let c = Code128::new("PJJ123C").unwrap();
        assert_eq!(c.check_value(), 55);
    }

    #[test]
    fn refuses_non_ascii_and_empty() {
        assert_eq!(Code128::new(""), Err(BarcodeError::Empty));
        assert_eq!(Code128::new("Ø1"), Err(BarcodeError::Character('Ø')));
    }

    #[test]
    fn bars_end_at_the_symbol_width() {
        let c = Code128::new("VB000000000001").unwrap();
        let (x, w) = *c.bars().last().unwrap();
        assert_eq!(x + w, c.modules());
    }
}
