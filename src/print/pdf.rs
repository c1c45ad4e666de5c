//! A small PDF writer for lists and cards: pages of text in one embedded font, lines,
//! boxes, Code 128 and QR symbols drawn as rectangles.
//!
//! Built on `pdf-writer` (object syntax only) rather than krilla or printpdf: the
//! paper valgliste of the largest polling place is some 500 pages and 150,000 text
//! runs, and must be ready in a few seconds on a Raspberry Pi; here a text run is a
//! cached glyph lookup and a few bytes of content stream. The font is embedded as a
//! CID font (Identity-H) subsetted to the glyphs used, with a ToUnicode map so that
//! copying and `pdftotext` give back the exact letters (æ ø å).

use super::code128::{Code128, QUIET_ZONE};
use super::error::PrintError;
use super::font::{DEJAVU_SANS_NAME, Font};
use pdf_writer::types::UnicodeCmap;
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, TextRenderingMode};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::collections::HashMap;
use std::io::Write;

/// Points per millimetre.
pub const MM: f32 = 72.0 / 25.4;
/// A4 portrait in points.
pub const A4: (f32, f32) = (595.276, 841.89);
/// A6 portrait in points (105 × 148 mm): the size of a valgkort.
pub const A6: (f32, f32) = (297.638, 419.528);

const FONT_NAME: Name<'static> = Name(b"F1");

/// Text weight: the one embedded font, drawn plain or with a thin outline (bold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

pub struct Doc {
    font: Font,
    /// Old glyph id → glyph id in the subset (the CID written in content streams).
    remap: subsetter::GlyphRemapper,
    /// CID → the character it shows, for the ToUnicode map.
    unicode: HashMap<u16, char>,
    /// (CID, advance in 1/1000 em) of the characters below U+0100 (all of Danish),
    /// looked up once: a 25,000-voter list shows about two million characters.
    latin: [Option<(u16, f32)>; 256],
    /// The same for every other character.
    other: HashMap<char, (u16, f32)>,
    pages: Vec<Content>,
    current: usize,
    size: (f32, f32),
    title: String,
    /// Reused buffer for encoding one text run.
    run: Vec<u8>,
}

impl Doc {
    /// A document with one empty page of `size` points.
    pub fn new(size: (f32, f32), title: &str) -> Result<Doc, PrintError> {
        Ok(Doc {
            font: Font::dejavu_sans()?,
            remap: subsetter::GlyphRemapper::new(),
            unicode: HashMap::new(),
            latin: [None; 256],
            other: HashMap::new(),
            pages: vec![Content::new()],
            current: 0,
            size,
            title: title.to_string(),
            run: Vec::with_capacity(256),
        })
    }

    pub fn width(&self) -> f32 {
        self.size.0
    }

    pub fn height(&self) -> f32 {
        self.size.1
    }

    /// Starts a new page and makes it current.
    pub fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.current = self.pages.len() - 1;
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Makes page `i` (0-based) current again, e.g. to add "side N af M" at the end.
    pub fn set_page(&mut self, i: usize) {
        self.current = i.min(self.pages.len() - 1);
    }

