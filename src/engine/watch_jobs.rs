//! `watch`'s job records: the log's job boundaries (the one [`LogParser`], fed by a
//! [`LogTail`]) joined with what the watcher sampled. A job's record gets the peak RSS sampled
//! while it ran and a reading of the process taken when its `[MEMORY]` line was read; the
//! record waits a moment for the `[CACHE CLEAR]` line the worker writes right after, so the
//! clear is part of the job's record as in a replay. Without a log, each sampling interval is
//! one record (jobs are unknown; the report says so).

use std::time::{Duration, Instant};

use super::events::{emit, Event, Observer};
use crate::logs::{LogJob, LogLimits, LogParser, LogTail};
use crate::observe::watcher::TreeSampler;
use crate::record::{
    CacheClear, Death, JobOutcome, JobRecord, OutcomeKind, ProcessMemory, Snapshot, SnapshotKind,
    RECORD_SCHEMA_VERSION,
};
use crate::units::mib_to_bytes;
use crate::Result;

/// How long a closed job's record waits for its `[CACHE CLEAR]` line.
const CLEAR_WAIT: Duration = Duration::from_secs(2);

/// A record waiting for its clear.
struct Pending {
    record: JobRecord,
    since: Instant,
}

/// Turns log lines and samples into job records and events.
pub struct JobTracker {
    parser: LogParser,
    tail: Option<LogTail>,
    pid: u32,
    /// Jobs of the parser already turned into records (or skipped as history).
    taken: usize,
    clears_taken: usize,
    /// Jobs in the log before the watch started (not recorded: nothing was sampled then).
    pub history_jobs: usize,
    /// The open job's start was sent: (job number, when).
    open: Option<(u64, Instant)>,
    peak: Option<u64>,
    pending: Option<Pending>,
    /// A reading taken after the job's clear: the clear's `after_clear`.
    late_reading: Option<ProcessMemory>,
    /// The process has ended: readings now (or just before, while it was exiting and its
    /// memory being torn down) are not the state after a job.
    ended: bool,
    pub records: Vec<JobRecord>,
    interval: Duration,
}

/// The job's reading was taken after its clear ran (closer to what the worker logged after
/// the clear than to what it logged after the job): it becomes the clear's `after_clear`,
/// and the job keeps the worker's own logged RSS.
fn took_after_clear(record: &mut JobRecord, clear: &mut CacheClear) {
    let (Some(logged), Some(after)) = (record.logged_rss_bytes, clear.rss_after_bytes) else {
        return;
    };
    let Some(snapshot) = record.after_job.as_mut().filter(|s| s.process_from_parent) else {
        return;
    };
    let Some(ours) = snapshot.process.as_ref().map(|p| p.rss_bytes) else {
        return;
    };
    if ours.abs_diff(after) < ours.abs_diff(logged) {
        let reading = snapshot.process.replace(ProcessMemory {
            rss_bytes: logged,
            ..ProcessMemory::default()
        });
        snapshot.process_from_parent = false;
        if let Some(after_clear) = clear.after_clear.as_mut() {
            after_clear.process = reading;
        }
    }
}

/// The job keeps the worker's own logged RSS instead of our reading (when it has one).
fn use_logged(record: &mut JobRecord) {
    let Some(logged) = record.logged_rss_bytes else {
        return;
    };
    if let Some(s) = record.after_job.as_mut().filter(|s| s.process_from_parent) {
        s.process = Some(ProcessMemory {
            rss_bytes: logged,
            ..ProcessMemory::default()
        });
        s.process_from_parent = false;
    }
}

fn snapshot(kind: SnapshotKind, t_secs: f64, memory: Option<ProcessMemory>) -> Snapshot {
    Snapshot {
        python: None,
        raw_sites: None,
        kind,
        taken_at_secs: Some(t_secs),
        snapshot_duration_secs: None,
        process: memory,
        process_from_parent: true,
        allocator: None,
        worker: None,
        census: Vec::new(),
        sites: None,
    }
}

