//! A replay as a library call: `Replay::new(workload, config, out_dir).run(&mut observers,
//! &cancel) -> RunOutcome`. Materialised documents -> protocol jobs -> worker processes (one,
//! one per `max_jobs`, or one per job) of the configured [`Backend`] -> one [`JobRecord`] per
//! job, sent to every observer as it ends, with the worker's peak RSS sampled from outside,
//! the memory limit enforced, and deaths (crash, timeout, protocol error, cancellation) typed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::events::{emit, Event, Observer};
use super::folder::{FolderWriter, RunFolder};
use super::manifest::{new_manifest, now_rfc3339};
use super::worker::{outside_reading, start_worker, StartFailure};
use crate::backend::process::memory_limit_reason;
use crate::backend::{Backend, Stop, WorkerProcess};
use crate::cancel::Cancel;
use crate::protocol::inline::OutgoingJob;
use crate::protocol::{self, FromWorker, JobDone};
use crate::record::{
    Death, Isolation, JobOutcome, JobRecord, PurgeMode, RunManifest, RunStatus, SitesMode,
    SnapshotDetail, RECORD_SCHEMA_VERSION,
};
use crate::workload::materialize::materialize;
use crate::workload::LoadedWorkload;
use crate::Result;

/// Everything a replay needs besides the workload.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    pub backend: Backend,
    pub isolation: Isolation,
    /// Jobs per worker process (0 = unlimited); follows from the isolation mode.
    pub max_jobs: u32,
    pub memory_limit_bytes: Option<u64>,
    pub job_timeout: Option<Duration>,
    /// Baseline and after-job snapshots (off only for overhead measurements).
    pub snapshots: bool,
    /// When snapshots purge jemalloc.
    pub purge: PurgeMode,
    /// When snapshots read `smaps_rollup` (PSS, USS).
    pub smaps: SnapshotDetail,
    pub sample_interval: Duration,
    pub sites: Option<SitesMode>,
    pub census: bool,
}

/// What a finished (or stopped) run hands back: everything it recorded, held in memory.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub manifest: RunManifest,
    pub records: Vec<JobRecord>,
}

impl RunOutcome {
    pub fn status(&self) -> RunStatus {
        self.manifest.status
    }
}

/// How long a fresh worker may take to start and take its baseline.
pub(crate) const STARTUP_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a worker may take to exit after `shutdown`.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// One replay, configured.
#[derive(Debug)]
pub struct Replay<'w> {
    loaded: &'w LoadedWorkload,
    config: ReplayConfig,
    out_dir: PathBuf,
}

/// The state of the job loop.
struct Run<'a> {
    config: &'a ReplayConfig,
    /// The workload's worker settings with the run folder's scratch folder.
    settings: protocol::WorkerSettings,
    cancel: &'a Cancel,
    folder_dir: PathBuf,
    manifest: RunManifest,
    records: Vec<JobRecord>,
    current: Option<WorkerProcess>,
    end: Option<(RunStatus, String)>,
    warnings: Vec<String>,
    /// Symbolises sampled sites as their snapshots arrive.
    sites: super::sites::RunSites,
}

