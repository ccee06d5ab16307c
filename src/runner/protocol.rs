//! The parent <-> child protocol: one JSON object per line.
//!
//! Parent -> child (child's stdin): [`ToChild`]: first `init` (settings and snapshot options),
//! then one `job` per job, then `shutdown` (or end of input). Child -> parent (child's stdout):
//! [`FromChild`]: `ready` with the baseline snapshot once the worker started, `job_done` with
//! the job's [`JobRecord`] after each job, `fatal` when the worker cannot start. The child's
//! stdout carries nothing else; its stderr carries the worker's log lines (the parent copies
//! them to `worker.log`).

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::record::JobRecord;
use crate::probe::Snapshot;
use crate::worker::{Task, WorkerSettings};

/// What the child needs before its first job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildInit {
    pub settings: WorkerSettings,
    /// 0-based index of this worker process in the run.
    pub worker_index: u32,
    /// Take baseline and after-job snapshots (off for the overhead benchmark).
    pub snapshots: bool,
    /// Purge jemalloc's arenas inside the baseline and after-job snapshots.
    pub purge: bool,
    /// Purge jemalloc's arenas inside the after-clear snapshots.
    #[serde(default)]
    pub purge_after_clear: bool,
    /// Read `smaps_rollup` (PSS, USS) in the baseline and after-job snapshots.
    pub smaps: bool,
    /// Read `smaps_rollup` in the after-clear snapshots.
    #[serde(default)]
    pub smaps_after_clear: bool,
    /// Live-object census in each snapshot (on unless `--no-census`).
    #[serde(default = "census_default")]
    pub census: bool,
    /// Allocation sites in each snapshot (`--sites exact|sampled`).
    #[serde(default)]
    pub sites: Option<crate::probe::profiling::SitesMode>,
    /// The run folder, where profiling writes `profile.jsonl`, `sites.collapsed` and
    /// `dhat-heap.json`.
    #[serde(default)]
    pub run_dir: Option<std::path::PathBuf>,
}

fn census_default() -> bool {
    true
}

/// One job for the child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRequest {
    /// 1-based position of the job in the run.
    pub job: u64,
    pub job_id: String,
    /// Name of the workload job it came from.
    pub workload_job: String,
    pub task: Task,
}

/// Parent -> child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToChild {
    Init(ChildInit),
    Job(JobRequest),
    Shutdown,
}

/// Child -> parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromChild {
    /// The worker started; `baseline` is its snapshot before the first job (None without
    /// snapshots).
    Ready {
        pid: u32,
        allocator: String,
        baseline: Option<Box<Snapshot>>,
    },
    /// A job ended (successfully or not); the parent fills `peak_rss_bytes`.
    JobDone { record: Box<JobRecord> },
    /// The worker could not start or the child cannot go on.
    Fatal { message: String },
}

/// Write one message as a JSON line and flush.
pub fn send<W: Write, T: Serialize>(out: &mut W, message: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// Parse one line into a message.
pub fn parse<T: for<'de> Deserialize<'de>>(line: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(line.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json_lines() {
        let mut buf = Vec::new();
        send(&mut buf, &ToChild::Shutdown).expect("writes");
        assert_eq!(String::from_utf8_lossy(&buf), "{\"type\":\"shutdown\"}\n");
        let back: ToChild = parse(std::str::from_utf8(&buf).expect("utf8")).expect("parses");
        assert_eq!(back, ToChild::Shutdown);
        let fatal: FromChild = parse(r#"{"type":"fatal","message":"no models"}"#).expect("parses");
        assert_eq!(
            fatal,
            FromChild::Fatal {
                message: "no models".into()
            }
        );
    }
}
