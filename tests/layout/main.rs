//! The layout of `src/` as ARCHITECTURE.md promises it: no import cycle between files or
//! top modules, each top module using only what its "may use" row allows, no SQL outside
//! `src/store/`, no function over 120 lines outside tests.
//!
//! Run it alone with `cargo test --test layout`; it reads the source, it does not build
//! it, so a failure names the file and line to look at. It sees paths (`use` lines and
//! inline `crate::`/`super::` paths), not method calls: a method defined in a sibling's
//! `impl` block and called on `self` is no edge to it.

mod graph;
mod lexer;
mod modules;
mod rules;

use std::path::Path;

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn report(what: &str, found: Vec<String>) {
    assert!(
        found.is_empty(),
        "{what} ({}):\n  {}",
        found.len(),
        found.join("\n  ")
    );
}

fn read() -> Vec<modules::Module> {
    modules::read_crate(&crate_dir().join("src"))
}

#[test]
fn no_file_imports_itself_through_others() {
    let found = graph::cycles(&modules::edges(&read()));
    report("import cycles between files", found);
}

#[test]
fn no_top_module_imports_itself_through_others() {
    let found = graph::cycles(&rules::top_edges(&modules::edges(&read())));
    report("import cycles between top modules", found);
}

#[test]
fn every_module_uses_only_what_architecture_md_allows() {
    let map =
        std::fs::read_to_string(crate_dir().join("ARCHITECTURE.md")).expect("read ARCHITECTURE.md");
    let found = rules::may_use_violations(&modules::edges(&read()), &rules::may_use(&map));
    report(
        "uses that ARCHITECTURE.md's \"may use\" column does not allow",
        found,
    );
}

#[test]
fn sql_is_written_only_in_the_store() {
    report("SQL outside src/store/", rules::sql_outside_store(&read()));
}

#[test]
fn no_function_is_over_120_lines() {
    report(
        "functions over 120 lines (outside tests)",
        rules::long_functions(&read(), 120),
    );
}

#[test]
fn the_checker_sees_the_crate() {
    // Guards against a checker that passes because it read nothing.
    let modules = read();
    assert!(
        modules.iter().any(|m| m.path == "store::append"),
        "store::append not found"
    );
    let edges = modules::edges(&modules);
    assert!(
        edges["store::append"]
            .keys()
            .any(|t| t.starts_with("election")),
        "store::append uses election"
    );
}