impl<'w> Replay<'w> {
    pub fn new(loaded: &'w LoadedWorkload, config: ReplayConfig, out_dir: &Path) -> Replay<'w> {
        Replay {
            loaded,
            config,
            out_dir: out_dir.to_path_buf(),
        }
    }

    /// Run every planned job. The run folder is claimed first (an error there is bad input,
    /// before any job); documents are materialised; then jobs run until the end, a death, or
    /// `cancel`. The returned outcome holds every record (also written to `jobs.jsonl`).
    pub fn run(self, observers: &mut [&mut dyn Observer], cancel: &Cancel) -> Result<RunOutcome> {
        let wall = Instant::now();
        let folder = RunFolder::create(&self.out_dir)?;
        let files = match materialize(self.loaded, &folder.documents_dir()) {
            Ok(files) => files,
            Err(e) => {
                folder.abandon();
                return Err(e);
            }
        };
        let mut writer = FolderWriter { folder };
        let mut all: Vec<&mut dyn Observer> = vec![&mut writer];
        all.extend(observers.iter_mut().map(|o| &mut **o as &mut dyn Observer));
        let mut settings = self.loaded.workload.worker.clone();
        settings.scratch_dir = Some(
            self.out_dir
                .join(super::folder::SCRATCH_DIR)
                .display()
                .to_string(),
        );
        let mut run = Run {
            config: &self.config,
            settings,
            cancel,
            folder_dir: self.out_dir.clone(),
            manifest: new_manifest(self.loaded, &self.config, &files),
            records: Vec::new(),
            current: None,
            end: None,
            warnings: Vec::new(),
            sites: super::sites::RunSites::new(
                &self.out_dir,
                self.config.sites == Some(SitesMode::Sampled),
            ),
        };
        emit(
            &mut all,
            Event::RunStarted {
                manifest: &run.manifest,
            },
        )?;
        let planned = self.loaded.workload.job_count();
        for (index, spec) in self.loaded.workload.planned_jobs().enumerate() {
            let job = index as u64 + 1;
            if let Some(signal) = cancel.reason() {
                run.end = Some((
                    RunStatus::Interrupted,
                    format!("interrupted ({signal}) before job {job}"),
                ));
                break;
            }
            let request = super::request::job_request(job, spec, &files)?;
            if !run.job(&mut all, request, planned)? {
                break;
            }
        }
        if let Some(worker) = run.current.take() {
            let index = worker.worker_index;
            if let Some(problem) = worker.shutdown(SHUTDOWN_GRACE) {
                run.warnings.push(problem);
            }
            emit(
                &mut all,
                Event::WorkerRetired {
                    worker_index: index,
                },
            )?;
        }
        run.finish(wall.elapsed().as_secs_f64());
        emit(
            &mut all,
            Event::RunEnded {
                manifest: &run.manifest,
            },
        )?;
        Ok(RunOutcome {
            dir: run.folder_dir,
            manifest: run.manifest,
            records: run.records,
        })
    }
}

impl Run<'_> {
    /// Run one job on the current worker (starting one when needed). `false` ends the run.
    fn job(
        &mut self,
        observers: &mut [&mut dyn Observer],
        request: OutgoingJob,
        planned: u64,
    ) -> Result<bool> {
        let job = request.job.job;
        let mut worker = match self.current.take() {
            Some(worker) => worker,
            None => match self.start(observers)? {
                Some(worker) => worker,
                None => return Ok(false),
            },
        };
        emit(
            observers,
            Event::JobStarted {
                job,
                workload_job: &request.job.workload_job,
                planned,
            },
        )?;
        worker.reset_peak();
        worker.jobs_sent += 1;
        let ids = JobIds::of(&request.job);
        let waited = if worker.send_job(&request) {
            let deadline = self.config.job_timeout.map(|t| Instant::now() + t);
            worker.wait_message(deadline, self.cancel, |w| {
                // A progress tick that fails (a closed terminal) must not stop the job.
                let _ = emit(
                    observers,
                    Event::Tick {
                        rss_bytes: w.current_rss_bytes(),
                    },
                );
            })
        } else {
            Err(Stop::Died)
        };
        match waited {
            Ok(FromWorker::JobDone(done)) if done.job == job => {
                self.done(observers, worker, *done, ids)
            }
            Ok(other) => {
                let detail = match &other {
                    FromWorker::JobDone(d) => {
                        format!("job_done for job {} while job {job} ran", d.job)
                    }
                    other => format!("expected job_done, got {}", other.kind()),
                };
                self.died(observers, worker, Stop::Protocol(detail), ids, None)?;
                Ok(false)
            }
            Err(stop) => {
                let peak = worker.take_peak_bytes();
                self.died(observers, worker, stop, ids, peak)?;
                Ok(false)
            }
        }
    }

    /// Start a worker; `None` (with the run's end set) when it cannot start.
    fn start(&mut self, observers: &mut [&mut dyn Observer]) -> Result<Option<WorkerProcess>> {
        let index = self.manifest.workers_started;
        let settings = protocol::WorkerSettings {
            max_jobs: self.config.max_jobs,
            ..self.settings.clone()
        };
        match start_worker(self.config, &self.folder_dir, index, settings, self.cancel) {
            Ok((worker, baseline)) => {
                self.manifest.workers_started += 1;
                if let Some(mut b) = baseline {
                    self.sites.snapshot(&mut b, 0, worker.pid);
                    self.warnings.extend(self.sites.new_warnings());
                    self.manifest.baselines.push(b);
                }
                emit(
                    observers,
                    Event::WorkerStarted {
                        worker_index: index,
                        pid: worker.pid,
                        baseline: self.manifest.baselines.last(),
                        manifest: &self.manifest,
                    },
                )?;
                Ok(Some(worker))
            }
            Err(StartFailure { status, message }) => {
                let job = self.records.len() + 1;
                self.end = Some((status, format!("before job {job}: {message}")));
                Ok(None)
            }
        }
    }

