//! Cycles in a reference graph, each reported as one walk a reader can follow file by
//! file, with the line that makes each step.

use std::collections::{BTreeMap, BTreeSet};

use crate::modules::Edges;

/// One line per cycle: `a -> b (line 3) -> a (line 9)`. Strongly connected components are
/// found first (Tarjan), then the shortest cycle through each component's first member.
pub fn cycles(edges: &Edges) -> Vec<String> {
    strongly_connected(edges)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|component| describe(edges, &component))
        .collect()
}

fn describe(edges: &Edges, component: &BTreeSet<String>) -> String {
    let start = component.iter().next().expect("non-empty component");
    // breadth-first from start back to start, inside the component
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.as_str()]);
    let mut back_to_start = None;
    'search: while let Some(v) = queue.pop_front() {
        for w in edges.get(v).into_iter().flat_map(|e| e.keys()) {
            if !component.contains(w) {
                continue;
            }
            if w == start {
                back_to_start = Some(v);
                break 'search;
            }
            if !prev.contains_key(w.as_str()) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    let mut chain = Vec::new();
    let mut v = back_to_start.expect("a component of two or more has a cycle through each member");
    while v != start {
        chain.push(v);
        v = prev[v];
    }
    chain.reverse();
    let walk: Vec<&str> = std::iter::once(start.as_str())
        .chain(chain)
        .chain([start.as_str()])
        .collect();
    let mut text = format!(
        "cycle among {{{}}}: {}",
        component.iter().cloned().collect::<Vec<_>>().join(", "),
        shown(start)
    );
    for pair in walk.windows(2) {
        let (module, line) = &edges[pair[0]][pair[1]];
        text += &format!(" -> {} (line {line} of {})", shown(pair[1]), shown(module));
    }
    text
}

fn shown(module: &str) -> &str {
    if module.is_empty() {
        "crate root"
    } else {
        module
    }
}

fn strongly_connected(edges: &Edges) -> Vec<BTreeSet<String>> {
    struct State<'a> {
        edges: &'a Edges,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flat_map(|e| e.keys()) {
            if !s.index.contains_key(w.as_str()) {
                visit(s, w);
                let lw = s.low[w.as_str()];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on_stack.contains(w.as_str()) {
                let iw = s.index[w.as_str()];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            s.out.push(component);
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(pairs: &[(&str, &str)]) -> Edges {
        let mut e = Edges::new();
        for (i, (a, b)) in pairs.iter().enumerate() {
            e.entry(a.to_string())
                .or_default()
                .insert(b.to_string(), (a.to_string(), i + 1));
            e.entry(b.to_string()).or_default();
        }
        e
    }

    #[test]
    fn a_cycle_is_found_and_walked() {
        let found = cycles(&graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("a -> b (line 1 of a) -> c (line 2 of b) -> a (line 3 of c)"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn a_layered_graph_has_none() {
        assert!(cycles(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])).is_empty());
    }
}
