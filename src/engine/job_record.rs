//! The replay loop's per-job pieces: a job's identifiers while it runs, sending it, its
//! record from the worker's `job_done` and the parent's readings, and the memory-limit death
//! a finished job's own readings prove.

use std::time::Instant;

use crate::backend::WorkerProcess;
use crate::protocol::inline::OutgoingJob;
use crate::protocol::{self, JobDone};
use crate::record::{Death, JobRecord, RECORD_SCHEMA_VERSION};

/// The identifiers of a job in flight.
pub(super) struct JobIds {
    pub(super) job: u64,
    pub(super) job_id: String,
    pub(super) task_id: String,
    pub(super) workload_job: String,
}

impl JobIds {
    pub(super) fn of(request: &protocol::Job) -> JobIds {
        JobIds {
            job: request.job,
            job_id: request.job_id.clone(),
            task_id: request.task_id.clone(),
            workload_job: request.workload_job.clone(),
        }
    }

    pub(super) fn from_record(record: &JobRecord) -> JobIds {
        JobIds {
            job: record.job,
            job_id: record.job_id.clone(),
            task_id: record.task_id.clone(),
            workload_job: record.workload_job.clone(),
        }
    }
}

/// Send `request` as the worker's next job (its peak RSS restarts): whether it was sent, and
/// when.
pub(super) fn send(worker: &mut WorkerProcess, request: &OutgoingJob) -> (bool, Instant) {
    worker.reset_peak();
    worker.jobs_sent += 1;
    (worker.send_job(request), Instant::now())
}

/// The record of a finished job from the worker's message and the parent's own readings.
pub(super) fn record_of(worker: &WorkerProcess, done: JobDone, ids: JobIds) -> JobRecord {
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
pub(super) fn limit_crossed_by(record: &JobRecord, limit_bytes: Option<u64>) -> Option<Death> {
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
    use crate::record::JobOutcome;

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
