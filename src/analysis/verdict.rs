//! The verdict types: plain structs that render consumes. The statistics live in `trend.rs`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeakCall {
    /// The growth is statistically real and matters within the horizon.
    Leak,
    NoLeak,
    /// The growth is statistically real but too small to matter within the horizon (see
    /// [`Practical`]); shown with its projection, not a leak.
    SlowGrowth,
    Inconclusive,
}

impl LeakCall {
    /// The name as it appears in JSON (`slow_growth`).
    pub fn name(self) -> &'static str {
        match self {
            LeakCall::Leak => "leak",
            LeakCall::NoLeak => "no_leak",
            LeakCall::SlowGrowth => "slow_growth",
            LeakCall::Inconclusive => "inconclusive",
        }
    }
}

/// Practical significance: what the fitted growth adds within a horizon of jobs, against
/// what would matter for this process (see `docs/verdict-method.md`, section 5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Practical {
    /// Jobs of the horizon (`--horizon`).
    pub horizon_jobs: u64,
    /// Fitted slope x horizon, in the series' unit.
    pub horizon_growth: f64,
    /// The recent half's slope x horizon (the rate the worker keeps): this decides.
    #[serde(default)]
    pub recent_horizon_growth: f64,
    /// Upper end of the slope interval x horizon.
    pub horizon_growth_upper: f64,
    /// Growth within the horizon at or above which a real growth is a leak.
    pub threshold: f64,
    /// What set the threshold, e.g. `5% of the 771 MB level`.
    pub threshold_reason: String,
    /// The series' own level: the fitted line at the start of the fitted range.
    pub level: f64,
    /// The measurement's resolution detected in the values (1 for whole numbers, else 0).
    pub resolution: f64,
    /// The projection a user reads, e.g. `+50 MB per 10,000 jobs`.
    pub projection: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    Plateau,
    /// Rises from the first job, then settles (models and caches filling).
    WarmUp,
    /// Level, one or two steps up, then level again: growth that stopped.
    BoundedStep,
    SawtoothFlatFloor,
    SawtoothRisingFloor,
    Linear,
    Stepwise,
    LateOnset,
    /// Too few points to say.
    TooShort,
}

impl Pattern {
    /// The name as it appears in JSON (`sawtooth_rising_floor`).
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Plateau => "plateau",
            Pattern::WarmUp => "warm_up",
            Pattern::BoundedStep => "bounded_step",
            Pattern::SawtoothFlatFloor => "sawtooth_flat_floor",
            Pattern::SawtoothRisingFloor => "sawtooth_rising_floor",
            Pattern::Linear => "linear",
            Pattern::Stepwise => "stepwise",
            Pattern::LateOnset => "late_onset",
            Pattern::TooShort => "too_short",
        }
    }
}

/// The verdict on one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesVerdict {
    /// `rss_mb`, `live_mb`, `resident_mb`, `type:<name>`, ...
    pub series: String,
    /// `MB` or `count`.
    pub unit: String,
    pub call: LeakCall,
    /// `Some(true)` leak, `Some(false)` no leak, `None` inconclusive.
    pub leak: Option<bool>,
    pub pattern: Pattern,
    /// Jobs judged to be warm-up and left out of the fit.
    pub warmup_jobs: u64,
    /// Theil-Sen slope of the (floor) series per job, in the series' unit.
    pub slope_per_job: f64,
    /// 95% confidence interval of the slope.
    pub slope_ci: (f64, f64),
    /// Mann-Kendall test p-value (variance corrected for autocorrelation).
    pub trend_p_value: f64,
    /// Growth from the start of the fitted range to its end, in the unit.
    pub total_growth: f64,
    /// Robust noise estimate (MAD-based sigma of the residuals).
    pub noise_sigma: f64,
    /// For inconclusive: how many more jobs would likely decide.
    pub jobs_to_decide: Option<u64>,
    /// The job at which the series projects to reach the memory limit.
    pub projected_limit_job: Option<u64>,
    /// The floor series (job, value) the slope was fitted on (the points themselves when there
    /// are no clear cycles).
    pub floor: Vec<(u64, f64)>,
    /// A one-sentence explanation.
    pub summary: String,
    /// The fitted line's value at job 0 (the Theil-Sen intercept), so that render can draw
    /// `fit_intercept + slope_per_job * job` over the floor. `None` when no line was fitted.
    #[serde(default)]
    pub fit_intercept: Option<f64>,
    /// Whether the growth matters within the horizon; `None` when no line was fitted.
    #[serde(default)]
    pub practical: Option<Practical>,
}

/// What the growth is, from the allocator layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CauseKind {
    /// Live bytes rise: objects kept alive (a leak or an unbounded cache).
    LiveGrowth,
    /// Live bytes flat, active minus allocated rising.
    Fragmentation,
    /// RSS above what the allocator keeps: memory outside the allocator (C libraries, mappings).
    OutsideAllocator,
    /// Resident falls after a purge: the allocator retains freed memory; not a leak.
    AllocatorRetention,
    /// Nothing grows.
    None,
    /// The layers needed to say are not there (logs give RSS only).
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cause {
    pub kind: CauseKind,
    pub explanation: String,
    /// Growing types or sites that point at the holder, most growth first.
    pub suspects: Vec<String>,
}

/// One row of the seed's "Cache Clearing Effectiveness" table, and the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClearSummary {
    pub clears: u64,
    pub mean_freed_mb: Option<f64>,
    /// Theil-Sen slope of the after-clear floor per clear cycle.
    pub floor_growth_mb_per_cycle: Option<f64>,
}

/// The verdict on a whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunVerdict {
    /// The headline: the verdict on the primary series (live bytes when known, else RSS).
    pub primary: SeriesVerdict,
    pub series: Vec<SeriesVerdict>,
    pub cause: Cause,
    pub clear_summary: ClearSummary,
    /// Growth per job by job kind (workload job, or a log's document type and options), when
    /// the run has at least two kinds.
    #[serde(default)]
    pub attribution: Option<super::attribution::Attribution>,
}

#[cfg(test)]
mod tests {
    use super::{LeakCall, Pattern};

    #[test]
    fn call_names_are_the_json_names() {
        for c in [
            LeakCall::Leak,
            LeakCall::NoLeak,
            LeakCall::SlowGrowth,
            LeakCall::Inconclusive,
        ] {
            assert_eq!(
                serde_json::to_value(c).ok(),
                Some(serde_json::Value::String(c.name().to_string()))
            );
        }
    }

    #[test]
    fn pattern_names_are_the_json_names() {
        for p in [
            Pattern::Plateau,
            Pattern::WarmUp,
            Pattern::BoundedStep,
            Pattern::SawtoothFlatFloor,
            Pattern::SawtoothRisingFloor,
            Pattern::Linear,
            Pattern::Stepwise,
            Pattern::LateOnset,
            Pattern::TooShort,
        ] {
            assert_eq!(
                serde_json::to_value(p).ok(),
                Some(serde_json::Value::String(p.name().to_string()))
            );
        }
    }
}
