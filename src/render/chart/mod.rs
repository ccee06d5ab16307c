//! Charts with plotters, each written as SVG and as an 800x480 PNG. The font is DejaVu Sans,
//! embedded from the `dejavu` crate and registered as `sans-serif`: no system fonts are read.
//!
//! 1. [`trajectory`]: memory by job (RSS, live, resident), cache clears, floor and fitted slope,
//!    memory limit and projected crossing, failed jobs and worker restarts;
//! 2. [`growth`]: the top growing sites, types or metrics as bars;
//! 3. [`comparison`]: a baseline and a candidate run on one job axis.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor;
use plotters::style::{register_font, FontStyle, RGBColor};

use super::ReportInput;
use crate::{Error, Result};

pub mod comparison;
pub mod fleet;
pub mod growth;
pub mod sweep;
pub mod trajectory;

/// Chart size in pixels (PNG) and user units (SVG).
pub const CHART_SIZE: (u32, u32) = (800, 480);

pub(crate) const FONT: &str = "sans-serif";

// Okabe-Ito colours: told apart by colour-blind readers too.
pub(crate) const BLUE: RGBColor = RGBColor(0, 114, 178);
pub(crate) const GREEN: RGBColor = RGBColor(0, 158, 115);
pub(crate) const ORANGE: RGBColor = RGBColor(230, 159, 0);
pub(crate) const VERMILLION: RGBColor = RGBColor(213, 94, 0);
pub(crate) const PURPLE: RGBColor = RGBColor(204, 121, 167);
pub(crate) const SKY: RGBColor = RGBColor(86, 180, 233);
pub(crate) const DARK: RGBColor = RGBColor(40, 40, 40);
pub(crate) const GREY: RGBColor = RGBColor(140, 140, 140);
pub(crate) const LIMIT_RED: RGBColor = RGBColor(190, 30, 45);

/// A chart written to disk.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartFile {
    /// File stem: `trajectory`, `growth`, `comparison`.
    pub name: String,
    pub title: String,
    pub svg_path: PathBuf,
    pub png_path: PathBuf,
    /// The PNG's bytes (report.html embeds them without reading the file back).
    pub png: Vec<u8>,
}

impl ChartFile {
    /// The PNG's path relative to the report folder.
    pub fn relative_png(&self) -> String {
        format!("{}/{}.png", super::CHARTS_DIR, self.name)
    }

    pub fn relative_svg(&self) -> String {
        format!("{}/{}.svg", super::CHARTS_DIR, self.name)
    }
}

/// Register the embedded DejaVu Sans once per process.
pub(crate) fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "the embedded DejaVu Sans font could not be read".to_string())?;
            register_font(FONT, FontStyle::Bold, dejavu::sans::bold())
                .map_err(|_| "the embedded DejaVu Sans Bold font could not be read".to_string())
        })
        .clone()
        .map_err(Error::Internal)
}

/// Draw every chart the input has data for into `dir` (as `<name>.svg` and `<name>.png`).
pub fn write_charts(dir: &Path, input: &ReportInput) -> Result<Vec<ChartFile>> {
    ensure_font()?;
    let mut files = Vec::new();
    files.push(write_chart(
        dir,
        "trajectory",
        &trajectory::title(input),
        |root| trajectory::draw(root, input),
    )?);
    if let Some(spec) = growth::GrowthSpec::from_input(input) {
        let size = (CHART_SIZE.0, growth::height(spec.bars.len()));
        files.push(write_chart_sized(
            dir,
            "growth",
            &spec.title(),
            size,
            |root| growth::draw(root, &spec),
        )?);
    }
    if let Some(baseline) = &input.baseline {
        files.push(write_chart(
            dir,
            "comparison",
            &comparison::title(input, baseline),
            |root| comparison::draw(root, input, baseline),
        )?);
    }
    Ok(files)
}

