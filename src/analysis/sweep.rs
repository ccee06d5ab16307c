//! What a sweep compares: per policy, the numbers a worker's owner chooses by (memory ceiling,
//! floor slope, verdict, throughput, time lost to reloads and restarts, deaths, the projected
//! limit crossing), the Pareto front of ceiling against throughput, and the recommendation.
//! Plain data computed from each run's records and verdict; `render` draws it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::verdict::{LeakCall, Pattern, RunVerdict, SeriesVerdict};
use crate::record::{Axes, JobOutcome, JobRecord, Policy, RunManifest, RunStatus};
use crate::units::MIB;

/// The series whose slope and projection a sweep reports: RSS, what a memory limit sees.
pub const CEILING_SERIES: &str = "rss_mb";

/// How a policy's run died, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyDeath {
    pub job: u64,
    /// `memory_limit`, `signal`, `timeout`, ...
    pub kind: String,
    pub reason: String,
}

/// The numbers of one policy's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyMetrics {
    pub status: RunStatus,
    pub jobs_planned: Option<u64>,
    /// Records written (a death is a record).
    pub jobs_run: u64,
    pub jobs_succeeded: u64,
    /// The highest RSS seen: the parent's peak during each job and the RSS after it (MiB).
    pub peak_rss_mb: Option<f64>,
    /// The run's headline verdict (as `replay` reports it).
    pub call: LeakCall,
    pub pattern: Pattern,
    /// The series of the headline (`live_mb`, `rss_mb`).
    pub verdict_series: String,
    /// The slope of RSS's floor per job ([`CEILING_SERIES`]), with its 95% interval.
    pub slope_mb_per_job: Option<f64>,
    pub slope_ci: Option<(f64, f64)>,
    /// The RSS series' own call (its growth decides the projection).
    pub slope_call: Option<LeakCall>,
    pub wall_time_secs: Option<f64>,
    /// Succeeded jobs per second of wall time (worker starts, snapshots and reloads included).
    pub jobs_per_sec: Option<f64>,
    pub p95_job_secs: Option<f64>,
    /// Jobs that ran cold (the first on a fresh worker or after a clear), the run's first left out.
    pub cold_jobs: u64,
    /// Estimated time cold jobs spent above the warm median of their workload job: models
    /// loaded again after clears and restarts (see [`cold_excess`]); `None` without a warm
    /// reference.
    pub reload_secs: Option<f64>,
    /// Time workers took to start after the first (process start to baseline, their own clock).
    pub restart_secs: Option<f64>,
    /// Wall time outside the jobs: worker starts, snapshots, the protocol.
    pub outside_jobs_secs: Option<f64>,
    pub workers_started: u32,
    pub cache_clears: u64,
    pub death: Option<PolicyDeath>,
    pub memory_limit_mb: Option<f64>,
    /// The job at which RSS projects to reach the limit (the analysis' projection).
    pub projected_limit_job: Option<u64>,
    pub horizon_jobs: u64,
    /// The ceiling projected to the horizon: the peak, plus the RSS slope times the jobs left
    /// when RSS's growth is real (`leak`, `slow_growth`). `None` for a run that died or has no RSS.
    pub projected_peak_mb: Option<f64>,
    /// Limit minus the projected ceiling (MiB); negative: over.
    pub margin_mb: Option<f64>,
}

