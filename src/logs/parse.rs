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

use super::chunked;
use super::feed::LogParser;
use super::limits::{
    check_count, check_mb, check_signed_mb, plausible_duration, plausible_size, Implausible,
    LogError, LogLimits,
};
use super::text::{field, fields, find_tag, may_be_source, parse_mb, parse_source};
use crate::analysis::{ClearPoint, JobPoint, OutcomeKind, SourceKind, Trajectory};
use crate::bounded::{open_input, InputKinds, Line, LineReader};
use crate::worker::loglines::strip_level_prefix;

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
    /// [`crate::logs::LogLimits::keep_details`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind_at_close: Option<String>,
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

/// Why a tagged line was not taken: unreadable (counted, reported), or implausible (fatal).
pub(super) enum LineError {
    Unreadable(&'static str),
    Implausible(Implausible),
}

impl From<&'static str> for LineError {
    fn from(reason: &'static str) -> Self {
        LineError::Unreadable(reason)
    }
}

impl From<Implausible> for LineError {
    fn from(found: Implausible) -> Self {
        LineError::Implausible(found)
    }
}

pub(super) struct Builder {
    pub(super) log: ParsedLog,
    pub(super) current: Option<LogJob>,
    pub(super) worker_index: u32,
    /// Records of the closed jobs (the job, its documents and sources): with the clears and
    /// the open job, bounded by `max_records`.
    pub(super) records_closed: u64,
    /// Started at a clean boundary inside a log ([`LogParser::continued`]): lines were read
    /// before, so a `[WORKER START]` starts a new worker.
    pub(super) continued: bool,
    /// [`super::LogLimits::keep_details`].
    pub(super) keep_details: bool,
}

impl Builder {
    fn job(&mut self) -> &mut LogJob {
        let worker_index = self.worker_index;
        self.current.get_or_insert_with(|| LogJob {
            worker_index,
            outcome: OutcomeKind::Died,
            ..LogJob::default()
        })
    }

    pub(super) fn close(&mut self) {
        if let Some(mut job) = self.current.take() {
            self.records_closed += 1
                + job.documents.len() as u64
                + job.task.as_ref().map_or(0, |t| t.sources.len() as u64);
            job.job = self.log.jobs.len() as u64 + 1;
            job.kind_at_close = job.kind();
            if !self.keep_details {
                job.task = None;
                job.documents = Vec::new();
            }
            self.log.jobs.push(job);
        }
    }

    /// Records kept so far: closed jobs and clears, plus the open job's documents and sources.
    pub(super) fn count_records(&self) -> u64 {
        let open = self.current.as_ref().map_or(0, |job| {
            1 + job.documents.len() as u64 + job.task.as_ref().map_or(0, |t| t.sources.len() as u64)
        });
        self.records_closed + self.log.clears.len() as u64 + open
    }

    pub(super) fn unreadable(&mut self, line_no: u64, reason: &str, text: &str) {
        self.log.unreadable_count += 1;
        if self.log.unreadable.len() < UNREADABLE_EXAMPLES {
            self.log.unreadable.push(UnreadableLine {
                line: line_no,
                reason: reason.to_string(),
                text: text.chars().take(200).collect(),
            });
        }
    }

