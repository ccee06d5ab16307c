//! A replay as a library call: `Replay::new(workload, config, out_dir).run(&mut observers,
//! &cancel) -> RunOutcome`. Materialised documents -> protocol jobs -> worker processes (one,
//! one per `max_jobs`, or one per job) of the configured [`Backend`] -> one [`JobRecord`] per
//! job, sent to every observer as it ends, with the worker's peak RSS sampled from outside,
//! the memory limit enforced, and deaths (crash, timeout, protocol error, cancellation) typed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::events::{emit, Event, Observer};
use super::folder::{FolderWriter, RunFolder};
use super::job_record::{limit_crossed_by, record_of, send, JobIds};
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
    /// The next job, built (and with sampled sites, already sent) while the previous job's
    /// record was finished.
    queued: Option<Queued>,
}

/// A job built before its turn: with sampled sites it is sent to a worker that stays as soon
/// as the previous job's `job_done` has been read, so the worker runs it while the parent
/// symbolises the previous job's snapshots (measured: BENCHMARKS.md, "Where the sampled
/// mode's cost went").
struct Queued {
    request: OutgoingJob,
    /// Whether the send succeeded, and when it happened; `None` while not sent.
    sent: Option<(bool, Instant)>,
}

/// A worker started for this job, whose `WorkerStarted` (with its baseline) is still to come.
struct Fresh(Option<crate::record::Snapshot>);

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
            queued: None,
        };
        emit(
            &mut all,
            Event::RunStarted {
                manifest: &run.manifest,
            },
        )?;
        let planned = self.loaded.workload.job_count();
        let early = run.sites.is_sampled();
        let mut specs = self.loaded.workload.planned_jobs().enumerate().peekable();
        while let Some((index, spec)) = specs.next() {
            let job = index as u64 + 1;
            let queued = run.queued.take();
            // A job already sent is waited for: its wait sees the cancellation itself.
            let sent = queued.as_ref().is_some_and(|q| q.sent.is_some());
            if let Some(signal) = cancel.reason().filter(|_| !sent) {
                run.end = Some((
                    RunStatus::Interrupted,
                    format!("interrupted ({signal}) before job {job}"),
                ));
                break;
            }
            let queued = match queued {
                Some(queued) => queued,
                None => Queued {
                    request: super::request::job_request(job, spec, &files)?,
                    sent: None,
                },
            };
            let next = match specs.peek() {
                Some(&(i, next)) if early => {
                    Some(super::request::job_request(i as u64 + 1, next, &files)?)
                }
                _ => None,
            };
            if !run.job(&mut all, queued, next, planned)? {
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
    /// `next`, when given, is sent as soon as this job's `job_done` is read (sampled sites).
    fn job(
        &mut self,
        observers: &mut [&mut dyn Observer],
        queued: Queued,
        next: Option<OutgoingJob>,
        planned: u64,
    ) -> Result<bool> {
        let Queued { request, sent } = queued;
        let job = request.job.job;
        let (mut worker, fresh) = match self.current.take() {
            Some(worker) => (worker, None),
            None => match self.start()? {
                Some((worker, fresh)) => (worker, Some(fresh)),
                None => return Ok(false),
            },
        };
        // Sent before the events: a fresh worker's baseline is symbolised while it runs.
        let (sent, sent_at) = sent.unwrap_or_else(|| send(&mut worker, &request));
        if let Some(Fresh(baseline)) = fresh {
            self.started(observers, &worker, baseline)?;
        }
        emit(
            observers,
            Event::JobStarted {
                job,
                workload_job: &request.job.workload_job,
                planned,
            },
        )?;
        let ids = JobIds::of(&request.job);
        let waited = if sent {
            let deadline = self.config.job_timeout.map(|t| sent_at + t);
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
                self.done(observers, worker, *done, ids, next)
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

    /// Start a worker; `None` (with the run's end set) when it cannot start. Its
    /// `WorkerStarted` is [`Run::started`]'s, once its first job is sent.
    fn start(&mut self) -> Result<Option<(WorkerProcess, Fresh)>> {
        let index = self.manifest.workers_started;
        let settings = protocol::WorkerSettings {
            max_jobs: self.config.max_jobs,
            ..self.settings.clone()
        };
        match start_worker(self.config, &self.folder_dir, index, settings, self.cancel) {
            Ok((worker, baseline)) => {
                self.manifest.workers_started += 1;
                Ok(Some((worker, Fresh(baseline))))
            }
            Err(StartFailure { status, message }) => {
                let job = self.records.len() + 1;
                self.end = Some((status, format!("before job {job}: {message}")));
                Ok(None)
            }
        }
    }

    /// A fresh worker's baseline (its sites symbolised) and its `WorkerStarted`.
    fn started(
        &mut self,
        observers: &mut [&mut dyn Observer],
        worker: &WorkerProcess,
        baseline: Option<crate::record::Snapshot>,
    ) -> Result<()> {
        if let Some(mut b) = baseline {
            self.sites.snapshot(&mut b, 0, worker.pid);
            self.warnings.extend(self.sites.new_warnings());
            self.manifest.baselines.push(b);
        }
        emit(
            observers,
            Event::WorkerStarted {
                worker_index: worker.worker_index,
                pid: worker.pid,
                baseline: self.manifest.baselines.last(),
                manifest: &self.manifest,
            },
        )
    }

    /// A job_done arrived: make the record, enforce the limit, send `next` to a worker that
    /// stays, symbolise the record's sites, retire the worker when due.
    fn done(
        &mut self,
        observers: &mut [&mut dyn Observer],
        mut worker: WorkerProcess,
        done: JobDone,
        ids: JobIds,
        next: Option<OutgoingJob>,
    ) -> Result<bool> {
        let mut record = record_of(&worker, done, ids);
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
        // The worker's own readings are all in (`outside_reading` above): it may start the
        // next job while its snapshots are symbolised.
        self.queued = next.map(|request| {
            let sent =
                (!retire && self.cancel.reason().is_none()).then(|| send(&mut worker, &request));
            Queued { request, sent }
        });
        self.sites.record(&mut record);
        self.warnings.extend(self.sites.new_warnings());
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
