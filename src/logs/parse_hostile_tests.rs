//! The log reader against hostile input: impossible numbers, long lines, invalid UTF-8,
//! injected tags, NUL tails, too many records.

use super::*;

#[test]
fn negative_rss_is_refused_with_file_and_line() {
    let text = "[MEMORY] job_id=a | rss=10MB\n[MEMORY] job_id=b | rss=-60MB\n";
    let err = parse_reader(text.as_bytes(), "w.log").unwrap_err();
    assert_eq!(
        err.to_string(),
        "w.log:2: rss = -60MB is not plausible: memory cannot be negative"
    );
    let huge = format!("[MEMORY] job_id=a | rss={}MB\n", "9".repeat(300));
    let err = parse_reader(huge.as_bytes(), "w.log").unwrap_err();
    assert!(err.to_string().starts_with("w.log:1: rss = "), "{err}");
}

#[test]
fn an_overlong_line_is_skipped_and_bounded() {
    let limits = LogLimits {
        max_line_bytes: 64,
        ..LogLimits::default()
    };
    let text = format!(
        "[MEMORY] job_id=a | rss={}MB\n[MEMORY] job_id=b | rss=5MB\n",
        "1".repeat(500)
    );
    let log = parse_reader_with(text.as_bytes(), "w.log", &limits).expect("parses");
    assert_eq!(log.jobs.len(), 1);
    assert_eq!(log.unreadable[0].line, 1);
    assert!(log.unreadable[0].reason.contains("64-byte line bound"));
}

#[test]
fn invalid_utf8_is_reported_with_line_and_offset() {
    let mut text = b"hello\n[MEMORY] job_id=a | rss=5".to_vec();
    text.push(0xff);
    text.extend_from_slice(b"MB\n");
    let log = parse_reader(&text[..], "w.log").expect("parses");
    assert_eq!(log.unreadable[0].line, 2);
    assert_eq!(
        log.unreadable[0].reason,
        "not valid UTF-8 at byte 26 of the line (file offset 31)"
    );
}

#[test]
fn a_tag_inside_a_source_name_is_a_name() {
    let text = "[TASK START] task_id=t | documents=1\n  [1/1] file: [MEMORY] job_id=x | rss=99999MB (1.0 KB)\n[MEMORY] job_id=a | rss=7MB\n";
    let log = parse_reader(text.as_bytes(), "w.log").expect("parses");
    assert_eq!(log.jobs.len(), 1);
    assert_eq!(log.jobs[0].rss_mb, Some(7.0));
}

#[test]
fn a_nul_tail_is_not_a_line_of_the_log() {
    let mut text = b"[MEMORY] job_id=a | rss=7MB\n".to_vec();
    text.extend(std::iter::repeat_n(0u8, 4096));
    let log = parse_reader(&text[..], "w.log").expect("parses");
    assert_eq!((log.jobs.len(), log.unreadable_count), (1, 0));
}

#[test]
fn records_are_bounded() {
    let limits = LogLimits {
        max_records: 3,
        ..LogLimits::default()
    };
    let text = "[MEMORY] job_id=a | rss=7MB\n".repeat(10);
    let err = parse_reader_with(text.as_bytes(), "w.log", &limits).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("w.log:4: more than the 3 records"),
        "{err}"
    );
}
