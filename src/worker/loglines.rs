//! The seed's log lines: building them ([`LogLine`]'s `Display`), reading them back
//! ([`LogLine::parse`]), a `log::Log` that prints them as Python's logging does
//! (`INFO:docling_serve.rq_worker_instrumented:<message>`), and VmRSS.

use std::fmt;
use std::io::Write;
use std::sync::Mutex;

use crate::units::{format_duration, format_size, parse_logged_duration, parse_logged_size};

/// The logger name of docling-serve's instrumented RQ worker: the `log` target of every line.
pub const TARGET: &str = "docling_serve.rq_worker_instrumented";

/// One line of the instrumented worker's log, with its fields.
#[derive(Debug, Clone, PartialEq)]
pub enum LogLine {
    /// `[WORKER START] name=.. | queues=.. | config={...}` (config kept as printed).
    WorkerStart {
        name: String,
        queues: String,
        config: String,
    },
    /// `[JOB EXEC]` (`start = false`) or `[JOB START]` (`start = true`).
    Job {
        start: bool,
        job_id: String,
        task_id: String,
        queue: String,
        trace_id: String,
    },
    TaskStart {
        task_id: String,
        task_type: String,
        documents: usize,
        total_size_bytes: u64,
        pipeline: Option<String>,
        ocr: Option<String>,
        formats: Option<Vec<String>>,
    },
    /// `  [1/2] file: report.pdf (442.9 KB)`
    TaskSource {
        index: usize,
        total: usize,
        kind: String,
        name: String,
        size_bytes: u64,
    },
    /// `[DOC OK]` / `[DOC FAILED]` (the real code prints `✓` / `✗`; both parse).
    Doc {
        ok: bool,
        name: String,
        status: String,
        size_bytes: u64,
        pages: u32,
        time_secs: Option<f64>,
        errors: Option<u32>,
    },
    /// `[TASK SUCCESS]` / `[TASK FAILED]`.
    TaskEnd {
        success: bool,
        task_id: String,
        time_secs: f64,
        succeeded: usize,
        documents: usize,
        size_bytes: u64,
        pages: u64,
        pages_per_sec: f64,
    },
    /// `[JOB SUCCESS]` / `[JOB FAILED]`.
    JobEnd {
        success: bool,
        job_id: String,
        task_id: String,
        duration_secs: f64,
    },
    JobError {
        job_id: String,
        error: String,
    },
    /// `[MEMORY] job_id=.. | rss=1115MB | jobs_total=1` (MB = MiB, floored).
    Memory {
        job_id: String,
        rss_mb: u64,
        jobs_total: u64,
    },
    /// `[CACHE CLEAR] jobs_since_last_clear=3 | converters=1 | pipelines=1 | memory=859MB (freed 250MB)`
    CacheClear {
        jobs_since_last_clear: u64,
        converters: u64,
        pipelines: u64,
        memory_mb: u64,
        freed_mb: i64,
    },
}

/// A line's text with every control character escaped (`\n`, `\r`, `\t`, `\u{1b}`): a
/// field holding a newline (a document name) must not start a line of its own, which a log
/// reader would take for the worker's (a fake `[MEMORY]` line).
pub fn escape_control(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

impl fmt::Display for LogLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape_control(&Raw(self).to_string()))
    }
}

/// The line as its fields print, before escaping.
struct Raw<'a>(&'a LogLine);

