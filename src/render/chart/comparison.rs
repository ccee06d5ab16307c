//! Chart 3: a baseline and a candidate run on one job axis.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::{
    de, draw_point_markers, header, job_memory_chart, segments, y_range, LegendEntry, Sample, BLUE,
    FONT, GREEN, GREY,
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
    let legend: Vec<LegendEntry> = [
        (&base_rss, format!("{base}: RSS"), Sample::Dashed(BASE_RSS)),
        (&cand_rss, format!("{cand}: RSS"), Sample::Line(BLUE, 3)),
        (
            &base_live,
            format!("{base}: live"),
            Sample::Dashed(BASE_LIVE),
        ),
        (&cand_live, format!("{cand}: live"), Sample::Line(GREEN, 2)),
    ]
    .into_iter()
    .filter(|(segs, _, _)| !segs.is_empty())
    .map(|(_, label, sample)| LegendEntry::new(label, sample))
    .collect();
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

    let mut chart = job_memory_chart(&area, (x_lo, x_hi), (y_lo, y_hi))?;
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
                draw_point_markers(&mut chart, seg, color)?;
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
                draw_point_markers(&mut chart, seg, color)?;
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
