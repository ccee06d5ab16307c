//! What `watch` records beside the job records: `samples.jsonl` (one [`Sample`] per
//! `--interval`, flushed as it is taken) and the `watch` part of `run.json` ([`WatchInfo`]).

use serde::{Deserialize, Serialize};

use super::snapshot::ProcessMemory;

/// One process of the watched tree in a sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessSample {
    pub pid: u32,
    /// `/proc/<pid>/comm` (None when the process went away while being read).
    pub comm: Option<String>,
    /// The watched process itself (false: one of its descendants).
    pub is_worker: bool,
    pub memory: ProcessMemory,
}

/// Which cgroup hierarchy a [`CgroupMemory`] was read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupVersion {
    /// The unified hierarchy (`memory.current`, `memory.max`, `memory.events`).
    #[default]
    V2,
    /// The legacy memory controller (`memory.usage_in_bytes`, `memory.limit_in_bytes`,
    /// `memory.oom_control`): still what many Kubernetes nodes run.
    V1,
}

/// A cgroup's memory files, read once. Field names are cgroup v2's; on v1 `current` is
/// `memory.usage_in_bytes`, `max` is `memory.limit_in_bytes`, `anon`/`file`/`inactive_file` are
/// `memory.stat`'s hierarchical `total_rss`/`total_cache`/`total_inactive_file` (what the
/// kubelet reads there), and the OOM kills come from `memory.oom_control`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CgroupMemory {
    /// v2 when absent (records written before v1 was read).
    #[serde(default)]
    pub version: CgroupVersion,
    pub current_bytes: u64,
    /// `memory.max`; None when it is `max` (no limit; on v1, the kernel's "unlimited" value).
    pub max_bytes: Option<u64>,
    pub anon_bytes: Option<u64>,
    pub file_bytes: Option<u64>,
    pub inactive_file_bytes: Option<u64>,
    /// `current - inactive_file` (never below 0): what `kubectl top` and eviction use.
    pub working_set_bytes: Option<u64>,
    /// `memory.events` counts since the cgroup was made (`oom` is None on v1).
    pub oom_events: Option<u64>,
    pub oom_kill_events: Option<u64>,
}

/// One line of `samples.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds since the watch started.
    pub t_secs: f64,
    /// Wall-clock time (RFC 3339).
    pub at: String,
    /// The job running when the sample was taken (None between jobs, or without a log).
    pub job: Option<u64>,
    /// The watched process first, then its descendants.
    pub processes: Vec<ProcessSample>,
    /// The sums over `processes` (PSS/USS only when every process's was read; RSS sums
    /// count shared pages once per process, PSS does not).
    pub total: ProcessMemory,
    /// The watched process's memory cgroup, v2 or v1 (None when none can be read).
    pub cgroup: Option<CgroupMemory>,
}

impl Sample {
    /// The watched process's own memory.
    pub fn worker(&self) -> Option<&ProcessMemory> {
        self.processes
            .iter()
            .find(|p| p.is_worker)
            .map(|p| &p.memory)
    }
}

/// Where `watch`'s job records came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobSource {
    /// Job boundaries from the worker's log lines.
    Log,
    /// No log: one record per sampling interval (jobs are unknown).
    Intervals,
}

/// How the watched process ended, as far as the watcher could tell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessExit {
    /// The exit code (known when `watch` started the process).
    pub code: Option<i32>,
    /// The signal that killed it (known when `watch` started the process).
    pub signal: Option<i32>,
    /// The cgroup's `oom_kill` count (`memory.events`; v1: `memory.oom_control`) went up while
    /// it was watched.
    pub oom_killed: bool,
    pub detail: String,
}

/// The `watch` part of `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchInfo {
    pub pid: u32,
    /// The command `watch` started (None with `--pid`).
    pub argv: Option<Vec<String>>,
    /// The log followed (None: no log, the run is a time series).
    pub log: Option<String>,
    pub jobs_from: JobSource,
    pub interval_secs: f64,
    pub smaps_interval_secs: f64,
    /// The memory cgroup folder read and its version, e.g. `/sys/fs/cgroup/... (v2)` (None
    /// when none is readable).
    pub cgroup: Option<String>,
    /// Notes for the report (smaps_rollup refused, log rotations and truncations followed).
    #[serde(default)]
    pub notes: Vec<String>,
    pub samples: u64,
    pub exit: Option<ProcessExit>,
}
