//! `docling-memprof replay workload.json`: replay a workload through the worker core in a
//! child process, snapshot memory after every job, write a run folder, print a summary.
//!
//! The CLI never runs jobs itself: [`crate::runner::replay`] starts worker children.
//! At the end [`finish_run`] reads the run folder back and prints the summary; it is the one
//! place where analysis and rendering of a finished run are hooked in.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use crate::alloc::AllocatorKind;
use crate::analysis::gate::{gate_run, markdown_summary};
use crate::cli::timestamped_report_dir;
use crate::render::{self, BaselineRun, RenderOptions, Terminal};
use crate::runner::output::{load_run, RunFolder};
use crate::runner::{
    self, Isolation, JobOutcome, JobRecord, PurgeMode, ReplayConfig, RunManifest, RunStatus,
    SnapshotDetail,
};
use crate::units::format_duration;
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The workload file (JSON; see docs/workload-format.md).
    pub workload: PathBuf,
    /// The child's global allocator, chosen at start without rebuilding.
    #[arg(long, value_enum, default_value_t = AllocatorKind::Jemalloc)]
    pub allocator: AllocatorKind,
    /// One worker for the run, a fresh worker every --max-jobs jobs, or a process per job.
    /// Default: `recycle` when --max-jobs or the workload's `worker.max_jobs` is set, else `worker`.
    #[arg(long, value_enum)]
    pub isolation: Option<Isolation>,
    /// Jobs per worker process before it is recycled (DOCLING_SERVE_RQ_MAX_JOBS).
    #[arg(long)]
    pub max_jobs: Option<u32>,
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
    /// Allocation sites per snapshot: `exact` (dhat, one profiler per job; needs
    /// `--allocator dhat`, writes dhat-heap.json) or `sampled` (jemalloc, estimates with
    /// standard errors). Top sites go in each snapshot, the rest in profile.jsonl.
    #[arg(long, value_parser = ["exact", "sampled"])]
    pub sites: Option<String>,
    /// Live objects by type in each snapshot (the default; kept for old command lines).
    #[arg(long, hide = true)]
    pub census: bool,
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
    /// Skip charts in the end-of-run report (report.md and report.html are still written).
    #[arg(long)]
    pub no_charts: bool,
}

fn parse_size(text: &str) -> std::result::Result<u64, String> {
    crate::units::parse_human_size(text)
}

pub fn run(args: ReplayArgs) -> Result<i32> {
    let loaded = crate::workload::load(&args.workload)?;
    let (isolation, max_jobs) = resolve_isolation(&args, loaded.workload.worker.max_jobs)?;
    if !(args.job_timeout.is_finite() && args.job_timeout > 0.0) {
        return Err(Error::Usage(format!(
            "--job-timeout {}: expected seconds > 0",
            args.job_timeout
        )));
    }
    if args.memory_limit == Some(0) {
        return Err(Error::Usage("--memory-limit 0: expected a size > 0".into()));
    }
    check_sites(args.sites.as_deref(), args.allocator)?;
    let out_dir = match &args.out {
        Some(dir) => dir.clone(),
        None => timestamped_report_dir(&loaded.name),
    };
    let folder = RunFolder::create(&out_dir)?;
    let config = ReplayConfig {
        allocator: args.allocator,
        isolation,
        max_jobs,
        memory_limit_bytes: args.memory_limit,
        job_timeout: Some(Duration::from_secs_f64(args.job_timeout)),
        snapshots: !args.no_snapshots,
        purge: args.purge,
        smaps: args.smaps,
        child_exe: crate::runner::child_process::current_exe()?,
        sample_interval: crate::probe::sampler::DEFAULT_INTERVAL,
        progress: !args.quiet && !args.json,
        sites: args.sites.clone(),
        census: !args.no_census,
    };
    let end = runner::replay(&loaded, &config, folder)?;
    let gate_code = finish_run(&out_dir, &args)?;
    match end.status {
        RunStatus::Completed => Ok(gate_code),
        RunStatus::ChildDied | RunStatus::Interrupted => Err(Error::ChildDied(format!(
            "{}; the records of finished jobs are in {}",
            end.message.unwrap_or_else(|| end.status.as_str().into()),
            out_dir.display()
        ))),
    }
}

/// `--sites exact` runs under dhat, `--sites sampled` under jemalloc.
fn check_sites(sites: Option<&str>, allocator: AllocatorKind) -> Result<()> {
    match (sites, allocator) {
        (Some("exact"), a) if a != AllocatorKind::Dhat => Err(Error::Usage(
            "--sites exact runs under dhat: add --allocator dhat".into(),
        )),
        (Some("sampled"), a) if a != AllocatorKind::Jemalloc => Err(Error::Usage(
            "--sites sampled runs under jemalloc: use --allocator jemalloc".into(),
        )),
        _ => Ok(()),
    }
}

/// The isolation mode and the jobs per worker it implies.
fn resolve_isolation(args: &ReplayArgs, workload_max_jobs: u32) -> Result<(Isolation, u32)> {
    let max_jobs = args.max_jobs.unwrap_or(workload_max_jobs);
    let isolation = args.isolation.unwrap_or(if max_jobs > 0 {
        Isolation::Recycle
    } else {
        Isolation::Worker
    });
    match isolation {
        Isolation::Worker if args.max_jobs.is_some_and(|n| n > 0) => Err(Error::Usage(
            "--max-jobs recycles the worker: use it with --isolation recycle".into(),
        )),
        Isolation::Worker => Ok((Isolation::Worker, 0)),
        Isolation::Recycle if max_jobs == 0 => Err(Error::Usage(
            "--isolation recycle needs --max-jobs N (or worker.max_jobs in the workload)".into(),
        )),
        Isolation::Recycle => Ok((Isolation::Recycle, max_jobs)),
        Isolation::ProcessPerJob => Ok((Isolation::ProcessPerJob, 1)),
    }
}

