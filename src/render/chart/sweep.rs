//! The sweep chart: each policy's memory ceiling (peak RSS) against its throughput, the
//! Pareto front joined, the memory limit, the policies that died marked with their job, the
//! recommended policy ringed.

use std::path::Path;

use plotters::prelude::*;

use super::{de, header, write_chart, ChartFile, LegendEntry, Sample, DARK, FONT, GREEN, GREY};
use super::{BLUE, LIMIT_RED, ORANGE, VERMILLION};
use crate::analysis::sweep::SweepReport;
use crate::Result;

/// A point of the chart: label, throughput, ceiling, on the front, died at, recommended.
struct Dot {
    label: String,
    speed: f64,
    ceiling: f64,
    front: bool,
    died: Option<u64>,
    recommended: bool,
}

fn dots(report: &SweepReport) -> Vec<Dot> {
    let rec = report.recommendation.as_ref().and_then(|r| r.index);
    report
        .policies
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let m = p.metrics.as_ref()?;
            Some(Dot {
                label: p.id.clone(),
                speed: m.jobs_per_sec?,
                ceiling: m.peak_rss_mb?,
                front: p.pareto,
                died: m.death.as_ref().map(|d| d.job),
                recommended: rec == Some(i),
            })
        })
        .collect()
}

pub fn title(report: &SweepReport) -> String {
    format!(
        "{}: memory ceiling against throughput",
        report.workload_name
    )
}

/// Draw `sweep.svg` and `sweep.png` into `dir`.
pub fn write(dir: &Path, report: &SweepReport) -> Result<ChartFile> {
    super::ensure_font()?;
    let title = title(report);
    write_chart(dir, "sweep", &title, |root| draw(root, report, &title))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    report: &SweepReport,
    title: &str,
) -> std::result::Result<(), String> {
    let dots = dots(report);
    let limit = report
        .memory_limit_bytes
        .map(|b| b as f64 / crate::units::MIB);
    let mut legend = vec![
        LegendEntry::new("policy", Sample::Circle(BLUE)),
        LegendEntry::new("Pareto front", Sample::Line(GREEN, 2)),
        LegendEntry::new("died (job)", Sample::Cross(VERMILLION)),
        LegendEntry::new("recommended", Sample::Circle(ORANGE)),
    ];
    if limit.is_some() {
        legend.push(LegendEntry::new("memory limit", Sample::Dashed(LIMIT_RED)));
    }
    let area = header(root, title, &legend)?;
    let speeds: Vec<f64> = dots.iter().map(|d| d.speed).collect();
    let (x_lo, x_hi) = super::y_range(speeds.iter().copied().chain([0.0]));
    let (y_lo, y_hi) = super::y_range(dots.iter().map(|d| d.ceiling).chain(limit).chain([0.0]));
    let x_hi = x_hi * 1.4; // room for the labels right of the points
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
        .x_desc("throughput (jobs/s)")
        .y_desc("memory ceiling: peak RSS (MB)")
        .x_label_formatter(&|v| format!("{v:.2}"))
        .y_label_formatter(&|v| crate::render::format::mb(v.round()))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .max_light_lines(0)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(de)?;
    if let Some(l) = limit {
        super::draw_limit_line(&mut chart, (x_lo, x_hi), l)?;
    }
    let mut front: Vec<(f64, f64)> = dots
        .iter()
        .filter(|d| d.front)
        .map(|d| (d.speed, d.ceiling))
        .collect();
    front.sort_by(|a, b| a.0.total_cmp(&b.0));
    if front.len() > 1 {
        chart
            .draw_series(std::iter::once(PathElement::new(
                front.clone(),
                GREEN.stroke_width(2),
            )))
            .map_err(de)?;
    }
    let label_style = TextStyle::from((FONT, 11).into_font()).color(&DARK);
    let mut placed: Vec<(i32, i32, i32)> = Vec::new();
    for d in &dots {
        let at = (d.speed, d.ceiling);
        if d.died.is_some() {
            chart
                .draw_series(std::iter::once(Cross::new(
                    at,
                    6,
                    VERMILLION.stroke_width(2),
                )))
                .map_err(de)?;
        } else {
            let color = if d.front { GREEN } else { BLUE };
            chart
                .draw_series(std::iter::once(Circle::new(at, 5, color.filled())))
                .map_err(de)?;
        }
        if d.recommended {
            chart
                .draw_series(std::iter::once(Circle::new(at, 10, ORANGE.stroke_width(3))))
                .map_err(de)?;
        }
        let text = match d.died {
            Some(job) => format!("{} (died, job {job})", d.label),
            None => d.label.clone(),
        };
        let (px, py) = chart.backend_coord(&at);
        let dy = free_offset(&mut placed, px + 8, py, text.chars().count() as i32 * 6);
        chart
            .draw_series(std::iter::once(
                EmptyElement::at(at) + Text::new(text, (8, dy), label_style.clone()),
            ))
            .map_err(de)?;
    }
    if dots.is_empty() {
        let style = TextStyle::from((FONT, 14).into_font()).color(&GREY);
        chart
            .draw_series(std::iter::once(Text::new(
                "no finished policy yet".to_string(),
                ((x_lo + x_hi) / 2.0, (y_lo + y_hi) / 2.0),
                style,
            )))
            .map_err(de)?;
    }
    Ok(())
}

/// A vertical offset for a label at pixel (x, y) of width `w` that overlaps no label placed
/// before (tried above, below, then further away); the label is recorded as placed.
fn free_offset(placed: &mut Vec<(i32, i32, i32)>, x: i32, y: i32, w: i32) -> i32 {
    const H: i32 = 13;
    let candidates = (0..12).map(|k| {
        let step = (k / 2 + 1) * H;
        if k % 2 == 0 {
            -step
        } else {
            step - H + 4
        }
    });
    let mut chosen = -H - 1;
    for dy in candidates {
        let top = y + dy;
        let clash = placed
            .iter()
            .any(|&(px, pt, pw)| x < px + pw && px < x + w && top < pt + H && pt < top + H);
        if !clash {
            chosen = dy;
            break;
        }
    }
    placed.push((x, y + chosen, w));
    chosen
}
