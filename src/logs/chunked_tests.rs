//! The chunked read gives the sequential parse, or declines: on the shipped fixtures, at
//! `[MEMORY]` cuts for many chunk counts and at random line starts.

use std::fs::File;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::logs::parse::{parse_file_with, parse_reader_with};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/logs");
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/logs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    assert!(logs.len() >= 10, "fixtures/logs holds the shipped logs");
    logs
}

fn sequential(path: &Path, limits: &LogLimits) -> ParsedLog {
    parse_file_with(path, limits).expect("fixture parses")
}

/// [`parse_at`] of the file read block by block and of the file mapped: the same answer.
fn both(
    file: &File,
    path: &Path,
    origin: &str,
    starts: &[u64],
    limits: &LogLimits,
) -> Option<ParsedLog> {
    let read = parse_at(Source::Read(file), path, origin, starts, limits);
    let len = file.metadata().expect("metadata").len();
    let map = crate::logs::mapped::map(file, len).expect("a regular file maps");
    let mapped = parse_at(Source::Mapped(&map), path, origin, starts, limits);
    assert_eq!(read, mapped, "{origin} read and mapped, cut at {starts:?}");
    read
}

fn line_starts(bytes: &[u8]) -> Vec<u64> {
    memchr::memchr_iter(b'\n', bytes)
        .map(|i| i as u64 + 1)
        .filter(|&s| (s as usize) < bytes.len())
        .collect()
}

#[test]
fn memory_cuts_give_the_sequential_parse_for_any_chunk_count() {
    let limits = LogLimits::default();
    let mut stitched = 0;
    for path in fixtures() {
        let want = sequential(&path, &limits);
        let file = File::open(&path).expect("open");
        let len = file.metadata().expect("metadata").len();
        let origin = path.display().to_string();
        for chunks in [2, 3, 4, 5, 7, 8, 13, 40] {
            let starts = cuts(&file, &path, len, chunks).expect("cuts");
            match both(&file, &path, &origin, &starts, &limits) {
                Some(got) => {
                    assert_eq!(got, want, "{} in {chunks} chunks", path.display());
                    stitched += usize::from(starts.len() > 1);
                }
                None => panic!(
                    "{} in {chunks} chunks: a [MEMORY] cut was not clean",
                    path.display()
                ),
            }
        }
    }
    assert!(stitched > 50, "most reads were really cut ({stitched})");
}

#[test]
fn random_line_cuts_give_the_sequential_parse_or_decline() {
    let limits = LogLimits::default();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (mut stitched, mut declined) = (0, 0);
    for path in fixtures() {
        let want = sequential(&path, &limits);
        let bytes = std::fs::read(&path).expect("read");
        let lines = line_starts(&bytes);
        let file = File::open(&path).expect("open");
        let origin = path.display().to_string();
        for _ in 0..30 {
            let cut_count = rng.gen_range(1..=6usize).min(lines.len());
            let mut starts: Vec<u64> = (0..cut_count)
                .map(|_| lines[rng.gen_range(0..lines.len())])
                .collect();
            starts.push(0);
            starts.sort_unstable();
            starts.dedup();
            match both(&file, &path, &origin, &starts, &limits) {
                Some(got) => {
                    assert_eq!(got, want, "{} cut at {starts:?}", path.display());
                    stitched += 1;
                }
                None => declined += 1,
            }
        }
    }
    assert!(
        stitched > 0 && declined > 0,
        "{stitched} stitched, {declined} declined"
    );
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

fn job(n: u32, rss: &str) -> String {
    format!(
        "[JOB START] job_id=j{n} | task_id=t{n}\n  [1/1] file: d{n}.pdf (1.0 KB)\n[DOC OK] d{n}.pdf | size=1.0 KB | pages=1\n[JOB SUCCESS] job_id=j{n} | duration=1.00s\n[MEMORY] job_id=j{n} | rss={rss} | jobs_total={n}\n"
    )
}

#[test]
fn restarts_clears_and_unreadable_lines_across_cuts_keep_their_numbers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("[WORKER START] name=w | config={'jobs_between_cache_clear': 2}\n");
    for n in 1..=40u32 {
        text += &job(n, &format!("{}MB", 800 + n));
        if n % 2 == 0 {
            text += "[CACHE CLEAR] jobs_since_last_clear=2 | memory=700MB (freed 100MB)\n";
        }
        if n % 7 == 0 {
            text += "[MEMORY] job_id=x | rss=lots\n[WORKER START] name=w | config={'jobs_between_cache_clear': 5}\n";
        }
    }
    let path = write(dir.path(), "w.log", &text);
    let limits = LogLimits::default();
    let want =
        parse_reader_with(text.as_bytes(), &path.display().to_string(), &limits).expect("parses");
    assert_eq!((want.workers_started, want.unreadable_count), (6, 5));
    let file = File::open(&path).expect("open");
    let origin = path.display().to_string();
    let len = text.len() as u64;
    for chunks in 2..=12 {
        let starts = cuts(&file, &path, len, chunks).expect("cuts");
        let got = both(&file, &path, &origin, &starts, &limits);
        assert_eq!(got.as_ref(), Some(&want), "{chunks} chunks at {starts:?}");
    }
}

