//! Starting one worker process of a run (`init` -> `ready` with its baseline) and the
//! parent's own readings of it from `/proc/<pid>` for what the worker did not report.

use std::path::Path;
use std::time::Instant;

use super::folder::WORKER_LOG;
use super::replay::{ReplayConfig, STARTUP_TIMEOUT};
use crate::backend::{Stop, WorkerProcess};
use crate::cancel::Cancel;
use crate::observe::procfs;
use crate::protocol::{self, FromWorker, Init, Measure, ToWorker, PROTOCOL_VERSION};
use crate::record::{
    AllocatorKind, JobRecord, PurgeMode, RunStatus, SitesMode, Snapshot, SnapshotDetail,
};

/// Why a worker did not start.
#[derive(Debug, Clone)]
pub(crate) struct StartFailure {
    pub status: RunStatus,
    pub message: String,
}

fn failure(status: RunStatus, message: String) -> StartFailure {
    StartFailure { status, message }
}

/// What the worker should measure, from the run's choices.
fn measure(config: &ReplayConfig, dir: &Path) -> Measure {
    let jemalloc = config.backend.allocator() == Some(AllocatorKind::Jemalloc)
        || config.backend.allocator().is_none();
    Measure {
        snapshots: config.snapshots,
        purge: config.snapshots && jemalloc && config.purge == PurgeMode::Every,
        purge_after_clear: config.snapshots && jemalloc && config.purge != PurgeMode::Never,
        smaps: config.snapshots && config.smaps == SnapshotDetail::Every,
        smaps_after_clear: config.snapshots && config.smaps != SnapshotDetail::Never,
        census: config.census,
        sites: config.sites,
        run_dir: Some(dir.display().to_string()),
    }
}

/// Start a worker and wait for its `ready` (with the baseline snapshot).
pub(crate) fn start_worker(
    config: &ReplayConfig,
    dir: &Path,
    worker_index: u32,
    settings: protocol::WorkerSettings,
    cancel: &Cancel,
) -> Result<(WorkerProcess, Option<Snapshot>), StartFailure> {
    let mut spec = config.backend.spawn_spec(
        dir.join(WORKER_LOG),
        config.sample_interval,
        config.memory_limit_bytes,
    );
    if config.sites == Some(SitesMode::Jemalloc) {
        // jemalloc reads its options at the child's first allocation: they go in its
        // environment (checked by the CLI already; a failure here is a start failure).
        let env = crate::alloc::jemalloc_prof::child_env()
            .map_err(|e| failure(RunStatus::ChildDied, e.to_string()))?;
        spec.env.push(env);
    }
    let mut worker = WorkerProcess::spawn(&spec, worker_index)
        .map_err(|e| failure(RunStatus::ChildDied, e.to_string()))?;
    let init = Init {
        protocol_version: PROTOCOL_VERSION,
        worker_index,
        settings,
        measure: measure(config, dir),
    };
    if !worker.send(&ToWorker::Init(init)) {
        let (_, reason) = worker.death(Stop::Died, None);
        return Err(failure(
            RunStatus::ChildDied,
            format!("worker {worker_index} did not start: {reason}"),
        ));
    }
    let deadline = Some(Instant::now() + STARTUP_TIMEOUT);
    match worker.wait_message(deadline, cancel, |_| {}) {
        Ok(FromWorker::Ready(ready)) if ready.protocol_version == PROTOCOL_VERSION => {
            let mut baseline = ready.baseline;
            if let Some(b) = baseline.as_mut() {
                fill_process(b, worker.pid);
            }
            Ok((worker, baseline))
        }
        Ok(FromWorker::Ready(ready)) => {
            worker.kill();
            Err(failure(
                RunStatus::ChildDied,
                format!(
                    "worker {worker_index} speaks protocol version {}, this docling-memprof speaks {PROTOCOL_VERSION}",
                    ready.protocol_version
                ),
            ))
        }
        Ok(FromWorker::Fatal { message }) => {
            let _ = worker.death(Stop::Died, None);
            Err(failure(
                RunStatus::ChildDied,
                format!("worker {worker_index} did not start: {message}"),
            ))
        }
        Ok(other) => {
            worker.kill();
            Err(failure(
                RunStatus::ChildDied,
                format!(
                    "worker {worker_index}: expected ready, got {}",
                    other.kind()
                ),
            ))
        }
        Err(stop) => {
            let status = match stop {
                Stop::Interrupted(_) => RunStatus::Interrupted,
                _ => RunStatus::ChildDied,
            };
            let (_, reason) = worker.death(stop, Some(STARTUP_TIMEOUT));
            Err(failure(
                status,
                format!("worker {worker_index} did not start: {reason}"),
            ))
        }
    }
}

/// Fill a snapshot's process memory from `/proc/<pid>` when the worker did not report it.
fn fill_process(snapshot: &mut Snapshot, pid: u32) {
    if snapshot.process.is_none() {
        if let Ok(process) = procfs::read(procfs::Target::Pid(pid), false) {
            snapshot.process = Some(process);
            snapshot.process_from_parent = true;
        }
    }
}

/// The parent's own reading of the worker right after `job_done` (the worker is idle then):
/// it fills the process memory of the last snapshot of the job that lacks it (the after-clear
/// one when the job ended with a clear, else the after-job one, created when absent).
pub(crate) fn outside_reading(record: &mut JobRecord, pid: u32) {
    if let Some(clear) = record.cache_clear.as_mut() {
        let snapshot = clear
            .after_clear
            .get_or_insert_with(|| empty_snapshot(crate::record::SnapshotKind::AfterClear));
        fill_process(snapshot, pid);
        return;
    }
    let snapshot = record
        .after_job
        .get_or_insert_with(|| empty_snapshot(crate::record::SnapshotKind::AfterJob));
    fill_process(snapshot, pid);
}

fn empty_snapshot(kind: crate::record::SnapshotKind) -> Snapshot {
    Snapshot {
        kind,
        taken_at_secs: None,
        snapshot_duration_secs: None,
        process: None,
        process_from_parent: false,
        allocator: None,
        worker: None,
        census: Vec::new(),
        sites: None,
        python: None,
        raw_sites: None,
    }
}
