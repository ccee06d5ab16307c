//! The report's tables as plain data ([`TableData`]), built from the analysis structs. The
//! terminal ([`super::terminal`]), Markdown and HTML render the same [`TableData`].

use super::format::{self, MISSING};
use super::{GrowthKind, GrowthTable, ReportInput};
use crate::analysis::{ClearPoint, LeakCall, RunVerdict, Trajectory};

/// How a cell should stand out (colour on a terminal, a class in HTML, bold in Markdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    /// Good news: no leak, memory freed.
    Good,
    /// Bad news: a leak, a failed job, growth.
    Bad,
    /// Worth a look: inconclusive, a cache clear.
    Warn,
    Muted,
    Strong,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub text: String,
    pub tone: Tone,
}

impl Cell {
    pub fn new(text: impl Into<String>) -> Self {
        Cell {
            text: text.into(),
            tone: Tone::Plain,
        }
    }

    pub fn tone(text: impl Into<String>, tone: Tone) -> Self {
        Cell {
            text: text.into(),
            tone,
        }
    }
}

/// A table as data: a header, rows of cells, and which columns hold numbers (right-aligned).
#[derive(Debug, Clone, PartialEq)]
pub struct TableData {
    pub headers: Vec<String>,
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<Cell>>,
}

impl TableData {
    pub fn new(headers: &[(&str, bool)]) -> Self {
        TableData {
            headers: headers.iter().map(|(h, _)| h.to_string()).collect(),
            numeric: headers.iter().map(|(_, n)| *n).collect(),
            rows: Vec::new(),
        }
    }

    /// The same table with at most `head + tail` rows and one `… N rows …` row between.
    pub fn elided(&self, head: usize, tail: usize) -> TableData {
        if self.rows.len() <= head + tail + 1 {
            return self.clone();
        }
        let omitted = self.rows.len() - head - tail;
        let mut rows: Vec<Vec<Cell>> = self.rows[..head].to_vec();
        rows.push(gap_row(omitted, self.headers.len()));
        rows.extend_from_slice(&self.rows[self.rows.len() - tail..]);
        TableData {
            headers: self.headers.clone(),
            numeric: self.numeric.clone(),
            rows,
        }
    }
}

fn call_tone(call: LeakCall) -> Tone {
    match call {
        LeakCall::Leak => Tone::Bad,
        LeakCall::NoLeak => Tone::Good,
        LeakCall::Inconclusive | LeakCall::SlowGrowth => Tone::Warn,
    }
}

/// The rows of a `len`-row table to show with at most `limit` rows (half from the start, half
/// from the end, as [`TableData::elided`] keeps them): the shown indices, in order, and the
/// number left out between the two halves (0: all shown).
fn shown_rows(len: usize, limit: Option<usize>) -> (Vec<usize>, usize) {
    match limit {
        Some(limit) if len > limit / 2 * 2 + 1 => {
            let half = limit / 2;
            ((0..half).chain(len - half..len).collect(), len - 2 * half)
        }
        _ => ((0..len).collect(), 0),
    }
}

/// The row [`TableData::elided`] puts where rows are left out.
fn gap_row(omitted: usize, columns: usize) -> Vec<Cell> {
    let mut gap = vec![Cell::tone(format!("… {omitted} rows …"), Tone::Muted)];
    gap.extend((1..columns).map(|_| Cell::tone("", Tone::Muted)));
    gap
}

/// The per-job trajectory: job, worker, outcome, duration, RSS, live, resident, peak, clears.
pub fn jobs_table(trajectory: &Trajectory, clears: &[ClearPoint]) -> TableData {
    jobs_table_shown(trajectory, clears, None)
}

