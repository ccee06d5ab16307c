//! What a run tells its observers, as it happens: typed events, never text to parse.
//!
//! The engine sends every event to every [`Observer`] in order. The `jobs.jsonl` / `run.json`
//! writer ([`super::folder::FolderWriter`]) and the progress bar ([`super::progress::Progress`])
//! are observers; a metrics exporter or a live view is one more. An observer that fails
//! (a full disk under `jobs.jsonl`) stops the run with its error: the records already written
//! stay.

use crate::record::{CacheClear, Death, JobRecord, RunManifest, Sample, Snapshot};

/// One thing that happened in a run.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// The run started: its manifest as first written.
    RunStarted { manifest: &'a RunManifest },
    /// A worker process is ready (its baseline snapshot when it took one).
    WorkerStarted {
        worker_index: u32,
        pid: u32,
        baseline: Option<&'a Snapshot>,
        manifest: &'a RunManifest,
    },
    /// A job was sent to a worker.
    JobStarted {
        job: u64,
        workload_job: &'a str,
        planned: u64,
    },
    /// Between messages, while a job runs: the worker's latest sampled RSS.
    Tick { rss_bytes: Option<u64> },
    /// `watch` sampled the process tree (a line of `samples.jsonl`).
    Sampled { sample: &'a Sample },
    /// A job ended (its record is final; a death is a record too).
    JobDone { record: &'a JobRecord },
    /// The worker cleared its caches after a job.
    CacheCleared { job: u64, clear: &'a CacheClear },
    /// A worker process died in the middle of a job.
    WorkerDied {
        job: u64,
        worker_index: u32,
        death: &'a Death,
    },
    /// A worker process was retired (recycled, process per job, or the end of the run).
    WorkerRetired { worker_index: u32 },
    /// The run ended; the manifest holds how.
    RunEnded { manifest: &'a RunManifest },
}

/// Something that consumes a run's events.
pub trait Observer {
    fn on_event(&mut self, event: &Event<'_>) -> crate::Result<()>;
}

/// Send one event to every observer; the first error stops the sending.
pub fn emit(observers: &mut [&mut dyn Observer], event: Event<'_>) -> crate::Result<()> {
    for observer in observers.iter_mut() {
        observer.on_event(&event)?;
    }
    Ok(())
}

/// An observer that keeps every event's kind, for tests and for library users who want a log.
#[derive(Debug, Default)]
pub struct EventLog {
    pub kinds: Vec<&'static str>,
}

impl Observer for EventLog {
    fn on_event(&mut self, event: &Event<'_>) -> crate::Result<()> {
        let kind = match event {
            Event::RunStarted { .. } => "run_started",
            Event::WorkerStarted { .. } => "worker_started",
            Event::JobStarted { .. } => "job_started",
            Event::Tick { .. } | Event::Sampled { .. } => return Ok(()),
            Event::JobDone { .. } => "job_done",
            Event::CacheCleared { .. } => "cache_cleared",
            Event::WorkerDied { .. } => "worker_died",
            Event::WorkerRetired { .. } => "worker_retired",
            Event::RunEnded { .. } => "run_ended",
        };
        self.kinds.push(kind);
        Ok(())
    }
}
