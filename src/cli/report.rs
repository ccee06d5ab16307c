//! `docling-memprof report RUN`: re-render the tables, charts, `report.md` and `report.html` of
//! a run folder (or of a docling-serve worker log) from saved data, without replaying.
//!
//! The engine assembles the [`ReportInput`] (`RunAnalysis::report_input`,
//! `engine::finish::log_report_input`); this file only chooses and prints.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::analysis::VerdictParams;
use crate::cli::log_limits::LogLimitArgs;
use crate::engine::{analyse_folder, finish::log_report_input};
use crate::logs::{analyse_file, LogLimits};
use crate::render::{self, BaselineRun, RenderOptions, ReportInput, Terminal};
use crate::units::{parse_human_size, MIB};
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run folder (`run.json` + `jobs.jsonl`), or a docling-serve worker log file.
    pub run: PathBuf,
    /// Where to write the report (default: the run folder; for a log, `<log>-report/` beside it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write report.md and report.html without charts.
    #[arg(long)]
    pub no_charts: bool,
    /// Growth is a leak when what it adds within this many jobs matters (default 1000; see
    /// docs/verdict-method.md); smaller real growth is `slow_growth`.
    #[arg(long, value_name = "JOBS")]
    pub horizon: Option<u64>,
    /// A baseline run folder (or log) to draw on one job axis with this run.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Memory limit for a log (`3GiB`), for the projected job reaching it; run folders carry theirs.
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Do not print the report on the terminal, only the files written.
    #[arg(long, short)]
    pub quiet: bool,
    /// The bounds of a log read (`RUN` or `--baseline` a log file; run folders have theirs).
    #[command(flatten)]
    pub limits: LogLimitArgs,
}

pub fn run(args: ReportArgs) -> Result<i32> {
    let limit_mb = match &args.memory_limit {
        Some(text) => match parse_human_size(text).map_err(Error::Usage)? {
            0 => return Err(Error::Usage("--memory-limit 0: expected a size > 0".into())),
            bytes => Some(bytes as f64 / MIB),
        },
        None => None,
    };
    let params = crate::cli::verdict_params(args.horizon);
    let limits = args.limits.limits();
    let mut input = load_input(&args.run, &limits, limit_mb, &params)?;
    if let Some(base) = &args.baseline {
        let baseline = load_input(base, &limits, limit_mb, &params)?;
        input.baseline = Some(BaselineRun {
            label: baseline_label(base),
            trajectory: baseline.trajectory,
        });
    }
    let out = args.out.clone().unwrap_or_else(|| default_out(&args.run));
    let opts = RenderOptions {
        charts: !args.no_charts,
        ..RenderOptions::default()
    };
    let written = render::write_report(&out, &input, &opts)?;
    if !args.quiet {
        crate::cli::print(&render::terminal_report(&input, &Terminal::detect()))?;
    }
    for path in &written {
        crate::cli::print(&format!("wrote {}", path.display()))?;
    }
    Ok(0)
}

/// A run folder or a log file, read and judged.
fn load_input(
    path: &Path,
    limits: &LogLimits,
    limit_mb: Option<f64>,
    params: &VerdictParams,
) -> Result<ReportInput> {
    if path.is_dir() {
        Ok(analyse_folder(path, params)?.report_input())
    } else if path.is_file() {
        let analysis = analyse_file(path, limits, limit_mb, params)?;
        Ok(log_report_input(&analysis))
    } else {
        Err(Error::bad_input(
            path,
            "path",
            "neither a run folder nor a log file",
        ))
    }
}

fn default_out(run: &Path) -> PathBuf {
    if run.is_dir() {
        return run.to_path_buf();
    }
    let stem = run.file_stem().and_then(|s| s.to_str()).unwrap_or("log");
    run.with_file_name(format!("{stem}-report"))
}

fn baseline_label(path: &Path) -> String {
    let name = path
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("baseline");
    format!("baseline {name}")
}