    /// Width of `text` at `size` points.
    pub fn text_width(&mut self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.glyph(c).1).sum::<f32>() * size / 1000.0
    }

    /// CID in the embedded subset and advance (1/1000 em) of a character; a character
    /// the font lacks shows as .notdef (an empty box) rather than failing the page.
    fn glyph(&mut self, c: char) -> (u16, f32) {
        let i = c as usize;
        if i < 256
            && let Some(g) = self.latin[i]
        {
            return g;
        }
        if let Some(g) = self.other.get(&c) {
            return *g;
        }
        let (gid, adv) = self.font.glyph(c);
        let cid = self.remap.remap(gid);
        if gid != 0 {
            self.unicode.entry(cid).or_insert(c);
        }
        if i < 256 {
            self.latin[i] = Some((cid, adv));
        } else {
            self.other.insert(c, (cid, adv));
        }
        (cid, adv)
    }

    /// Text with its baseline starting at (x, y).
    pub fn text(&mut self, x: f32, y: f32, size: f32, weight: Weight, text: &str) {
        let mut run = std::mem::take(&mut self.run);
        run.clear();
        for c in text.chars() {
            run.extend(self.glyph(c).0.to_be_bytes());
        }
        self.run = run;
        let page = &mut self.pages[self.current];
        if weight == Weight::Bold {
            page.save_state();
            page.set_line_width(size * 0.035);
        }
        page.begin_text();
        if weight == Weight::Bold {
            page.set_text_rendering_mode(TextRenderingMode::FillStroke);
        }
        page.set_font(FONT_NAME, size);
        page.next_line(x, y);
        page.show(Str(&self.run));
        page.end_text();
        if weight == Weight::Bold {
            page.restore_state();
        }
    }

    pub fn text_centered(&mut self, cx: f32, y: f32, size: f32, weight: Weight, text: &str) {
        let w = self.text_width(text, size);
        self.text(cx - w / 2.0, y, size, weight, text);
    }

    pub fn text_right(&mut self, right: f32, y: f32, size: f32, weight: Weight, text: &str) {
        let w = self.text_width(text, size);
        self.text(right - w, y, size, weight, text);
    }

    /// Text that must fit `max_width`: drawn at `size`, smaller (down to `min_size`) when
    /// it is too wide, and only when even that does not fit, cut with "…". Returns the
    /// size used.
    pub fn text_fit(
        &mut self,
        x: f32,
        y: f32,
        (size, min_size): (f32, f32),
        max_width: f32,
        weight: Weight,
        text: &str,
    ) -> f32 {
        let w = self.text_width(text, size);
        if w <= max_width {
            self.text(x, y, size, weight, text);
            return size;
        }
        // A hair under the exact ratio: rounding must not push it past the width.
        let fitted = (size * max_width / w * 0.995).max(min_size);
        if self.text_width(text, fitted) <= max_width {
            self.text(x, y, fitted, weight, text);
            return fitted;
        }
        let mut cut: Vec<char> = text.chars().collect();
        while !cut.is_empty() {
            cut.pop();
            let s: String = cut.iter().collect::<String>() + "…";
            if self.text_width(&s, fitted) <= max_width {
                self.text(x, y, fitted, weight, &s);
                return fitted;
            }
        }
        fitted
    }

    /// Text broken into lines at spaces so each fits `max_width`; returns the y of the
    /// next line.
    pub fn paragraph(
        &mut self,
        x: f32,
        mut y: f32,
        size: f32,
        leading: f32,
        max_width: f32,
        text: &str,
    ) -> f32 {
        for line in self.wrap(text, size, max_width) {
            self.text(x, y, size, Weight::Regular, &line);
            y -= leading;
        }
        y
    }

    /// `text` broken at spaces into lines that each fit `max_width` (a single word wider
    /// than that stays whole), for callers that place the lines themselves, e.g. across
    /// a page break.
    pub fn wrap(&mut self, text: &str, size: f32, max_width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if !line.is_empty() && self.text_width(&candidate, size) > max_width {
                lines.push(std::mem::replace(&mut line, word.to_string()));
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Text in a colour (red, green, blue, each 0–1), e.g. what does not hold in red.
    pub fn text_colored(
        &mut self,
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        [r, g, b]: [f32; 3],
        text: &str,
    ) {
        let p = &mut self.pages[self.current];
        p.save_state();
        p.set_fill_rgb(r, g, b);
        p.set_stroke_rgb(r, g, b);
        self.text(x, y, size, weight, text);
        self.pages[self.current].restore_state();
    }

    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) {
        let p = &mut self.pages[self.current];
        p.set_line_width(width);
        p.move_to(x1, y1);
        p.line_to(x2, y2);
        p.stroke();
    }

    /// An outlined rectangle (lower-left corner at x, y).
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32) {
        let p = &mut self.pages[self.current];
        p.set_line_width(width);
        p.rect(x, y, w, h);
        p.stroke();
    }

    pub fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32) {
        let p = &mut self.pages[self.current];
        p.rect(x, y, w, h);
        p.fill_nonzero();
    }

    /// A filled rectangle in a shade of grey (0 black … 1 white).
    pub fn fill_rect_gray(&mut self, x: f32, y: f32, w: f32, h: f32, gray: f32) {
        let p = &mut self.pages[self.current];
        p.save_state();
        p.set_fill_gray(gray);
        p.rect(x, y, w, h);
        p.fill_nonzero();
        p.restore_state();
    }

    /// A Code 128 symbol whose quiet zone starts at `x`; the bars stand on `y`.
    /// Returns the total width including both quiet zones.
    pub fn code128(&mut self, x: f32, y: f32, module: f32, height: f32, c: &Code128) -> f32 {
        let left = x + QUIET_ZONE as f32 * module;
        let p = &mut self.pages[self.current];
        for (m, w) in c.bars() {
            p.rect(left + m as f32 * module, y, w as f32 * module, height);
        }
        p.fill_nonzero();
        c.modules_with_quiet_zone() as f32 * module
    }

    /// A QR symbol with its lower-left module corner at (x, y) (the caller leaves the
    /// 4-module quiet zone around it).
    pub fn qr(&mut self, x: f32, y: f32, module: f32, q: &qrcode::QrCode) {
        let n = q.width();
        let colors = q.to_colors();
        let p = &mut self.pages[self.current];
        for row in 0..n {
            // Runs of dark modules in a row become one rectangle.
            let mut col = 0;
            while col < n {
                if colors[row * n + col] == qrcode::Color::Dark {
                    let start = col;
                    while col < n && colors[row * n + col] == qrcode::Color::Dark {
                        col += 1;
                    }
                    let top = y + (n - row) as f32 * module;
                    p.rect(
                        x + start as f32 * module,
                        top - module,
                        (col - start) as f32 * module,
                        module,
                    );
                } else {
                    col += 1;
                }
            }
        }
        p.fill_nonzero();
    }

    /// The finished file.
    pub fn finish(self) -> Result<Vec<u8>, PrintError> {
        let mut pdf = Pdf::new();
        let mut next = 1;
        let mut alloc = || {
            let r = Ref::new(next);
            next += 1;
            r
        };
        let catalog = alloc();
        let tree = alloc();
        let info = alloc();
        let type0 = alloc();
        let cid = alloc();
        let descriptor = alloc();
        let cmap_ref = alloc();
        let file_ref = alloc();
        let page_refs: Vec<(Ref, Ref)> = self.pages.iter().map(|_| (alloc(), alloc())).collect();

        pdf.catalog(catalog).pages(tree);
        pdf.document_info(info)
            .title(TextStr(&self.title))
            .creator(TextStr("valgbord"));
        pdf.pages(tree)
            .kids(page_refs.iter().map(|(p, _)| *p))
            .count(page_refs.len() as i32);

        for (content, (page_ref, content_ref)) in self.pages.into_iter().zip(&page_refs) {
            let mut page = pdf.page(*page_ref);
            page.media_box(Rect::new(0.0, 0.0, self.size.0, self.size.1));
            page.parent(tree);
            page.contents(*content_ref);
            page.resources().fonts().pair(FONT_NAME, type0);
            page.finish();
            let data = deflate(&content.finish())?;
            pdf.stream(*content_ref, &data).filter(Filter::FlateDecode);
        }

        // The font: subset, then described as a CID font whose CIDs are the subset's
        // glyph ids.
        let subset = subsetter::subset(self.font.data(), 0, &self.remap)
            .map_err(|e| PrintError::Pdf(format!("font subset: {e}")))?;
        let base = format!("{}+{}", subset_tag(&self.unicode), DEJAVU_SANS_NAME);
        let base = Name(base.as_bytes());
        let system = SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        };
        pdf.type0_font(type0)
            .base_font(base)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid)
            .to_unicode(cmap_ref);
        let widths: Vec<f32> = self
            .remap
            .remapped_gids()
            .map(|old| self.font.advance_of(old))
            .collect();
        let mut cid_font = pdf.cid_font(cid);
        cid_font
            .subtype(CidFontType::Type2)
            .base_font(base)
            .system_info(system)
            .font_descriptor(descriptor)
            .default_width(0.0)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        cid_font.widths().consecutive(0, widths);
        cid_font.finish();
        let m = self.font.metrics();
        pdf.font_descriptor(descriptor)
            .name(base)
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(m.bbox[0], m.bbox[1], m.bbox[2], m.bbox[3]))
            .italic_angle(0.0)
            .ascent(m.ascent)
            .descent(m.descent)
            .cap_height(m.cap_height)
            .stem_v(80.0)
            .font_file2(file_ref);
        let font_data = deflate(&subset)?;
        pdf.stream(file_ref, &font_data)
            .filter(Filter::FlateDecode)
            .pair(Name(b"Length1"), subset.len() as i32);

        let mut cmap = UnicodeCmap::new(Name(b"Custom"), system);
        let mut pairs: Vec<(u16, char)> = self.unicode.into_iter().collect();
        pairs.sort_unstable();
        for (cid, c) in pairs {
            cmap.pair(cid, c);
        }
        let cmap = cmap.finish();
        pdf.cmap(cmap_ref, &cmap);
        Ok(pdf.finish())
    }
}