impl JobTracker {
    /// Follow `tail` (None: no log), skipping the jobs already in it.
    pub fn new(tail: Option<LogTail>, pid: u32, interval: Duration) -> Result<JobTracker> {
        let origin = tail
            .as_ref()
            .map_or("(no log)".to_string(), |t| t.path().display().to_string());
        let mut tracker = JobTracker {
            parser: LogParser::new(&origin, LogLimits::default()),
            tail,
            pid,
            taken: 0,
            clears_taken: 0,
            history_jobs: 0,
            open: None,
            peak: None,
            pending: None,
            late_reading: None,
            ended: false,
            records: Vec::new(),
            interval,
        };
        if let Some(tail) = tracker.tail.as_mut() {
            tail.poll(&mut tracker.parser)?;
        }
        tracker.taken = tracker.parser.parsed().jobs.len();
        tracker.clears_taken = tracker.parser.parsed().clears.len();
        tracker.history_jobs = tracker.taken;
        Ok(tracker)
    }

    pub fn has_log(&self) -> bool {
        self.tail.is_some()
    }

    pub fn tail(&self) -> Option<&LogTail> {
        self.tail.as_ref()
    }

    /// The job running now (its number), when the log says one is.
    pub fn running_job(&self) -> Option<u64> {
        self.open.map(|(job, _)| job)
    }

    /// A sample of the worker's RSS: the running job's peak.
    pub fn on_rss(&mut self, rss: u64) {
        if self.open.is_some() {
            self.peak = Some(self.peak.map_or(rss, |p| p.max(rss)));
        }
    }

    /// Without a log: each sample is one record.
    pub fn interval_record(
        &mut self,
        observers: &mut [&mut dyn Observer],
        memory: &ProcessMemory,
        t_secs: f64,
    ) -> Result<()> {
        let job = self.records.len() as u64 + 1;
        let record = JobRecord {
            schema_version: RECORD_SCHEMA_VERSION,
            job,
            worker_index: 0,
            worker_pid: self.pid,
            worker_jobs_total: job,
            job_id: String::new(),
            task_id: String::new(),
            workload_job: "interval".into(),
            outcome: JobOutcome::Success,
            duration_secs: self.interval.as_secs_f64(),
            documents: Vec::new(),
            peak_rss_bytes: Some(memory.rss_bytes),
            after_job: Some(snapshot(
                SnapshotKind::AfterJob,
                t_secs,
                Some(memory.clone()),
            )),
            cache_clear: None,
            recycle_requested: false,
            logged_rss_bytes: None,
        };
        self.send(observers, record)
    }

    /// Read the log's new lines and send what they close.
    pub fn poll(
        &mut self,
        observers: &mut [&mut dyn Observer],
        sampler: &mut TreeSampler,
        t_secs: f64,
    ) -> Result<()> {
        let Some(tail) = self.tail.as_mut() else {
            return Ok(());
        };
        tail.poll(&mut self.parser)?;
        self.take_new(observers, sampler, t_secs)
    }

    fn take_new(
        &mut self,
        observers: &mut [&mut dyn Observer],
        sampler: &mut TreeSampler,
        t_secs: f64,
    ) -> Result<()> {
        while self.taken < self.parser.parsed().jobs.len() {
            let job = self.parser.parsed().jobs[self.taken].clone();
            self.taken += 1;
            self.flush_pending(observers)?;
            self.start_open(observers, &job)?;
            // Read after the lines were parsed: when this job's [CACHE CLEAR] line is already
            // in, the reading is the state after the clear, not after the job.
            let cleared_already = self.parser.parsed().clears[self.clears_taken..]
                .iter()
                .any(|c| c.job == job.job);
            let memory = sampler.worker_now(true);
            self.close(&job, memory, t_secs, cleared_already);
            self.take_clears(observers, sampler, t_secs)?;
        }
        self.take_clears(observers, sampler, t_secs)?;
        if let Some(job) = self.parser.open_job().cloned() {
            if self.open.is_none() {
                self.flush_pending(observers)?;
                self.start_open(observers, &job)?;
            }
        }
        if self
            .pending
            .as_ref()
            .is_some_and(|p| p.since.elapsed() >= CLEAR_WAIT)
        {
            self.flush_pending(observers)?;
        }
        Ok(())
    }

