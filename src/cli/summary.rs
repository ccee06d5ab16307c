//! The one-line and `--json` summary of a replay, from its analysis.

use std::path::PathBuf;

use serde::Serialize;

use crate::analysis::RunVerdict;
use crate::engine::RunAnalysis;
use crate::record::{AllocatorKind, Isolation, JobOutcome, RunStatus};
use crate::units::format_duration;
use crate::{Error, Result};

/// The machine-readable summary of a run (`--json`).
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_dir: String,
    pub workload: String,
    pub allocator: Option<AllocatorKind>,
    pub isolation: Isolation,
    pub status: RunStatus,
    pub status_message: Option<String>,
    pub jobs: u64,
    pub jobs_succeeded: u64,
    pub jobs_failed: u64,
    pub jobs_died: u64,
    pub workers_started: u32,
    pub cache_clears: u64,
    pub wall_time_secs: Option<f64>,
    pub baseline_rss_bytes: Option<u64>,
    pub last_rss_bytes: Option<u64>,
    pub max_peak_rss_bytes: Option<u64>,
    pub baseline_live_bytes: Option<u64>,
    pub last_live_bytes: Option<u64>,
}

impl RunSummary {
    pub fn new(analysis: &RunAnalysis) -> RunSummary {
        let (manifest, records) = (&analysis.manifest, &analysis.records);
        let count =
            |f: fn(&JobOutcome) -> bool| records.iter().filter(|r| f(&r.outcome)).count() as u64;
        let last = records.iter().rev().find_map(|r| r.after_job.as_ref());
        let baseline = manifest.baselines.first();
        let rss = |s: &crate::record::Snapshot| s.process.as_ref().map(|p| p.rss_bytes);
        let live = |s: &crate::record::Snapshot| s.allocator.as_ref().and_then(|a| a.live_bytes());
        RunSummary {
            run_dir: analysis.dir.display().to_string(),
            workload: manifest.workload_name.clone(),
            allocator: manifest.allocator,
            isolation: manifest.isolation,
            status: manifest.status,
            status_message: manifest.status_message.clone(),
            jobs: records.len() as u64,
            jobs_succeeded: count(|o| matches!(o, JobOutcome::Success)),
            jobs_failed: count(|o| matches!(o, JobOutcome::Failed { .. })),
            jobs_died: count(|o| matches!(o, JobOutcome::Died { .. })),
            workers_started: manifest.workers_started,
            cache_clears: records.iter().filter(|r| r.cache_clear.is_some()).count() as u64,
            wall_time_secs: manifest.wall_time_secs,
            baseline_rss_bytes: baseline.and_then(rss),
            last_rss_bytes: last.and_then(rss),
            max_peak_rss_bytes: records.iter().filter_map(|r| r.peak_rss_bytes).max(),
            baseline_live_bytes: baseline.and_then(live),
            last_live_bytes: last.and_then(live),
        }
    }

    pub fn one_line(&self) -> String {
        format!(
            "{}: {} job(s) ({} ok, {} failed, {} died) on {} worker(s), {} clear(s), {} [{}, {}] -> {}",
            self.status,
            self.jobs,
            self.jobs_succeeded,
            self.jobs_failed,
            self.jobs_died,
            self.workers_started,
            self.cache_clears,
            self.wall_time_secs.map(format_duration).unwrap_or_else(|| "-".into()),
            self.allocator.map_or("worker's own", AllocatorKind::as_str),
            self.isolation.as_str(),
            self.run_dir
        )
    }
}

/// Print the summary's fields at the top level, plus the verdict and the files written.
pub fn print_json(summary: &RunSummary, verdict: &RunVerdict, written: &[PathBuf]) -> Result<()> {
    let mut report =
        serde_json::to_value(summary).map_err(|e| Error::Internal(format!("summary: {e}")))?;
    if let Some(map) = report.as_object_mut() {
        let verdict =
            serde_json::to_value(verdict).map_err(|e| Error::Internal(format!("verdict: {e}")))?;
        map.insert("verdict".into(), verdict);
        map.insert("files".into(), serde_json::json!(written));
    }
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| Error::Internal(format!("summary: {e}")))?;
    crate::cli::print(&text)
}
