//! `docling-memprof logs`: analyse an instrumented docling-serve worker log, print the report
//! (the same tables as `report`), and write `report.md`, `report.html` and the charts. Several
//! logs, or a folder of them, are a fleet: each judged alone, one fleet report
//! (`engine::fleet`).

use std::path::{Path, PathBuf};

use clap::Args;

use crate::analysis::VerdictParams;
use crate::cli::log_limits::LogLimitArgs;
use crate::cli::timestamped_report_dir;
use crate::engine::finish::{log_report_input, log_report_input_owned};
use crate::engine::fleet::{self, expand_logs, FleetConfig};
use crate::logs::{analyse, read_memory_log, LogAnalysis, LogLimits};
use crate::render::json::write_pretty_spliced;
use crate::render::{self, RenderOptions, Terminal};
use crate::units::{parse_human_size, MIB};

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The worker log (`[MEMORY]`, `[CACHE CLEAR]`, ... lines; other lines are skipped).
    /// Several logs or a folder (its `*.log` files, sorted) make a fleet report: a row per
    /// worker, the worst first (fleet.md, fleet.html, fleet.json, charts/fleet.*, and each
    /// worker's own report under workers/<name>/); exit 2 after writing it when a log could
    /// not be read.
    #[arg(required = true, value_name = "LOG")]
    pub logs: Vec<PathBuf>,
    /// Print the analysis as one JSON object (top level: `verdict`, `cache_clears`, ...; for
    /// a fleet: `workers`, `order`, ...) instead of the terminal report; the files written
    /// are listed on stderr.
    #[arg(long)]
    pub json: bool,
    /// Memory limit of the worker (e.g. `3GiB`), for the projected job reaching it.
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Growth is a leak when what it adds within this many jobs matters (default 1000; see
    /// docs/verdict-method.md); smaller real growth is `slow_growth`.
    #[arg(long, value_name = "JOBS")]
    pub horizon: Option<u64>,
    /// Where to write report.md, report.html and charts/
    /// (default: reports/<log name>-<timestamp>/, for a fleet reports/fleet-<timestamp>/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write report.md and report.html without the charts.
    #[arg(long)]
    pub no_charts: bool,
    /// Write no files at all (only print); `--no-charts` beside it is redundant, not an error.
    #[arg(long, conflicts_with = "out")]
    pub no_report: bool,
    #[command(flatten)]
    pub limits: LogLimitArgs,
}

pub fn run(args: LogsArgs) -> crate::Result<i32> {
    let (limit_mb, params) = judging(&args)?;
    match args.logs.as_slice() {
        [one] if !one.is_dir() => run_one(&args, one, limit_mb, &params),
        many => run_fleet(&args, many, limit_mb, params),
    }
}

/// `--memory-limit` in MiB and the verdict's parameters (`--horizon`).
fn judging(args: &LogsArgs) -> crate::Result<(Option<f64>, VerdictParams)> {
    let limit_mb = match &args.memory_limit {
        Some(text) => match parse_human_size(text).map_err(crate::Error::Usage)? {
            0 => {
                return Err(crate::Error::Usage(
                    "--memory-limit 0: expected a size > 0".into(),
                ))
            }
            bytes => Some(bytes as f64 / MIB),
        },
        None => None,
    };
    let mut params = VerdictParams::default();
    if let Some(h) = args.horizon {
        params.horizon_jobs = h.max(1);
    }
    Ok((limit_mb, params))
}