impl PolicyMetrics {
    /// The metrics of one run. `warm` holds the warm median duration per workload job
    /// ([`warm_medians`]) that the reload estimate compares cold jobs against.
    pub fn of(
        manifest: &RunManifest,
        records: &[JobRecord],
        verdict: &RunVerdict,
        horizon_jobs: u64,
        warm: &BTreeMap<String, f64>,
    ) -> PolicyMetrics {
        let ok = |r: &&JobRecord| matches!(r.outcome, JobOutcome::Success);
        let jobs_succeeded = records.iter().filter(ok).count() as u64;
        let peak_rss_mb = records
            .iter()
            .flat_map(|r| [r.peak_rss_bytes, after_rss(r)])
            .flatten()
            .max()
            .map(|b| b as f64 / MIB);
        let rss = verdict.series.iter().find(|s| s.series == CEILING_SERIES);
        let death = records.iter().find_map(|r| match &r.outcome {
            JobOutcome::Died { death, reason } => Some(PolicyDeath {
                job: r.job,
                kind: death.kind().to_string(),
                reason: reason.clone(),
            }),
            _ => None,
        });
        let mut durations: Vec<f64> = records.iter().filter(ok).map(|r| r.duration_secs).collect();
        durations.sort_by(f64::total_cmp);
        let wall = manifest.wall_time_secs;
        let (cold_jobs, reload_secs) = cold_excess(records, warm);
        let memory_limit_mb = manifest.memory_limit_bytes.map(|b| b as f64 / MIB);
        let projected_peak_mb = match (&death, peak_rss_mb) {
            (None, Some(peak)) => Some(project(peak, rss, horizon_jobs, records.len() as u64)),
            _ => None,
        };
        PolicyMetrics {
            status: manifest.status,
            jobs_planned: manifest.jobs_planned,
            jobs_run: records.len() as u64,
            jobs_succeeded,
            peak_rss_mb,
            call: verdict.primary.call,
            pattern: verdict.primary.pattern,
            verdict_series: verdict.primary.series.clone(),
            slope_mb_per_job: rss.map(|s| s.slope_per_job).filter(|v| v.is_finite()),
            slope_ci: rss.map(|s| s.slope_ci),
            slope_call: rss.map(|s| s.call),
            wall_time_secs: wall,
            jobs_per_sec: wall.filter(|w| *w > 0.0).map(|w| jobs_succeeded as f64 / w),
            p95_job_secs: quantile(&durations, 0.95),
            cold_jobs,
            reload_secs,
            restart_secs: restart_secs(manifest),
            outside_jobs_secs: wall
                .map(|w| (w - records.iter().map(|r| r.duration_secs).sum::<f64>()).max(0.0)),
            workers_started: manifest.workers_started,
            cache_clears: records.iter().filter(|r| r.cache_clear.is_some()).count() as u64,
            death,
            memory_limit_mb,
            projected_limit_job: rss.and_then(|s| s.projected_limit_job),
            horizon_jobs,
            projected_peak_mb,
            margin_mb: memory_limit_mb.zip(projected_peak_mb).map(|(l, p)| l - p),
        }
    }

    /// The run finished its jobs or died on its own: a result (an interrupted run is not).
    pub fn is_result(&self) -> bool {
        matches!(self.status, RunStatus::Completed | RunStatus::ChildDied)
    }

    /// Stays under the limit over the horizon (without a limit: is not a leak).
    pub fn acceptable(&self) -> bool {
        if self.status != RunStatus::Completed || self.death.is_some() {
            return false;
        }
        match (self.memory_limit_mb, self.margin_mb) {
            (Some(_), Some(margin)) => margin >= 0.0,
            (Some(_), None) => false,
            (None, _) => self.call != LeakCall::Leak,
        }
    }
}

fn after_rss(r: &JobRecord) -> Option<u64> {
    r.after_job
        .as_ref()
        .and_then(|s| s.process.as_ref())
        .map(|p| p.rss_bytes)
}

/// The peak plus what RSS adds until the horizon when its growth is real (`leak` or
/// `slow_growth`); an inconclusive or flat RSS projects no growth (its slope is noise as far
/// as the run can tell: the table shows it with its interval).
fn project(peak: f64, rss: Option<&SeriesVerdict>, horizon: u64, jobs: u64) -> f64 {
    match rss {
        Some(s)
            if matches!(s.call, LeakCall::Leak | LeakCall::SlowGrowth)
                && s.slope_per_job.is_finite() =>
        {
            peak + s.slope_per_job.max(0.0) * horizon.saturating_sub(jobs) as f64
        }
        _ => peak,
    }
}

/// The `q` quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// A job that ran cold: the first on its worker, or the first after a clear on the same worker.
fn cold_flags(records: &[JobRecord]) -> Vec<bool> {
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            r.worker_jobs_total <= 1
                || i.checked_sub(1).is_some_and(|p| {
                    records[p].worker_index == r.worker_index && records[p].cache_clear.is_some()
                })
        })
        .collect()
}

