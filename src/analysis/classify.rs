//! The verdict on one series: warm-up, clear cycles, floor series, trend, effect size and
//! persistence, pattern, projection. The method and its parameters are described in
//! `docs/verdict-method.md`; [`VerdictParams::default`] holds the documented values.

use serde::{Deserialize, Serialize};

use super::cycles::{cycle_groups, floor_series, Cycles};
use super::shape::{bounded_growth, classify_pattern, warmup_length, ShapeFacts};
use super::trend::{self, TrendFit};
use super::verdict::{LeakCall, Pattern, SeriesVerdict};

/// The parameters of the verdict (see `docs/verdict-method.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictParams {
    /// Significance level of the (two-sided) Mann-Kendall test.
    pub alpha: f64,
    /// Confidence level of the slope interval.
    pub ci_level: f64,
    /// Effect size: the fitted growth must reach this many noise sigmas.
    pub effect_sigmas: f64,
    /// Fewest points of a series before any call.
    pub min_points: usize,
    /// Fewest points of the fitted (floor) series before any call.
    pub min_fit_points: usize,
    /// The Hamed-Rao correction is applied from this many fitted points on.
    pub autocorr_min_n: usize,
    /// A drop (a clear inferred from the series) falls by this many sigmas of the job-to-job
    /// differences, and by at least a quarter of the series' range.
    pub drop_sigmas: f64,
    /// Warm-up: leading points this many sigmas below the settled line are warm-up.
    pub warmup_sigmas: f64,
    /// Warm-up is at most this fraction of the points.
    pub warmup_max_fraction: f64,
    /// Persistence: growth that stopped ("rise then flat") is bounded, not a leak, when that
    /// model beats a straight line by a BIC-like margin: residuals smaller by a factor
    /// exp(penalty x ln(m) / m) for m points.
    pub bounded_penalty: f64,
    /// Persistence: the flat tail of a bounded growth covers at least this fraction of the fit.
    pub bounded_min_tail_fraction: f64,
    /// Late onset: a flat-then-rising fit this much smaller than the line's residuals.
    pub late_onset_ratio: f64,
}

impl Default for VerdictParams {
    fn default() -> Self {
        VerdictParams {
            alpha: 0.02,
            ci_level: 0.95,
            effect_sigmas: 2.0,
            min_points: 6,
            min_fit_points: 4,
            autocorr_min_n: 10,
            drop_sigmas: 5.0,
            warmup_sigmas: 2.0,
            warmup_max_fraction: 1.0 / 3.0,
            bounded_penalty: 2.0,
            bounded_min_tail_fraction: 0.4,
            late_onset_ratio: 0.6,
        }
    }
}

/// A clear as one series sees it: the job it followed and, when known, the value right after.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClearMark {
    pub job: u64,
    pub after: Option<f64>,
}

/// One series to judge.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesInput {
    /// `rss_mb`, `live_mb`, `type:<name>`, ...
    pub name: String,
    /// `MB` or `count`.
    pub unit: String,
    /// (job, value) after each job, before any clear.
    pub points: Vec<(u64, f64)>,
    /// Clear events, when the source logged them.
    pub clears: Vec<ClearMark>,
    /// Growth smaller than this (in the unit) is never a leak.
    pub min_growth: f64,
    /// Limit for the projection, in the unit.
    pub limit: Option<f64>,
}

