//! Chart 1: the memory trajectory by job.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor;

use super::{
    de, draw_point_markers, header, job_memory_chart, segments, thin_clears, thin_line, y_range,
    LegendEntry, Sample, BLUE, DARK, DRAWN_BUCKETS, FONT, GREEN, GREY, LIMIT_RED, ORANGE, PURPLE,
    SKY, VERMILLION,
};
use crate::render::doc::limit_projection;
use crate::render::format;
use crate::render::ReportInput;

/// A projected limit crossing further out than this many times the run's length is noted in
/// the legend instead of stretching the job axis.
const MAX_AXIS_STRETCH: f64 = 2.0;

pub fn title(input: &ReportInput) -> String {
    format!("Memory by job: {}", input.title)
}

/// What the chart shows, taken from the input (display values only).
struct Plan {
    rss: Vec<Vec<(f64, f64)>>,
    live: Vec<Vec<(f64, f64)>>,
    resident: Vec<Vec<(f64, f64)>>,
    baseline_rss: Option<f64>,
    floor: Vec<(f64, f64)>,
    fit: Option<[(f64, f64); 2]>,
    projection: Option<[(f64, f64); 2]>,
    fit_label: String,
    floor_series: String,
    limit: Option<f64>,
    limit_in_view: bool,
    crossing: Option<u64>,
    crossing_in_view: bool,
    clears: Vec<(f64, f64, f64)>,
    failed: Vec<(f64, Option<f64>)>,
    died: Vec<(f64, Option<f64>)>,
    restarts: Vec<f64>,
    x: (f64, f64),
    y: (f64, f64),
}

fn plan(input: &ReportInput) -> Plan {
    let t = &input.trajectory;
    let points = &t.points;
    // A long run's lines, floor and clears are thinned to what the plot's columns can show.
    let series = |f: fn(&crate::analysis::JobPoint) -> Option<f64>| {
        segments(points.iter().map(|p| (p.job as f64, f(p))))
            .into_iter()
            .map(|seg| thin_line(&seg, DRAWN_BUCKETS))
            .collect::<Vec<_>>()
    };
    let rss = series(|p| p.rss_mb);
    let live = series(|p| p.live_mb);
    let resident = series(|p| p.resident_mb);

    let last_job = points.iter().map(|p| p.job).max().unwrap_or(1) as f64;
    let first_job = points.iter().map(|p| p.job).min().unwrap_or(1) as f64;
    // An RSS of 0 is no reading (a live process has pages): unknown, not drawn.
    let baseline_rss = t.baseline_rss_mb.filter(|v| v.is_finite() && *v > 0.0);
    let mut x_lo = if baseline_rss.is_some() {
        0.0
    } else {
        first_job
    };
    let mut x_hi = last_job;

    let primary = &input.verdict.primary;
    let memory_series = primary.unit.eq_ignore_ascii_case("MB");
    let floor: Vec<(f64, f64)> = if memory_series {
        let all: Vec<(f64, f64)> = primary
            .floor
            .iter()
            .map(|(j, v)| (*j as f64, *v))
            .filter(|(_, v)| v.is_finite())
            .collect();
        thin_line(&all, DRAWN_BUCKETS)
    } else {
        Vec::new()
    };

    let limit = t.memory_limit_mb.filter(|v| v.is_finite() && *v > 0.0);
    let projection = limit.and(limit_projection(input));
    let crossing = projection.as_ref().map(|(j, _, _)| *j);
    let crossing_in_view = crossing.is_some_and(|j| (j as f64) <= last_job * MAX_AXIS_STRETCH);
    if let (Some(j), true) = (crossing, crossing_in_view) {
        x_hi = x_hi.max(j as f64);
    }

    let fit = match (memory_series, primary.fit_intercept) {
        (true, Some(b)) if primary.slope_per_job.is_finite() && b.is_finite() => {
            let start = floor
                .first()
                .map_or(first_job + primary.warmup_jobs as f64, |(j, _)| *j);
            let end = last_job.max(start);
            Some([
                (start, b + primary.slope_per_job * start),
                (end, b + primary.slope_per_job * end),
            ])
        }
        _ => None,
    };
    // The analysis projects the limit crossing from the run's end at the series' slope: draw
    // that line from the last job to the crossing.
    let projection = match (limit, projection) {
        (Some(l), Some((j, slope, _)))
            if crossing_in_view && slope.is_finite() && slope > 0.0 && (j as f64) > last_job =>
        {
            Some([(last_job, l - slope * (j as f64 - last_job)), (j as f64, l)])
        }
        _ => None,
    };
    let fit_label = format!(
        "fitted floor: {} MB/job ({})",
        format::signed(primary.slope_per_job),
        format::series_name(&primary.series)
    );

    let all_clears: Vec<(f64, f64, f64)> = input
        .clears
        .iter()
        .filter(|c| c.before_mb.is_finite() && c.after_mb.is_finite())
        .map(|c| (c.job as f64, c.before_mb, c.after_mb))
        .collect();
    let clears = thin_clears(&all_clears, DRAWN_BUCKETS);
    let marker_y = |p: &crate::analysis::JobPoint| p.rss_mb.or(p.live_mb).filter(|v| v.is_finite());
    let failed = points
        .iter()
        .filter(|p| p.outcome == crate::analysis::OutcomeKind::Failed)
        .map(|p| (p.job as f64, marker_y(p)))
        .collect();
    let died = points
        .iter()
        .filter(|p| p.outcome == crate::analysis::OutcomeKind::Died)
        .map(|p| (p.job as f64, marker_y(p)))
        .collect();
    let restarts = points
        .windows(2)
        .filter(|w| w[0].worker_index != w[1].worker_index)
        .map(|w| w[1].job as f64 - 0.5)
        .collect();

    let mut values: Vec<f64> = rss
        .iter()
        .chain(&live)
        .chain(&resident)
        .flatten()
        .map(|(_, y)| *y)
        .collect();
    values.extend(baseline_rss);
    values.extend(floor.iter().map(|(_, y)| *y));
    values.extend(clears.iter().flat_map(|(_, b, a)| [*b, *a]));
    if let Some(f) = &fit {
        values.extend(f.iter().map(|(_, y)| *y));
    }
    let data_hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let limit_in_view = limit.is_some_and(|l| {
        crossing_in_view || !data_hi.is_finite() || l <= data_hi * MAX_AXIS_STRETCH
    });
    if let (Some(l), true) = (limit, limit_in_view) {
        values.push(l);
    }
    let y = y_range(values);
    if x_hi - x_lo < 1.0 {
        x_lo -= 0.5;
        x_hi += 0.5;
    }
    Plan {
        rss,
        live,
        resident,
        baseline_rss,
        floor,
        fit,
        projection,
        fit_label,
        floor_series: primary.series.clone(),
        limit,
        limit_in_view,
        crossing,
        crossing_in_view,
        clears,
        failed,
        died,
        restarts,
        x: (x_lo - 0.3, x_hi + 0.3),
        y,
    }
}