    /// Read one line; `Err` when a tagged line cannot be read or says something impossible.
    pub(super) fn line(&mut self, text: &str) -> Result<(), LineError> {
        // A source line first: a document name holding a tag (`[MEMORY] ...`) is a name.
        // (Only a line with a `[` before a digit or `+` can be one: `[1/2]`.)
        if let Some(source) = may_be_source(text)
            .then(|| parse_source(strip_level_prefix(text)))
            .flatten()
        {
            let source = source?;
            if let Some(task) = self.current.as_mut().and_then(|j| j.task.as_mut()) {
                task.sources.push(source);
                return Ok(());
            }
        }
        let Some((tag, body)) = find_tag(text) else {
            self.log.lines_other += 1;
            return Ok(());
        };
        match tag {
            "WORKER START" => {
                if self.continued
                    || self.log.workers_started > 0
                    || !self.log.jobs.is_empty()
                    || self.current.is_some()
                {
                    self.close();
                    self.worker_index += 1;
                }
                self.log.workers_started += 1;
                if let Some(pos) = body.find("'jobs_between_cache_clear':") {
                    let rest = &body[pos + "'jobs_between_cache_clear':".len()..];
                    let digits: String = rest
                        .trim_start()
                        .chars()
                        .take_while(|c| c.is_ascii_digit())
                        .collect();
                    if !digits.is_empty() {
                        let too_big = || {
                            (
                                "jobs_between_cache_clear",
                                digits.clone(),
                                "a count must be at most 1000000000".to_string(),
                            )
                        };
                        let n: u64 = digits.parse().map_err(|_| too_big())?;
                        self.log.jobs_between_cache_clear =
                            Some(check_count("jobs_between_cache_clear", n)?);
                    }
                }
            }
            "JOB EXEC" | "JOB START" => {
                let job_id = field(body, "job_id");
                let open_other = self.current.as_ref().is_some_and(|j| {
                    j.job_id
                        .as_deref()
                        .is_some_and(|open| job_id.is_some_and(|id| id != open))
                });
                if open_other {
                    self.close();
                }
                let job = self.job();
                if job.job_id.is_none() {
                    job.job_id = job_id.map(str::to_string);
                }
            }
            "TASK START" => {
                let [documents, task_id, task_type, total_size, pipeline, ocr, formats] = fields(
                    body,
                    [
                        "documents",
                        "task_id",
                        "type",
                        "total_size",
                        "pipeline",
                        "ocr",
                        "formats",
                    ],
                );
                let documents = match documents {
                    Some(d) => {
                        let n: u64 = d
                            .parse()
                            .map_err(|_| "TASK START: documents is not a number")?;
                        Some(check_count("documents", n)? as usize)
                    }
                    None => None,
                };
                let task = LogTask {
                    task_id: task_id.map(str::to_string),
                    task_type: task_type.map(str::to_string),
                    documents,
                    total_size_bytes: match total_size {
                        Some(t) => plausible_size("total_size", t)?,
                        None => None,
                    },
                    pipeline: pipeline.map(str::to_string),
                    ocr: ocr.map(str::to_string),
                    formats: formats.map(|f| {
                        f.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect()
                    }),
                    sources: vec![],
                };
                self.job().task = Some(Box::new(task));
            }
            "DOC OK" | "DOC ✓" | "DOC FAILED" | "DOC ✗" => {
                let (name, rest) = body.split_once(" | ").unwrap_or((body, ""));
                if name.trim().is_empty() {
                    return Err("DOC line without a document name".into());
                }
                let [size, pages, time] = fields(rest, ["size", "pages", "time"]);
                let size_bytes = match size {
                    Some(s) => Some(plausible_size("size", s)?.ok_or("DOC line: unreadable size")?),
                    None => None,
                };
                let pages = match pages {
                    Some(p) => Some(p.parse().map_err(|_| "DOC line: pages is not a number")?),
                    None => None,
                };
                let doc = LogDocument {
                    name: name.trim().to_string(),
                    ok: matches!(tag, "DOC OK" | "DOC ✓"),
                    size_bytes,
                    pages,
                    time_secs: match time {
                        Some(t) => plausible_duration("time", t)?,
                        None => None,
                    },
                };
                self.job().documents.push(doc);
            }
            "TASK SUCCESS" | "TASK FAILED" => {
                let job = self.job();
                if tag == "TASK FAILED" {
                    job.outcome = OutcomeKind::Failed;
                }
            }
            "JOB SUCCESS" | "JOB FAILED" => {
                let duration = match field(body, "duration") {
                    Some(d) => plausible_duration("duration", d)?,
                    None => None,
                };
                let job = self.job();
                job.outcome = if tag == "JOB SUCCESS" {
                    OutcomeKind::Success
                } else {
                    OutcomeKind::Failed
                };
                job.duration_secs = duration;
            }
            "JOB ERROR" => {
                let error = body.split_once("error=").map(|(_, e)| e.to_string());
                let job = self.job();
                job.outcome = OutcomeKind::Failed;
                job.error = error;
            }
            "MEMORY" => {
                let rss = field(body, "rss").ok_or("MEMORY line without rss=")?;
                let rss_mb = parse_mb(rss).ok_or("MEMORY line: rss is not a number of MB")?;
                let rss_mb = check_mb("rss", rss_mb)?;
                let job = self.job();
                job.rss_mb = Some(rss_mb);
                if job.outcome == OutcomeKind::Died {
                    job.outcome = OutcomeKind::Success;
                }
                self.close();
            }
            "CACHE CLEAR" => {
                let memory = field(body, "memory").ok_or("CACHE CLEAR line without memory=")?;
                let (after, freed) = memory
                    .split_once("(freed ")
                    .ok_or("CACHE CLEAR line without (freed N MB)")?;
                let after_mb =
                    parse_mb(after).ok_or("CACHE CLEAR: memory is not a number of MB")?;
                let after_mb = check_mb("memory", after_mb)?;
                let freed_mb = parse_mb(freed.trim().trim_end_matches(')'))
                    .ok_or("CACHE CLEAR: freed is not a number of MB")?;
                let freed_mb = check_signed_mb("freed", freed_mb)?;
                check_mb("memory + freed", after_mb + freed_mb)?;
                // The clear follows the last closed job (or the open one, if its [MEMORY] is missing).
                if self.current.is_some() {
                    self.close();
                }
                let job = self.log.jobs.last().map_or(0, |j| j.job);
                self.log.clears.push(ClearPoint {
                    job,
                    before_mb: after_mb + freed_mb,
                    after_mb,
                    freed_mb,
                    live_after_mb: None,
                    live_before_mb: None,
                    resident_after_mb: None,
                    type_counts_after: Default::default(),
                });
            }
            _ => {}
        }
        Ok(())
    }
}

impl LogJob {
    /// The job's kind for attribution: the file type of its documents (`[DOC OK]` names,
    /// else the task's source lines) with the task's pipeline, OCR engine and output formats
    /// (`[TASK START]`), e.g. `docx, standard, ocr=none, to=md`. `None` when the log says
    /// nothing of them.
    pub fn kind(&self) -> Option<String> {
        // Built in one string (a long log makes hundreds of thousands of them).
        let names = self.documents.iter().map(|d| d.name.as_str()).chain(
            self.task
                .iter()
                .flat_map(|t| t.sources.iter().map(|s| s.1.as_str())),
        );
        let mut types: Vec<&str> = names
            .filter_map(|name| name.rsplit_once('.').map(|(_, ext)| ext))
            .collect();
        let mut kind = String::new();
        if types
            .iter()
            .any(|t| t.bytes().any(|b| b.is_ascii_uppercase()))
        {
            let mut lower: Vec<String> = types.iter().map(|t| t.to_ascii_lowercase()).collect();
            lower.sort_unstable();
            lower.dedup();
            kind = lower.join("+");
        } else if !types.is_empty() {
            types.sort_unstable();
            types.dedup();
            for (i, t) in types.iter().enumerate() {
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
                part(&f.join(","), "to=");
            }
        }
        (parts > 0).then_some(kind)
    }
}

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
        kind: j.kind_at_close.clone().or_else(|| j.kind()),
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