/// Judge one series.
pub fn judge_series(input: &SeriesInput, params: &VerdictParams) -> SeriesVerdict {
    let mut points: Vec<(u64, f64)> = input
        .points
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect();
    points.sort_by_key(|(job, _)| *job);
    points.dedup_by_key(|(job, _)| *job);
    let n = points.len();
    if n < params.min_points {
        let missing = (params.min_points - n) as u64;
        return too_short(
            input,
            &points,
            missing,
            format!("only {n} points; {} needed", params.min_points),
        );
    }

    let floor = floor_series(&points, &input.clears, params);
    let cycles = floor.cycles;
    let (fit_points, warmup_jobs) = match cycles {
        Cycles::None => {
            let w = warmup_length(&points, params);
            (points[w..].to_vec(), w as u64)
        }
        _ => (floor.points.clone(), 0),
    };
    if fit_points.len() < params.min_fit_points {
        let missing = (params.min_fit_points - fit_points.len()) as u64 * floor.jobs_per_point();
        return too_short(
            input,
            &fit_points,
            missing,
            format!(
                "only {} floor points; {} needed",
                fit_points.len(),
                params.min_fit_points
            ),
        );
    }

    let x: Vec<f64> = fit_points.iter().map(|(j, _)| *j as f64).collect();
    let y: Vec<f64> = fit_points.iter().map(|(_, v)| *v).collect();
    let fitted = match cycles {
        Cycles::None => trend::fit(&x, &y, params.ci_level, params.autocorr_min_n),
        _ => trend::fit_seasonal(&cycle_groups(&points, &floor), params.ci_level),
    };
    let Some(fit) = fitted else {
        return too_short(
            input,
            &fit_points,
            1,
            "the fitted series cannot be fitted".into(),
        );
    };
    let (x_first, x_last) = match cycles {
        Cycles::None => (x[0], x[x.len() - 1]),
        _ => (
            floor.boundaries[0] as f64,
            (points[n - 1].0 as f64).max(x[x.len() - 1]),
        ),
    };
    let span = x_last - x_first;
    let growth = fit.growth_over(x_first, x_last);
    let noise = fit.noise_sigma;
    let threshold = (params.effect_sigmas * noise).max(input.min_growth);
    let significant_up = fit.p_value < params.alpha && fit.mk_z > 0.0;
    let bounded = bounded_growth(&x, &y, params).or_else(|| {
        if cycles == Cycles::None && warmup_jobs > 0 {
            let xa: Vec<f64> = points.iter().map(|(j, _)| *j as f64).collect();
            let ya: Vec<f64> = points.iter().map(|(_, v)| *v).collect();
            bounded_growth(&xa, &ya, params)
        } else {
            None
        }
    });
    let upper_growth = fit.slope_ci.1 * span;

    let (call, jobs_to_decide) = if significant_up && growth >= threshold && bounded.is_none() {
        (LeakCall::Leak, None)
    } else if (bounded.is_some() && growth > 0.0) || upper_growth < threshold {
        // Growth that stopped, or growth too small to matter even at the top of its interval.
        (LeakCall::NoLeak, None)
    } else {
        (
            LeakCall::Inconclusive,
            Some(jobs_to_decide(&fit, n, span, threshold, params)),
        )
    };

    let pattern = classify_pattern(
        &ShapeFacts {
            cycles,
            call,
            warmup_jobs,
            bounded,
            points: &points,
            x: &x,
            y: &y,
            fit: &fit,
        },
        params,
    );
    let last_value = points
        .iter()
        .rev()
        .take(3)
        .map(|(_, v)| *v)
        .fold(f64::MIN, f64::max);
    let last_job = points[n - 1].0;
    let projected_limit_job = match (input.limit, call) {
        (Some(limit), LeakCall::Leak | LeakCall::Inconclusive) if fit.slope > 0.0 => {
            let remaining = limit - last_value;
            Some(if remaining <= 0.0 {
                last_job
            } else {
                last_job + (remaining / fit.slope).ceil() as u64
            })
        }
        _ => None,
    };

    let summary = summarize(
        input,
        call,
        pattern,
        &fit,
        growth,
        threshold,
        bounded,
        warmup_jobs,
        jobs_to_decide,
    );
    SeriesVerdict {
        series: input.name.clone(),
        unit: input.unit.clone(),
        call,
        leak: leak_flag(call),
        pattern,
        warmup_jobs,
        slope_per_job: fit.slope,
        slope_ci: fit.slope_ci,
        trend_p_value: fit.p_value,
        total_growth: growth,
        noise_sigma: noise,
        jobs_to_decide,
        projected_limit_job,
        floor: fit_points,
        summary,
        fit_intercept: Some(fit.intercept),
    }
}

