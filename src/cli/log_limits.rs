//! `--max-log-line`, `--max-log-bytes`, `--max-log-records`: the log reader's bounds
//! ([`LogLimits`]) on every command that reads a docling-serve worker log (`logs`, `record`,
//! `report LOG`). Documented in docs/limits.md.

use clap::Args;

use crate::logs::LogLimits;

#[derive(Debug, Clone, Default, Args)]
pub struct LogLimitArgs {
    /// The most bytes of one log line kept (default 1MiB); a longer line is skipped and
    /// counted as unreadable, with its line number.
    #[arg(long, value_name = "SIZE", value_parser = parse_positive_size)]
    pub max_log_line: Option<u64>,
    /// The most bytes read from the log in all (default 16GiB): past it the log is refused.
    #[arg(long, value_name = "SIZE", value_parser = parse_positive_size)]
    pub max_log_bytes: Option<u64>,
    /// The most records kept from the log: jobs, documents, sources and cache clears
    /// together (default 5000000); past it the log is refused.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_log_records: Option<u64>,
}

impl LogLimitArgs {
    /// The defaults with each given flag in place.
    pub fn limits(&self) -> LogLimits {
        let mut limits = LogLimits::default();
        if let Some(bytes) = self.max_log_line {
            // A usize is 64 bits on every target this tool builds for; saturate elsewhere.
            limits.max_line_bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        }
        if let Some(bytes) = self.max_log_bytes {
            limits.max_total_bytes = bytes;
        }
        if let Some(n) = self.max_log_records {
            limits.max_records = n;
        }
        limits
    }
}

/// A size (`512KiB`, `2GiB`, `4096`) greater than zero.
fn parse_positive_size(text: &str) -> Result<u64, String> {
    match crate::units::parse_human_size(text)? {
        0 => Err("expected a size > 0".into()),
        bytes => Ok(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_replace_only_their_own_bound() {
        let args = LogLimitArgs {
            max_log_line: Some(4096),
            ..LogLimitArgs::default()
        };
        let limits = args.limits();
        assert_eq!(limits.max_line_bytes, 4096);
        assert_eq!(limits.max_total_bytes, LogLimits::default().max_total_bytes);
        assert_eq!(limits.max_records, LogLimits::default().max_records);
        assert!(parse_positive_size("0").is_err());
        assert_eq!(parse_positive_size("2MiB"), Ok(2 * 1024 * 1024));
    }
}
