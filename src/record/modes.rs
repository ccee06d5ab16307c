//! The run's choices as enums: they travel in `run.json`, on the protocol and on the command
//! line, always as these types (never as strings to compare).

use serde::{Deserialize, Serialize};

/// Which allocator a process runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum AllocatorKind {
    /// tikv-jemallocator (jemalloc 5.3): stats, and a purge that separates live from kept memory.
    Jemalloc,
    /// dhat's heap profiler over the system allocator: exact per-job counts (slow).
    Dhat,
    /// The system allocator (glibc malloc), read through `mallinfo2`.
    System,
    /// Debian's mimalloc preloaded into the docling driver (docling-serve's image preloads
    /// mimalloc since v1.14); not an allocator of the Rust core.
    Mimalloc,
}

impl AllocatorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AllocatorKind::Jemalloc => "jemalloc",
            AllocatorKind::Dhat => "dhat",
            AllocatorKind::System => "system",
            AllocatorKind::Mimalloc => "mimalloc",
        }
    }

    /// Parse an allocator name (`DOCLING_MEMPROF_ALLOCATOR`); `None` for anything unknown.
    pub fn from_name(name: &str) -> Option<AllocatorKind> {
        match name.trim().to_ascii_lowercase().as_str() {
            "jemalloc" => Some(AllocatorKind::Jemalloc),
            "dhat" => Some(AllocatorKind::Dhat),
            "system" | "glibc" => Some(AllocatorKind::System),
            "mimalloc" => Some(AllocatorKind::Mimalloc),
            _ => None,
        }
    }
}

impl std::fmt::Display for AllocatorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How jobs are spread over worker processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// One worker for the whole run (RQ's SimpleWorker).
    #[serde(alias = "single-worker", alias = "single")]
    Worker,
    /// A fresh worker after every `max_jobs` jobs (worker recycling).
    Recycle,
    /// A fresh process for every job.
    ProcessPerJob,
}

impl Isolation {
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::Worker => "worker",
            Isolation::Recycle => "recycle",
            Isolation::ProcessPerJob => "process-per-job",
        }
    }
}

/// In which snapshots an optional, costly part is taken: the jemalloc purge (`--purge`) or
/// `smaps_rollup` for PSS/USS (`--smaps`).
///
/// A purge separates live memory from memory jemalloc only keeps, but returns the kept pages
/// to the kernel, so the next job faults them in again (as a slow real worker whose decay had
/// time to run would; a fast replay without purges keeps them dirty). Dirty and muzzy bytes
/// are read from jemalloc's stats in every snapshot either way. `smaps_rollup` costs about
/// 45 us per MiB of RSS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotDetail {
    /// In every snapshot (baseline, after each job, after each clear).
    Every,
    /// Only in the snapshot right after each cache clear.
    Clears,
    /// Never.
    Never,
}

/// The `--purge` choice.
pub type PurgeMode = SnapshotDetail;

/// Allocation-site modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SitesMode {
    /// dhat, one profiler per job: exact bytes allocated in each job and live at its end.
    Exact,
    /// A sampling tracker over jemalloc: estimates with standard errors.
    Sampled,
    /// Python's tracemalloc in the docling driver (slows the worker several times).
    Tracemalloc,
    /// jemalloc's own heap profiler (a build with the `jemalloc-profiling` feature): a
    /// `prof.dump` per job in `sites/`, for `jeprof`.
    Jemalloc,
}

impl SitesMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SitesMode::Exact => "exact",
            SitesMode::Sampled => "sampled",
            SitesMode::Tracemalloc => "tracemalloc",
            SitesMode::Jemalloc => "jemalloc",
        }
    }

    pub fn from_name(name: &str) -> Option<SitesMode> {
        match name.trim() {
            "exact" => Some(SitesMode::Exact),
            "sampled" => Some(SitesMode::Sampled),
            "tracemalloc" => Some(SitesMode::Tracemalloc),
            "jemalloc" => Some(SitesMode::Jemalloc),
            _ => None,
        }
    }
}

/// When the docling driver takes its `gc` census (see `workers/memprof_docling/pycensus.py`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum CensusPolicy {
    /// After every job while it costs under 5% of the jobs' time, else after each clear and
    /// every k-th job.
    #[default]
    Auto,
    /// After every job, whatever it costs.
    Every,
    /// Never.
    Off,
}

impl CensusPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            CensusPolicy::Auto => "auto",
            CensusPolicy::Every => "every",
            CensusPolicy::Off => "off",
        }
    }
}

/// `PYTHONMALLOC` for the docling driver: production's pymalloc (its arenas are invisible to
/// malloc's statistics) or plain malloc (every object through the preloaded allocator).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum PythonMalloc {
    #[default]
    Pymalloc,
    Malloc,
}

impl PythonMalloc {
    pub fn as_str(self) -> &'static str {
        match self {
            PythonMalloc::Pymalloc => "pymalloc",
            PythonMalloc::Malloc => "malloc",
        }
    }
}

/// How a run ended (or that it is still going: a `run.json` left `running` means the
/// replaying process was stopped before it could write the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Completed,
    ChildDied,
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::ChildDied => "child_died",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// Every planned job ran (the only status a gate may pass without `--allow-incomplete`).
    pub fn is_complete(self) -> bool {
        self == RunStatus::Completed
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
