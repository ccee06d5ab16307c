//! The Rust worker core's side of the protocol: `docling-memprof child` (started by the core
//! backend, not for direct use).
//!
//! Reads [`ToWorker`] messages on stdin, runs each job through the worker core, snapshots
//! memory and answers with [`FromWorker`] messages on stdout (nothing else is written there);
//! the worker's log lines go to stderr, which the parent copies to `worker.log`. The global
//! allocator was chosen from `DOCLING_MEMPROF_ALLOCATOR` when the process started.
//!
//! Test hook (hidden, for the crash tests): `DOCLING_MEMPROF_TEST_ABORT_AT_JOB=<k>` makes the
//! child abort (SIGABRT) when it receives job `k` (1-based job number of the run), before
//! running it. Never set it outside tests.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

use crate::census::owners::OwnerNode;
use crate::probe::profiling::{Profiler, ProfilingOptions};
use crate::probe::Prober;
use crate::protocol::{self, FromWorker, Init, JobDone, Ready, ToWorker, PROTOCOL_VERSION};
use crate::record::{JobOutcome, SnapshotKind};
use crate::worker::loglines::LineLogger;
use crate::worker::{LeakScenario, Source, Task, TaskType, Worker, WorkerSettings};
use crate::{Error, Result};

/// The test hook's environment variable (see the module docs).
pub const TEST_ABORT_AT_JOB_ENV: &str = "DOCLING_MEMPROF_TEST_ABORT_AT_JOB";

/// The worker core's settings from the protocol's.
pub fn core_settings(settings: &protocol::WorkerSettings) -> Result<WorkerSettings> {
    let mut scenarios = Vec::new();
    for name in &settings.scenarios {
        let scenario = LeakScenario::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = LeakScenario::ALL.iter().map(|s| s.as_str()).collect();
            Error::Usage(format!(
                "unknown leak scenario `{name}` (the worker core knows: {})",
                known.join(", ")
            ))
        })?;
        if !scenarios.contains(&scenario) {
            scenarios.push(scenario);
        }
    }
    if settings.retain_bytes_per_job > 0 {
        return Err(Error::Usage(format!(
            "worker.retain_bytes_per_job = {}: only the docling driver (--worker docling) has \
             this synthetic leak; the worker core's leaks are its scenarios",
            settings.retain_bytes_per_job
        )));
    }
    let defaults = WorkerSettings::default();
    let core = WorkerSettings {
        jobs_between_cache_clear: settings.jobs_between_cache_clear,
        options_cache_size: settings.options_cache_size as usize,
        max_jobs: settings.max_jobs,
        model_scale: settings.model_scale,
        artifacts_path: settings.artifacts_path.as_ref().map(PathBuf::from),
        scratch_dir: settings
            .scratch_dir
            .as_ref()
            .map_or(defaults.scratch_dir.clone(), PathBuf::from),
        scenarios,
        ..defaults
    };
    core.validate()
        .map_err(|e| Error::Usage(format!("worker settings: {e}")))?;
    Ok(core)
}

/// The worker core's task from a protocol job.
pub fn core_task(job: &protocol::Job) -> Result<Task> {
    let sources = job
        .documents
        .iter()
        .map(|d| match d {
            protocol::Document::Path { path, .. } => Source::File {
                path: PathBuf::from(path),
            },
            protocol::Document::Base64 { name, base64 } => Source::Base64 {
                filename: name.clone(),
                base64_string: base64.clone(),
            },
        })
        .collect();
    let options = serde_json::from_value(job.options.clone())
        .map_err(|e| Error::Usage(format!("job {}: options: {e}", job.job)))?;
    let task_type = match job.task_type.as_str() {
        "chunk" => TaskType::Chunk,
        _ => TaskType::Convert,
    };
    Ok(Task {
        task_id: job.task_id.clone(),
        task_type,
        sources,
        options,
    })
}

/// The worker process started as a child: the whole conversation until shutdown.
pub fn run() -> Result<i32> {
    let started = Instant::now();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let io_err = |e: std::io::Error| Error::io("child protocol", e);

    let init: Init = match read_message(&mut input)? {
        Some(ToWorker::Init(init)) => init,
        Some(other) => {
            return Err(Error::Internal(format!(
                "child: expected init, got {other:?}"
            )))
        }
        None => return Ok(0),
    };
    let fatal = |out: &mut std::io::StdoutLock<'_>, message: String| -> Result<i32> {
        protocol::send(
            out,
            &FromWorker::Fatal {
                message: message.clone(),
            },
        )
        .map_err(io_err)?;
        Err(Error::Internal(format!("worker did not start: {message}")))
    };
    let settings = match core_settings(&init.settings) {
        Ok(settings) => settings,
        Err(e) => return fatal(&mut out, e.to_string()),
    };
    // The worker's log lines (the seed's format) go to stderr -> worker.log.
    let _ = LineLogger::install_stderr(settings.log_prefix);
    let mut worker = match Worker::new(settings) {
        Ok(worker) => worker,
        Err(err) => return fatal(&mut out, err.to_string()),
    };
    let started_profiling = Profiler::start(ProfilingOptions {
        census: init.measure.census,
        sites: init.measure.sites,
        run_dir: init.measure.run_dir.as_ref().map(PathBuf::from),
        top_n: crate::alloc::sites::DEFAULT_TOP_N,
    });
    let (profiler, census, sites) = match started_profiling {
        Ok(parts) => parts,
        Err(err) => return fatal(&mut out, err.to_string()),
    };
    let prober = Prober {
        purge: init.measure.purge,
        smaps: init.measure.smaps,
        census,
        sites,
        ..Prober::new(started)
    };
    let mut core = Core {
        worker: &mut worker,
        prober: &prober,
        profiler: &profiler,
        init: &init,
    };
    core.serve(&mut input, &mut out)
}

