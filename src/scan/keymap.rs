//! Linux key codes from a keyboard-wedge barcode scanner, turned back into text.
//!
//! A USB HID scanner pretends to be a keyboard: for every character of the barcode it
//! presses the key that types that character *on the layout it is configured for*. We
//! read raw key codes (with an exclusive grab, so the kiosk browser never sees them), so
//! we have to undo that layout ourselves. Scanners leave the factory set to US; a scanner
//! set up for a Danish office is often set to DK, where '-', '/', '+', '$' … sit on other
//! keys than on US. Decoding with the wrong layout turns "12-34" into "12/34" (DK '-' is
//! US '/'), so the layout must match the scanner's setting, not the keyboard's.
//!
//! Only what a barcode can carry is decoded: digits, letters, space and printable
//! punctuation, plus æøå on DK. Anything else (function keys, arrows, Ctrl or left-Alt
//! combinations such as the "Alt+keypad" character entry some scanners offer) is reported
//! as unknown, so the scan becomes "ukendt stregkode" instead of a wrong code.

use super::clean::MAX_SCAN;
use super::error::{KeyProblem, ScanError};
use std::fmt;
use std::str::FromStr;

/// The keyboard layout the scanner is configured to emulate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// What scanners ship with.
    #[default]
    Us,
    /// Danish (with or without dead keys).
    Dk,
}

/// A layout name the decoder does not know, as lower-cased from the config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown keyboard layout {0:?} (use \"us\" or \"dk\")")]
pub struct UnknownLayout(String);

impl FromStr for Layout {
    type Err = UnknownLayout;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "us" | "en-us" | "en_us" => Ok(Layout::Us),
            "dk" | "da" | "da-dk" | "da_dk" => Ok(Layout::Dk),
            other => Err(UnknownLayout(other.to_string())),
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Us => "us",
            Layout::Dk => "dk",
        })
    }
}

/// Modifier state at the moment a key goes down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Modifiers {
    pub shift: bool,
    /// Right Alt (AltGr): on DK it is the only way to type '$', '@', '\' and brackets.
    pub altgr: bool,
    /// Ctrl or left Alt: a combination no barcode character needs.
    pub command: bool,
    pub caps_lock: bool,
}

/// What one key press means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOutput {
    Char(char),
    /// A dead key (DK '^', '`', '~', '¨', '´'): types its character only when followed by
    /// space, which is how a scanner set to DK sends it.
    Dead(char),
    /// Enter, keypad Enter or Tab: the scanner has finished the code.
    End,
    /// Shift, Ctrl, Alt, Caps Lock…: changes state, types nothing.
    Modifier,
    /// A key that types nothing a barcode can carry; the raw code is kept for the log.
    Unknown(u16),
}

// Linux input key codes (linux/input-event-codes.h); the same values as evdev::KeyCode.
const KEY_1: u16 = 2;
const KEY_0: u16 = 11;
const KEY_MINUS: u16 = 12;
const KEY_EQUAL: u16 = 13;
const KEY_TAB: u16 = 15;
const KEY_LEFTBRACE: u16 = 26;
const KEY_RIGHTBRACE: u16 = 27;
const KEY_ENTER: u16 = 28;
const KEY_LEFTCTRL: u16 = 29;
const KEY_SEMICOLON: u16 = 39;
const KEY_APOSTROPHE: u16 = 40;
const KEY_GRAVE: u16 = 41;
const KEY_LEFTSHIFT: u16 = 42;
const KEY_BACKSLASH: u16 = 43;
const KEY_COMMA: u16 = 51;
const KEY_DOT: u16 = 52;
const KEY_SLASH: u16 = 53;
const KEY_RIGHTSHIFT: u16 = 54;
const KEY_KPASTERISK: u16 = 55;
const KEY_LEFTALT: u16 = 56;
const KEY_SPACE: u16 = 57;
const KEY_CAPSLOCK: u16 = 58;
const KEY_NUMLOCK: u16 = 69;
const KEY_SCROLLLOCK: u16 = 70;
const KEY_KPMINUS: u16 = 74;
const KEY_KPPLUS: u16 = 78;
const KEY_KPDOT: u16 = 83;
const KEY_102ND: u16 = 86;
const KEY_KPENTER: u16 = 96;
const KEY_RIGHTCTRL: u16 = 97;
const KEY_KPSLASH: u16 = 98;
const KEY_RIGHTALT: u16 = 100;
const KEY_KPEQUAL: u16 = 117;
const KEY_KPCOMMA: u16 = 121;
const KEY_LEFTMETA: u16 = 125;
const KEY_RIGHTMETA: u16 = 126;

