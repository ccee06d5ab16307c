//! The log parser, one line at a time: [`LogParser`] is what `logs` runs over a whole file
//! ([`super::parse_file`]) and what `watch` runs over a live tail ([`super::tail::LogTail`]).
//! One parser, two ways of feeding it.

use super::builder::{Builder, LineError};
use super::limits::{LogError, LogLimits};
use super::parse::{LogJob, ParsedLog};
use super::text::{find_tag, may_be_read};
use crate::bounded::Line;

/// An incremental parser of a worker log. Feed it lines in order; read the jobs closed so far
/// with [`LogParser::parsed`] and the job still open with [`LogParser::open_job`].
pub struct LogParser {
    builder: Builder,
    limits: LogLimits,
    origin: String,
}

impl std::fmt::Debug for LogParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogParser")
            .field("origin", &self.origin)
            .field("jobs", &self.builder.log.jobs.len())
            .finish()
    }
}

impl LogParser {
    pub fn new(origin: &str, limits: LogLimits) -> LogParser {
        LogParser {
            builder: Builder::new(origin, limits.keep_details),
            limits,
            origin: origin.to_string(),
        }
    }

    /// A parser for the lines after a clean boundary of a log (see
    /// [`LogParser::at_clean_boundary`]): it reads them as the parser of the whole log would,
    /// with job numbers, worker indexes and line numbers counted from the boundary
    /// ([`super::chunked`] adds the offsets).
    pub(super) fn continued(origin: &str, limits: LogLimits) -> LogParser {
        let mut parser = LogParser::new(origin, limits);
        parser.builder.continued = true;
        parser
    }

    /// Whether the next line is read the same by this parser and by a [`LogParser::continued`]
    /// one: no job open, and something read already (a `[WORKER START]` then starts a new
    /// worker).
    pub(super) fn at_clean_boundary(&self) -> bool {
        let b = &self.builder;
        b.current.is_none() && (b.continued || b.log.workers_started > 0 || !b.log.jobs.is_empty())
    }

    /// Jobs closed so far.
    pub(super) fn jobs(&self) -> usize {
        self.builder.log.jobs.len()
    }

    /// Room for `more` closed jobs (a long log's expected count: no growth by copies). A
    /// reservation the allocator refuses is skipped: the jobs then grow as they come.
    pub(super) fn reserve_jobs(&mut self, more: u64) {
        let _ = self
            .builder
            .log
            .jobs
            .try_reserve(usize::try_from(more).unwrap_or(0));
    }

    /// Records kept so far (see [`LogLimits::max_records`]).
    pub(super) fn records(&self) -> u64 {
        self.builder.count_records()
    }

    /// The 0-based index of the worker the next job runs in.
    pub(super) fn worker_index(&self) -> u32 {
        self.builder.worker_index
    }

    /// What the log said so far: closed jobs, clears, line counts (the open job is not in it).
    pub fn parsed(&self) -> &ParsedLog {
        &self.builder.log
    }

    /// The job whose lines started but whose `[MEMORY]` line has not come yet.
    pub fn open_job(&self) -> Option<&LogJob> {
        self.builder.current.as_ref()
    }

    /// Close the open job (as `died` when its `[MEMORY]` line never came) and return the log.
    pub fn finish(mut self) -> ParsedLog {
        self.builder.close();
        self.builder.log
    }

    /// Read one line. Lines that cannot be read are counted and reported; a number that reads
    /// but cannot be true or a passed record bound is an error naming the line.
    pub fn feed(&mut self, line: &Line) -> Result<(), LogError> {
        self.feed_bytes(line.number, line.offset, &line.bytes, line.full_len)
    }

    /// `count` lines that [`LogParser::feed_bytes`] would count as other lines (no `[` that
    /// starts a tag or a source line, within the line bound), counted without reading them.
    pub(super) fn count_other_lines(&mut self, count: u64) {
        self.builder.log.lines_total += count;
        self.builder.log.lines_other += count;
    }

    /// [`LogParser::feed`] of a line given by its parts: 1-based number, byte offset in the
    /// file, its bytes (without `\n`, cut to the line bound) and its full length.
    pub(super) fn feed_bytes(
        &mut self,
        line_no: u64,
        offset: u64,
        line_bytes: &[u8],
        full_len: u64,
    ) -> Result<(), LogError> {
        let builder = &mut self.builder;
        builder.log.lines_total += 1;
        let mut bytes = line_bytes;
        while let Some(rest) = bytes.strip_suffix(b"\r") {
            bytes = rest;
        }
        // A crash can leave a tail of NUL bytes (ext4): not a line of the log.
        if bytes.iter().all(|&b| b == 0) && !bytes.is_empty() {
            builder.log.lines_other += 1;
            return Ok(());
        }
        if full_len > line_bytes.len() as u64 {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
            let reason = format!(
                "{} bytes long, past the {}-byte line bound (max_line_bytes): skipped",
                full_len, self.limits.max_line_bytes
            );
            builder.unreadable(line_no, &reason, &text);
            return Ok(());
        }
        if !may_be_read(bytes) {
            builder.log.lines_other += 1;
            return Ok(());
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let lossy = String::from_utf8_lossy(bytes).into_owned();
                if find_tag(&lossy).is_some() {
                    let at = e.valid_up_to();
                    let reason = format!(
                        "not valid UTF-8 at byte {} of the line (file offset {})",
                        at + 1,
                        offset + at as u64
                    );
                    builder.unreadable(line_no, &reason, &lossy);
                } else {
                    builder.log.lines_other += 1;
                }
                return Ok(());
            }
        };
        match builder.line(text) {
            Ok(()) => {}
            Err(LineError::Unreadable(reason)) => builder.unreadable(line_no, reason, text),
            Err(LineError::Implausible((field, value, reason))) => {
                return Err(LogError::Implausible {
                    origin: self.origin.clone(),
                    line: line_no,
                    field: field.to_string(),
                    value,
                    reason,
                })
            }
        }
        if builder.count_records() > self.limits.max_records {
            return Err(LogError::TooManyRecords {
                origin: self.origin.clone(),
                line: line_no,
                max: self.limits.max_records,
            });
        }
        Ok(())
    }
}
