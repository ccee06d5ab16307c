//! Hostile logs (synthetic, from [`super::gen`]): impossible numbers, endless and huge input,
//! devices and FIFOs, invalid UTF-8; each in a child under a time and memory bound.

use std::io::Write;
use std::path::Path;

use docling_memprof::logs::{parse_file_with, LogLimits};

use super::gen;
use super::probe::Kind::Log;
use super::{run_all, slow_enabled, write, Case, Expect};

fn log(name: &'static str, text: impl Fn() -> Vec<u8> + 'static, expect: Expect) -> Case {
    Case::new(
        name,
        Log,
        "worker.log",
        move |dir: &Path| write(dir, "worker.log", &text()),
        expect,
    )
}

fn cases() -> Vec<Case> {
    vec![
        // Was a verdict of -60 MB per job.
        log(
            "log_negative_rss_taken_as_data",
            || gen::log_with(30, "[MEMORY] job_id=x | rss=-60MB | jobs_total=31\n").into_bytes(),
            Expect::Error(&["worker.log: line 61: rss = -60MB", "negative"]),
        ),
        // Was a 300-digit CI bound.
        log(
            "log_absurd_rss_taken_as_data",
            || {
                gen::log_with(
                    5,
                    &format!("[MEMORY] job_id=x | rss={}MB\n", "9".repeat(300)),
                )
                .into_bytes()
            },
            Expect::Error(&["worker.log: line 11: rss = ", "64 TiB"]),
        ),
        log(
            "log_negative_duration",
            || {
                gen::log_with(2, "[JOB SUCCESS] job_id=x | task_id=t | duration=-5.00s\n")
                    .into_bytes()
            },
            Expect::Error(&["line 5", "duration = -5s"]),
        ),
        log(
            "log_invalid_utf8_reported_without_line_or_offset",
            || {
                let mut bytes = gen::log_with(3, "").into_bytes();
                bytes.extend_from_slice(b"[MEMORY] job_id=x | rss=1\xff0MB\n");
                bytes
            },
            Expect::Success("(7, \"not valid UTF-8 at byte 26 of the line (file offset"),
        ),
        log(
            "log_line_of_64_mib",
            || {
                let mut bytes = gen::log_with(3, "[MEMORY] job_id=x | rss=").into_bytes();
                bytes.extend(std::iter::repeat_n(b'7', 64 << 20));
                bytes.extend_from_slice(b"MB\n");
                bytes
            },
            Expect::Success("past the 1048576-byte line bound"),
        )
        .within(20, 128),
        log(
            "log_nul_tail_after_a_crash",
            || {
                let mut bytes = gen::log_with(3, "").into_bytes();
                bytes.extend(std::iter::repeat_n(0u8, 8 << 20));
                bytes
            },
            Expect::Success("3 jobs, 0 unreadable"),
        )
        .within(20, 128),
        Case::new(
            "log_dev_zero_grows_until_killed",
            Log,
            "zero",
            |_: &Path| "/dev/zero".into(),
            Expect::Error(&["/dev/zero: file: is a character device, not a regular file"]),
        )
        .within(5, 64),
        Case::new(
            "log_directory",
            Log,
            "dir",
            |dir: &Path| dir.to_path_buf(),
            Expect::Error(&["is a directory, not a regular file"]),
        )
        .within(5, 64),
        // Was 4.1 GB for one 2 GB line.
        Case::new(
            "log_line_of_2_gb",
            Log,
            "huge.log",
            |dir: &Path| {
                let path = dir.join("huge.log");
                let mut file = std::fs::File::create(&path).expect("create");
                file.write_all(b"[MEMORY] job_id=x | rss=").expect("write");
                let chunk = vec![b'1'; 1 << 20];
                for _ in 0..2048 {
                    file.write_all(&chunk).expect("write");
                }
                file.write_all(b"MB\n[MEMORY] job_id=y | rss=5MB\n")
                    .expect("write");
                path
            },
            Expect::Success("1 jobs, 1 unreadable"),
        )
        .within(120, 128)
        .slow(),
    ]
}

#[test]
fn hostile_logs_fail_cleanly_within_bounds() {
    run_all(cases().into_iter().filter(|c| !c.slow).collect());
}

#[test]
fn hostile_logs_slow_cases() {
    if !slow_enabled() {
        eprintln!("SKIPPED: set DOCLING_MEMPROF_SLOW_TESTS=1 for the slow hostile logs");
        return;
    }
    run_all(cases().into_iter().filter(|c| c.slow).collect());
}

/// An endless pipe (a FIFO fed forever) stops at the total bound, naming it, with memory
/// bounded by the line bound.
#[test]
fn log_endless_pipe_stops_at_the_total_bound() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("endless.log");
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let writer_path = path.clone();
    let writer = std::thread::spawn(move || {
        let Ok(mut fifo) = std::fs::OpenOptions::new().write(true).open(&writer_path) else {
            return;
        };
        let chunk = b"[JOB EXEC] job_id=a | no newline for a while ".repeat(1000);
        // Stops when the reader closes its end (EPIPE).
        while fifo.write_all(&chunk).is_ok() {}
    });
    let limits = LogLimits {
        max_line_bytes: 4096,
        max_total_bytes: 32 << 20,
        max_records: 1000,
        ..LogLimits::default()
    };
    let err = parse_file_with(&path, &limits).unwrap_err().to_string();
    assert!(err.contains("endless.log"), "{err}");
    assert!(
        err.contains("33554432-byte bound (max_total_bytes of a log)"),
        "{err}"
    );
    writer.join().expect("writer ends");
}
