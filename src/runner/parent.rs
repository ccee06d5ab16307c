//! The parent side of a replay: materialised documents -> tasks -> worker children (one, one
//! per `max_jobs`, or one per job) -> `jobs.jsonl`, with the child's peak RSS sampled during
//! each job, the memory limit enforced, crashes and Ctrl-C turned into a valid partial run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::child_process::{install_interrupt_handler, ChildProcess, SpawnSpec, Stop, INTERRUPTED};
use super::manifest::{new_manifest, now_rfc3339};
use super::output::RunFolder;
use super::protocol::{ChildInit, FromChild, JobRequest, ToChild};
use super::record::{JobOutcome, JobRecord, RECORD_SCHEMA_VERSION};
use crate::alloc::AllocatorKind;
use crate::probe::Snapshot;
use crate::worker::{Source, Task};
use crate::workload::materialize::{materialize, DocumentFiles};
use crate::workload::{JobSpec, LoadedWorkload, SourceMode};
use crate::{Error, Result};

/// How jobs are spread over worker processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// One worker for the whole run (RQ's SimpleWorker).
    Worker,
    /// A fresh worker after every `max_jobs` jobs (worker recycling).
    Recycle,
    /// A fresh process for every job.
    ProcessPerJob,
}

impl Isolation {
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::Worker => "worker",
            Isolation::Recycle => "recycle",
            Isolation::ProcessPerJob => "process-per-job",
        }
    }
}

/// In which snapshots an optional, costly part is taken: the jemalloc purge (`--purge`) or
/// `smaps_rollup` for PSS/USS (`--smaps`).
///
/// A purge separates live memory from memory jemalloc only keeps, but returns the kept pages
/// to the kernel, so the next job faults them in again (as a slow real worker whose decay had
/// time to run would; a fast replay without purges keeps them dirty). Dirty and muzzy bytes
/// are read from jemalloc's stats in every snapshot either way. `smaps_rollup` costs about
/// 45 us per MiB of RSS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotDetail {
    /// In every snapshot (baseline, after each job, after each clear).
    Every,
    /// Only in the snapshot right after each cache clear.
    Clears,
    /// Never.
    Never,
}

/// The `--purge` choice.
pub type PurgeMode = SnapshotDetail;

/// Everything a replay needs besides the workload.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    pub allocator: AllocatorKind,
    pub isolation: Isolation,
    /// Jobs per worker process (0 = unlimited); set from the isolation mode by the CLI.
    pub max_jobs: u32,
    pub memory_limit_bytes: Option<u64>,
    pub job_timeout: Option<Duration>,
    /// Baseline and after-job snapshots (off only for overhead measurements).
    pub snapshots: bool,
    /// When snapshots purge jemalloc.
    pub purge: PurgeMode,
    /// When snapshots read `smaps_rollup` (PSS, USS).
    pub smaps: SnapshotDetail,
    /// The binary started as `<exe> child`.
    pub child_exe: PathBuf,
    pub sample_interval: Duration,
    /// Draw the progress bar (it hides itself anyway when stderr is not a terminal).
    pub progress: bool,
    /// Recorded in run.json for the engineers who wire these options.
    pub sites: Option<String>,
    pub census: bool,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Completed,
    ChildDied,
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::ChildDied => "child_died",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// What [`replay`] hands back (the run folder holds the rest).
#[derive(Debug, Clone)]
pub struct RunEnd {
    pub status: RunStatus,
    pub message: Option<String>,
    pub jobs_recorded: u64,
    pub wall_time_secs: f64,
}

