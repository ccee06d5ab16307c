//! Clear cycles of one series: whether the clear events reset THIS series, the floor series
//! (after-clear values or cycle minima), clears inferred from regular drops, and the groups of
//! the seasonal trend test.

use super::classify::{ClearMark, VerdictParams};
use super::significance::resolution_of;
use super::trend;

/// How the fitted series was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cycles {
    /// No cycles: every point is fitted.
    None,
    /// The clear events reset the series: the floor after each clear is fitted.
    FromEvents,
    /// No events, but the series drops regularly like a cleared cache.
    FromDrops,
}

/// The fitted series of one input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Floor {
    pub cycles: Cycles,
    /// The floor (cycles) or the points themselves (no cycles).
    pub points: Vec<(u64, f64)>,
    /// The job each cycle boundary followed (empty without cycles).
    pub boundaries: Vec<u64>,
    /// Every floor point is an observed after-clear value.
    pub observed: bool,
}

impl Floor {
    fn no_cycles(points: &[(u64, f64)]) -> Self {
        Floor {
            cycles: Cycles::None,
            points: points.to_vec(),
            boundaries: vec![],
            observed: false,
        }
    }

    /// Jobs per floor point: the median gap between cycle boundaries (1 without cycles).
    pub fn jobs_per_point(&self) -> u64 {
        let gaps: Vec<f64> = self
            .boundaries
            .windows(2)
            .map(|w| (w[1] - w[0]) as f64)
            .collect();
        trend::median(&gaps).map_or(1, |g| (g.round() as u64).max(1))
    }
}

/// Sigmas of the job-to-job differences the median excess drop at the clears must exceed for
/// the clears to reset a series.
const RESET_SIGMAS: f64 = 3.0;

/// ... and this many steps of the values' resolution (whole MB in logs).
const RESET_RESOLUTION_STEPS: f64 = 2.0;

/// Whether the clear events are cycles of this series: the series falls at the clears by
/// clearly more than it moves between other jobs.
///
/// For each clear, the drop is the value after its job minus the value after the clear (when
/// observed) or minus the next job's value plus the typical job-to-job change (the next job
/// also adds its own change). The clears reset the series when the median drop is positive
/// and exceeds `RESET_SIGMAS` robust sigmas of the job-to-job differences between clears. A
/// census count that clears leave alone (exactly +10 per job) has a median drop of 0: it is
/// not a sawtooth, whatever the cache did.
pub(crate) fn clears_reset(points: &[(u64, f64)], marks: &[ClearMark]) -> bool {
    // `marks` and `points` are sorted by job: binary searches keep this O(n log n).
    let is_boundary = |from: u64, to: u64| {
        let idx = marks.partition_point(|m| m.job < from);
        idx < marks.len() && marks[idx].job < to
    };
    let between: Vec<f64> = points
        .windows(2)
        .filter(|w| !is_boundary(w[0].0, w[1].0))
        .map(|w| w[1].1 - w[0].1)
        .collect();
    let typical_step = trend::median(&between).unwrap_or(0.0);
    let sigma = trend::mad_sigma(&between);
    let drops: Vec<f64> = marks
        .iter()
        .filter_map(|mark| {
            let at = points.binary_search_by_key(&mark.job, |(j, _)| *j).ok()?;
            let before = points[at].1;
            match mark.after.filter(|v| v.is_finite()) {
                Some(after) => Some(before - after),
                None => points
                    .get(at + 1)
                    .map(|(_, next)| before - next + typical_step),
            }
        })
        .collect();
    let Some(drop) = trend::median(&drops) else {
        return false;
    };
    let scale = points.iter().fold(0.0_f64, |a, (_, v)| a.max(v.abs()));
    // Whole-number values (log lines in MB): a drop of one step is rounding, not a reset.
    let resolution = resolution_of(points.iter().map(|(_, v)| *v));
    drop > (RESET_SIGMAS * sigma)
        .max(RESET_RESOLUTION_STEPS * resolution)
        .max(1e-9 * scale)
}

/// Build the floor series: after-clear values (or cycle minima) when the series has clear
/// cycles; otherwise the points themselves.
pub(crate) fn floor_series(
    points: &[(u64, f64)],
    clears: &[ClearMark],
    params: &VerdictParams,
) -> Floor {
    let first = points[0].0;
    let last = points[points.len() - 1].0;
    let mut marks: Vec<ClearMark> = clears
        .iter()
        .copied()
        .filter(|c| c.job >= first && c.job <= last)
        .collect();
    marks.sort_by_key(|c| c.job);
    marks.dedup_by_key(|c| c.job);
    if !clears.is_empty() {
        // The source logged clears: they are the cycles, if they reset this series at all.
        if marks.len() < 2 || !clears_reset(points, &marks) {
            return Floor::no_cycles(points);
        }
        return floor_from_events(points, &marks);
    }
    let drops = detect_drops(points, params);
    if drops.len() < 3 || !regular(&drops) {
        return Floor::no_cycles(points);
    }
    let mut floor = Vec::new();
    for (k, &d) in drops.iter().enumerate() {
        let end = drops.get(k + 1).copied().unwrap_or(points.len() - 1);
        let min = points[(d + 1)..=end]
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some(&p) = min {
            floor.push(p);
        }
    }
    Floor {
        cycles: Cycles::FromDrops,
        points: floor,
        boundaries: drops.iter().map(|&d| points[d].0).collect(),
        observed: false,
    }
}