/// Decodes one key press. Pure: the caller keeps the modifier state (see [`KeyDecoder`]).
pub fn decode_key(layout: Layout, code: u16, mods: Modifiers) -> KeyOutput {
    match code {
        KEY_ENTER | KEY_KPENTER | KEY_TAB => return KeyOutput::End,
        KEY_LEFTSHIFT | KEY_RIGHTSHIFT | KEY_LEFTCTRL | KEY_RIGHTCTRL | KEY_LEFTALT
        | KEY_RIGHTALT | KEY_LEFTMETA | KEY_RIGHTMETA | KEY_CAPSLOCK | KEY_NUMLOCK
        | KEY_SCROLLLOCK => return KeyOutput::Modifier,
        _ => {}
    }
    if mods.command {
        return KeyOutput::Unknown(code);
    }
    if let Some(c) = keypad(layout, code) {
        // Scanners that type digits on the keypad assume Num Lock; Shift plays no part.
        return KeyOutput::Char(c);
    }
    if let Some(c) = letter(code) {
        return if mods.altgr {
            KeyOutput::Unknown(code)
        } else if mods.shift != mods.caps_lock {
            KeyOutput::Char(c.to_ascii_uppercase())
        } else {
            KeyOutput::Char(c)
        };
    }
    let out = match layout {
        Layout::Us => us(code, mods),
        Layout::Dk => dk(code, mods),
    };
    out.unwrap_or(KeyOutput::Unknown(code))
}

/// Letters sit on the same keys on US and DK.
fn letter(code: u16) -> Option<char> {
    const ROWS: [(u16, &str); 3] = [(16, "qwertyuiop"), (30, "asdfghjkl"), (44, "zxcvbnm")];
    ROWS.iter().find_map(|&(first, row)| {
        let i = usize::from(code.checked_sub(first)?);
        row.as_bytes().get(i).map(|&b| char::from(b))
    })
}

fn keypad(layout: Layout, code: u16) -> Option<char> {
    Some(match code {
        71 => '7',
        72 => '8',
        73 => '9',
        75 => '4',
        76 => '5',
        77 => '6',
        79 => '1',
        80 => '2',
        81 => '3',
        82 => '0',
        KEY_KPMINUS => '-',
        KEY_KPPLUS => '+',
        KEY_KPASTERISK => '*',
        KEY_KPSLASH => '/',
        KEY_KPEQUAL => '=',
        KEY_KPCOMMA => ',',
        // The Danish layout puts the decimal comma on the keypad.
        KEY_KPDOT if layout == Layout::Dk => ',',
        KEY_KPDOT => '.',
        _ => return None,
    })
}

/// Base and shifted character of a key on the number row or punctuation keys.
fn pick(mods: Modifiers, base: char, shifted: char) -> Option<KeyOutput> {
    Some(KeyOutput::Char(if mods.shift { shifted } else { base }))
}

fn us(code: u16, mods: Modifiers) -> Option<KeyOutput> {
    if mods.altgr {
        return None;
    }
    if (KEY_1..=KEY_0).contains(&code) {
        let i = usize::from(code - KEY_1);
        let (base, shifted) = ("1234567890".as_bytes()[i], "!@#$%^&*()".as_bytes()[i]);
        return pick(mods, char::from(base), char::from(shifted));
    }
    match code {
        KEY_MINUS => pick(mods, '-', '_'),
        KEY_EQUAL => pick(mods, '=', '+'),
        KEY_LEFTBRACE => pick(mods, '[', '{'),
        KEY_RIGHTBRACE => pick(mods, ']', '}'),
        KEY_SEMICOLON => pick(mods, ';', ':'),
        KEY_APOSTROPHE => pick(mods, '\'', '"'),
        KEY_GRAVE => pick(mods, '`', '~'),
        KEY_BACKSLASH => pick(mods, '\\', '|'),
        KEY_COMMA => pick(mods, ',', '<'),
        KEY_DOT => pick(mods, '.', '>'),
        KEY_SLASH => pick(mods, '/', '?'),
        KEY_SPACE => pick(mods, ' ', ' '),
        _ => None,
    }
}

