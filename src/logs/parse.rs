//! Reading an instrumented docling-serve worker log (the formats in
//! `shared/reference/docling-serve-worker.md`) into jobs, clears and a [`Trajectory`].
//!
//! Tolerant by design: a `LEVEL:logger:` prefix (or any other prefix, like a timestamp) is
//! skipped, `[DOC OK]` / `[DOC ✓]` / `[DOC ✗]` / `[DOC FAILED]` all read, optional fields may
//! be absent, lines of other programs are skipped. A line carrying one of the worker's tags
//! whose needed fields cannot be read is counted and reported, never fatal.

use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::analysis::{ClearPoint, JobPoint, SourceKind, Trajectory};
use crate::units::{parse_logged_duration, parse_logged_size};
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
    pub task: Option<LogTask>,
    pub documents: Vec<LogDocument>,
    /// `success`, `failed` or `died` (no `[MEMORY]` line before the worker restarted or the log ended).
    pub outcome: String,
    pub duration_secs: Option<f64>,
    pub rss_mb: Option<f64>,
    pub error: Option<String>,
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

const TAGS: &[&str] = &[
    "WORKER START",
    "JOB EXEC",
    "JOB START",
    "TASK START",
    "DOC OK",
    "DOC ✓",
    "DOC FAILED",
    "DOC ✗",
    "TASK SUCCESS",
    "TASK FAILED",
    "JOB SUCCESS",
    "JOB FAILED",
    "JOB ERROR",
    "MEMORY",
    "CACHE CLEAR",
];

