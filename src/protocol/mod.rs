//! The versioned wire contract between the replaying parent and a worker process, plain data
//! only: any program that reads and writes these JSON lines can be replayed (the Rust worker
//! core, the Python reference worker in `workers/`, the docling driver). Documented in
//! `docs/protocol.md`; JSON Schema in `fixtures/protocol.schema.json`.
//!
//! Transport: one JSON object per line. Parent -> worker on the worker's stdin:
//! [`ToWorker`] (`init`, then `job`s, then `shutdown` or end of input). Worker -> parent on the
//! worker's stdout: [`FromWorker`] (`ready`, one `job_done` per job, `fatal`). A worker must
//! keep its stdout for the protocol (a line that does not parse is kept in `worker.log` as
//! stray output); its log lines go to stderr, which the parent copies into `worker.log`.

pub mod inline;

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::record::{CacheClear, DocumentResult, JobOutcome, SitesMode, Snapshot};

/// The protocol version this build speaks. A worker answers `init` with the version it
/// speaks in `ready`; a different major version is a protocol error.
pub const PROTOCOL_VERSION: u32 = 1;

/// The worker settings, as docling-serve's environment names them (the workload's `worker`
/// section is this type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    /// `DOCLING_SERVE_JOBS_BETWEEN_CACHE_CLEAR` (0 = never).
    pub jobs_between_cache_clear: u32,
    /// `DOCLING_SERVE_OPTIONS_CACHE_SIZE`.
    pub options_cache_size: u32,
    /// `DOCLING_SERVE_RQ_MAX_JOBS` (0 = unlimited); > 0 makes replay recycle the worker.
    pub max_jobs: u32,
    /// Fraction of the real model sizes (the Rust core's synthetic models; 1.0 = real sizes).
    pub model_scale: f64,
    /// Leak scenarios to switch on (names the worker knows; see docs/protocol.md).
    pub scenarios: Vec<String>,
    /// A synthetic leak of a known size: the worker keeps this many bytes (written, so they
    /// are resident) after every job and never drops them (0 = off). For calibrating the
    /// verdict on a real worker; only the docling driver (`--worker docling`) has it.
    pub retain_bytes_per_job: u64,
    /// `DOCLING_SERVE_ARTIFACTS_PATH`: where model weights are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts_path: Option<String>,
    /// `DOCLING_SERVE_SCRATCH_PATH`: the worker's scratch folder (set by the parent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scratch_dir: Option<String>,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            jobs_between_cache_clear: 3,
            options_cache_size: 2,
            max_jobs: 0,
            model_scale: 1.0,
            scenarios: Vec::new(),
            retain_bytes_per_job: 0,
            artifacts_path: None,
            scratch_dir: None,
        }
    }
}

/// What a worker should measure in its snapshots (it measures what it can of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    /// Take baseline and after-job snapshots at all.
    pub snapshots: bool,
    /// Purge the allocator's caches in the baseline and after-job snapshots.
    pub purge: bool,
    /// Purge in the after-clear snapshots.
    pub purge_after_clear: bool,
    /// Read PSS/USS (`smaps_rollup`) in the baseline and after-job snapshots.
    pub smaps: bool,
    /// Read PSS/USS in the after-clear snapshots.
    pub smaps_after_clear: bool,
    /// Live objects by type.
    pub census: bool,
    /// Allocation sites.
    pub sites: Option<SitesMode>,
    /// The run folder: where a worker may write profiling files (`profile.jsonl`, ...).
    pub run_dir: Option<String>,
}

/// `init`: the first message to a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Init {
    pub protocol_version: u32,
    /// 0-based index of this worker process in the run.
    pub worker_index: u32,
    pub settings: WorkerSettings,
    pub measure: Measure,
}

/// A document of a job: a file the worker reads, or its bytes in base64 (as docling-serve's
/// `FileSource`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Document {
    Path { name: String, path: String },
    Base64 { name: String, base64: String },
}

impl Document {
    pub fn name(&self) -> &str {
        match self {
            Document::Path { name, .. } | Document::Base64 { name, .. } => name,
        }
    }
}