/// The worker core with its prober and profiler, serving the protocol.
struct Core<'a> {
    worker: &'a mut Worker,
    prober: &'a Prober,
    profiler: &'a Profiler,
    init: &'a Init,
}

impl Core<'_> {
    fn serve(&mut self, input: &mut impl BufRead, out: &mut impl Write) -> Result<i32> {
        let io_err = |e: std::io::Error| Error::io("child protocol", e);
        // A job-sized dhat profiler from the start, so the baseline has dhat stats too.
        crate::alloc::dhat::start_job_profiler();
        let baseline = self.init.measure.snapshots.then(|| {
            self.prober
                .take(SnapshotKind::Baseline, self.worker.state())
        });
        self.profiler
            .after_snapshot(0, self.owners(), baseline.as_ref());
        let ready = FromWorker::Ready(Box::new(Ready {
            protocol_version: PROTOCOL_VERSION,
            pid: std::process::id(),
            worker: Some("docling-memprof core".into()),
            allocator: Some(crate::alloc::selected().as_str().to_string()),
            baseline,
        }));
        protocol::send(out, &ready).map_err(io_err)?;

        let abort_at = std::env::var(TEST_ABORT_AT_JOB_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok());
        while let Some(message) = read_message(input)? {
            match message {
                ToWorker::Job(job) => {
                    if abort_at == Some(job.job) {
                        eprintln!("{TEST_ABORT_AT_JOB_ENV}={}: aborting on purpose", job.job);
                        std::process::abort();
                    }
                    let done = self.run_one(&job);
                    protocol::send(out, &FromWorker::JobDone(Box::new(done))).map_err(io_err)?;
                }
                ToWorker::Shutdown => break,
                ToWorker::Init(_) => return Err(Error::Internal("child: init sent twice".into())),
            }
        }
        crate::alloc::dhat::stop_profiler();
        out.flush().map_err(io_err)?;
        Ok(0)
    }

    fn owners(&self) -> Option<OwnerNode> {
        self.profiler
            .wants_owners()
            .then(|| crate::worker::owners::owner_tree(self.worker))
    }

    /// Run one job, snapshot after it, clear the caches when due and snapshot again.
    fn run_one(&mut self, job: &protocol::Job) -> JobDone {
        let number = job.job;
        self.profiler.job_started(number);
        crate::alloc::dhat::start_job_profiler();
        let (mut report, duration_secs) = match core_task(job) {
            Ok(task) => {
                let report = self.worker.run_job(&job.job_id, task);
                let secs = report.duration_secs;
                (Ok(report), secs)
            }
            Err(e) => (Err(e.to_string()), 0.0),
        };
        // Results are handed back (to the results store) and not kept by the worker: drop them
        // before the snapshot, as the real worker serialises and forgets them.
        if let Ok(r) = report.as_mut() {
            r.results = Vec::new();
        }
        let measure = &self.init.measure;
        let after_job = measure.snapshots.then(|| {
            self.prober
                .take(SnapshotKind::AfterJob, self.worker.state())
        });
        self.profiler
            .after_snapshot(number, self.owners(), after_job.as_ref());
        let cache_clear = self.worker.clear_is_due().then(|| {
            let mut clear = self.worker.clear_caches();
            // Without snapshots the clear still gets a light one (status, allocator stats
            // without purge, no smaps): the record needs the memory after the clear.
            let (purge, smaps) = if measure.snapshots {
                (measure.purge_after_clear, measure.smaps_after_clear)
            } else {
                (false, false)
            };
            clear.after_clear = Some(self.prober.take_with(
                SnapshotKind::AfterClear,
                self.worker.state(),
                purge,
                smaps,
            ));
            clear
        });
        let (outcome, documents) = match report {
            Ok(r) if r.success => (JobOutcome::Success, r.documents),
            Ok(r) => (
                JobOutcome::Failed {
                    error: r.error.clone().unwrap_or_else(|| "task failed".into()),
                },
                r.documents,
            ),
            Err(error) => (JobOutcome::Failed { error }, Vec::new()),
        };
        JobDone {
            job: number,
            outcome,
            duration_secs,
            documents,
            after_job,
            cache_clear,
            recycle_requested: self.worker.wants_recycle(),
            worker_jobs_total: Some(self.worker.state().jobs_total),
        }
    }
}

/// Read the next message; `None` at end of input.
fn read_message(input: &mut impl BufRead) -> Result<Option<ToWorker>> {
    let mut line = String::new();
    loop {
        line.clear();
        let n = input
            .read_line(&mut line)
            .map_err(|e| Error::io("child: reading stdin", e))?;
        if n == 0 {
            return Ok(None);
        }
        if line.trim().is_empty() {
            continue;
        }
        return protocol::parse(&line)
            .map(Some)
            .map_err(|e| Error::Internal(format!("child: bad message from the parent: {e}")));
    }
}