/// Find the worker tag of a line and the text after it.
fn find_tag(line: &str) -> Option<(&'static str, &str)> {
    let mut best: Option<(usize, &'static str)> = None;
    for tag in TAGS {
        let needle = format!("[{tag}]");
        if let Some(pos) = line.find(&needle) {
            if best.is_none_or(|(p, _)| pos < p) {
                best = Some((pos, tag));
            }
        }
    }
    let (pos, tag) = best?;
    Some((tag, line[pos + tag.len() + 2..].trim()))
}

/// `key=value` fields separated by ` | `.
fn field<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    body.split(" | ").find_map(|part| {
        let (k, v) = part.split_once('=')?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// `1115MB`, `1115 MB`, `1115.5MB` -> MiB.
fn parse_mb(text: &str) -> Option<f64> {
    let number = text.trim().strip_suffix("MB")?.trim();
    number.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `  [1/2] file: report.pdf (442.9 KB)`
fn parse_source(message: &str) -> Option<(String, String, Option<u64>)> {
    let rest = message.trim_start().strip_prefix('[')?;
    let (counts, rest) = rest.split_once("] ")?;
    let (a, b) = counts.split_once('/')?;
    a.parse::<usize>().ok()?;
    b.parse::<usize>().ok()?;
    let (kind, rest) = rest.split_once(": ")?;
    match rest.rfind(" (") {
        Some(open) if rest.ends_with(')') => {
            let size = parse_logged_size(&rest[open + 2..rest.len() - 1]);
            Some((kind.to_string(), rest[..open].to_string(), size))
        }
        _ => Some((kind.to_string(), rest.to_string(), None)),
    }
}

struct Builder {
    log: ParsedLog,
    current: Option<LogJob>,
    worker_index: u32,
}

impl Builder {
    fn job(&mut self) -> &mut LogJob {
        let worker_index = self.worker_index;
        self.current.get_or_insert_with(|| LogJob {
            worker_index,
            outcome: "died".into(),
            ..LogJob::default()
        })
    }

    fn close(&mut self) {
        if let Some(mut job) = self.current.take() {
            job.job = self.log.jobs.len() as u64 + 1;
            self.log.jobs.push(job);
        }
    }

    fn unreadable(&mut self, line_no: u64, reason: &str, text: &str) {
        self.log.unreadable_count += 1;
        if self.log.unreadable.len() < UNREADABLE_EXAMPLES {
            self.log.unreadable.push(UnreadableLine {
                line: line_no,
                reason: reason.to_string(),
                text: text.chars().take(200).collect(),
            });
        }
    }

    /// Read one line; `Err(reason)` when a tagged line cannot be read.
    fn line(&mut self, line_no: u64, text: &str) -> Result<(), &'static str> {
        let Some((tag, body)) = find_tag(text) else {
            let message = strip_level_prefix(text);
            if let Some(source) = parse_source(message) {
                if let Some(task) = self.current.as_mut().and_then(|j| j.task.as_mut()) {
                    task.sources.push(source);
                    return Ok(());
                }
            }
            self.log.lines_other += 1;
            return Ok(());
        };
        let _ = line_no;
        match tag {
            "WORKER START" => {
                if self.log.workers_started > 0
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
                    if let Ok(n) = digits.parse() {
                        self.log.jobs_between_cache_clear = Some(n);
                    }
                }
            }
            "JOB EXEC" | "JOB START" => {
                let job_id = field(body, "job_id").map(str::to_string);
                let open_other = self
                    .current
                    .as_ref()
                    .is_some_and(|j| j.job_id.is_some() && job_id.is_some() && j.job_id != job_id);
                if open_other {
                    self.close();
                }
                let job = self.job();
                if job.job_id.is_none() {
                    job.job_id = job_id;
                }
            }
            "TASK START" => {
                let documents = match field(body, "documents") {
                    Some(d) => Some(
                        d.parse()
                            .map_err(|_| "TASK START: documents is not a number")?,
                    ),
                    None => None,
                };
                let task = LogTask {
                    task_id: field(body, "task_id").map(str::to_string),
                    task_type: field(body, "type").map(str::to_string),
                    documents,
                    total_size_bytes: field(body, "total_size").and_then(parse_logged_size),
                    pipeline: field(body, "pipeline").map(str::to_string),
                    ocr: field(body, "ocr").map(str::to_string),
                    formats: field(body, "formats").map(|f| {
                        f.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect()
                    }),
                    sources: vec![],
                };
                self.job().task = Some(task);
            }
            "DOC OK" | "DOC ✓" | "DOC FAILED" | "DOC ✗" => {
                let (name, rest) = body.split_once(" | ").unwrap_or((body, ""));
                if name.trim().is_empty() {
                    return Err("DOC line without a document name");
                }
                let size_bytes = match field(rest, "size") {
                    Some(s) => Some(parse_logged_size(s).ok_or("DOC line: unreadable size")?),
                    None => None,
                };
                let pages = match field(rest, "pages") {
                    Some(p) => Some(p.parse().map_err(|_| "DOC line: pages is not a number")?),
                    None => None,
                };
                let doc = LogDocument {
                    name: name.trim().to_string(),
                    ok: matches!(tag, "DOC OK" | "DOC ✓"),
                    size_bytes,
                    pages,
                    time_secs: field(rest, "time").and_then(parse_logged_duration),
                };
                self.job().documents.push(doc);
            }
            "TASK SUCCESS" | "TASK FAILED" => {
                let job = self.job();
                if tag == "TASK FAILED" {
                    job.outcome = "failed".into();
                }
            }
            "JOB SUCCESS" | "JOB FAILED" => {
                let duration = field(body, "duration").and_then(parse_logged_duration);
                let job = self.job();
                job.outcome = if tag == "JOB SUCCESS" {
                    "success".into()
                } else {
                    "failed".into()
                };
                job.duration_secs = duration;
            }
            "JOB ERROR" => {
                let error = body.split_once("error=").map(|(_, e)| e.to_string());
                let job = self.job();
                job.outcome = "failed".into();
                job.error = error;
            }
            "MEMORY" => {
                let rss = field(body, "rss").ok_or("MEMORY line without rss=")?;
                let rss_mb = parse_mb(rss).ok_or("MEMORY line: rss is not a number of MB")?;
                let job = self.job();
                job.rss_mb = Some(rss_mb);
                if job.outcome == "died" {
                    job.outcome = "success".into();
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
                let freed_mb = parse_mb(freed.trim().trim_end_matches(')'))
                    .ok_or("CACHE CLEAR: freed is not a number of MB")?;
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
        let mut types: Vec<String> = self
            .documents
            .iter()
            .map(|d| d.name.as_str())
            .chain(
                self.task
                    .iter()
                    .flat_map(|t| t.sources.iter().map(|s| s.1.as_str())),
            )
            .filter_map(|name| name.rsplit_once('.'))
            .map(|(_, ext)| ext.to_ascii_lowercase())
            .collect();
        types.sort();
        types.dedup();
        let mut parts = Vec::new();
        if !types.is_empty() {
            parts.push(types.join("+"));
        }
        if let Some(task) = &self.task {
            parts.extend(task.pipeline.clone());
            parts.extend(task.ocr.as_ref().map(|o| format!("ocr={o}")));
            parts.extend(task.formats.as_ref().map(|f| format!("to={}", f.join(","))));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// Parse a log from a reader. Never fails on content; only reading can fail.
pub fn parse_reader(reader: impl BufRead, origin: &str) -> std::io::Result<ParsedLog> {
    let mut builder = Builder {
        log: ParsedLog {
            origin: origin.to_string(),
            ..ParsedLog::default()
        },
        current: None,
        worker_index: 0,
    };
    let mut reader = reader;
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_no += 1;
        builder.log.lines_total += 1;
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim_end_matches(['\n', '\r']).to_string(),
            Err(_) => {
                let lossy = String::from_utf8_lossy(&buf).trim_end().to_string();
                if find_tag(&lossy).is_some() {
                    builder.unreadable(line_no, "not valid UTF-8", &lossy);
                } else {
                    builder.log.lines_other += 1;
                }
                continue;
            }
        };
        if let Err(reason) = builder.line(line_no, &text) {
            builder.unreadable(line_no, reason, &text);
        }
    }
    builder.close();
    Ok(builder.log)
}

/// Parse a log file.
pub fn parse_file(path: &Path) -> crate::Result<ParsedLog> {
    let file = std::fs::File::open(path)
        .map_err(|e| crate::Error::bad_input(path, "file", format!("cannot open: {e}")))?;
    parse_reader(std::io::BufReader::new(file), &path.display().to_string())
        .map_err(|e| crate::Error::bad_input(path, "file", format!("cannot read: {e}")))
}

impl ParsedLog {
    /// The trajectory: one point per job (RSS from `[MEMORY]`), clears from `[CACHE CLEAR]`.
    pub fn trajectory(&self, memory_limit_mb: Option<f64>) -> Trajectory {
        let points = self
            .jobs
            .iter()
            .map(|j| JobPoint {
                job: j.job,
                worker_index: j.worker_index,
                outcome: j.outcome.clone(),
                duration_secs: j.duration_secs,
                rss_mb: j.rss_mb,
                kind: j.kind(),
                ..JobPoint::default()
            })
            .collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ParsedLog {
        parse_reader(text.as_bytes(), "test").expect("in-memory read")
    }

    #[test]
    fn reads_both_prefix_styles_and_both_doc_tags() {
        let log = parse(
            "INFO:docling_serve.rq_worker_instrumented:[WORKER START] name=w | queues=convert | config={'jobs_between_cache_clear': 3, 'scratch_dir': '/x'}\n\
             [JOB EXEC] job_id=a | task_id=t | queue=convert | trace_id=0\n\
             [TASK START] task_id=t | type=convert | documents=1 | total_size=442.9 KB | pipeline=standard | ocr=easyocr | formats=md,json\n\
             \x20 [1/1] file: report.pdf (442.9 KB)\n\
             INFO:docling_serve.rq_worker_instrumented:[DOC ✓] report.pdf | status=success | size=442.9 KB | pages=10 | time=12.34s\n\
             [JOB SUCCESS] job_id=a | task_id=t | duration=54.57s\n\
             [MEMORY] job_id=a | rss=1115MB | jobs_total=1\n\
             some other library says hello\n\
             [DOC ✗] broken.pdf | status=failure | size=12 B | pages=0\n\
             [JOB FAILED] job_id=b | task_id=u | duration=1.00s\n\
             [MEMORY] job_id=b | rss=1120MB | jobs_total=2\n\
             [CACHE CLEAR] jobs_since_last_clear=2 | converters=1 | pipelines=1 | memory=859MB (freed 261MB)\n",
        );
        assert_eq!(log.jobs_between_cache_clear, Some(3));
        assert_eq!(log.jobs.len(), 2);
        let first = &log.jobs[0];
        assert_eq!(first.rss_mb, Some(1115.0));
        assert_eq!(first.outcome, "success");
        let task = first.task.as_ref().expect("task");
        assert_eq!(
            task.formats.as_deref(),
            Some(&["md".to_string(), "json".to_string()][..])
        );
        assert_eq!(task.sources.len(), 1);
        assert_eq!(first.documents[0].pages, Some(10));
        assert!(first.documents[0].ok);
        assert!(!log.jobs[1].documents[0].ok);
        assert_eq!(log.jobs[1].outcome, "failed");
        assert_eq!(log.clears.len(), 1);
        assert_eq!(
            (
                log.clears[0].job,
                log.clears[0].before_mb,
                log.clears[0].freed_mb
            ),
            (2, 1120.0, 261.0)
        );
        assert_eq!(log.lines_other, 1);
        assert_eq!(log.unreadable_count, 0);
        assert_eq!(
            first.kind().as_deref(),
            Some("pdf, standard, ocr=easyocr, to=md,json")
        );
        assert_eq!(log.jobs[1].kind().as_deref(), Some("pdf"));
    }

    #[test]
    fn unreadable_lines_are_counted_not_fatal() {
        let log = parse("[MEMORY] job_id=a | rss=lots | jobs_total=1\n[MEMORY] job_id=b | rss=10MB\n[CACHE CLEAR] memory=?\n");
        assert_eq!(log.unreadable_count, 2);
        assert_eq!(log.unreadable[0].line, 1);
        assert_eq!(log.jobs.len(), 1);
        assert_eq!(log.jobs[0].rss_mb, Some(10.0));
    }

    #[test]
    fn a_worker_restart_ends_an_open_job_as_died() {
        let log = parse("[JOB EXEC] job_id=a | task_id=t\n[WORKER START] name=w | queues=q | config={}\n[JOB EXEC] job_id=b\n[MEMORY] job_id=b | rss=5MB | jobs_total=1\n");
        assert_eq!(log.jobs.len(), 2);
        assert_eq!(log.jobs[0].outcome, "died");
        assert_eq!(log.jobs[1].worker_index, 1);
    }
}
