//! The rules of the layout besides cycles: what each top module may use (read from
//! ARCHITECTURE.md, so the map and the code cannot drift apart), SQL only in `store/`,
//! and functions short enough to read.

use std::collections::{BTreeMap, BTreeSet};

use crate::lexer::{item_end, line_of};
use crate::modules::{Edges, Module};

/// Rows keyed by module path (`table`, `cli::bench`, `store::inspect`); `None` means
/// "everything". A module follows the row of itself or its nearest ancestor.
pub type MayUse = BTreeMap<String, Option<BTreeSet<String>>>;

/// The row a module follows: its own, or its nearest ancestor's.
fn row_of<'a>(rules: &'a MayUse, module: &str) -> Option<(&'a str, &'a Option<BTreeSet<String>>)> {
    let mut m = module;
    loop {
        if let Some((k, v)) = rules.get_key_value(m) {
            return Some((k, v));
        }
        m = m.rsplit_once("::")?.0;
    }
}

/// The top module of a module path: `table::core` → `table`.
pub fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

/// Reads the module table of ARCHITECTURE.md: the first column names modules in
/// backticks (`table/`, `logging.rs`), the last says what they may use (backticked
/// modules, "everything", or "—"/"nothing").
pub fn may_use(architecture: &str) -> MayUse {
    let section = architecture
        .split("\n## ")
        .find(|s| s.starts_with("Modules"))
        .expect("ARCHITECTURE.md has a \"## Modules\" section");
    let mut out = MayUse::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.trim_matches('|').split(" | ").collect();
        let (Some(first), Some(last)) = (cells.first(), cells.last()) else {
            continue;
        };
        let allowed = if last.contains("everything") {
            None
        } else {
            Some(backticked(last).map(|m| top(&m).to_string()).collect())
        };
        for name in backticked(first) {
            out.insert(name, allowed.clone());
        }
    }
    out
}

fn backticked(cell: &str) -> impl Iterator<Item = String> + '_ {
    cell.split('`').skip(1).step_by(2).map(|n| {
        n.trim_end_matches('/')
            .trim_end_matches(".rs")
            .replace('/', "::")
            .to_string()
    })
}

/// Every use of one top module by another that the user's row does not allow, every top
/// module without a row, and every row that names no module.
pub fn may_use_violations(edges: &Edges, rules: &MayUse) -> Vec<String> {
    let mut out = Vec::new();
    let tops: BTreeSet<&str> = edges
        .keys()
        .map(|m| top(m))
        .filter(|t| !t.is_empty())
        .collect();
    for t in &tops {
        if !rules.contains_key(*t) {
            out.push(format!(
                "`{t}` has no row in ARCHITECTURE.md's module table"
            ));
        }
    }
    for name in rules.keys() {
        if !edges.contains_key(name.as_str()) {
            out.push(format!(
                "ARCHITECTURE.md has a row for `{name}`, which is no module of src/"
            ));
        }
    }
    for (from, targets) in edges {
        let Some((row, Some(allowed))) = row_of(rules, from) else {
            continue;
        };
        for (to, (_, line)) in targets {
            let (f, t) = (top(from), top(to));
            if f != t && !t.is_empty() && !allowed.contains(t) {
                out.push(format!(
                    "{from} uses {to} (line {line}), but `{row}` may use only {allowed:?}"
                ));
            }
        }
    }
    out
}

/// The graph of top modules, for the module-level cycle check.
pub fn top_edges(edges: &Edges) -> Edges {
    let mut out = Edges::new();
    for (from, targets) in edges {
        for (to, site) in targets {
            let (f, t) = (top(from), top(to));
            if f != t && !f.is_empty() && !t.is_empty() {
                out.entry(f.to_string())
                    .or_default()
                    .entry(t.to_string())
                    .or_insert_with(|| site.clone());
            }
        }
    }
    out
}

const SQL_WORDS: [&str; 14] = [
    "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "PRAGMA", "WITH", "BEGIN",
    "COMMIT", "ROLLBACK", "VACUUM", "ATTACH",
];
const SQL_CALLS: [&str; 7] = [
    ".execute(",
    ".execute_batch(",
    ".prepare(",
    ".prepare_cached(",
    ".query_row(",
    ".pragma_update(",
    ".pragma_query(",
];

/// SQL text or SQLite calls in a module outside `store`.
pub fn sql_outside_store(modules: &[Module]) -> Vec<String> {
    let mut out = Vec::new();
    for m in modules.iter().filter(|m| top(&m.path) != "store") {
        for (line, s) in &m.stripped.strings {
            let first = s.split_whitespace().next().unwrap_or("");
            if SQL_WORDS.contains(&first) {
                out.push(format!(
                    "{}:{line}: SQL outside src/store/: {:?}",
                    m.file.display(),
                    s.trim()
                ));
            }
        }
        for call in SQL_CALLS {
            for (offset, _) in m.stripped.code.match_indices(call) {
                out.push(format!(
                    "{}:{}: SQLite call `{call}` outside src/store/",
                    m.file.display(),
                    line_of(&m.source, offset)
                ));
            }
        }
    }
    out
}

/// Functions longer than `limit` lines, from `fn` to the closing brace.
pub fn long_functions(modules: &[Module], limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    for m in modules {
        let code = &m.stripped.code;
        let b = code.as_bytes();
        for (offset, _) in code.match_indices("fn ") {
            let word_start =
                offset == 0 || !(b[offset - 1].is_ascii_alphanumeric() || b[offset - 1] == b'_');
            let name: String = code[offset + 3..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !word_start || name.is_empty() {
                continue;
            }
            let Some(open) = code[offset..].find(['{', ';']).map(|n| offset + n) else {
                continue;
            };
            if b[open] == b';' {
                continue;
            }
            let end = item_end(b, open);
            let lines = line_of(code, end) - line_of(code, offset) + 1;
            if lines > limit {
                out.push(format!(
                    "{}:{}: fn {name} is {lines} lines",
                    m.file.display(),
                    line_of(code, offset)
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = "# x\n\n## Modules (`src/`)\n\n| module | holds | may use |\n|---|---|---|\n| `election/` | the domain | — |\n| `store/` | SQLite, `append` | `election` |\n| `cli/`, `bench.rs` | commands | everything |\n\n## Data\n| `x/` | not a row | `y` |\n";

    #[test]
    fn the_map_is_read_from_its_table_only() {
        let rules = may_use(MAP);
        assert_eq!(rules["election"], Some(BTreeSet::new()));
        assert_eq!(
            rules["store"],
            Some(BTreeSet::from(["election".to_string()]))
        );
        assert_eq!(rules["bench"], None);
        assert!(!rules.contains_key("x"));
        assert_eq!(row_of(&rules, "store::append").map(|r| r.0), Some("store"));
    }

    #[test]
    fn a_use_outside_the_row_is_reported() {
        let rules = may_use(MAP);
        let mut edges = Edges::new();
        edges
            .entry("store::append".into())
            .or_default()
            .insert("cli".into(), ("store::append".into(), 7));
        edges
            .entry("cli".into())
            .or_default()
            .insert("store".into(), ("cli".into(), 1));
        edges.entry("store".into()).or_default();
        edges.entry("election".into()).or_default();
        edges.entry("bench".into()).or_default();
        let v = may_use_violations(&edges, &rules);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].starts_with("store::append uses cli (line 7)"), "{v:?}");
    }
}
