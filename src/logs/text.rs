//! The text of a worker log's lines: the tag of a line, its `key=value` fields, sizes in MB
//! and the task's source lines. No state: [`super::parse`] builds the jobs from these.

use super::limits::{plausible_size, Implausible};

pub(super) const TAGS: &[&str] = &[
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

/// Find the worker tag of a line (the leftmost `[TAG]`) and the text after it. No
/// allocation: at each `[` of the line (memchr) the text up to the next `]` is looked up
/// among the tags (no tag holds a `]`, so this is the tag the `[` starts, if any).
pub(super) fn find_tag(line: &str) -> Option<(&'static str, &str)> {
    const LONGEST: usize = {
        let (mut i, mut most) = (0, 0);
        while i < TAGS.len() {
            if TAGS[i].len() > most {
                most = TAGS[i].len();
            }
            i += 1;
        }
        most
    };
    let bytes = line.as_bytes();
    for pos in memchr::memchr_iter(b'[', bytes) {
        let window = &bytes[pos + 1..bytes.len().min(pos + 2 + LONGEST)];
        let Some(close) = memchr::memchr(b']', window) else {
            continue;
        };
        // `[` and `]` are ASCII: both ends are character boundaries.
        let name = &line[pos + 1..pos + 1 + close];
        if let Some(tag) = tag_named(name) {
            return Some((tag, line[pos + 2 + close..].trim()));
        }
    }
    None
}

/// The tag of [`TAGS`] spelled `name` (a `match`: compared by length first, then bytes).
fn tag_named(name: &str) -> Option<&'static str> {
    Some(match name {
        "WORKER START" => "WORKER START",
        "JOB EXEC" => "JOB EXEC",
        "JOB START" => "JOB START",
        "TASK START" => "TASK START",
        "DOC OK" => "DOC OK",
        "DOC ✓" => "DOC ✓",
        "DOC FAILED" => "DOC FAILED",
        "DOC ✗" => "DOC ✗",
        "TASK SUCCESS" => "TASK SUCCESS",
        "TASK FAILED" => "TASK FAILED",
        "JOB SUCCESS" => "JOB SUCCESS",
        "JOB FAILED" => "JOB FAILED",
        "JOB ERROR" => "JOB ERROR",
        "MEMORY" => "MEMORY",
        "CACHE CLEAR" => "CACHE CLEAR",
        _ => return None,
    })
}

/// Whether a line can hold anything the parser reads: every tag and every source line
/// (`  [1/1] file: ...`) has a `[`. Lines without one are counted as other lines unread.
pub(super) fn may_be_read(bytes: &[u8]) -> bool {
    memchr::memchr(b'[', bytes).is_some()
}

/// The parts of `body.split(" | ")`, found with memchr on `|` instead of a substring searcher
/// built per call.
pub(super) struct Parts<'a> {
    body: &'a str,
    /// Where the next part starts; `None` after the last.
    start: Option<usize>,
}

impl<'a> Iterator for Parts<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let start = self.start?;
        let bytes = self.body.as_bytes();
        let end = memchr::memchr_iter(b'|', &bytes[start..])
            .map(|i| start + i)
            .find(|&j| j > start && bytes[j - 1] == b' ' && bytes.get(j + 1) == Some(&b' '))
            .map(|j| j - 1);
        self.start = end.map(|e| e + 3);
        // ` | ` is ASCII: both ends are character boundaries.
        Some(&self.body[start..end.unwrap_or(self.body.len())])
    }
}

pub(super) fn parts(body: &str) -> Parts<'_> {
    Parts {
        body,
        start: Some(0),
    }
}

/// The value of the first `key=value` part of `body` whose key is `key` (both trimmed).
pub(super) fn field<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    parts(body).find_map(|part| {
        let (k, v) = part.split_once('=')?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// [`field`] of each of `keys`, in one pass over the parts.
pub(super) fn fields<'a, const N: usize>(body: &'a str, keys: [&str; N]) -> [Option<&'a str>; N] {
    let mut out = [None; N];
    for part in parts(body) {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        let k = k.trim();
        for (slot, key) in out.iter_mut().zip(keys) {
            if slot.is_none() && k == key {
                *slot = Some(v.trim());
            }
        }
    }
    out
}

/// `1115MB`, `1115 MB`, `1115.5MB` -> MiB (any finite or infinite number; checked by the caller).
pub(super) fn parse_mb(text: &str) -> Option<f64> {
    let number = text.trim().strip_suffix("MB")?.trim();
    number.parse::<f64>().ok()
}

/// A task's source line: (kind, name, size), borrowed from the line.
pub(super) type Source<'a> = (&'a str, &'a str, Option<u64>);

/// Whether `text` has a `[` followed by an ASCII digit or `+`: what the counts of a source line
/// (`[1/2]`, read as `usize`) start with. Lines without one are not source lines.
pub(super) fn may_be_source(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'[', bytes).any(|pos| {
        bytes
            .get(pos + 1)
            .is_some_and(|b| b.is_ascii_digit() || *b == b'+')
    })
}

/// `  [1/2] file: report.pdf (442.9 KB)`: `None` when the line is not a source line.
pub(super) fn parse_source(message: &str) -> Option<Result<Source<'_>, Implausible>> {
    let rest = message.trim_start().strip_prefix('[')?;
    let (counts, rest) = rest.split_once("] ")?;
    let (a, b) = counts.split_once('/')?;
    a.parse::<usize>().ok()?;
    b.parse::<usize>().ok()?;
    let (kind, rest) = rest.split_once(": ")?;
    Some(match rest.rfind(" (") {
        Some(open) if rest.ends_with(')') => {
            plausible_size("source size", &rest[open + 2..rest.len() - 1])
                .map(|size| (kind, &rest[..open], size))
        }
        _ => Ok((kind, rest, None)),
    })
}
