//! The trajectory: the one shape both replay reports and docling-serve logs are read into.
//! Memory values are in MiB (`_mb`), as the seed's logs print them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::record::OutcomeKind;

/// Where a trajectory came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Replay,
    Log,
}

/// One job's point.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobPoint {
    /// 1-based job number in the run.
    pub job: u64,
    /// Worker process that ran it (0-based; a change means the worker was restarted).
    pub worker_index: u32,
    pub outcome: OutcomeKind,
    pub duration_secs: Option<f64>,
    /// RSS right after the job (before any clear).
    pub rss_mb: Option<f64>,
    /// Allocator live bytes after the job.
    pub live_mb: Option<f64>,
    /// Allocator resident bytes after the job (before purge).
    pub resident_mb: Option<f64>,
    /// Allocator resident bytes after a purge (jemalloc).
    pub resident_after_purge_mb: Option<f64>,
    /// Allocator active bytes (jemalloc), for fragmentation.
    pub active_mb: Option<f64>,
    /// Peak RSS during the job (sampled by the parent).
    pub peak_rss_mb: Option<f64>,
    /// Model bytes cached by the worker.
    pub model_mb: Option<f64>,
    /// Live counts by type (census).
    #[serde(default)]
    pub type_counts: BTreeMap<String, f64>,
    /// Live bytes by allocation site (MiB).
    #[serde(default)]
    pub site_mb: BTreeMap<String, f64>,
    /// The job's kind, for attributing growth to inputs: the workload job's name (replay),
    /// or the document type, pipeline, OCR engine and output formats (logs).
    /// Shared: the jobs of one kind hold one string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<std::sync::Arc<str>>,
}

/// A cache clear: memory just before (after the job) and just after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClearPoint {
    /// The job after which the clear ran.
    pub job: u64,
    pub before_mb: f64,
    pub after_mb: f64,
    pub freed_mb: f64,
    /// Live bytes after the clear, when the allocator was read.
    pub live_after_mb: Option<f64>,
    pub live_before_mb: Option<f64>,
    /// Allocator resident bytes after the clear, when the allocator was read.
    #[serde(default)]
    pub resident_after_mb: Option<f64>,
    /// Live counts by type after the clear (census), when taken.
    #[serde(default)]
    pub type_counts_after: BTreeMap<String, f64>,
}

/// A run's memory trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    pub source: SourceKind,
    /// The file or run folder it was read from.
    pub origin: String,
    /// Baseline RSS before the first job, when known.
    pub baseline_rss_mb: Option<f64>,
    pub baseline_live_mb: Option<f64>,
    pub points: Vec<JobPoint>,
    pub clears: Vec<ClearPoint>,
    /// Memory limit the run was under, when known (MiB).
    pub memory_limit_mb: Option<f64>,
    /// Lines of a log that could not be read (logs only).
    pub unreadable_lines: u64,
}
