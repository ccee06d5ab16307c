//! Runs one hostile case in a child process (this test binary again, running only
//! [`child`]), under a time bound and a memory bound: the child's peak RSS (`ru_maxrss` of
//! `wait4`), and a kill when its VmRSS passes a ceiling, so that a regression cannot take the
//! machine with it. A stack overflow or an abort shows as a signal.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use docling_memprof::logs::parse_file;
use docling_memprof::worker::document::{parse, Limits};
use docling_memprof::worker::task::Source;

/// How a case ended.
#[derive(Debug)]
pub struct Outcome {
    /// `Ok(summary)` or `Err(message)` as the child printed it; `None` when it printed nothing.
    pub result: Option<Result<String, String>>,
    /// The signal that ended the child (stack overflow, abort, our kill).
    pub signal: Option<i32>,
    pub exit_code: Option<i32>,
    pub elapsed: Duration,
    pub peak_rss_bytes: u64,
    pub killed_for: Option<&'static str>,
    /// The child's output, for a case that printed no result.
    pub raw: String,
}

/// What the child does with the input at `path`.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `document::parse` of the file's bytes (read within the input bound), default limits.
    Document,
    /// `logs::parse_file`, default limits.
    Log,
    /// `Source::File` read within the default input bound.
    Source,
}

const RESULT: &str = "HOSTILE-RESULT";

/// Runs the case; kills the child past `deadline` or past `rss_ceiling` bytes.
// The child is reaped by `wait4` below (for its status while polling its memory).
#[allow(clippy::zombie_processes)]
pub fn run(kind: Kind, path: &Path, name: &str, deadline: Duration, rss_ceiling: u64) -> Outcome {
    let exe = std::env::current_exe().expect("the test binary");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "hostile::probe::child",
            "--ignored",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .env("HOSTILE_PROBE_KIND", format!("{kind:?}"))
        .env("HOSTILE_PROBE_PATH", path)
        .env("HOSTILE_PROBE_NAME", name)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the probe");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let mut killed_for = None;
    let mut polled_peak = 0u64;
    let (status, rusage) = loop {
        let mut status = 0;
        let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 on our own child, with valid out-pointers.
        let done = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut rusage) };
        if done == pid {
            break (status, rusage);
        }
        polled_peak = polled_peak.max(vm(pid, "VmHWM:"));
        if killed_for.is_none() {
            if started.elapsed() > deadline {
                killed_for = Some("time");
            } else if vm(pid, "VmRSS:") > rss_ceiling {
                killed_for = Some("memory");
            }
            if killed_for.is_some() {
                // SAFETY: signalling our own child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let text = reader.join().unwrap_or_default();
    let mut reported_peak = None;
    let result = text.clone().lines().find_map(|line| {
        // libtest prints the test's name on the same line before the test's own output.
        let rest = &line[line.find(RESULT)? + RESULT.len()..];
        let rest = rest.strip_prefix('\t')?;
        let (peak, rest) = rest.split_once('\t')?;
        reported_peak = peak.parse::<u64>().ok();
        let (verdict, message) = rest.split_once('\t')?;
        let message = message.replace("\\n", "\n");
        Some(if verdict == "ok" {
            Ok(message)
        } else {
            Err(message)
        })
    });
    Outcome {
        result,
        signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
        exit_code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        elapsed,
        // The child's own high-water mark (wait4's ru_maxrss also counts the parent's memory,
        // which the child shared until exec); the polled figure when it printed none.
        peak_rss_bytes: reported_peak.unwrap_or(polled_peak.max(rusage_peak(&rusage))),
        killed_for,
        raw: text.chars().take(2000).collect(),
    }
}

fn rusage_peak(rusage: &libc::rusage) -> u64 {
    rusage.ru_maxrss as u64 * 1024
}

/// A `/proc/<pid>/status` figure in bytes (`VmRSS:`, `VmHWM:`), 0 when unreadable.
fn vm(pid: libc::pid_t, key: &str) -> u64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// The child side: runs one case from the environment and prints its result on one line.
#[test]
#[ignore = "the hostile suite runs this in a child process (see probe::run)"]
fn child() {
    let (Some(kind), Some(path), Some(name)) = (
        std::env::var_os("HOSTILE_PROBE_KIND"),
        std::env::var_os("HOSTILE_PROBE_PATH"),
        std::env::var("HOSTILE_PROBE_NAME").ok(),
    ) else {
        panic!("run by probe::run, with HOSTILE_PROBE_KIND, _PATH and _NAME set");
    };
    let path = Path::new(&path);
    let limits = Limits::default();
    let result: Result<String, String> = match kind.to_str() {
        Some("Document") => Source::File {
            path: path.to_path_buf(),
        }
        .read_bounded(limits.max_input_bytes)
        .and_then(|bytes| parse(&name, &bytes, &limits).map_err(|e| e.to_string()))
        .map(|doc| format!("{} pages, {} items", doc.pages.len(), doc.items.len())),
        Some("Log") => parse_file(path)
            .map(|log| {
                format!(
                    "{} jobs, {} unreadable: {:?}",
                    log.jobs.len(),
                    log.unreadable_count,
                    log.unreadable.first().map(|u| (u.line, &u.reason))
                )
            })
            .map_err(|e| e.to_string()),
        Some("Source") => Source::File {
            path: path.to_path_buf(),
        }
        .read_bounded(limits.max_input_bytes)
        .map(|bytes| format!("{} bytes", bytes.len())),
        other => panic!("unknown probe kind {other:?}"),
    };
    let (verdict, message) = match result {
        Ok(m) => ("ok", m),
        Err(m) => ("err", m),
    };
    let peak = vm(std::process::id() as libc::pid_t, "VmHWM:");
    println!(
        "{RESULT}\t{peak}\t{verdict}\t{}",
        message.replace('\n', "\\n")
    );
}
