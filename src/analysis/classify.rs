//! The verdict on one series: warm-up, clear cycles, floor series, trend, effect size and
//! persistence, pattern, projection. The method and its parameters are described in
//! `docs/verdict-method.md`; [`VerdictParams::default`] holds the documented values.

use serde::{Deserialize, Serialize};

use super::cycles::{cycle_groups, floor_series, Cycles, Floor};
use super::explain::{jobs_to_decide, leak_flag, summarize, too_short, Explained};
use super::lives::{fit_lives, split_lives};
use super::shape::{bounded_growth, classify_pattern, warmup_length, ShapeFacts};
use super::significance::{assess, resolution_of};
use super::spikes::isolated_spikes;
use super::trend::{self, TrendFit};
use super::verdict::{LeakCall, SeriesVerdict};

/// The parameters of the verdict (see `docs/verdict-method.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VerdictParams {
    /// Significance level of the (two-sided) Mann-Kendall test.
    pub alpha: f64,
    /// Confidence level of the slope interval.
    pub ci_level: f64,
    /// Effect size: the fitted growth must reach this many noise sigmas.
    pub effect_sigmas: f64,
    /// Fewest points of a series before any call.
    pub min_points: usize,
    /// Fewest points of the fitted series before any call (no clear cycles).
    pub min_fit_points: usize,
    /// Fewest floor points (clears) of a sawtooth before any call; its trend test also uses
    /// every job after the first clear, compared with the same position of other cycles.
    pub min_floor_points: usize,
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
    /// Practical significance: the growth is judged by what it adds within this many jobs
    /// (`--horizon`).
    pub horizon_jobs: u64,
    /// A growth within the horizon of this fraction of the series' level matters.
    pub matter_level_fraction: f64,
    /// ... and never less than this many steps of the measurement's resolution.
    pub matter_resolution_steps: f64,
    /// With a memory limit: a growth within the horizon of this fraction of the headroom
    /// (limit minus level) matters, when that is less than the level's share.
    pub matter_limit_fraction: f64,
}