/// The floor from clear events: the observed after-clear value, else the minimum of the cycle
/// that follows the clear.
fn floor_from_events(points: &[(u64, f64)], marks: &[ClearMark]) -> Floor {
    let mut floor = Vec::new();
    for (i, mark) in marks.iter().enumerate() {
        if let Some(after) = mark.after.filter(|v| v.is_finite()) {
            floor.push((mark.job, after));
            continue;
        }
        let end = marks.get(i + 1).map_or(u64::MAX, |m| m.job);
        let from = points.partition_point(|(j, _)| *j <= mark.job);
        let to = points.partition_point(|(j, _)| *j <= end);
        let min = points[from..to.max(from)]
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some(&p) = min {
            floor.push(p);
        }
    }
    Floor {
        cycles: Cycles::FromEvents,
        points: floor,
        boundaries: marks.iter().map(|m| m.job).collect(),
        observed: marks.iter().all(|m| m.after.is_some_and(f64::is_finite)),
    }
}

/// Drops recur like clears: the longest gap between them at most 2.5 times the shortest.
fn regular(drops: &[usize]) -> bool {
    let gaps: Vec<usize> = drops.windows(2).map(|w| w[1] - w[0]).collect();
    let (min, max) = gaps
        .iter()
        .fold((usize::MAX, 0), |(lo, hi), g| (lo.min(*g), hi.max(*g)));
    !gaps.is_empty() && (max as f64) <= 2.5 * (min as f64)
}

/// The groups of the seasonal trend test: one per position of a job within its cycle (jobs
/// since the last clear, after the first clear), plus the observed after-clear floor first.
pub(crate) fn cycle_groups(points: &[(u64, f64)], floor: &Floor) -> Vec<(Vec<f64>, Vec<f64>)> {
    let boundaries = &floor.boundaries;
    let mut groups: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    if floor.observed {
        groups.push((
            floor.points.iter().map(|(j, _)| *j as f64).collect(),
            floor.points.iter().map(|(_, v)| *v).collect(),
        ));
    }
    let offset = groups.len();
    for &(job, value) in points {
        // The last boundary strictly before this job.
        let idx = boundaries.partition_point(|&b| b < job);
        if idx == 0 {
            continue; // before the first clear: warm-up cycle
        }
        let position = (job - boundaries[idx - 1]) as usize;
        while groups.len() < offset + position {
            groups.push((Vec::new(), Vec::new()));
        }
        let g = &mut groups[offset + position - 1];
        g.0.push(job as f64);
        g.1.push(value);
    }
    groups
}

/// Indices i where the series drops from point i to i + 1 like a cache clear.
fn detect_drops(points: &[(u64, f64)], params: &VerdictParams) -> Vec<usize> {
    let diffs: Vec<f64> = points.windows(2).map(|w| w[1].1 - w[0].1).collect();
    let (min, max) = points
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), (_, v)| {
            (lo.min(*v), hi.max(*v))
        });
    let candidate = 0.25 * (max - min);
    if candidate <= 0.0 {
        return Vec::new();
    }
    // The noise of the job-to-job differences, from the differences that are not candidates.
    let rest: Vec<f64> = diffs.iter().copied().filter(|d| -d < candidate).collect();
    let resolution = resolution_of(points.iter().map(|(_, v)| *v));
    let sigma = trend::mad_sigma(&rest).max(resolution);
    let threshold = (params.drop_sigmas * sigma).max(candidate);
    diffs
        .iter()
        .enumerate()
        .filter(|(_, d)| -**d >= threshold)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(jobs: &[u64]) -> Vec<ClearMark> {
        jobs.iter()
            .map(|&job| ClearMark { job, after: None })
            .collect()
    }

    #[test]
    fn a_count_the_clears_leave_alone_is_not_reset() {
        let points: Vec<(u64, f64)> = (1..=12).map(|j| (j, 10.0 * j as f64)).collect();
        assert!(!clears_reset(&points, &marks(&[3, 6, 9, 12])));
    }

    #[test]
    fn a_count_the_clears_empty_is_reset() {
        let points: Vec<(u64, f64)> = (1..=12)
            .map(|j| (j, 10.0 * ((j - 1) % 3 + 1) as f64))
            .collect();
        assert!(clears_reset(&points, &marks(&[3, 6, 9, 12])));
    }

    #[test]
    fn observed_after_values_decide_the_reset() {
        let points: Vec<(u64, f64)> = (1..=9).map(|j| (j, 100.0 + j as f64)).collect();
        let cleared: Vec<ClearMark> = [3, 6, 9]
            .iter()
            .map(|&job| ClearMark {
                job,
                after: Some(50.0),
            })
            .collect();
        assert!(clears_reset(&points, &cleared));
        let untouched: Vec<ClearMark> = [3, 6, 9]
            .iter()
            .map(|&job| ClearMark {
                job,
                after: Some(100.0 + job as f64),
            })
            .collect();
        assert!(!clears_reset(&points, &untouched));
    }
}