impl fmt::Display for Raw<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            LogLine::WorkerStart { name, queues, config } => {
                write!(f, "[WORKER START] name={name} | queues={queues} | config={config}")
            }
            LogLine::Job { start, job_id, task_id, queue, trace_id } => {
                let tag = if *start { "JOB START" } else { "JOB EXEC" };
                write!(f, "[{tag}] job_id={job_id} | task_id={task_id} | queue={queue} | trace_id={trace_id}")
            }
            LogLine::TaskStart { task_id, task_type, documents, total_size_bytes, pipeline, ocr, formats } => {
                write!(
                    f,
                    "[TASK START] task_id={task_id} | type={task_type} | documents={documents} | total_size={}",
                    format_size(*total_size_bytes)
                )?;
                if let Some(p) = pipeline {
                    write!(f, " | pipeline={p}")?;
                }
                if let Some(o) = ocr {
                    write!(f, " | ocr={o}")?;
                }
                if let Some(fs) = formats {
                    write!(f, " | formats={}", fs.join(","))?;
                }
                Ok(())
            }
            LogLine::TaskSource { index, total, kind, name, size_bytes } => {
                write!(f, "  [{index}/{total}] {kind}: {name} ({})", format_size(*size_bytes))
            }
            LogLine::Doc { ok, name, status, size_bytes, pages, time_secs, errors } => {
                let tag = if *ok { "OK" } else { "FAILED" };
                write!(f, "[DOC {tag}] {name} | status={status} | size={} | pages={pages}", format_size(*size_bytes))?;
                if let Some(t) = time_secs {
                    write!(f, " | time={}", format_duration(*t))?;
                }
                if let Some(e) = errors {
                    write!(f, " | errors={e}")?;
                }
                Ok(())
            }
            LogLine::TaskEnd { success, task_id, time_secs, succeeded, documents, size_bytes, pages, pages_per_sec } => {
                let tag = if *success { "TASK SUCCESS" } else { "TASK FAILED" };
                write!(
                    f,
                    "[{tag}] task_id={task_id} | time={} | documents={succeeded}/{documents} succeeded | size={} | \
                     pages={pages} | throughput={pages_per_sec:.1} pages/sec",
                    format_duration(*time_secs),
                    format_size(*size_bytes)
                )
            }
            LogLine::JobEnd { success, job_id, task_id, duration_secs } => {
                let tag = if *success { "JOB SUCCESS" } else { "JOB FAILED" };
                write!(f, "[{tag}] job_id={job_id} | task_id={task_id} | duration={}", format_duration(*duration_secs))
            }
            LogLine::JobError { job_id, error } => write!(f, "[JOB ERROR] job_id={job_id} | error={error}"),
            LogLine::Memory { job_id, rss_mb, jobs_total } => {
                write!(f, "[MEMORY] job_id={job_id} | rss={rss_mb}MB | jobs_total={jobs_total}")
            }
            LogLine::CacheClear { jobs_since_last_clear, converters, pipelines, memory_mb, freed_mb } => write!(
                f,
                "[CACHE CLEAR] jobs_since_last_clear={jobs_since_last_clear} | converters={converters} | \
                 pipelines={pipelines} | memory={memory_mb}MB (freed {freed_mb}MB)"
            ),
        }
    }
}

/// The `key=value` fields of a ` | `-separated line body.
fn fields(body: &str) -> Vec<(&str, &str)> {
    body.split(" | ")
        .filter_map(|part| part.split_once('='))
        .collect()
}

fn field<'a>(fields: &[(&'a str, &'a str)], key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

fn mb(text: &str) -> Option<u64> {
    text.strip_suffix("MB")?.trim().parse().ok()
}

