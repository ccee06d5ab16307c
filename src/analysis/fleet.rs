//! A fleet: many workers' logs, each judged like a single `logs` run, one row per worker,
//! the worst first. Plain data: built by the caller from each worker's analysis, ordered
//! here ([`FleetReport::new`]), drawn by `render::fleet`.
//!
//! **Order** (worst first): by the verdict's call, `leak`, then `slow_growth`, then
//! `inconclusive`, then a log that could not be read, then `no_leak`; within a call, the
//! steeper RSS slope per job first; then the worker's name.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::{LeakCall, Pattern};

/// The order of the rows, as the report and `--json` state it.
pub const FLEET_ORDER: &str = "worst first: leak, slow_growth, inconclusive, unreadable log, no_leak; then the steeper RSS slope per job; then the name";

/// Why a worker's log gave no verdict: the file and the place in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetError {
    pub file: String,
    /// `file`, `line 12`, ...
    pub place: String,
    pub message: String,
}

impl std::fmt::Display for FleetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.place, self.message)
    }
}

/// One worker of the fleet: its log's verdict and numbers, or the error that stopped it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FleetWorker {
    /// The log's file stem (`pod-a` for `pod-a.log`), made unique within the fleet.
    pub name: String,
    /// The log file.
    pub log: String,
    /// The worker's own report folder, relative to the fleet's (`None` without files).
    pub report_dir: Option<String>,
    /// `null` when the log could not be judged (see `error`).
    pub call: Option<LeakCall>,
    /// `true` leak, `false` no leak, `null` inconclusive or unreadable.
    pub leak: Option<bool>,
    pub pattern: Option<Pattern>,
    pub slope_mb_per_job: Option<f64>,
    pub slope_ci_mb_per_job: Option<(f64, f64)>,
    pub peak_rss_mb: Option<f64>,
    pub last_rss_mb: Option<f64>,
    pub jobs: u64,
    /// Jobs whose `[MEMORY]` line never came: the worker died in them (or the log ends there).
    pub deaths: u64,
    /// `[WORKER START]` lines after the first.
    pub restarts: u32,
    pub failed_jobs: u64,
    pub cache_clears: u64,
    pub mean_freed_mb: Option<f64>,
    pub total_freed_mb: f64,
    pub projected_limit_job: Option<u64>,
    pub unreadable_lines: u64,
    /// The verdict in a sentence.
    pub summary: Option<String>,
    pub error: Option<FleetError>,
    /// RSS by job, for the fleet chart (not in JSON: each worker's report holds it).
    #[serde(skip)]
    pub rss: Vec<(u64, f64)>,
}

impl FleetWorker {
    /// A worker whose log could not be read or judged.
    pub fn unreadable(name: &str, log: &str, error: FleetError) -> FleetWorker {
        FleetWorker {
            name: name.to_string(),
            log: log.to_string(),
            error: Some(error),
            ..FleetWorker::default()
        }
    }

    /// The rank of the row's call in [`FLEET_ORDER`] (0 is the worst).
    pub fn rank(&self) -> u8 {
        match (self.call, &self.error) {
            (_, Some(_)) | (None, None) => 3,
            (Some(LeakCall::Leak), None) => 0,
            (Some(LeakCall::SlowGrowth), None) => 1,
            (Some(LeakCall::Inconclusive), None) => 2,
            (Some(LeakCall::NoLeak), None) => 4,
        }
    }

    fn worse_than(&self, other: &FleetWorker) -> Ordering {
        let slope = |w: &FleetWorker| w.slope_mb_per_job.filter(|s| s.is_finite());
        self.rank()
            .cmp(&other.rank())
            .then_with(|| match (slope(self), slope(other)) {
                (Some(a), Some(b)) => b.total_cmp(&a),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
            .then_with(|| self.name.cmp(&other.name))
    }
}

/// Every worker of a fleet, the worst first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetReport {
    /// The rows' order ([`FLEET_ORDER`]).
    pub order: String,
    pub workers: Vec<FleetWorker>,
    /// Workers judged (their log read).
    pub judged: usize,
    /// Workers whose log could not be read (each row holds its error).
    pub unreadable: usize,
    pub leaks: usize,
    pub memory_limit_mb: Option<f64>,
    pub horizon_jobs: u64,
}

impl FleetReport {
    /// The fleet of these workers, put in [`FLEET_ORDER`].
    pub fn new(
        mut workers: Vec<FleetWorker>,
        memory_limit_mb: Option<f64>,
        horizon_jobs: u64,
    ) -> FleetReport {
        workers.sort_by(|a, b| a.worse_than(b));
        let unreadable = workers.iter().filter(|w| w.error.is_some()).count();
        FleetReport {
            order: FLEET_ORDER.to_string(),
            judged: workers.len() - unreadable,
            unreadable,
            leaks: workers
                .iter()
                .filter(|w| w.call == Some(LeakCall::Leak))
                .count(),
            workers,
            memory_limit_mb,
            horizon_jobs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(name: &str, call: LeakCall, slope: f64) -> FleetWorker {
        FleetWorker {
            name: name.into(),
            call: Some(call),
            slope_mb_per_job: Some(slope),
            ..FleetWorker::default()
        }
    }

    #[test]
    fn the_worst_comes_first() {
        let bad = FleetError {
            file: "x.log".into(),
            place: "line 3".into(),
            message: "no".into(),
        };
        let report = FleetReport::new(
            vec![
                worker("flat", LeakCall::NoLeak, 0.0),
                FleetWorker::unreadable("broken", "x.log", bad),
                worker("slow", LeakCall::SlowGrowth, 9.0),
                worker("leak-small", LeakCall::Leak, 0.5),
                worker("unsure", LeakCall::Inconclusive, 3.0),
                worker("leak-big", LeakCall::Leak, 2.0),
            ],
            None,
            1000,
        );
        let names: Vec<&str> = report.workers.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(
            names,
            ["leak-big", "leak-small", "slow", "unsure", "broken", "flat"]
        );
        assert_eq!((report.judged, report.unreadable, report.leaks), (5, 1, 2));
    }
}
