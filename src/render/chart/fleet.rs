//! The fleet chart: every worker's RSS by job on one job axis. The worst workers (the
//! report's first rows) get a colour and a legend entry each; the rest are thin grey lines.
//! A long log is drawn as the lowest and highest RSS of each of at most [`MAX_BUCKETS`] job
//! ranges (its envelope: peaks and floors stay visible, the SVG stays small).

use std::path::Path;

use plotters::prelude::*;

use super::{de, header, job_memory_chart, write_chart, y_range, ChartFile, LegendEntry, Sample};
use super::{BLUE, DARK, GREEN, GREY, LIMIT_RED, ORANGE, PURPLE, SKY, VERMILLION};
use crate::analysis::fleet::FleetReport;
use crate::analysis::LeakCall;
use crate::Result;

/// Workers drawn in colour with a legend entry; the others are grey.
pub const COLOURED_WORKERS: usize = 7;
/// Job ranges a worker's line is reduced to when its log is longer.
pub const MAX_BUCKETS: usize = 800;

/// A worker's line: its name, its call, the points drawn.
type Drawn<'a> = (&'a str, Option<LeakCall>, Vec<(f64, f64)>);

const PALETTE: [RGBColor; COLOURED_WORKERS] = [VERMILLION, BLUE, GREEN, ORANGE, PURPLE, SKY, DARK];

pub fn title(report: &FleetReport) -> String {
    let all = report.workers.len();
    let drawn = report.workers.iter().filter(|w| !w.rss.is_empty()).count();
    if drawn == all {
        format!("RSS by job: {all} workers")
    } else {
        format!("RSS by job: {drawn} of {all} workers (the others' logs could not be read)")
    }
}

/// Draw `fleet.svg` and `fleet.png` into `dir`.
pub fn write(dir: &Path, report: &FleetReport) -> Result<ChartFile> {
    super::ensure_font()?;
    let title = title(report);
    write_chart(dir, "fleet", &title, |root| draw(root, report, &title))
}

/// The points drawn for one worker: all of them, or each job range's lowest and highest.
pub(crate) fn envelope(points: &[(u64, f64)]) -> Vec<(f64, f64)> {
    let finite: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.1.is_finite())
        .map(|&(j, v)| (j as f64, v))
        .collect();
    if finite.len() <= 2 * MAX_BUCKETS {
        return finite;
    }
    let per = finite.len().div_ceil(MAX_BUCKETS);
    let mut out = Vec::with_capacity(2 * MAX_BUCKETS);
    for chunk in finite.chunks(per) {
        let (mut lo, mut hi) = (chunk[0], chunk[0]);
        for &p in chunk {
            if p.1 < lo.1 {
                lo = p;
            }
            if p.1 > hi.1 {
                hi = p;
            }
        }
        let (a, b) = if lo.0 <= hi.0 { (lo, hi) } else { (hi, lo) };
        out.push(a);
        if b != a {
            out.push(b);
        }
    }
    out
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    report: &FleetReport,
    title: &str,
) -> std::result::Result<(), String> {
    let drawn: Vec<Drawn<'_>> = report
        .workers
        .iter()
        .filter(|w| !w.rss.is_empty())
        .map(|w| (w.name.as_str(), w.call, envelope(&w.rss)))
        .collect();
    let mut legend: Vec<LegendEntry> = drawn
        .iter()
        .take(COLOURED_WORKERS)
        .enumerate()
        .map(|(i, (name, call, _))| {
            let call = call.map_or("", crate::render::format::call);
            LegendEntry::new(format!("{name} ({call})"), Sample::Line(PALETTE[i], 2))
        })
        .collect();
    if drawn.len() > COLOURED_WORKERS {
        legend.push(LegendEntry::new(
            format!("{} more workers", drawn.len() - COLOURED_WORKERS),
            Sample::Line(GREY, 1),
        ));
    }
    let limit = report.memory_limit_mb.filter(|l| l.is_finite() && *l > 0.0);
    if limit.is_some() {
        legend.push(LegendEntry::new("memory limit", Sample::Dashed(LIMIT_RED)));
    }
    let area = header(root, title, &legend)?;
    let all = || drawn.iter().flat_map(|d| d.2.iter());
    let x_lo = all().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let x_hi = all().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let (x_lo, x_hi) = if x_lo.is_finite() && x_hi > x_lo {
        (x_lo, x_hi)
    } else {
        (0.0, x_lo.max(0.0) + 1.0)
    };
    let y = y_range(all().map(|p| p.1).chain(limit));
    let mut chart = job_memory_chart(&area, (x_lo, x_hi), y)?;
    if let Some(l) = limit {
        super::draw_limit_line(&mut chart, (x_lo, x_hi), l)?;
    }
    // Grey ones first, so the coloured (worst) lines are drawn on top.
    for (_, _, points) in drawn.iter().skip(COLOURED_WORKERS) {
        chart
            .draw_series(std::iter::once(PathElement::new(
                points.clone(),
                GREY.stroke_width(1),
            )))
            .map_err(de)?;
    }
    for (i, (_, _, points)) in drawn.iter().take(COLOURED_WORKERS).enumerate().rev() {
        let colour = PALETTE[i];
        chart
            .draw_series(std::iter::once(PathElement::new(
                points.clone(),
                colour.stroke_width(2),
            )))
            .map_err(de)?;
        if points.len() == 1 {
            chart
                .draw_series(points.iter().map(|p| Circle::new(*p, 4, colour.filled())))
                .map_err(de)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_series_keeps_its_extremes() {
        let points: Vec<(u64, f64)> = (1..=100_000u64)
            .map(|j| (j, if j == 54_321 { 9_000.0 } else { (j % 7) as f64 }))
            .collect();
        let env = envelope(&points);
        assert!(env.len() <= 2 * MAX_BUCKETS, "{}", env.len());
        assert!(env.contains(&(54_321.0, 9_000.0)));
        assert!(env.windows(2).all(|w| w[0].0 <= w[1].0), "in job order");
        let short: Vec<(u64, f64)> = (1..=10).map(|j| (j, j as f64)).collect();
        assert_eq!(envelope(&short).len(), 10);
    }
}
