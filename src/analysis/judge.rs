//! The verdict on a whole trajectory: every series judged, the primary picked, the cause and
//! the cache-clear summary attached.

use std::collections::BTreeSet;

use super::attribution::attribute;
use super::cause;
use super::classify::{judge_series, ClearMark, SeriesInput, VerdictParams};
use super::clears::clear_summary;
use super::series::{ClearPoint, JobPoint, OutcomeKind, Trajectory};
use super::verdict::{LeakCall, RunVerdict, SeriesVerdict};

/// Smallest growth over a run that can be a leak, for MiB series.
pub const MIN_GROWTH_MB: f64 = 1.0;
/// Smallest growth over a run that can be a leak, for count series.
pub const MIN_GROWTH_COUNT: f64 = 1.0;

/// Build the input for one MiB series of the trajectory (a series without a point has no
/// clears or deaths either: nothing to judge).
pub fn mb_series(
    trajectory: &Trajectory,
    name: &str,
    value: impl Fn(&JobPoint) -> Option<f64>,
    clear_after: impl Fn(&ClearPoint) -> Option<f64>,
) -> SeriesInput {
    let points: Vec<(u64, f64)> = trajectory
        .points
        .iter()
        .filter_map(|p| value(p).map(|v| (p.job, v)))
        .collect();
    let (clears, deaths) = if points.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        (clear_marks(trajectory, clear_after), deaths(trajectory))
    };
    SeriesInput {
        name: name.to_string(),
        unit: "MB".into(),
        points,
        clears,
        min_growth: MIN_GROWTH_MB,
        limit: trajectory.memory_limit_mb,
        deaths,
    }
}

/// The clears a series sees: the cache clears, and every planned worker restart (a worker
/// retired after its last job, a `--max-jobs` policy: the old worker's last job ends a cycle,
/// like a clear whose after-value is not known). A restart after a death is not a clear (see
/// [`deaths`]). Whether they are cycles of a given series is decided from its data when it is
/// judged.
pub fn clear_marks(
    trajectory: &Trajectory,
    clear_after: impl Fn(&ClearPoint) -> Option<f64>,
) -> Vec<ClearMark> {
    let mut marks: Vec<ClearMark> = trajectory
        .clears
        .iter()
        .map(|c| ClearMark {
            job: c.job,
            after: clear_after(c),
        })
        .collect();
    let cleared: std::collections::HashSet<u64> = marks.iter().map(|m| m.job).collect();
    for pair in trajectory.points.windows(2) {
        if pair[1].worker_index != pair[0].worker_index
            && !cleared.contains(&pair[0].job)
            && !died(&pair[0])
        {
            marks.push(ClearMark {
                job: pair[0].job,
                after: None,
            });
        }
    }
    marks.sort_by_key(|m| m.job);
    marks
}

/// The jobs whose worker died and was replaced: the old worker's last job `died` (killed, its
/// `[MEMORY]` line or record never came) and the next job ran on a new worker. Each starts a
/// new worker life of every series.
pub fn deaths(trajectory: &Trajectory) -> Vec<u64> {
    trajectory
        .points
        .windows(2)
        .filter(|pair| pair[1].worker_index != pair[0].worker_index && died(&pair[0]))
        .map(|pair| pair[0].job)
        .collect()
}

fn died(point: &JobPoint) -> bool {
    point.outcome == OutcomeKind::Died
}

/// Every series the trajectory has: live, resident, RSS and one per census type.
pub fn series_inputs(trajectory: &Trajectory) -> Vec<SeriesInput> {
    let mut inputs = vec![
        mb_series(trajectory, "live_mb", |p| p.live_mb, |c| c.live_after_mb),
        mb_series(
            trajectory,
            "resident_mb",
            |p| p.resident_mb,
            |c| c.resident_after_mb,
        ),
        mb_series(trajectory, "rss_mb", |p| p.rss_mb, |c| Some(c.after_mb)),
    ];
    let types: BTreeSet<&String> = trajectory
        .points
        .iter()
        .flat_map(|p| p.type_counts.keys())
        .collect();
    // The same deaths for every census type's series.
    let died = deaths(trajectory);
    for name in types {
        inputs.push(SeriesInput {
            name: format!("type:{name}"),
            unit: "count".into(),
            points: trajectory
                .points
                .iter()
                .filter_map(|p| p.type_counts.get(name).map(|v| (p.job, *v)))
                .collect(),
            clears: clear_marks(trajectory, |c| c.type_counts_after.get(name).copied()),
            min_growth: MIN_GROWTH_COUNT,
            limit: None,
            deaths: died.clone(),
        });
    }
    inputs.retain(|s| !s.points.is_empty());
    inputs
}