fn dk(code: u16, mods: Modifiers) -> Option<KeyOutput> {
    if mods.altgr {
        return dk_altgr(code);
    }
    if (KEY_1..=KEY_0).contains(&code) {
        let i = (code - KEY_1) as usize;
        let base = char::from("1234567890".as_bytes()[i]);
        let shifted = ['!', '"', '#', '¤', '%', '&', '/', '(', ')', '='][i];
        return pick(mods, base, shifted);
    }
    match code {
        KEY_GRAVE => pick(mods, '½', '§'),
        KEY_MINUS => pick(mods, '+', '?'),
        KEY_EQUAL => Some(KeyOutput::Dead(if mods.shift { '`' } else { '´' })),
        KEY_LEFTBRACE => letter_like(mods, 'å'),
        KEY_RIGHTBRACE => Some(KeyOutput::Dead(if mods.shift { '^' } else { '¨' })),
        KEY_SEMICOLON => letter_like(mods, 'æ'),
        KEY_APOSTROPHE => letter_like(mods, 'ø'),
        KEY_BACKSLASH => pick(mods, '\'', '*'),
        KEY_102ND => pick(mods, '<', '>'),
        KEY_COMMA => pick(mods, ',', ';'),
        KEY_DOT => pick(mods, '.', ':'),
        KEY_SLASH => pick(mods, '-', '_'),
        KEY_SPACE => pick(mods, ' ', ' '),
        _ => None,
    }
}

/// æ, ø and å follow Caps Lock like letters do.
fn letter_like(mods: Modifiers, lower: char) -> Option<KeyOutput> {
    let upper = lower.to_uppercase().next().unwrap_or(lower);
    Some(KeyOutput::Char(if mods.shift != mods.caps_lock {
        upper
    } else {
        lower
    }))
}

fn dk_altgr(code: u16) -> Option<KeyOutput> {
    Some(KeyOutput::Char(match code {
        3 => '@',     // AltGr+2
        4 => '£',     // AltGr+3
        5 => '$',     // AltGr+4
        6 => '€',     // AltGr+5
        8 => '{',     // AltGr+7
        9 => '[',     // AltGr+8
        10 => ']',    // AltGr+9
        KEY_0 => '}', // AltGr+0
        KEY_EQUAL => '|',
        KEY_102ND => '\\',
        KEY_RIGHTBRACE => return Some(KeyOutput::Dead('~')),
        18 => '€', // AltGr+E
        _ => return None,
    }))
}

/// Builds scans from a stream of key events (the "value" of an evdev key event: 1 down,
/// 0 up, 2 auto-repeat), keeping the modifier state between them.
#[derive(Debug)]
pub struct KeyDecoder {
    layout: Layout,
    left_shift: bool,
    right_shift: bool,
    altgr: bool,
    ctrl: u8,
    left_alt: bool,
    caps_lock: bool,
    dead: Option<char>,
    text: String,
    /// Why the scan cannot be trusted; the text is still collected up to the end key so
    /// the rest of the bad scan does not leak into the next one.
    problem: Option<KeyProblem>,
}

/// A scan ended by the scanner: the raw text, or why it cannot be read.
pub type Decoded = Result<String, ScanError>;

