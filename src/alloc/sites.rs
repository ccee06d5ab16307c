//! Allocation sites: tracemalloc's `Snapshot.statistics('traceback')` and `compare_to` for the
//! worker, fed by either site mode (`exact` from dhat, [`crate::alloc::dhat_sites`]; `sampled`
//! from the sampling wrapper, [`crate::alloc::sampling`]).
//!
//! - Frame normalisation ([`normalize_frame`]), so that site identities line up across builds
//!   and runs: addresses, symbol hashes (`::h0123abcd...`), closure numbers and columns are
//!   stripped; absolute paths become crate-relative (`src/worker/job.rs`,
//!   `serde_json/src/de.rs`, `alloc/src/vec/mod.rs`).
//! - Site identity ([`site_identity`]): the allocator's own frames and the standard library's
//!   innermost frames dropped, then up to [`SITE_DEPTH`] frames, innermost first, joined by
//!   ` <- `: `function (file:line) <- caller (file:line) <- ...`.
//! - [`top_sites`], [`site_growth`] between two tables, job-tagged survivors
//!   ([`SiteSurvivors`]) and collapsed stacks for flamegraph tools ([`collapsed_stacks`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::record::{SiteStat, SiteTable};

/// Frames of a site's identity (after the allocator's and std's innermost frames).
pub const SITE_DEPTH: usize = 6;
/// Sites kept per snapshot by default.
pub const DEFAULT_TOP_N: usize = 20;

/// Normalise one frame: `0x55d..: name::h0123456789abcdef (/abs/path/src/x.rs:12:5)` becomes
/// `name (src/x.rs:12)`.
pub fn normalize_frame(frame: &str) -> String {
    let mut text = frame.trim();
    // Leading address `0x...: `.
    if let Some(rest) = text.strip_prefix("0x") {
        if let Some(colon) = rest.find(": ") {
            if rest[..colon].chars().all(|c| c.is_ascii_hexdigit()) {
                text = &rest[colon + 2..];
            }
        }
    }
    let (function, location) = match text.rfind(" (") {
        Some(open) if text.ends_with(')') => (&text[..open], Some(&text[open + 2..text.len() - 1])),
        _ => (text, None),
    };
    let function = normalize_function(function);
    match location.map(normalize_location) {
        Some(location) if !location.is_empty() => format!("{function} ({location})"),
        _ => function,
    }
}

