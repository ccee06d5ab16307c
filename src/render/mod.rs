//! Tables, charts, Markdown and HTML reports: consumers of plain structs only.
//!
//! Everything here reads the structs that measurement and analysis produce ([`Trajectory`],
//! [`RunVerdict`], [`ClearPoint`], [`RunManifest`], [`GrowthTable`]) and never computes a
//! statistic of its own: it formats, lays out and draws.
//!
//! The one entry point for `replay`, `logs` and `report` is [`write_report`]; the terminal
//! summary is [`terminal_report`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::analysis::{ClearPoint, RunVerdict, Trajectory};
use crate::record::RunManifest;
use crate::{Error, Result};

pub mod chart;
pub mod doc;
pub mod fleet;
pub mod format;
pub mod gate;
pub mod html;
pub mod json;
pub mod markdown;
pub mod minimize;
pub mod sweep;
pub mod table;
pub mod terminal;

pub use terminal::{render_terminal, terminal_report, Terminal};

/// Which kind of row of a [`GrowthTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrowthKind {
    /// A memory metric (`rss_mb`, `live_mb`, ...).
    Metric,
    /// A type of the census (live count).
    Type,
    /// An allocation site (live MB).
    Site,
}

impl GrowthKind {
    pub fn label(self) -> &'static str {
        match self {
            GrowthKind::Metric => "metric",
            GrowthKind::Type => "type",
            GrowthKind::Site => "site",
        }
    }
}

/// One row of the growth table, as the analysis' diff computed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrowthRow {
    pub kind: GrowthKind,
    pub name: String,
    /// `MB` or `count`.
    pub unit: String,
    /// Value at the first job of the compared range (None when absent there).
    pub from: Option<f64>,
    /// Value at the last job of the compared range.
    pub to: Option<f64>,
    /// Absolute change over the range.
    pub change: f64,
    /// Change per job over the range.
    pub change_per_job: f64,
}

/// The growth table: the analysis' diff between two jobs, most growth first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrowthTable {
    pub from_job: u64,
    pub to_job: u64,
    pub rows: Vec<GrowthRow>,
}

impl GrowthTable {
    /// The growth table of the analysis' diff between two jobs of one run. The per-job change
    /// is the diff's change spread over the jobs between them (a display value).
    pub fn from_diff(
        diff: &crate::analysis::diff::Diff,
        from_job: u64,
        to_job: u64,
    ) -> GrowthTable {
        let jobs = to_job.saturating_sub(from_job).max(1) as f64;
        let rows = |kind: GrowthKind, rows: &[crate::analysis::diff::DiffRow]| -> Vec<GrowthRow> {
            rows.iter()
                .map(|r| GrowthRow {
                    kind,
                    name: r.name.clone(),
                    unit: r.unit.clone(),
                    from: r.from,
                    to: r.to,
                    change: r.change,
                    change_per_job: r.change / jobs,
                })
                .collect()
        };
        let mut all = rows(GrowthKind::Metric, &diff.metrics);
        all.extend(rows(GrowthKind::Type, &diff.types));
        all.extend(rows(GrowthKind::Site, &diff.sites));
        GrowthTable {
            from_job,
            to_job,
            rows: all,
        }
    }
}

/// A second run to compare the main one with (the comparison chart).
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineRun {
    /// A short name for the legend (`baseline`, a folder name, ...).
    pub label: String,
    pub trajectory: Trajectory,
}

/// Everything a report is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportInput {
    /// A short title: the workload name or the log file name.
    pub title: String,
    /// The run's manifest (replay runs); `None` for logs.
    pub manifest: Option<RunManifest>,
    pub trajectory: Trajectory,
    pub verdict: RunVerdict,
    /// The cache-clear table (the analysis' clear table; usually the trajectory's clears).
    pub clears: Vec<ClearPoint>,
    pub growth: Option<GrowthTable>,
    /// The candidate's label is `candidate` when a baseline is given.
    pub baseline: Option<BaselineRun>,
    /// Extra settings to list (for logs: the log path, lines not read, ...).
    pub settings: Vec<(String, String)>,
}

impl ReportInput {
    /// A report of a trajectory and its verdict, with the trajectory's own clears.
    pub fn new(title: impl Into<String>, trajectory: Trajectory, verdict: RunVerdict) -> Self {
        let clears = trajectory.clears.clone();
        ReportInput {
            title: title.into(),
            manifest: None,
            trajectory,
            verdict,
            clears,
            growth: None,
            baseline: None,
            settings: Vec::new(),
        }
    }
}

/// What [`write_report`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// Draw the charts (SVG and PNG). `--no-charts` turns this off.
    pub charts: bool,
    pub markdown: bool,
    pub html: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            charts: true,
            markdown: true,
            html: true,
        }
    }
}

/// The folder, under the output folder, that holds the charts.
pub const CHARTS_DIR: &str = "charts";
pub const REPORT_MD: &str = "report.md";
pub const REPORT_HTML: &str = "report.html";
/// The most rows of the jobs and of the cache-clear tables in `report.md`/`report.html`: the
/// first and the last half of them (a 277,778-job log made a 70 MB `report.html`).
pub const REPORT_TABLE_ROWS: usize = 2000;

/// Write the charts (`charts/*.svg`, `charts/*.png`), `report.md` and `report.html` into
/// `out_dir` (created when missing). Returns the files written, charts first.
pub fn write_report(
    out_dir: &Path,
    input: &ReportInput,
    opts: &RenderOptions,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out_dir)
        .map_err(|e| Error::io(format!("creating report folder {}", out_dir.display()), e))?;
    let mut written = Vec::new();
    let charts = if opts.charts {
        let dir = out_dir.join(CHARTS_DIR);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let charts = chart::write_charts(&dir, input)?;
        for c in &charts {
            written.push(c.svg_path.clone());
            written.push(c.png_path.clone());
        }
        charts
    } else {
        Vec::new()
    };
    // A long run's jobs and clears: the first and last rows (all of them are in jobs.jsonl, or
    // in `logs --json`).
    let document = doc::build_shown(input, &charts, Some(REPORT_TABLE_ROWS));
    if opts.markdown {
        let path = out_dir.join(REPORT_MD);
        write_file(&path, markdown::render(&document, &charts).as_bytes())?;
        written.push(path);
    }
    if opts.html {
        let path = out_dir.join(REPORT_HTML);
        let html = html::render(&document, &charts)?;
        write_file(&path, html.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}
