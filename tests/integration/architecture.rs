//! The shape of `src/`: the imports between its top-level modules form no cycle (arrows only
//! point down, see ARCHITECTURE.md), no file is past 600 lines, and no function of the
//! control layer (`cli/`, `engine/`, `backend/`) is past 100 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::util::project_root;

const MAX_FILE_LINES: usize = 600;
const MAX_FUNCTION_LINES: usize = 100;
const CONTROL_LAYER: [&str; 3] = ["cli", "engine", "backend"];

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The top-level modules of `src/` (folders and files, without `main` and `lib`).
fn modules(src: &Path) -> BTreeMap<String, Vec<PathBuf>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(src).expect("read src") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if name == "main" || name == "lib" {
            continue;
        }
        let files = if path.is_dir() {
            rust_files(&path)
        } else {
            vec![path]
        };
        out.insert(name, files);
    }
    out
}

/// The modules a line of code names through `crate::` (comments left out).
fn named_modules(line: &str, known: &BTreeSet<String>) -> Vec<String> {
    let code = line.split("//").next().unwrap_or_default();
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let head = part.trim().split("::").next().unwrap_or_default();
                out.push(head.to_string());
            }
        } else {
            let head: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            out.push(head);
        }
    }
    out.retain(|m| known.contains(m));
    out
}

fn import_graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = project_root().join("src");
    let modules = modules(&src);
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (module, files) in &modules {
        let edges = graph.entry(module.clone()).or_default();
        for file in files {
            let text = std::fs::read_to_string(file).expect("read source");
            for (i, line) in text.lines().enumerate() {
                for target in named_modules(line, &known) {
                    if &target != module {
                        edges
                            .entry(target)
                            .or_insert_with(|| format!("{}:{}", file.display(), i + 1));
                    }
                }
            }
        }
    }
    graph
}

/// A path from `from` to `to` in the graph, if there is one.
fn path_between(
    graph: &BTreeMap<String, BTreeMap<String, String>>,
    from: &str,
    to: &str,
) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_string()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().cloned().unwrap_or_default();
        if last == to {
            return Some(path);
        }
        if !seen.insert(last.clone()) {
            continue;
        }
        for next in graph.get(&last).map(|e| e.keys()).into_iter().flatten() {
            let mut longer = path.clone();
            longer.push(next.clone());
            stack.push(longer);
        }
    }
    None
}

#[test]
fn imports_between_src_folders_have_no_cycle() {
    let graph = import_graph();
    for (module, edges) in &graph {
        eprintln!(
            "{module} -> {}",
            edges.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let mut cycles = Vec::new();
    for (module, edges) in &graph {
        for (target, place) in edges {
            if let Some(back) = path_between(&graph, target, module) {
                cycles.push(format!(
                    "{module} -> {target} ({place}) and back: {}",
                    back.join(" -> ")
                ));
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
    // The leaves import nothing of the project but the other leaves.
    for leaf in [
        "record", "census", "cancel", "units", "error", "bounded", "protocol",
    ] {
        let allowed = ["record", "units", "error", "bounded"];
        let bad: Vec<&String> = graph[leaf]
            .keys()
            .filter(|t| !allowed.contains(&t.as_str()))
            .collect();
        assert!(bad.is_empty(), "{leaf} is a leaf but imports {bad:?}");
    }
}

/// The checker itself: a cycle planted in a made-up graph is found.
#[test]
fn the_cycle_check_finds_a_planted_cycle() {
    let known: BTreeSet<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    assert_eq!(
        named_modules("use crate::{b::X, c}; // crate::a", &known),
        vec!["b", "c"]
    );
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a")] {
        graph
            .entry(from.into())
            .or_default()
            .insert(to.into(), String::new());
    }
    assert_eq!(
        path_between(&graph, "b", "a"),
        Some(vec!["b".into(), "c".into(), "a".into()])
    );
}

#[test]
fn no_source_file_is_past_600_lines() {
    let long: Vec<String> = rust_files(&project_root().join("src"))
        .into_iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(&f).ok()?.lines().count();
            (lines > MAX_FILE_LINES).then(|| format!("{}: {lines} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "{}", long.join("\n"));
}

/// Functions of `text` longer than `max` lines: a `fn` line to the closing brace at its
/// indentation.
fn long_functions(text: &str, max: usize) -> Vec<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let is_fn = ["fn ", "pub fn ", "pub(crate) fn "]
            .iter()
            .any(|p| trimmed.starts_with(p));
        if !is_fn || trimmed.ends_with(';') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let close = format!("{}}}", " ".repeat(indent));
        if let Some(end) = lines[i + 1..].iter().position(|l| *l == close) {
            let length = end + 2;
            if length > max {
                out.push((i + 1, length));
            }
        }
    }
    out
}

#[test]
fn no_function_of_the_control_layer_is_past_100_lines() {
    let mut long = Vec::new();
    for folder in CONTROL_LAYER {
        for file in rust_files(&project_root().join("src").join(folder)) {
            let text = std::fs::read_to_string(&file).expect("read source");
            for (line, length) in long_functions(&text, MAX_FUNCTION_LINES) {
                long.push(format!("{}:{line}: {length} lines", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "{}", long.join("\n"));
    // The measure itself: a 3-line function is found by a limit of 2.
    assert_eq!(long_functions("fn f() {\n    x();\n}\n", 2), vec![(1, 3)]);
}
