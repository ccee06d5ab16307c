//! The hostile-input suite: synthetic hostile documents, sources and logs ([`gen`]), each run
//! in a child process under a time and a memory bound ([`probe`]), asserting the documented
//! error (or a clean success), no panic, no signal, peak RSS under the case's bound.
//!
//! Fast cases run in `cargo test`; the slow ones (gigabyte inputs, 10^5-row tables) only with
//! `DOCLING_MEMPROF_SLOW_TESTS=1` (`.ci/run` sets it).

mod documents;
mod gen;
mod logs;
pub mod probe;

use std::path::{Path, PathBuf};
use std::time::Duration;

use probe::{Kind, Outcome};

pub const MIB: u64 = 1024 * 1024;

/// Whether the slow cases run.
pub fn slow_enabled() -> bool {
    std::env::var_os("DOCLING_MEMPROF_SLOW_TESTS").is_some_and(|v| v != "0" && !v.is_empty())
}

/// What a case must end with.
pub enum Expect {
    /// An error whose message holds every one of these strings.
    Error(&'static [&'static str]),
    /// A success whose summary holds this string.
    Success(&'static str),
}

/// One hostile case: its input is written by `make` into a fresh folder (a file, a FIFO, a
/// symlink loop, ...), and the path handed to the child.
pub struct Case {
    pub name: &'static str,
    pub kind: Kind,
    /// The document name the reader sees (the format comes from its extension).
    pub file_name: &'static str,
    pub make: Box<dyn Fn(&Path) -> PathBuf>,
    pub expect: Expect,
    pub deadline: Duration,
    pub max_rss: u64,
    /// Runs only with `DOCLING_MEMPROF_SLOW_TESTS=1`.
    pub slow: bool,
}

impl Case {
    pub fn new(
        name: &'static str,
        kind: Kind,
        file_name: &'static str,
        make: impl Fn(&Path) -> PathBuf + 'static,
        expect: Expect,
    ) -> Case {
        Case {
            name,
            kind,
            file_name,
            make: Box::new(make),
            expect,
            deadline: Duration::from_secs(20),
            max_rss: 512 * MIB,
            slow: false,
        }
    }

    pub fn slow(mut self) -> Case {
        self.slow = true;
        self
    }

    pub fn within(mut self, deadline_secs: u64, max_rss_mib: u64) -> Case {
        self.deadline = Duration::from_secs(deadline_secs);
        self.max_rss = max_rss_mib * MIB;
        self
    }
}

/// Writes `bytes` as `file_name` in `dir`.
pub fn write(dir: &Path, file_name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(file_name);
    std::fs::write(&path, bytes).expect("write the case");
    path
}

/// Runs every case, each in its own child, and fails with every broken case listed (so that
/// one run tells all). Prints one line per case: the figures of the report.
pub fn run_all(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in &cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = (case.make)(dir.path());
        let ceiling = case.max_rss * 2 + 512 * MIB;
        let outcome = probe::run(case.kind, &path, case.file_name, case.deadline, ceiling);
        eprintln!(
            "hostile case {:<44} {:>7.2}s {:>6} MiB peak  {:?}",
            case.name,
            outcome.elapsed.as_secs_f64(),
            outcome.peak_rss_bytes / MIB,
            outcome.result
        );
        if let Some(problem) = check(case, &outcome) {
            failures.push(format!("{}: {problem}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn check(case: &Case, outcome: &Outcome) -> Option<String> {
    if let Some(reason) = outcome.killed_for {
        return Some(format!("killed for {reason} after {:?}", outcome.elapsed));
    }
    if let Some(signal) = outcome.signal {
        return Some(format!("died of signal {signal} (stack overflow or abort)"));
    }
    if outcome.peak_rss_bytes > case.max_rss {
        return Some(format!(
            "peak RSS {} MiB over the {} MiB bound",
            outcome.peak_rss_bytes / MIB,
            case.max_rss / MIB
        ));
    }
    match (&case.expect, &outcome.result) {
        (_, None) => Some(format!(
            "no result (exit code {:?}): {:?}",
            outcome.exit_code, outcome.raw
        )),
        (Expect::Error(_), Some(Err(message))) if message.contains("panicked") => {
            Some(format!("a reader panicked: {message}"))
        }
        (Expect::Error(parts), Some(Err(message))) => {
            let missing: Vec<_> = parts.iter().filter(|p| !message.contains(*p)).collect();
            (!missing.is_empty()).then(|| format!("error {message:?} lacks {missing:?}"))
        }
        (Expect::Success(part), Some(Ok(summary))) => {
            (!summary.contains(part)).then(|| format!("summary {summary:?} lacks {part:?}"))
        }
        (Expect::Error(_), Some(Ok(summary))) => Some(format!("succeeded: {summary}")),
        (Expect::Success(_), Some(Err(message))) => Some(format!("failed: {message}")),
    }
}
