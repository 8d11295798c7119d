//! The layout is a map: the modules of `src/` depend on each other in one
//! direction only. This reads every `crate::` path in `src/` (and `super::`
//! paths that leave a folder), builds the graph of top-level modules, and
//! fails on any cycle, naming it. It also holds the rules the README's
//! layout section states: the scheduler knows nothing of LeadSquared, the
//! core knows nothing of C.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`sched` for
/// `src/sched/gate.rs`, `client` for `src/client.rs`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Top-level modules `text` names through `crate::x` (tests of a file,
/// after `#[cfg(test)]`, are left out: they may use anything).
fn uses(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        // A `use crate::{a, b}` group: take every name in it.
        if name.is_empty() && rest.starts_with('{') {
            let group = &rest[1..rest.find('}').unwrap_or(rest.len())];
            for part in group.split(',') {
                let n: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !n.is_empty() {
                    found.insert(n);
                }
            }
        } else if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(&src, file);
        if from == "lib" {
            continue; // the crate root re-exports everything
        }
        let text = std::fs::read_to_string(file).unwrap();
        let entry = graph.entry(from.clone()).or_default();
        for to in uses(&text) {
            if to != from && modules.contains(&to) {
                entry.insert(to);
            }
        }
    }
    graph
}

/// Every cycle found by a depth-first walk, each as a path.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn walk(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            found.push(cycle);
            return;
        }
        if done.contains(node) {
            return;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            walk(next, graph, path, done, found);
        }
        path.pop();
        done.insert(node.to_string());
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        walk(node, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

#[test]
fn no_import_cycle_between_the_modules_of_src() {
    let graph = graph();
    let found = cycles(&graph);
    let shown: Vec<String> = found.iter().map(|c| c.join(" -> ")).collect();
    assert!(
        shown.is_empty(),
        "import cycles in src/:\n{}",
        shown.join("\n")
    );
}

#[test]
fn the_scheduler_knows_nothing_of_leadsquared_and_the_core_nothing_of_c() {
    let graph = graph();
    let allowed: BTreeSet<&str> = ["error", "log", "stats", "threads"].into();
    let sched: BTreeSet<&str> = graph["sched"].iter().map(String::as_str).collect();
    assert!(
        sched.is_subset(&allowed),
        "sched/ depends on {sched:?}; only {allowed:?} are allowed"
    );
    for (module, deps) in &graph {
        if module != "ffi" {
            assert!(!deps.contains("ffi"), "{module} depends on ffi/");
        }
    }
}

#[test]
fn the_reader_of_paths_finds_what_it_must() {
    let text = "use crate::{a, b::c};\nuse crate::d::e;\n#[cfg(test)]\nuse crate::z;";
    assert_eq!(
        uses(text),
        ["a", "b", "d"].into_iter().map(String::from).collect()
    );
    let mut g = BTreeMap::new();
    g.insert("x".to_string(), BTreeSet::from(["y".to_string()]));
    g.insert("y".to_string(), BTreeSet::from(["x".to_string()]));
    assert_eq!(cycles(&g).len(), 1, "a cycle is seen");
}