impl LogLine {
    /// Read a line back into its fields; `None` for lines that are not the worker's.
    /// A Python logging prefix (`INFO:docling_serve.rq_worker_instrumented:`) is accepted.
    pub fn parse(line: &str) -> Option<LogLine> {
        let line = line.trim_end_matches(['\r', '\n']);
        let message = strip_level_prefix(line);
        if let Some(rest) = message.strip_prefix("  [") {
            let (counts, rest) = rest.split_once("] ")?;
            let (index, total) = counts.split_once('/')?;
            let (kind, rest) = rest.split_once(": ")?;
            let open = rest.rfind(" (")?;
            let size = rest[open + 2..].strip_suffix(')')?;
            return Some(LogLine::TaskSource {
                index: index.parse().ok()?,
                total: total.parse().ok()?,
                kind: kind.to_string(),
                name: rest[..open].to_string(),
                size_bytes: parse_logged_size(size)?,
            });
        }
        let rest = message.strip_prefix('[')?;
        let (tag, body) = rest.split_once("] ")?;
        match tag {
            "WORKER START" => {
                let (head, config) = body.split_once(" | config=")?;
                let f = fields(head);
                Some(LogLine::WorkerStart {
                    name: field(&f, "name")?.to_string(),
                    queues: field(&f, "queues")?.to_string(),
                    config: config.to_string(),
                })
            }
            "JOB EXEC" | "JOB START" => {
                let f = fields(body);
                Some(LogLine::Job {
                    start: tag == "JOB START",
                    job_id: field(&f, "job_id")?.to_string(),
                    task_id: field(&f, "task_id")?.to_string(),
                    queue: field(&f, "queue")?.to_string(),
                    trace_id: field(&f, "trace_id")?.to_string(),
                })
            }
            "TASK START" => {
                let f = fields(body);
                Some(LogLine::TaskStart {
                    task_id: field(&f, "task_id")?.to_string(),
                    task_type: field(&f, "type")?.to_string(),
                    documents: field(&f, "documents")?.parse().ok()?,
                    total_size_bytes: parse_logged_size(field(&f, "total_size")?)?,
                    pipeline: field(&f, "pipeline").map(str::to_string),
                    ocr: field(&f, "ocr").map(str::to_string),
                    formats: field(&f, "formats")
                        .map(|v| v.split(',').map(str::to_string).collect()),
                })
            }
            "DOC OK" | "DOC ✓" | "DOC FAILED" | "DOC ✗" => {
                let (name, rest) = body.split_once(" | ")?;
                let f = fields(rest);
                Some(LogLine::Doc {
                    ok: tag == "DOC OK" || tag == "DOC ✓",
                    name: name.to_string(),
                    status: field(&f, "status")?.to_string(),
                    size_bytes: parse_logged_size(field(&f, "size")?)?,
                    pages: field(&f, "pages")?.parse().ok()?,
                    time_secs: match field(&f, "time") {
                        Some(t) => Some(parse_logged_duration(t)?),
                        None => None,
                    },
                    errors: match field(&f, "errors") {
                        Some(e) => Some(e.parse().ok()?),
                        None => None,
                    },
                })
            }
            "TASK SUCCESS" | "TASK FAILED" => {
                let f = fields(body);
                let (succeeded, documents) = field(&f, "documents")?
                    .strip_suffix(" succeeded")?
                    .split_once('/')?;
                Some(LogLine::TaskEnd {
                    success: tag == "TASK SUCCESS",
                    task_id: field(&f, "task_id")?.to_string(),
                    time_secs: parse_logged_duration(field(&f, "time")?)?,
                    succeeded: succeeded.parse().ok()?,
                    documents: documents.parse().ok()?,
                    size_bytes: parse_logged_size(field(&f, "size")?)?,
                    pages: field(&f, "pages")?.parse().ok()?,
                    pages_per_sec: field(&f, "throughput")?
                        .strip_suffix(" pages/sec")?
                        .parse()
                        .ok()?,
                })
            }
            "JOB SUCCESS" | "JOB FAILED" => {
                let f = fields(body);
                Some(LogLine::JobEnd {
                    success: tag == "JOB SUCCESS",
                    job_id: field(&f, "job_id")?.to_string(),
                    task_id: field(&f, "task_id")?.to_string(),
                    duration_secs: parse_logged_duration(field(&f, "duration")?)?,
                })
            }
            "JOB ERROR" => {
                let (head, error) = body.split_once(" | error=")?;
                Some(LogLine::JobError {
                    job_id: head.strip_prefix("job_id=")?.to_string(),
                    error: error.to_string(),
                })
            }
            "MEMORY" => {
                let f = fields(body);
                Some(LogLine::Memory {
                    job_id: field(&f, "job_id")?.to_string(),
                    rss_mb: mb(field(&f, "rss")?)?,
                    jobs_total: field(&f, "jobs_total")?.parse().ok()?,
                })
            }
            "CACHE CLEAR" => {
                let f = fields(body);
                let (memory, freed) = field(&f, "memory")?.split_once(" (freed ")?;
                Some(LogLine::CacheClear {
                    jobs_since_last_clear: field(&f, "jobs_since_last_clear")?.parse().ok()?,
                    converters: field(&f, "converters")?.parse().ok()?,
                    pipelines: field(&f, "pipelines")?.parse().ok()?,
                    memory_mb: mb(memory)?,
                    freed_mb: freed.strip_suffix("MB)")?.parse().ok()?,
                })
            }
            _ => None,
        }
    }
}