    /// A job_done arrived: make the record, enforce the limit, retire the worker when due.
    fn done(
        &mut self,
        observers: &mut [&mut dyn Observer],
        worker: WorkerProcess,
        done: JobDone,
        ids: JobIds,
    ) -> Result<bool> {
        let mut record = record_of(&worker, done, ids);
        self.sites.record(&mut record);
        self.warnings.extend(self.sites.new_warnings());
        if self.config.snapshots {
            outside_reading(&mut record, worker.pid);
        }
        if let JobOutcome::Died { .. } = record.outcome {
            let detail = "a worker reported its own death as an outcome".to_string();
            let ids = JobIds::from_record(&record);
            self.died(
                observers,
                worker,
                Stop::Protocol(detail),
                ids,
                record.peak_rss_bytes,
            )?;
            return Ok(false);
        }
        // The sampler may not have run while a short job crossed the limit (a busy machine
        // starves its thread); the job's own readings prove the crossing, and the OOM killer
        // would have ended the job, so it ends the same way here.
        if let Some(death) = limit_crossed_by(&record, self.config.memory_limit_bytes) {
            let (index, pid) = (worker.worker_index, worker.pid);
            worker.kill();
            let reason = match &death {
                Death::MemoryLimit {
                    rss_bytes,
                    limit_bytes,
                } => memory_limit_reason(*rss_bytes, *limit_bytes),
                _ => String::new(),
            };
            record.outcome = JobOutcome::Died {
                death: death.clone(),
                reason: reason.clone(),
            };
            record.after_job = None;
            record.cache_clear = None;
            self.record_death(observers, record, &death, &reason, (index, pid))?;
            return Ok(false);
        }
        let retire = self.config.isolation == Isolation::ProcessPerJob || record.recycle_requested;
        if let Some(clear) = &record.cache_clear {
            emit(
                observers,
                Event::CacheCleared {
                    job: record.job,
                    clear,
                },
            )?;
        }
        self.push(observers, record)?;
        if retire {
            let index = worker.worker_index;
            if let Some(problem) = worker.shutdown(SHUTDOWN_GRACE) {
                self.warnings.push(problem);
            }
            emit(
                observers,
                Event::WorkerRetired {
                    worker_index: index,
                },
            )?;
        } else {
            self.current = Some(worker);
        }
        Ok(true)
    }

    /// The worker died (or was killed) in the middle of a job: record the death.
    fn died(
        &mut self,
        observers: &mut [&mut dyn Observer],
        worker: WorkerProcess,
        stop: Stop,
        ids: JobIds,
        peak_rss_bytes: Option<u64>,
    ) -> Result<()> {
        let (index, pid, jobs_sent) = (worker.worker_index, worker.pid, worker.jobs_sent);
        let (death, reason) = worker.death(stop, self.config.job_timeout);
        let job = ids.job;
        let record = JobRecord {
            schema_version: RECORD_SCHEMA_VERSION,
            job,
            worker_index: index,
            worker_pid: pid,
            worker_jobs_total: jobs_sent,
            job_id: ids.job_id,
            task_id: ids.task_id,
            workload_job: ids.workload_job,
            outcome: JobOutcome::Died {
                death: death.clone(),
                reason: reason.clone(),
            },
            duration_secs: 0.0,
            documents: Vec::new(),
            peak_rss_bytes,
            after_job: None,
            cache_clear: None,
            recycle_requested: false,
            logged_rss_bytes: None,
        };
        self.record_death(observers, record, &death, &reason, (index, pid))
    }