#[test]
fn an_open_job_or_a_passed_bound_at_a_cut_sends_the_read_to_one_parser() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The cut after the unreadable [MEMORY] line leaves job 2 open: not clean.
    let text = format!(
        "{}[JOB START] job_id=j2\n[MEMORY] job_id=j2 | rss=lots\n{}",
        job(1, "800MB"),
        job(3, "801MB")
    );
    let path = write(dir.path(), "open.log", &text);
    let file = File::open(&path).expect("open");
    let cut = text
        .find("[MEMORY] job_id=j2")
        .and_then(|i| text[i..].find('\n').map(|j| i + j + 1));
    let starts = [0, cut.expect("the line") as u64];
    let limits = LogLimits::default();
    assert_eq!(both(&file, &path, "open.log", &starts, &limits), None);

    // 4 jobs of 2 records each (the job, its document; no task, so no source): 8 records, at
    // most 7 allowed. Each chunk alone (at most 3 jobs) fits.
    let text: String = (1..=4).map(|n| job(n, "800MB")).collect();
    let path = write(dir.path(), "many.log", &text);
    let file = File::open(&path).expect("open");
    let limits = LogLimits {
        max_records: 7,
        ..LogLimits::default()
    };
    assert!(
        parse_file_with(&path, &limits).is_err(),
        "the sequential read refuses it"
    );
    let starts = cuts(&file, &path, text.len() as u64, 2).expect("cuts");
    assert_eq!(starts.len(), 2);
    assert_eq!(both(&file, &path, "many.log", &starts, &limits), None);
}

#[test]
fn long_lines_and_a_last_line_without_newline_read_as_the_line_reader_reads_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = format!(
        "[DOC OK] {}.pdf | size=1.0 KB\n",
        "x".repeat(3 * 1024 * 1024)
    );
    let text = format!(
        "{}{long}{}[JOB START] job_id=tail\n[MEMORY] job_id=tail | rss=900MB",
        job(1, "800MB"),
        job(2, "810MB")
    );
    let path = write(dir.path(), "long.log", &text);
    let limits = LogLimits {
        max_line_bytes: 1000,
        ..LogLimits::default()
    };
    let want = parse_reader_with(text.as_bytes(), "long.log", &limits).expect("parses");
    assert_eq!((want.jobs.len(), want.unreadable_count), (3, 1));
    let file = File::open(&path).expect("open");
    for starts in [vec![0], vec![0, text.find(&long).expect("long") as u64]] {
        let got = both(&file, &path, "long.log", &starts, &limits);
        assert_eq!(got.as_ref(), Some(&want), "cut at {starts:?}");
    }
}

#[test]
fn lines_counted_without_reading_them_count_as_the_parser_counts_them() {
    // Lines the fast path only counts (no `[` before a capital, a digit or `+`) beside lines
    // it must read: a plain line past the line bound, a run of plain lines longer than the
    // bound, `[` before other bytes, NUL tails, CRLF, and a `[` as the last byte of a 128 KiB
    // read (the next byte decides in the next read).
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::new();
    for n in 1..=300u32 {
        text += &job(n, &format!("{}MB", 800 + n));
        text += "INFO:docling.models.factories:Registered ocr engines: ['easyocr', 'rapidocr']\n";
        text += "x [a] [\"b\"] [ ] [\n";
        text += "crlf line\r\n";
        if n % 50 == 0 {
            text += &format!("plain {}\n", "y".repeat(1500));
            text += &"short plain line\n".repeat(120);
            text += "\0\0\0\0\n";
        }
    }
    // A `[` right before the end of the first read, then a tag's capital after it.
    let pad = BLOCK_BYTES - 1 - text.len() % BLOCK_BYTES;
    text += &"z".repeat(pad.saturating_sub(1));
    text += "\n[MEMORY] job_id=edge | rss=999MB\n";
    text += &job(301, "900MB");
    let path = write(dir.path(), "counted.log", &text);
    let limits = LogLimits {
        max_line_bytes: 1000,
        ..LogLimits::default()
    };
    let want = parse_reader_with(text.as_bytes(), "counted.log", &limits).expect("parses");
    // The six plain lines past the bound, and the padding when it is one too.
    let padding_too_long = u64::from(pad.saturating_sub(1) > 1000);
    assert_eq!(want.unreadable_count, 6 + padding_too_long);
    assert!(want.lines_other > 1000);
    let file = File::open(&path).expect("open");
    let len = text.len() as u64;
    for chunks in [1, 2, 3, 5] {
        let starts = cuts(&file, &path, len, chunks).expect("cuts");
        let got = both(&file, &path, "counted.log", &starts, &limits);
        assert_eq!(got.as_ref(), Some(&want), "{chunks} chunks at {starts:?}");
    }
}
