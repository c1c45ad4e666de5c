//! Reads Rust source just well enough to see its paths: comments and string literals are
//! blanked (a `crate::` inside a doc comment or a message is no dependency), the literals
//! are kept aside for the SQL rule, and `#[cfg(test)]` items are dropped, because a test
//! may reach anywhere without making the product's layout cyclic.

/// A source file with comments, literals and test-only items replaced by spaces. Newlines
/// are kept, so a byte offset still gives the right line number.
pub struct Stripped {
    pub code: String,
    /// Every string literal outside test code: (line, contents).
    pub strings: Vec<(usize, String)>,
    /// Child modules declared test-only (`#[cfg(test)] mod tests;`): their files are test code.
    pub test_children: Vec<String>,
}

pub fn strip(src: &str) -> Stripped {
    let (code, strings) = blank_comments_and_strings(src);
    let (code, test_children) = blank_test_items(&code);
    let kept = strings
        .into_iter()
        .filter(|(offset, _)| code.as_bytes()[*offset] == b'"')
        .map(|(offset, s)| (line_of(src, offset), s))
        .collect();
    Stripped {
        code,
        strings: kept,
        test_children,
    }
}

pub fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Returns the code with comments and literal contents blanked, and each string literal
/// with the offset of its opening quote (which stays in the code, so that blanking test
/// items later tells whether the literal was test code).
fn blank_comments_and_strings(src: &str) -> (String, Vec<(usize, String)>) {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let mut strings = Vec::new();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = src[i..].find('\n').map_or(b.len(), |n| i + n);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                let start = i;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                blank(&mut out, start, i);
            }
            b'r' if is_raw_string_start(b, i) => {
                let mut j = i + 1;
                let mut hashes = 0;
                while b[j] == b'#' {
                    hashes += 1;
                    j += 1;
                }
                let open = j;
                let closing: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                let end = find(b, open + 1, &closing).unwrap_or(b.len());
                strings.push((open, src[open + 1..end].to_string()));
                blank(&mut out, open + 1, end);
                i = (end + closing.len()).min(b.len());
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let end = j.min(b.len());
                strings.push((i, src[i + 1..end].to_string()));
                blank(&mut out, i + 1, end);
                i = end + 1;
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{..}') or a lifetime ('a): only the first
                // is closed by a quote within a few bytes.
                if b.get(i + 1) == Some(&b'\\') {
                    let end = find(b, i + 2, b"'").unwrap_or(b.len());
                    blank(&mut out, i + 1, end);
                    i = end + 1;
                } else if let Some(c) = src[i + 1..].chars().next() {
                    let after = i + 1 + c.len_utf8();
                    if b.get(after) == Some(&b'\'') {
                        blank(&mut out, i + 1, after);
                        i = after + 1;
                    } else {
                        i += 1;
                    }
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), strings)
}

fn is_raw_string_start(b: &[u8], i: usize) -> bool {
    let before_ok = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
    let before_ok = before_ok || (b[i - 1] == b'b' && (i < 2 || !b[i - 2].is_ascii_alphanumeric()));
    if !before_ok {
        return false;
    }
    let mut j = i + 1;
    while j < b.len() && b[j] == b'#' {
        j += 1;
    }
    j < b.len() && b[j] == b'"'
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    (from..hay.len().saturating_sub(needle.len() - 1)).find(|&k| hay[k..].starts_with(needle))
}

/// Blanks every item that carries `#[cfg(test)]`: up to its `;` or its matching `}`.
fn blank_test_items(code: &str) -> (String, Vec<String>) {
    let mut out = code.as_bytes().to_vec();
    let mut children = Vec::new();
    let mut from = 0;
    while let Some(n) = code[from..].find("#[cfg(test)]") {
        let start = from + n;
        let end = item_end(code.as_bytes(), start + "#[cfg(test)]".len());
        let item: Vec<&str> = code[start + "#[cfg(test)]".len()..end]
            .split_whitespace()
            .collect();
        if let [.., "mod", name] = item.as_slice() {
            if let Some(name) = name.strip_suffix(';') {
                children.push(name.to_string());
            }
        }
        for c in &mut out[start..end] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
        from = end;
    }
    (String::from_utf8_lossy(&out).into_owned(), children)
}

/// The end of the item that starts after an attribute: the first `;` outside braces, or
/// the brace that closes the item's first `{`.
pub fn item_end(b: &[u8], from: usize) -> usize {
    let mut depth = 0usize;
    for (k, c) in b.iter().enumerate().skip(from) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return k + 1;
                }
            }
            b';' if depth == 0 => return k + 1,
            _ => {}
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_strings_and_test_items_are_no_code() {
        let src = "use crate::a::B; // crate::c\n/* crate::d */ fn f() { let s = \"crate::e\"; let c = '\"'; }\n#[cfg(test)]\nmod tests { use crate::f; }\nfn g<'a>(x: &'a str) { crate::h::i(); }\n";
        let s = strip(src);
        assert!(s.code.contains("crate::a::B"));
        assert!(!s.code.contains("crate::c"));
        assert!(!s.code.contains("crate::d"));
        assert!(!s.code.contains("crate::e"));
        assert!(!s.code.contains("crate::f"));
        assert!(
            s.code.contains("crate::h::i"),
            "a lifetime is no char literal: {}",
            s.code
        );
        assert_eq!(s.strings, vec![(2, "crate::e".to_string())]);
        assert_eq!(s.code.lines().count(), src.lines().count());
    }

    #[test]
    fn raw_strings_are_literals() {
        let s = strip("fn q() { c.execute(r#\"SELECT \"x\" FROM t\"#, []); }");
        assert_eq!(s.strings[0].1, "SELECT \"x\" FROM t");
        assert!(!s.code.contains("SELECT"));
    }
}
