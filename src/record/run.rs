//! The records a run writes: `run.json` (one [`RunManifest`]) and `jobs.jsonl` (one
//! [`JobRecord`] per line, flushed as each job ends). Versioned by [`RECORD_SCHEMA_VERSION`].
//!
//! Version 2 (this one) made the snapshot's parts optional (a worker reports what it can
//! measure), typed a death ([`Death`]) and the manifest's modes (enums, same spellings as
//! version 1), and merged the cache clear and document types. Version 1 records read into
//! these types unchanged: every new field has a default.

use serde::{Deserialize, Serialize};

use super::modes::{AllocatorKind, Isolation, RunStatus, SitesMode};
use super::sample::WatchInfo;
use super::snapshot::Snapshot;

/// Version of the `run.json` / `jobs.jsonl` formats written now. Bump on any incompatible change.
pub const RECORD_SCHEMA_VERSION: u32 = 2;
/// The oldest version still read.
pub const OLDEST_READABLE_SCHEMA_VERSION: u32 = 1;

/// How a worker process died in the middle of a job: typed, with the detail each kind has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Death {
    /// Killed by a signal nobody in the run sent (the OOM killer, a `kill -9`, a crash).
    Signal { signal: i32, name: String },
    /// The parent killed it because its RSS crossed `--memory-limit` (as the OOM killer would).
    MemoryLimit { rss_bytes: u64, limit_bytes: u64 },
    /// The job ran past `--job-timeout`; the parent killed it.
    Timeout { after_secs: f64 },
    /// The run was interrupted (SIGINT, SIGTERM, SIGHUP to the replaying process).
    Interrupted { signal: String },
    /// The worker broke the protocol (a line that is not a message, a missing field, the
    /// wrong message); the parent killed it.
    ProtocolError { detail: String },
    /// The worker exited on its own in the middle of a job (a panic is exit code 101).
    Exited { code: Option<i32> },
    /// A version 1 record: only the text of the reason is known.
    Unknown,
}

impl Death {
    /// The kind as a short word (`signal`, `memory_limit`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Death::Signal { .. } => "signal",
            Death::MemoryLimit { .. } => "memory_limit",
            Death::Timeout { .. } => "timeout",
            Death::Interrupted { .. } => "interrupted",
            Death::ProtocolError { .. } => "protocol_error",
            Death::Exited { .. } => "exited",
            Death::Unknown => "unknown",
        }
    }

    /// The run was stopped from outside (not a failure of the worker).
    pub fn is_interruption(&self) -> bool {
        matches!(self, Death::Interrupted { .. })
    }
}

fn unknown_death() -> Death {
    Death::Unknown
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum JobOutcome {
    Success,
    /// The task failed (a document failed, or the task could not run); the worker lives on.
    Failed {
        error: String,
    },
    /// The worker process died during the job. `reason` is the sentence for people;
    /// `death` is what programs read.
    Died {
        #[serde(default = "unknown_death")]
        death: Death,
        reason: String,
    },
}

/// How a job ended, as a trajectory or a log tells it (the kind of a
/// [`JobOutcome`], without its error or death). Written as `success`,
/// `failed`, `died`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    #[default]
    Success,
    Failed,
    /// The worker died during the job (a log: no `[MEMORY]` line before the worker restarted
    /// or the log ended).
    Died,
}

impl OutcomeKind {
    pub fn label(self) -> &'static str {
        match self {
            OutcomeKind::Success => "success",
            OutcomeKind::Failed => "failed",
            OutcomeKind::Died => "died",
        }
    }
}

impl std::fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl JobOutcome {
    pub fn label(&self) -> &'static str {
        self.kind().label()
    }

    pub fn kind(&self) -> OutcomeKind {
        match self {
            JobOutcome::Success => OutcomeKind::Success,
            JobOutcome::Failed { .. } => OutcomeKind::Failed,
            JobOutcome::Died { .. } => OutcomeKind::Died,
        }
    }

    pub fn death(&self) -> Option<&Death> {
        match self {
            JobOutcome::Died { death, .. } => Some(death),
            _ => None,
        }
    }
}

/// One document of a job, as the worker reported it (the worker core's own type too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentResult {
    pub name: String,
    pub size_bytes: u64,
    pub pages: u32,
    pub success: bool,
    #[serde(default)]
    pub error: Option<String>,
    pub duration_secs: f64,
}