/// `job`: one task to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// 1-based position of the job in the run.
    pub job: u64,
    pub job_id: String,
    pub task_id: String,
    /// Name of the workload job it came from.
    pub workload_job: String,
    /// `convert` or `chunk`.
    pub task_type: String,
    pub documents: Vec<Document>,
    /// The conversion options as docling-serve's JSON (`ConvertDocumentsOptions`).
    pub options: serde_json::Value,
}

/// Parent -> worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToWorker {
    Init(Init),
    Job(Job),
    Shutdown,
}

/// `ready`: the worker started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ready {
    pub protocol_version: u32,
    pub pid: u32,
    /// A short name of the worker (`docling-memprof core`, `reference.py`, `docling`).
    #[serde(default)]
    pub worker: Option<String>,
    /// The allocator it runs with, when it knows (`jemalloc`, `pymalloc`, ...).
    #[serde(default)]
    pub allocator: Option<String>,
    /// Its snapshot before the first job.
    #[serde(default)]
    pub baseline: Option<Snapshot>,
}

/// `job_done`: a job ended, successfully or not (a worker that dies sends nothing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDone {
    pub job: u64,
    /// `success` or `failed` (a worker never reports its own death).
    pub outcome: JobOutcome,
    pub duration_secs: f64,
    #[serde(default)]
    pub documents: Vec<DocumentResult>,
    #[serde(default)]
    pub after_job: Option<Snapshot>,
    #[serde(default)]
    pub cache_clear: Option<CacheClear>,
    /// The worker wants to be replaced after this job (`max_jobs` reached).
    #[serde(default)]
    pub recycle_requested: bool,
    /// Jobs this worker process has run, this one included.
    #[serde(default)]
    pub worker_jobs_total: Option<u64>,
}

/// Worker -> parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromWorker {
    Ready(Box<Ready>),
    JobDone(Box<JobDone>),
    /// The worker cannot start or go on.
    Fatal {
        message: String,
    },
}

impl FromWorker {
    pub fn kind(&self) -> &'static str {
        match self {
            FromWorker::Ready(_) => "ready",
            FromWorker::JobDone(_) => "job_done",
            FromWorker::Fatal { .. } => "fatal",
        }
    }
}

/// Write one message as a JSON line and flush.
pub fn send<W: Write, T: Serialize>(out: &mut W, message: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// Parse one line into a message; the error names the JSON path of the problem.
pub fn parse<T: for<'de> Deserialize<'de>>(line: &str) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_str(line.trim_end());
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.inner().to_string()
        } else {
            format!("at {path}: {}", e.inner())
        }
    })
}

/// Does this line look like a protocol message at all (a JSON object with a `type`)? Lines
/// that do not are stray output of the worker's libraries; lines that do but fail to parse
/// are protocol errors.
pub fn looks_like_message(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('{') && t.contains("\"type\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json_lines() {
        let mut buf = Vec::new();
        send(&mut buf, &ToWorker::Shutdown).expect("writes");
        assert_eq!(String::from_utf8_lossy(&buf), "{\"type\":\"shutdown\"}\n");
        let back: ToWorker = parse(std::str::from_utf8(&buf).expect("utf8")).expect("parses");
        assert_eq!(back, ToWorker::Shutdown);
        let fatal: FromWorker = parse(r#"{"type":"fatal","message":"no models"}"#).expect("parses");
        assert_eq!(
            fatal,
            FromWorker::Fatal {
                message: "no models".into()
            }
        );
    }

    /// A job_done from a worker that measures nothing: every snapshot part is optional.
    #[test]
    fn a_minimal_job_done_parses() {
        let m: FromWorker = parse(
            r#"{"type":"job_done","job":3,"outcome":{"status":"success"},"duration_secs":0.5}"#,
        )
        .expect("parses");
        let FromWorker::JobDone(done) = m else {
            panic!("not job_done")
        };
        assert_eq!(done.job, 3);
        assert!(done.after_job.is_none() && done.cache_clear.is_none());
    }

    #[test]
    fn a_missing_field_is_named() {
        let err = parse::<FromWorker>(r#"{"type":"job_done","outcome":{"status":"success"}}"#)
            .expect_err("job is missing");
        assert!(err.contains("job"), "{err}");
    }
}