    fn start_open(&mut self, observers: &mut [&mut dyn Observer], job: &LogJob) -> Result<()> {
        if self.open.is_some() {
            return Ok(());
        }
        let number = self.records.len() as u64 + 1 + u64::from(self.pending.is_some());
        self.open = Some((number, Instant::now()));
        self.peak = None;
        let kind = job.kind().unwrap_or_default();
        emit(
            observers,
            Event::JobStarted {
                job: number,
                workload_job: &kind,
                planned: 0,
            },
        )
    }

    fn close(
        &mut self,
        job: &LogJob,
        memory: Option<ProcessMemory>,
        t_secs: f64,
        cleared_already: bool,
    ) {
        let (number, started) = self.open.take().unwrap_or((0, Instant::now()));
        if let Some(rss) = memory
            .as_ref()
            .map(|m| m.rss_bytes)
            .filter(|_| !cleared_already)
        {
            self.on_rss_closed(rss);
        }
        let logged = job.rss_mb.map(mib_to_bytes);
        // Our reading when it is the state after the job; else the worker's own [MEMORY] RSS
        // (the process is gone, or the clear came first): marked as the worker's reading.
        let after_job = match (memory, logged) {
            (Some(m), _) if !cleared_already && !self.ended => {
                snapshot(SnapshotKind::AfterJob, t_secs, Some(m))
            }
            (m, Some(rss)) => {
                self.late_reading = m;
                let mut s = snapshot(
                    SnapshotKind::AfterJob,
                    t_secs,
                    Some(ProcessMemory {
                        rss_bytes: rss,
                        ..ProcessMemory::default()
                    }),
                );
                s.process_from_parent = false;
                s
            }
            (m, None) => snapshot(SnapshotKind::AfterJob, t_secs, m),
        };
        let outcome = match job.outcome {
            OutcomeKind::Success => JobOutcome::Success,
            OutcomeKind::Failed => JobOutcome::Failed {
                error: job
                    .error
                    .clone()
                    .unwrap_or_else(|| "the log says the job failed".into()),
            },
            OutcomeKind::Died => JobOutcome::Died {
                death: Death::Exited { code: None },
                reason: "the log shows a new worker start before this job's [MEMORY] line".into(),
            },
        };
        let worker_jobs_total = self
            .records
            .iter()
            .filter(|r| r.worker_index == job.worker_index)
            .count() as u64
            + 1;
        let record = JobRecord {
            schema_version: RECORD_SCHEMA_VERSION,
            job: number,
            worker_index: job.worker_index,
            worker_pid: self.pid,
            worker_jobs_total,
            job_id: job.job_id.clone().unwrap_or_default(),
            task_id: job
                .task
                .as_ref()
                .and_then(|t| t.task_id.clone())
                .unwrap_or_default(),
            workload_job: job.kind().unwrap_or_default(),
            outcome,
            duration_secs: job
                .duration_secs
                .unwrap_or_else(|| started.elapsed().as_secs_f64()),
            documents: Vec::new(),
            peak_rss_bytes: self.peak.take(),
            after_job: Some(after_job),
            cache_clear: None,
            recycle_requested: false,
            logged_rss_bytes: logged,
        };
        self.pending = Some(Pending {
            record,
            since: Instant::now(),
        });
    }

    fn on_rss_closed(&mut self, rss: u64) {
        self.peak = Some(self.peak.map_or(rss, |p| p.max(rss)));
    }

