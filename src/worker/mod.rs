//! The worker core: a Rust docling-serve RQ worker, faithful where memory is concerned.
//!
//! A [`Task`] (sources + [`ConversionOptions`]) runs as one job of a [`Worker`]: the converter
//! manager looks up (or builds) a converter by the options' cache key (an LRU), the converter
//! looks up (or builds) a pipeline (loading its models), the pipeline parses each document into
//! the document model and the exporters turn it into the requested formats. The job loop counts
//! jobs, clears caches every N jobs and asks to be recycled after `max_jobs`.
//!
//! API used by the runner (the child process):
//! - `Worker::new(WorkerSettings) -> Worker` logs `[WORKER START]`;
//! - `Worker::run_job(&mut self, job_id, Task) -> JobReport` runs one job and logs its lines
//!   through to `[MEMORY]`;
//! - `Worker::clear_is_due(&self) -> bool` and `Worker::clear_caches(&mut self) -> CacheClear`
//!   (logs `[CACHE CLEAR]`); `Worker::process(job_id, Task)` does both in order;
//! - `Worker::state(&self) -> WorkerState`; `Worker::wants_recycle(&self) -> bool`.

pub mod converter;
pub mod document;
pub mod export;
pub mod job;
pub mod loglines;
pub mod models;
pub mod options;
pub mod owners;
pub mod pipeline;
pub mod scenarios;
pub mod settings;
pub mod task;

pub use converter::{Converter, ConverterManager};
pub use job::Worker;
pub use options::{
    ConversionOptions, ImageExportMode, OcrEngine, OutputFormat, PipelineKind, TableMode,
};
pub use task::{ConversionResult, JobReport, Source, Task, TaskType};

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Growth causes found in the real service, each a real code path, off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeakScenario {
    /// A map instead of the LRU: every new option set loads every model again (docling-serve < 0.6).
    UnboundedConverterCache,
    /// Finished results kept by the worker, as the results store did before docling-jobkit 1.9.
    RetainResults,
    /// A second converter manager that the cache clear does not reach (docling-jobkit < 1.9).
    UnclearedWorkerManagers,
    /// Every page's image kept for the document's lifetime and beyond.
    PageImages,
    /// The never-pruned hash -> options side map.
    OptionsSideMap,
}

impl LeakScenario {
    /// The scenario's name as settings and workloads spell it (`page_images`).
    pub fn as_str(self) -> &'static str {
        match self {
            LeakScenario::UnboundedConverterCache => "unbounded_converter_cache",
            LeakScenario::RetainResults => "retain_results",
            LeakScenario::UnclearedWorkerManagers => "uncleared_worker_managers",
            LeakScenario::PageImages => "page_images",
            LeakScenario::OptionsSideMap => "options_side_map",
        }
    }

    /// The scenario a name spells, or `None`.
    pub fn from_name(name: &str) -> Option<LeakScenario> {
        LeakScenario::ALL
            .into_iter()
            .find(|s| s.as_str() == name.trim())
    }

    pub const ALL: [LeakScenario; 5] = [
        LeakScenario::UnboundedConverterCache,
        LeakScenario::RetainResults,
        LeakScenario::UnclearedWorkerManagers,
        LeakScenario::PageImages,
        LeakScenario::OptionsSideMap,
    ];
}

/// The worker's settings, with docling-serve's environment variable names and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    pub name: String,
    pub queue: String,
    /// `DOCLING_SERVE_JOBS_BETWEEN_CACHE_CLEAR` (default 3, 0 = never).
    pub jobs_between_cache_clear: u32,
    /// `DOCLING_SERVE_OPTIONS_CACHE_SIZE` (default 2).
    pub options_cache_size: usize,
    /// `DOCLING_SERVE_RQ_MAX_JOBS` (0 = unlimited).
    pub max_jobs: u32,
    /// `DOCLING_MEMPROF_MODEL_SCALE`: fraction of the real model sizes (1.0 = real sizes).
    pub model_scale: f64,
    /// `DOCLING_SERVE_ARTIFACTS_PATH`: folder of safetensors weights, when present.
    pub artifacts_path: Option<PathBuf>,
    pub scratch_dir: PathBuf,
    pub scenarios: Vec<LeakScenario>,
    /// Prefix log lines with `INFO:docling_serve.rq_worker_instrumented:`.
    pub log_prefix: bool,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            name: "docling-worker".into(),
            queue: "convert".into(),
            jobs_between_cache_clear: 3,
            options_cache_size: 2,
            max_jobs: 0,
            model_scale: 1.0,
            artifacts_path: None,
            scratch_dir: std::env::temp_dir().join("docling-memprof-scratch"),
            scenarios: Vec::new(),
            log_prefix: true,
        }
    }
}

impl WorkerSettings {
    /// Whether a leak scenario is switched on.
    pub fn has(&self, scenario: LeakScenario) -> bool {
        self.scenarios.contains(&scenario)
    }
}

/// Why the worker core could not start or could not load what a job needs.
/// A failed document is not a `WorkerError`: it fails its job, recorded in the job's report.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// An environment variable (or setting) that cannot be used.
    #[error("{variable}={value:?}: {message}")]
    Setting {
        variable: String,
        value: String,
        message: String,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A model's weights could not be read from the artifacts folder.
    #[error("model {model}: {message}")]
    Model { model: String, message: String },
}

impl From<WorkerError> for crate::Error {
    fn from(err: WorkerError) -> Self {
        match err {
            WorkerError::Setting { .. } => crate::Error::Usage(err.to_string()),
            WorkerError::Io { context, source } => crate::Error::Io { context, source },
            WorkerError::Model { .. } => crate::Error::Internal(err.to_string()),
        }
    }
}

// The worker core's counted types. Cache entries: a converter is the converter cache's entry,
// a pipeline the pipeline cache's, a side-map entry the options side map's.
crate::censused! {
    crate::worker::document::Document => "Document",
    crate::worker::document::Page => "Page",
    crate::worker::document::Item => "Item",
    crate::worker::document::Table => "Table",
    crate::worker::document::TableCell => "TableCell",
    crate::worker::pipeline::PageImage => "PageImage",
    crate::worker::pipeline::Pipeline => "Pipeline",
    crate::worker::models::Model => "Model",
    crate::worker::converter::Converter => "Converter",
    crate::worker::converter::ConverterManager => "ConverterManager",
    crate::worker::converter::SideMapEntry => "SideMapEntry",
    crate::worker::task::ConversionResult => "ConversionResult",
}
