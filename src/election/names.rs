//! Folding names and addresses for search, so that "Jørgen" finds "Jorgen", "Aa" finds
//! "Å", and case and accents never matter.

use unicode_normalization::UnicodeNormalization;

/// Folds text to a search key: lower case, Danish letters spelt out the way people type
/// them without a Danish keyboard (æ→ae, ø→o, å→aa), other accents dropped, anything
/// that is not a letter or digit turned into a single space.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = true;
    for ch in s.chars().flat_map(char::to_lowercase) {
        let piece: &str = match ch {
            'æ' | 'ä' => "ae",
            'ø' | 'ö' => "o",
            'å' => "aa",
            'ß' => "ss",
            _ => "",
        };
        if !piece.is_empty() {
            out.push_str(piece);
            space = false;
            continue;
        }
        if ch.is_ascii_alphanumeric() {
            out.push(ch);
            space = false;
        } else if ch.is_alphanumeric() {
            // é → e, ü → u: keep the base letters of the decomposition.
            for base in ch.nfd().filter(|c| c.is_ascii_alphanumeric()) {
                out.push(base);
                space = false;
            }
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    // "oe" as typed for ø folds like ø itself.
    out.replace("oe", "o")
}

/// The folded words of a text.
pub fn tokens(s: &str) -> Vec<String> {
    fold(s)
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn danish_letters_fold_like_their_spellings() {
        assert_eq!(fold("Jørgen"), fold("Jorgen"));
        assert_eq!(fold("Søren"), fold("Soeren"));
        assert_eq!(fold("Åse"), fold("Aase"));
        assert_eq!(fold("AAGAARD"), fold("Ågård"));
        assert_eq!(fold("Ærø"), "aero");
    }

    #[test]
    fn accents_case_and_punctuation() {
        assert_eq!(fold("  René  Müller-Hansen "), "rene muller hansen");
        assert_eq!(
            tokens("Møller-Aagaard, Jens"),
            vec!["moller", "aagaard", "jens"]
        );
    }
}
