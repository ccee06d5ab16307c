//! The CI gate: a run against the budgets of a `memprof.toml` and, optionally, a baseline run.
//! Produces a [`GateResult`] (plain data); `crate::render::gate` writes it as a CI step
//! summary (Markdown) and a JUnit report. Exit codes: 0 every budget held, 1 a budget broken, 2 bad input.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::series::Trajectory;
use super::verdict::{RunVerdict, SeriesVerdict};
use crate::units::{parse_human_size, MIB};

/// `memprof.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetFile {
    #[serde(default)]
    pub budget: Budget,
    #[serde(default)]
    pub baseline: BaselineRule,
}

/// The budgets; every one is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Highest RSS allowed at any point (`3GiB`, `2500MiB`).
    pub peak_rss: Option<String>,
    /// Highest Theil-Sen slope of RSS (its floor, with clears) in MiB per job.
    pub rss_slope_mb_per_job: Option<f64>,
    /// Highest Theil-Sen slope of allocator live bytes in MiB per job.
    pub live_slope_mb_per_job: Option<f64>,
    /// Highest growth per job of the live count of any census type.
    pub type_growth_per_job: Option<f64>,
    /// Every cache clear must free at least this much RSS (`100MiB`).
    pub min_freed_per_clear: Option<String>,
}

/// The baseline comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineRule {
    /// The candidate's slope may exceed the baseline's upper confidence bound by this much.
    pub tolerance_mb_per_job: f64,
}

impl Default for BaselineRule {
    fn default() -> Self {
        BaselineRule {
            tolerance_mb_per_job: 0.5,
        }
    }
}

/// One check of the gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateCheck {
    /// `peak_rss`, `rss_slope`, `live_slope`, `type_growth:<type>`, `freed_per_clear`,
    /// `baseline_rss_slope`, `baseline_live_slope`.
    pub name: String,
    pub passed: bool,
    /// Not checked (the run did not measure it); counts as passed.
    pub skipped: bool,
    pub actual: Option<f64>,
    pub limit: Option<f64>,
    pub unit: String,
    pub message: String,
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    pub run: String,
    pub baseline: Option<String>,
    pub passed: bool,
    pub broken: usize,
    pub checks: Vec<GateCheck>,
    pub verdict_summary: String,
}

/// Parse and check a budget file's text (`path` names it in errors).
pub fn parse_budget(path: &Path, text: &str) -> crate::Result<BudgetFile> {
    let file: BudgetFile = toml::from_str(text)
        .map_err(|e| crate::Error::bad_input(path, "toml", e.to_string().trim().to_string()))?;
    for (key, value) in [
        ("budget.peak_rss", &file.budget.peak_rss),
        (
            "budget.min_freed_per_clear",
            &file.budget.min_freed_per_clear,
        ),
    ] {
        if let Some(v) = value {
            parse_human_size(v).map_err(|m| crate::Error::bad_input(path, key, m))?;
        }
    }
    for (key, value) in [
        (
            "budget.rss_slope_mb_per_job",
            file.budget.rss_slope_mb_per_job,
        ),
        (
            "budget.live_slope_mb_per_job",
            file.budget.live_slope_mb_per_job,
        ),
        (
            "budget.type_growth_per_job",
            file.budget.type_growth_per_job,
        ),
        (
            "baseline.tolerance_mb_per_job",
            Some(file.baseline.tolerance_mb_per_job),
        ),
    ] {
        if value.is_some_and(|v| !v.is_finite() || v < 0.0) {
            return Err(crate::Error::bad_input(path, key, "must be a number >= 0"));
        }
    }
    Ok(file)
}

fn size_mb(text: &Option<String>) -> Option<f64> {
    text.as_ref()
        .and_then(|t| parse_human_size(t).ok())
        .map(|b| b as f64 / MIB)
}

fn find<'a>(verdict: &'a RunVerdict, name: &str) -> Option<&'a SeriesVerdict> {
    verdict.series.iter().find(|s| s.series == name)
}

fn check(name: &str, actual: f64, limit: f64, unit: &str, what: &str) -> GateCheck {
    let passed = actual <= limit;
    GateCheck {
        name: name.to_string(),
        passed,
        skipped: false,
        actual: Some(actual),
        limit: Some(limit),
        unit: unit.to_string(),
        message: format!(
            "{what} {actual:.3} {unit} {} budget {limit:.3} {unit}",
            if passed { "within" } else { "exceeds" }
        ),
    }
}

fn skipped(name: &str, limit: Option<f64>, unit: &str, why: &str) -> GateCheck {
    GateCheck {
        name: name.to_string(),
        passed: true,
        skipped: true,
        actual: None,
        limit,
        unit: unit.to_string(),
        message: why.to_string(),
    }
}

