//! Reading an instrumented docling-serve worker log (the formats in
//! `shared/reference/docling-serve-worker.md`) into jobs, clears and a [`Trajectory`].
//!
//! Tolerant by design: a `LEVEL:logger:` prefix (or any other prefix, like a timestamp) is
//! skipped, `[DOC OK]` / `[DOC ✓]` / `[DOC ✗]` / `[DOC FAILED]` all read, optional fields may
//! be absent, lines of other programs are skipped. A line carrying one of the worker's tags
//! whose needed fields cannot be read is counted and reported, never fatal.

use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use super::chunked;
use super::feed::LogParser;
use super::limits::{LogError, LogLimits};
use crate::analysis::{ClearPoint, JobPoint, OutcomeKind, SourceKind, Trajectory};
use crate::bounded::{open_input, InputKinds, Line, LineReader};

/// How many unreadable lines are kept as examples.
pub const UNREADABLE_EXAMPLES: usize = 20;

/// The task of a job, from `[TASK START]` and its source lines.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogTask {
    pub task_id: Option<String>,
    pub task_type: Option<String>,
    pub documents: Option<usize>,
    pub total_size_bytes: Option<u64>,
    pub pipeline: Option<String>,
    pub ocr: Option<String>,
    pub formats: Option<Vec<String>>,
    /// `  [1/1] file: report.pdf (442.9 KB)`: (kind, name, size).
    pub sources: Vec<(String, String, Option<u64>)>,
}

/// A `[DOC ...]` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogDocument {
    pub name: String,
    pub ok: bool,
    pub size_bytes: Option<u64>,
    pub pages: Option<u32>,
    pub time_secs: Option<f64>,
}

/// One job of the log, closed by its `[MEMORY]` line (or by a worker restart).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogJob {
    /// 1-based position in the log.
    pub job: u64,
    pub worker_index: u32,
    pub job_id: Option<String>,
    /// Boxed: most of a job's size, and a long log holds hundreds of thousands of jobs.
    pub task: Option<Box<LogTask>>,
    pub documents: Vec<LogDocument>,
    /// `died`: no `[MEMORY]` line before the worker restarted or the log ended.
    pub outcome: OutcomeKind,
    pub duration_secs: Option<f64>,
    pub rss_mb: Option<f64>,
    pub error: Option<String>,
    /// [`LogJob::kind`], as the job was when it closed (its task and documents may be gone:
    /// [`crate::logs::LogLimits::keep_details`]); one allocation shared by the jobs of a kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind_at_close: Option<Arc<str>>,
}

/// A line that carried a worker tag but could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnreadableLine {
    /// 1-based line number.
    pub line: u64,
    pub reason: String,
    /// The line, cut to 200 characters.
    pub text: String,
}

/// A parsed log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedLog {
    pub origin: String,
    pub jobs: Vec<LogJob>,
    pub clears: Vec<ClearPoint>,
    pub workers_started: u32,
    /// From `[WORKER START] ... config={'jobs_between_cache_clear': N, ...}`.
    pub jobs_between_cache_clear: Option<u64>,
    pub lines_total: u64,
    /// Lines without a worker tag (other loggers, tracebacks, blank lines).
    pub lines_other: u64,
    pub unreadable_count: u64,
    /// The first [`UNREADABLE_EXAMPLES`] unreadable lines.
    pub unreadable: Vec<UnreadableLine>,
}

impl LogJob {
    /// The job's kind for attribution: the file type of its documents (`[DOC OK]` names,
    /// else the task's source lines) with the task's pipeline, OCR engine and output formats
    /// (`[TASK START]`), e.g. `docx, standard, ocr=none, to=md`. `None` when the log says
    /// nothing of them.
    pub fn kind(&self) -> Option<String> {
        let mut kind = String::new();
        self.kind_into(&mut kind).then_some(kind)
    }

    /// [`LogJob::kind`] written into `kind` (cleared first); `false` when the job has none.
    /// Allocates nothing for a job of at most [`FEW_TYPES`] documents and sources (a long log
    /// makes hundreds of thousands of kinds).
    pub fn kind_into(&self, kind: &mut String) -> bool {
        kind.clear();
        let names = self.documents.iter().map(|d| d.name.as_str()).chain(
            self.task
                .iter()
                .flat_map(|t| t.sources.iter().map(|s| s.1.as_str())),
        );
        let mut few = [""; FEW_TYPES];
        let mut count = 0usize;
        let mut many: Vec<&str> = Vec::new();
        for ext in names.filter_map(|name| name.rsplit_once('.').map(|(_, ext)| ext)) {
            if count < FEW_TYPES {
                few[count] = ext;
            } else {
                if many.is_empty() {
                    many.extend_from_slice(&few);
                }
                many.push(ext);
            }
            count += 1;
        }
        let types: &mut [&str] = if many.is_empty() {
            &mut few[..count]
        } else {
            &mut many
        };
        if types
            .iter()
            .any(|t| t.bytes().any(|b| b.is_ascii_uppercase()))
        {
            let mut lower: Vec<String> = types.iter().map(|t| t.to_ascii_lowercase()).collect();
            lower.sort_unstable();
            lower.dedup();
            kind.push_str(&lower.join("+"));
        } else {
            types.sort_unstable();
            for (i, t) in types.iter().enumerate() {
                if i > 0 && types[i - 1] == *t {
                    continue;
                }
                if i > 0 {
                    kind.push('+');
                }
                kind.push_str(t);
            }
        }
        let mut parts = usize::from(!types.is_empty());
        let mut part = |text: &str, prefix: &str| {
            if parts > 0 {
                kind.push_str(", ");
            }
            parts += 1;
            kind.push_str(prefix);
            kind.push_str(text);
        };
        if let Some(task) = &self.task {
            if let Some(p) = &task.pipeline {
                part(p, "");
            }
            if let Some(o) = &task.ocr {
                part(o, "ocr=");
            }
            if let Some(f) = &task.formats {
                part("", "to=");
                for (i, format) in f.iter().enumerate() {
                    if i > 0 {
                        kind.push(',');
                    }
                    kind.push_str(format);
                }
            }
        }
        parts > 0
    }
}