/// Strip symbol hashes, closure numbers and stray addresses from a function name.
pub fn normalize_function(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("::h") {
            let hex = after.chars().take_while(|c| c.is_ascii_hexdigit()).count();
            if hex == 16 {
                rest = &after[hex..];
                continue;
            }
        }
        if let Some(after) = rest.strip_prefix("{{closure}}") {
            out.push_str("{closure}");
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix("{closure#") {
            if let Some(end) = after.find('}') {
                if after[..end].chars().all(|c| c.is_ascii_digit()) {
                    out.push_str("{closure}");
                    rest = &after[end + 1..];
                    continue;
                }
            }
        }
        if let Some(after) = rest.strip_prefix("0x") {
            let hex = after.chars().take_while(|c| c.is_ascii_hexdigit()).count();
            if hex > 0 {
                out.push_str("0x?");
                rest = &after[hex..];
                continue;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// `/root/.cargo/registry/src/index.crates.io-xxx/serde_json-1.0.1/src/de.rs:12:5` becomes
/// `serde_json/src/de.rs:12`; `/rustc/<hash>/library/alloc/src/vec/mod.rs:3` becomes
/// `alloc/src/vec/mod.rs:3`; this crate's files become `src/...`.
pub fn normalize_location(location: &str) -> String {
    // Split `path:line[:col]`.
    let mut parts: Vec<&str> = location.rsplitn(3, ':').collect();
    parts.reverse();
    let (path, line) = match parts.as_slice() {
        [path, line, col]
            if line.chars().all(|c| c.is_ascii_digit())
                && col.chars().all(|c| c.is_ascii_digit()) =>
        {
            (*path, Some(*line))
        }
        [a, b, line] if line.chars().all(|c| c.is_ascii_digit()) => {
            // A path with a colon in it and no column.
            return format!("{}:{}", relative_path(&format!("{a}:{b}")), line);
        }
        [path, line] if line.chars().all(|c| c.is_ascii_digit()) => (*path, Some(*line)),
        _ => (location, None),
    };
    let path = relative_path(path);
    match line {
        Some(line) => format!("{path}:{line}"),
        None => path,
    }
}

fn relative_path(path: &str) -> String {
    let path = path.replace('\\', "/");
    let ours = env!("CARGO_MANIFEST_DIR");
    if let Some(rest) = path.strip_prefix(ours) {
        return rest.trim_start_matches('/').to_string();
    }
    if let Some(i) = path.find("/library/") {
        if path.starts_with("/rustc/") {
            return path[i + "/library/".len()..].to_string();
        }
    }
    // Cargo registry or git checkouts: `<crate>-<version>/src/...` -> `<crate>/src/...`.
    for marker in ["/registry/src/", "/git/checkouts/"] {
        if let Some(i) = path.find(marker) {
            let rest = &path[i + marker.len()..];
            // Skip the index (or repo) folder, then the crate folder.
            let mut components = rest.splitn(3, '/');
            let _index = components.next();
            if let (Some(krate), Some(tail)) = (components.next(), components.next()) {
                return format!("{}/{tail}", strip_version(krate));
            }
        }
    }
    if !path.starts_with('/') {
        return path;
    }
    // Another absolute path: keep from its last `src/` parent.
    match path.rfind("/src/") {
        Some(i) => {
            let before = &path[..i];
            let krate = before.rsplit('/').next().unwrap_or("");
            format!("{}/src/{}", strip_version(krate), &path[i + 5..])
        }
        None => path
            .rsplit('/')
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("/"),
    }
}

/// `serde_json-1.0.140` -> `serde_json`.
fn strip_version(krate: &str) -> &str {
    match krate.rfind('-') {
        Some(i)
            if krate[i + 1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit()) =>
        {
            &krate[..i]
        }
        _ => krate,
    }
}

/// Frames of the allocator machinery itself (backtrace capture, the global allocator wrapper,
/// dhat): never part of a site.
fn is_machinery(frame: &str) -> bool {
    const PREFIXES: [&str; 13] = [
        "backtrace::",
        "__rustc::",
        "docling_memprof::alloc::",
        "<docling_memprof::alloc::",
        "__rust_alloc",
        "__rust_realloc",
        "__rust_dealloc",
        "__rdl_",
        "__rg_",
        "dhat::",
        "<dhat::",
        "alloc::alloc::",
        "std::alloc::",
    ];
    PREFIXES.iter().any(|p| frame.starts_with(p))
}

/// Standard-library frames, dropped while they are innermost (the site is the caller): by
/// their file (`alloc/src/...`) or their name.
fn is_std(frame: &str) -> bool {
    const CRATES: [&str; 4] = ["alloc", "core", "std", "hashbrown"];
    let (name, location) = match frame.rfind(" (") {
        Some(open) => (&frame[..open], &frame[open + 2..]),
        None => (frame, ""),
    };
    if CRATES
        .iter()
        .any(|c| location.starts_with(c) && location[c.len()..].starts_with("/src/"))
    {
        return true;
    }
    // By name too: dhat keeps only the last three components of a path (`src/vec/mod.rs`).
    let name = name.trim_start_matches('<');
    name.starts_with('[')
        || name.starts_with('&')
        || name.starts_with("u8 as ")
        || CRATES
            .iter()
            .any(|c| name.starts_with(c) && name[c.len()..].starts_with("::"))
}

/// Whether a normalised frame can be part of a site: neither the allocator's machinery nor
/// the standard library.
pub fn is_site_frame(frame: &str) -> bool {
    !is_machinery(frame) && !is_std(frame)
}

/// Normalised frames of a stack (innermost first) without the allocator's own frames.
pub fn clean_stack<S: AsRef<str>>(frames: &[S]) -> Vec<String> {
    frames
        .iter()
        .map(|f| normalize_frame(f.as_ref()))
        .filter(|f| !f.is_empty() && f != "[root]" && !is_machinery(f))
        .collect()
}

/// The site identity of a clean stack (innermost first): its first [`SITE_DEPTH`] frames
/// outside the standard library (iterator adapters, `clone`s and `Vec` growth are how code
/// allocates, not where), joined by ` <- `; the std frames themselves when there is nothing
/// else.
pub fn site_identity(clean: &[String]) -> String {
    let ours: Vec<&str> = clean
        .iter()
        .filter(|f| !is_std(f))
        .take(SITE_DEPTH)
        .map(String::as_str)
        .collect();
    if !ours.is_empty() {
        return ours.join(" <- ");
    }
    if clean.is_empty() {
        return "[unknown]".into();
    }
    clean
        .iter()
        .take(SITE_DEPTH)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" <- ")
}

/// The top `n` sites by live bytes (ties by name), the rest dropped.
pub fn top_sites(mut sites: Vec<SiteStat>, n: usize) -> Vec<SiteStat> {
    sites.sort_by(|a, b| b.live_bytes.cmp(&a.live_bytes).then(a.site.cmp(&b.site)));
    sites.truncate(n);
    sites
}

/// How one site changed between two snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteGrowth {
    pub site: String,
    pub live_bytes: u64,
    pub bytes_delta: i64,
    pub blocks_delta: i64,
    /// Standard error of the delta (sampled mode: both estimates' errors combined).
    pub bytes_delta_stderr: Option<u64>,
}

/// Per-site change from `before` to `after` (a site missing on one side counts as 0), largest
/// growth first; unchanged sites are left out. Sites that fell out of a top-N table count as 0
/// there, so compare full tables where it matters.
pub fn site_growth(before: Option<&SiteTable>, after: &SiteTable) -> Vec<SiteGrowth> {
    let mut map: BTreeMap<&str, (Option<&SiteStat>, Option<&SiteStat>)> = BTreeMap::new();
    for s in before.map(|t| t.sites.as_slice()).unwrap_or(&[]) {
        map.entry(s.site.as_str()).or_default().0 = Some(s);
    }
    for s in &after.sites {
        map.entry(s.site.as_str()).or_default().1 = Some(s);
    }
    let mut out: Vec<SiteGrowth> = map
        .into_iter()
        .filter_map(|(site, (b, a))| {
            let (b_bytes, b_blocks, b_err) = b.map_or((0, 0, 0), |s| {
                (
                    s.live_bytes,
                    s.live_blocks,
                    s.live_bytes_stderr.unwrap_or(0),
                )
            });
            let (a_bytes, a_blocks, a_err) = a.map_or((0, 0, 0), |s| {
                (
                    s.live_bytes,
                    s.live_blocks,
                    s.live_bytes_stderr.unwrap_or(0),
                )
            });
            let stderr = (b_err > 0 || a_err > 0).then(|| {
                ((b_err as f64).powi(2) + (a_err as f64).powi(2))
                    .sqrt()
                    .round() as u64
            });
            let growth = SiteGrowth {
                site: site.to_string(),
                live_bytes: a_bytes,
                bytes_delta: a_bytes as i64 - b_bytes as i64,
                blocks_delta: a_blocks as i64 - b_blocks as i64,
                bytes_delta_stderr: stderr,
            };
            (growth.bytes_delta != 0 || growth.blocks_delta != 0).then_some(growth)
        })
        .collect();
    out.sort_by(|a, b| b.bytes_delta.cmp(&a.bytes_delta).then(a.site.cmp(&b.site)));
    out
}

/// For one site: bytes still live now, by the job that allocated them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteSurvivors {
    pub site: String,
    /// `(allocating job, live bytes now)`, oldest job first. Job 0: before the first job.
    pub by_job: Vec<JobBytes>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct JobBytes {
    pub job: u64,
    pub live_bytes: u64,
}

impl SiteSurvivors {
    /// Bytes allocated in `job` still live now.
    pub fn from_job(&self, job: u64) -> u64 {
        self.by_job
            .iter()
            .find(|j| j.job == job)
            .map_or(0, |j| j.live_bytes)
    }
}

/// A site's live bytes with its full clean stack (innermost first), for collapsed output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackBytes {
    pub frames: Vec<String>,
    pub live_bytes: u64,
}

/// Collapsed stacks (Brendan Gregg's format, read by `flamegraph.pl`, inferno, speedscope):
/// one line per stack, outermost frame first, frames joined by `;`, then a space and the live
/// bytes. Frames lose their `(file:line)` and any `;`; identical stacks are merged.
pub fn collapsed_stacks(stacks: &[StackBytes]) -> String {
    let mut merged: BTreeMap<String, u64> = BTreeMap::new();
    for stack in stacks.iter().filter(|s| s.live_bytes > 0) {
        let line = stack
            .frames
            .iter()
            .rev()
            .map(|f| {
                let name = match f.rfind(" (") {
                    Some(i) if f.ends_with(')') => &f[..i],
                    _ => f.as_str(),
                };
                name.replace(';', ",")
            })
            .collect::<Vec<_>>()
            .join(";");
        let line = if line.is_empty() {
            "[unknown]".to_string()
        } else {
            line
        };
        *merged.entry(line).or_default() += stack.live_bytes;
    }
    let mut out = String::new();
    for (line, bytes) in merged {
        out.push_str(&line);
        out.push(' ');
        out.push_str(&bytes.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_normalised() {
        assert_eq!(
            normalize_frame(
                "0x55d4c1a2b3c4: docling_memprof::worker::job::Worker::run_job::h0123456789abcdef (/work/main/src/worker/job.rs:123:17)"
            ),
            if env!("CARGO_MANIFEST_DIR") == "/work/main" {
                "docling_memprof::worker::job::Worker::run_job (src/worker/job.rs:123)"
            } else {
                "docling_memprof::worker::job::Worker::run_job (main/src/worker/job.rs:123)"
            }
        );
        assert_eq!(
            normalize_frame("serde_json::de::from_str::{{closure}} (/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/serde_json-1.0.140/src/de.rs:2674:9)"),
            "serde_json::de::from_str::{closure} (serde_json/src/de.rs:2674)"
        );
        assert_eq!(
            normalize_frame("alloc::vec::Vec<T>::push{closure#3} (/rustc/17067e9ac6d7e98f18d4b9e9e3d8e5e9d0d9a1b2/library/alloc/src/vec/mod.rs:2420:12)"),
            "alloc::vec::Vec<T>::push{closure} (alloc/src/vec/mod.rs:2420)"
        );
        assert_eq!(normalize_frame("[root]"), "[root]");
        assert_eq!(normalize_frame("???"), "???");
        assert_eq!(normalize_location("src/x.rs:7"), "src/x.rs:7");
    }

    #[test]
    fn identities_skip_machinery_and_innermost_std() {
        let stack = [
            "backtrace::backtrace::trace (backtrace/src/lib.rs:1)",
            "docling_memprof::alloc::sampling::on_alloc (src/alloc/sampling.rs:10)",
            "__rust_alloc",
            "alloc::raw_vec::RawVec<T>::allocate_in (alloc/src/raw_vec.rs:3)",
            "<alloc::string::String as core::clone::Clone>::clone (alloc/src/string.rs:1)",
            "docling_memprof::worker::scenarios::RetainedResults::keep (src/worker/scenarios.rs:41)",
            "docling_memprof::worker::job::Worker::run_job (src/worker/job.rs:180)",
        ];
        let clean = clean_stack(&stack);
        assert_eq!(clean.len(), 4);
        assert_eq!(
            site_identity(&clean),
            "docling_memprof::worker::scenarios::RetainedResults::keep (src/worker/scenarios.rs:41) <- docling_memprof::worker::job::Worker::run_job (src/worker/job.rs:180)"
        );
        let only_std = clean_stack(&["alloc::vec::Vec<T>::push (alloc/src/vec/mod.rs:1)"]);
        assert_eq!(
            site_identity(&only_std),
            "alloc::vec::Vec<T>::push (alloc/src/vec/mod.rs:1)"
        );
        assert_eq!(site_identity(&[]), "[unknown]");
    }

    fn stat(site: &str, live: u64, blocks: u64) -> SiteStat {
        SiteStat {
            site: site.into(),
            live_bytes: live,
            live_blocks: blocks,
            live_bytes_stderr: None,
            job_live_bytes: None,
        }
    }

    #[test]
    fn growth_and_top_n() {
        let t = |sites| SiteTable {
            mode: "sampled".into(),
            sample_interval_bytes: None,
            sites,
        };
        let before = t(vec![stat("a", 100, 1), stat("b", 50, 1)]);
        let after = t(vec![stat("a", 100, 1), stat("b", 500, 5), stat("c", 10, 1)]);
        let growth = site_growth(Some(&before), &after);
        assert_eq!(growth.len(), 2);
        assert_eq!((growth[0].site.as_str(), growth[0].bytes_delta), ("b", 450));
        assert_eq!((growth[1].site.as_str(), growth[1].bytes_delta), ("c", 10));
        let top = top_sites(after.sites.clone(), 2);
        assert_eq!(
            top.iter().map(|s| s.site.as_str()).collect::<Vec<_>>(),
            vec!["b", "a"]
        );
    }

    #[test]
    fn collapsed_stacks_are_outermost_first_and_merged() {
        let stacks = vec![
            StackBytes {
                frames: vec!["inner (src/a.rs:1)".into(), "main (src/main.rs:2)".into()],
                live_bytes: 10,
            },
            StackBytes {
                frames: vec!["inner (src/a.rs:9)".into(), "main (src/main.rs:2)".into()],
                live_bytes: 5,
            },
            StackBytes {
                frames: vec!["x;y".into()],
                live_bytes: 0,
            },
        ];
        assert_eq!(collapsed_stacks(&stacks), "main;inner 15\n");
    }
}