/// How long a fresh worker may take to start and take its baseline.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a worker may take to exit after `shutdown`.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Replay a validated workload into an open run folder. Documents are materialised first
/// (errors there are bad input, before any job); then jobs run in worker children.
pub fn replay(
    loaded: &LoadedWorkload,
    config: &ReplayConfig,
    mut folder: RunFolder,
) -> Result<RunEnd> {
    let wall = Instant::now();
    let files = materialize(loaded, &folder.documents_dir())?;
    let mut manifest = new_manifest(loaded, config, &files);
    folder.write_manifest(&manifest)?;
    install_interrupt_handler();

    let total_jobs = loaded.workload.job_count();
    let bar = progress_bar(total_jobs, config.progress);
    let settings_base = loaded.workload.worker.to_settings(folder.scratch_dir());
    let spec = SpawnSpec {
        exe: config.child_exe.clone(),
        allocator: config.allocator,
        worker_log: folder.worker_log_path(),
        sample_interval: config.sample_interval,
        memory_limit_bytes: config.memory_limit_bytes,
    };

    let mut current: Option<ChildProcess> = None;
    let mut jobs_recorded = 0u64;
    let mut end: Option<(RunStatus, String)> = None;
    let mut warnings: Vec<String> = Vec::new();

    for (index, job_spec) in loaded.workload.planned_jobs().enumerate() {
        let job = index as u64 + 1;
        if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
            end = Some((
                RunStatus::Interrupted,
                format!("interrupted (Ctrl-C) before job {job}"),
            ));
            break;
        }
        // A worker for this job.
        let mut child = match current.take() {
            Some(child) => child,
            None => {
                let worker_index = manifest.workers_started;
                let settings = crate::worker::WorkerSettings {
                    max_jobs: config.max_jobs,
                    ..settings_base.clone()
                };
                match start_worker(&spec, worker_index, settings, config) {
                    Ok((child, baseline)) => {
                        manifest.workers_started += 1;
                        if let Some(b) = baseline {
                            manifest.baselines.push(b);
                        }
                        folder.write_manifest(&manifest)?;
                        child
                    }
                    Err((status, message)) => {
                        end = Some((status, format!("before job {job}: {message}")));
                        break;
                    }
                }
            }
        };

        let task = build_task(job_spec, &files)?;
        let request = JobRequest {
            job,
            job_id: uuid::Uuid::new_v4().to_string(),
            workload_job: job_spec.name.clone(),
            task,
        };
        let (job_id, task_id) = (request.job_id.clone(), request.task.task_id.clone());
        bar.set_message(format!("job {job}: {}", job_spec.name));
        child.reset_peak();
        child.jobs_sent += 1;
        let sent = child.send(&ToChild::Job(request));
        let deadline = config.job_timeout.map(|t| Instant::now() + t);
        let waited = if sent {
            child.wait_message(deadline, |c| {
                if let Some(rss) = c.current_rss_bytes() {
                    bar.set_message(format!("RSS {}", crate::units::format_size(rss)));
                }
                bar.tick();
            })
        } else {
            Err(Stop::Died)
        };
        match waited {
            Ok(FromChild::JobDone { record }) => {
                let mut record = *record;
                record.peak_rss_bytes = child.take_peak_bytes();
                // The sampler may not have run while a short job crossed the limit (a busy
                // machine starves its thread); the job's own readings prove the crossing, and
                // the OOM killer would have ended the job, so it ends the same way here.
                if let Some(reason) = limit_crossed_by(&record, config.memory_limit_bytes) {
                    let worker = (child.worker_index, child.pid, child.jobs_sent);
                    let mut died =
                        died_record_parts(job, worker, &job_id, &task_id, job_spec, reason.clone());
                    died.peak_rss_bytes = record.peak_rss_bytes;
                    let _ = child.death_reason(Stop::TimedOut, None);
                    folder.append_job(&died)?;
                    jobs_recorded += 1;
                    end = Some((
                        RunStatus::ChildDied,
                        format!(
                            "worker {} (pid {}) died in job {job}: {reason}",
                            worker.0, worker.1
                        ),
                    ));
                    break;
                }
                folder.append_job(&record)?;
                jobs_recorded += 1;
                bar.inc(1);
                let rss = record
                    .after_job
                    .as_ref()
                    .map(|s| s.process.rss_bytes)
                    .or(child.current_rss_bytes());
                if let Some(rss) = rss {
                    bar.set_message(format!("RSS {}", crate::units::format_size(rss)));
                }
                let retire =
                    config.isolation == Isolation::ProcessPerJob || record.recycle_requested;
                if retire {
                    if let Some(problem) = child.shutdown(SHUTDOWN_GRACE) {
                        warnings.push(problem);
                    }
                } else {
                    current = Some(child);
                }
            }
            Ok(other) => {
                let reason = format!(
                    "protocol error: expected job_done, got {}",
                    message_kind(&other)
                );
                let died = died_record(job, &child, &job_id, &task_id, job_spec, reason.clone());
                folder.append_job(&died)?;
                jobs_recorded += 1;
                let _ = child.death_reason(Stop::TimedOut, None);
                end = Some((RunStatus::ChildDied, format!("job {job}: {reason}")));
                break;
            }
            Err(stop) => {
                let peak = child.take_peak_bytes();
                let worker = (child.worker_index, child.pid, child.jobs_sent);
                let reason = child.death_reason(stop, config.job_timeout);
                let mut died =
                    died_record_parts(job, worker, &job_id, &task_id, job_spec, reason.clone());
                died.peak_rss_bytes = peak;
                folder.append_job(&died)?;
                jobs_recorded += 1;
                let status = if stop == Stop::Interrupted || reason.starts_with("interrupted") {
                    RunStatus::Interrupted
                } else {
                    RunStatus::ChildDied
                };
                end = Some((
                    status,
                    format!(
                        "worker {} (pid {}) died in job {job}: {reason}",
                        worker.0, worker.1
                    ),
                ));
                break;
            }
        }
    }
    if let Some(child) = current.take() {
        if let Some(problem) = child.shutdown(SHUTDOWN_GRACE) {
            warnings.push(problem);
        }
    }
    bar.finish_and_clear();

    let wall_time_secs = wall.elapsed().as_secs_f64();
    let (status, mut message) = match end {
        Some((status, message)) => (status, Some(message)),
        None => (RunStatus::Completed, None),
    };
    if !warnings.is_empty() {
        let joined = warnings.join("; ");
        message = Some(match message {
            Some(m) => format!("{m}; {joined}"),
            None => joined,
        });
    }
    manifest.status = status.as_str().into();
    manifest.status_message = message.clone();
    manifest.finished_at = Some(now_rfc3339());
    manifest.wall_time_secs = Some(wall_time_secs);
    folder.write_manifest(&manifest)?;
    Ok(RunEnd {
        status,
        message,
        jobs_recorded,
        wall_time_secs,
    })
}