/// Document types of a job that [`LogJob::kind_into`] sorts without allocating.
const FEW_TYPES: usize = 8;

/// Parse a log from a reader with the default [`LogLimits`]; `origin` names it in errors.
pub fn parse_reader(reader: impl BufRead, origin: &str) -> Result<ParsedLog, LogError> {
    parse_reader_with(reader, origin, &LogLimits::default())
}

/// Parse a log from a reader. Lines that cannot be read are counted and reported; a number
/// that reads but cannot be true, a read error or a passed bound is an error naming the line.
pub fn parse_reader_with(
    reader: impl BufRead,
    origin: &str,
    limits: &LogLimits,
) -> Result<ParsedLog, LogError> {
    let lines = LineReader::new(
        reader,
        Path::new(origin),
        limits.max_line_bytes,
        limits.max_total_bytes,
        "max_total_bytes of a log",
    );
    read_lines(lines, origin, limits)
}

/// Parse a log file with the default [`LogLimits`].
pub fn parse_file(path: &Path) -> crate::Result<ParsedLog> {
    parse_file_with(path, &LogLimits::default())
}

/// Parse a log file: a regular file or a pipe (`<(kubectl logs ...)`), never a directory or a
/// device; read within `limits`.
pub fn parse_file_with(path: &Path, limits: &LogLimits) -> crate::Result<ParsedLog> {
    let origin = path.display().to_string();
    let file = open_input(path, InputKinds::RegularOrPipe).map_err(LogError::from)?;
    // A long regular file: one parser per core over its chunks, when they stitch cleanly.
    if let Some(len) = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
    {
        let chunks = chunked::chunks_for(len, limits);
        if chunks > 1 {
            if let Some(log) = chunked::parse_chunked(&file, path, &origin, len, chunks, limits) {
                return Ok(log);
            }
        }
    }
    // `read_at` above never moved the file's position: this reads from the start.
    let lines = LineReader::new(
        BufReader::with_capacity(64 * 1024, file),
        path,
        limits.max_line_bytes,
        limits.max_total_bytes,
        "max_total_bytes of a log",
    );
    Ok(read_lines(lines, &origin, limits)?)
}

fn read_lines<R: BufRead>(
    mut lines: LineReader<R>,
    origin: &str,
    limits: &LogLimits,
) -> Result<ParsedLog, LogError> {
    let mut parser = LogParser::new(origin, limits.clone());
    let mut line = Line::default();
    while lines.read_line_into(&mut line)? {
        parser.feed(&line)?;
    }
    Ok(parser.finish())
}

impl ParsedLog {
    /// The trajectory: one point per job (RSS from `[MEMORY]`), clears from `[CACHE CLEAR]`.
    pub fn trajectory(&self, memory_limit_mb: Option<f64>) -> Trajectory {
        let points = job_points(&self.jobs);
        Trajectory {
            source: SourceKind::Log,
            origin: self.origin.clone(),
            baseline_rss_mb: None,
            baseline_live_mb: None,
            points,
            clears: self.clears.clone(),
            memory_limit_mb,
            unreadable_lines: self.unreadable_count,
        }
    }
}

/// Below this many jobs the points are made on one thread.
const PARALLEL_MIN_JOBS: usize = 50_000;

/// The trajectory's points of `jobs`, in order; a long log's on every core (each point is
/// made from its job alone).
fn job_points(jobs: &[LogJob]) -> Vec<JobPoint> {
    let point = |j: &LogJob| JobPoint {
        job: j.job,
        worker_index: j.worker_index,
        outcome: j.outcome,
        duration_secs: j.duration_secs,
        rss_mb: j.rss_mb,
        kind: j.kind_at_close.clone().or_else(|| j.kind().map(Arc::from)),
        ..JobPoint::default()
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if jobs.len() < PARALLEL_MIN_JOBS || cores < 2 {
        return jobs.iter().map(point).collect();
    }
    let mut parts = jobs.chunks(jobs.len().div_ceil(cores));
    let mine = parts.next().unwrap_or_default();
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .map(|part| scope.spawn(move || part.iter().map(point).collect::<Vec<_>>()))
            .collect();
        let mut points = Vec::with_capacity(jobs.len());
        points.extend(mine.iter().map(point));
        for handle in handles {
            // A point that panicked (a bug) panics here, as it would on one thread.
            points.extend(
                handle
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            );
        }
        points
    })
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "parse_hostile_tests.rs"]
mod hostile_tests;
