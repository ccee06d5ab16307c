//! A process and its descendants (docling starts `soffice` and `tesseract`; uvicorn starts
//! workers): found from `/proc/<pid>/task/<tid>/children` when the kernel has it
//! (CONFIG_PROC_CHILDREN), else from a scan of every `/proc/<pid>/stat`'s parent field.
//! Read-only, no ptrace.

use std::collections::{BTreeMap, BTreeSet};

/// The short command name (`/proc/<pid>/comm`), or None when the process is gone.
pub fn comm(pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(text.trim_end_matches('\n').to_string())
}

/// `/proc/<pid>/stat` fields after the command: (state, parent pid).
pub fn state_and_parent(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// The state and parent of a `stat` line (the command may hold spaces and parentheses).
pub fn parse_stat(text: &str) -> Option<(char, u32)> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    Some((state, parent))
}

/// Whether `/proc/<pid>` is a live process (not gone, not a zombie waiting to be reaped).
pub fn is_alive(pid: u32) -> bool {
    matches!(state_and_parent(pid), Some((state, _)) if state != 'Z' && state != 'X')
}

/// Every descendant of `pid` (children, their children, ...), sorted, without `pid`.
pub fn descendants(pid: u32) -> Vec<u32> {
    match from_children_files(pid) {
        Some(found) => found,
        None => from_parent_scan(pid),
    }
}

fn children_of(pid: u32) -> Option<Vec<u32>> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut out = Vec::new();
    for task in tasks.flatten() {
        let text = std::fs::read_to_string(task.path().join("children")).ok()?;
        out.extend(
            text.split_ascii_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    Some(out)
}

fn from_children_files(pid: u32) -> Option<Vec<u32>> {
    let mut found = BTreeSet::new();
    let mut stack = children_of(pid)?;
    while let Some(child) = stack.pop() {
        if found.insert(child) {
            stack.extend(children_of(child).unwrap_or_default());
        }
    }
    Some(found.into_iter().collect())
}

fn from_parent_scan(pid: u32) -> Vec<u32> {
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(p) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some((_, parent)) = state_and_parent(p) {
                children.entry(parent).or_default().push(p);
            }
        }
    }
    let mut found = BTreeSet::new();
    let mut stack = children.get(&pid).cloned().unwrap_or_default();
    while let Some(child) = stack.pop() {
        if found.insert(child) {
            stack.extend(children.get(&child).cloned().unwrap_or_default());
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_a_command_holding_parentheses() {
        let line = "1234 (a (b) c) S 42 1234 1234 0 -1 4194560 100 0 0 0";
        assert_eq!(parse_stat(line), Some(('S', 42)));
    }

    #[test]
    fn finds_a_child_and_its_child() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 3 & wait"])
            .spawn()
            .expect("sh");
        let pid = child.id();
        let mut found = Vec::new();
        for _ in 0..100 {
            found = descendants(std::process::id());
            if found.len() >= 2 && found.contains(&pid) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.contains(&pid), "{found:?} lacks {pid}");
        assert!(found.len() >= 2, "{found:?}: the sleep under sh");
    }
}
