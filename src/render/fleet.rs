//! A fleet's outputs: the table of workers (terminal, Markdown, HTML), `fleet.md`,
//! `fleet.html`, and the chart of every worker's trajectory ([`super::chart::fleet`]). Reads
//! [`FleetReport`] only.

use std::path::{Path, PathBuf};

use super::chart::ChartFile;
use super::doc::{Block, Document, Span};
use super::format::{self, MISSING};
use super::table::{Cell, TableData, Tone};
use super::Terminal;
use crate::analysis::fleet::{FleetReport, FleetWorker};
use crate::analysis::LeakCall;
use crate::{Error, Result};

pub const FLEET_MD: &str = "fleet.md";
pub const FLEET_HTML: &str = "fleet.html";
pub const FLEET_JSON: &str = "fleet.json";

fn call_tone(call: LeakCall) -> Tone {
    match call {
        LeakCall::Leak => Tone::Bad,
        LeakCall::NoLeak => Tone::Good,
        LeakCall::SlowGrowth | LeakCall::Inconclusive => Tone::Warn,
    }
}

/// One row per worker, in the report's order.
pub fn table(report: &FleetReport) -> TableData {
    let mut t = TableData::new(&[
        ("worker", false),
        ("verdict", false),
        ("pattern", false),
        ("RSS slope MB/job (95% CI)", true),
        ("peak RSS MB", true),
        ("jobs", true),
        ("clears", true),
        ("freed per clear MB", true),
        ("deaths", true),
        ("restarts", true),
        ("limit at job", true),
        ("report or error", false),
    ]);
    for w in &report.workers {
        t.rows.push(row(w));
    }
    t
}

fn count(n: u64, bad: bool) -> Cell {
    if n > 0 && bad {
        Cell::tone(n.to_string(), Tone::Bad)
    } else {
        Cell::new(n.to_string())
    }
}

fn row(w: &FleetWorker) -> Vec<Cell> {
    let name = Cell::tone(w.name.clone(), Tone::Strong);
    if let Some(err) = &w.error {
        let mut cells = vec![name, Cell::tone("unreadable log", Tone::Bad)];
        cells.extend((0..9).map(|_| Cell::tone(MISSING, Tone::Muted)));
        cells.push(Cell::tone(err.to_string(), Tone::Bad));
        return cells;
    }
    let verdict = match w.call {
        Some(call) => Cell::tone(format::call(call), call_tone(call)),
        None => Cell::tone(MISSING, Tone::Muted),
    };
    let slope = match (w.slope_mb_per_job, w.slope_ci_mb_per_job) {
        (Some(s), Some((lo, hi))) => format!(
            "{} ({} to {})",
            format::signed(s),
            format::signed(lo),
            format::signed(hi)
        ),
        (Some(s), None) => format::signed(s),
        _ => MISSING.into(),
    };
    vec![
        name,
        verdict,
        Cell::new(w.pattern.map_or(MISSING, format::pattern)),
        Cell::new(slope),
        Cell::new(format::mb_fixed(w.peak_rss_mb, 0)),
        Cell::new(w.jobs.to_string()),
        Cell::new(w.cache_clears.to_string()),
        Cell::new(format::mb_fixed(w.mean_freed_mb, 0)),
        count(w.deaths, true),
        count(u64::from(w.restarts), true),
        Cell::new(
            w.projected_limit_job
                .map_or(MISSING.into(), |j| j.to_string()),
        ),
        Cell::new(
            w.report_dir
                .as_ref()
                .map_or(MISSING.into(), |d| format!("{d}/report.md")),
        ),
    ]
}

fn plain(text: impl Into<String>) -> Span {
    Span {
        text: text.into(),
        strong: false,
        tone: Tone::Plain,
    }
}

/// The headline: how many workers, how many leak, how many logs could not be read.
fn headline(report: &FleetReport) -> Vec<Span> {
    let n = report.workers.len();
    let mut spans = vec![Span {
        text: format!("{} of {n} workers leak", report.leaks),
        strong: true,
        tone: if report.leaks > 0 {
            Tone::Bad
        } else {
            Tone::Good
        },
    }];
    spans.push(plain(format!(
        "; {} judged, horizon {} jobs{}.",
        report.judged,
        report.horizon_jobs,
        report.memory_limit_mb.map_or(String::new(), |l| format!(
            ", memory limit {} MB",
            format::mb(l)
        ))
    )));
    if report.unreadable > 0 {
        spans.push(Span {
            text: format!(
                " {} log(s) could not be read: see their rows.",
                report.unreadable
            ),
            strong: true,
            tone: Tone::Bad,
        });
    }
    spans
}

/// The fleet as report blocks; `chart` is the index of the trajectory chart, when drawn.
pub fn document(report: &FleetReport, chart: Option<usize>) -> Document {
    let mut blocks = vec![Block::Paragraph(headline(report))];
    blocks.push(Block::Paragraph(vec![plain(format!(
        "Order: {}.",
        report.order
    ))]));
    blocks.push(Block::Table(table(report)));
    if let Some(index) = chart {
        blocks.push(Block::Chart(index));
    }
    blocks.push(Block::Paragraph(vec![plain(
        "Each worker is judged alone, as `docling-memprof logs` judges one log: the slope is RSS's per job with its 95% interval; deaths are jobs whose [MEMORY] line never came before the worker restarted or the log ended; restarts are [WORKER START] lines after the first; freed per clear is the mean of the log's [CACHE CLEAR] lines.",
    )]));
    Document {
        title: format!("Fleet of {} workers", report.workers.len()),
        blocks,
    }
}

/// The fleet on a terminal: the same headline and table as `fleet.md`, without the chart.
pub fn terminal(report: &FleetReport, term: &Terminal) -> String {
    super::terminal::render_document(&document(report, None), term)
}

/// Write `fleet.json`, the chart (`charts/fleet.svg`, `.png`, when `charts` and any worker
/// was judged), `fleet.md` and `fleet.html` into `dir`. Returns the files written.
pub fn write(dir: &Path, report: &FleetReport, charts: bool) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating report folder {}", dir.display()), e))?;
    let mut written = Vec::new();
    let mut files: Vec<ChartFile> = Vec::new();
    if charts && report.workers.iter().any(|w| !w.rss.is_empty()) {
        let chart_dir = dir.join(super::CHARTS_DIR);
        std::fs::create_dir_all(&chart_dir)
            .map_err(|e| Error::io(format!("creating {}", chart_dir.display()), e))?;
        let file = super::chart::fleet::write(&chart_dir, report)?;
        written.push(file.svg_path.clone());
        written.push(file.png_path.clone());
        files.push(file);
    }
    let doc = document(report, (!files.is_empty()).then_some(0));
    let json = serde_json::to_string_pretty(report)
        .map_err(|e| Error::Internal(format!("fleet.json: {e}")))?;
    for (name, bytes) in [
        (FLEET_JSON, json),
        (FLEET_MD, super::markdown::render(&doc, &files)),
        (FLEET_HTML, super::html::render(&doc, &files)?),
    ] {
        let path = dir.join(name);
        super::write_file(&path, bytes.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}
