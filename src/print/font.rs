//! The one font of every PDF: DejaVu Sans (from Debian's `fonts-dejavu-core`, license
//! beside it in `assets/fonts/`), compiled into the binary so a table without fonts
//! installed still prints æ ø å. Glyph ids and advances come from `ttf-parser`.

use super::error::PrintError;
use std::collections::HashMap;

/// DejaVu Sans 2.37: covers Latin (æ ø å, é, ü, ő …), Greek and Cyrillic, so any name
/// on a Danish voter list prints.
pub static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
pub const DEJAVU_SANS_NAME: &str = "DejaVuSans";

/// Vertical metrics in thousandths of an em (PDF glyph space).
#[derive(Debug, Clone, Copy)]
pub struct Metrics {
    pub ascent: f32,
    pub descent: f32,
    pub cap_height: f32,
    pub bbox: [f32; 4],
}

/// A parsed font with a per-character cache of (glyph id, advance in 1/1000 em).
pub struct Font {
    face: ttf_parser::Face<'static>,
    scale: f32,
    cache: HashMap<char, (u16, f32)>,
}

impl Font {
    pub fn dejavu_sans() -> Result<Font, PrintError> {
        let face = ttf_parser::Face::parse(DEJAVU_SANS, 0)
            .map_err(|e| PrintError::Pdf(format!("embedded font: {e}")))?;
        let scale = 1000.0 / f32::from(face.units_per_em());
        Ok(Font {
            face,
            scale,
            cache: HashMap::with_capacity(256),
        })
    }

    pub fn data(&self) -> &'static [u8] {
        DEJAVU_SANS
    }

    /// Glyph id and advance (1/1000 em) of a character; glyph 0 (.notdef) when the font
    /// lacks it.
    pub fn glyph(&mut self, c: char) -> (u16, f32) {
        if let Some(g) = self.cache.get(&c) {
            return *g;
        }
        let gid = self.face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
        let adv = f32::from(self.face.glyph_hor_advance(gid).unwrap_or(0)) * self.scale;
        self.cache.insert(c, (gid.0, adv));
        (gid.0, adv)
    }

    /// Whether the font has a glyph for `c`.
    pub fn has(&mut self, c: char) -> bool {
        self.glyph(c).0 != 0
    }

    /// Width of `text` at `size` points.
    pub fn width(&mut self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.glyph(c).1).sum::<f32>() * size / 1000.0
    }

    /// Advance of glyph `gid` in 1/1000 em.
    pub fn advance_of(&self, gid: u16) -> f32 {
        f32::from(
            self.face
                .glyph_hor_advance(ttf_parser::GlyphId(gid))
                .unwrap_or(0),
        ) * self.scale
    }

    pub fn metrics(&self) -> Metrics {
        let b = self.face.global_bounding_box();
        let s = self.scale;
        Metrics {
            ascent: f32::from(self.face.ascender()) * s,
            descent: f32::from(self.face.descender()) * s,
            cap_height: f32::from(self.face.capital_height().unwrap_or(self.face.ascender())) * s,
            bbox: [
                f32::from(b.x_min) * s,
                f32::from(b.y_min) * s,
                f32::from(b.x_max) * s,
                f32::from(b.y_max) * s,
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_the_danish_letters() {
        let mut f = Font::dejavu_sans().unwrap();
        for c in "æøåÆØÅéüő".chars() {
            assert!(f.has(c), "{c}");
        }
        assert!(f.width("Ærø", 10.0) > 10.0);
    }
}