/// Draw one chart as SVG, then rasterise that SVG to PNG with resvg and the embedded font (so
/// both files show the same picture; plotters' own bitmap text drops glyph side bearings,
/// which left uneven gaps inside words).
pub(crate) fn write_chart<S>(dir: &Path, name: &str, title: &str, draw_svg: S) -> Result<ChartFile>
where
    S: FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> std::result::Result<(), String>,
{
    write_chart_sized(dir, name, title, CHART_SIZE, draw_svg)
}

/// [`write_chart`] at a size of its own (the growth chart is as tall as its bars need).
pub(crate) fn write_chart_sized<S>(
    dir: &Path,
    name: &str,
    title: &str,
    size: (u32, u32),
    draw_svg: S,
) -> Result<ChartFile>
where
    S: FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> std::result::Result<(), String>,
{
    let svg_path = dir.join(format!("{name}.svg"));
    let png_path = dir.join(format!("{name}.png"));
    let fail =
        |what: &str, e: String| Error::Internal(format!("drawing the {name} chart ({what}): {e}"));

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw_svg(&root).map_err(|e| fail("SVG", e))?;
        root.present().map_err(|e| fail("SVG", e.to_string()))?;
    }
    super::write_file(&svg_path, svg.as_bytes())?;
    let png = rasterize(&svg, size).map_err(|e| fail("PNG", e))?;
    super::write_file(&png_path, &png)?;

    Ok(ChartFile {
        name: name.to_string(),
        title: title.to_string(),
        svg_path,
        png_path,
        png,
    })
}

/// The SVG as a PNG of `size` pixels on white, text set in the embedded DejaVu Sans.
fn rasterize(svg: &str, size: (u32, u32)) -> std::result::Result<Vec<u8>, String> {
    use resvg::{tiny_skia, usvg};
    static OPTIONS: OnceLock<usvg::Options<'static>> = OnceLock::new();
    let options = OPTIONS.get_or_init(|| {
        let mut options = usvg::Options::default();
        let fonts = options.fontdb_mut();
        fonts.load_font_data(dejavu::sans::regular().to_vec());
        fonts.load_font_data(dejavu::sans::bold().to_vec());
        fonts.set_sans_serif_family("DejaVu Sans");
        options.font_family = "DejaVu Sans".into();
        options
    });
    let tree = usvg::Tree::from_str(svg, options).map_err(|e| e.to_string())?;
    let (width, height) = size;
    let mut pixmap = tiny_skia::Pixmap::new(width, height)
        .ok_or_else(|| format!("cannot make a {width}x{height} image"))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| e.to_string())
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sample {
    Line(RGBColor, u32),
    Dashed(RGBColor),
    Dotted(RGBColor),
    Cross(RGBColor),
    Triangle(RGBColor),
    Square(RGBColor),
    Circle(RGBColor),
    Bar(RGBColor),
}

#[derive(Debug, Clone)]
pub(crate) struct LegendEntry {
    pub label: String,
    pub sample: Sample,
}

impl LegendEntry {
    pub fn new(label: impl Into<String>, sample: Sample) -> Self {
        LegendEntry {
            label: label.into(),
            sample,
        }
    }
}

const LEGEND_ROW_PX: i32 = 20;
const TITLE_PX: i32 = 34;