    /// Record a death: the job's record, the `WorkerDied` event, and the run's end.
    fn record_death(
        &mut self,
        observers: &mut [&mut dyn Observer],
        record: JobRecord,
        death: &Death,
        reason: &str,
        (index, pid): (u32, u32),
    ) -> Result<()> {
        let job = record.job;
        self.push(observers, record)?;
        emit(
            observers,
            Event::WorkerDied {
                job,
                worker_index: index,
                death,
            },
        )?;
        let status = if death.is_interruption() {
            RunStatus::Interrupted
        } else {
            RunStatus::ChildDied
        };
        self.end = Some((
            status,
            format!("worker {index} (pid {pid}) died in job {job}: {reason}"),
        ));
        Ok(())
    }

    fn push(&mut self, observers: &mut [&mut dyn Observer], record: JobRecord) -> Result<()> {
        emit(observers, Event::JobDone { record: &record })?;
        self.records.push(record);
        Ok(())
    }

    /// The manifest's end: status, message (with shutdown warnings), times.
    fn finish(&mut self, wall_time_secs: f64) {
        let (status, mut message) = match self.end.take() {
            Some((status, message)) => (status, Some(message)),
            None => (RunStatus::Completed, None),
        };
        if !self.warnings.is_empty() {
            let joined = self.warnings.join("; ");
            message = Some(match message {
                Some(m) => format!("{m}; {joined}"),
                None => joined,
            });
        }
        self.manifest.status = status;
        self.manifest.status_message = message;
        self.manifest.finished_at = Some(now_rfc3339());
        self.manifest.wall_time_secs = Some(wall_time_secs);
    }
}

/// The identifiers of a job in flight.
struct JobIds {
    job: u64,
    job_id: String,
    task_id: String,
    workload_job: String,
}

impl JobIds {
    fn of(request: &protocol::Job) -> JobIds {
        JobIds {
            job: request.job,
            job_id: request.job_id.clone(),
            task_id: request.task_id.clone(),
            workload_job: request.workload_job.clone(),
        }
    }

    fn from_record(record: &JobRecord) -> JobIds {
        JobIds {
            job: record.job,
            job_id: record.job_id.clone(),
            task_id: record.task_id.clone(),
            workload_job: record.workload_job.clone(),
        }
    }
}

/// The record of a finished job from the worker's message and the parent's own readings.
fn record_of(worker: &WorkerProcess, done: JobDone, ids: JobIds) -> JobRecord {
    JobRecord {
        schema_version: RECORD_SCHEMA_VERSION,
        job: ids.job,
        worker_index: worker.worker_index,
        worker_pid: worker.pid,
        worker_jobs_total: done.worker_jobs_total.unwrap_or(worker.jobs_sent),
        job_id: ids.job_id,
        task_id: ids.task_id,
        workload_job: ids.workload_job,
        outcome: done.outcome,
        duration_secs: done.duration_secs,
        documents: done.documents,
        peak_rss_bytes: worker.take_peak_bytes(),
        after_job: done.after_job,
        cache_clear: done.cache_clear,
        recycle_requested: done.recycle_requested,
        logged_rss_bytes: None,
    }
}

/// The memory-limit death a finished job's own readings prove (its peak or its after-job RSS
/// above the limit), when the sampler did not catch it in time.
fn limit_crossed_by(record: &JobRecord, limit_bytes: Option<u64>) -> Option<Death> {
    let limit = limit_bytes?;
    let after = record
        .after_job
        .as_ref()
        .and_then(|s| s.process.as_ref())
        .map(|p| p.rss_bytes);
    let seen = record.peak_rss_bytes.max(after)?;
    (seen > limit).then_some(Death::MemoryLimit {
        rss_bytes: seen,
        limit_bytes: limit,
    })
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
            logged_rss_bytes: None,
        }
    }

    /// Regression: on a busy machine the sampler thread can miss a short job that crossed
    /// the memory limit; the job's own peak must still end it as a memory-limit death.
    #[test]
    fn memory_limit_missed_by_the_sampler_is_caught_from_the_jobs_readings() {
        let mib = 1024 * 1024;
        let death = limit_crossed_by(&finished_job(Some(5 * mib)), Some(mib));
        assert!(
            matches!(death, Some(Death::MemoryLimit { rss_bytes, .. }) if rss_bytes == 5 * mib)
        );
        assert_eq!(
            limit_crossed_by(&finished_job(Some(5 * mib)), Some(10 * mib)),
            None
        );
        assert_eq!(limit_crossed_by(&finished_job(Some(5 * mib)), None), None);
        assert_eq!(limit_crossed_by(&finished_job(None), Some(mib)), None);
    }
}