/// Start a worker and wait for its `ready` (with the baseline snapshot).
fn start_worker(
    spec: &SpawnSpec,
    worker_index: u32,
    settings: crate::worker::WorkerSettings,
    config: &ReplayConfig,
) -> std::result::Result<(ChildProcess, Option<Snapshot>), (RunStatus, String)> {
    let mut child = ChildProcess::spawn(spec, worker_index)
        .map_err(|e| (RunStatus::ChildDied, e.to_string()))?;
    let init = ChildInit {
        settings,
        worker_index,
        snapshots: config.snapshots,
        purge: config.snapshots
            && config.allocator == AllocatorKind::Jemalloc
            && config.purge == PurgeMode::Every,
        purge_after_clear: config.snapshots
            && config.allocator == AllocatorKind::Jemalloc
            && config.purge != PurgeMode::Never,
        smaps: config.snapshots && config.smaps == SnapshotDetail::Every,
        smaps_after_clear: config.snapshots && config.smaps != SnapshotDetail::Never,
        census: config.census,
        sites: config
            .sites
            .as_deref()
            .and_then(crate::probe::profiling::SitesMode::from_name),
        // worker.log sits in the run folder.
        run_dir: spec.worker_log.parent().map(std::path::Path::to_path_buf),
    };
    if !child.send(&ToChild::Init(init)) {
        let reason = child.death_reason(Stop::Died, None);
        return Err((
            RunStatus::ChildDied,
            format!("worker {worker_index} did not start: {reason}"),
        ));
    }
    match child.wait_ready(STARTUP_TIMEOUT) {
        Ok(FromChild::Ready { baseline, .. }) => Ok((child, baseline.map(|b| *b))),
        Ok(FromChild::Fatal { message }) => {
            let _ = child.death_reason(Stop::Died, None);
            Err((
                RunStatus::ChildDied,
                format!("worker {worker_index} did not start: {message}"),
            ))
        }
        Ok(other) => {
            let _ = child.death_reason(Stop::TimedOut, None);
            Err((
                RunStatus::ChildDied,
                format!(
                    "worker {worker_index}: expected ready, got {}",
                    message_kind(&other)
                ),
            ))
        }
        Err(stop) => {
            let status = if stop == Stop::Interrupted {
                RunStatus::Interrupted
            } else {
                RunStatus::ChildDied
            };
            let reason = child.death_reason(stop, Some(STARTUP_TIMEOUT));
            Err((
                status,
                format!("worker {worker_index} did not start: {reason}"),
            ))
        }
    }
}

