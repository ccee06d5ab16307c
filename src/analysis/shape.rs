//! The shape of one series: warm-up at the start, growth that stopped (bounded), late onset,
//! steps, and the pattern name that sums them up.

use super::classify::VerdictParams;
use super::cycles::Cycles;
use super::trend::{self, TrendFit};
use super::verdict::{LeakCall, Pattern};

/// Leading points clearly below the line the settled part of the series follows.
pub(crate) fn warmup_length(points: &[(u64, f64)], params: &VerdictParams) -> usize {
    let n = points.len();
    let max_w = ((n as f64) * params.warmup_max_fraction).floor() as usize;
    if max_w == 0 {
        return 0;
    }
    let x: Vec<f64> = points[max_w..].iter().map(|(j, _)| *j as f64).collect();
    let y: Vec<f64> = points[max_w..].iter().map(|(_, v)| *v).collect();
    let Some((slope, intercept, noise)) = trend::theil_sen_line(&x, &y) else {
        return 0;
    };
    let sigma = noise.max(1e-9 * y.iter().fold(0.0_f64, |a, v| a.max(v.abs())));
    let mut w = 0;
    while w < max_w {
        let (job, value) = points[w];
        let expected = intercept + slope * job as f64;
        if value < expected - params.warmup_sigmas * sigma {
            w += 1;
        } else {
            break;
        }
    }
    w
}

/// Residual sums of a least-squares line on a hinge basis, for every break at once (O(m)).
/// `rise_then_flat`: f = min(x, x_b) (growth that stops at b); else f = max(x - x_b, 0)
/// (growth that starts at b). Returns (b, slope on f, residual sum of squares) for b in
/// `breaks`.
fn hinge_fits(
    x: &[f64],
    y: &[f64],
    breaks: std::ops::Range<usize>,
    rise_then_flat: bool,
) -> Vec<(usize, f64, f64)> {
    let m = x.len();
    let mf = m as f64;
    let mx = x.iter().sum::<f64>() / mf;
    let my = y.iter().sum::<f64>() / mf;
    let xs: Vec<f64> = x.iter().map(|v| v - mx).collect();
    let ys: Vec<f64> = y.iter().map(|v| v - my).collect();
    let syy: f64 = ys.iter().map(|v| v * v).sum();
    // Prefix sums up to and including i.
    let (mut p1, mut p2, mut pxy, mut py) =
        (vec![0.0; m], vec![0.0; m], vec![0.0; m], vec![0.0; m]);
    let (mut a1, mut a2, mut axy, mut ay) = (0.0, 0.0, 0.0, 0.0);
    for i in 0..m {
        a1 += xs[i];
        a2 += xs[i] * xs[i];
        axy += xs[i] * ys[i];
        ay += ys[i];
        (p1[i], p2[i], pxy[i], py[i]) = (a1, a2, axy, ay);
    }
    let mut out = Vec::with_capacity(breaks.len());
    for b in breaks {
        let xb = xs[b];
        let r = (m - 1 - b) as f64;
        // Sums over the points after b.
        let (s1, s2, sxy, sy) = (a1 - p1[b], a2 - p2[b], axy - pxy[b], ay - py[b]);
        let (sf, sff, sfy) = if rise_then_flat {
            (p1[b] + r * xb, p2[b] + r * xb * xb, pxy[b] + xb * sy)
        } else {
            (s1 - r * xb, s2 - 2.0 * xb * s1 + r * xb * xb, sxy - xb * sy)
        };
        let sff_c = sff - sf * sf / mf;
        let (slope, sse) = if sff_c > 0.0 {
            (sfy / sff_c, (syy - sfy * sfy / sff_c).max(0.0))
        } else {
            (0.0, syy)
        };
        out.push((b, slope, sse));
    }
    out
}

/// When the growth stopped: the index where a "rise then flat" model breaks, if that model fits
/// much better than a straight line and its flat tail is long enough.
pub(crate) fn bounded_growth(x: &[f64], y: &[f64], params: &VerdictParams) -> Option<usize> {
    let m = x.len();
    let min_tail = ((m as f64) * params.bounded_min_tail_fraction)
        .ceil()
        .max(4.0) as usize;
    if m < min_tail + 3 {
        return None;
    }
    let (_, line_slope, sse_line) = trend::ols_on_basis(x, y);
    if line_slope <= 0.0 {
        return None;
    }
    let (b, _, sse_rh) = hinge_fits(x, y, 1..(m - min_tail), true)
        .into_iter()
        .filter(|(_, slope, _)| *slope > 0.0)
        .min_by(|a, b| a.2.total_cmp(&b.2))?;
    let ratio = (params.bounded_penalty * (m as f64).ln() / m as f64).exp();
    if sse_line <= ratio * sse_rh {
        return None;
    }
    // The growth must really have stopped: the tail rises at less than half the overall rate.
    let overall = trend::theil_sen_slope(x, y)?;
    let tail = trend::theil_sen_slope(&x[b..], &y[b..])?;
    (tail < 0.5 * overall).then_some(b)
}

