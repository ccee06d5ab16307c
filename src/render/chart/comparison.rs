//! Chart 3: a baseline and a candidate run on one job axis.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::{
    de, header, job_label, job_label_count, segments, y_range, LegendEntry, Sample, BLUE, FONT,
    GREEN, GREY,
};
use crate::analysis::Trajectory;
use crate::render::format;
use crate::render::{BaselineRun, ReportInput};

pub fn title(input: &ReportInput, baseline: &BaselineRun) -> String {
    format!("{} vs {}", baseline.label, input.title)
}

type Series = Vec<Vec<(f64, f64)>>;

fn lines(t: &Trajectory) -> (Series, Series) {
    let rss = segments(t.points.iter().map(|p| (p.job as f64, p.rss_mb)));
    let live = segments(t.points.iter().map(|p| (p.job as f64, p.live_mb)));
    (rss, live)
}

const BASE_RSS: RGBColor = RGBColor(120, 160, 200);
const BASE_LIVE: RGBColor = RGBColor(120, 190, 165);

pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    input: &ReportInput,
    baseline: &BaselineRun,
) -> Result<(), String> {
    let (cand_rss, cand_live) = lines(&input.trajectory);
    let (base_rss, base_live) = lines(&baseline.trajectory);
    let base = format::truncate(&baseline.label, 24);
    let cand = format::truncate(&input.title, 24);
    let mut legend = Vec::new();
    if !base_rss.is_empty() {
        legend.push(LegendEntry::new(
            format!("{base}: RSS"),
            Sample::Dashed(BASE_RSS),
        ));
    }
    if !cand_rss.is_empty() {
        legend.push(LegendEntry::new(
            format!("{cand}: RSS"),
            Sample::Line(BLUE, 3),
        ));
    }
    if !base_live.is_empty() {
        legend.push(LegendEntry::new(
            format!("{base}: live"),
            Sample::Dashed(BASE_LIVE),
        ));
    }
    if !cand_live.is_empty() {
        legend.push(LegendEntry::new(
            format!("{cand}: live"),
            Sample::Line(GREEN, 2),
        ));
    }
    let area = header(root, &title(input, baseline), &legend)?;

    let all = [&cand_rss, &cand_live, &base_rss, &base_live];
    let jobs = all.iter().flat_map(|s| s.iter().flatten().map(|(x, _)| *x));
    let (mut x_lo, mut x_hi) = jobs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    if !x_lo.is_finite() {
        (x_lo, x_hi) = (1.0, 1.0);
    }
    if x_hi - x_lo < 1.0 {
        x_lo -= 0.5;
        x_hi += 0.5;
    }
    let (x_lo, x_hi) = (x_lo - 0.3, x_hi + 0.3);
    let (y_lo, y_hi) = y_range(all.iter().flat_map(|s| s.iter().flatten().map(|(_, y)| *y)));

    let mut chart = ChartBuilder::on(&area)
        .margin_left(8)
        .margin_right(24)
        .margin_bottom(6)
        .x_label_area_size(42)
        .y_label_area_size(64)
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
        .map_err(de)?;
    chart
        .configure_mesh()
        .x_desc("job")
        .y_desc("memory (MB)")
        .x_labels(job_label_count(x_lo, x_hi))
        .x_label_formatter(&job_label)
        .y_labels(8)
        .y_label_formatter(&|v| format::mb(v.round()))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .max_light_lines(0)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(de)?;
    for (segs, color) in [(&base_live, BASE_LIVE), (&base_rss, BASE_RSS)] {
        for seg in segs.iter() {
            chart
                .draw_series(std::iter::once(DashedPathElement::new(
                    seg.clone(),
                    7,
                    4,
                    color.stroke_width(2),
                )))
                .map_err(de)?;
            if seg.len() == 1 {
                chart
                    .draw_series(seg.iter().map(|p| {
                        Circle::new(*p, if seg.len() == 1 { 5 } else { 3 }, color.filled())
                    }))
                    .map_err(de)?;
            }
        }
    }
    for (segs, color, width) in [(&cand_live, GREEN, 2), (&cand_rss, BLUE, 3)] {
        for seg in segs.iter() {
            chart
                .draw_series(LineSeries::new(
                    seg.iter().copied(),
                    color.stroke_width(width),
                ))
                .map_err(de)?;
            if seg.len() == 1 {
                chart
                    .draw_series(seg.iter().map(|p| {
                        Circle::new(*p, if seg.len() == 1 { 5 } else { 3 }, color.filled())
                    }))
                    .map_err(de)?;
            }
        }
    }
    if all.iter().all(|s| s.is_empty()) {
        let style = TextStyle::from((FONT, 16).into_font()).color(&GREY);
        chart
            .draw_series(std::iter::once(Text::new(
                "no memory values recorded",
                (x_lo + 0.3, (y_lo + y_hi) / 2.0),
                style,
            )))
            .map_err(de)?;
    }
    Ok(())
}
