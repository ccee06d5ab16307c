//! `docling-memprof replay workload.json`: replay a workload through the worker core in a
//! child process, snapshot memory after every job, write a run folder, print a summary.
//!
//! The CLI only configures and prints: [`crate::engine::Replay`] runs the jobs (through the
//! worker core or `--worker-cmd`), [`crate::engine::analyse_run`] judges what it recorded,
//! `render` writes the files.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::cancel::Cancel;
use crate::cli::summary::RunSummary;
use crate::cli::timestamped_report_dir;
use crate::cli::worker_flags::{SitesFlag, WorkerArgs};
use crate::engine::{analyse_folder, analyse_run, Progress, Replay, ReplayConfig, RunAnalysis};
use crate::record::{CensusPolicy, Isolation, PurgeMode, RunStatus, SnapshotDetail};
use crate::render::{self, RenderOptions, Terminal};
use crate::{Error, Result};

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct ReplayArgs {
    /// The workload file (JSON; see docs/workload-format.md).
    pub workload: PathBuf,
    #[command(flatten)]
    pub worker: WorkerArgs,
    /// A gate run that did not finish (a death, an interruption) passes when its budgets hold.
    #[arg(long)]
    pub allow_incomplete: bool,
    /// One worker for the run, a fresh worker every --max-jobs jobs, or a process per job.
    /// Default: `recycle` when --max-jobs or the workload's `worker.max_jobs` is set, else `worker`.
    #[arg(long, value_enum)]
    pub isolation: Option<Isolation>,
    /// Jobs per worker process before it is recycled (DOCLING_SERVE_RQ_MAX_JOBS).
    #[arg(long)]
    pub max_jobs: Option<u32>,
    /// Clear the worker's caches every N jobs (DOCLING_SERVE_JOBS_BETWEEN_CACHE_CLEAR; 0 =
    /// never), instead of the workload's `worker.jobs_between_cache_clear`.
    #[arg(long, value_name = "N")]
    pub clear_every: Option<u32>,
    /// Kill the worker when its RSS crosses this size (`3GiB`, `512MiB`), as Kubernetes would.
    #[arg(long, value_parser = parse_size)]
    pub memory_limit: Option<u64>,
    /// The run folder (default: reports/<workload>-<timestamp>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress bar and no summary table.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print a machine-readable summary (JSON) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Take no baseline/after-job snapshots (cache clears get a light one): for measuring the
    /// snapshots' overhead.
    #[arg(long)]
    pub no_snapshots: bool,
    /// When snapshots purge jemalloc's arenas (to tell live memory from memory jemalloc only
    /// keeps): in every snapshot, only after cache clears, or never. A purge returns pages to
    /// the kernel that the next job faults in again; see docs/run-format.md.
    #[arg(long, value_enum, default_value_t = PurgeMode::Never)]
    pub purge: PurgeMode,
    /// When snapshots read /proc/self/smaps_rollup for PSS and USS (about 45 us per MiB of
    /// RSS): in every snapshot, only after cache clears, or never.
    #[arg(long, value_enum, default_value_t = SnapshotDetail::Clears)]
    pub smaps: SnapshotDetail,
    /// Kill a job still running after this many seconds (RQ's default is 14400).
    #[arg(long, default_value_t = 14400.0)]
    pub job_timeout: f64,
    /// Allocation sites per snapshot: `sampled` (the default for the core under jemalloc:
    /// estimates with standard errors, symbolised by this process), `off`, `exact` (dhat, one
    /// profiler per job; needs `--allocator dhat`, writes dhat-heap.json), or `tracemalloc`
    /// for --worker docling (slow). Top sites go in each snapshot, the rest in profile.jsonl.
    #[arg(long, value_enum)]
    pub sites: Option<SitesFlag>,
    /// Live objects by type (on by default). For --worker docling, when Python's `gc` census
    /// runs: `auto` (every job while it costs under 5% of the jobs' time, else after each
    /// clear and every k-th job), `every` or `off`.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "auto")]
    pub census: Option<CensusPolicy>,
    /// Turn off the census of live objects by type and the owner chains (for overhead
    /// measurements).
    #[arg(long, conflicts_with = "census")]
    pub no_census: bool,
    /// Gate the run against this budget file at the end (as `docling-memprof gate`): the exit
    /// code becomes 1 when a budget is broken. Writes gate-summary.md and gate-junit.xml.
    #[arg(long, value_name = "BUDGET")]
    pub gate: Option<PathBuf>,
    /// A baseline run folder: compared in the report's chart and, with --gate, in the gate.
    #[arg(long, value_name = "RUN")]
    pub baseline: Option<PathBuf>,
    /// Growth is a leak when what it adds within this many jobs matters (default 1000; see
    /// docs/verdict-method.md); smaller real growth is `slow_growth`.
    #[arg(long, value_name = "JOBS")]
    pub horizon: Option<u64>,
    /// Skip charts in the end-of-run report (report.md and report.html are still written).
    #[arg(long)]
    pub no_charts: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics while the replay runs: `PORT` (on
    /// 127.0.0.1) or `HOST:PORT`.
    #[arg(long, value_name = "ADDR", value_parser = crate::cli::watch::parse_metrics_addr)]
    pub metrics: Option<std::net::SocketAddr>,
    /// The `worker` label of the metrics (default: the workload's name).
    #[arg(long, requires = "metrics")]
    pub name: Option<String>,
}

fn parse_size(text: &str) -> std::result::Result<u64, String> {
    crate::units::parse_human_size(text)
}

pub fn run(args: ReplayArgs) -> Result<i32> {
    let mut loaded = crate::workload::load(&args.workload)?;
    if let Some(n) = args.clear_every {
        loaded.workload.worker.jobs_between_cache_clear = n;
    }
    let config = config_of(&args, loaded.workload.worker.max_jobs)?;
    // Files the end of the run needs are checked before the first job.
    let budget = args
        .gate
        .as_deref()
        .map(crate::engine::finish::load_budget)
        .transpose()?;
    let baseline = args
        .baseline
        .as_deref()
        .map(|dir| analyse_folder(dir, &crate::cli::verdict_params(args.horizon)))
        .transpose()?;
    let out_dir = match &args.out {
        Some(dir) => dir.clone(),
        None => timestamped_report_dir(&loaded.name),
    };
    // Paths travel to the worker as text (docs/protocol.md): refuse what is not UTF-8.
    for (flag, path) in [("--out", &out_dir), ("the workload path", &args.workload)] {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
        if absolute.to_str().is_none() {
            return Err(Error::Usage(format!(
                "{flag} {}: not valid UTF-8; the worker protocol carries paths as text",
                path.display()
            )));
        }
    }
    let cancel = Cancel::new();
    cancel
        .on_signals()
        .map_err(|e| Error::io("installing the signal handlers", e))?;
    let name = args.name.clone().unwrap_or_else(|| loaded.name.clone());
    let (mut metrics, _server) =
        crate::cli::watch::start_metrics(args.metrics, &name, args.quiet || args.json)?;
    let mut progress = Progress::new(!args.quiet && !args.json);
    let mut observers: Vec<&mut dyn crate::engine::Observer> = vec![&mut progress];
    if let Some(m) = metrics.as_mut() {
        observers.push(m);
    }
    let outcome = Replay::new(&loaded, config, &out_dir).run(&mut observers, &cancel)?;
    let analysis = analyse_run(outcome, &crate::cli::verdict_params(args.horizon))?;
    let gate_code = finish(&args, &analysis, budget.as_ref(), baseline.as_ref())?;
    match analysis.manifest.status {
        RunStatus::Completed => Ok(gate_code),
        status => Err(Error::ChildDied(format!(
            "{}; the records of finished jobs are in {}",
            analysis
                .manifest
                .status_message
                .clone()
                .unwrap_or_else(|| status.as_str().into()),
            out_dir.display()
        ))),
    }
}

/// The replay's configuration from the flags.
fn config_of(args: &ReplayArgs, workload_max_jobs: u32) -> Result<ReplayConfig> {
    let (isolation, max_jobs) =
        crate::engine::policy::resolve_isolation(args.isolation, args.max_jobs, workload_max_jobs)?;
    if !(args.job_timeout.is_finite() && args.job_timeout > 0.0) {
        return Err(Error::Usage(format!(
            "--job-timeout {}: expected seconds > 0",
            args.job_timeout
        )));
    }
    if args.memory_limit == Some(0) {
        return Err(Error::Usage("--memory-limit 0: expected a size > 0".into()));
    }
    let census = match (args.no_census, args.census) {
        (true, _) => CensusPolicy::Off,
        (false, policy) => policy.unwrap_or_default(),
    };
    let sites = match args.sites {
        Some(flag) => flag.mode(),
        None => args.worker.default_sites(!args.no_snapshots),
    };
    let backend = args.worker.backend(sites, census)?;
    Ok(ReplayConfig {
        backend,
        isolation,
        max_jobs,
        memory_limit_bytes: args.memory_limit,
        job_timeout: Some(Duration::from_secs_f64(args.job_timeout)),
        snapshots: !args.no_snapshots,
        purge: args.purge,
        smaps: args.smaps,
        sample_interval: crate::observe::sampler::DEFAULT_INTERVAL,
        sites,
        census: census != CensusPolicy::Off,
    })
}

/// The end of a replay: `diagnostics.json`, the report files, the summary (or `--json`) and
/// `--gate`. Returns the exit code the gate asks for (0 without a gate). A run whose worker
/// died is still reported.
fn finish(
    args: &ReplayArgs,
    analysis: &RunAnalysis,
    budget: Option<&crate::analysis::gate::BudgetFile>,
    baseline: Option<&RunAnalysis>,
) -> Result<i32> {
    if let Err(err) = analysis.write_diagnostics() {
        log::warn!("diagnostics.json: {err}");
    }
    let summary = RunSummary::new(analysis);
    let mut input = analysis.report_input();
    if let (Some(base), Some(dir)) = (baseline, &args.baseline) {
        input.baseline = Some(base.as_baseline(format!("baseline {}", dir.display())));
    }
    let options = RenderOptions {
        charts: !args.no_charts,
        ..RenderOptions::default()
    };
    let written = render::write_report(&analysis.dir, &input, &options)?;
    if args.json {
        crate::cli::summary::print_json(&summary, &input.verdict, &written)?;
    } else if !args.quiet {
        crate::cli::print(&render::terminal_report(&input, &Terminal::detect()))?;
        crate::cli::print(&summary.one_line())?;
        if let Some(report) = written
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == "html"))
        {
            crate::cli::print(&format!("report: {}", report.display()))?;
        }
    }
    let Some(budget) = budget else {
        return Ok(0);
    };
    let result = analysis.gate(budget, baseline, args.allow_incomplete)?;
    if !args.quiet && !args.json {
        crate::cli::print(&render::gate::markdown_summary(&result))?;
    }
    crate::engine::finish::write_gate_outputs(
        &result,
        Some(&analysis.dir.join("gate-junit.xml")),
        Some(&analysis.dir.join("gate-summary.md")),
    )
}