fn run_one(
    args: &LogsArgs,
    log: &Path,
    limit_mb: Option<f64>,
    params: &VerdictParams,
) -> crate::Result<i32> {
    // A verdict reads each job's numbers and kind, not its task and documents.
    let limits = LogLimits {
        keep_details: false,
        ..args.limits.limits()
    };
    let parsed = read_memory_log(log, &limits)?;
    let analysis = analyse(&parsed, limit_mb, params);
    // The process ends after this log: its hundreds of thousands of records are left to the
    // exit instead of being freed one by one (tens of ms on a long log). So is the analysis.
    std::mem::forget(parsed);
    if args.json && args.no_report {
        // No report written or shown: its input (a copy of the trajectory) is not built.
        let mut analysis = std::mem::ManuallyDrop::new(analysis);
        return print_analysis_json(&mut analysis).map(|()| 0);
    }
    // Without the JSON the analysis is not needed after the report's input: its trajectory
    // moves there instead of being copied.
    let (input, json) = if args.json {
        (log_report_input(&analysis), Some(analysis))
    } else {
        (log_report_input_owned(analysis), None)
    };
    let input = std::mem::ManuallyDrop::new(input);
    let mut json = std::mem::ManuallyDrop::new(json);
    let written = if args.no_report {
        Vec::new()
    } else {
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| timestamped_report_dir(&log_name(log)));
        let opts = RenderOptions {
            charts: !args.no_charts,
            ..RenderOptions::default()
        };
        render::write_report(&out, &input, &opts)?
    };
    if let Some(analysis) = json.as_mut() {
        print_analysis_json(analysis)?;
        for path in &written {
            eprintln!("wrote {}", path.display());
        }
    } else {
        crate::cli::print(&render::terminal_report(&input, &Terminal::detect()))?;
        for path in &written {
            crate::cli::print(&format!("wrote {}", path.display()))?;
        }
    }
    Ok(0)
}

/// `value` as pretty JSON and a newline on stdout, written as it is serialised (the JSON of a
/// long log's trajectory is hundreds of MB: never built as one string).
fn print_json(value: &impl serde::Serialize) -> crate::Result<()> {
    write_json(|out| serde_json::to_writer_pretty(out, value))
}

/// [`print_json`] of an analysis, the same bytes, its trajectory's points made on two threads
/// ([`crate::render::json`]). Takes the points out of `analysis`.
fn print_analysis_json(analysis: &mut LogAnalysis) -> crate::Result<()> {
    let points = std::mem::take(&mut analysis.trajectory.points);
    let result =
        write_json(|out| write_pretty_spliced(out, &*analysis, &["trajectory", "points"], &points));
    // Left to the exit, as the rest of the analysis (see `run_one`).
    std::mem::forget(points);
    result
}

/// Run `write` on a buffered stdout, then a newline.
fn write_json(
    write: impl FnOnce(&mut dyn std::io::Write) -> serde_json::Result<()>,
) -> crate::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let stdout_error = |e| crate::Error::io("writing to stdout", e);
    write(&mut out).map_err(|e| {
        if e.is_io() {
            stdout_error(std::io::Error::from(e))
        } else {
            crate::Error::Internal(e.to_string())
        }
    })?;
    writeln!(out)
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

/// Many logs: one fleet report; exit 2 (after writing it) when a log could not be read.
fn run_fleet(
    args: &LogsArgs,
    paths: &[PathBuf],
    memory_limit_mb: Option<f64>,
    params: VerdictParams,
) -> crate::Result<i32> {
    let logs = expand_logs(paths)?;
    let out = (!args.no_report).then(|| {
        args.out
            .clone()
            .unwrap_or_else(|| timestamped_report_dir("fleet"))
    });
    let config = FleetConfig {
        memory_limit_mb,
        params,
        limits: args.limits.limits(),
        out,
        charts: !args.no_charts,
    };
    let outcome = fleet::run_fleet(&logs, &config)?;
    let report = &outcome.report;
    if args.json {
        print_json(report)?;
        for path in &outcome.written {
            eprintln!("wrote {}", path.display());
        }
    } else {
        crate::cli::print(&render::fleet::terminal(report, &Terminal::detect()))?;
        for path in &outcome.written {
            crate::cli::print(&format!("wrote {}", path.display()))?;
        }
    }
    for w in &report.workers {
        if let Some(err) = &w.error {
            eprintln!("error: worker {}: {err}", w.name);
        }
    }
    Ok(if report.unreadable > 0 {
        crate::error::EXIT_BAD_INPUT
    } else {
        0
    })
}

/// The log's file name without its extension (`worker` for `worker.log`).
fn log_name(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("log")
        .to_string()
}
