//! `docling-memprof sweep workload.json`: replay the workload under every combination of the
//! policy axes, each replay its own `replay` process and run folder; print the table, write
//! `sweep.json`, `sweep.md` and the chart; recommend a policy. The search lives in
//! [`crate::engine::sweep`]; this file only turns flags into its config and prints.

use std::path::PathBuf;

use clap::Args;

use crate::backend::Backend;
use crate::cancel::Cancel;
use crate::engine::subrun::ChildReplay;
use crate::engine::sweep::{run_sweep, SweepConfig, SweepProgress};
use crate::record::{AllocatorKind, Axes, Isolation, WorkerChoice};
use crate::render::{self, Terminal};
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The workload file (JSON; see docs/workload-format.md).
    pub workload: PathBuf,
    /// Cache clears every N jobs, one policy per value (`0,1,3,10`; 0 = never). Default: the workload's.
    #[arg(long, value_delimiter = ',', value_name = "N,...")]
    pub clear_every: Vec<u32>,
    /// Jobs per worker before it is recycled, one policy per value (`0,10,50`; 0 = never).
    #[arg(long, value_delimiter = ',', value_name = "N,...")]
    pub max_jobs: Vec<u32>,
    /// Isolation modes (`worker,recycle,process-per-job`); combinations that cannot run
    /// (a single worker with --max-jobs 5) are listed and left out.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "MODE,...")]
    pub isolation: Vec<Isolation>,
    /// The core's allocators (`jemalloc,system,dhat`); default jemalloc.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "NAME,...")]
    pub allocator: Vec<AllocatorKind>,
    /// A worker backend: a command speaking docs/protocol.md, `core` for the Rust worker core,
    /// or `docling` for the real docling worker (docs/docling-worker.md). Repeat the flag for
    /// several (default: the core).
    #[arg(long, value_name = "COMMAND")]
    pub worker_cmd: Vec<String>,
    /// Every replay runs under this memory limit (`3GiB`); the recommendation stays under it.
    #[arg(long, value_parser = parse_size)]
    pub memory_limit: Option<u64>,
    /// The jobs the recommended policy must stay under the limit for (projected from RSS's slope).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub horizon: u64,
    /// Replays at a time (default: the machine's cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub parallel: Option<u64>,
    /// The sweep folder (default: reports/<workload>-sweep-<timestamp>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Finish an interrupted sweep in --out: finished policies are kept, the others run.
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Kill a job still running after this many seconds (each replay's --job-timeout).
    #[arg(long)]
    pub job_timeout: Option<f64>,
    /// No charts in the replays' reports nor the sweep's chart.
    #[arg(long)]
    pub no_charts: bool,
    /// Print sweep.json on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Print the table as Markdown instead of the terminal table.
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,
    /// No progress lines and no table.
    #[arg(long, short)]
    pub quiet: bool,
}

fn parse_size(text: &str) -> std::result::Result<u64, String> {
    match crate::units::parse_human_size(text)? {
        0 => Err("expected a size > 0".into()),
        n => Ok(n),
    }
}

fn config_of(args: &SweepArgs, name: &str) -> Result<SweepConfig> {
    let mut workers = Vec::new();
    for line in &args.worker_cmd {
        let choice = if line.trim() == "core" {
            WorkerChoice::Core
        } else if line.trim() == "docling" {
            WorkerChoice::Docling
        } else {
            Backend::command_line(line)?;
            WorkerChoice::Command {
                command: line.clone(),
            }
        };
        if !workers.contains(&choice) {
            workers.push(choice);
        }
    }
    let mut shared = Vec::new();
    if let Some(limit) = args.memory_limit {
        shared.extend(["--memory-limit".to_string(), limit.to_string()]);
    }
    if let Some(t) = args.job_timeout {
        if !(t.is_finite() && t > 0.0) {
            return Err(Error::Usage(format!(
                "--job-timeout {t}: expected seconds > 0"
            )));
        }
        shared.extend(["--job-timeout".to_string(), t.to_string()]);
    }
    if args.no_charts {
        shared.push("--no-charts".into());
    }
    let parallel = match args.parallel {
        Some(n) => n as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    Ok(SweepConfig {
        workload_path: args.workload.clone(),
        axes: Axes {
            clear_every: args.clear_every.clone(),
            max_jobs: args.max_jobs.clone(),
            isolation: args.isolation.clone(),
            allocator: args.allocator.clone(),
            workers,
        },
        memory_limit_bytes: args.memory_limit,
        horizon_jobs: args.horizon,
        parallel,
        out_dir: args
            .out
            .clone()
            .unwrap_or_else(|| crate::cli::timestamped_report_dir(&format!("{name}-sweep"))),
        resume: args.resume,
        runner: ChildReplay::current(shared)?,
    })
}

pub fn run(args: SweepArgs) -> Result<i32> {
    let loaded = crate::workload::load(&args.workload)?;
    let config = config_of(&args, &loaded.name)?;
    let cancel = Cancel::new();
    cancel
        .on_signals()
        .map_err(|e| Error::io("installing the signal handlers", e))?;
    let chatty = !args.quiet && !args.json;
    let progress = |p: SweepProgress<'_>| {
        if !chatty {
            return;
        }
        match p {
            SweepProgress::Kept { id } => eprintln!("kept     {id} (finished earlier)"),
            SweepProgress::Started { id, running } => {
                eprintln!("started  {id} ({running} running)")
            }
            SweepProgress::Finished { id, status, secs } => {
                eprintln!(
                    "finished {id}: {status} in {}",
                    crate::units::format_duration(secs)
                )
            }
        }
    };
    let report = run_sweep(&config, &loaded, &progress, &cancel)?;
    let written = render::sweep::write(&config.out_dir, &report, !args.no_charts)?;
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Internal(format!("sweep.json: {e}")))?;
        crate::cli::print(&text)?;
    } else if !args.quiet {
        let table = render::sweep::table(&report);
        let text = if args.markdown {
            render::markdown::table(&table)
        } else {
            render::render_terminal(&table, &Terminal::detect())
        };
        crate::cli::print(&text)?;
        for line in render::sweep::notes(&report) {
            crate::cli::print(&line)?;
        }
        crate::cli::print(&format!("sweep folder: {}", config.out_dir.display()))?;
        for path in &written {
            crate::cli::print(&format!("  {}", path.display()))?;
        }
    }
    if report.complete {
        return Ok(0);
    }
    let finished = report
        .policies
        .iter()
        .filter(|p| p.metrics.is_some())
        .count();
    Err(Error::Interrupted(format!(
        "sweep interrupted ({}): {finished} of {} policies finished and kept in {}; `--resume --out {}` with the same flags runs the rest",
        cancel.reason().unwrap_or("stopped"),
        report.policies.len(),
        config.out_dir.display(),
        config.out_dir.display()
    )))
}