fn legend(plan: &Plan) -> Vec<LegendEntry> {
    let mut entries = Vec::new();
    if !plan.rss.is_empty() {
        entries.push(LegendEntry::new("RSS after job", Sample::Line(BLUE, 3)));
    }
    if !plan.live.is_empty() {
        entries.push(LegendEntry::new("live (allocator)", Sample::Line(GREEN, 2)));
    }
    if !plan.resident.is_empty() {
        entries.push(LegendEntry::new(
            "resident (allocator)",
            Sample::Line(ORANGE, 2),
        ));
    }
    if let Some(b) = plan.baseline_rss {
        // its value in the label: a process before its first job can be far below the rest
        entries.push(LegendEntry::new(
            format!("RSS before job 1: {} MB", format::mb(b)),
            Sample::Circle(SKY),
        ));
    }
    if !plan.floor.is_empty() {
        let series = format::series_name(&plan.floor_series);
        let label = if plan.clears.is_empty() {
            format!("floor ({series})")
        } else {
            format!("floor after clears ({series})")
        };
        entries.push(LegendEntry::new(label, Sample::Square(DARK)));
    }
    if plan.fit.is_some() {
        entries.push(LegendEntry::new(
            plan.fit_label.clone(),
            Sample::Dashed(VERMILLION),
        ));
    }
    if !plan.clears.is_empty() {
        entries.push(LegendEntry::new(
            "cache clear (before → after)",
            Sample::Triangle(PURPLE),
        ));
    }
    if let Some(l) = plan.limit {
        let text = match (plan.limit_in_view, plan.crossing, plan.crossing_in_view) {
            (_, Some(j), false) => format!("limit {} MB: projected at job {j}", format::mb(l)),
            (true, _, _) => format!("memory limit {} MB", format::mb(l)),
            (false, _, _) => format!("limit {} MB (above chart)", format::mb(l)),
        };
        entries.push(LegendEntry::new(text, Sample::Line(LIMIT_RED, 2)));
    }
    if plan.projection.is_some() {
        entries.push(LegendEntry::new(
            "projection to the limit",
            Sample::Dotted(LIMIT_RED),
        ));
    }
    if !plan.failed.is_empty() {
        entries.push(LegendEntry::new("failed job", Sample::Cross(LIMIT_RED)));
    }
    if !plan.died.is_empty() {
        entries.push(LegendEntry::new("worker died", Sample::Cross(DARK)));
    }
    if !plan.restarts.is_empty() {
        entries.push(LegendEntry::new("worker restart", Sample::Dashed(GREY)));
    }
    entries
}

pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    input: &ReportInput,
) -> Result<(), String> {
    let plan = plan(input);
    let area = header(root, &title(input), &legend(&plan))?;
    let (x_lo, x_hi) = plan.x;
    let (y_lo, y_hi) = plan.y;
    let mut chart = job_memory_chart(&area, (x_lo, x_hi), (y_lo, y_hi))?;

    for x in &plan.restarts {
        chart
            .draw_series(std::iter::once(DashedPathElement::new(
                vec![(*x, y_lo), (*x, y_hi)],
                6,
                4,
                GREY.stroke_width(2),
            )))
            .map_err(de)?;
    }
    if let (Some(l), true) = (plan.limit, plan.limit_in_view) {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x_lo, l), (x_hi, l)],
                LIMIT_RED.stroke_width(2),
            )))
            .map_err(de)?;
    }
    let dots = |n: usize| n <= 60;
    for (segs, color, width) in [
        (&plan.resident, ORANGE, 2),
        (&plan.live, GREEN, 2),
        (&plan.rss, BLUE, 3),
    ] {
        for seg in segs.iter() {
            chart
                .draw_series(LineSeries::new(
                    seg.iter().copied(),
                    color.stroke_width(width),
                ))
                .map_err(de)?;
            if dots(seg.len()) || seg.len() == 1 {
                draw_point_markers(&mut chart, seg, color)?;
            }
        }
    }
    if let Some(b) = plan.baseline_rss {
        chart
            .draw_series(std::iter::once(Circle::new(
                (0.0, b),
                5,
                SKY.stroke_width(2),
            )))
            .map_err(de)?;
    }
    for (job, before, after) in &plan.clears {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(*job, *before), (*job, *after)],
                PURPLE.stroke_width(3),
            )))
            .map_err(de)?;
        chart
            .draw_series(std::iter::once(TriangleMarker::new(
                (*job, *after),
                6,
                PURPLE.filled(),
            )))
            .map_err(de)?;
    }
    chart
        .draw_series(plan.floor.iter().map(|p| {
            EmptyElement::at(*p) + Rectangle::new([(-4, -4), (4, 4)], DARK.stroke_width(2))
        }))
        .map_err(de)?;
    if let Some(fit) = plan.fit {
        chart
            .draw_series(std::iter::once(DashedPathElement::new(
                fit.to_vec(),
                8,
                5,
                VERMILLION.stroke_width(2),
            )))
            .map_err(de)?;
    }
    if let Some(line) = plan.projection {
        chart
            .draw_series(std::iter::once(DashedPathElement::new(
                line.to_vec(),
                3,
                4,
                LIMIT_RED.mix(0.8).stroke_width(2),
            )))
            .map_err(de)?;
    }
    if let (Some(l), Some(j), true) = (plan.limit, plan.crossing, plan.crossing_in_view) {
        let at = (j as f64, l);
        let style = TextStyle::from((FONT, 13).into_font())
            .color(&LIMIT_RED)
            .pos(text_anchor::Pos::new(
                text_anchor::HPos::Right,
                text_anchor::VPos::Bottom,
            ));
        chart
            .draw_series(std::iter::once(
                EmptyElement::at(at)
                    + Circle::new((0, 0), 6, LIMIT_RED.stroke_width(2))
                    + Text::new(format!("limit ≈ job {j}"), (-6, -8), style),
            ))
            .map_err(de)?;
    }
    let bottom = y_lo + (y_hi - y_lo) * 0.03;
    for (x, y) in &plan.failed {
        chart
            .draw_series(std::iter::once(Cross::new(
                (*x, y.unwrap_or(bottom)),
                7,
                LIMIT_RED.stroke_width(3),
            )))
            .map_err(de)?;
    }
    for (x, y) in &plan.died {
        chart
            .draw_series(std::iter::once(Cross::new(
                (*x, y.unwrap_or(bottom)),
                9,
                DARK.stroke_width(3),
            )))
            .map_err(de)?;
    }
    if plan.rss.is_empty() && plan.live.is_empty() && plan.resident.is_empty() {
        let style =
            TextStyle::from((FONT, 16).into_font())
                .color(&GREY)
                .pos(text_anchor::Pos::new(
                    text_anchor::HPos::Center,
                    text_anchor::VPos::Center,
                ));
        chart
            .draw_series(std::iter::once(Text::new(
                "no memory values recorded",
                ((x_lo + x_hi) / 2.0, (y_lo + y_hi) / 2.0),
                style,
            )))
            .map_err(de)?;
    }
    Ok(())
}
