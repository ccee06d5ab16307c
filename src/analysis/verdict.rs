//! The verdict types: plain structs that render consumes. The statistics live in `trend.rs`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeakCall {
    Leak,
    NoLeak,
    Inconclusive,
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
}

#[cfg(test)]
mod tests {
    use super::Pattern;

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