/// [`jobs_table`] with at most `limit` of its rows made (a terminal shows the first and last
/// jobs of a long run: the others are not formatted at all). The numbers' decimals are those
/// of the whole table.
pub fn jobs_table_shown(
    trajectory: &Trajectory,
    clears: &[ClearPoint],
    limit: Option<usize>,
) -> TableData {
    let mut table = TableData::new(&[
        ("Job", true),
        ("Worker", true),
        ("Outcome", false),
        ("Duration", true),
        ("RSS (MB)", true),
        ("Live (MB)", true),
        ("Resident (MB)", true),
        ("Peak RSS (MB)", true),
        ("Cache clear", false),
    ]);
    let points = &trajectory.points;
    let column = |f: fn(&crate::analysis::JobPoint) -> Option<f64>| {
        format::mb_decimals(points.iter().filter_map(f))
    };
    let (d_rss, d_live, d_res, d_peak) = (
        column(|p| p.rss_mb),
        column(|p| p.live_mb),
        column(|p| p.resident_mb),
        column(|p| p.peak_rss_mb),
    );
    let d_clear = format::mb_decimals(clears.iter().flat_map(|c| [c.before_mb, c.after_mb]));
    // Each job's first clear, looked up once per job (a scan per job was quadratic: 100,000
    // jobs with a clear every 3 took most of `report`'s time).
    let mut clear_of: std::collections::HashMap<u64, &ClearPoint> =
        std::collections::HashMap::with_capacity(clears.len());
    for c in clears {
        clear_of.entry(c.job).or_insert(c);
    }
    let (shown, omitted) = shown_rows(points.len(), limit);
    for (i, index) in shown.iter().enumerate() {
        if omitted > 0 && i == shown.len() / 2 {
            table.rows.push(gap_row(omitted, table.headers.len()));
        }
        let point = &points[*index];
        let outcome_tone = if point.outcome == crate::analysis::OutcomeKind::Success {
            Tone::Plain
        } else {
            Tone::Bad
        };
        let clear = clear_of.get(&point.job).map_or(Cell::new(""), |c| {
            Cell::tone(
                format!(
                    "{} → {} MB",
                    format::mb_fixed(Some(c.before_mb), d_clear),
                    format::mb_fixed(Some(c.after_mb), d_clear)
                ),
                Tone::Warn,
            )
        });
        table.rows.push(vec![
            Cell::new(point.job.to_string()),
            Cell::new(point.worker_index.to_string()),
            Cell::tone(point.outcome.label().to_string(), outcome_tone),
            Cell::new(
                point
                    .duration_secs
                    .map_or_else(|| MISSING.to_string(), crate::units::format_duration),
            ),
            Cell::new(format::mb_fixed(point.rss_mb, d_rss)),
            Cell::new(format::mb_fixed(point.live_mb, d_live)),
            Cell::new(format::mb_fixed(point.resident_mb, d_res)),
            Cell::new(format::mb_fixed(point.peak_rss_mb, d_peak)),
            clear,
        ]);
    }
    table
}

/// The growth table: the top `limit` rows of each kind (metrics, types, sites).
pub fn growth_table(growth: &GrowthTable, limit: usize) -> TableData {
    let from = format!("Job {}", growth.from_job);
    let to = format!("Job {}", growth.to_job);
    let mut table = TableData::new(&[
        ("Kind", false),
        ("Name", false),
        ("Unit", false),
        (&from, true),
        (&to, true),
        ("Change", true),
        ("Per job", true),
    ]);
    for kind in [GrowthKind::Metric, GrowthKind::Type, GrowthKind::Site] {
        for row in growth.rows.iter().filter(|r| r.kind == kind).take(limit) {
            let tone = if row.change > 0.0 {
                Tone::Bad
            } else if row.change < 0.0 {
                Tone::Good
            } else {
                Tone::Plain
            };
            let name = if kind == GrowthKind::Metric {
                format::series_name(&row.name)
            } else {
                row.name.clone()
            };
            table.rows.push(vec![
                Cell::new(kind.label()),
                Cell::new(format::truncate(&name, 90)),
                Cell::new(row.unit.clone()),
                Cell::new(
                    row.from
                        .map_or_else(|| MISSING.to_string(), |v| format::plain_in(v, &row.unit)),
                ),
                Cell::new(
                    row.to
                        .map_or_else(|| MISSING.to_string(), |v| format::plain_in(v, &row.unit)),
                ),
                Cell::tone(format::signed_in(row.change, &row.unit), tone),
                Cell::tone(format::signed(row.change_per_job), tone),
            ]);
        }
    }
    table
}

