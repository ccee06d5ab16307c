//! The log reader's bounds, its errors, and the plausibility checks of logged numbers.
//!
//! A logged number that reads but cannot be true (a negative RSS, an RSS of 10^300 MB, a
//! negative duration) is refused with the file and line: taken as data it would give a
//! verdict like "-60 MB per job". Text that does not read at all stays an unreadable line.

use crate::bounded::BoundedError;

/// Bounds on one log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLimits {
    /// The most bytes of one line that are kept; the rest of a longer line is skipped (the
    /// line counts as unreadable).
    pub max_line_bytes: usize,
    /// The most bytes read from the log in all (a pipe or a file that never ends).
    pub max_total_bytes: u64,
    /// The most records kept (jobs, documents, sources and cache clears together).
    pub max_records: u64,
    /// Whether a closed job keeps its task, documents and job id (`record` turns them into a
    /// workload, `watch` names its jobs). Without them it keeps its numbers and its kind, all
    /// a verdict reads: most of a long log's memory, and the next job reuses their storage.
    /// Records are counted the same either way.
    pub keep_details: bool,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            max_line_bytes: 1024 * 1024,
            max_total_bytes: 16 * 1024 * 1024 * 1024,
            max_records: 5_000_000,
            keep_details: true,
        }
    }
}

/// The largest RSS (and cache-clear memory) a log may report: 64 TiB, in MiB.
pub const MAX_RSS_MB: f64 = (64u64 * 1024 * 1024) as f64;
/// The longest duration a log may report: ten years, in seconds.
pub const MAX_DURATION_SECS: f64 = 10.0 * 365.25 * 24.0 * 3600.0;
/// The largest document or task size a log may report: 1 PiB.
pub const MAX_SIZE_BYTES: u64 = 1 << 50;
/// The largest count a log may report (documents in a task, jobs between clears).
pub const MAX_COUNT: u64 = 1_000_000_000;

/// Why a log could not be read; every variant names the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error(transparent)]
    Input(#[from] BoundedError),
    /// A number that reads but cannot be true.
    #[error("{origin}:{line}: {field} = {value} is not plausible: {reason}")]
    Implausible {
        origin: String,
        line: u64,
        field: String,
        value: String,
        reason: String,
    },
    #[error("{origin}:{line}: more than the {max} records allowed (max_records): jobs, documents, sources and clears")]
    TooManyRecords { origin: String, line: u64, max: u64 },
}

impl From<LogError> for crate::Error {
    fn from(err: LogError) -> Self {
        match err {
            LogError::Input(e) => {
                let path = e.path().to_path_buf();
                let text = e.to_string();
                let prefix = format!("{}: ", path.display());
                let message = text.strip_prefix(&prefix).unwrap_or(&text).to_string();
                crate::Error::bad_input(path, "file", message)
            }
            LogError::Implausible {
                ref origin, line, ..
            }
            | LogError::TooManyRecords {
                ref origin, line, ..
            } => {
                let text = err.to_string();
                let prefix = format!("{origin}:{line}: ");
                let message = text.strip_prefix(&prefix).unwrap_or(&text).to_string();
                crate::Error::bad_input(origin.clone(), format!("line {line}"), message)
            }
        }
    }
}

/// A check failure before the file and line are known: (field, value, reason).
pub(crate) type Implausible = (&'static str, String, String);

/// An RSS or memory figure in MB: finite, not negative, at most [`MAX_RSS_MB`].
pub(crate) fn check_mb(field: &'static str, value: f64) -> Result<f64, Implausible> {
    check_signed_mb(field, value).and_then(|v| {
        if v < 0.0 {
            Err((field, format!("{v}MB"), "memory cannot be negative".into()))
        } else {
            Ok(v)
        }
    })
}

/// A difference of memory in MB (a cache clear can free a negative amount): finite, and at
/// most [`MAX_RSS_MB`] either way.
pub(crate) fn check_signed_mb(field: &'static str, value: f64) -> Result<f64, Implausible> {
    if !value.is_finite() || value.abs() > MAX_RSS_MB {
        return Err((
            field,
            format!("{value}MB"),
            format!("memory must be within {MAX_RSS_MB} MB (64 TiB)"),
        ));
    }
    Ok(value)
}

/// A duration in seconds: finite, not negative, at most [`MAX_DURATION_SECS`].
pub(crate) fn check_duration(field: &'static str, secs: f64) -> Result<f64, Implausible> {
    if !secs.is_finite() || !(0.0..=MAX_DURATION_SECS).contains(&secs) {
        return Err((
            field,
            format!("{secs}s"),
            "a duration must be between 0 and ten years".into(),
        ));
    }
    Ok(secs)
}

/// A size in bytes: at most [`MAX_SIZE_BYTES`] (the size parser saturates past u64).
pub(crate) fn check_size(field: &'static str, bytes: u64) -> Result<u64, Implausible> {
    if bytes > MAX_SIZE_BYTES {
        return Err((
            field,
            format!("{bytes} bytes"),
            "a size must be at most 1 PiB".into(),
        ));
    }
    Ok(bytes)
}

/// A count: at most [`MAX_COUNT`].
pub(crate) fn check_count(field: &'static str, count: u64) -> Result<u64, Implausible> {
    if count > MAX_COUNT {
        return Err((
            field,
            count.to_string(),
            format!("a count must be at most {MAX_COUNT}"),
        ));
    }
    Ok(count)
}

/// A logged size (`442.9 KB`) that reads: refused when negative (the text starts with `-`)
/// or past [`MAX_SIZE_BYTES`]; `Ok(None)` when the text does not read as a size.
pub(crate) fn plausible_size(field: &'static str, text: &str) -> Result<Option<u64>, Implausible> {
    if text.trim_start().starts_with('-') {
        return Err((
            field,
            text.trim().to_string(),
            "a size cannot be negative".into(),
        ));
    }
    let Some((number, _)) = text.trim().split_once(' ') else {
        return Ok(crate::units::parse_logged_size(text));
    };
    if number
        .parse::<f64>()
        .is_ok_and(|v| !v.is_finite() || v > 1e18)
    {
        return Err((
            field,
            text.trim().to_string(),
            "a size must be at most 1 PiB".into(),
        ));
    }
    match crate::units::parse_logged_size(text) {
        Some(bytes) => check_size(field, bytes).map(Some),
        None => Ok(None),
    }
}

/// A logged duration (`12.34s`, `3m 2.0s`, `120 ms`): refused when negative or absurd.
pub(crate) fn plausible_duration(
    field: &'static str,
    text: &str,
) -> Result<Option<f64>, Implausible> {
    match crate::units::parse_logged_duration(text) {
        Some(secs) => check_duration(field, secs).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_numbers_are_refused() {
        assert!(check_mb("rss", -60.0).is_err());
        assert!(check_mb("rss", 1e300).is_err());
        assert!(check_mb("rss", f64::NAN).is_err());
        assert_eq!(check_mb("rss", 1115.0), Ok(1115.0));
        assert_eq!(check_signed_mb("freed", -3.0), Ok(-3.0));
        assert!(check_duration("duration", -1.0).is_err());
        assert!(plausible_size("size", "-5 KB").is_err());
        assert!(plausible_size("size", "1e300 GB").is_err());
        assert_eq!(plausible_size("size", "1 KB"), Ok(Some(1024)));
        assert_eq!(plausible_size("size", "lots"), Ok(None));
    }
}
