//! The CI gate: a run against the budgets of a `memprof.toml` and, optionally, a baseline run.
//! Produces a [`GateResult`]; [`markdown_summary`] and [`junit_xml`] turn it into a CI step
//! summary and a JUnit report. Exit codes: 0 every budget held, 1 a budget broken, 2 bad input.

use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::{Deserialize, Serialize};

use super::classify::VerdictParams;
use super::from_records::trajectory;
use super::judge::judge_run;
use super::load::load_run;
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

/// Read and check a budget file.
pub fn load_budget(path: &Path) -> crate::Result<BudgetFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::Error::bad_input(path, "file", format!("cannot read: {e}")))?;
    let file: BudgetFile = toml::from_str(&text)
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

/// Load a run folder, judge it, check it (and the baseline run folder, when given).
pub fn gate_run(
    run_dir: &Path,
    budget_path: &Path,
    baseline_dir: Option<&Path>,
) -> crate::Result<GateResult> {
    let budget = load_budget(budget_path)?;
    let params = VerdictParams::default();
    let run = load_run(run_dir)?;
    let traj = trajectory(&run.manifest, &run.jobs, &run_dir.display().to_string());
    if traj.points.is_empty() {
        return Err(crate::Error::bad_input(
            run_dir.join("jobs.jsonl"),
            "file",
            "no job records",
        ));
    }
    let verdict = judge_run(&traj, &params);
    let baseline = match baseline_dir {
        Some(dir) => {
            let base = load_run(dir)?;
            let base_traj = trajectory(&base.manifest, &base.jobs, &dir.display().to_string());
            Some((dir.display().to_string(), judge_run(&base_traj, &params)))
        }
        None => None,
    };
    Ok(evaluate(
        &traj,
        &verdict,
        &budget,
        baseline.as_ref().map(|(o, v)| (o.as_str(), v)),
    ))
}

/// A Markdown summary fit for a CI step summary.
pub fn markdown_summary(result: &GateResult) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "## docling-memprof gate: {}\n\nRun `{}`{}.\n\n",
        if result.passed {
            "passed ✅".to_string()
        } else {
            format!("{} budget(s) broken ❌", result.broken)
        },
        result.run,
        result
            .baseline
            .as_ref()
            .map_or(String::new(), |b| format!(", baseline `{b}`"))
    ));
    out.push_str("| check | result | actual | budget | detail |\n|---|---|---|---|---|\n");
    for c in &result.checks {
        let status = if c.skipped {
            "skipped"
        } else if c.passed {
            "pass"
        } else {
            "**FAIL**"
        };
        let num = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3} {}", c.unit));
        out.push_str(&format!(
            "| {} | {status} | {} | {} | {} |\n",
            c.name,
            num(c.actual),
            num(c.limit),
            c.message.replace('|', "\\|")
        ));
    }
    out.push_str(&format!(
        "\nVerdict: {}\n",
        result.verdict_summary.replace('|', "\\|")
    ));
    out
}

/// The gate as a JUnit XML report: one test case per check.
pub fn junit_xml(result: &GateResult) -> crate::Result<String> {
    let mut report = Report::new("docling-memprof gate");
    let mut suite = TestSuite::new("memory budgets");
    for c in &result.checks {
        let status = if c.skipped {
            let mut s = TestCaseStatus::skipped();
            s.set_message(c.message.clone());
            s
        } else if c.passed {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(c.message.clone()).set_type("budget broken");
            s
        };
        let mut case = TestCase::new(c.name.clone(), status);
        case.set_classname("docling-memprof.gate");
        suite.add_test_case(case);
    }
    report.add_test_suite(suite);
    report
        .to_string()
        .map_err(|e| crate::Error::Internal(format!("writing JUnit XML: {e}")))
}