/// The median duration of warm successful jobs per workload job, over every run given (a
/// process-per-job run has no warm job of its own: other policies' runs are its reference),
/// and over all of them under [`ANY_JOB`].
pub fn warm_medians(runs: &[&[JobRecord]]) -> BTreeMap<String, f64> {
    let mut by_job: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for records in runs {
        for (r, cold) in records.iter().zip(cold_flags(records)) {
            if !cold && matches!(r.outcome, JobOutcome::Success) {
                by_job
                    .entry(r.workload_job.clone())
                    .or_default()
                    .push(r.duration_secs);
            }
        }
    }
    let mut all: Vec<f64> = by_job.values().flatten().copied().collect();
    let mut out: BTreeMap<String, f64> = by_job
        .into_iter()
        .filter_map(|(k, mut v)| median(&mut v).map(|m| (k, m)))
        .collect();
    if let Some(m) = median(&mut all) {
        out.insert(ANY_JOB.to_string(), m);
    }
    out
}

/// The key of [`warm_medians`] holding the median over every workload job: the reference of
/// a workload job that never ran warm (each job its own option set, cleared after each job).
pub const ANY_JOB: &str = "";

/// Cold jobs (the run's first left out: every policy loads the models once) and the time they
/// spent above the warm median of their workload job, summed: the reloads a policy pays for.
pub fn cold_excess(records: &[JobRecord], warm: &BTreeMap<String, f64>) -> (u64, Option<f64>) {
    let mut count = 0;
    let mut secs = 0.0;
    let mut known = true;
    for (r, cold) in records.iter().zip(cold_flags(records)).skip(1) {
        if !cold || !matches!(r.outcome, JobOutcome::Success) {
            continue;
        }
        count += 1;
        match warm.get(&r.workload_job).or_else(|| warm.get(ANY_JOB)) {
            Some(m) => secs += (r.duration_secs - m).max(0.0),
            None => known = false,
        }
    }
    (count, (known).then_some(secs))
}

/// Start-up time of the workers after the first: process start to baseline, their own clock.
fn restart_secs(manifest: &RunManifest) -> Option<f64> {
    let later = manifest.baselines.get(1..)?;
    if later.is_empty() {
        return Some(0.0);
    }
    later
        .iter()
        .map(|b| {
            b.taken_at_secs
                .map(|t| t + b.snapshot_duration_secs.unwrap_or(0.0))
        })
        .sum()
}

/// Which points lie on the Pareto front of a low ceiling and a high throughput: no other point
/// is at least as good on both and better on one. Points without both numbers are never on it.
pub fn pareto_front(points: &[Option<(f64, f64)>]) -> Vec<bool> {
    points
        .iter()
        .map(|p| {
            let Some((ceiling, speed)) = *p else {
                return false;
            };
            !points
                .iter()
                .flatten()
                .any(|&(c, s)| c <= ceiling && s >= speed && (c < ceiling || s > speed))
        })
        .collect()
}

/// The recommendation: the fastest acceptable policy ([`PolicyMetrics::acceptable`]), the
/// lower ceiling first among equals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Index into the sweep's policies; `None` when no policy is acceptable.
    pub index: Option<usize>,
    pub policy: Option<String>,
    pub margin_mb: Option<f64>,
    /// The margin as a share of the limit.
    pub margin_fraction: Option<f64>,
    /// Other acceptable policies within [`CLOSE_SPEED_FRACTION`] of its throughput: timing
    /// noise (a shared machine, `--parallel`) can reorder them.
    #[serde(default)]
    pub close: Vec<String>,
    pub text: String,
}

/// Throughputs within this share of the fastest are named beside the recommendation.
pub const CLOSE_SPEED_FRACTION: f64 = 0.10;

