//! Reading docling-serve worker logs into a [`crate::analysis::Trajectory`], judging them like
//! a replay, and turning them into a replayable workload ([`record`]). One parser
//! ([`LogParser`], fed a line at a time) reads whole files and live tails ([`LogTail`]).

mod builder;
pub mod chunked;
pub mod feed;
pub mod limits;
mod mapped;
pub mod parse;
pub mod record;
pub mod tail;
mod text;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::analysis::{
    clears::clear_table, judge_run, Cause, ClearSummary, LeakCall, OutcomeKind, Pattern,
    RunVerdict, SeriesVerdict, Trajectory, VerdictParams,
};
pub use feed::LogParser;
pub use limits::{LogError, LogLimits};
pub use parse::{
    parse_file, parse_file_with, parse_reader, parse_reader_with, LogDocument, LogJob, LogTask,
    ParsedLog, UnreadableLine,
};
pub use tail::LogTail;

/// The headline verdict of a log, in the shape `logs --json` promises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogVerdict {
    /// The series judged (`rss_mb` for logs).
    pub series: String,
    /// `true` leak, `false` no leak, `null` inconclusive.
    pub leak: Option<bool>,
    pub call: LeakCall,
    pub pattern: Pattern,
    pub slope_mb_per_job: f64,
    pub slope_ci_mb_per_job: (f64, f64),
    pub trend_p_value: f64,
    pub total_growth_mb: f64,
    pub noise_sigma_mb: f64,
    pub warmup_jobs: u64,
    pub jobs_to_decide: Option<u64>,
    pub projected_limit_job: Option<u64>,
    pub summary: String,
}

impl From<&SeriesVerdict> for LogVerdict {
    fn from(v: &SeriesVerdict) -> Self {
        LogVerdict {
            series: v.series.clone(),
            leak: v.leak,
            call: v.call,
            pattern: v.pattern,
            slope_mb_per_job: v.slope_per_job,
            slope_ci_mb_per_job: v.slope_ci,
            trend_p_value: v.trend_p_value,
            total_growth_mb: v.total_growth,
            noise_sigma_mb: v.noise_sigma,
            warmup_jobs: v.warmup_jobs,
            jobs_to_decide: v.jobs_to_decide,
            projected_limit_job: v.projected_limit_job,
            summary: v.summary.clone(),
        }
    }
}

/// One row of the seed's clear table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClearRow {
    pub job: u64,
    pub before_mb: f64,
    pub after_mb: f64,
    pub freed_mb: f64,
}

/// Line counts of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineCounts {
    pub total: u64,
    pub other: u64,
    pub unreadable: u64,
    pub unreadable_examples: Vec<UnreadableLine>,
}

/// Everything `logs` reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogAnalysis {
    pub origin: String,
    pub verdict: LogVerdict,
    pub cache_clears: Vec<ClearRow>,
    pub clear_summary: ClearSummary,
    pub cause: Cause,
    pub jobs: u64,
    pub workers_started: u32,
    pub jobs_between_cache_clear: Option<u64>,
    pub lines: LineCounts,
    pub trajectory: Trajectory,
    /// The full verdict (every series), for render.
    pub run_verdict: RunVerdict,
}

/// Analyse a parsed log.
pub fn analyse(
    log: &ParsedLog,
    memory_limit_mb: Option<f64>,
    params: &VerdictParams,
) -> LogAnalysis {
    let trajectory = log.trajectory(memory_limit_mb);
    let run_verdict = judge_run(&trajectory, params);
    let cache_clears = clear_table(&trajectory)
        .iter()
        .map(|c| ClearRow {
            job: c.job,
            before_mb: c.before_mb,
            after_mb: c.after_mb,
            freed_mb: c.freed_mb,
        })
        .collect();
    LogAnalysis {
        origin: log.origin.clone(),
        verdict: LogVerdict::from(&run_verdict.primary),
        cache_clears,
        clear_summary: run_verdict.clear_summary.clone(),
        cause: run_verdict.cause.clone(),
        jobs: log.jobs.len() as u64,
        workers_started: log.workers_started,
        jobs_between_cache_clear: log.jobs_between_cache_clear,
        lines: LineCounts {
            total: log.lines_total,
            other: log.lines_other,
            unreadable: log.unreadable_count,
            unreadable_examples: log.unreadable.clone(),
        },
        trajectory,
        run_verdict,
    }
}

/// Read (within `limits`) and analyse a log file. A log without a single `[MEMORY]` line is
/// bad input.
pub fn analyse_file(
    path: &Path,
    limits: &LogLimits,
    memory_limit_mb: Option<f64>,
    params: &VerdictParams,
) -> crate::Result<LogAnalysis> {
    let summaries = LogLimits {
        keep_details: false,
        ..limits.clone()
    };
    let log = read_memory_log(path, &summaries)?;
    Ok(analyse(&log, memory_limit_mb, params))
}

/// Read (within `limits`) a log file that has at least one `[MEMORY]` line (without one it is
/// bad input: not an instrumented worker's log).
pub fn read_memory_log(path: &Path, limits: &LogLimits) -> crate::Result<ParsedLog> {
    let log = parse_file_with(path, limits)?;
    if !log.jobs.iter().any(|j| j.rss_mb.is_some()) {
        return Err(crate::Error::bad_input(
            path,
            "file",
            format!(
                "no [MEMORY] line found in {} line(s) ({} unreadable): is this an instrumented docling-serve worker log?",
                log.lines_total, log.unreadable_count
            ),
        ));
    }
    Ok(log)
}

impl LogAnalysis {
    /// This log's row of a fleet report: the headline verdict and the worker's numbers.
    pub fn fleet_worker(&self, name: &str) -> crate::analysis::fleet::FleetWorker {
        let points = &self.trajectory.points;
        let rss: Vec<(u64, f64)> = points
            .iter()
            .filter_map(|p| p.rss_mb.map(|r| (p.job, r)))
            .collect();
        let outcome = |o: OutcomeKind| points.iter().filter(|p| p.outcome == o).count() as u64;
        let v = &self.verdict;
        crate::analysis::fleet::FleetWorker {
            name: name.to_string(),
            log: self.origin.clone(),
            report_dir: None,
            call: Some(v.call),
            leak: v.leak,
            pattern: Some(v.pattern),
            slope_mb_per_job: Some(v.slope_mb_per_job),
            slope_ci_mb_per_job: Some(v.slope_ci_mb_per_job),
            peak_rss_mb: rss.iter().map(|p| p.1).reduce(f64::max),
            last_rss_mb: rss.last().map(|p| p.1),
            jobs: self.jobs,
            deaths: outcome(OutcomeKind::Died),
            restarts: self.workers_started.saturating_sub(1),
            failed_jobs: outcome(OutcomeKind::Failed),
            cache_clears: self.cache_clears.len() as u64,
            mean_freed_mb: self.clear_summary.mean_freed_mb,
            total_freed_mb: self.cache_clears.iter().map(|c| c.freed_mb).sum(),
            projected_limit_job: v.projected_limit_job,
            unreadable_lines: self.lines.unreadable,
            summary: Some(v.summary.clone()),
            error: None,
            rss,
        }
    }
}
