//! The library's error type and the exit codes the binary maps it to.
//!
//! Exit codes (documented in the README):
//! - 0: success (and, for `gate`, every budget held)
//! - 1: a budget was broken (`gate`), or a run found what it was asked to fail on
//! - 2: bad input: a workload, log, budget, report folder or flag that cannot be used
//! - 3: the worker child died (signal, OOM kill, panic, timeout) or was interrupted
//! - 4: an I/O or internal failure of the tool itself

use std::path::PathBuf;

/// Exit code for bad input (malformed workload, log, budget, flags).
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code for a budget broken by `gate`.
pub const EXIT_BUDGET_BROKEN: i32 = 1;
/// Exit code for a worker child that died or was interrupted.
pub const EXIT_CHILD_DIED: i32 = 3;
/// Exit code for an I/O or internal failure.
pub const EXIT_INTERNAL: i32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that cannot be used, with the file and the place in it.
    #[error("{path}: {place}: {message}")]
    BadInput {
        path: PathBuf,
        /// A JSON path (`$.jobs[3].options.ocr_engine`), a line number (`line 12`), ...
        place: String,
        message: String,
    },
    /// A flag or argument that cannot be used.
    #[error("{0}")]
    Usage(String),
    /// The worker child died or was interrupted; the records of finished jobs were kept.
    #[error("worker child {0}")]
    ChildDied(String),
    /// A run or search stopped before its end (a signal); what finished was kept.
    #[error("{0}")]
    Interrupted(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::BadInput { .. } | Error::Usage(_) => EXIT_BAD_INPUT,
            Error::ChildDied(_) | Error::Interrupted(_) => EXIT_CHILD_DIED,
            Error::Io { .. } | Error::Internal(_) => EXIT_INTERNAL,
        }
    }

    /// Read a whole text input (a workload, `run.json`, `jobs.jsonl`) as a regular file of at
    /// most `max_bytes` ([`crate::bounded`]); errors name the file and the problem (invalid
    /// UTF-8 with its byte offset).
    pub fn read_text_input(path: &std::path::Path, max_bytes: u64, what: &str) -> Result<String> {
        let bytes = crate::bounded::read_file(path, max_bytes, what)
            .map_err(|e| Error::bad_input(path, "file", e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            Error::bad_input(path, format!("byte {offset}"), "not valid UTF-8")
        })
    }

    pub fn bad_input(
        path: impl Into<PathBuf>,
        place: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::BadInput {
            path: path.into(),
            place: place.into(),
            message: message.into(),
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
