//! `minimize`'s report as plain data (`steps.json`): every candidate replayed, its verdict,
//! and the smallest workload that still leaks.

use serde::{Deserialize, Serialize};

/// The version of `steps.json`.
pub const STEPS_SCHEMA_VERSION: u32 = 1;

/// One replayed candidate (or the original).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinimizeStep {
    /// 0 for the original, then 1, 2, ...
    pub index: usize,
    /// `original`, `jobs`, `documents`, `options`, `final`.
    pub phase: String,
    /// What the candidate kept: job names, document ids or option sets.
    pub kept: Vec<String>,
    /// Jobs the candidate's replay ran (its list times its repeat).
    pub jobs_planned: u64,
    /// The candidate's folder (its `workload.json` and run folders), relative to the output.
    pub folder: String,
    /// The verdict of the judged series in each trial (`leak`, `no_leak`, ...).
    pub calls: Vec<String>,
    /// Its slope per job in each trial.
    pub slopes: Vec<f64>,
    /// Still a leak with at least the kept share of the original slope, in every trial.
    pub passed: bool,
    pub secs: f64,
}

/// `steps.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinimizeReport {
    pub schema_version: u32,
    pub workload_path: String,
    /// The series judged (the original's headline: `live_mb`, `rss_mb`).
    pub series: String,
    pub original_slope: f64,
    /// The share of the original slope a candidate must keep (`--keep`).
    pub keep: f64,
    /// Jobs each candidate's replay runs at least (its list repeated).
    pub target_jobs: u64,
    /// Replays per candidate; every one must pass.
    pub trials: u32,
    pub steps: Vec<MinimizeStep>,
    /// The smallest workload found (`minimal.json`), relative to the output folder.
    pub minimal_path: Option<String>,
    pub minimal_jobs: Vec<String>,
    pub minimal_documents: Vec<String>,
    pub minimal_option_sets: usize,
    pub original_jobs: usize,
    pub original_documents: usize,
    pub original_option_sets: usize,
    pub final_slope: Option<f64>,
    /// Replays run (trials included), the original's among them.
    pub replays: usize,
    pub wall_time_secs: f64,
    /// The search reached its end (false: interrupted; the steps so far are kept).
    pub complete: bool,
    pub summary: String,
}
