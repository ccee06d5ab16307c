//! `docling-memprof logs`: analyse an instrumented docling-serve worker log, print the report
//! (the same tables as `report`), and write `report.md`, `report.html` and the charts.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::analysis::VerdictParams;
use crate::cli::log_limits::LogLimitArgs;
use crate::cli::timestamped_report_dir;
use crate::engine::finish::log_report_input;
use crate::logs::analyse_file;
use crate::render::{self, RenderOptions, Terminal};
use crate::units::{parse_human_size, MIB};

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The worker log (`[MEMORY]`, `[CACHE CLEAR]`, ... lines; other lines are skipped).
    pub log: PathBuf,
    /// Print the analysis as one JSON object (top level: `verdict`, `cache_clears`, ...)
    /// instead of the terminal report; the files written are listed on stderr.
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
    /// (default: reports/<log name>-<timestamp>/).
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
    let analysis = analyse_file(&args.log, &args.limits.limits(), limit_mb, &params)?;
    let input = log_report_input(&analysis);
    let written = if args.no_report {
        Vec::new()
    } else {
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| timestamped_report_dir(&log_name(&args.log)));
        let opts = RenderOptions {
            charts: !args.no_charts,
            ..RenderOptions::default()
        };
        render::write_report(&out, &input, &opts)?
    };
    if args.json {
        let text = serde_json::to_string_pretty(&analysis)
            .map_err(|e| crate::Error::Internal(e.to_string()))?;
        crate::cli::print(&text)?;
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

/// The log's file name without its extension (`worker` for `worker.log`).
fn log_name(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("log")
        .to_string()
}
