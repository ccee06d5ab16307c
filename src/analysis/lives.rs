//! Worker lives: a worker that died (an OOM kill, a crash) and was replaced starts again from
//! the process's base. The drop at its restart is not a clear (nothing was freed: the process
//! was gone) and not growth that stopped, and a sawtooth of deaths would hide the very leak
//! that caused them. So each life is prepared on its own (warm-up, clear cycles, floor), and
//! the trend is the seasonal one over every life's groups: one slope shared by the lives, an
//! intercept per life (and per position of its clear cycle). The shape (growth that stopped,
//! late onset, steps) is judged on the last life long enough to show one.
//!
//! Without deaths none of this runs: [`super::classify`] fits the series as one life.

use std::ops::Range;

use super::classify::{Fitted, SeriesInput, VerdictParams};
use super::cycles::{cycle_groups, floor_series, Cycles, Floor};
use super::explain::too_short;
use super::shape::warmup_length;
use super::trend;
use super::verdict::SeriesVerdict;

/// The lives of a sorted, deduplicated series: index ranges of `points`, split after each
/// death's job. Empty lives (a death with no point after it) are left out.
pub(super) fn split_lives(points: &[(u64, f64)], deaths: &[u64]) -> Vec<Range<usize>> {
    let mut deaths = deaths.to_vec();
    deaths.sort_unstable();
    deaths.dedup();
    let mut lives = Vec::with_capacity(deaths.len() + 1);
    let mut start = 0;
    for death in deaths {
        let end = points.partition_point(|(job, _)| *job <= death);
        if end > start {
            lives.push(start..end);
            start = end;
        }
    }
    if start < points.len() {
        lives.push(start..points.len());
    }
    lives
}

/// One life prepared for the pooled fit.
struct Life {
    range: Range<usize>,
    floor: Floor,
    fit_points: Vec<(u64, f64)>,
    warmup_jobs: u64,
    /// Its groups of the seasonal fit.
    groups: Vec<(Vec<f64>, Vec<f64>)>,
    /// The job its fitted line starts at, and its span in jobs.
    start_x: f64,
    span: f64,
}

fn prepare(
    points: &[(u64, f64)],
    range: Range<usize>,
    input: &SeriesInput,
    params: &VerdictParams,
) -> Life {
    let life = &points[range.clone()];
    let floor = floor_series(life, &input.clears, params);
    let last_job = life[life.len() - 1].0 as f64;
    match floor.cycles {
        Cycles::None => {
            let w = warmup_length(life, params);
            let fit_points = life[w..].to_vec();
            let x: Vec<f64> = fit_points.iter().map(|(j, _)| *j as f64).collect();
            let y: Vec<f64> = fit_points.iter().map(|(_, v)| *v).collect();
            let start_x = x.first().copied().unwrap_or(last_job);
            Life {
                range,
                floor,
                warmup_jobs: w as u64,
                groups: vec![(x, y)],
                span: last_job - start_x,
                start_x,
                fit_points,
            }
        }
        _ => {
            let groups = cycle_groups(life, &floor);
            let start_x = floor.boundaries[0] as f64;
            let floor_last = floor.points.last().map_or(last_job, |(j, _)| *j as f64);
            Life {
                range,
                fit_points: floor.points.clone(),
                warmup_jobs: 0,
                groups,
                span: last_job.max(floor_last) - start_x,
                start_x,
                floor,
            }
        }
    }
}

/// Fit a series of several lives (see the module's text); `Err` with the verdict when the
/// lives together are too short.
pub(super) fn fit_lives(
    input: &SeriesInput,
    params: &VerdictParams,
    points: Vec<(u64, f64)>,
    lives: &[Range<usize>],
) -> Result<Fitted, Box<SeriesVerdict>> {
    let mut prepared: Vec<Life> = lives
        .iter()
        .map(|range| prepare(&points, range.clone(), input, params))
        .collect();
    let fit_points: Vec<(u64, f64)> = prepared
        .iter()
        .flat_map(|l| l.fit_points.iter().copied())
        .collect();
    // The shape's life: the last with enough fitted points to show one, else the longest.
    let shape = prepared
        .iter()
        .rposition(|l| l.fit_points.len() >= params.min_fit_points)
        .or_else(|| (0..prepared.len()).max_by_key(|&i| (prepared[i].fit_points.len(), i)))
        .unwrap_or(0);
    let needed = match prepared[shape].floor.cycles {
        Cycles::None => params.min_fit_points,
        _ => params.min_floor_points,
    };
    if fit_points.len() < needed {
        let missing = (needed - fit_points.len()) as u64 * prepared[shape].floor.jobs_per_point();
        let why = format!(
            "only {} points over {} worker lives; {needed} needed",
            fit_points.len(),
            prepared.len()
        );
        return Err(Box::new(too_short(input, &fit_points, missing, why)));
    }
    let groups: Vec<(Vec<f64>, Vec<f64>)> = prepared
        .iter_mut()
        .flat_map(|l| std::mem::take(&mut l.groups))
        .collect();
    let Some(fit) = trend::fit_seasonal(&groups, params.ci_level) else {
        let why = "the worker lives cannot be fitted (fewer than 2 points in each)".to_string();
        return Err(Box::new(too_short(input, &fit_points, 1, why)));
    };
    let span = prepared.iter().map(|l| l.span).sum();
    let start_x = prepared[0].start_x;
    let lives_fitted = prepared.len();
    let life = prepared.swap_remove(shape);
    Ok(Fitted {
        x: life.fit_points.iter().map(|(j, _)| *j as f64).collect(),
        y: life.fit_points.iter().map(|(_, v)| *v).collect(),
        points,
        floor: life.floor,
        fit_points,
        warmup_jobs: life.warmup_jobs,
        fit,
        span,
        start_x,
        shape: life.range,
        lives: lives_fitted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lives_split_after_each_death_and_skip_empty_ones() {
        let points: Vec<(u64, f64)> = [1, 2, 3, 5, 6, 9].iter().map(|&j| (j, 1.0)).collect();
        // Job 4 died without a point; 7 and 8 too (two deaths in a row); 20 is past the end.
        assert_eq!(split_lives(&points, &[8, 4, 7, 20]), vec![0..3, 3..5, 5..6]);
        assert_eq!(split_lives(&points, &[]), vec![0..6]);
        assert_eq!(split_lives(&points, &[9]), vec![0..6]);
    }
}