/// Judge a trajectory: the primary series is live bytes when the allocator was read, else RSS.
pub fn judge_run(trajectory: &Trajectory, params: &VerdictParams) -> RunVerdict {
    let series: Vec<SeriesVerdict> = series_inputs(trajectory)
        .iter()
        .map(|s| judge_series(s, params))
        .collect();
    let primary = series
        .iter()
        .find(|s| s.series == "live_mb" && s.call != LeakCall::Inconclusive)
        .or_else(|| series.iter().find(|s| s.series == "rss_mb"))
        .or_else(|| series.iter().find(|s| s.series == "live_mb"))
        .or_else(|| series.first())
        .cloned()
        .unwrap_or_else(|| {
            let empty = SeriesInput {
                name: "rss_mb".into(),
                unit: "MB".into(),
                points: vec![],
                clears: vec![],
                min_growth: MIN_GROWTH_MB,
                limit: None,
                deaths: vec![],
            };
            judge_series(&empty, params)
        });
    let mut cause = cause::explain(trajectory, &series, params);
    let attribution = if primary.unit == "MB" {
        attribute(trajectory, &primary.series, &primary.unit, params.ci_level)
    } else {
        None
    };
    if let Some(a) = &attribution {
        // Only kinds that stand out are suspects: when every kind grows alike the growth
        // follows no input (and on a sawtooth each job's change between clears is what the
        // next clear gives back), so naming them all would blame every document.
        let stand_out = !a.growing.is_empty() && a.growing.len() < a.kinds.len();
        if matches!(primary.call, LeakCall::Leak | LeakCall::SlowGrowth) && stand_out {
            // A job kind whose jobs grow the series points at the holder like a census type.
            let rows = a.kinds.iter().filter(|k| a.growing.contains(&k.kind));
            let named: Vec<String> = rows
                .map(|k| {
                    format!(
                        "job kind `{}`: {:+.2} {}/job (95% CI {:+.2} to {:+.2})",
                        k.kind, k.per_job, a.unit, k.ci.0, k.ci.1
                    )
                })
                .collect();
            cause.suspects.splice(0..0, named);
        }
    }
    RunVerdict {
        primary,
        series,
        cause,
        clear_summary: clear_summary(trajectory),
        attribution,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::series::SourceKind;

    /// SYNTHETIC: a sawtooth whose floor rises 0.5 MB per job, each job of either kind adding
    /// 80 MB that the clear after every third job frees: the kinds grow alike between clears.
    #[test]
    fn kinds_that_grow_alike_between_clears_are_not_suspects() {
        let mut points = Vec::new();
        let mut clears = Vec::new();
        for job in 1..=300u64 {
            let floor = 860.0 + 0.5 * job as f64;
            let in_cycle = ((job - 1) % 3 + 1) as f64;
            let rss = floor + 80.0 * in_cycle + (job % 7) as f64 * 0.3;
            points.push(JobPoint {
                job,
                outcome: OutcomeKind::Success,
                rss_mb: Some(rss),
                kind: Some(if job % 2 == 0 { "pdf" } else { "html" }.into()),
                ..JobPoint::default()
            });
            if job % 3 == 0 {
                clears.push(ClearPoint {
                    job,
                    before_mb: rss,
                    after_mb: floor,
                    freed_mb: rss - floor,
                    live_after_mb: None,
                    live_before_mb: None,
                    resident_after_mb: None,
                    type_counts_after: Default::default(),
                });
            }
        }
        let t = Trajectory {
            source: SourceKind::Log,
            origin: "synthetic".into(),
            baseline_rss_mb: None,
            baseline_live_mb: None,
            points,
            clears,
            memory_limit_mb: None,
            unreadable_lines: 0,
        };
        let v = judge_run(&t, &VerdictParams::default());
        assert!(
            matches!(v.primary.call, LeakCall::Leak | LeakCall::SlowGrowth),
            "{:?}",
            v.primary.summary
        );
        let a = v.attribution.as_ref().expect("two kinds");
        assert_eq!(
            a.growing.len(),
            2,
            "both kinds grow between clears: {}",
            a.summary
        );
        assert!(
            v.cause.suspects.iter().all(|s| !s.contains("job kind")),
            "{:?}",
            v.cause.suspects
        );
    }
}