/// Pick the fastest acceptable policy of `rows` (id, metrics).
pub fn recommend(rows: &[(String, &PolicyMetrics)], horizon_jobs: u64) -> Recommendation {
    let best = rows
        .iter()
        .enumerate()
        .filter(|(_, (_, m))| m.acceptable() && m.jobs_per_sec.is_some())
        .max_by(|(_, (_, a)), (_, (_, b))| {
            let speed = a
                .jobs_per_sec
                .unwrap_or(0.0)
                .total_cmp(&b.jobs_per_sec.unwrap_or(0.0));
            speed.then_with(|| {
                b.peak_rss_mb
                    .unwrap_or(f64::MAX)
                    .total_cmp(&a.peak_rss_mb.unwrap_or(f64::MAX))
            })
        });
    let limit = rows.iter().find_map(|(_, m)| m.memory_limit_mb);
    let Some((index, (id, m))) = best else {
        let text = match limit {
            Some(l) => format!(
                "no policy stays under the {l:.0} MiB limit over {horizon_jobs} jobs: every one died, leaks past the limit, or did not finish"
            ),
            None => "no policy finished without a leak".into(),
        };
        return Recommendation {
            index: None,
            policy: None,
            margin_mb: None,
            margin_fraction: None,
            close: Vec::new(),
            text,
        };
    };
    let speed = m.jobs_per_sec.unwrap_or(0.0);
    let close: Vec<String> = rows
        .iter()
        .filter(|(other, o)| {
            other != id
                && o.acceptable()
                && o.jobs_per_sec
                    .is_some_and(|s| s >= speed * (1.0 - CLOSE_SPEED_FRACTION))
        })
        .map(|(other, _)| other.clone())
        .collect();
    let mut text = match (limit, m.margin_mb, m.projected_peak_mb) {
        (Some(l), Some(margin), Some(p)) => format!(
            "{id}: the fastest policy that stays under the {l:.0} MiB limit over {horizon_jobs} jobs ({speed:.2} jobs/s; ceiling {p:.0} MiB projected at job {horizon_jobs}, margin {margin:.0} MiB = {:.0}% of the limit)",
            100.0 * margin / l
        ),
        _ => format!(
            "{id}: the fastest policy that is not a leak ({speed:.2} jobs/s, peak {}; no --memory-limit given, so no margin)",
            m.peak_rss_mb.map_or("-".into(), |p| format!("{p:.0} MiB"))
        ),
    };
    if !close.is_empty() {
        text.push_str(&format!(
            "; within {:.0}% of its throughput, also acceptable: {} (timing noise can reorder these)",
            100.0 * CLOSE_SPEED_FRACTION,
            close.join(", ")
        ));
    }
    Recommendation {
        index: Some(index),
        policy: Some(id.clone()),
        margin_mb: m.margin_mb,
        margin_fraction: limit.zip(m.margin_mb).map(|(l, margin)| margin / l),
        close,
        text,
    }
}

/// The version of `sweep.json`.
pub const SWEEP_SCHEMA_VERSION: u32 = 1;

/// One policy of a sweep: what it ran with, where its run folder is, and its numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyEntry {
    /// The folder name, e.g. `clear3-recycle5-jemalloc`.
    pub id: String,
    pub policy: Policy,
    /// The `replay` flags that run it (the workload and `--out` apart).
    pub replay_args: Vec<String>,
    /// The run folder, relative to the sweep folder.
    pub run_dir: String,
    /// `None` until its replay has finished (or died on its own).
    pub metrics: Option<PolicyMetrics>,
    /// On the Pareto front of ceiling against throughput.
    pub pareto: bool,
}

/// `sweep.json`: the sweep, rewritten after every policy that finishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    pub schema_version: u32,
    pub workload_path: String,
    pub workload_name: String,
    pub axes: Axes,
    pub memory_limit_bytes: Option<u64>,
    pub horizon_jobs: u64,
    pub parallel: usize,
    pub policies: Vec<PolicyEntry>,
    /// Combinations of the axes that are not a policy, with the reason.
    pub skipped: Vec<String>,
    /// Every policy has its result.
    pub complete: bool,
    pub recommendation: Option<Recommendation>,
    /// Wall time of this invocation (a resumed sweep counts its own).
    pub wall_time_secs: Option<f64>,
}

