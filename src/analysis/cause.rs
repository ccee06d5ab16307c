//! The cause of growth, from the layers: live bytes rising means objects kept alive; live flat
//! but active minus allocated rising means fragmentation; RSS above what the allocator keeps
//! after a purge means memory outside the allocator; resident falling after a purge means
//! retention, not a leak.

use super::classify::{judge_series, VerdictParams};
use super::judge::mb_series;
use super::series::Trajectory;
use super::verdict::{Cause, CauseKind, LeakCall, SeriesVerdict};

fn find<'a>(series: &'a [SeriesVerdict], name: &str) -> Option<&'a SeriesVerdict> {
    series.iter().find(|s| s.series == name)
}

fn leaks(v: Option<&SeriesVerdict>) -> bool {
    v.is_some_and(|v| v.call == LeakCall::Leak)
}

/// Growing census types (by leak verdict, then growth) and growing sites, most growth first.
fn suspects(trajectory: &Trajectory, series: &[SeriesVerdict]) -> Vec<String> {
    let mut types: Vec<&SeriesVerdict> = series
        .iter()
        .filter(|s| s.series.starts_with("type:") && s.call == LeakCall::Leak)
        .collect();
    types.sort_by(|a, b| b.slope_per_job.total_cmp(&a.slope_per_job));
    let mut out: Vec<String> = types
        .iter()
        .map(|s| {
            format!(
                "{} (+{:.2}/job)",
                s.series.trim_start_matches("type:"),
                s.slope_per_job
            )
        })
        .collect();
    if let (Some(first), Some(last)) = (trajectory.points.first(), trajectory.points.last()) {
        let mut sites: Vec<(String, f64)> = last
            .site_mb
            .iter()
            .map(|(site, mb)| {
                (
                    site.clone(),
                    mb - first.site_mb.get(site).copied().unwrap_or(0.0),
                )
            })
            .filter(|(_, growth)| *growth > 0.0)
            .collect();
        sites.sort_by(|a, b| b.1.total_cmp(&a.1));
        out.extend(
            sites
                .into_iter()
                .take(5)
                .map(|(site, growth)| format!("site {site} (+{growth:.2} MB)")),
        );
    }
    out
}

/// Explain the growth of a run from its layers.
pub fn explain(trajectory: &Trajectory, series: &[SeriesVerdict], params: &VerdictParams) -> Cause {
    let live = find(series, "live_mb");
    let rss = find(series, "rss_mb");
    let resident = find(series, "resident_mb");
    if leaks(live) {
        let suspects = suspects(trajectory, series);
        let held = if suspects.is_empty() {
            String::new()
        } else {
            format!(": {}", suspects.join(", "))
        };
        return Cause {
            kind: CauseKind::LiveGrowth,
            explanation: format!(
                "live bytes rise ({:+.2} MB/job): objects are kept alive (a leak or an unbounded cache){held}",
                live.map_or(0.0, |l| l.slope_per_job)
            ),
            suspects,
        };
    }
    // No live series (a Python worker under pymalloc: its objects sit in arenas malloc does
    // not count), RSS growing and census types growing: objects kept alive.
    if live.is_none() && leaks(rss) {
        let suspects = suspects(trajectory, series);
        if !suspects.is_empty() {
            return Cause {
                kind: CauseKind::LiveGrowth,
                explanation: format!(
                    "RSS rises ({:+.2} MB/job) while Python objects grow: they are kept alive \
                     (pymalloc's arenas hide them from the allocator's statistics): {}",
                    rss.map_or(0.0, |r| r.slope_per_job),
                    suspects.join(", ")
                ),
                suspects,
            };
        }
    }
    let fragmentation = mb_series(
        trajectory,
        "active_minus_live_mb",
        |p| Some(p.active_mb? - p.live_mb?),
        |_| None,
    );
    if live.is_some() && fragmentation.points.len() >= params.min_points {
        let v = judge_series(&fragmentation, params);
        if v.call == LeakCall::Leak {
            return Cause {
                kind: CauseKind::Fragmentation,
                explanation: format!(
                    "live bytes flat but active minus allocated rises ({:+.2} MB/job): fragmentation",
                    v.slope_per_job
                ),
                suspects: vec![],
            };
        }
    }
    let outside = mb_series(
        trajectory,
        "rss_minus_allocator_mb",
        |p| Some(p.rss_mb? - p.resident_after_purge_mb.or(p.resident_mb)?),
        |_| None,
    );
    let rss_grows = leaks(rss);
    if rss_grows && outside.points.len() >= params.min_points {
        let v = judge_series(&outside, params);
        if v.call == LeakCall::Leak {
            return Cause {
                kind: CauseKind::OutsideAllocator,
                explanation: format!(
                    "RSS grows above what the allocator keeps ({:+.2} MB/job): memory outside the allocator (C libraries, mappings)",
                    v.slope_per_job
                ),
                suspects: vec![],
            };
        }
    }
    let after_purge = mb_series(
        trajectory,
        "resident_after_purge_mb",
        |p| p.resident_after_purge_mb,
        |_| None,
    );
    if (rss_grows || leaks(resident)) && after_purge.points.len() >= params.min_points {
        let v = judge_series(&after_purge, params);
        if v.call != LeakCall::Leak {
            return Cause {
                kind: CauseKind::AllocatorRetention,
                explanation: "resident memory grows but falls back after a purge: the allocator retains freed memory; not a leak".into(),
                suspects: vec![],
            };
        }
    }
    if rss_grows && live.is_none() {
        return Cause {
            kind: CauseKind::Unknown,
            explanation: "RSS grows, but only RSS was recorded (a log, or no allocator layers): the layers needed to say why are missing; replay the workload to find out".into(),
            suspects: vec![],
        };
    }
    if rss_grows || leaks(resident) {
        return Cause {
            kind: CauseKind::Unknown,
            explanation: "RSS grows while live bytes do not, and no single layer explains it"
                .into(),
            suspects: suspects(trajectory, series),
        };
    }
    Cause {
        kind: CauseKind::None,
        explanation: "no layer grows".into(),
        suspects: vec![],
    }
}