/// The cache-clear table in the seed's Results layout.
pub fn clear_table(clears: &[ClearPoint]) -> TableData {
    clear_table_shown(clears, None)
}

/// [`clear_table`] with at most `limit` of its rows made (see [`jobs_table_shown`]).
pub fn clear_table_shown(clears: &[ClearPoint], limit: Option<usize>) -> TableData {
    let mut table = TableData::new(&[
        ("Clear Event", false),
        ("Memory Before", true),
        ("Memory After", true),
        ("Freed", true),
    ]);
    let d = format::mb_decimals(
        clears
            .iter()
            .flat_map(|c| [c.before_mb, c.after_mb, c.freed_mb]),
    );
    let (shown, omitted) = shown_rows(clears.len(), limit);
    for (i, index) in shown.iter().enumerate() {
        if omitted > 0 && i == shown.len() / 2 {
            table.rows.push(gap_row(omitted, table.headers.len()));
        }
        let clear = &clears[*index];
        let tone = if clear.freed_mb > 0.0 {
            Tone::Good
        } else {
            Tone::Warn
        };
        table.rows.push(vec![
            Cell::new(format!("Job {}", clear.job)),
            Cell::new(format!("{} MB", format::mb_fixed(Some(clear.before_mb), d))),
            Cell::new(format!("{} MB", format::mb_fixed(Some(clear.after_mb), d))),
            Cell::tone(
                format!("{} MB", format::mb_fixed(Some(clear.freed_mb), d)),
                tone,
            ),
        ]);
    }
    table
}

/// The verdict per series, primary first.
pub fn verdict_table(verdict: &RunVerdict) -> TableData {
    let mut table = TableData::new(&[
        ("Series", false),
        ("Verdict", false),
        ("Pattern", false),
        ("Slope / job", true),
        ("95% CI", true),
        ("Trend p", true),
        ("Growth", true),
        ("Noise σ", true),
        ("Warm-up jobs", true),
        ("Limit at job", true),
    ]);
    let (series, hidden_types) = shown_series(verdict);
    for s in series {
        let mut call = format::call(s.call).to_string();
        if let (LeakCall::Inconclusive, Some(more)) = (s.call, s.jobs_to_decide) {
            call = format!("{call} (~{more} more jobs)");
        }
        let name = if s.series == verdict.primary.series {
            format!("{} (primary)", format::series_name(&s.series))
        } else {
            format::series_name(&s.series)
        };
        table.rows.push(vec![
            Cell::tone(name, Tone::Strong),
            Cell::tone(call, call_tone(s.call)),
            Cell::new(format::pattern(s.pattern)),
            Cell::new(format::with_unit(s.slope_per_job, &s.unit)),
            Cell::new(format!(
                "{} … {}",
                format::signed(s.slope_ci.0),
                format::signed(s.slope_ci.1)
            )),
            Cell::new(format::p_value(s.trend_p_value)),
            Cell::new(format::with_unit(s.total_growth, &s.unit)),
            Cell::new(format::plain(s.noise_sigma)),
            Cell::new(s.warmup_jobs.to_string()),
            Cell::new(
                s.projected_limit_job
                    .map_or_else(|| MISSING.to_string(), |j| j.to_string()),
            ),
        ]);
    }
    if hidden_types > 0 {
        let mut row = vec![Cell::new(format!(
            "{hidden_types} more census types (no leak or growth; all in verdict.json)"
        ))];
        row.extend((1..table.headers.len()).map(|_| Cell::new(MISSING)));
        table.rows.push(row);
    }
    table
}

