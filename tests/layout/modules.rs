//! The crate's files as modules and the references between them. A reference is any
//! `crate::…`, `super::…` or `self::…` path, or a path through a child module the file
//! declares, in code that is not test code: `use` lines and inline paths alike, because
//! both tie one file to another.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::lexer::{Stripped, line_of, strip};

pub struct Module {
    /// `table::core`; the crate root (`lib.rs`) is the empty path.
    pub path: String,
    pub file: PathBuf,
    pub source: String,
    pub stripped: Stripped,
}

/// Where an edge is made: the module whose file names the target, and the line.
pub type Site = (String, usize);

/// An edge and the first line that makes it, so a reported cycle can be followed.
pub type Edges = BTreeMap<String, BTreeMap<String, Site>>;

/// Every library file under `src/` except test-only ones (`main.rs` is the binary, which
/// reaches the library from outside as `valgbord::`).
pub fn read_crate(src: &Path) -> Vec<Module> {
    let mut all = Vec::new();
    walk(src, src, &mut all);
    let test_only: BTreeSet<String> = all
        .iter()
        .flat_map(|m| m.stripped.test_children.iter().map(|c| join(&m.path, c)))
        .collect();
    all.retain(|m| {
        !test_only.contains(&m.path) && m.file.file_name().is_some_and(|f| f != "main.rs")
    });
    all
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<Module>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(root, &p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let rel = p.strip_prefix(root).expect("under src").with_extension("");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            let source =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
            let stripped = strip(&source);
            out.push(Module {
                path: parts.join("::"),
                file: p,
                source,
                stripped,
            });
        }
    }
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}::{b}")
    }
}

/// The file-level reference graph: for each module, the modules it names.
pub fn edges(modules: &[Module]) -> Edges {
    let known: BTreeSet<&str> = modules.iter().map(|m| m.path.as_str()).collect();
    let mut edges = Edges::new();
    for m in modules {
        let out = edges.entry(m.path.clone()).or_default();
        let children = declared_children(&m.stripped.code);
        for (offset, path) in paths(&m.stripped.code, &m.path, &children) {
            if let Some(target) = resolve(&known, &path) {
                if target != m.path {
                    out.entry(target.to_string())
                        .or_insert_with(|| (m.path.clone(), line_of(&m.source, offset)));
                }
            }
        }
    }
    edges
}

/// The longest prefix of `path` that is a module file; items of the crate root resolve
/// to the root.
fn resolve<'a>(known: &BTreeSet<&'a str>, path: &[String]) -> Option<&'a str> {
    (0..=path.len())
        .rev()
        .find_map(|n| known.get(path[..n].join("::").as_str()).copied())
}

fn declared_children(code: &str) -> BTreeSet<String> {
    let words: Vec<&str> = code.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[0] == "mod")
        .filter_map(|w| w[1].strip_suffix(';'))
        .map(str::to_string)
        .collect()
}

/// Every absolute path the code names, with the offset where it starts.
fn paths(code: &str, module: &str, children: &BTreeSet<String>) -> Vec<(usize, Vec<String>)> {
    let b = code.as_bytes();
    let here: Vec<String> = if module.is_empty() {
        vec![]
    } else {
        module.split("::").map(str::to_string).collect()
    };
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts_word =
            i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b':');
        if !starts_word || !(b[i].is_ascii_alphabetic() || b[i] == b'_') {
            i += 1;
            continue;
        }
        let word_end = i + b[i..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
        let word = &code[i..word_end];
        let base: Option<Vec<String>> = match word {
            "crate" => Some(vec![]),
            "self" => Some(here.clone()),
            "super" => Some(here.clone()),
            w if children.contains(w) => Some(here.clone()),
            _ => None,
        };
        match base {
            Some(base) if code[word_end..].starts_with("::") => {
                let (tree, end) = parse_tree(code, i);
                for rel in tree {
                    if let Some(abs) = absolute(&base, &rel) {
                        found.push((i, abs));
                    }
                }
                i = end.max(word_end);
            }
            _ => i = word_end,
        }
    }
    found
}

/// Applies the leading `crate`/`self`/`super`/child segments of `rel` to `base`.
fn absolute(base: &[String], rel: &[String]) -> Option<Vec<String>> {
    let mut out = base.to_vec();
    let mut segs = rel.iter().peekable();
    match segs.peek().map(|s| s.as_str()) {
        Some("crate") => {
            out.clear();
            segs.next();
        }
        Some("self") => {
            segs.next();
        }
        _ => {}
    }
    for s in segs {
        match s.as_str() {
            "super" => {
                out.pop()?;
            }
            "self" | "*" => {}
            _ => out.push(s.clone()),
        }
    }
    Some(out)
}

/// Parses `a::b::{c, d::{e, f}, g as h}` from `from` into its full paths.
fn parse_tree(code: &str, from: usize) -> (Vec<Vec<String>>, usize) {
    let b = code.as_bytes();
    let mut i = from;
    let mut prefix = Vec::new();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'{' {
            let mut out = Vec::new();
            i += 1;
            loop {
                while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
                    i += 1;
                }
                if i >= b.len() || b[i] == b'}' {
                    return (out, i + 1);
                }
                let (inner, end) = parse_tree(code, i);
                out.extend(inner.into_iter().map(|p| [prefix.clone(), p].concat()));
                i = end;
                // skip `as name`
                while i < b.len() && b[i] != b',' && b[i] != b'}' {
                    i += 1;
                }
            }
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'*') {
            i += 1;
        }
        if i > start {
            prefix.push(code[start..i].to_string());
        }
        if code[i..].starts_with("::") && i > start {
            i += 2;
        } else {
            return (vec![prefix], i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(code: &str, module: &str, children: &[&str]) -> Vec<String> {
        let children = children.iter().map(|c| c.to_string()).collect();
        paths(code, module, &children)
            .into_iter()
            .map(|(_, p)| p.join("::"))
            .collect()
    }

    #[test]
    fn use_groups_super_self_and_children_become_absolute_paths() {
        assert_eq!(
            names("use crate::a::{b, c::{d, e as f}, self};", "x::y", &[]),
            ["a::b", "a::c::d", "a::c::e", "a"]
        );
        assert_eq!(
            names("let v = super::super::z::w();", "x::y", &[]),
            ["z::w"]
        );
        assert_eq!(names("use super::*;", "x::y", &[]), ["x"]);
        assert_eq!(
            names(
                "pub use core::TableCore; std::core::x();",
                "table",
                &["core"]
            ),
            ["table::core::TableCore"]
        );
        assert_eq!(names("self::k::f()", "m", &[]), ["m::k::f"]);
    }
}
