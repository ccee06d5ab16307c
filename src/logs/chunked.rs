//! A long log file read on every core: the file is cut at line boundaries into one chunk per
//! core, each chunk is read by its own [`LogParser`] (the one parser `watch` runs too), and
//! the chunks' jobs, clears and counts are stitched in order.
//!
//! A cut is placed right after a `[MEMORY]` line (the line that closes a job), and it is kept
//! only when the parser of the chunk before it ends with no job open and something read
//! ([`LogParser::at_clean_boundary`]): the parser of the whole file is then in a state that a
//! [`LogParser::continued`] parser reproduces, so the next chunk reads exactly as it would
//! have, with job numbers, worker indexes and line numbers shifted by what the chunks before
//! counted. When a cut is not clean, a chunk hits an error or a bound, or the records of all
//! chunks pass `max_records`, the file is read again by one parser from its start: the
//! result (and the error, naming its line) is always the sequential one.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::feed::LogParser;
use super::limits::{LogError, LogLimits};
use super::parse::ParsedLog;
use crate::bounded::BoundedError;

/// Files shorter than this are read by one parser (threads cost more than they save).
pub const PARALLEL_MIN_BYTES: u64 = 32 * 1024 * 1024;
/// The most chunks (threads) a file is cut into.
const MAX_CHUNKS: usize = 8;
/// Bytes read at a time: small enough to stay in a core's cache between the kernel's copy and
/// the line split.
const BLOCK_BYTES: usize = 128 * 1024;
/// Jobs read before the rest of a range's jobs are reserved (from the bytes they took).
const RESERVE_AFTER_JOBS: usize = 1024;
/// How far past a cut's nominal place a `[MEMORY]` line is looked for.
const MAX_CUT_SEARCH_BYTES: u64 = 16 * 1024 * 1024;

/// How many chunks a file of `len` bytes is cut into on this machine (1: read sequentially).
pub fn chunks_for(len: u64, limits: &LogLimits) -> usize {
    if len < PARALLEL_MIN_BYTES || len > limits.max_total_bytes {
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_CHUNKS)
}

fn read_error(path: &Path, offset: u64, source: std::io::Error) -> LogError {
    LogError::Input(BoundedError::Read {
        path: path.to_path_buf(),
        offset,
        source,
    })
}

/// `read_at` that retries when interrupted; 0 at the end of the file.
fn read_block(file: &File, path: &Path, buf: &mut [u8], at: u64) -> Result<usize, LogError> {
    loop {
        match file.read_at(buf, at) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(path, at, e)),
        }
    }
}

