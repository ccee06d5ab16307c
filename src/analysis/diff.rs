//! Diffs: between two jobs of a run, and between two runs (their last jobs, and their slopes):
//! per memory metric, per census type, per allocation site, sorted by growth.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::classify::VerdictParams;
use super::judge::judge_run;
use super::series::{JobPoint, Trajectory};

/// One changed quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffRow {
    pub name: String,
    /// `MB`, `count` or `MB/job`.
    pub unit: String,
    pub from: Option<f64>,
    pub to: Option<f64>,
    /// `to - from` (missing sides count as 0 for types and sites).
    pub change: f64,
}

/// A diff, each list sorted by change, largest growth first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub from_label: String,
    pub to_label: String,
    pub metrics: Vec<DiffRow>,
    pub types: Vec<DiffRow>,
    pub sites: Vec<DiffRow>,
    /// Run against run only: slope per job of each judged series.
    pub slopes: Vec<DiffRow>,
}

fn metrics(p: &JobPoint) -> Vec<(&'static str, Option<f64>)> {
    vec![
        ("rss_mb", p.rss_mb),
        ("peak_rss_mb", p.peak_rss_mb),
        ("live_mb", p.live_mb),
        ("active_mb", p.active_mb),
        ("resident_mb", p.resident_mb),
        ("resident_after_purge_mb", p.resident_after_purge_mb),
        ("model_mb", p.model_mb),
    ]
}

fn sort(rows: &mut [DiffRow]) {
    rows.sort_by(|a, b| {
        b.change
            .total_cmp(&a.change)
            .then_with(|| a.name.cmp(&b.name))
    });
}

fn map_rows(from: &BTreeMap<String, f64>, to: &BTreeMap<String, f64>, unit: &str) -> Vec<DiffRow> {
    let keys: BTreeSet<&String> = from.keys().chain(to.keys()).collect();
    let mut rows: Vec<DiffRow> = keys
        .into_iter()
        .map(|k| {
            let (a, b) = (from.get(k).copied(), to.get(k).copied());
            DiffRow {
                name: k.clone(),
                unit: unit.into(),
                from: a,
                to: b,
                change: b.unwrap_or(0.0) - a.unwrap_or(0.0),
            }
        })
        .filter(|r| r.change != 0.0)
        .collect();
    sort(&mut rows);
    rows
}

/// Diff two points.
pub fn diff_points(from: &JobPoint, to: &JobPoint, from_label: String, to_label: String) -> Diff {
    let mut metric_rows: Vec<DiffRow> = metrics(from)
        .into_iter()
        .zip(metrics(to))
        .filter_map(|((name, a), (_, b))| {
            let change = b? - a?;
            Some(DiffRow {
                name: name.into(),
                unit: "MB".into(),
                from: a,
                to: b,
                change,
            })
        })
        .collect();
    sort(&mut metric_rows);
    Diff {
        from_label,
        to_label,
        metrics: metric_rows,
        types: map_rows(&from.type_counts, &to.type_counts, "count"),
        sites: map_rows(&from.site_mb, &to.site_mb, "MB"),
        slopes: vec![],
    }
}

/// Diff two jobs of one run. Errors name the missing job.
pub fn diff_jobs(trajectory: &Trajectory, from_job: u64, to_job: u64) -> Result<Diff, String> {
    let find = |job: u64| {
        trajectory
            .points
            .iter()
            .find(|p| p.job == job)
            .ok_or_else(|| {
                let (first, last) = (
                    trajectory.points.first().map_or(0, |p| p.job),
                    trajectory.points.last().map_or(0, |p| p.job),
                );
                format!("job {job} is not in the run (jobs {first}..={last})")
            })
    };
    let (a, b) = (find(from_job)?, find(to_job)?);
    let mut diff = diff_points(a, b, format!("job {from_job}"), format!("job {to_job}"));
    // A worker that takes its census on some jobs only (the docling driver): the types are
    // compared between the censused jobs nearest to the two ends.
    if a.type_counts.is_empty() || b.type_counts.is_empty() {
        let censused = |p: &&JobPoint| !p.type_counts.is_empty();
        let inside = || {
            trajectory
                .points
                .iter()
                .filter(move |p| p.job >= from_job && p.job <= to_job)
        };
        diff.types = match (inside().find(censused), inside().rev().find(censused)) {
            (Some(x), Some(y)) if x.job < y.job => {
                map_rows(&x.type_counts, &y.type_counts, "count")
            }
            _ => Vec::new(),
        };
    }
    Ok(diff)
}

/// Diff two runs: their last jobs, and the slopes of every series both judged.
pub fn diff_runs(a: &Trajectory, b: &Trajectory, params: &VerdictParams) -> Result<Diff, String> {
    let last_a = a
        .points
        .last()
        .ok_or_else(|| format!("{}: no jobs", a.origin))?;
    let last_b = b
        .points
        .last()
        .ok_or_else(|| format!("{}: no jobs", b.origin))?;
    let mut diff = diff_points(
        last_a,
        last_b,
        format!("{} (job {})", a.origin, last_a.job),
        format!("{} (job {})", b.origin, last_b.job),
    );
    let (va, vb) = (judge_run(a, params), judge_run(b, params));
    let mut slopes: Vec<DiffRow> = va
        .series
        .iter()
        .filter(|s| s.fit_intercept.is_some())
        .filter_map(|sa| {
            let sb = vb
                .series
                .iter()
                .find(|s| s.series == sa.series && s.fit_intercept.is_some())?;
            Some(DiffRow {
                name: sa.series.clone(),
                unit: format!("{}/job", sa.unit),
                from: Some(sa.slope_per_job),
                to: Some(sb.slope_per_job),
                change: sb.slope_per_job - sa.slope_per_job,
            })
        })
        .collect();
    sort(&mut slopes);
    diff.slopes = slopes;
    Ok(diff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::series::SourceKind;

    fn point(job: u64, rss: f64, docs: f64) -> JobPoint {
        let mut p = JobPoint {
            job,
            rss_mb: Some(rss),
            ..JobPoint::default()
        };
        p.type_counts.insert("Document".into(), docs);
        p.type_counts.insert("Converter".into(), 1.0);
        p
    }

    #[test]
    fn jobs_diff_sorted_by_growth() {
        let t = Trajectory {
            source: SourceKind::Replay,
            origin: "t".into(),
            baseline_rss_mb: None,
            baseline_live_mb: None,
            points: vec![point(1, 100.0, 2.0), point(2, 150.0, 12.0)],
            clears: vec![],
            memory_limit_mb: None,
            unreadable_lines: 0,
        };
        let d = diff_jobs(&t, 1, 2).expect("both jobs exist");
        assert_eq!(d.metrics[0].name, "rss_mb");
        assert_eq!(d.metrics[0].change, 50.0);
        assert_eq!(d.types.len(), 1, "unchanged types are left out");
        assert_eq!(d.types[0].change, 10.0);
        assert!(diff_jobs(&t, 1, 9).unwrap_err().contains("job 9"));
    }
}
