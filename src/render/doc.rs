//! The report's content as a list of blocks (headline, charts, tables, settings), so that the
//! terminal, Markdown and HTML renderings say the same thing.

use super::chart::ChartFile;
use super::format;
use super::table::{self, TableData, Tone};
use super::ReportInput;
use crate::analysis::{LeakCall, SeriesVerdict};

/// Rows of each kind in the growth table.
const GROWTH_ROWS_PER_KIND: usize = 10;

/// A run of text with emphasis.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub text: String,
    pub strong: bool,
    pub tone: Tone,
}

impl Span {
    fn plain(text: impl Into<String>) -> Self {
        Span {
            text: text.into(),
            strong: false,
            tone: Tone::Plain,
        }
    }

    fn strong(text: impl Into<String>, tone: Tone) -> Self {
        Span {
            text: text.into(),
            strong: true,
            tone,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading of level 2 or 3.
    Heading(u8, String),
    Paragraph(Vec<Span>),
    Table(TableData),
    /// A chart, by its index in the chart list given to [`build`].
    Chart(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub title: String,
    pub blocks: Vec<Block>,
}

fn call_tone(call: LeakCall) -> Tone {
    match call {
        LeakCall::Leak => Tone::Bad,
        LeakCall::NoLeak => Tone::Good,
        LeakCall::Inconclusive | LeakCall::SlowGrowth => Tone::Warn,
    }
}

fn headline(v: &SeriesVerdict) -> Vec<Span> {
    let word = match v.call {
        LeakCall::Leak => "LEAK",
        LeakCall::NoLeak => "NO LEAK",
        LeakCall::Inconclusive => "INCONCLUSIVE",
        LeakCall::SlowGrowth => "SLOW GROWTH",
    };
    let unit = if v.unit.is_empty() {
        String::new()
    } else {
        format!(" {}", v.unit)
    };
    vec![
        Span::strong(format!("Verdict: {word}"), call_tone(v.call)),
        Span::plain(format!(
            " on {} ({}): {}{unit} per job (95% CI {} … {}), {}{unit} over the fitted range, trend p {}.",
            format::series_name(&v.series),
            format::pattern(v.pattern),
            format::signed(v.slope_per_job),
            format::signed(v.slope_ci.0),
            format::signed(v.slope_ci.1),
            format::signed(v.total_growth),
            format::p_value(v.trend_p_value),
        )),
    ]
}

/// Build the report's blocks. `charts` are the chart files written (empty for no charts).
pub fn build(input: &ReportInput, charts: &[ChartFile]) -> Document {
    build_shown(input, charts, None)
}

/// [`build`] with the jobs and cache-clear tables cut to at most `table_rows` rows each, their
/// first and last (the terminal's report of a long run).
pub fn build_shown(
    input: &ReportInput,
    charts: &[ChartFile],
    table_rows: Option<usize>,
) -> Document {
    let verdict = &input.verdict;
    let primary = &verdict.primary;
    let mut blocks = Vec::new();

    blocks.push(Block::Heading(2, "Verdict".to_string()));
    blocks.push(Block::Paragraph(headline(primary)));
    if !primary.summary.is_empty() {
        blocks.push(Block::Paragraph(vec![Span::plain(primary.summary.clone())]));
    }
    let cause_label = format::cause(verdict.cause.kind);
    let cause = if verdict.cause.explanation.is_empty() {
        vec![
            Span::strong("Cause: ", Tone::Plain),
            Span::plain(format!("{cause_label}.")),
        ]
    } else {
        vec![
            Span::strong(format!("Cause ({cause_label}): "), Tone::Plain),
            Span::plain(verdict.cause.explanation.clone()),
        ]
    };
    blocks.push(Block::Paragraph(cause));
    if !verdict.cause.suspects.is_empty() {
        blocks.push(Block::Paragraph(vec![
            Span::strong("Suspects: ", Tone::Plain),
            Span::plain(verdict.cause.suspects.join("; ")),
        ]));
    }
    if let (LeakCall::Inconclusive, Some(more)) = (primary.call, primary.jobs_to_decide) {
        blocks.push(Block::Paragraph(vec![Span::plain(format!(
            "About {more} more jobs would likely decide."
        ))]));
    }
    if let Some((job, _, series)) = limit_projection(input) {
        let limit = input
            .trajectory
            .memory_limit_mb
            .map(|l| format!(" ({} MB)", format::mb(l)))
            .unwrap_or_default();
        blocks.push(Block::Paragraph(vec![Span::strong(
            format!(
                "At the {} slope, the memory limit{limit} is reached around job {job}.",
                format::series_name(&series)
            ),
            Tone::Bad,
        )]));
    }
    if let Some(m) = &input.manifest {
        if m.status != crate::record::RunStatus::Completed {
            // `running` is what run.json says from the start until the parent writes the end:
            // seen afterwards, the parent itself was stopped (or is still going).
            let msg = match (m.status.as_str(), m.status_message.as_deref()) {
                (_, Some(s)) => format!(": {s}"),
                ("running", None) => {
                    ": the replaying process stopped before recording the run's end (killed?), or is still running".to_string()
                }
                _ => String::new(),
            };
            blocks.push(Block::Paragraph(vec![Span::strong(
                format!(
                    "The run did not complete ({}{msg}); the jobs that finished are reported.",
                    m.status
                ),
                Tone::Bad,
            )]));
        }
    }
    let failed = input
        .trajectory
        .points
        .iter()
        .filter(|p| p.outcome != crate::analysis::OutcomeKind::Success)
        .count();
    if failed > 0 {
        blocks.push(Block::Paragraph(vec![Span::strong(
            format!(
                "{failed} of {} jobs did not succeed.",
                input.trajectory.points.len()
            ),
            Tone::Warn,
        )]));
    }

    if !charts.is_empty() {
        blocks.push(Block::Heading(2, "Charts".to_string()));
        blocks.extend((0..charts.len()).map(Block::Chart));
    }

    blocks.push(Block::Heading(2, "Verdict per series".to_string()));
    blocks.push(Block::Table(table::verdict_table(verdict)));

    blocks.push(Block::Heading(2, "Cache clears".to_string()));
    if input.clears.is_empty() {
        blocks.push(Block::Paragraph(vec![Span::plain(
            "No cache clears in this run.",
        )]));
    } else {
        blocks.push(Block::Table(table::clear_table_shown(
            &input.clears,
            table_rows,
        )));
        let s = &verdict.clear_summary;
        let mut text = format!("{} clears", s.clears);
        if let Some(mean) = s.mean_freed_mb {
            text.push_str(&format!(
                ", {} MB freed per clear on average",
                format::mb((mean * 10.0).round() / 10.0)
            ));
        }
        if let Some(floor) = s.floor_growth_mb_per_cycle {
            text.push_str(&format!(
                ", floor after clears {} MB per cycle",
                format::signed(floor)
            ));
        }
        text.push('.');
        blocks.push(Block::Paragraph(vec![Span::plain(text)]));
    }

    if let Some(growth) = &input.growth {
        blocks.push(Block::Heading(2, "Growth".to_string()));
        if growth.rows.is_empty() {
            blocks.push(Block::Paragraph(vec![Span::plain("Nothing to compare.")]));
        } else {
            blocks.push(Block::Table(table::growth_table(
                growth,
                GROWTH_ROWS_PER_KIND,
            )));
        }
    }

    blocks.push(Block::Heading(2, "Jobs".to_string()));
    if input.trajectory.points.is_empty() {
        blocks.push(Block::Paragraph(vec![Span::plain("No job finished.")]));
    } else {
        blocks.push(Block::Table(table::jobs_table_shown(
            &input.trajectory,
            &input.clears,
            table_rows,
        )));
    }

    blocks.push(Block::Heading(2, "Settings".to_string()));
    blocks.push(Block::Table(table::settings_table(input)));

    Document {
        title: format!("Memory report: {}", input.title),
        blocks,
    }
}

/// The projected job at which the limit is reached, the slope per job it was projected with and
/// the series (the RSS series' verdict when it has a projection, else the primary's).
pub fn limit_projection(input: &ReportInput) -> Option<(u64, f64, String)> {
    let verdict = &input.verdict;
    verdict
        .series
        .iter()
        .find(|s| s.series == "rss_mb" && s.projected_limit_job.is_some())
        .or(Some(&verdict.primary))
        .and_then(|s| {
            s.projected_limit_job
                .map(|j| (j, s.slope_per_job, s.series.clone()))
        })
}
