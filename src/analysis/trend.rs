//! Trend statistics on a series of (job, value) points: the Theil-Sen slope with Sen's
//! confidence interval, the Mann-Kendall trend test with the Hamed-Rao variance correction for
//! autocorrelation, and a MAD-based noise estimate. Pure functions, no printing.
//!
//! Memory is linear and time O(n log n) (expected) in the number of points: slopes are
//! selected without listing every pair ([`super::slopes`]), the Mann-Kendall S is an
//! inversion count, and the Hamed-Rao autocorrelations stop at [`HAMED_RAO_MAX_LAG`].

use statrs::distribution::{ContinuousCDF, Normal};

use super::float_order::total_order_bits;
use super::slopes::{inversions, SlopeSet};

/// The Hamed-Rao correction sums the autocorrelations of lags 1 to this (or n - 3 if fewer).
/// Up to 203 points this is every lag, as in the paper; beyond, longer lags are left out: their
/// estimates come from ever fewer pairs and the sum costs n x lags.
pub const HAMED_RAO_MAX_LAG: usize = 200;

/// Scale factor turning a median absolute deviation into a normal sigma.
pub const MAD_TO_SIGMA: f64 = 1.4826;

/// The result of fitting a trend to a series.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendFit {
    /// Number of points.
    pub n: usize,
    /// Theil-Sen slope (value per unit of x, i.e. per job).
    pub slope: f64,
    /// Intercept: the median of `y - slope * x`.
    pub intercept: f64,
    /// Confidence interval of the slope (Sen's rank method, corrected variance).
    pub slope_ci: (f64, f64),
    /// Mann-Kendall S statistic.
    pub mk_s: f64,
    /// Mann-Kendall Z score (continuity corrected, variance corrected).
    pub mk_z: f64,
    /// Two-sided p-value of the Mann-Kendall test.
    pub p_value: f64,
    /// Hamed-Rao variance inflation factor n/n* (>= 1; 1 when not applied).
    pub variance_factor: f64,
    /// Robust noise: 1.4826 x the MAD of the residuals around the Theil-Sen line.
    pub noise_sigma: f64,
}

impl TrendFit {
    /// Fitted growth over the x range of the fit.
    pub fn growth_over(&self, x_first: f64, x_last: f64) -> f64 {
        self.slope * (x_last - x_first)
    }
}

fn standard_normal() -> Normal {
    // Mean 0, sd 1 are always valid parameters.
    Normal::standard()
}

/// The standard normal quantile for probability `p` (0 < p < 1).
pub fn normal_quantile(p: f64) -> f64 {
    standard_normal().inverse_cdf(p.clamp(1e-12, 1.0 - 1e-12))
}

/// Two-sided p-value of a standard normal score.
pub fn two_sided_p(z: f64) -> f64 {
    if !z.is_finite() {
        return if z.is_nan() { 1.0 } else { 0.0 };
    }
    (2.0 * (1.0 - standard_normal().cdf(z.abs()))).clamp(0.0, 1.0)
}

/// The median of a slice (NaN-free input expected; NaNs sort last). `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    // Selected, not sorted (linear time): the values at the middle ranks of the sorted order.
    let mut v = values.to_vec();
    let mid = v.len() / 2;
    let (below, at, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    let at = *at;
    Some(if values.len() % 2 == 1 {
        at
    } else {
        let before = below.iter().copied().max_by(f64::total_cmp).unwrap_or(at);
        (before + at) / 2.0
    })
}

/// Robust sigma: 1.4826 x the median absolute deviation from the median.
pub fn mad_sigma(values: &[f64]) -> f64 {
    let Some(m) = median(values) else { return 0.0 };
    let deviations: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
    median(&deviations).unwrap_or(0.0) * MAD_TO_SIGMA
}

/// The Mann-Kendall Z of `s` with its variance `var_s` (continuity corrected); 0 without variance.
fn mk_z(s: f64, var_s: f64) -> f64 {
    if var_s > 0.0 {
        (s - s.signum()) / var_s.sqrt()
    } else {
        0.0
    }
}

/// Sen's confidence interval of `slope` at `ci_level`: ranks M1, M2 + 1 of the sorted
/// pairwise slopes of `set` (not empty), with the variance `var_s` of S.
fn sen_slope_ci(set: &SlopeSet, slope: f64, var_s: f64, ci_level: f64) -> (f64, f64) {
    let (lo_idx, hi_idx) = sen_ci_ranks(set, var_s, ci_level);
    let bounds = set.select(&[lo_idx, hi_idx]);
    (bounds[0].min(slope), bounds[1].max(slope))
}

