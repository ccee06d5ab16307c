//! Isolated spikes: single points far above (or below) both neighbours, like a big document
//! or a transient buffer, left out of the trend so that a few of them cannot make one.

use super::trend;

/// A spike stands out from each neighbour by this many robust sigmas of the job-to-job
/// differences (after the typical difference is taken off).
pub const SPIKE_SIGMAS: f64 = 5.0;

/// At most this fraction of the points can be spikes; more are not isolated, they are the
/// series (a sawtooth, noise with heavy tails) and nothing is left out.
pub const SPIKE_MAX_FRACTION: f64 = 0.1;

/// The indices of isolated spikes of `values` (in job order), at most
/// [`SPIKE_MAX_FRACTION`] of them; `resolution` is the smallest step the values can take.
pub(crate) fn isolated_spikes(values: &[f64], resolution: f64) -> Vec<usize> {
    let n = values.len();
    if n < 5 {
        return Vec::new();
    }
    let diffs: Vec<f64> = values.windows(2).map(|w| w[1] - w[0]).collect();
    let typical = trend::median(&diffs).unwrap_or(0.0);
    let scale = values.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
    let sigma = trend::mad_sigma(&diffs).max(resolution).max(1e-9 * scale);
    let limit = SPIKE_SIGMAS * sigma;
    let stands_out = |i: usize, up: bool| {
        let sign = if up { 1.0 } else { -1.0 };
        let left = i > 0 && sign * (values[i] - values[i - 1] - typical) > limit;
        let right = i + 1 < n && sign * (values[i] - values[i + 1] + typical) > limit;
        if i + 1 == n {
            // The last point has one neighbour: only a rise far above the last few values
            // counts (the first point is never one: a warm-up starts low).
            let recent = trend::median(&values[n.saturating_sub(4)..n - 1]).unwrap_or(values[i]);
            return up && left && values[i] - recent > limit;
        }
        left && right
    };
    let spikes: Vec<usize> = (0..n)
        .filter(|&i| stands_out(i, true) || stands_out(i, false))
        .collect();
    if (spikes.len() as f64) > SPIKE_MAX_FRACTION * n as f64 {
        return Vec::new();
    }
    spikes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spikes_on_a_plateau_are_found_and_steps_are_not() {
        let mut v: Vec<f64> = (0..40).map(|i| 770.0 + (i % 3) as f64).collect();
        v[12] += 300.0;
        v[39] += 150.0;
        assert_eq!(isolated_spikes(&v, 1.0), vec![12, 39]);
        let step: Vec<f64> = (0..40)
            .map(|i| if i < 20 { 700.0 } else { 900.0 })
            .collect();
        assert!(isolated_spikes(&step, 1.0).is_empty());
        let line: Vec<f64> = (0..40).map(|i| 700.0 + 60.0 * i as f64).collect();
        assert!(isolated_spikes(&line, 0.0).is_empty());
        let mut warm: Vec<f64> = (0..40).map(|i| 800.0 + (i % 3) as f64).collect();
        warm[0] = 200.0;
        assert!(
            isolated_spikes(&warm, 1.0).is_empty(),
            "a low first point is a warm-up"
        );
    }

    #[test]
    fn a_period_two_sawtooth_is_not_spikes() {
        let v: Vec<f64> = (0..40)
            .map(|i| if i % 2 == 0 { 800.0 } else { 900.0 })
            .collect();
        assert!(isolated_spikes(&v, 0.0).is_empty());
    }
}