/// A cache clear that followed a job: what the worker dropped, and the memory after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheClear {
    /// Jobs run since the previous clear (what `[CACHE CLEAR]` prints).
    #[serde(default)]
    pub jobs_since_last_clear: u64,
    pub converters: u64,
    pub pipelines: u64,
    #[serde(default)]
    pub models: u64,
    /// Bytes of model weights dropped (None when the worker cannot tell: the docling driver).
    #[serde(default)]
    pub model_bytes: Option<u64>,
    /// The worker's own RSS reading before and after (None when it cannot read it).
    #[serde(default)]
    pub rss_before_bytes: Option<u64>,
    #[serde(default)]
    pub rss_after_bytes: Option<u64>,
    /// The snapshot taken right after the clear.
    #[serde(default)]
    pub after_clear: Option<Snapshot>,
}

/// One line of `jobs.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub schema_version: u32,
    /// 1-based position of the job in the run (over repeats and worker restarts).
    pub job: u64,
    /// 0-based index of the worker process that ran it (grows at each recycle / new process).
    pub worker_index: u32,
    pub worker_pid: u32,
    /// Jobs this worker process had run, this one included.
    pub worker_jobs_total: u64,
    pub job_id: String,
    pub task_id: String,
    /// Name of the workload job this came from.
    pub workload_job: String,
    pub outcome: JobOutcome,
    pub duration_secs: f64,
    pub documents: Vec<DocumentResult>,
    /// Peak RSS during the job, sampled by the parent (None when the job was too short to sample).
    pub peak_rss_bytes: Option<u64>,
    /// Snapshot right after the job (None when the worker died in it). Parts the worker did
    /// not report are filled by the parent from `/proc/<pid>` where it can.
    pub after_job: Option<Snapshot>,
    pub cache_clear: Option<CacheClear>,
    /// The worker asked to be recycled after this job (max jobs reached).
    pub recycle_requested: bool,
    /// The RSS the worker itself logged for this job (`[MEMORY] rss=`; `watch` with a log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_rss_bytes: Option<u64>,
}

/// Which worker ran the jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkerKind {
    /// The Rust worker core in a child of docling-memprof.
    Core,
    /// An external command speaking the protocol (`--worker-cmd`).
    Command { argv: Vec<String> },
    /// The real docling-serve worker code (`--worker docling`): docling-jobkit's
    /// `docling_task` in `python`, with the versions and settings its check reported
    /// (docling, docling-jobkit, allocator, `PYTHONMALLOC`, `synthetic_weights`).
    Docling {
        python: String,
        #[serde(default)]
        environment: std::collections::BTreeMap<String, String>,
    },
    /// A process followed from outside by `watch` (its `argv` when `watch` started it).
    Watched { pid: u32, argv: Vec<String> },
}

fn core_worker() -> WorkerKind {
    WorkerKind::Core
}

/// `run.json`: what was run, where and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    pub schema_version: u32,
    pub tool_version: String,
    pub workload_path: String,
    pub workload_name: String,
    /// The workload as it was validated (documents resolved).
    pub workload: serde_json::Value,
    /// The worker backend (version 1 folders: the core).
    #[serde(default = "core_worker")]
    pub worker: WorkerKind,
    /// The worker's allocator (the core's choice; what an external worker said in `ready`).
    pub allocator: Option<AllocatorKind>,
    pub isolation: Isolation,
    pub sites: Option<SitesMode>,
    pub census: bool,
    pub memory_limit_bytes: Option<u64>,
    pub git_revision: Option<String>,
    pub machine: MachineInfo,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Baseline snapshot of each worker process, in order of start.
    pub baselines: Vec<Snapshot>,
    /// How the run ended.
    pub status: RunStatus,
    pub status_message: Option<String>,
    pub wall_time_secs: Option<f64>,
    pub workers_started: u32,
    /// Jobs the workload planned (None in version 1 folders).
    #[serde(default)]
    pub jobs_planned: Option<u64>,
    /// What `watch` followed (absent in replays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<WatchInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MachineInfo {
    pub hostname: Option<String>,
    pub os: String,
    pub arch: String,
    pub cpus: usize,
    pub total_memory_bytes: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version 1 death (text only) still reads, as an unknown death with its reason.
    #[test]
    fn version_1_died_outcome_reads_as_unknown_death() {
        let outcome: JobOutcome =
            serde_json::from_str(r#"{"status":"died","reason":"killed by signal 9 (SIGKILL)"}"#)
                .expect("reads");
        assert_eq!(
            outcome,
            JobOutcome::Died {
                death: Death::Unknown,
                reason: "killed by signal 9 (SIGKILL)".into()
            }
        );
    }

    #[test]
    fn deaths_are_tagged_by_kind() {
        let death = Death::MemoryLimit {
            rss_bytes: 10,
            limit_bytes: 5,
        };
        let text = serde_json::to_string(&death).expect("writes");
        assert_eq!(
            text,
            r#"{"kind":"memory_limit","rss_bytes":10,"limit_bytes":5}"#
        );
        assert_eq!(death.kind(), "memory_limit");
    }
}
