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

/// A cgroup v2's memory files, read once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CgroupMemory {
    pub current_bytes: u64,
    /// `memory.max`; None when it is `max` (no limit).
    pub max_bytes: Option<u64>,
    pub anon_bytes: Option<u64>,
    pub file_bytes: Option<u64>,
    pub inactive_file_bytes: Option<u64>,
    /// `current - inactive_file` (never below 0): what `kubectl top` and eviction use.
    pub working_set_bytes: Option<u64>,
    /// `memory.events` counts since the cgroup was made.
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
    /// The watched process's cgroup v2 (None outside one).
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
    /// The cgroup's `memory.events` `oom_kill` count went up while it was watched.
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
    /// The cgroup v2 folder read (None outside one).
    pub cgroup: Option<String>,
    /// Notes for the report (smaps_rollup refused, log rotations and truncations followed).
    #[serde(default)]
    pub notes: Vec<String>,
    pub samples: u64,
    pub exit: Option<ProcessExit>,
}