/// The end of a replay: read the run folder back, judge it, write `report.md`, `report.html`
/// and the charts into it, print the report (or `--json`), and run `--gate`. Returns the exit
/// code the gate asks for (0 when there is no gate). A run whose child died is still reported.
pub fn finish_run(run_dir: &Path, args: &ReplayArgs) -> Result<i32> {
    let loaded = load_run(run_dir)?;
    // diagnostics.json: get_memory_diagnostics() and find_memory_leaks() of the run.
    if let Err(err) = crate::probe::diagnostics::write_for_records(run_dir, &loaded.jobs) {
        log::warn!("diagnostics.json: {err}");
    }
    let summary = RunSummary::new(run_dir, &loaded.manifest, &loaded.jobs);
    let mut input = crate::cli::report::input_from_loaded(run_dir, loaded);
    if let Some(base) = &args.baseline {
        let baseline = crate::cli::report::input_from_run(base)?;
        input.baseline = Some(BaselineRun {
            label: format!("baseline {}", base.display()),
            trajectory: baseline.trajectory,
        });
    }
    let options = RenderOptions {
        charts: !args.no_charts,
        ..RenderOptions::default()
    };
    let written = render::write_report(run_dir, &input, &options)?;
    if args.json {
        // The summary's fields at the top level, plus the verdict and the files written.
        let mut report =
            serde_json::to_value(&summary).map_err(|e| Error::Internal(format!("summary: {e}")))?;
        if let Some(map) = report.as_object_mut() {
            let verdict = serde_json::to_value(&input.verdict)
                .map_err(|e| Error::Internal(format!("verdict: {e}")))?;
            map.insert("verdict".into(), verdict);
            map.insert("files".into(), serde_json::json!(written));
        }
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Internal(format!("summary: {e}")))?;
        println!("{text}");
    } else if !args.quiet {
        println!("{}", render::terminal_report(&input, &Terminal::detect()));
        println!("{}", summary.one_line());
        if let Some(report) = written
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == "html"))
        {
            println!("report: {}", report.display());
        }
    }
    let Some(budget) = &args.gate else {
        return Ok(0);
    };
    let result = gate_run(run_dir, budget, args.baseline.as_deref())?;
    if !args.quiet && !args.json {
        println!("{}", markdown_summary(&result));
    }
    crate::cli::gate::write_outputs(
        &result,
        Some(&run_dir.join("gate-junit.xml")),
        Some(&run_dir.join("gate-summary.md")),
    )
}

/// The machine-readable summary of a run (`--json`).
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_dir: String,
    pub workload: String,
    pub allocator: String,
    pub isolation: String,
    pub status: String,
    pub status_message: Option<String>,
    pub jobs: u64,
    pub jobs_succeeded: u64,
    pub jobs_failed: u64,
    pub jobs_died: u64,
    pub workers_started: u32,
    pub cache_clears: u64,
    pub wall_time_secs: Option<f64>,
    pub baseline_rss_bytes: Option<u64>,
    pub last_rss_bytes: Option<u64>,
    pub max_peak_rss_bytes: Option<u64>,
    pub baseline_live_bytes: Option<u64>,
    pub last_live_bytes: Option<u64>,
}

impl RunSummary {
    pub fn new(run_dir: &Path, manifest: &RunManifest, records: &[JobRecord]) -> RunSummary {
        let count =
            |f: fn(&JobOutcome) -> bool| records.iter().filter(|r| f(&r.outcome)).count() as u64;
        let last = records.iter().rev().find_map(|r| r.after_job.as_ref());
        let baseline = manifest.baselines.first();
        RunSummary {
            run_dir: run_dir.display().to_string(),
            workload: manifest.workload_name.clone(),
            allocator: manifest.allocator.clone(),
            isolation: manifest.isolation.clone(),
            status: manifest.status.clone(),
            status_message: manifest.status_message.clone(),
            jobs: records.len() as u64,
            jobs_succeeded: count(|o| matches!(o, JobOutcome::Success)),
            jobs_failed: count(|o| matches!(o, JobOutcome::Failed { .. })),
            jobs_died: count(|o| matches!(o, JobOutcome::Died { .. })),
            workers_started: manifest.workers_started,
            cache_clears: records.iter().filter(|r| r.cache_clear.is_some()).count() as u64,
            wall_time_secs: manifest.wall_time_secs,
            baseline_rss_bytes: baseline.map(|b| b.process.rss_bytes),
            last_rss_bytes: last.map(|s| s.process.rss_bytes),
            max_peak_rss_bytes: records.iter().filter_map(|r| r.peak_rss_bytes).max(),
            baseline_live_bytes: baseline.and_then(|b| b.allocator.live_bytes()),
            last_live_bytes: last.and_then(|s| s.allocator.live_bytes()),
        }
    }

    fn one_line(&self) -> String {
        format!(
            "{}: {} job(s) ({} ok, {} failed, {} died) on {} worker(s), {} clear(s), {} [{}, {}] -> {}",
            self.status,
            self.jobs,
            self.jobs_succeeded,
            self.jobs_failed,
            self.jobs_died,
            self.workers_started,
            self.cache_clears,
            self.wall_time_secs.map(format_duration).unwrap_or_else(|| "-".into()),
            self.allocator,
            self.isolation,
            self.run_dir
        )
    }
}