/// Drop a Python logging prefix (`LEVEL:logger.name:`) when the line has one. Also used by
/// the tolerant log reader (`crate::logs::parse`).
pub fn strip_level_prefix(line: &str) -> &str {
    for level in ["INFO:", "WARNING:", "ERROR:", "DEBUG:", "CRITICAL:"] {
        if let Some(rest) = line.strip_prefix(level) {
            if let Some((logger, message)) = rest.split_once(':') {
                if !logger.contains(' ') && !logger.contains('[') {
                    return message;
                }
            }
        }
    }
    line
}

/// A `log::Log` printing `LEVEL:target:message` lines (Python's `%(levelname)s:%(name)s:%(message)s`)
/// to a writer, or the bare message when `prefix` is off.
pub struct LineLogger {
    out: Mutex<Box<dyn Write + Send>>,
    prefix: bool,
    level: log::LevelFilter,
}

impl LineLogger {
    pub fn new(out: Box<dyn Write + Send>, prefix: bool) -> LineLogger {
        LineLogger {
            out: Mutex::new(out),
            prefix,
            level: log::LevelFilter::Info,
        }
    }

    /// Install a logger writing to `out` as the process's `log` logger (once per process).
    pub fn install(out: Box<dyn Write + Send>, prefix: bool) -> Result<(), log::SetLoggerError> {
        log::set_boxed_logger(Box::new(LineLogger::new(out, prefix)))?;
        log::set_max_level(log::LevelFilter::Info);
        Ok(())
    }

    /// Install a logger writing to stderr.
    pub fn install_stderr(prefix: bool) -> Result<(), log::SetLoggerError> {
        LineLogger::install(Box::new(std::io::stderr()), prefix)
    }
}

fn python_level(level: log::Level) -> &'static str {
    match level {
        log::Level::Error => "ERROR",
        log::Level::Warn => "WARNING",
        log::Level::Info => "INFO",
        log::Level::Debug | log::Level::Trace => "DEBUG",
    }
}

impl log::Log for LineLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // A poisoned lock only means another thread panicked mid-write: keep logging.
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // One record, one line: control characters in the message (a document name with a
        // newline, an error's text) are escaped.
        let message = record.args().to_string();
        let message = escape_control(&message);
        let written = if self.prefix {
            writeln!(
                out,
                "{}:{}:{}",
                python_level(record.level()),
                record.target(),
                message
            )
        } else {
            writeln!(out, "{message}")
        };
        // Logging must never fail a job: a closed stderr loses the line, nothing else.
        let _ = written.and_then(|()| out.flush());
    }

    fn flush(&self) {
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = out.flush();
    }
}