/// Census types shown in the verdict table besides the leaking and slowly growing ones: the
/// ones that grew most (a Python census has thousands of types).
pub const TYPE_ROWS: usize = 10;

/// The primary series, every memory series, the census types that leak or grow slowly and the
/// [`TYPE_ROWS`] types that grew most; and how many types are left out.
fn shown_series(verdict: &RunVerdict) -> (Vec<&crate::analysis::SeriesVerdict>, usize) {
    let is_type = |s: &&crate::analysis::SeriesVerdict| s.series.starts_with("type:");
    let mut shown: Vec<&crate::analysis::SeriesVerdict> = vec![&verdict.primary];
    let others: Vec<_> = verdict
        .series
        .iter()
        .filter(|s| s.series != verdict.primary.series)
        .collect();
    shown.extend(others.iter().copied().filter(|s| !is_type(s)));
    let (flagged, mut rest): (Vec<_>, Vec<_>) = others
        .into_iter()
        .filter(is_type)
        .partition(|s| matches!(s.call, LeakCall::Leak | LeakCall::SlowGrowth));
    rest.sort_by(|a, b| b.total_growth.total_cmp(&a.total_growth));
    rest.truncate(TYPE_ROWS);
    shown.extend(flagged);
    shown.extend(rest);
    let total_types = verdict.series.iter().filter(is_type).count();
    let shown_types = shown.iter().filter(|s| is_type(s)).count();
    (shown, total_types.saturating_sub(shown_types))
}

/// The settings that produced the run: manifest fields, trajectory origin, extra settings.
pub fn settings_table(input: &ReportInput) -> TableData {
    let mut table = TableData::new(&[("Setting", false), ("Value", false)]);
    let mut push = |k: &str, v: String| table.rows.push(vec![Cell::new(k), Cell::new(v)]);
    let t = &input.trajectory;
    push(
        "source",
        format!(
            "{} ({})",
            t.origin,
            if t.source == crate::analysis::SourceKind::Replay {
                "replay"
            } else {
                "log"
            }
        ),
    );
    if let Some(m) = &input.manifest {
        push(
            "workload",
            format!("{} ({})", m.workload_name, m.workload_path),
        );
        let worker = match &m.worker {
            crate::record::WorkerKind::Core => "the Rust worker core".to_string(),
            crate::record::WorkerKind::Command { argv } => format!("`{}`", argv.join(" ")),
            crate::record::WorkerKind::Docling { environment, .. } => {
                docling_worker_label(environment)
            }
            crate::record::WorkerKind::Watched { pid, argv } if argv.is_empty() => {
                format!("PID {pid}, watched from outside")
            }
            crate::record::WorkerKind::Watched { pid, argv } => {
                format!("`{}` (PID {pid}), watched from outside", argv.join(" "))
            }
        };
        push("worker", worker);
        push(
            "allocator",
            m.allocator
                .map_or("the worker's own", |a| a.as_str())
                .to_string(),
        );
        push("isolation", m.isolation.as_str().to_string());
        push("sites", m.sites.map_or("off", |s| s.as_str()).to_string());
        push("census", if m.census { "on" } else { "off" }.to_string());
        push(
            "memory limit",
            m.memory_limit_bytes
                .map_or_else(|| "none".to_string(), format::bytes_mb),
        );
        push(
            "status",
            match &m.status_message {
                Some(msg) => format!("{} ({msg})", m.status),
                None => m.status.to_string(),
            },
        );
        push("workers started", m.workers_started.to_string());
        push("started at", m.started_at.clone());
        push(
            "finished at",
            m.finished_at.clone().unwrap_or_else(|| MISSING.to_string()),
        );
        push(
            "wall time",
            m.wall_time_secs
                .map_or_else(|| MISSING.to_string(), crate::units::format_duration),
        );
        push("tool version", m.tool_version.clone());
        push(
            "git revision",
            m.git_revision
                .clone()
                .unwrap_or_else(|| MISSING.to_string()),
        );
        let machine = &m.machine;
        push(
            "machine",
            format!(
                "{} {} {}, {} CPUs, {}",
                machine.hostname.as_deref().unwrap_or("(unnamed)"),
                machine.os,
                machine.arch,
                machine.cpus,
                machine
                    .total_memory_bytes
                    .map_or_else(|| "memory unknown".to_string(), format::bytes_mb)
            ),
        );
    } else if let Some(limit) = t.memory_limit_mb {
        push("memory limit", format!("{} MB", format::mb(limit)));
    }
    push("jobs", t.points.len().to_string());
    if t.source == crate::analysis::SourceKind::Log {
        push("unreadable log lines", t.unreadable_lines.to_string());
    }
    for (k, v) in &input.settings {
        push(k, v.clone());
    }
    table
}