    /// `[CACHE CLEAR]` lines: the pending record's clear (or a late one, sent on its own).
    fn take_clears(
        &mut self,
        observers: &mut [&mut dyn Observer],
        sampler: &mut TreeSampler,
        t_secs: f64,
    ) -> Result<()> {
        while self.clears_taken < self.parser.parsed().clears.len() {
            let point = self.parser.parsed().clears[self.clears_taken].clone();
            self.clears_taken += 1;
            let clear = CacheClear {
                jobs_since_last_clear: 0,
                converters: 0,
                pipelines: 0,
                models: 0,
                model_bytes: None,
                rss_before_bytes: Some(mib_to_bytes(point.before_mb)),
                rss_after_bytes: Some(mib_to_bytes(point.after_mb)),
                after_clear: Some(snapshot(
                    SnapshotKind::AfterClear,
                    t_secs,
                    self.late_reading
                        .take()
                        .or_else(|| sampler.worker_now(false)),
                )),
            };
            match self.pending.as_mut() {
                Some(p) if p.record.cache_clear.is_none() => {
                    let mut clear = clear;
                    took_after_clear(&mut p.record, &mut clear);
                    p.record.cache_clear = Some(clear);
                    self.flush_pending(observers)?;
                }
                _ => {
                    let job = self.records.last().map_or(0, |r| r.job);
                    emit(observers, Event::CacheCleared { job, clear: &clear })?;
                }
            }
        }
        Ok(())
    }

    fn flush_pending(&mut self, observers: &mut [&mut dyn Observer]) -> Result<()> {
        match self.pending.take() {
            Some(p) => self.send(observers, p.record),
            None => Ok(()),
        }
    }

    fn send(&mut self, observers: &mut [&mut dyn Observer], record: JobRecord) -> Result<()> {
        emit(observers, Event::JobDone { record: &record })?;
        if let Some(clear) = record.cache_clear.as_ref() {
            emit(
                observers,
                Event::CacheCleared {
                    job: record.job,
                    clear,
                },
            )?;
        }
        self.records.push(record);
        Ok(())
    }

    /// The end of the watch: the log read to its end (a last line without `\n` too), the
    /// waiting record sent. With `death`, a job still open is recorded as died.
    pub fn finish(
        &mut self,
        observers: &mut [&mut dyn Observer],
        sampler: &mut TreeSampler,
        t_secs: f64,
        death: Option<&Death>,
        ended: bool,
    ) -> Result<()> {
        self.ended = ended;
        if ended {
            // The waiting record's reading may be of a process already exiting.
            if let Some(p) = self.pending.as_mut() {
                use_logged(&mut p.record);
            }
        }
        if let Some(tail) = self.tail.as_mut() {
            tail.finish(&mut self.parser)?;
            self.take_new(observers, sampler, t_secs)?;
        }
        self.flush_pending(observers)?;
        let (Some(death), Some(job)) = (death, self.parser.open_job().cloned()) else {
            return Ok(());
        };
        self.start_open(observers, &job)?;
        let (number, started) = self.open.take().unwrap_or((0, Instant::now()));
        let death = death.clone();
        let reason = format!("the process died during the job ({})", death.kind());
        emit(
            observers,
            Event::WorkerDied {
                job: number,
                worker_index: job.worker_index,
                death: &death,
            },
        )?;
        let record = JobRecord {
            schema_version: RECORD_SCHEMA_VERSION,
            job: number,
            worker_index: job.worker_index,
            worker_pid: self.pid,
            worker_jobs_total: number,
            job_id: job.job_id.clone().unwrap_or_default(),
            task_id: String::new(),
            workload_job: job.kind().unwrap_or_default(),
            outcome: JobOutcome::Died { death, reason },
            duration_secs: started.elapsed().as_secs_f64(),
            documents: Vec::new(),
            peak_rss_bytes: self.peak.take(),
            after_job: None,
            cache_clear: None,
            recycle_requested: false,
            logged_rss_bytes: None,
        };
        self.send(observers, record)
    }
}