/// The 0-based ranks of Sen's interval bounds among the sorted slopes of `set` (not empty).
fn sen_ci_ranks(set: &SlopeSet, var_s: f64, ci_level: f64) -> (u64, u64) {
    let z = normal_quantile(0.5 + ci_level / 2.0);
    let big_n = set.pairs() as f64;
    let c = z * var_s.sqrt();
    let m1 = ((big_n - c) / 2.0).round();
    let m2 = ((big_n + c) / 2.0).round();
    let last = set.pairs().saturating_sub(1);
    let lo_idx = if m1 >= 1.0 {
        (m1 as u64 - 1).min(last)
    } else {
        0
    };
    let hi_idx = if m2 >= 0.0 { (m2 as u64).min(last) } else { 0 };
    (lo_idx, hi_idx)
}

/// The median slope of `set` (not empty) and Sen's interval around it, selected together
/// (the interval's ranks do not depend on the slope when the variance is known).
fn median_and_ci(set: &SlopeSet, var_s: f64, ci_level: f64) -> (f64, (f64, f64)) {
    let n = set.pairs();
    let (lo_idx, hi_idx) = sen_ci_ranks(set, var_s, ci_level);
    let mut ranks = vec![n / 2];
    if n.is_multiple_of(2) {
        ranks.insert(0, n / 2 - 1);
    }
    let median_count = ranks.len();
    ranks.extend([lo_idx, hi_idx]);
    let v = set.select(&ranks);
    let slope = if median_count == 1 {
        v[0]
    } else {
        (v[0] + v[1]) / 2.0
    };
    let (lo, hi) = (v[median_count], v[median_count + 1]);
    (slope, (lo.min(slope), hi.max(slope)))
}

/// The noise around a fit: the MAD sigma of the residuals, or their RMS when more than half
/// of them are exactly zero (the points sit on the line).
fn noise_sigma(residuals: &[f64]) -> f64 {
    let sigma = mad_sigma(residuals);
    if sigma == 0.0 && !residuals.is_empty() {
        (residuals.iter().map(|r| r * r).sum::<f64>() / residuals.len() as f64).sqrt()
    } else {
        sigma
    }
}

/// Mann-Kendall S and its variance under no trend (with the tie correction). S is the
/// number of rising pairs minus falling pairs: all pairs minus tied pairs minus twice the
/// falling ones, which are the inversions of the values' ranks (O(n log n)).
fn mann_kendall_s(y: &[f64]) -> (f64, f64) {
    let n = y.len();
    // Sorted by value as integers (the ranks only depend on the values).
    let mut keyed: Vec<u128> = y
        .iter()
        .enumerate()
        .map(|(i, v)| (u128::from(total_order_bits(*v)) << 64) | i as u128)
        .collect();
    keyed.sort_unstable();
    let order: Vec<usize> = keyed.into_iter().map(|k| k as u64 as usize).collect();
    let mut dense = vec![0u32; n];
    let mut tie_term = 0.0;
    let mut tied_pairs = 0.0;
    let mut i = 0;
    let mut rank = 0u32;
    while i < n {
        let mut j = i + 1;
        while j < n && y[order[j]] == y[order[i]] {
            j += 1;
        }
        for &k in &order[i..j] {
            dense[k] = rank;
        }
        let t = (j - i) as f64;
        if t > 1.0 {
            tie_term += t * (t - 1.0) * (2.0 * t + 5.0);
            tied_pairs += t * (t - 1.0) / 2.0;
        }
        rank += 1;
        i = j;
    }
    let nf = n as f64;
    let falling = inversions(&dense, rank as usize) as f64;
    let s = nf * (nf - 1.0) / 2.0 - tied_pairs - 2.0 * falling;
    let var = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - tie_term) / 18.0;
    (s, var.max(0.0))
}

/// Ranks (1-based, ties averaged).
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && values[order[j]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j + 1) as f64 / 2.0;
        for &k in &order[i..j] {
            out[k] = rank;
        }
        i = j;
    }
    out
}

/// Hamed and Rao (1998) variance inflation n/n*: autocorrelation of the ranks of the
/// detrended series, only lags whose autocorrelation is significant at 5% count. Clamped
/// to >= 1 (negative autocorrelation never makes the test more confident). Returns 1 for
/// fewer than `min_n` points, where an autocorrelation cannot be estimated.
pub fn hamed_rao_factor(x: &[f64], y: &[f64], slope: f64, min_n: usize) -> f64 {
    let n = y.len();
    if n < min_n.max(4) {
        return 1.0;
    }
    let detrended: Vec<f64> = x.iter().zip(y).map(|(xi, yi)| yi - slope * xi).collect();
    let r = ranks(&detrended);
    let mean = r.iter().sum::<f64>() / n as f64;
    let c: Vec<f64> = r.iter().map(|v| v - mean).collect();
    let denom: f64 = c.iter().map(|v| v * v).sum();
    if denom <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let bound = normal_quantile(0.975) / nf.sqrt();
    let mut sum = 0.0;
    for k in 1..(n - 2).min(HAMED_RAO_MAX_LAG + 1) {
        let num: f64 = (0..(n - k)).map(|i| c[i] * c[i + k]).sum();
        let rho = num / denom;
        if rho.abs() > bound {
            let m = (n - k) as f64;
            sum += m * (m - 1.0) * (m - 2.0) * rho;
        }
    }
    let factor = 1.0 + 2.0 / (nf * (nf - 1.0) * (nf - 2.0)) * sum;
    if factor.is_finite() {
        factor.max(1.0)
    } else {
        1.0
    }
}