impl SweepReport {
    /// Mark the Pareto front and pick the recommendation from the finished policies.
    pub fn conclude(&mut self) {
        let points: Vec<Option<(f64, f64)>> = self
            .policies
            .iter()
            .map(|p| {
                let m = p
                    .metrics
                    .as_ref()
                    .filter(|m| m.death.is_none() && m.status == RunStatus::Completed)?;
                m.peak_rss_mb.zip(m.jobs_per_sec)
            })
            .collect();
        for (entry, on) in self.policies.iter_mut().zip(pareto_front(&points)) {
            entry.pareto = on;
        }
        self.complete = self.policies.iter().all(|p| p.metrics.is_some());
        let rows: Vec<(String, &PolicyMetrics)> = self
            .policies
            .iter()
            .filter_map(|p| p.metrics.as_ref().map(|m| (p.id.clone(), m)))
            .collect();
        let mut rec = recommend(&rows, self.horizon_jobs);
        // The index into the rows is an index into the finished policies: make it the policy's.
        rec.index = rec
            .policy
            .as_ref()
            .and_then(|id| self.policies.iter().position(|p| &p.id == id));
        self.recommendation = Some(rec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_front_keeps_points_no_other_beats_on_both() {
        let points = [
            Some((100.0, 1.0)),
            Some((200.0, 2.0)),
            Some((150.0, 0.5)), // beaten by (100, 1.0)
            Some((200.0, 1.5)), // beaten by (200, 2.0)
            None,
            Some((300.0, 3.0)),
        ];
        assert_eq!(
            pareto_front(&points),
            [true, true, false, false, false, true]
        );
    }

    fn metrics(speed: f64, peak: f64, margin: Option<f64>, died: bool) -> PolicyMetrics {
        PolicyMetrics {
            status: if died {
                RunStatus::ChildDied
            } else {
                RunStatus::Completed
            },
            jobs_planned: Some(20),
            jobs_run: 20,
            jobs_succeeded: 20,
            peak_rss_mb: Some(peak),
            call: LeakCall::NoLeak,
            pattern: Pattern::Plateau,
            verdict_series: "live_mb".into(),
            slope_mb_per_job: Some(0.0),
            slope_ci: Some((0.0, 0.0)),
            slope_call: Some(LeakCall::NoLeak),
            wall_time_secs: Some(20.0 / speed),
            jobs_per_sec: Some(speed),
            p95_job_secs: Some(0.1),
            cold_jobs: 0,
            reload_secs: Some(0.0),
            restart_secs: Some(0.0),
            outside_jobs_secs: Some(0.0),
            workers_started: 1,
            cache_clears: 0,
            death: died.then(|| PolicyDeath {
                job: 18,
                kind: "memory_limit".into(),
                reason: "rss above the limit".into(),
            }),
            memory_limit_mb: Some(1024.0),
            projected_limit_job: None,
            horizon_jobs: 1000,
            projected_peak_mb: margin.map(|m| 1024.0 - m),
            margin_mb: margin,
        }
    }

    #[test]
    fn the_recommendation_is_the_fastest_policy_under_the_limit() {
        let dead = metrics(30.0, 1024.0, None, true);
        let over = metrics(25.0, 900.0, Some(-50.0), false);
        let slow = metrics(10.0, 300.0, Some(700.0), false);
        let fast = metrics(20.0, 400.0, Some(600.0), false);
        let near = metrics(19.0, 350.0, Some(650.0), false);
        let rows = vec![
            ("dead".to_string(), &dead),
            ("over".to_string(), &over),
            ("slow".to_string(), &slow),
            ("fast".to_string(), &fast),
            ("near".to_string(), &near),
        ];
        let r = recommend(&rows, 1000);
        assert_eq!(r.policy.as_deref(), Some("fast"));
        assert_eq!(r.index, Some(3));
        assert_eq!(r.margin_mb, Some(600.0));
        assert_eq!(r.close, ["near"]);
        let none = recommend(&rows[..2], 1000);
        assert_eq!(none.policy, None);
        assert!(none.text.contains("no policy stays under"), "{}", none.text);
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.95), Some(19.0));
        assert_eq!(quantile(&v[..1], 0.95), Some(1.0));
        assert_eq!(quantile(&[], 0.95), None);
    }
}
