//! `docling-memprof child`: the worker child that `replay` starts (not for direct use).
//!
//! Reads [`ToChild`] messages on stdin, runs each job through the worker core, snapshots
//! memory and answers with [`FromChild`] messages on stdout (nothing else is written there);
//! the worker's log lines go to stderr, which the parent copies to `worker.log`. The global
//! allocator was chosen from `DOCLING_MEMPROF_ALLOCATOR` when the process started.
//!
//! Test hook (hidden, for the crash tests): `DOCLING_MEMPROF_TEST_ABORT_AT_JOB=<k>` makes the
//! child abort (SIGABRT) when it receives job `k` (1-based job number of the run), before
//! running it. Never set it outside tests.

use std::io::{BufRead, Write};
use std::time::Instant;

use clap::Args;

use crate::probe::profiling::ProfilingOptions;
use crate::probe::{Prober, SnapshotKind};
use crate::runner::protocol::{self, ChildInit, FromChild, JobRequest, ToChild};
use crate::runner::{
    CacheClearRecord, DocumentRecord, JobOutcome, JobRecord, RECORD_SCHEMA_VERSION,
};
use crate::worker::loglines::LineLogger;
use crate::worker::Worker;
use crate::{Error, Result};

/// The test hook's environment variable (see the module docs).
pub const TEST_ABORT_AT_JOB_ENV: &str = "DOCLING_MEMPROF_TEST_ABORT_AT_JOB";

#[derive(Debug, Args)]
pub struct ChildArgs {}

pub fn run(_args: ChildArgs) -> Result<i32> {
    let started = Instant::now();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let io_err = |e: std::io::Error| Error::io("child protocol", e);

    let init: ChildInit = match read_message(&mut input)? {
        Some(ToChild::Init(init)) => init,
        Some(other) => {
            return Err(Error::Internal(format!(
                "child: expected init, got {other:?}"
            )))
        }
        None => return Ok(0),
    };
    // The worker's log lines (the seed's format) go to stderr -> worker.log.
    let _ = LineLogger::install_stderr(init.settings.log_prefix);

    let mut worker = match Worker::new(init.settings.clone()) {
        Ok(worker) => worker,
        Err(err) => {
            let message = err.to_string();
            protocol::send(
                &mut out,
                &FromChild::Fatal {
                    message: message.clone(),
                },
            )
            .map_err(io_err)?;
            return Err(Error::Internal(format!("worker did not start: {message}")));
        }
    };
    let profiling = crate::probe::profiling::start(ProfilingOptions {
        census: init.census,
        sites: init.sites,
        run_dir: init.run_dir.clone(),
        top_n: crate::probe::sites::DEFAULT_TOP_N,
    });
    let (census, sites) = match profiling {
        Ok(hooks) => hooks,
        Err(err) => {
            let message = err.to_string();
            protocol::send(&mut out, &FromChild::Fatal { message }).map_err(io_err)?;
            return Err(err);
        }
    };
    let prober = Prober {
        purge: init.purge,
        smaps: init.smaps,
        census,
        sites,
        ..Prober::new(started)
    };
    // A job-sized dhat profiler from the start, so the baseline has dhat stats too.
    crate::alloc::dhat::start_job_profiler();
    let baseline = init
        .snapshots
        .then(|| Box::new(prober.take(SnapshotKind::Baseline, worker.state())));
    crate::probe::profiling::after_snapshot(0, &worker, baseline.as_deref());
    let ready = FromChild::Ready {
        pid: std::process::id(),
        allocator: crate::alloc::selected().as_str().to_string(),
        baseline,
    };
    protocol::send(&mut out, &ready).map_err(io_err)?;

    let abort_at = std::env::var(TEST_ABORT_AT_JOB_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok());
    while let Some(message) = read_message(&mut input)? {
        match message {
            ToChild::Job(request) => {
                if abort_at == Some(request.job) {
                    eprintln!(
                        "{TEST_ABORT_AT_JOB_ENV}={}: aborting on purpose",
                        request.job
                    );
                    std::process::abort();
                }
                let record = run_one(&mut worker, &prober, &init, request);
                protocol::send(
                    &mut out,
                    &FromChild::JobDone {
                        record: Box::new(record),
                    },
                )
                .map_err(io_err)?;
            }
            ToChild::Shutdown => break,
            ToChild::Init(_) => return Err(Error::Internal("child: init sent twice".into())),
        }
    }
    crate::alloc::dhat::stop_profiler();
    out.flush().map_err(io_err)?;
    Ok(0)
}

/// Read the next message; `None` at end of input.
fn read_message(input: &mut impl BufRead) -> Result<Option<ToChild>> {
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

/// Run one job, snapshot after it, clear the caches when due and snapshot again.
fn run_one(
    worker: &mut Worker,
    prober: &Prober,
    init: &ChildInit,
    request: JobRequest,
) -> JobRecord {
    let JobRequest {
        job,
        job_id,
        workload_job,
        task,
    } = request;
    let task_id = task.task_id.clone();
    crate::probe::profiling::job_started(job);
    crate::alloc::dhat::start_job_profiler();
    let mut report = worker.run_job(&job_id, task);
    // Results are handed back (to the results store) and not kept by the worker: drop them
    // before the snapshot, as the real worker serialises and forgets them.
    report.results = Vec::new();
    let after_job = init
        .snapshots
        .then(|| prober.take(SnapshotKind::AfterJob, worker.state()));
    crate::probe::profiling::after_snapshot(job, worker, after_job.as_ref());
    let cache_clear = worker.clear_is_due().then(|| {
        let clear = worker.clear_caches();
        // Without snapshots the clear still gets a light one (status, allocator stats without
        // purge, no smaps): the record needs the memory after the clear.
        let after_clear = if init.snapshots {
            prober.take_with(
                SnapshotKind::AfterClear,
                worker.state(),
                init.purge_after_clear,
                init.smaps_after_clear,
            )
        } else {
            let light = Prober {
                purge: false,
                smaps: false,
                ..Prober::new(prober.started)
            };
            light.take(SnapshotKind::AfterClear, worker.state())
        };
        CacheClearRecord {
            converters: clear.converters,
            pipelines: clear.pipelines,
            model_bytes: clear.model_bytes,
            rss_before_bytes: clear.rss_before_bytes,
            rss_after_bytes: clear.rss_after_bytes,
            after_clear,
        }
    });
    let state = worker.state();
    let outcome = if report.success {
        JobOutcome::Success
    } else {
        JobOutcome::Failed {
            error: report.error.clone().unwrap_or_else(|| "task failed".into()),
        }
    };
    JobRecord {
        schema_version: RECORD_SCHEMA_VERSION,
        job,
        worker_index: init.worker_index,
        worker_pid: std::process::id(),
        worker_jobs_total: state.jobs_total,
        job_id,
        task_id,
        workload_job,
        outcome,
        duration_secs: report.duration_secs,
        documents: report
            .documents
            .into_iter()
            .map(|d| DocumentRecord {
                name: d.name,
                size_bytes: d.size_bytes,
                pages: d.pages,
                success: d.success,
                error: d.error,
                duration_secs: d.duration_secs,
            })
            .collect(),
        peak_rss_bytes: None,
        after_job,
        cache_clear,
        recycle_requested: worker.wants_recycle(),
    }
}