fn deflate(data: &[u8]) -> Result<Vec<u8>, PrintError> {
    let mut e = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 4),
        flate2::Compression::fast(),
    );
    e.write_all(data)
        .and_then(|_| e.finish())
        .map_err(|e| PrintError::Pdf(format!("compress: {e}")))
}

/// Six capital letters naming the subset (PDF asks for a tag per distinct subset).
fn subset_tag(used: &HashMap<u16, char>) -> String {
    let mut h: u32 = 2_166_136_261;
    let mut keys: Vec<_> = used.iter().map(|(k, v)| (*k, *v)).collect();
    keys.sort_unstable();
    for (k, v) in keys {
        for b in u32::from(k)
            .to_le_bytes()
            .into_iter()
            .chain((v as u32).to_le_bytes())
        {
            h = (h ^ u32::from(b)).wrapping_mul(16_777_619);
        }
    }
    (0..6)
        .map(|i| char::from(b'A' + ((h >> (i * 5)) % 26) as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_pdf_with_a_subset_font() {
        let mut d = Doc::new(A6, "t").unwrap();
        d.text(20.0, 300.0, 12.0, Weight::Bold, "Ærø Å");
        d.new_page();
        d.text_centered(100.0, 300.0, 12.0, Weight::Regular, "side 2");
        let bytes = d.finish().unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        // The subset is far smaller than the 760 kB font.
        assert!(bytes.len() < 60_000, "{}", bytes.len());
    }

    #[test]
    fn wrap_keeps_every_word_and_fits_the_width() {
        let mut d = Doc::new(A4, "t").unwrap();
        let text = "hændelse nr. 41: signaturen passer ikke: hændelsen er ændret eller forfalsket";
        let lines = d.wrap(text, 10.0, 120.0);
        assert!(lines.len() > 2, "{lines:?}");
        assert_eq!(lines.join(" "), text);
        for l in &lines {
            assert!(d.text_width(l, 10.0) <= 120.0, "{l}");
        }
    }

    #[test]
    fn text_fit_shrinks_then_cuts() {
        let mut d = Doc::new(A4, "t").unwrap();
        let long = "Kristoffer Vilhelm Bjørnstjerne Søndergaard-Østergaard";
        let size = d.text_fit(0.0, 0.0, (10.0, 7.0), 150.0, Weight::Regular, long);
        assert_eq!(size, 7.0);
        let size = d.text_fit(0.0, 0.0, (10.0, 7.0), 400.0, Weight::Regular, long);
        assert!(size > 7.0 && size <= 10.0);
    }
}
