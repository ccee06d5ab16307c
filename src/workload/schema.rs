//! The workload file's serde types (JSON, versioned by [`WORKLOAD_SCHEMA_VERSION`]).
//!
//! Documented in `docs/workload-format.md`; `fixtures/workload.schema.json` is the matching
//! JSON Schema. Every struct rejects unknown fields, so a typo is an error with its JSON path.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::worker::document::DocumentFormat;
use crate::worker::task::TaskType;
use crate::worker::{ConversionOptions, LeakScenario, WorkerSettings};

/// The version of the workload format this build reads.
pub const WORKLOAD_SCHEMA_VERSION: u32 = 1;

/// A workload: worker settings, documents, jobs, and how many times to run the job list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub schema_version: u32,
    /// A short name (used in the run folder's name); defaults to the file's stem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub worker: WorkloadWorker,
    pub documents: Vec<DocumentSpec>,
    pub jobs: Vec<JobSpec>,
    /// Run the whole job list this many times (default 1).
    #[serde(default = "default_repeat")]
    pub repeat: u32,
}

fn default_repeat() -> u32 {
    1
}

/// The worker settings a workload may set (docling-serve's environment, see
/// [`WorkerSettings`]); everything else keeps the worker core's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadWorker {
    /// `DOCLING_SERVE_JOBS_BETWEEN_CACHE_CLEAR` (0 = never).
    pub jobs_between_cache_clear: u32,
    /// `DOCLING_SERVE_OPTIONS_CACHE_SIZE`.
    pub options_cache_size: usize,
    /// `DOCLING_SERVE_RQ_MAX_JOBS` (0 = unlimited); > 0 makes replay recycle the worker.
    pub max_jobs: u32,
    /// Fraction of the real model sizes (1.0 = real sizes; 0.01 runs in seconds).
    pub model_scale: f64,
    /// Leak scenarios to switch on.
    pub scenarios: Vec<LeakScenario>,
}

impl Default for WorkloadWorker {
    fn default() -> Self {
        let d = WorkerSettings::default();
        WorkloadWorker {
            jobs_between_cache_clear: d.jobs_between_cache_clear,
            options_cache_size: d.options_cache_size,
            max_jobs: d.max_jobs,
            model_scale: d.model_scale,
            scenarios: d.scenarios,
        }
    }
}

impl WorkloadWorker {
    /// The worker core's settings: these fields over the core's defaults.
    pub fn to_settings(&self, scratch_dir: PathBuf) -> WorkerSettings {
        WorkerSettings {
            jobs_between_cache_clear: self.jobs_between_cache_clear,
            options_cache_size: self.options_cache_size,
            max_jobs: self.max_jobs,
            model_scale: self.model_scale,
            scenarios: self.scenarios.clone(),
            scratch_dir,
            ..WorkerSettings::default()
        }
    }
}

/// A document: a file (`path`, relative to the workload file) or a generated one
/// (`generate`). Exactly one of the two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSpec {
    /// The id jobs refer to it by.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<GeneratedDocument>,
}

/// A document generated deterministically from its description (so that a workload recorded
/// from a docling-serve log, which knows only sizes and page counts, can be replayed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratedDocument {
    pub format: DocumentFormat,
    /// Pages (PDF), sections or tables for the other formats.
    pub pages: u32,
    /// Target size of the file in bytes.
    pub size_bytes: u64,
    /// Seed of the generator: same description, same bytes.
    #[serde(default)]
    pub seed: u64,
    /// File name to give it (default `<id>.<extension>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
}

/// How a job hands its documents to the worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceMode {
    /// A path on the worker's disk.
    #[default]
    File,
    /// Inline base64 bytes, as docling-serve's HTTP API sends them.
    Base64,
}

/// One job of the list: a task over some documents with some options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    pub name: String,
    #[serde(default = "default_task_type")]
    pub task_type: TaskType,
    #[serde(default)]
    pub options: ConversionOptions,
    /// Ids of the documents this job converts.
    pub documents: Vec<String>,
    #[serde(default)]
    pub sources: SourceMode,
}

fn default_task_type() -> TaskType {
    TaskType::Convert
}

impl Workload {
    /// The jobs in run order: the job list `repeat` times.
    pub fn planned_jobs(&self) -> impl Iterator<Item = &JobSpec> + '_ {
        (0..self.repeat).flat_map(move |_| self.jobs.iter())
    }

    /// Number of jobs a run executes.
    pub fn job_count(&self) -> u64 {
        self.jobs.len() as u64 * u64::from(self.repeat)
    }

    pub fn document(&self, id: &str) -> Option<&DocumentSpec> {
        self.documents.iter().find(|d| d.id == id)
    }
}
