//! A receipt as a list of what to print, independent of the printer's language: the
//! card and the reports build one, `escpos::encode` turns it into bytes, and the
//! simulated printer writes its plain-text form.

/// Horizontal placement of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

/// Character size: normal, or doubled in width and height (titles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Size {
    #[default]
    Normal,
    /// Double height only: a heading that still fits 48 characters on a line.
    Tall,
    /// Double width and height: 24 characters on a line of 80 mm paper.
    Double,
}

impl Size {
    /// How many character columns one character takes.
    pub fn width_factor(self) -> usize {
        match self {
            Size::Normal | Size::Tall => 1,
            Size::Double => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Text {
        text: String,
        size: Size,
        bold: bool,
        align: Align,
    },
    /// A Code 128 barcode with the text printed below it.
    Code128(String),
    /// A QR code (model 2, error correction M).
    Qr(String),
    /// A horizontal rule across the paper.
    Rule,
    /// Blank lines.
    Feed(u8),
    /// Feed to the cutter and cut (partial cut, so the receipt does not fall).
    Cut,
}

/// What one print job holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Receipt {
    /// A short name for logs and for the simulated printer's file names.
    pub title: String,
    pub items: Vec<Item>,
}

impl Receipt {
    pub fn new(title: &str) -> Receipt {
        Receipt {
            title: title.to_string(),
            items: Vec::new(),
        }
    }

    pub fn line(&mut self, text: impl Into<String>) -> &mut Self {
        self.styled(text, Size::Normal, false, Align::Left)
    }

    pub fn centered(&mut self, text: impl Into<String>) -> &mut Self {
        self.styled(text, Size::Normal, false, Align::Center)
    }

    pub fn bold(&mut self, text: impl Into<String>) -> &mut Self {
        self.styled(text, Size::Normal, true, Align::Left)
    }

    pub fn styled(
        &mut self,
        text: impl Into<String>,
        size: Size,
        bold: bool,
        align: Align,
    ) -> &mut Self {
        self.items.push(Item::Text {
            text: text.into(),
            size,
            bold,
            align,
        });
        self
    }

    pub fn push(&mut self, item: Item) -> &mut Self {
        self.items.push(item);
        self
    }

    /// The receipt as plain text, as wide as the paper (`columns` characters): what the
    /// simulated printer writes and what a log may show.
    pub fn to_text(&self, columns: usize) -> String {
        let mut out = String::new();
        for item in &self.items {
            match item {
                Item::Text {
                    text, size, align, ..
                } => {
                    let cols = (columns / size.width_factor()).max(1);
                    for l in wrap(text, cols) {
                        let pad = cols.saturating_sub(l.chars().count());
                        let left = match align {
                            Align::Left => 0,
                            Align::Center => pad / 2,
                            Align::Right => pad,
                        };
                        out.push_str(&" ".repeat(left));
                        out.push_str(&l);
                        out.push('\n');
                    }
                }
                Item::Code128(code) => out.push_str(&format!("[Code 128: {code}]\n")),
                Item::Qr(text) => out.push_str(&format!("[QR: {text}]\n")),
                Item::Rule => {
                    out.push_str(&"-".repeat(columns));
                    out.push('\n');
                }
                Item::Feed(n) => {
                    for _ in 0..*n {
                        out.push('\n');
                    }
                }
                Item::Cut => out.push_str("[skær]\n"),
            }
        }
        out
    }
}

/// Breaks text into lines of at most `cols` characters at spaces; a word longer than a
/// line is split. Explicit newlines are kept.
pub fn wrap(text: &str, cols: usize) -> Vec<String> {
    let cols = cols.max(1);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        // A line that fits is kept as it is (columns padded with spaces stay aligned).
        if para.chars().count() <= cols {
            lines.push(para.trim_end().to_string());
            continue;
        }
        let mut cur = String::new();
        let mut cur_len = 0;
        for word in para.split(' ').filter(|w| !w.is_empty()) {
            let mut word: Vec<char> = word.chars().collect();
            loop {
                let need = if cur_len == 0 {
                    word.len()
                } else {
                    cur_len + 1 + word.len()
                };
                if need <= cols {
                    if cur_len > 0 {
                        cur.push(' ');
                        cur_len += 1;
                    }
                    cur.extend(word.iter());
                    cur_len += word.len();
                    break;
                }
                if cur_len > 0 {
                    lines.push(std::mem::take(&mut cur));
                    cur_len = 0;
                    continue;
                }
                // A word longer than the line: split it.
                let rest = word.split_off(cols);
                lines.push(word.iter().collect());
                word = rest;
            }
        }
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_splits_long_words() {
        assert_eq!(
            wrap("Søren Kierkegaard Nørregade", 12),
            ["Søren", "Kierkegaard", "Nørregade"]
        );
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a b\nc", 10), ["a b", "c"]);
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(wrap("KV     12", 10), ["KV     12"]);
    }

    #[test]
    fn text_form_centers_double_width_lines_on_half_the_columns() {
        let mut r = Receipt::new("t");
        r.styled("ÆØÅ", Size::Double, true, Align::Center);
        assert_eq!(r.to_text(48), format!("{}ÆØÅ\n", " ".repeat(10)));
    }
}