/// Check a trajectory (and its verdict) against the budgets and an optional baseline verdict.
pub fn evaluate(
    trajectory: &Trajectory,
    verdict: &RunVerdict,
    budget: &BudgetFile,
    baseline: Option<(&str, &RunVerdict)>,
) -> GateResult {
    let b = &budget.budget;
    let mut checks = Vec::new();
    if let Some(limit) = size_mb(&b.peak_rss) {
        let peak = trajectory
            .points
            .iter()
            .flat_map(|p| [p.peak_rss_mb, p.rss_mb])
            .chain(trajectory.clears.iter().map(|c| Some(c.before_mb)))
            .flatten()
            .fold(None, |acc: Option<f64>, v| {
                Some(acc.map_or(v, |a| a.max(v)))
            });
        checks.push(match peak {
            Some(peak) => check("peak_rss", peak, limit, "MB", "peak RSS"),
            None => skipped("peak_rss", Some(limit), "MB", "no RSS was recorded"),
        });
    }
    for (name, series, limit) in [
        ("rss_slope", "rss_mb", b.rss_slope_mb_per_job),
        ("live_slope", "live_mb", b.live_slope_mb_per_job),
    ] {
        let Some(limit) = limit else { continue };
        checks.push(
            match find(verdict, series).filter(|s| s.fit_intercept.is_some()) {
                Some(s) => check(
                    name,
                    s.slope_per_job,
                    limit,
                    "MB/job",
                    &format!("{series} slope"),
                ),
                None => skipped(
                    name,
                    Some(limit),
                    "MB/job",
                    &format!("{series} not measured or too short to fit"),
                ),
            },
        );
    }
    if let Some(limit) = b.type_growth_per_job {
        let types: Vec<&SeriesVerdict> = verdict
            .series
            .iter()
            .filter(|s| s.series.starts_with("type:") && s.fit_intercept.is_some())
            .collect();
        if types.is_empty() {
            checks.push(skipped(
                "type_growth",
                Some(limit),
                "count/job",
                "no census in the run",
            ));
        }
        for s in types {
            let name = format!("type_growth:{}", s.series.trim_start_matches("type:"));
            checks.push(check(
                &name,
                s.slope_per_job,
                limit,
                "count/job",
                "live count growth",
            ));
        }
    }
    if let Some(limit) = size_mb(&b.min_freed_per_clear) {
        let least = trajectory
            .clears
            .iter()
            .min_by(|a, b| a.freed_mb.total_cmp(&b.freed_mb));
        checks.push(match least {
            Some(clear) => {
                let (least, job) = (clear.freed_mb, clear.job);
                let passed = least >= limit;
                GateCheck {
                    name: "freed_per_clear".into(),
                    passed,
                    skipped: false,
                    actual: Some(least),
                    limit: Some(limit),
                    unit: "MB".into(),
                    message: format!(
                        "least freed by a clear: {least:.1} MB (after job {job}), {} minimum {limit:.1} MB",
                        if passed { "meets the" } else { "below the" }
                    ),
                }
            }
            None => skipped("freed_per_clear", Some(limit), "MB", "no cache clear in the run"),
        });
    }
    if let Some((origin, base)) = baseline {
        let tolerance = budget.baseline.tolerance_mb_per_job;
        for (name, series) in [
            ("baseline_rss_slope", "rss_mb"),
            ("baseline_live_slope", "live_mb"),
        ] {
            let cand = find(verdict, series).filter(|s| s.fit_intercept.is_some());
            let base = find(base, series).filter(|s| s.fit_intercept.is_some());
            checks.push(match (cand, base) {
                (Some(c), Some(b)) => {
                    let limit = b.slope_ci.1 + tolerance;
                    let passed = c.slope_per_job <= limit;
                    GateCheck {
                        name: name.into(),
                        passed,
                        skipped: false,
                        actual: Some(c.slope_per_job),
                        limit: Some(limit),
                        unit: "MB/job".into(),
                        message: format!(
                            "{series} slope {:.3} MB/job vs baseline {:.3} (CI upper {:.3}) + tolerance {tolerance:.3}: {}",
                            c.slope_per_job,
                            b.slope_per_job,
                            b.slope_ci.1,
                            if passed { "no regression" } else { "regression" }
                        ),
                    }
                }
                _ => skipped(name, None, "MB/job", &format!("{series} not fitted in both runs ({origin})")),
            });
        }
    }
    let broken = checks.iter().filter(|c| !c.passed).count();
    GateResult {
        run: trajectory.origin.clone(),
        baseline: baseline.map(|(o, _)| o.to_string()),
        passed: broken == 0,
        broken,
        checks,
        verdict_summary: verdict.primary.summary.clone(),
    }
}

/// A gate never passes a run that did not finish: a `run_complete` check fails when the run
/// died, was interrupted, or was left `running` (its process was killed), or when fewer jobs
/// were recorded than planned, unless `allow_incomplete` (then it is a visible pass).
pub fn check_complete(
    result: &mut GateResult,
    manifest: &crate::record::RunManifest,
    jobs_recorded: u64,
    allow_incomplete: bool,
) {
    let planned = manifest.jobs_planned;
    let short = planned.is_some_and(|p| jobs_recorded < p);
    let complete = manifest.status.is_complete() && !short;
    let what = match planned {
        Some(p) => format!("{jobs_recorded} of {p} planned jobs recorded"),
        None => format!("{jobs_recorded} jobs recorded"),
    };
    let message = if complete {
        format!("the run completed: {what}")
    } else {
        let why = manifest
            .status_message
            .as_deref()
            .map_or(String::new(), |m| format!(" ({m})"));
        let allowed = if allow_incomplete {
            "; allowed by --allow-incomplete"
        } else {
            "; an incomplete run never passes the gate (--allow-incomplete to accept it)"
        };
        format!("the run is {}: {what}{why}{allowed}", manifest.status)
    };
    let passed = complete || allow_incomplete;
    result.checks.insert(
        0,
        GateCheck {
            name: "run_complete".into(),
            passed,
            skipped: false,
            actual: Some(jobs_recorded as f64),
            limit: planned.map(|p| p as f64),
            unit: "jobs".into(),
            message,
        },
    );
    result.broken = result.checks.iter().filter(|c| !c.passed).count();
    result.passed = result.broken == 0;
}