/// The process's resident set size from `/proc/self/status` (VmRSS), as the seed reads it.
pub fn current_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// RSS in whole MiB, floored, as the seed's `rss // (1024 * 1024)`.
pub fn rss_mb(bytes: u64) -> u64 {
    bytes / (1024 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_LINES: [&str; 11] = [
        "[WORKER START] name=docling-worker | queues=convert | config={'jobs_between_cache_clear': 3, 'scratch_dir': '/data/scratch'}",
        "[JOB EXEC] job_id=a1 | task_id=t1 | queue=convert | trace_id=0123456789abcdef0123456789abcdef",
        "[JOB START] job_id=a1 | task_id=t1 | queue=convert | trace_id=0123456789abcdef0123456789abcdef",
        "[TASK START] task_id=t1 | type=convert | documents=1 | total_size=442.9 KB | pipeline=standard | ocr=easyocr | formats=md,json",
        "  [1/1] file: report.pdf (442.9 KB)",
        "[DOC OK] report.pdf | status=success | size=442.9 KB | pages=10",
        "[TASK SUCCESS] task_id=t1 | time=54.55s | documents=1/1 succeeded | size=442.9 KB | pages=10 | throughput=0.2 pages/sec",
        "[JOB SUCCESS] job_id=a1 | task_id=t1 | duration=54.57s",
        "[MEMORY] job_id=a1 | rss=1115MB | jobs_total=1",
        "[CACHE CLEAR] jobs_since_last_clear=3 | converters=1 | pipelines=1 | memory=859MB (freed 250MB)",
        "[JOB ERROR] job_id=a1 | error=boom | with a bar",
    ];

    #[test]
    fn seed_lines_parse_and_print_back_identically() {
        for line in SEED_LINES {
            let parsed = LogLine::parse(line).unwrap_or_else(|| panic!("does not parse: {line}"));
            assert_eq!(parsed.to_string(), line);
            let prefixed = format!("INFO:{TARGET}:{line}");
            assert_eq!(LogLine::parse(&prefixed), Some(parsed));
        }
    }

    #[test]
    fn fields_come_back() {
        match LogLine::parse(SEED_LINES[9]) {
            Some(LogLine::CacheClear {
                jobs_since_last_clear: 3,
                converters: 1,
                pipelines: 1,
                memory_mb: 859,
                freed_mb: 250,
            }) => {}
            other => panic!("{other:?}"),
        }
        match LogLine::parse(
            "[DOC ✗] x.pdf | status=failure | size=12 B | pages=0 | time=250 ms | errors=1",
        ) {
            Some(LogLine::Doc {
                ok: false,
                pages: 0,
                size_bytes: 12,
                errors: Some(1),
                time_secs: Some(t),
                ..
            }) => {
                assert!((t - 0.25).abs() < 1e-9)
            }
            other => panic!("{other:?}"),
        }
        let freed = LogLine::CacheClear {
            jobs_since_last_clear: 1,
            converters: 0,
            pipelines: 0,
            memory_mb: 9,
            freed_mb: -3,
        };
        assert_eq!(LogLine::parse(&freed.to_string()), Some(freed));
        assert_eq!(LogLine::parse("INFO:rq.worker:Job OK"), None);
        assert_eq!(
            LogLine::parse("[MEMORY] job_id=x | rss=lots | jobs_total=1"),
            None
        );
    }

    #[test]
    fn a_newline_in_a_document_name_cannot_inject_a_memory_line() {
        let line = LogLine::Doc {
            ok: true,
            name: "a.md\n[MEMORY] job_id=x | rss=99999MB | jobs_total=1".into(),
            status: "success".into(),
            size_bytes: 10,
            pages: 1,
            time_secs: None,
            errors: None,
        };
        let text = line.to_string();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.starts_with("[DOC OK] a.md\\n[MEMORY] job_id=x"),
            "{text}"
        );
        assert_eq!(escape_control("bell\u{7}\r"), "bell\\u{7}\\r");
    }

    #[test]
    fn logger_prints_python_style() {
        use log::Log;
        #[derive(Clone, Default)]
        struct Shared(std::sync::Arc<Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .map_err(|_| std::io::Error::other("poisoned"))?
                    .extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let shared = Shared::default();
        let logger = LineLogger::new(Box::new(shared.clone()), true);
        logger.log(
            &log::Record::builder()
                .target(TARGET)
                .level(log::Level::Info)
                .args(format_args!("[MEMORY] x"))
                .build(),
        );
        logger.log(
            &log::Record::builder()
                .target("t")
                .level(log::Level::Debug)
                .args(format_args!("hidden"))
                .build(),
        );
        logger.log(
            &log::Record::builder()
                .target("t")
                .level(log::Level::Warn)
                .args(format_args!("w"))
                .build(),
        );
        let text = String::from_utf8(shared.0.lock().expect("lock").clone()).expect("utf8");
        assert_eq!(text, format!("INFO:{TARGET}:[MEMORY] x\nWARNING:t:w\n"));
    }

    #[test]
    fn rss_is_read_from_proc() {
        if std::path::Path::new("/proc/self/status").exists() {
            let rss = current_rss_bytes().expect("VmRSS readable");
            assert!(rss > 1024 * 1024, "{rss}");
        }
    }
}
