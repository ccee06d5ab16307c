//! The words of a series verdict: its one-sentence summary, the too-short verdict, and how
//! many more jobs would decide an inconclusive one.

use super::classify::{SeriesInput, VerdictParams};
use super::trend::{self, TrendFit};
use super::verdict::{LeakCall, Pattern, Practical, SeriesVerdict};

pub(crate) fn leak_flag(call: LeakCall) -> Option<bool> {
    match call {
        LeakCall::Leak => Some(true),
        LeakCall::NoLeak | LeakCall::SlowGrowth => Some(false),
        LeakCall::Inconclusive => None,
    }
}

pub(crate) fn too_short(
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
        practical: None,
    }
}

/// How many more jobs would likely decide an inconclusive series: enough for the trend test
/// (|z| grows like n^1.5 under a steady slope) and for the effect size.
pub(crate) fn jobs_to_decide(
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

/// What the summary is made of.
pub(crate) struct Explained<'a> {
    pub input: &'a SeriesInput,
    pub call: LeakCall,
    pub pattern: Pattern,
    pub fit: &'a TrendFit,
    /// Fitted growth over the run.
    pub growth: f64,
    /// The effect threshold over the run.
    pub threshold: f64,
    pub bounded: Option<usize>,
    pub warmup_jobs: u64,
    pub jobs_to_decide: Option<u64>,
    pub practical: &'a Practical,
    /// Worker lives fitted: more than one when a worker died and was replaced.
    pub lives: usize,
}

pub(crate) fn summarize(e: &Explained) -> String {
    let (input, fit) = (e.input, e.fit);
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
    // A worker that died and was replaced starts again from its base: the restart's drop is
    // neither a clear nor growth that stopped, so the slope is the one its lives share.
    let lives = if e.lives > 1 {
        format!(
            " within each of its {} worker lives (a death restarted the worker)",
            e.lives
        )
    } else {
        String::new()
    };
    let what = match e.pattern {
        Pattern::SawtoothRisingFloor | Pattern::SawtoothFlatFloor => {
            format!("series, at the same position of each clear cycle{lives},")
        }
        _ => format!("series{lives}"),
    };
    let horizon = e.practical.describe(u);
    match e.call {
        LeakCall::Leak => format!(
            "{}: leak ({}): the {what} grows {slope}; {:.1} {u} over the run, above the {:.1} {u} effect threshold; {horizon}",
            input.name, e.pattern.name(), e.growth, e.threshold
        ),
        LeakCall::SlowGrowth => format!(
            "{}: slow growth ({}), not a leak at this horizon: the {what} grows {slope}, {}; {horizon}",
            input.name, e.pattern.name(), e.practical.projection
        ),
        LeakCall::NoLeak if e.bounded.is_some() => format!(
            "{}: no leak: growth stopped (rise then flat for the last part of the run); {slope}{lives}",
            input.name
        ),
        LeakCall::NoLeak => format!(
            "{}: no leak ({}{}): {slope}{lives}",
            input.name,
            e.pattern.name(),
            if e.warmup_jobs > 0 {
                format!(", {} warm-up job(s) left out", e.warmup_jobs)
            } else {
                String::new()
            }
        ),
        LeakCall::Inconclusive => format!(
            "{}: inconclusive: {slope}{lives}; about {} more job(s) would decide",
            input.name,
            e.jobs_to_decide.unwrap_or(0)
        ),
    }
}