/// Where a chunk's bytes come from: the file mapped in memory, or read block by block.
#[derive(Clone, Copy)]
pub(super) enum Source<'a> {
    Mapped(&'a memmap2::Mmap),
    Read(&'a File),
}

/// Feed the lines of the log from byte `start` (a line start) to byte `end` (a line start;
/// `None`: to the end of the file, at most `max_total_bytes`) to `parser`, numbered from 1.
/// Lines are cut to `max_line_bytes` as [`crate::bounded::LineReader`] cuts them.
fn feed_range(
    parser: &mut LogParser,
    source: Source<'_>,
    path: &Path,
    range: (u64, Option<u64>),
    limits: &LogLimits,
) -> Result<(), LogError> {
    match source {
        Source::Mapped(map) => feed_mapped(parser, map, range, limits),
        Source::Read(file) => feed_read(parser, file, path, range, limits),
    }
}

/// Counts of a range fed so far, for reserving its jobs once the first ones tell their density.
struct Reserve {
    start: u64,
    range_len: u64,
    done: bool,
}

impl Reserve {
    fn after(&mut self, parser: &mut LogParser, pos: u64, limits: &LogLimits) {
        if self.done || parser.jobs() < RESERVE_AFTER_JOBS {
            return;
        }
        self.done = true;
        let jobs = parser.jobs() as u64;
        let expected =
            u128::from(jobs) * u128::from(self.range_len) / u128::from((pos - self.start).max(1));
        let more = u64::try_from(expected * 21 / 20)
            .unwrap_or(u64::MAX)
            .saturating_sub(jobs);
        parser.reserve_jobs(more.min(limits.max_records));
    }
}

/// [`feed_range`] of a mapped file: its whole lines window by window, a line longer than a
/// window (or the last one, without its `\n`) on its own.
fn feed_mapped(
    parser: &mut LogParser,
    mapped: &memmap2::Mmap,
    (start, end): (u64, Option<u64>),
    limits: &LogLimits,
) -> Result<(), LogError> {
    let map: &[u8] = mapped;
    let len = map.len();
    let (start, end) = (
        usize::try_from(start).unwrap_or(len).min(len),
        end.map_or(len, |e| usize::try_from(e).unwrap_or(len).min(len)),
    );
    let max_line = limits.max_line_bytes;
    let mut reserve = Reserve {
        start: start as u64,
        range_len: (end - start) as u64,
        done: false,
    };
    let mut number = 0u64;
    let mut pos = start;
    let mut released = start;
    while pos < end {
        if pos - released >= super::mapped::RELEASE_EVERY_BYTES {
            super::mapped::release(mapped, released, pos);
            released = pos;
        }
        let stop = (pos + BLOCK_BYTES).min(end);
        let (used, lines) = feed_lines(parser, &map[pos..stop], pos as u64, number, max_line)?;
        number += lines;
        if used > 0 {
            pos += used;
        } else {
            // One line past the window, or the last line without its `\n`.
            let nl = line_end(mapped, stop, end, &mut released);
            let piece = &map[pos..nl.unwrap_or(end)];
            number += 1;
            let kept = &piece[..piece.len().min(max_line)];
            parser.feed_bytes(number, pos as u64, kept, piece.len() as u64)?;
            pos = nl.map_or(end, |n| n + 1);
        }
        reserve.after(parser, pos as u64, limits);
    }
    super::mapped::release(mapped, released, end);
    Ok(())
}

/// The first `\n` of `map[from..end]`, searched window by window: the pages behind the search
/// are dropped from the RSS as it goes (from `released` on), so that a line of gigabytes does
/// not make its whole length resident (what the line bound keeps of it is read again).
fn line_end(
    mapped: &memmap2::Mmap,
    from: usize,
    end: usize,
    released: &mut usize,
) -> Option<usize> {
    let mut at = from;
    while at < end {
        let stop = (at + super::mapped::RELEASE_EVERY_BYTES).min(end);
        if let Some(i) = memchr::memchr(b'\n', &mapped[at..stop]) {
            return Some(at + i);
        }
        super::mapped::release(mapped, *released, stop);
        *released = stop;
        at = stop;
    }
    None
}

/// [`feed_range`] with `read_at`: block by block, a line across blocks carried.
fn feed_read(
    parser: &mut LogParser,
    file: &File,
    path: &Path,
    (start, end): (u64, Option<u64>),
    limits: &LogLimits,
) -> Result<(), LogError> {
    let max_line = limits.max_line_bytes;
    let mut buf = vec![0u8; BLOCK_BYTES];
    // The start of a line that runs past the block: its bytes (cut), full length and offset.
    let mut carry: Vec<u8> = Vec::new();
    let mut carry_len = 0u64;
    let mut carry_at: Option<u64> = None;
    let mut number = 0u64;
    let mut pos = start;
    let mut reserve = Reserve {
        start,
        range_len: match end {
            Some(e) => e - start,
            None => file.metadata().map_or(0, |m| m.len().saturating_sub(start)),
        },
        done: false,
    };
    loop {
        let want = end.map_or(BLOCK_BYTES as u64, |e| (e - pos).min(BLOCK_BYTES as u64));
        if want == 0 {
            break;
        }
        let n = read_block(file, path, &mut buf[..want as usize], pos)?;
        if n == 0 {
            break;
        }
        if end.is_none() && pos + n as u64 > limits.max_total_bytes {
            return Err(LogError::Input(BoundedError::TooLarge {
                path: path.to_path_buf(),
                max_bytes: limits.max_total_bytes,
                what: "max_total_bytes of a log".into(),
            }));
        }
        let data = &buf[..n];
        let mut line_start = 0usize;
        // The line carried from the block before ends at this block's first `\n` (or runs on
        // past the whole block).
        let mut whole_block_carried = false;
        if carry_at.is_some() {
            if let Some(nl) = memchr::memchr(b'\n', data) {
                let piece = &data[..nl];
                number += 1;
                let at = carry_at.take().unwrap_or(pos);
                let room = max_line.saturating_sub(carry.len());
                carry.extend_from_slice(&piece[..piece.len().min(room)]);
                parser.feed_bytes(number, at, &carry, carry_len + piece.len() as u64)?;
                carry.clear();
                carry_len = 0;
                line_start = nl + 1;
            } else {
                whole_block_carried = true;
            }
        }
        if !whole_block_carried {
            let (used, lines) = feed_lines(
                parser,
                &data[line_start..],
                pos + line_start as u64,
                number,
                max_line,
            )?;
            number += lines;
            line_start += used;
        }
        let rest = &data[line_start..];
        if !rest.is_empty() {
            carry_at.get_or_insert(pos + line_start as u64);
            let room = max_line.saturating_sub(carry.len());
            carry.extend_from_slice(&rest[..rest.len().min(room)]);
            carry_len += rest.len() as u64;
        }
        pos += n as u64;
        reserve.after(parser, pos, limits);
    }
    // A last line without its `\n`.
    if let Some(at) = carry_at {
        parser.feed_bytes(number + 1, at, &carry, carry_len)?;
    }
    Ok(())
}

/// Feed the whole lines of `data` (its bytes from file offset `at`; the lines before it
/// numbered up to `number`): lines that can be read (see `next_readable`) go to the parser
/// one by one, the lines between them are only counted. Returns the bytes used (up to the
/// last `\n`) and the lines fed.
fn feed_lines(
    parser: &mut LogParser,
    data: &[u8],
    at: u64,
    number: u64,
    max_line: usize,
) -> Result<(usize, u64), LogError> {
    let mut line_start = 0usize;
    let mut fed = 0u64;
    while line_start < data.len() {
        let Some(mark) = next_readable(data, line_start) else {
            // No readable line starts in the rest: count its whole lines.
            let whole = memchr::memrchr(b'\n', &data[line_start..]).map_or(0, |i| i + 1);
            fed += plain_lines(
                parser,
                &data[line_start..line_start + whole],
                max_line,
                number + fed,
                at + line_start as u64,
            )?;
            line_start += whole;
            break;
        };
        let start = memchr::memrchr(b'\n', &data[line_start..mark])
            .map_or(line_start, |i| line_start + i + 1);
        fed += plain_lines(
            parser,
            &data[line_start..start],
            max_line,
            number + fed,
            at + line_start as u64,
        )?;
        line_start = start;
        let Some(nl) = memchr::memchr(b'\n', &data[mark..]).map(|i| mark + i) else {
            break;
        };
        let piece = &data[start..nl];
        fed += 1;
        let kept = &piece[..piece.len().min(max_line)];
        parser.feed_bytes(number + fed, at + start as u64, kept, piece.len() as u64)?;
        line_start = nl + 1;
    }
    Ok((line_start, fed))
}

/// The position of the first `[` at or after `from` in `data` that is followed by what a tag
/// or a source line starts with (an ASCII capital, digit or `+`; a `[` as the last byte may
/// be one too). A line without such a `[` is read by [`LogParser::feed_bytes`] as an other
/// line: no tag (every tag starts with a capital) and no source line (`[1/2]`).
fn next_readable(data: &[u8], from: usize) -> Option<usize> {
    memchr::memchr_iter(b'[', &data[from..])
        .map(|i| from + i)
        .find(|&at| {
            data.get(at + 1)
                .is_none_or(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'+')
        })
}

/// Count the whole lines of `lines` (each ends with `\n`; none can be read, see
/// [`next_readable`]) as other lines; when they may hold a line past the line bound, feed them
/// one by one so that it is reported as the parser reports it. Returns how many lines.
fn plain_lines(
    parser: &mut LogParser,
    lines: &[u8],
    max_line: usize,
    number: u64,
    offset: u64,
) -> Result<u64, LogError> {
    if lines.len() <= max_line {
        let count = memchr::memchr_iter(b'\n', lines).count() as u64;
        parser.count_other_lines(count);
        return Ok(count);
    }
    let mut count = 0u64;
    let mut line_start = 0usize;
    for nl in memchr::memchr_iter(b'\n', lines) {
        let piece = &lines[line_start..nl];
        count += 1;
        let kept = &piece[..piece.len().min(max_line)];
        parser.feed_bytes(
            number + count,
            offset + line_start as u64,
            kept,
            piece.len() as u64,
        )?;
        line_start = nl + 1;
    }
    Ok(count)
}

/// The start of the line after the first `[MEMORY]` line at or after `from` (searched up to
/// [`MAX_CUT_SEARCH_BYTES`] on, before `len`), or `None`.
fn cut_after_memory(
    file: &File,
    path: &Path,
    from: u64,
    len: u64,
) -> Result<Option<u64>, LogError> {
    let finder = memchr::memmem::Finder::new(b"[MEMORY]");
    let mut buf = vec![0u8; BLOCK_BYTES];
    let mut at = from;
    while at < len && at - from < MAX_CUT_SEARCH_BYTES {
        let n = read_block(file, path, &mut buf, at)?;
        if n == 0 {
            break;
        }
        let data = &buf[..n];
        // A tag across the block's end is found in the next block (read 7 bytes back).
        if let Some(tag) = finder.find(data) {
            if let Some(nl) = memchr::memchr(b'\n', &data[tag..]) {
                let cut = at + (tag + nl + 1) as u64;
                return Ok((cut < len).then_some(cut));
            }
        }
        at += n.saturating_sub(7).max(1) as u64;
    }
    Ok(None)
}

/// Chunk starts: 0, then about every `len / chunks` bytes, each after a `[MEMORY]` line.
fn cuts(file: &File, path: &Path, len: u64, chunks: usize) -> Result<Vec<u64>, LogError> {
    let mut starts = vec![0u64];
    for k in 1..chunks as u64 {
        let nominal = len / chunks as u64 * k;
        let from = nominal.max(starts.last().copied().unwrap_or(0));
        if let Some(cut) = cut_after_memory(file, path, from, len)? {
            if starts.last().is_some_and(|&s| cut > s) {
                starts.push(cut);
            }
        }
    }
    Ok(starts)
}

/// One chunk's parser after its lines (or the error that stopped it).
type ChunkResult = Result<LogParser, LogError>;

fn parse_chunk(
    source: Source<'_>,
    path: &Path,
    origin: &str,
    range: (u64, Option<u64>),
    limits: &LogLimits,
) -> ChunkResult {
    let mut parser = if range.0 == 0 {
        LogParser::new(origin, limits.clone())
    } else {
        LogParser::continued(origin, limits.clone())
    };
    feed_range(&mut parser, source, path, range, limits)?;
    Ok(parser)
}

/// Stitch the chunks' logs in order; `None` when a cut was not clean or `max_records` is passed.
fn stitch(parsers: Vec<LogParser>, limits: &LogLimits) -> Option<ParsedLog> {
    let last = parsers.len().saturating_sub(1);
    if parsers[..last].iter().any(|p| !p.at_clean_boundary()) {
        return None;
    }
    let mut records = 0u64;
    let total_jobs: usize = parsers.iter().map(LogParser::jobs).sum();
    let mut out: Option<ParsedLog> = None;
    let (mut job_offset, mut worker_offset, mut line_offset) = (0u64, 0u32, 0u64);
    for parser in parsers {
        records += parser.records();
        let workers = parser.worker_index();
        let mut log = parser.finish();
        for job in &mut log.jobs {
            job.job += job_offset;
            job.worker_index += worker_offset;
        }
        for clear in &mut log.clears {
            clear.job += job_offset;
        }
        for bad in &mut log.unreadable {
            bad.line += line_offset;
        }
        job_offset += log.jobs.len() as u64;
        worker_offset += workers;
        line_offset += log.lines_total;
        match out.as_mut() {
            None => {
                // Room for every chunk's jobs: one move of the first chunk's, not one per chunk.
                log.jobs.reserve(total_jobs.saturating_sub(log.jobs.len()));
                out = Some(log);
            }
            Some(all) => append(all, log),
        }
    }
    (records <= limits.max_records).then_some(out).flatten()
}

fn append(all: &mut ParsedLog, log: ParsedLog) {
    all.jobs.extend(log.jobs);
    all.clears.extend(log.clears);
    all.workers_started += log.workers_started;
    if log.jobs_between_cache_clear.is_some() {
        all.jobs_between_cache_clear = log.jobs_between_cache_clear;
    }
    all.lines_total += log.lines_total;
    all.lines_other += log.lines_other;
    all.unreadable_count += log.unreadable_count;
    let room = super::parse::UNREADABLE_EXAMPLES.saturating_sub(all.unreadable.len());
    all.unreadable.extend(log.unreadable.into_iter().take(room));
}

/// Read the regular file `file` (`len` bytes when opened) in `chunks` chunks on as many
/// threads; `None` when the sequential read must decide (an unclean cut, an error, a bound).
/// The last chunk reads to the end of the file, as a sequential read would.
pub fn parse_chunked(
    file: &File,
    path: &Path,
    origin: &str,
    len: u64,
    chunks: usize,
    limits: &LogLimits,
) -> Option<ParsedLog> {
    let starts = cuts(file, path, len, chunks.max(1)).ok()?;
    // Read in place when the file maps (the last chunk then ends where the file ended when it
    // was opened); else block by block.
    let map = super::mapped::map(file, len);
    let source = map.as_ref().map_or(Source::Read(file), Source::Mapped);
    parse_at(source, path, origin, &starts, limits)
}

/// [`parse_chunked`] with the chunks starting at `starts` (line starts, increasing, from 0).
pub(super) fn parse_at(
    source: Source<'_>,
    path: &Path,
    origin: &str,
    starts: &[u64],
    limits: &LogLimits,
) -> Option<ParsedLog> {
    let ranges: Vec<(u64, Option<u64>)> = starts
        .iter()
        .enumerate()
        .map(|(i, &s)| (s, starts.get(i + 1).copied()))
        .collect();
    let (first, rest) = ranges.split_first()?;
    let results: Vec<ChunkResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = rest
            .iter()
            .map(|&range| scope.spawn(move || parse_chunk(source, path, origin, range, limits)))
            .collect();
        let mut results = vec![parse_chunk(source, path, origin, *first, limits)];
        for handle in handles {
            // A chunk that panicked (a bug) panics here as the sequential read would.
            results.push(
                handle
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            );
        }
        results
    });
    let parsers: Vec<LogParser> = results.into_iter().collect::<Result<_, _>>().ok()?;
    stitch(parsers, limits)
}

#[cfg(test)]
#[path = "chunked_tests.rs"]
mod tests;