/// The best "flat then rising" break and its residuals, for late onset.
fn late_onset_break(x: &[f64], y: &[f64]) -> Option<(usize, f64)> {
    let m = x.len();
    let lo = (m / 4).max(1);
    let hi = (3 * m) / 4;
    if lo >= hi {
        return None;
    }
    hinge_fits(x, y, lo..hi, false)
        .into_iter()
        .filter(|(_, slope, _)| *slope > 0.0)
        .min_by(|a, b| a.2.total_cmp(&b.2))
        .map(|(b, _, sse)| (b, sse))
}

/// Stepwise: at least two jumps well above the job-to-job noise, few of them, carrying most of
/// the growth.
fn is_stepwise(y: &[f64], growth: f64) -> bool {
    let diffs: Vec<f64> = y.windows(2).map(|w| w[1] - w[0]).collect();
    let sigma = trend::mad_sigma(&diffs);
    let median = trend::median(&diffs).unwrap_or(0.0);
    let threshold = median + 4.0 * sigma.max(1e-12);
    let jumps: Vec<f64> = diffs
        .iter()
        .copied()
        .filter(|d| *d > threshold && *d > 0.0)
        .collect();
    let jump_sum: f64 = jumps.iter().sum();
    jumps.len() >= 2 && jumps.len() * 3 <= diffs.len() && growth > 0.0 && jump_sum >= 0.6 * growth
}

/// What the judge knows when it names the pattern.
pub(crate) struct ShapeFacts<'a> {
    pub cycles: Cycles,
    pub call: LeakCall,
    pub warmup_jobs: u64,
    /// Where the growth stopped, when it did.
    pub bounded: Option<usize>,
    /// Every point of the series, warm-up included.
    pub points: &'a [(u64, f64)],
    /// The fitted series.
    pub x: &'a [f64],
    pub y: &'a [f64],
    pub fit: &'a TrendFit,
}

/// The pattern name: sawtooth for cycles (by the call); for a leak, late onset, stepwise or
/// linear; without a leak, warm-up or bounded step when growth stopped, else plateau.
pub(crate) fn classify_pattern(facts: &ShapeFacts, params: &VerdictParams) -> Pattern {
    let ShapeFacts { x, y, fit, .. } = *facts;
    let grows = matches!(facts.call, LeakCall::Leak | LeakCall::SlowGrowth);
    if facts.cycles != Cycles::None {
        return if grows {
            Pattern::SawtoothRisingFloor
        } else {
            Pattern::SawtoothFlatFloor
        };
    }
    if !grows {
        return if facts.warmup_jobs > 0 || facts.bounded.is_some() {
            if is_step_after_flat(facts.points) {
                Pattern::BoundedStep
            } else {
                Pattern::WarmUp
            }
        } else {
            Pattern::Plateau
        };
    }
    let (_, _, sse_line) = trend::ols_on_basis(x, y);
    if let Some((_, sse_hinge)) = late_onset_break(x, y) {
        if sse_hinge < params.late_onset_ratio * sse_line {
            return Pattern::LateOnset;
        }
    }
    let growth = fit.growth_over(x[0], x[x.len() - 1]);
    if is_stepwise(y, growth) {
        Pattern::Stepwise
    } else {
        Pattern::Linear
    }
}

/// Growth that stopped is a bounded step rather than a warm-up when it came as a jump after a
/// level stretch: the largest job-to-job rise carries at least half of the whole rise (first
/// points to the settled last third) and at least two points came before it. A warm-up rises
/// from the first job on.
fn is_step_after_flat(points: &[(u64, f64)]) -> bool {
    let n = points.len();
    if n < 6 {
        return false;
    }
    let values: Vec<f64> = points.iter().map(|(_, v)| *v).collect();
    let Some((at, jump)) = values
        .windows(2)
        .map(|w| w[1] - w[0])
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))
    else {
        return false;
    };
    let start = trend::median(&values[..2]).unwrap_or(values[0]);
    let settled = trend::median(&values[n - n / 3..]).unwrap_or(values[n - 1]);
    let rise = settled - start;
    at >= 1 && rise > 0.0 && jump >= 0.5 * rise
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hinge_fits_match_least_squares_on_the_basis() {
        let x: Vec<f64> = (1..=30).map(f64::from).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|v| 700.0 + 3.0 * v.min(12.0) + ((*v as u64 * 7) % 5) as f64)
            .collect();
        for rise_then_flat in [true, false] {
            for (b, slope, sse) in hinge_fits(&x, &y, 2..25, rise_then_flat) {
                let basis: Vec<f64> = x
                    .iter()
                    .map(|v| {
                        if rise_then_flat {
                            v.min(x[b])
                        } else {
                            (v - x[b]).max(0.0)
                        }
                    })
                    .collect();
                let (_, want_slope, want_sse) = trend::ols_on_basis(&basis, &y);
                assert!((slope - want_slope).abs() < 1e-9, "b={b}");
                assert!((sse - want_sse).abs() < 1e-6 * (1.0 + want_sse), "b={b}");
            }
        }
    }
}
