//! The parser's state between lines: the open job, the closed ones, and what each tagged line
//! adds to them ([`Builder::line`]). Without details (`LogLimits::keep_details` off) a closed
//! job's task, documents and job id go back to a spare set that the next job fills, and its
//! kind is kept once for all the jobs that share it: a long log's parse then allocates next to
//! nothing per job.

use std::collections::HashSet;
use std::sync::Arc;

use super::limits::{
    check_count, check_mb, check_signed_mb, plausible_duration, plausible_size, Implausible,
};
use super::parse::{LogDocument, LogJob, LogTask, ParsedLog, UnreadableLine, UNREADABLE_EXAMPLES};
use super::text::{field, fields, find_tag, may_be_source, parse_mb, parse_source};
use crate::analysis::{ClearPoint, OutcomeKind};
use crate::worker::loglines::strip_level_prefix;

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
    /// Without details: the emptied parts of the jobs closed so far, for the next to fill.
    pub(super) spare: Spare,
    /// The kinds of the jobs closed so far, each once.
    pub(super) kinds: HashSet<Arc<str>>,
    /// The kind of the job being closed, written before it is looked up in `kinds`.
    pub(super) kind_text: String,
}

/// What closed jobs held, kept for the next jobs to fill instead of allocating their own.
#[derive(Default)]
pub(super) struct Spare {
    job_id: Option<String>,
    task: Option<Box<LogTask>>,
    documents: Vec<LogDocument>,
    sources: Vec<(String, String, Option<u64>)>,
    /// The documents list of a job (its vector, empty).
    document_list: Vec<LogDocument>,
}

impl Spare {
    /// `value` in a spare string (or a new one).
    fn string(slot: &mut Option<String>, value: &str) -> String {
        let mut s = slot.take().unwrap_or_default();
        s.clear();
        s.push_str(value);
        s
    }

    /// Take back what `job` holds beside its numbers and its kind.
    fn keep(&mut self, job: &mut LogJob) {
        if let Some(id) = job.job_id.take() {
            self.job_id = Some(id);
        }
        if let Some(mut task) = job.task.take() {
            self.sources.append(&mut task.sources);
            self.task = Some(task);
        }
        let mut documents = std::mem::take(&mut job.documents);
        self.documents.append(&mut documents);
        self.document_list = documents;
    }
}

/// `list` set to the parts of `formats` (`md,json`: trimmed, empty ones left out), in the
/// strings it holds.
fn put_list(list: &mut Vec<String>, formats: &str) {
    let mut n = 0;
    for part in formats.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match list.get_mut(n) {
            Some(s) => {
                s.clear();
                s.push_str(part);
            }
            None => list.push(part.to_string()),
        }
        n += 1;
    }
    list.truncate(n);
}

/// `slot` set to `value`, in the string it holds when it holds one.
fn put(slot: &mut Option<String>, value: Option<&str>) {
    match (slot.as_mut(), value) {
        (Some(s), Some(v)) => {
            s.clear();
            s.push_str(v);
        }
        (_, v) => *slot = v.map(str::to_string),
    }
}

impl Builder {
    pub(super) fn new(origin: &str, keep_details: bool) -> Builder {
        Builder {
            log: ParsedLog {
                origin: origin.to_string(),
                ..ParsedLog::default()
            },
            current: None,
            worker_index: 0,
            records_closed: 0,
            continued: false,
            keep_details,
            spare: Spare::default(),
            kinds: HashSet::new(),
            kind_text: String::new(),
        }
    }

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
            job.kind_at_close = if job.kind_into(&mut self.kind_text) {
                Some(self.intern_kind())
            } else {
                None
            };
            if !self.keep_details {
                self.spare.keep(&mut job);
            }
            self.log.jobs.push(job);
        }
    }

    /// `kind_text` as a shared kind: the one made for an earlier job of the same kind, else a
    /// new one.
    fn intern_kind(&mut self) -> Arc<str> {
        if let Some(kind) = self.kinds.get(self.kind_text.as_str()) {
            return Arc::clone(kind);
        }
        let kind: Arc<str> = Arc::from(self.kind_text.as_str());
        self.kinds.insert(Arc::clone(&kind));
        kind
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
            let (kind, name, size) = source?;
            if let Some(task) = self.current.as_mut().and_then(|j| j.task.as_mut()) {
                let mut spare = self.spare.sources.pop().unwrap_or_default();
                spare.0.clear();
                spare.0.push_str(kind);
                spare.1.clear();
                spare.1.push_str(name);
                spare.2 = size;
                task.sources.push(spare);
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
                if self.current.as_ref().is_some_and(|j| j.job_id.is_some()) {
                    self.job();
                } else {
                    let id = job_id.map(|id| Spare::string(&mut self.spare.job_id, id));
                    self.job().job_id = id;
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
                let total_size_bytes = match total_size {
                    Some(t) => plausible_size("total_size", t)?,
                    None => None,
                };
                // A spare task has every field set here; its sources went back to the spares.
                let mut task = self.spare.task.take().unwrap_or_default();
                put(&mut task.task_id, task_id);
                put(&mut task.task_type, task_type);
                task.documents = documents;
                task.total_size_bytes = total_size_bytes;
                put(&mut task.pipeline, pipeline);
                put(&mut task.ocr, ocr);
                match formats {
                    Some(f) => put_list(task.formats.get_or_insert_with(Vec::new), f),
                    None => task.formats = None,
                }
                task.sources.clear();
                self.job().task = Some(task);
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
                let time_secs = match time {
                    Some(t) => plausible_duration("time", t)?,
                    None => None,
                };
                let mut doc = self.spare.documents.pop().unwrap_or_else(|| LogDocument {
                    name: String::new(),
                    ok: false,
                    size_bytes: None,
                    pages: None,
                    time_secs: None,
                });
                doc.name.clear();
                doc.name.push_str(name.trim());
                doc.ok = matches!(tag, "DOC OK" | "DOC ✓");
                doc.size_bytes = size_bytes;
                doc.pages = pages;
                doc.time_secs = time_secs;
                if self
                    .current
                    .as_ref()
                    .is_none_or(|j| j.documents.capacity() == 0)
                {
                    let list = std::mem::take(&mut self.spare.document_list);
                    self.job().documents = list;
                }
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