/// Fit a trend to points (x, y). `ci_level` is e.g. 0.95. The Hamed-Rao correction is applied
/// from `autocorr_min_n` points on. Returns `None` for fewer than 3 points or a constant x.
pub fn fit(x: &[f64], y: &[f64], ci_level: f64, autocorr_min_n: usize) -> Option<TrendFit> {
    let n = x.len().min(y.len());
    if n < 3 {
        return None;
    }
    let (x, y) = (&x[..n], &y[..n]);
    let set = SlopeSet::new(&[(x, y)]);
    if set.pairs() == 0 {
        return None;
    }
    let slope = set.median();
    let offsets: Vec<f64> = x.iter().zip(y).map(|(xi, yi)| yi - slope * xi).collect();
    let intercept = median(&offsets)?;
    let residuals: Vec<f64> = x
        .iter()
        .zip(y)
        .map(|(xi, yi)| yi - (intercept + slope * xi))
        .collect();
    let noise_sigma = noise_sigma(&residuals);

    let (s, var_s) = mann_kendall_s(y);
    let variance_factor = hamed_rao_factor(x, y, slope, autocorr_min_n);
    let var_corrected = var_s * variance_factor;
    let mk_z = mk_z(s, var_corrected);
    let p_value = two_sided_p(mk_z);

    let slope_ci = sen_slope_ci(&set, slope, var_corrected, ci_level);

    Some(TrendFit {
        n,
        slope,
        intercept,
        slope_ci,
        mk_s: s,
        mk_z,
        p_value,
        variance_factor,
        noise_sigma,
    })
}

/// The seasonal Kendall test (Hirsch, Slack and Smith 1982) with the seasonal Sen slope: the
/// points are split in groups (here: the position of a job within its cache-clear cycle, and
/// the after-clear floor); S and its variance are summed over the groups and the slope is the
/// median of the within-group pairwise slopes. Used for sawtooth series, where one slope moves
/// every position of the cycle. Groups with fewer than 2 points are ignored. The Hamed-Rao
/// correction is not applied (too few points per group to estimate an autocorrelation).
pub fn fit_seasonal(groups: &[(Vec<f64>, Vec<f64>)], ci_level: f64) -> Option<TrendFit> {
    let groups: Vec<&(Vec<f64>, Vec<f64>)> = groups
        .iter()
        .filter(|(x, y)| x.len() >= 2 && x.len() == y.len())
        .collect();
    let n: usize = groups.iter().map(|(x, _)| x.len()).sum();
    if n < 3 {
        return None;
    }
    let mut s_total = 0.0;
    let mut var_total = 0.0;
    for (_, y) in &groups {
        let (s, v) = mann_kendall_s(y);
        s_total += s;
        var_total += v;
    }
    let views: Vec<(&[f64], &[f64])> = groups.iter().map(|(x, y)| (&x[..], &y[..])).collect();
    let set = SlopeSet::new(&views);
    if set.pairs() == 0 {
        return None;
    }
    let (slope, slope_ci) = median_and_ci(&set, var_total, ci_level);
    let mut residuals = Vec::with_capacity(n);
    let mut intercepts = Vec::new();
    for (x, y) in &groups {
        let offsets: Vec<f64> = x
            .iter()
            .zip(y.iter())
            .map(|(xi, yi)| yi - slope * xi)
            .collect();
        let a = median(&offsets)?;
        intercepts.push(a);
        residuals.extend(offsets.iter().map(|o| o - a));
    }
    let noise_sigma = noise_sigma(&residuals);
    let mk_z = mk_z(s_total, var_total);
    let p_value = two_sided_p(mk_z);
    let intercept = intercepts.first().copied().unwrap_or(0.0);
    Some(TrendFit {
        n,
        slope,
        intercept,
        slope_ci,
        mk_s: s_total,
        mk_z,
        p_value,
        variance_factor: 1.0,
        noise_sigma,
    })
}