fn leak_flag(call: LeakCall) -> Option<bool> {
    match call {
        LeakCall::Leak => Some(true),
        LeakCall::NoLeak => Some(false),
        LeakCall::Inconclusive => None,
    }
}

fn too_short(
    input: &SeriesInput,
    points: &[(u64, f64)],
    missing: u64,
    why: String,
) -> SeriesVerdict {
    SeriesVerdict {
        series: input.name.clone(),
        unit: input.unit.clone(),
        call: LeakCall::Inconclusive,
        leak: None,
        pattern: Pattern::TooShort,
        warmup_jobs: 0,
        slope_per_job: 0.0,
        slope_ci: (0.0, 0.0),
        trend_p_value: 1.0,
        total_growth: 0.0,
        noise_sigma: 0.0,
        jobs_to_decide: Some(missing.max(1)),
        projected_limit_job: None,
        floor: points.to_vec(),
        summary: format!(
            "{}: too short to judge ({why}); about {} more job(s) needed",
            input.name,
            missing.max(1)
        ),
        fit_intercept: None,
    }
}

/// How many more jobs would likely decide an inconclusive series: enough for the trend test
/// (|z| grows like n^1.5 under a steady slope) and for the effect size.
fn jobs_to_decide(
    fit: &TrendFit,
    n: usize,
    span: f64,
    threshold: f64,
    params: &VerdictParams,
) -> u64 {
    let nf = n as f64;
    let cap = 10.0 * nf;
    let z_needed = trend::normal_quantile(1.0 - params.alpha / 2.0);
    let for_test = if fit.mk_z > 0.05 {
        nf * ((z_needed / fit.mk_z).powf(2.0 / 3.0) - 1.0)
    } else {
        nf
    };
    let for_effect = if fit.slope > 0.0 {
        threshold / fit.slope - span
    } else {
        nf
    };
    let jobs = for_test.max(for_effect).max(1.0).min(cap);
    jobs.ceil() as u64
}

#[allow(clippy::too_many_arguments)]
fn summarize(
    input: &SeriesInput,
    call: LeakCall,
    pattern: Pattern,
    fit: &TrendFit,
    growth: f64,
    threshold: f64,
    bounded: Option<usize>,
    warmup_jobs: u64,
    jobs_to_decide: Option<u64>,
) -> String {
    let u = &input.unit;
    let p_value = if fit.p_value < 0.001 {
        "MK p<0.001".to_string()
    } else {
        format!("MK p={:.3}", fit.p_value)
    };
    let slope = format!(
        "{:+.3} {u}/job (95% CI {:+.3} to {:+.3}), {p_value}",
        fit.slope, fit.slope_ci.0, fit.slope_ci.1
    );
    // Sawtooth slopes come from the seasonal fit: each position of the clear cycle (the floor
    // right after a clear, the next job, ...) compared with itself cycle after cycle.
    let what = match pattern {
        Pattern::SawtoothRisingFloor | Pattern::SawtoothFlatFloor => {
            "series, at the same position of each clear cycle,"
        }
        _ => "series",
    };
    match call {
        LeakCall::Leak => format!(
            "{}: leak ({}): the {what} grows {slope}; {:.1} {u} over the run, above the {:.1} {u} effect threshold",
            input.name, pattern.name(), growth, threshold
        ),
        LeakCall::NoLeak if bounded.is_some() => format!(
            "{}: no leak: growth stopped (rise then flat for the last part of the run); {slope}",
            input.name
        ),
        LeakCall::NoLeak => format!(
            "{}: no leak ({}{}): {slope}",
            input.name,
            pattern.name(),
            if warmup_jobs > 0 { format!(", {warmup_jobs} warm-up job(s) left out") } else { String::new() }
        ),
        LeakCall::Inconclusive => format!(
            "{}: inconclusive: {slope}; about {} more job(s) would decide",
            input.name,
            jobs_to_decide.unwrap_or(0)
        ),
    }
}