/// `docling-jobkit 3.9.1 / docling 2.143.0 (python 3.11.7, jemalloc, pymalloc; synthetic
/// layout weights)`.
fn docling_worker_label(env: &std::collections::BTreeMap<String, String>) -> String {
    let get = |k: &str| env.get(k).map(String::as_str).unwrap_or("?");
    let docling = env
        .get("docling")
        .or_else(|| env.get("docling-slim"))
        .map(String::as_str)
        .unwrap_or("?");
    let mut out = format!(
        "the real worker: docling-jobkit {} / docling {docling} (python {}, {}, {})",
        get("docling-jobkit"),
        get("python"),
        get("allocator"),
        get("python_malloc"),
    );
    if let Some(models) = env.get("synthetic_weights").filter(|m| !m.is_empty()) {
        out.push_str(&format!(
            "; **synthetic {models} weights**: memory real, outputs meaningless"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::OutcomeKind;

    #[test]
    fn tables_cut_as_they_are_made_equal_the_whole_tables_elided() {
        use crate::analysis::series::{JobPoint, SourceKind};
        for jobs in [1u64, 40, 41, 42, 100] {
            let points: Vec<JobPoint> = (1..=jobs)
                .map(|job| JobPoint {
                    job,
                    outcome: if job % 17 == 0 {
                        OutcomeKind::Failed
                    } else {
                        OutcomeKind::Success
                    },
                    rss_mb: Some(800.0 + job as f64 * 0.25),
                    ..JobPoint::default()
                })
                .collect();
            let clears: Vec<ClearPoint> = (1..=jobs)
                .filter(|j| j % 2 == 0)
                .map(|job| ClearPoint {
                    job,
                    before_mb: 900.5,
                    after_mb: 800.0,
                    freed_mb: 100.5,
                    live_after_mb: None,
                    live_before_mb: None,
                    resident_after_mb: None,
                    type_counts_after: Default::default(),
                })
                .collect();
            let trajectory = Trajectory {
                source: SourceKind::Log,
                origin: "synthetic".into(),
                baseline_rss_mb: None,
                baseline_live_mb: None,
                points,
                clears: clears.clone(),
                memory_limit_mb: None,
                unreadable_lines: 0,
            };
            assert_eq!(
                jobs_table_shown(&trajectory, &clears, Some(40)),
                jobs_table(&trajectory, &clears).elided(20, 20),
                "{jobs} jobs"
            );
            assert_eq!(
                clear_table_shown(&clears, Some(10)),
                clear_table(&clears).elided(5, 5),
                "{jobs} jobs"
            );
        }
    }

    #[test]
    fn elided_keeps_head_and_tail() {
        let mut data = TableData::new(&[("Job", true), ("X", false)]);
        for i in 0..100 {
            data.rows
                .push(vec![Cell::new(i.to_string()), Cell::new("x")]);
        }
        let short = data.elided(3, 2);
        assert_eq!(short.rows.len(), 6);
        assert_eq!(short.rows[3][0].text, "… 95 rows …");
        assert_eq!(short.rows[5][0].text, "99");
    }
}