/// The memory-limit death a finished job's own readings prove (its peak or its after-job RSS
/// above the limit), when the sampler did not catch it in time.
fn limit_crossed_by(record: &JobRecord, limit_bytes: Option<u64>) -> Option<String> {
    let limit = limit_bytes?;
    let after = record.after_job.as_ref().map(|s| s.process.rss_bytes);
    let seen = record.peak_rss_bytes.max(after)?;
    (seen > limit).then(|| {
        format!(
            "memory limit: RSS {} crossed --memory-limit {}; the parent killed the worker (SIGKILL), as the Kubernetes OOM killer would",
            crate::units::format_size(seen),
            crate::units::format_size(limit),
        )
    })
}

fn message_kind(message: &FromChild) -> &'static str {
    match message {
        FromChild::Ready { .. } => "ready",
        FromChild::JobDone { .. } => "job_done",
        FromChild::Fatal { .. } => "fatal",
    }
}

/// The task a workload job becomes.
fn build_task(spec: &JobSpec, files: &DocumentFiles) -> Result<Task> {
    let mut sources = Vec::with_capacity(spec.documents.len());
    for id in &spec.documents {
        let path = files
            .get(id)
            .ok_or_else(|| Error::Internal(format!("document `{id}` was not materialised")))?;
        sources.push(match spec.sources {
            SourceMode::File => Source::File { path: path.clone() },
            SourceMode::Base64 => {
                let bytes = std::fs::read(path)
                    .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| id.clone());
                Source::from_bytes(name, &bytes)
            }
        });
    }
    let mut task = Task::convert(sources, spec.options.clone());
    task.task_type = spec.task_type;
    Ok(task)
}

fn died_record(
    job: u64,
    child: &ChildProcess,
    job_id: &str,
    task_id: &str,
    spec: &JobSpec,
    reason: String,
) -> JobRecord {
    died_record_parts(
        job,
        (child.worker_index, child.pid, child.jobs_sent),
        job_id,
        task_id,
        spec,
        reason,
    )
}

/// The record of a job the worker died in: no snapshot, no documents.
fn died_record_parts(
    job: u64,
    (worker_index, worker_pid, jobs_sent): (u32, u32, u64),
    job_id: &str,
    task_id: &str,
    spec: &JobSpec,
    reason: String,
) -> JobRecord {
    JobRecord {
        schema_version: RECORD_SCHEMA_VERSION,
        job,
        worker_index,
        worker_pid,
        worker_jobs_total: jobs_sent,
        job_id: job_id.into(),
        task_id: task_id.into(),
        workload_job: spec.name.clone(),
        outcome: JobOutcome::Died { reason },
        duration_secs: 0.0,
        documents: Vec::new(),
        peak_rss_bytes: None,
        after_job: None,
        cache_clear: None,
        recycle_requested: false,
    }
}

fn progress_bar(total: u64, show: bool) -> ProgressBar {
    let target = if show {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} jobs  ETA {eta}  {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished_job(peak_rss_bytes: Option<u64>) -> JobRecord {
        JobRecord {
            schema_version: RECORD_SCHEMA_VERSION,
            job: 1,
            worker_index: 0,
            worker_pid: 1,
            worker_jobs_total: 1,
            job_id: "j".into(),
            task_id: "t".into(),
            workload_job: "w".into(),
            outcome: JobOutcome::Success,
            duration_secs: 0.01,
            documents: Vec::new(),
            peak_rss_bytes,
            after_job: None,
            cache_clear: None,
            recycle_requested: false,
        }
    }

    /// Regression: on a busy machine the sampler thread can miss a short job that crossed
    /// the memory limit; the job's own peak must still end it as a memory-limit death.
    #[test]
    fn memory_limit_missed_by_the_sampler_is_caught_from_the_jobs_readings() {
        let mib = 1024 * 1024;
        let reason = limit_crossed_by(&finished_job(Some(5 * mib)), Some(mib));
        assert!(reason.is_some_and(|r| r.starts_with("memory limit")));
        assert_eq!(
            limit_crossed_by(&finished_job(Some(5 * mib)), Some(10 * mib)),
            None
        );
        assert_eq!(limit_crossed_by(&finished_job(Some(5 * mib)), None), None);
        assert_eq!(limit_crossed_by(&finished_job(None), Some(mib)), None);
    }
}
