//! Fuzz target: the log parser never panics, and keeps its bounds, on any input.
#![no_main]

use docling_memprof::logs::{parse_reader_with, LogLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = LogLimits {
        max_line_bytes: 4096,
        max_total_bytes: 1 << 20,
        max_records: 10_000,
    };
    if let Ok(log) = parse_reader_with(data, "fuzz.log", &limits) {
        assert!(log.unreadable.len() <= docling_memprof::logs::parse::UNREADABLE_EXAMPLES);
        assert!(log.jobs.len() as u64 <= limits.max_records);
        for job in &log.jobs {
            if let Some(rss) = job.rss_mb {
                assert!(rss.is_finite() && rss >= 0.0, "implausible rss {rss} taken as data");
            }
        }
        // The analysis of whatever was read must not panic either.
        let _ = docling_memprof::logs::analyse(&log, None, &Default::default());
    }
});