impl KeyDecoder {
    pub fn new(layout: Layout) -> Self {
        KeyDecoder {
            layout,
            left_shift: false,
            right_shift: false,
            altgr: false,
            ctrl: 0,
            left_alt: false,
            caps_lock: false,
            dead: None,
            text: String::new(),
            problem: None,
        }
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// True while a scan has started but not ended.
    pub fn pending(&self) -> bool {
        !self.text.is_empty() || self.problem.is_some() || self.dead.is_some()
    }

    /// Feeds one key event. Returns a finished scan when the end key goes down; a bare
    /// end key with nothing before it returns nothing.
    pub fn key(&mut self, code: u16, value: i32) -> Option<Decoded> {
        let down = match value {
            0 => false,
            1 => true,
            // Auto-repeat only happens when a scanner stalls with a key held; it never
            // means the character twice.
            _ => return None,
        };
        match code {
            KEY_LEFTSHIFT => self.left_shift = down,
            KEY_RIGHTSHIFT => self.right_shift = down,
            KEY_RIGHTALT => self.altgr = down,
            KEY_LEFTALT => self.left_alt = down,
            KEY_LEFTCTRL | KEY_RIGHTCTRL => {
                let bit = if code == KEY_LEFTCTRL { 1 } else { 2 };
                if down {
                    self.ctrl |= bit
                } else {
                    self.ctrl &= !bit
                }
            }
            KEY_CAPSLOCK if down => self.caps_lock = !self.caps_lock,
            _ => {}
        }
        if !down {
            return None;
        }
        let mods = Modifiers {
            shift: self.left_shift || self.right_shift,
            altgr: self.altgr,
            command: self.ctrl != 0 || self.left_alt,
            caps_lock: self.caps_lock,
        };
        match decode_key(self.layout, code, mods) {
            KeyOutput::Modifier => None,
            KeyOutput::End => self.finish(),
            KeyOutput::Char(c) => {
                if let Some(d) = self.dead.take() {
                    if c == ' ' {
                        self.push(d);
                    } else {
                        self.fail(KeyProblem::DeadThenChar { dead: d, next: c });
                    }
                } else {
                    self.push(c);
                }
                None
            }
            KeyOutput::Dead(d) => {
                if let Some(prev) = self.dead.replace(d) {
                    self.fail(KeyProblem::DeadThenDead {
                        first: prev,
                        then: d,
                    });
                }
                None
            }
            KeyOutput::Unknown(code) => {
                self.fail(KeyProblem::Unknown {
                    code,
                    shift: mods.shift,
                    altgr: mods.altgr,
                    command: mods.command,
                    layout: self.layout.to_string(),
                });
                None
            }
        }
    }

    /// Ends a scan that stopped without an end key (a scanner set to send no suffix).
    pub fn flush(&mut self) -> Option<Decoded> {
        self.finish()
    }

    /// Forgets everything: the device went away, and held keys with it.
    pub fn reset(&mut self) {
        *self = KeyDecoder::new(self.layout);
    }

    fn push(&mut self, c: char) {
        // Past the limit the scan is refused anyway; stop growing the buffer.
        if self.text.len() <= MAX_SCAN {
            self.text.push(c);
        }
    }

    fn fail(&mut self, why: KeyProblem) {
        if self.problem.is_none() {
            self.problem = Some(why);
        }
    }

    fn finish(&mut self) -> Option<Decoded> {
        if let Some(d) = self.dead.take() {
            self.fail(KeyProblem::DeadAtEnd(d));
        }
        let text = std::mem::take(&mut self.text);
        match self.problem.take() {
            Some(problem) => Some(Err(ScanError::Keys { problem, text })),
            None if text.is_empty() => None,
            None => Some(Ok(text)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIFT: u16 = KEY_LEFTSHIFT;

    /// Presses and releases each key; `(SHIFT, k)` pairs are typed with shift held.
    fn type_keys(dec: &mut KeyDecoder, keys: &[(bool, u16)]) -> Vec<Decoded> {
        let mut out = Vec::new();
        for &(shift, k) in keys {
            if shift {
                dec.key(SHIFT, 1);
            }
            out.extend(dec.key(k, 1));
            out.extend(dec.key(k, 0));
            if shift {
                dec.key(SHIFT, 0);
            }
        }
        out
    }

    fn plain(keys: &[u16]) -> Vec<(bool, u16)> {
        keys.iter().map(|&k| (false, k)).collect()
    }

    /// Key codes for a string as a US-layout scanner types it.
    fn us_keys(s: &str) -> Vec<(bool, u16)> {
        s.chars()
            .map(|c| {
                (0..200u16)
                    .flat_map(|k| [(false, k), (true, k)])
                    .find(|&(shift, k)| {
                        let m = Modifiers {
                            shift,
                            ..Default::default()
                        };
                        decode_key(Layout::Us, k, m) == KeyOutput::Char(c) && k < 71
                    })
                    .unwrap_or_else(|| panic!("no US key for {c:?}"))
            })
            .collect()
    }

    #[test]
    fn us_digits_letters_and_shift() {
        let mut d = KeyDecoder::new(Layout::Us);
        let mut keys = plain(&[2, 3, 11]); // 1 2 0
        keys.extend([
            (true, 30),
            (false, 30),
            (true, KEY_SLASH),
            (false, KEY_ENTER),
        ]);
        assert_eq!(type_keys(&mut d, &keys), vec![Ok("120Aa?".to_string())]);
    }

    #[test]
    fn us_punctuation_round_trips() {
        let text = "ABC-123.x/Y+z:=_$%* q";
        let mut keys = us_keys(text);
        keys.push((false, KEY_ENTER));
        let mut d = KeyDecoder::new(Layout::Us);
        assert_eq!(type_keys(&mut d, &keys), vec![Ok(text.to_string())]);
    }

    #[test]
    fn dk_moves_punctuation_to_other_keys() {
        let mut d = KeyDecoder::new(Layout::Dk);
        // On DK: US '/' key is '-', shift+7 is '/', the US '-' key is '+', shift+0 is '='.
        let keys = [
            (false, KEY_SLASH),
            (true, 8),
            (false, KEY_MINUS),
            (true, 11),
            (true, KEY_DOT),
            (true, KEY_SLASH),
            (true, 6),
            (false, KEY_BACKSLASH),
            (true, KEY_BACKSLASH),
            (false, KEY_DOT),
            (false, KEY_TAB),
        ];
        assert_eq!(type_keys(&mut d, &keys), vec![Ok("-/+=:_%'*.".to_string())]);
        // The same keys on US mean something else entirely.
        let mut us = KeyDecoder::new(Layout::Us);
        assert_eq!(
            type_keys(&mut us, &keys),
            vec![Ok("/&-)>?%\\|.".to_string())]
        );
    }

    #[test]
    fn dk_altgr_dollar_at_and_danish_letters() {
        let mut d = KeyDecoder::new(Layout::Dk);
        let mut out = Vec::new();
        d.key(KEY_RIGHTALT, 1);
        out.extend(type_keys(&mut d, &plain(&[5, 3])));
        d.key(KEY_RIGHTALT, 0);
        out.extend(type_keys(
            &mut d,
            &[
                (false, KEY_SEMICOLON),
                (true, KEY_APOSTROPHE),
                (false, KEY_LEFTBRACE),
                (false, KEY_KPENTER),
            ],
        ));
        assert_eq!(out, vec![Ok("$@æØå".to_string())]);
    }

    #[test]
    fn dk_dead_key_then_space_types_the_accent() {
        let mut d = KeyDecoder::new(Layout::Dk);
        let keys = [
            (true, KEY_RIGHTBRACE),
            (false, KEY_SPACE),
            (false, 2),
            (false, KEY_ENTER),
        ];
        assert_eq!(type_keys(&mut d, &keys), vec![Ok("^1".to_string())]);
        let keys = [(true, KEY_RIGHTBRACE), (false, 18), (false, KEY_ENTER)];
        assert!(type_keys(&mut d, &keys)[0].is_err());
    }

    #[test]
    fn keypad_digits_and_operators() {
        let keys = plain(&[79, 80, 81, 74, 82, 78, 55, 98, 83, KEY_KPENTER]);
        let mut us = KeyDecoder::new(Layout::Us);
        assert_eq!(type_keys(&mut us, &keys), vec![Ok("123-0+*/.".to_string())]);
        let mut dk = KeyDecoder::new(Layout::Dk);
        assert_eq!(type_keys(&mut dk, &keys), vec![Ok("123-0+*/,".to_string())]);
    }

    #[test]
    fn caps_lock_inverts_letters_only() {
        let mut d = KeyDecoder::new(Layout::Us);
        let keys = [
            (false, KEY_CAPSLOCK),
            (false, 30),
            (true, 48),
            (false, 2),
            (false, KEY_CAPSLOCK),
            (false, 46),
            (false, KEY_ENTER),
        ];
        assert_eq!(type_keys(&mut d, &keys), vec![Ok("Ab1c".to_string())]);
    }

    #[test]
    fn right_shift_counts_and_release_order_does_not_matter() {
        let mut d = KeyDecoder::new(Layout::Us);
        d.key(KEY_RIGHTSHIFT, 1);
        d.key(30, 1);
        d.key(KEY_RIGHTSHIFT, 0);
        d.key(30, 0);
        d.key(30, 1);
        assert_eq!(d.key(KEY_ENTER, 1), Some(Ok("Aa".to_string())));
    }

    #[test]
    fn unknown_key_marks_the_whole_scan_unreadable() {
        let mut d = KeyDecoder::new(Layout::Us);
        // F1 (59) in the middle of a scan.
        let out = type_keys(&mut d, &plain(&[2, 59, 3, KEY_ENTER]));
        assert_eq!(out.len(), 1);
        let why = out[0].as_ref().unwrap_err();
        assert!(why.to_string().contains("key code 59"), "{why}");
        // The next scan starts clean.
        assert_eq!(
            type_keys(&mut d, &plain(&[4, KEY_ENTER])),
            vec![Ok("3".to_string())]
        );
        assert_eq!(
            decode_key(Layout::Dk, 0xffff, Modifiers::default()),
            KeyOutput::Unknown(0xffff)
        );
        assert_eq!(
            decode_key(
                Layout::Us,
                5,
                Modifiers {
                    altgr: true,
                    ..Default::default()
                }
            ),
            KeyOutput::Unknown(5)
        );
    }

    #[test]
    fn ctrl_combinations_are_not_text() {
        let mut d = KeyDecoder::new(Layout::Us);
        d.key(KEY_LEFTCTRL, 1);
        type_keys(&mut d, &plain(&[KEY_RIGHTBRACE]));
        d.key(KEY_LEFTCTRL, 0);
        assert!(type_keys(&mut d, &plain(&[2, KEY_ENTER]))[0].is_err());
    }

    #[test]
    fn repeats_are_ignored_and_empty_enter_is_no_scan() {
        let mut d = KeyDecoder::new(Layout::Us);
        assert_eq!(d.key(KEY_ENTER, 1), None);
        d.key(2, 1);
        d.key(2, 2);
        d.key(2, 2);
        d.key(2, 0);
        assert!(d.pending());
        assert_eq!(d.key(KEY_ENTER, 1), Some(Ok("1".to_string())));
        assert!(!d.pending());
    }

    #[test]
    fn flush_ends_a_scan_without_suffix_and_reset_forgets_shift() {
        let mut d = KeyDecoder::new(Layout::Us);
        d.key(SHIFT, 1);
        d.key(30, 1);
        assert_eq!(d.flush(), Some(Ok("A".to_string())));
        assert_eq!(d.flush(), None);
        d.reset();
        d.key(30, 1);
        assert_eq!(d.flush(), Some(Ok("a".to_string())));
    }

    #[test]
    fn endless_input_does_not_grow_without_bound() {
        let mut d = KeyDecoder::new(Layout::Us);
        for _ in 0..10 * MAX_SCAN {
            d.key(2, 1);
            d.key(2, 0);
        }
        let text = d.key(KEY_ENTER, 1).unwrap().unwrap();
        assert_eq!(text.len(), MAX_SCAN + 1);
        assert!(super::super::clean::clean_scan(&text).is_err());
    }

    #[test]
    fn layout_names() {
        assert_eq!("DK".parse::<Layout>(), Ok(Layout::Dk));
        assert_eq!("da".parse::<Layout>(), Ok(Layout::Dk));
        assert_eq!("us".parse::<Layout>(), Ok(Layout::Us));
        assert!("fr".parse::<Layout>().is_err());
    }
}