impl Default for VerdictParams {
    fn default() -> Self {
        VerdictParams {
            alpha: 0.02,
            ci_level: 0.95,
            effect_sigmas: 3.0,
            min_points: 6,
            min_fit_points: 4,
            min_floor_points: 3,
            autocorr_min_n: 10,
            drop_sigmas: 5.0,
            warmup_sigmas: 2.0,
            warmup_max_fraction: 1.0 / 3.0,
            bounded_penalty: 2.0,
            bounded_min_tail_fraction: 0.4,
            late_onset_ratio: 0.6,
            horizon_jobs: 1000,
            matter_level_fraction: 0.05,
            matter_resolution_steps: 10.0,
            matter_limit_fraction: 0.10,
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
    /// Jobs after which the worker died and was replaced (an OOM kill, a crash): the next job
    /// starts a new worker life from the process's base. A death is not a clear: each life is
    /// fitted on its own and the slope is the one they share (see [`super::lives`]). Planned
    /// restarts (a `--max-jobs` policy) are clears, in `clears`.
    pub deaths: Vec<u64>,
}

/// A series prepared for its call: points, cycles, the fitted series and its trend.
pub(super) struct Fitted {
    pub points: Vec<(u64, f64)>,
    /// The floor of the life the shape is judged on (the whole series without deaths).
    pub floor: Floor,
    /// Every fitted point (of every life).
    pub fit_points: Vec<(u64, f64)>,
    pub warmup_jobs: u64,
    /// The fitted series of the life the shape is judged on.
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub fit: TrendFit,
    /// Job span of the fit (summed over the lives).
    pub span: f64,
    /// The job the fitted line starts at (the first life's).
    pub start_x: f64,
    /// The points of the life the shape is judged on: all of them without deaths.
    pub shape: std::ops::Range<usize>,
    /// Worker lives fitted (1 without deaths).
    pub lives: usize,
}

/// Points, cycles, warm-up and the trend fit; `Err` with the verdict when too short.
fn fit_series(input: &SeriesInput, params: &VerdictParams) -> Result<Fitted, Box<SeriesVerdict>> {
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
        let why = format!("only {n} points; {} needed", params.min_points);
        return Err(Box::new(too_short(input, &points, missing, why)));
    }
    // Isolated spikes are left out before anything else looks at the series.
    let spikes = isolated_spikes(
        &points.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
        resolution_of(points.iter().map(|(_, v)| *v)),
    );
    // One pass (removing them one by one was quadratic: a long series has thousands).
    if !spikes.is_empty() {
        let mut spike = spikes.iter().copied().peekable();
        let mut index = 0usize;
        points.retain(|_| {
            let keep = spike.next_if_eq(&index).is_none();
            index += 1;
            keep
        });
    }
    let lives = split_lives(&points, &input.deaths);
    if lives.len() > 1 {
        return fit_lives(input, params, points, &lives);
    }
    let n = points.len();
    let floor = floor_series(&points, &input.clears, params);
    let (fit_points, warmup_jobs, needed) = match floor.cycles {
        Cycles::None => {
            let w = warmup_length(&points, params);
            (points[w..].to_vec(), w as u64, params.min_fit_points)
        }
        _ => (floor.points.clone(), 0, params.min_floor_points),
    };
    if fit_points.len() < needed {
        let missing = (needed - fit_points.len()) as u64 * floor.jobs_per_point();
        let what = if floor.cycles == Cycles::None {
            ""
        } else {
            "floor "
        };
        let why = format!("only {} {what}points; {needed} needed", fit_points.len());
        return Err(Box::new(too_short(input, &fit_points, missing, why)));
    }
    let x: Vec<f64> = fit_points.iter().map(|(j, _)| *j as f64).collect();
    let y: Vec<f64> = fit_points.iter().map(|(_, v)| *v).collect();
    let fitted = match floor.cycles {
        Cycles::None => trend::fit(&x, &y, params.ci_level, params.autocorr_min_n),
        _ => trend::fit_seasonal(&cycle_groups(&points, &floor), params.ci_level),
    };
    let Some(fit) = fitted else {
        let why = "the fitted series cannot be fitted".to_string();
        return Err(Box::new(too_short(input, &fit_points, 1, why)));
    };
    let (x_first, x_last) = match floor.cycles {
        Cycles::None => (x[0], x[x.len() - 1]),
        _ => (
            floor.boundaries[0] as f64,
            (points[n - 1].0 as f64).max(x[x.len() - 1]),
        ),
    };
    Ok(Fitted {
        shape: 0..points.len(),
        points,
        floor,
        fit_points,
        warmup_jobs,
        x,
        y,
        fit,
        span: x_last - x_first,
        start_x: x_first,
        lives: 1,
    })
}

/// Judge one series.
pub fn judge_series(input: &SeriesInput, params: &VerdictParams) -> SeriesVerdict {
    let f = match fit_series(input, params) {
        Ok(f) => f,
        Err(verdict) => return *verdict,
    };
    let Fitted { fit, span, .. } = &f;
    let recent = recent_slope(&f, fit.slope);
    let cycles = f.floor.cycles;
    let n = f.points.len();
    let growth = fit.slope * span;
    let resolution = resolution_of(f.points.iter().map(|(_, v)| *v));
    // Whole-number values carry a rounding noise of resolution / sqrt(12) at least.
    let noise = fit.noise_sigma.max(resolution / 12f64.sqrt());
    let threshold = (params.effect_sigmas * noise)
        .max(input.min_growth)
        .max(resolution);
    let significant_up = fit.p_value < params.alpha && fit.mk_z > 0.0;
    let bounded = bounded_growth(&f.x, &f.y, params).or_else(|| {
        if cycles == Cycles::None && f.warmup_jobs > 0 {
            let life = &f.points[f.shape.clone()];
            let xa: Vec<f64> = life.iter().map(|(j, _)| *j as f64).collect();
            let ya: Vec<f64> = life.iter().map(|(_, v)| *v).collect();
            bounded_growth(&xa, &ya, params)
        } else {
            None
        }
    });
    let level = start_level(&f);
    let practical = assess(
        fit.slope,
        recent,
        fit.slope_ci.1.max(recent),
        level,
        resolution,
        input.limit,
        &input.unit,
        params,
    );
    let upper_growth = fit.slope_ci.1 * span;

    let (call, jobs_to_decide) = if significant_up && growth >= threshold && bounded.is_none() {
        let call = if practical.matters() {
            LeakCall::Leak
        } else {
            LeakCall::SlowGrowth
        };
        (call, None)
    } else if (bounded.is_some() && growth > 0.0)
        || upper_growth < threshold
        || practical.cannot_matter()
    {
        // Growth that stopped, or growth too small to matter even at the top of its interval.
        (LeakCall::NoLeak, None)
    } else {
        let more = jobs_to_decide(fit, n, *span, threshold, params);
        (LeakCall::Inconclusive, Some(more))
    };

    let pattern = classify_pattern(
        &ShapeFacts {
            cycles,
            call,
            warmup_jobs: f.warmup_jobs,
            bounded,
            points: &f.points,
            x: &f.x,
            y: &f.y,
            fit,
        },
        params,
    );
    let projected_limit_job = projected_limit_job(&f.points, input.limit, call, fit.slope);
    let summary = summarize(&Explained {
        input,
        call,
        pattern,
        fit,
        growth,
        threshold,
        bounded,
        warmup_jobs: f.warmup_jobs,
        jobs_to_decide,
        practical: &practical,
        lives: f.lives,
    });
    SeriesVerdict {
        series: input.name.clone(),
        unit: input.unit.clone(),
        call,
        leak: leak_flag(call),
        pattern,
        warmup_jobs: f.warmup_jobs,
        slope_per_job: fit.slope,
        slope_ci: fit.slope_ci,
        trend_p_value: fit.p_value,
        total_growth: growth,
        noise_sigma: noise,
        jobs_to_decide,
        projected_limit_job,
        summary,
        fit_intercept: Some(fit.intercept),
        practical: Some(practical),
        floor: f.fit_points,
    }
}

/// The process's own level: the fitted line at the start of the fitted range (before the
/// growth being judged added to it), or the median of the fitted values when the line
/// starts at or below zero.
fn start_level(f: &Fitted) -> f64 {
    let at_start = f.fit.intercept + f.fit.slope * f.start_x;
    if at_start > 0.0 {
        at_start
    } else {
        trend::median(&f.y).unwrap_or(0.0).abs()
    }
}

/// Fewest fitted points for the recent half's slope to be used.
pub const RECENT_MIN_POINTS: usize = 20;

/// The slope of the most recent half of the fitted series (Theil-Sen), the rate the worker
/// is likely to keep: a settling warm-up's tail slows down, a late leak speeds up. The
/// overall slope for sawtooth fits (their slope is seasonal) and below
/// [`RECENT_MIN_POINTS`] fitted points (a half of fewer is too noisy to say more).
fn recent_slope(f: &Fitted, overall: f64) -> f64 {
    let m = f.x.len();
    if f.floor.cycles != Cycles::None || m < RECENT_MIN_POINTS {
        return overall;
    }
    trend::theil_sen_slope(&f.x[m / 2..], &f.y[m / 2..]).unwrap_or(overall)
}

/// The job at which the highest of the last three values plus the slope reaches the limit.
fn projected_limit_job(
    points: &[(u64, f64)],
    limit: Option<f64>,
    call: LeakCall,
    slope: f64,
) -> Option<u64> {
    let last_value = points
        .iter()
        .rev()
        .take(3)
        .map(|(_, v)| *v)
        .fold(f64::MIN, f64::max);
    let last_job = points.last()?.0;
    match (limit, call) {
        (Some(limit), LeakCall::Leak | LeakCall::SlowGrowth | LeakCall::Inconclusive)
            if slope > 0.0 =>
        {
            let remaining = limit - last_value;
            Some(if remaining <= 0.0 {
                last_job
            } else {
                last_job + (remaining / slope).ceil() as u64
            })
        }
        _ => None,
    }
}
