//! Practical significance: a statistically real growth is a leak only when what it adds within
//! a horizon of jobs matters for this process: against its own level, the measurement's
//! resolution and, when known, the headroom to the memory limit. The thresholds are
//! parameters of [`VerdictParams`] and explained in `docs/verdict-method.md` (section 5).

use super::classify::VerdictParams;
use super::verdict::Practical;

/// The resolution of a series' values: 1 when every value is a whole number (log lines print
/// whole MB; census counts are counts), else 0 (snapshot bytes, exact for our purpose).
pub(crate) fn resolution_of(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut any = false;
    for v in values {
        any = true;
        if v.fract() != 0.0 {
            return 0.0;
        }
    }
    if any {
        1.0
    } else {
        0.0
    }
}

/// `1234567` -> `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A value with about three significant figures: 0.00512, 0.0512, 5.12, 51.2, 512, 5120.
pub(crate) fn sig3(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || !a.is_finite() {
        return format!("{v:.0}");
    }
    let decimals = (2 - a.log10().floor() as i32).clamp(0, 6) as usize;
    format!("{v:.decimals$}")
}

/// "+50 MB per 10,000 jobs": growth at `slope` per job over `jobs`.
pub fn projection(slope: f64, unit: &str, jobs: u64) -> String {
    let growth = slope * jobs as f64;
    let sign = if growth >= 0.0 { "+" } else { "" };
    format!("{sign}{} {unit} per {} jobs", sig3(growth), thousands(jobs))
}

/// The growth within the horizon that matters for a series at `level` with `resolution`
/// under `limit` (the threshold of [`assess`]).
pub fn matter_threshold(
    level: f64,
    resolution: f64,
    limit: Option<f64>,
    params: &VerdictParams,
) -> f64 {
    assess(0.0, 0.0, 0.0, level, resolution, limit, "", params).threshold
}

/// The practical-significance facts of a fitted slope (and its interval's upper end) for a
/// series at `level` with `resolution`, under `limit` when known.
#[allow(clippy::too_many_arguments)]
pub(crate) fn assess(
    slope: f64,
    recent: f64,
    slope_upper: f64,
    level: f64,
    resolution: f64,
    limit: Option<f64>,
    unit: &str,
    params: &VerdictParams,
) -> Practical {
    let horizon = params.horizon_jobs.max(1);
    let h = horizon as f64;
    let by_level = params.matter_level_fraction * level.abs();
    let by_resolution = params.matter_resolution_steps * resolution;
    let (mut threshold, mut reason) = if by_level >= by_resolution {
        (
            by_level,
            format!(
                "{}% of the {} {unit} level",
                sig3(100.0 * params.matter_level_fraction),
                sig3(level)
            ),
        )
    } else {
        (
            by_resolution,
            format!(
                "{} x the {} {unit} resolution",
                sig3(params.matter_resolution_steps),
                sig3(resolution)
            ),
        )
    };
    if let Some(limit) = limit.filter(|l| l.is_finite()) {
        let headroom = (limit - level).max(0.0);
        let by_limit = (params.matter_limit_fraction * headroom).max(by_resolution);
        if by_limit < threshold {
            threshold = by_limit;
            reason = format!(
                "{}% of the {} {unit} headroom to the {} {unit} limit",
                sig3(100.0 * params.matter_limit_fraction),
                sig3(headroom),
                sig3(limit)
            );
        }
    }
    Practical {
        horizon_jobs: horizon,
        horizon_growth: slope * h,
        recent_horizon_growth: recent * h,
        horizon_growth_upper: slope_upper * h,
        threshold,
        threshold_reason: reason,
        level,
        resolution,
        projection: projection(slope, unit, horizon * 10),
    }
}

impl Practical {
    /// The fitted growth matters within the horizon.
    pub fn matters(&self) -> bool {
        self.recent_horizon_growth >= self.threshold
    }

    /// Even the top of the slope interval would not matter.
    pub fn cannot_matter(&self) -> bool {
        self.horizon_growth_upper < self.threshold
    }

    /// "+5.00 MB per 1,000 jobs (recent half: +0; 38.5 MB per 1,000 jobs matters: 5% of
    /// the 771 MB level)".
    pub fn describe(&self, unit: &str) -> String {
        let signed = |v: f64| format!("{}{}", if v >= 0.0 { "+" } else { "" }, sig3(v));
        let recent = if (self.recent_horizon_growth - self.horizon_growth).abs()
            > 1e-9 * self.horizon_growth.abs().max(1.0)
        {
            format!(
                "recent half of the run: {}; ",
                signed(self.recent_horizon_growth)
            )
        } else {
            String::new()
        };
        format!(
            "{} {unit} per {} jobs ({recent}{} {} per {} jobs matters: {})",
            signed(self.horizon_growth),
            thousands(self.horizon_jobs),
            sig3(self.threshold),
            unit,
            thousands(self.horizon_jobs),
            self.threshold_reason
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_plateau_does_not_matter() {
        // 771 MB, +0.005 MB/job, whole MB: +5 MB per 1,000 jobs, 5% of 771 = 38.6 MB.
        let p = assess(
            0.005,
            0.005,
            0.007,
            771.0,
            1.0,
            None,
            "MB",
            &VerdictParams::default(),
        );
        assert!(!p.matters());
        assert!(p.cannot_matter());
        assert!((p.threshold - 38.55).abs() < 1e-9, "{}", p.threshold);
        assert_eq!(p.projection, "+50.0 MB per 10,000 jobs");
    }

    #[test]
    fn a_near_limit_makes_small_growth_matter() {
        let params = VerdictParams::default();
        let free = assess(0.02, 0.02, 0.03, 771.0, 1.0, None, "MB", &params);
        assert!(!free.matters(), "20 MB per 1,000 jobs on 771 MB");
        let tight = assess(0.02, 0.02, 0.03, 771.0, 1.0, Some(900.0), "MB", &params);
        assert!(tight.matters(), "{}", tight.describe("MB"));
        assert!(tight.threshold_reason.contains("headroom"));
    }

    #[test]
    fn resolution_and_formatting() {
        assert_eq!(resolution_of([770.0, 771.0]), 1.0);
        assert_eq!(resolution_of([770.5, 771.0]), 0.0);
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(projection(2.0, "MB", 10_000), "+20000 MB per 10,000 jobs");
        assert_eq!(sig3(0.0512), "0.0512");
    }
}
