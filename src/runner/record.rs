//! The records a run writes: `run.json` (one [`RunManifest`]) and `jobs.jsonl` (one
//! [`JobRecord`] per line, flushed as each job ends). Versioned by [`RECORD_SCHEMA_VERSION`].

use serde::{Deserialize, Serialize};

use crate::probe::Snapshot;

/// Version of the `run.json` / `jobs.jsonl` formats. Bump on any incompatible change.
pub const RECORD_SCHEMA_VERSION: u32 = 1;

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum JobOutcome {
    Success,
    /// The task failed (a document failed, or the task could not run); the worker lives on.
    Failed {
        error: String,
    },
    /// The worker process died during the job (signal, OOM kill, panic, timeout, interrupt).
    Died {
        reason: String,
    },
}

impl JobOutcome {
    pub fn label(&self) -> &'static str {
        match self {
            JobOutcome::Success => "success",
            JobOutcome::Failed { .. } => "failed",
            JobOutcome::Died { .. } => "died",
        }
    }
}

/// One document of a job, as the worker reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentRecord {
    pub name: String,
    pub size_bytes: u64,
    pub pages: u32,
    pub success: bool,
    pub error: Option<String>,
    pub duration_secs: f64,
}

/// A cache clear that followed a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheClearRecord {
    pub converters: u64,
    pub pipelines: u64,
    pub model_bytes: u64,
    pub rss_before_bytes: u64,
    pub rss_after_bytes: u64,
    /// The snapshot taken right after the clear.
    pub after_clear: Snapshot,
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
    pub documents: Vec<DocumentRecord>,
    /// Peak RSS during the job, sampled by the parent (None when the job was too short to sample).
    pub peak_rss_bytes: Option<u64>,
    /// Snapshot right after the job (None when the worker died in it).
    pub after_job: Option<Snapshot>,
    pub cache_clear: Option<CacheClearRecord>,
    /// The worker asked to be recycled after this job (max jobs reached).
    pub recycle_requested: bool,
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
    pub allocator: String,
    pub isolation: String,
    pub sites: Option<String>,
    pub census: bool,
    pub memory_limit_bytes: Option<u64>,
    pub git_revision: Option<String>,
    pub machine: MachineInfo,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Baseline snapshot of each worker process, in order of start.
    pub baselines: Vec<Snapshot>,
    /// How the run ended: `completed`, `child_died`, `interrupted`.
    pub status: String,
    pub status_message: Option<String>,
    pub wall_time_secs: Option<f64>,
    pub workers_started: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MachineInfo {
    pub hostname: Option<String>,
    pub os: String,
    pub arch: String,
    pub cpus: usize,
    pub total_memory_bytes: Option<u64>,
}
