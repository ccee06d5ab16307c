//! `docling-memprof minimize workload.json`: the smallest workload whose replay still leaks.
//! The search is [`crate::engine::minimize`]; this file turns flags into its config and prints.

use std::path::PathBuf;

use clap::Args;

use crate::backend::Backend;
use crate::cancel::Cancel;
use crate::engine::minimize::{minimize, MinimizeConfig, Tried, MINIMAL_JSON};
use crate::engine::subrun::ChildReplay;
use crate::record::{AllocatorKind, Isolation};
use crate::render::{self, Terminal};
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct MinimizeArgs {
    /// The workload file; its replay must be judged a leak.
    pub workload: PathBuf,
    /// The share of the original slope a smaller workload must keep to count, in (0, 1].
    #[arg(long, default_value_t = 0.5, value_parser = parse_keep)]
    pub keep: f64,
    /// Jobs each candidate's replay runs at least (its job list repeated); default the
    /// original's job count, at least 12.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub jobs: Option<u64>,
    /// Replays per candidate; a candidate counts when every one is still a leak.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub trials: u32,
    /// The output folder (default: reports/<workload>-minimize-<timestamp>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run the jobs through this worker command (docs/protocol.md) instead of the core.
    #[arg(long, value_name = "COMMAND")]
    pub worker_cmd: Option<String>,
    /// The core's allocator.
    #[arg(long, value_enum)]
    pub allocator: Option<AllocatorKind>,
    /// The isolation every replay runs with (as `replay --isolation`).
    #[arg(long, value_enum)]
    pub isolation: Option<Isolation>,
    /// Jobs per worker before it is recycled (as `replay --max-jobs`).
    #[arg(long)]
    pub max_jobs: Option<u32>,
    /// Cache clears every N jobs (as `replay --clear-every`).
    #[arg(long, value_name = "N")]
    pub clear_every: Option<u32>,
    /// Kill a job still running after this many seconds.
    #[arg(long)]
    pub job_timeout: Option<f64>,
    /// Print steps.json on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress lines and no table.
    #[arg(long, short)]
    pub quiet: bool,
}

fn parse_keep(text: &str) -> std::result::Result<f64, String> {
    let v: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number (expected a share in (0, 1], e.g. 0.5)"))?;
    if v.is_finite() && v > 0.0 && v <= 1.0 {
        Ok(v)
    } else {
        Err(format!(
            "{text}: expected a share of the original slope in (0, 1], e.g. 0.5"
        ))
    }
}

/// The `replay` flags every replay of the search gets.
fn replay_flags(args: &MinimizeArgs, workload_max_jobs: u32) -> Result<Vec<String>> {
    let (isolation, max_jobs) =
        crate::engine::policy::resolve_isolation(args.isolation, args.max_jobs, workload_max_jobs)?;
    let mut flags = vec![
        "--no-charts".to_string(),
        "--isolation".into(),
        isolation.as_str().into(),
    ];
    if isolation == Isolation::Recycle {
        flags.extend(["--max-jobs".into(), max_jobs.to_string()]);
    }
    if let Some(cmd) = &args.worker_cmd {
        Backend::command_line(cmd)?;
        flags.extend(["--worker-cmd".into(), cmd.clone()]);
    }
    if let Some(a) = args.allocator {
        flags.extend(["--allocator".into(), a.as_str().into()]);
    }
    if let Some(n) = args.clear_every {
        flags.extend(["--clear-every".into(), n.to_string()]);
    }
    if let Some(t) = args.job_timeout {
        if !(t.is_finite() && t > 0.0) {
            return Err(Error::Usage(format!(
                "--job-timeout {t}: expected seconds > 0"
            )));
        }
        flags.extend(["--job-timeout".into(), t.to_string()]);
    }
    Ok(flags)
}

pub fn run(args: MinimizeArgs) -> Result<i32> {
    let loaded = crate::workload::load(&args.workload)?;
    let flags = replay_flags(&args, loaded.workload.worker.max_jobs)?;
    let out_dir = args.out.clone().unwrap_or_else(|| {
        crate::cli::timestamped_report_dir(&format!("{}-minimize", loaded.name))
    });
    let config = MinimizeConfig {
        keep: args.keep,
        target_jobs: args.jobs,
        trials: args.trials,
        out_dir: out_dir.clone(),
        runner: ChildReplay::current(flags)?,
    };
    let cancel = Cancel::new();
    cancel
        .on_signals()
        .map_err(|e| Error::io("installing the signal handlers", e))?;
    let chatty = !args.quiet && !args.json;
    let progress = |t: Tried<'_>| {
        if chatty {
            let s = t.step;
            eprintln!(
                "step {:>3} {:<9} {} job(s): {} [{}] {}",
                s.index,
                s.phase,
                s.jobs_planned,
                s.calls.join(", "),
                crate::render::format::truncate(&s.kept.join(", "), 60),
                if s.passed { "kept" } else { "" }
            );
        }
    };
    let report = minimize(&loaded, &config, &progress, &cancel)?;
    let steps_md = render::minimize::write(&out_dir, &report)?;
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Internal(format!("steps.json: {e}")))?;
        crate::cli::print(&text)?;
    } else if !args.quiet {
        let table = render::minimize::table(&report);
        crate::cli::print(&render::render_terminal(&table, &Terminal::detect()))?;
        crate::cli::print(&report.summary)?;
        crate::cli::print(&format!(
            "minimal workload: {}",
            out_dir.join(MINIMAL_JSON).display()
        ))?;
        crate::cli::print(&format!("steps: {}", steps_md.display()))?;
    }
    Ok(0)
}