pub(crate) fn de<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Draw the title and the legend above the plot (so the legend never covers data) and return
/// the area left for the plot.
pub(crate) fn header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    entries: &[LegendEntry],
) -> std::result::Result<DrawingArea<DB, Shift>, String> {
    root.fill(&WHITE).map_err(de)?;
    let title_style = TextStyle::from((FONT, 18).into_font().style(FontStyle::Bold)).color(&DARK);
    root.draw_text(&super::format::truncate(title, 80), &title_style, (14, 9))
        .map_err(de)?;

    let label_style = TextStyle::from((FONT, 13).into_font()).color(&DARK);
    let width = i32::try_from(root.dim_in_pixel().0).unwrap_or(800);
    let (mut x, mut y) = (16, TITLE_PX + 2);
    for entry in entries {
        let (text_w, _) = root
            .estimate_text_size(&entry.label, &label_style)
            .map_err(de)?;
        let entry_w = 28 + i32::try_from(text_w).unwrap_or(200) + 18;
        if x + entry_w > width - 10 && x > 16 {
            x = 16;
            y += LEGEND_ROW_PX;
        }
        let cy = y + LEGEND_ROW_PX / 2 - 2;
        draw_sample(root, entry.sample, (x, cy))?;
        root.draw_text(
            &entry.label,
            &label_style.pos(text_anchor::Pos::new(
                text_anchor::HPos::Left,
                text_anchor::VPos::Center,
            )),
            (x + 28, cy),
        )
        .map_err(de)?;
        x += entry_w;
    }
    let used = if entries.is_empty() {
        TITLE_PX + 4
    } else {
        y + LEGEND_ROW_PX + 4
    };
    Ok(root.split_vertically(used).1)
}

fn draw_sample<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    sample: Sample,
    (x, y): (i32, i32),
) -> std::result::Result<(), String> {
    let mid = (x + 11, y);
    match sample {
        Sample::Line(color, width) => root
            .draw(&PathElement::new(
                vec![(x, y), (x + 22, y)],
                color.stroke_width(width),
            ))
            .map_err(de),
        Sample::Dashed(color) => root
            .draw(&DashedPathElement::new(
                vec![(x, y), (x + 22, y)],
                5,
                3,
                color.stroke_width(2),
            ))
            .map_err(de),
        Sample::Dotted(color) => root
            .draw(&DashedPathElement::new(
                vec![(x, y), (x + 22, y)],
                3,
                4,
                color.stroke_width(2),
            ))
            .map_err(de),
        Sample::Cross(color) => root
            .draw(&Cross::new(mid, 5, color.stroke_width(2)))
            .map_err(de),
        Sample::Triangle(color) => root
            .draw(&TriangleMarker::new(mid, 6, color.filled()))
            .map_err(de),
        Sample::Square(color) => root
            .draw(&Rectangle::new(
                [(x + 7, y - 4), (x + 15, y + 4)],
                color.stroke_width(2),
            ))
            .map_err(de),
        Sample::Circle(color) => root
            .draw(&Circle::new(mid, 5, color.stroke_width(2)))
            .map_err(de),
        Sample::Bar(color) => root
            .draw(&Rectangle::new(
                [(x + 2, y - 6), (x + 20, y + 6)],
                color.filled(),
            ))
            .map_err(de),
    }
}

/// A chart over jobs (x) and memory in MB (y), as the trajectory and comparison charts draw it.
pub(crate) type JobChart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Build a job/memory chart on `area` over `x` (jobs) and `y` (MB), with its mesh drawn.
pub(crate) fn job_memory_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    (x_lo, x_hi): (f64, f64),
    (y_lo, y_hi): (f64, f64),
) -> std::result::Result<JobChart<'a, DB>, String> {
    let mut chart = ChartBuilder::on(area)
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
        .y_label_formatter(&|v| super::format::mb(v.round()))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .max_light_lines(0)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(de)?;
    Ok(chart)
}

/// The memory limit as a dashed red line across `x_lo..x_hi` (the fleet and sweep charts).
pub(crate) fn draw_limit_line<DB: DrawingBackend>(
    chart: &mut JobChart<'_, DB>,
    (x_lo, x_hi): (f64, f64),
    limit: f64,
) -> std::result::Result<(), String> {
    chart
        .draw_series(std::iter::once(DashedPathElement::new(
            vec![(x_lo, limit), (x_hi, limit)],
            6,
            4,
            LIMIT_RED.stroke_width(2),
        )))
        .map_err(de)?;
    Ok(())
}