/// The Theil-Sen slope alone (no test, no interval): `None` for fewer than 2 distinct x.
pub fn theil_sen_slope(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len().min(y.len());
    let set = SlopeSet::new(&[(&x[..n], &y[..n])]);
    (set.pairs() > 0).then(|| set.median())
}

/// The Theil-Sen line (slope, intercept) and the noise around it, without the test.
pub fn theil_sen_line(x: &[f64], y: &[f64]) -> Option<(f64, f64, f64)> {
    let n = x.len().min(y.len());
    let slope = theil_sen_slope(&x[..n], &y[..n])?;
    let offsets: Vec<f64> = x.iter().zip(y).map(|(xi, yi)| yi - slope * xi).collect();
    let intercept = median(&offsets)?;
    let residuals: Vec<f64> = offsets.iter().map(|o| o - intercept).collect();
    Some((slope, intercept, noise_sigma(&residuals)))
}

/// Least-squares fit of y = a + b * f(x) for a basis function values `f`; returns (a, b, sse).
pub fn ols_on_basis(f: &[f64], y: &[f64]) -> (f64, f64, f64) {
    let n = f.len() as f64;
    if n == 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let mf = f.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let sff: f64 = f.iter().map(|v| (v - mf).powi(2)).sum();
    let sfy: f64 = f.iter().zip(y).map(|(a, b)| (a - mf) * (b - my)).sum();
    let b = if sff > 0.0 { sfy / sff } else { 0.0 };
    let a = my - b * mf;
    let sse = f
        .iter()
        .zip(y)
        .map(|(fi, yi)| (yi - a - b * fi).powi(2))
        .sum();
    (a, b, sse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theil_sen_on_a_line_with_an_outlier() {
        let x: Vec<f64> = (1..=10).map(f64::from).collect();
        let mut y: Vec<f64> = x.iter().map(|v| 100.0 + 2.0 * v).collect();
        y[4] = 500.0;
        let fit = fit(&x, &y, 0.95, 10).expect("fits");
        assert!((fit.slope - 2.0).abs() < 1e-9, "{fit:?}");
        assert!(fit.slope_ci.0 <= 2.0 && fit.slope_ci.1 >= 2.0);
        assert!(fit.p_value < 0.01);
        assert!(fit.mk_z > 0.0);
    }

    #[test]
    fn mann_kendall_matches_hand_computation() {
        // Strictly increasing 6 points: S = 15, Var = 6*5*17/18 = 28.333, Z = 14/5.323 = 2.630.
        let x: Vec<f64> = (1..=6).map(f64::from).collect();
        let y = [859.0, 1066.0, 1236.0, 1448.0, 1589.0, 1741.0];
        let fit = fit(&x, &y, 0.95, 10).expect("fits");
        assert_eq!(fit.mk_s, 15.0);
        assert!((fit.mk_z - 2.630).abs() < 0.01, "{}", fit.mk_z);
        assert!((fit.p_value - 0.00854).abs() < 0.001, "{}", fit.p_value);
        assert_eq!(fit.variance_factor, 1.0);
    }

    #[test]
    fn flat_series_has_no_trend() {
        let x: Vec<f64> = (1..=12).map(f64::from).collect();
        let y = [5.0, 6.0, 5.0, 4.0, 6.0, 5.0, 5.0, 4.0, 6.0, 5.0, 4.0, 5.0];
        let fit = fit(&x, &y, 0.95, 10).expect("fits");
        assert!(fit.p_value > 0.3, "{fit:?}");
        assert!(fit.slope_ci.0 <= 0.0 && fit.slope_ci.1 >= 0.0);
    }

    #[test]
    fn autocorrelation_inflates_variance() {
        // A slow sine (strongly autocorrelated) on top of a weak trend.
        let x: Vec<f64> = (0..40).map(f64::from).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|v| (v / 4.0).sin() * 10.0 + 0.05 * v)
            .collect();
        let factor = hamed_rao_factor(&x, &y, 0.05, 10);
        assert!(factor > 1.0, "{factor}");
    }

    #[test]
    fn mann_kendall_s_matches_the_pairwise_count() {
        // Quantised values with many ties, in no particular order.
        let y: Vec<f64> = (0..97u64)
            .map(|i| ((i * 37 + 11) % 23 / 4) as f64)
            .collect();
        let mut brute = 0.0;
        for i in 0..y.len() {
            for j in (i + 1)..y.len() {
                brute += (y[j] - y[i]).signum() * f64::from(u8::from(y[j] != y[i]));
            }
        }
        let (s, var) = mann_kendall_s(&y);
        assert_eq!(s, brute);
        assert!(var > 0.0);
    }

    #[test]
    fn too_few_points() {
        assert!(fit(&[1.0, 2.0], &[1.0, 2.0], 0.95, 10).is_none());
    }
}
