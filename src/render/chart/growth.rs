//! Chart 2: the top growing sites, types or metrics as horizontal bars.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor;

use super::{de, header, LegendEntry, Sample, DARK, FONT, GREEN, VERMILLION};
use crate::render::format;
use crate::render::{GrowthKind, ReportInput};

/// Bars drawn at most.
const MAX_BARS: usize = 8;
/// Pixels per bar row.
const ROW_PX: u32 = 40;
/// Pixels of everything but the rows: title, legend, axis with its labels, margins.
const FRAME_PX: u32 = 150;
/// Pixels reserved for the bar names on the left.
const NAME_AREA_PX: u32 = 250;

/// What the growth chart shows: one kind of row (sites when captured, else types, else metrics).
pub struct GrowthSpec {
    pub kind: GrowthKind,
    pub unit: String,
    pub from_job: u64,
    pub to_job: u64,
    /// (name, change, change per job), in the table's order (most growth first).
    pub bars: Vec<(String, f64, f64)>,
}

impl GrowthSpec {
    /// `None` when there is no growth table or it has no rows.
    pub fn from_input(input: &ReportInput) -> Option<GrowthSpec> {
        let growth = input.growth.as_ref()?;
        let kind = [GrowthKind::Site, GrowthKind::Type, GrowthKind::Metric]
            .into_iter()
            .find(|k| {
                growth
                    .rows
                    .iter()
                    .any(|r| r.kind == *k && r.change.is_finite())
            })?;
        let rows: Vec<_> = growth
            .rows
            .iter()
            .filter(|r| r.kind == kind && r.change.is_finite())
            .take(MAX_BARS)
            .collect();
        let unit = rows.first().map(|r| r.unit.clone()).unwrap_or_default();
        let bars = rows
            .iter()
            .map(|r| {
                let name = if kind == GrowthKind::Metric {
                    format::series_name(&r.name)
                } else {
                    r.name.clone()
                };
                (name, r.change, r.change_per_job)
            })
            .collect();
        Some(GrowthSpec {
            kind,
            unit,
            from_job: growth.from_job,
            to_job: growth.to_job,
            bars,
        })
    }

    pub fn title(&self) -> String {
        let what = match self.kind {
            GrowthKind::Site => "allocation sites",
            GrowthKind::Type => "types",
            GrowthKind::Metric => "memory metrics",
        };
        format!(
            "Top growing {what}, job {} → {}",
            self.from_job, self.to_job
        )
    }
}

/// The chart's height for `bars` rows: as tall as the bars need (one bar is a short strip, not
/// a bar at the top of an empty frame), at most the other charts' height.
pub fn height(bars: usize) -> u32 {
    let rows = u32::try_from(bars.clamp(1, MAX_BARS)).unwrap_or(1);
    (FRAME_PX + ROW_PX * rows).min(super::CHART_SIZE.1)
}

/// Shorten a name until it fits `max_px` in `style` (site names can be very long).
fn fit_name<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    name: &str,
    style: &TextStyle,
    max_px: u32,
) -> Result<String, String> {
    let fits = |text: &str| -> Result<bool, String> {
        Ok(area.estimate_text_size(text, style).map_err(de)?.0 <= max_px)
    };
    // A site is `function (file:line) <- caller ...`: keep the innermost frame, then its function.
    let innermost = name.split(" <- ").next().unwrap_or(name);
    let function = innermost.split(" (").next().unwrap_or(innermost);
    for candidate in [name, innermost, function] {
        if fits(candidate)? {
            return Ok(candidate.to_string());
        }
    }
    let name = function;
    let mut chars = name.chars().count();
    let mut text = name.to_string();
    while chars > 4 && area.estimate_text_size(&text, style).map_err(de)?.0 > max_px {
        chars -= 2;
        text = format::truncate(name, chars);
    }
    Ok(text)
}

pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spec: &GrowthSpec,
) -> Result<(), String> {
    let mut legend = vec![LegendEntry::new(
        format!("growth ({}), label: total and per job", spec.unit),
        Sample::Bar(VERMILLION),
    )];
    if spec.bars.iter().any(|b| b.1 < 0.0) {
        legend.push(LegendEntry::new("shrink", Sample::Bar(GREEN)));
    }
    let area = header(root, &spec.title(), &legend)?;
    // The chart's height follows the rows ([`height`]): one slot per bar.
    let n = spec.bars.len().max(1);
    let lo = spec.bars.iter().map(|b| b.1).fold(0.0_f64, f64::min);
    let hi = spec.bars.iter().map(|b| b.1).fold(0.0_f64, f64::max);
    let span = (hi - lo).max(f64::EPSILON.max(hi.abs() * 0.01)).max(1e-9);
    // Room on the right for the value labels.
    let (x_lo, x_hi) = (
        if lo < 0.0 { lo - span * 0.05 } else { 0.0 },
        hi + span * 0.35 + if hi == 0.0 { 1.0 } else { 0.0 },
    );

    let name_style = TextStyle::from((FONT, 12).into_font()).color(&DARK);
    let names: Vec<String> = spec
        .bars
        .iter()
        .map(|b| fit_name(&area, &b.0, &name_style, NAME_AREA_PX - 14))
        .collect::<Result<_, _>>()?;

    let mut chart = ChartBuilder::on(&area)
        .margin_left(8)
        .margin_right(24)
        .margin_bottom(6)
        .x_label_area_size(42)
        .y_label_area_size(NAME_AREA_PX)
        .build_cartesian_2d(x_lo..x_hi, -0.6..(n as f64 - 0.4))
        .map_err(de)?;
    let unit = spec.unit.clone();
    let x_desc = format!(
        "change from job {} to job {} ({unit})",
        spec.from_job, spec.to_job
    );
    let decimals = axis_decimals(x_hi - x_lo);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(x_desc)
        .x_labels(8)
        .x_label_formatter(&|v| format!("{v:.decimals$}"))
        .y_labels(0)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 14))
        .max_light_lines(0)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(de)?;

    let name_anchor = name_style.pos(text_anchor::Pos::new(
        text_anchor::HPos::Right,
        text_anchor::VPos::Center,
    ));
    let value_style =
        TextStyle::from((FONT, 12).into_font())
            .color(&DARK)
            .pos(text_anchor::Pos::new(
                text_anchor::HPos::Left,
                text_anchor::VPos::Center,
            ));
    for (k, (_, change, per_job)) in spec.bars.iter().enumerate() {
        let slot = (n - 1 - k) as f64;
        let color = if *change >= 0.0 { VERMILLION } else { GREEN };
        let (a, b) = if *change >= 0.0 {
            (0.0, *change)
        } else {
            (*change, 0.0)
        };
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(a, slot - 0.32), (b, slot + 0.32)],
                color.filled(),
            )))
            .map_err(de)?;
        let (px, py) = chart.backend_coord(&(x_lo, slot));
        if let Some(name) = names.get(k) {
            root.draw_text(name, &name_anchor, (px - 8, py))
                .map_err(de)?;
        }
        let label = format!(
            "{} ({}/job)",
            format::with_unit(*change, &spec.unit),
            format::signed(*per_job)
        );
        chart
            .draw_series(std::iter::once(Text::new(
                label,
                (b.max(0.0) + span * 0.01, slot),
                value_style.clone(),
            )))
            .map_err(de)?;
    }
    Ok(())
}

/// Decimals for axis ticks over a span, so that every tick prints alike.
fn axis_decimals(span: f64) -> usize {
    if span >= 50.0 {
        0
    } else if span >= 5.0 {
        1
    } else if span >= 0.5 {
        2
    } else {
        3
    }
}