/// A filled dot on every point of a segment: larger when the segment is a single point.
pub(crate) fn draw_point_markers<DB: DrawingBackend>(
    chart: &mut JobChart<'_, DB>,
    seg: &[(f64, f64)],
    color: RGBColor,
) -> std::result::Result<(), String> {
    let radius = if seg.len() == 1 { 5 } else { 3 };
    chart
        .draw_series(seg.iter().map(|p| Circle::new(*p, radius, color.filled())))
        .map_err(de)?;
    Ok(())
}

/// The x axis of job charts: `lo..hi` in job numbers, labelled only at whole jobs.
pub(crate) fn job_label(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-6 && *x >= 0.0 {
        format!("{:.0}", x)
    } else {
        String::new()
    }
}

/// How many x labels to ask for so that ticks fall on whole jobs.
pub(crate) fn job_label_count(lo: f64, hi: f64) -> usize {
    let span = (hi - lo).max(1.0);
    (span.floor() as usize + 1).clamp(2, 12)
}

/// A y range that shows every value with some room, never below zero, never empty.
pub(crate) fn y_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        (hi.abs() * 0.05).max(1.0)
    };
    ((lo - pad).max(0.0), hi + pad)
}

/// Split a series with gaps into runs of consecutive present values.
pub(crate) fn segments(
    points: impl IntoIterator<Item = (f64, Option<f64>)>,
) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (x, y) in points {
        match y.filter(|v| v.is_finite()) {
            Some(y) => current.push((x, y)),
            None => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Buckets across a chart's x range when a long series is thinned before drawing (more than
/// the plot's pixel columns: what is drawn is the same).
pub(crate) const DRAWN_BUCKETS: usize = 1000;

/// The x bucket (of `buckets` across `lo..=hi`) that `x` falls in.
fn bucket_of(x: f64, (lo, hi): (f64, f64), buckets: usize) -> usize {
    if hi <= lo {
        return 0;
    }
    (((x - lo) / (hi - lo) * buckets as f64) as usize).min(buckets - 1)
}

/// A line's points (in x order) thinned for drawing: of each of `buckets` x buckets its
/// first, lowest, highest and last point, in x order (M4: Jugel et al., "M4: a
/// visualization-oriented time series data aggregation", VLDB 2014: a line through them
/// lights the same pixels as the line through all points, at that many columns). A line of
/// at most 4 points a bucket is kept whole.
pub(crate) fn thin_line(points: &[(f64, f64)], buckets: usize) -> Vec<(f64, f64)> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    if buckets == 0 || points.len() <= 4 * buckets {
        return points.to_vec();
    }
    let range = (first.0, last.0);
    let mut out = Vec::with_capacity(4 * buckets);
    let mut start = 0;
    while start < points.len() {
        let b = bucket_of(points[start].0, range, buckets);
        let mut end = start + 1;
        while end < points.len() && bucket_of(points[end].0, range, buckets) == b {
            end += 1;
        }
        let part = &points[start..end];
        let low = (0..part.len()).min_by(|&i, &j| part[i].1.total_cmp(&part[j].1));
        let high = (0..part.len()).max_by(|&i, &j| part[i].1.total_cmp(&part[j].1));
        let mut keep: Vec<usize> = [Some(0), low, high, Some(part.len() - 1)]
            .into_iter()
            .flatten()
            .collect();
        keep.sort_unstable();
        keep.dedup();
        out.extend(keep.into_iter().map(|i| part[i]));
        start = end;
    }
    out
}

/// Cache clears (job, before, after) thinned for drawing: more than `buckets` become one per
/// x bucket, from the highest before to the lowest after of the bucket's clears, at its first.
pub(crate) fn thin_clears(clears: &[(f64, f64, f64)], buckets: usize) -> Vec<(f64, f64, f64)> {
    let (Some(first), Some(last)) = (clears.first(), clears.last()) else {
        return Vec::new();
    };
    if buckets == 0 || clears.len() <= buckets {
        return clears.to_vec();
    }
    let range = (first.0, last.0);
    let mut out: Vec<(usize, (f64, f64, f64))> = Vec::with_capacity(buckets);
    for &(x, before, after) in clears {
        let b = bucket_of(x, range, buckets);
        match out.last_mut() {
            Some((at, merged)) if *at == b => {
                merged.1 = merged.1.max(before);
                merged.2 = merged.2.min(after);
            }
            _ => out.push((b, (x, before, after))),
        }
    }
    out.into_iter().map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinned_lines_keep_each_buckets_ends_and_extremes() {
        let points: Vec<(f64, f64)> = (0..100_000)
            .map(|i| {
                (
                    i as f64,
                    ((i * 7919) % 1000) as f64 + if i == 77_777 { 5000.0 } else { 0.0 },
                )
            })
            .collect();
        let thin = thin_line(&points, 100);
        assert!(thin.len() <= 400, "{}", thin.len());
        assert_eq!(thin.first(), points.first());
        assert_eq!(thin.last(), points.last());
        assert!(thin.contains(&(77_777.0, 5000.0 + ((77_777 * 7919) % 1000) as f64)));
        assert!(thin.windows(2).all(|w| w[0].0 < w[1].0), "in x order");
        for b in 0..100 {
            let in_bucket = |p: &&(f64, f64)| bucket_of(p.0, (0.0, 99_999.0), 100) == b;
            let max = |v: Vec<&(f64, f64)>| v.iter().map(|p| p.1).fold(f64::MIN, f64::max);
            let min = |v: Vec<&(f64, f64)>| v.iter().map(|p| p.1).fold(f64::MAX, f64::min);
            let all: Vec<&(f64, f64)> = points.iter().filter(in_bucket).collect();
            let kept: Vec<&(f64, f64)> = thin.iter().filter(in_bucket).collect();
            assert_eq!(max(all.clone()), max(kept.clone()), "bucket {b}");
            assert_eq!(min(all), min(kept), "bucket {b}");
        }
        let short: Vec<(f64, f64)> = (0..40).map(|i| (i as f64, 1.0)).collect();
        assert_eq!(
            thin_line(&short, 10),
            short,
            "4 points a bucket or fewer: whole"
        );
    }

    #[test]
    fn thinned_clears_keep_the_highest_before_and_lowest_after() {
        let clears: Vec<(f64, f64, f64)> = (1..=3000)
            .map(|i| {
                (
                    3.0 * i as f64,
                    1100.0 + (i % 5) as f64,
                    860.0 - (i % 7) as f64,
                )
            })
            .collect();
        let thin = thin_clears(&clears, 100);
        assert!(thin.len() <= 100, "{}", thin.len());
        let top = |v: &[(f64, f64, f64)]| v.iter().map(|c| c.1).fold(f64::MIN, f64::max);
        let bottom = |v: &[(f64, f64, f64)]| v.iter().map(|c| c.2).fold(f64::MAX, f64::min);
        assert_eq!((top(&thin), bottom(&thin)), (top(&clears), bottom(&clears)));
        assert_eq!(thin_clears(&clears[..50], 100), clears[..50].to_vec());
    }

    #[test]
    fn gaps_split_series() {
        let s = segments(vec![
            (1.0, Some(1.0)),
            (2.0, None),
            (3.0, Some(3.0)),
            (4.0, Some(4.0)),
        ]);
        assert_eq!(s, vec![vec![(1.0, 1.0)], vec![(3.0, 3.0), (4.0, 4.0)]]);
    }

    #[test]
    fn y_range_is_never_empty() {
        assert_eq!(y_range(Vec::<f64>::new()), (0.0, 1.0));
        let (lo, hi) = y_range(vec![100.0, 100.0]);
        assert!(lo < 100.0 && hi > 100.0);
        assert_eq!(job_label(&3.0), "3");
        assert_eq!(job_label(&2.5), "");
    }
}
