//! One worker process seen from the parent, whatever the backend: spawning it, the threads
//! that read its stdout (protocol lines) and stderr (copied to `worker.log`), the RSS sampler,
//! waiting for its messages with deadlines and cancellation, and telling how it died.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::cancel::Cancel;
use crate::observe::RssSampler;
use crate::protocol::{self, FromWorker, ToWorker};
use crate::record::Death;
use crate::units::format_size;
use crate::{Error, Result};

/// Lines of the worker's stderr kept for the crash message.
const STDERR_TAIL_LINES: usize = 40;
/// How often the wait loop wakes up to check deadlines, cancellation and the progress bar.
const POLL: Duration = Duration::from_millis(50);
/// The longest protocol line accepted (a snapshot with a census and sites is a few hundred KB).
pub const MAX_PROTOCOL_LINE_BYTES: u64 = 64 * 1024 * 1024;
/// The longest log line copied into worker.log (longer ones are cut, with a marker).
const MAX_LOG_LINE_BYTES: u64 = 1024 * 1024;

/// How to start a worker process.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub worker_log: PathBuf,
    pub sample_interval: Duration,
    pub memory_limit_bytes: Option<u64>,
}

/// Why waiting for a message ended without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The worker closed its stdout (it died or exited).
    Died,
    /// The run was cancelled (the signal's name).
    Interrupted(&'static str),
    /// The deadline passed.
    TimedOut,
    /// A line that claims to be a message did not parse, or was too long.
    Protocol(String),
}

/// A line from the worker's stdout, or the problem reading it.
enum Line {
    Text(String),
    TooLong,
}

/// A running worker process.
#[derive(Debug)]
pub struct WorkerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<LineMsg>,
    sampler: Option<RssSampler>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    stderr_thread: Option<JoinHandle<()>>,
    stray_log: Option<std::fs::File>,
    memory_limit_bytes: Option<u64>,
    pub pid: u32,
    pub worker_index: u32,
    /// Jobs sent to this worker.
    pub jobs_sent: u64,
}

#[derive(Debug)]
struct LineMsg(std::result::Result<String, ()>);

/// Read one line of at most `max` bytes; `None` at the end.
fn read_bounded_line(reader: &mut impl BufRead, max: u64) -> Option<Line> {
    let mut buf = Vec::new();
    let n = reader
        .by_ref()
        .take(max + 1)
        .read_until(b'\n', &mut buf)
        .ok()?;
    if n == 0 {
        return None;
    }
    if buf.last() != Some(&b'\n') && n as u64 > max {
        // Skip the rest of the overlong line.
        let mut sink = Vec::new();
        loop {
            sink.clear();
            match reader.by_ref().take(64 * 1024).read_until(b'\n', &mut sink) {
                Ok(0) => break,
                Ok(_) if sink.last() == Some(&b'\n') => break,
                Ok(_) => continue,
                Err(_) => break,
            }
        }
        return Some(Line::TooLong);
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Some(Line::Text(String::from_utf8_lossy(&buf).into_owned()))
}

impl WorkerProcess {
    /// Start the worker with its stdin, stdout and stderr piped.
    pub fn spawn(spec: &SpawnSpec, worker_index: u32) -> Result<WorkerProcess> {
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &spec.env {
            command.env(key, value);
        }
        let mut child = command
            .spawn()
            .map_err(|e| Error::io(format!("starting the worker {}", spec.program.display()), e))?;
        let pid = child.id();
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::Internal("worker stdout not piped".into()))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| Error::Internal("worker stderr not piped".into()))?;

        let (tx, lines) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("worker-{pid}-stdout"))
            .spawn(move || {
                let mut reader = BufReader::new(stdout);
                while let Some(line) = read_bounded_line(&mut reader, MAX_PROTOCOL_LINE_BYTES) {
                    let msg = match line {
                        Line::Text(text) => LineMsg(Ok(text)),
                        Line::TooLong => LineMsg(Err(())),
                    };
                    if tx.send(msg).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| Error::io("starting the stdout reader", e))?;

        let stderr_tail = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL_LINES)));
        let stderr_thread = copy_stderr(stderr, &spec.worker_log, Arc::clone(&stderr_tail), pid)?;
        // The worker may already be gone (bad program); then there is nothing to sample.
        let sampler = RssSampler::start(pid, spec.sample_interval, spec.memory_limit_bytes).ok();
        Ok(WorkerProcess {
            child,
            stdin,
            lines,
            sampler,
            stderr_tail,
            stderr_thread: Some(stderr_thread),
            stray_log: open_log_append(&spec.worker_log).ok(),
            memory_limit_bytes: spec.memory_limit_bytes,
            pid,
            worker_index,
            jobs_sent: 0,
        })
    }

    /// Send a message; `false` when the worker's stdin is closed (it died).
    pub fn send(&mut self, message: &ToWorker) -> bool {
        match self.stdin.as_mut() {
            Some(stdin) => protocol::send(stdin, message).is_ok(),
            None => false,
        }
    }

    /// Send a job, streaming its inline sources from their files; `false` when the worker's
    /// stdin is closed (it died) or a source could not be read. A failed send closes the
    /// worker's stdin: a worker left with half a line sees its end instead of waiting for
    /// the rest, so that reaping it cannot hang.
    pub fn send_job(&mut self, job: &protocol::inline::OutgoingJob) -> bool {
        let sent = match self.stdin.as_mut() {
            Some(stdin) => protocol::inline::send_job(stdin, job).is_ok(),
            None => false,
        };
        if !sent {
            drop(self.stdin.take());
        }
        sent
    }

    /// The latest sampled RSS of the worker.
    pub fn current_rss_bytes(&self) -> Option<u64> {
        self.sampler.as_ref().map(RssSampler::current_rss_bytes)
    }

    /// Restart the peak RSS (a job starts).
    pub fn reset_peak(&self) {
        if let Some(s) = &self.sampler {
            s.reset_peak();
        }
    }

    /// The peak RSS since the last reset.
    pub fn take_peak_bytes(&self) -> Option<u64> {
        self.sampler.as_ref().and_then(RssSampler::take_peak_bytes)
    }

    /// Wait for the next protocol message. `tick` runs at each wake-up (progress bar).
    pub fn wait_message(
        &mut self,
        deadline: Option<Instant>,
        cancel: &Cancel,
        mut tick: impl FnMut(&WorkerProcess),
    ) -> std::result::Result<FromWorker, Stop> {
        loop {
            match self.lines.recv_timeout(POLL) {
                Ok(LineMsg(Ok(line))) => {
                    if line.trim().is_empty() {
                        continue;
                    }
                    if !protocol::looks_like_message(&line) {
                        // Stray output of the worker or its libraries: keep it in the log.
                        if let Some(log) = self.stray_log.as_mut() {
                            let _ = writeln!(log, "[worker stdout] {line}");
                        }
                        continue;
                    }
                    return protocol::parse::<FromWorker>(&line).map_err(|e| {
                        let shown: String = line.chars().take(200).collect();
                        Stop::Protocol(format!("bad message ({e}): {shown}"))
                    });
                }
                Ok(LineMsg(Err(()))) => {
                    return Err(Stop::Protocol(format!(
                        "a line on stdout longer than {}",
                        format_size(MAX_PROTOCOL_LINE_BYTES)
                    )))
                }
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(reason) = cancel.reason() {
                        return Err(Stop::Interrupted(reason));
                    }
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(Stop::TimedOut);
                    }
                    tick(self);
                }
                Err(RecvTimeoutError::Disconnected) => return Err(Stop::Died),
            }
        }
    }

    /// Ask the worker to stop after its last job and wait for it (killing it after `grace`).
    /// Returns a problem description when it did not exit cleanly.
    pub fn shutdown(mut self, grace: Duration) -> Option<String> {
        self.send(&ToWorker::Shutdown);
        drop(self.stdin.take());
        let deadline = Instant::now() + grace;
        let mut killed = false;
        loop {
            match self.lines.recv_timeout(POLL) {
                Ok(_) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) if Instant::now() >= deadline => {
                    let _ = self.child.kill();
                    killed = true;
                    break;
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
        let (index, pid) = (self.worker_index, self.pid);
        match self.reap() {
            Ok(s) if s.success() && !killed => None,
            Ok(s) => Some(format!(
                "worker {index} (pid {pid}) did not exit cleanly: {}",
                describe_status(s)
            )),
            Err(e) => Some(format!("worker {index} (pid {pid}): {e}")),
        }
    }

    /// Stop the sampler, then wait for the worker (in this order: the sampler may kill the
    /// pid, which must not be reaped and reused before it stops) and drain its stderr.
    fn reap(&mut self) -> std::io::Result<ExitStatus> {
        if let Some(sampler) = self.sampler.take() {
            sampler.stop();
        }
        let status = self.child.wait();
        if let Some(thread) = self.stderr_thread.take() {
            let _ = thread.join();
        }
        status
    }

    /// Kill the worker now (a death the parent decided: memory limit proven by a job's own
    /// readings, protocol error) and reap it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.reap();
    }

    /// The worker stopped answering in the middle of a job: kill it if it still runs, reap it
    /// and say why it ended, typed and in words.
    pub fn death(mut self, stop: Stop, job_timeout: Option<Duration>) -> (Death, String) {
        let limit_crossed = self
            .sampler
            .as_ref()
            .and_then(RssSampler::limit_crossed_at_bytes);
        if stop != Stop::Died {
            let _ = self.child.kill();
        }
        let status = self.reap();
        let tail: Vec<String> = self
            .stderr_tail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        classify(
            stop,
            status,
            limit_crossed,
            self.memory_limit_bytes,
            job_timeout,
            &tail,
        )
    }
}

/// A death from how waiting stopped and how the process ended.
fn classify(
    stop: Stop,
    status: std::io::Result<ExitStatus>,
    limit_crossed: Option<u64>,
    limit: Option<u64>,
    job_timeout: Option<Duration>,
    tail: &[String],
) -> (Death, String) {
    match (stop, status) {
        (Stop::Interrupted(signal), _) => (
            Death::Interrupted {
                signal: signal.into(),
            },
            format!("interrupted ({signal}): the worker was stopped"),
        ),
        (Stop::TimedOut, _) => {
            let after_secs = job_timeout.map_or(0.0, |d| d.as_secs_f64());
            (
                Death::Timeout { after_secs },
                format!(
                    "job timeout: still running after {}; the worker was killed",
                    crate::units::format_duration(after_secs)
                ),
            )
        }
        (Stop::Protocol(detail), _) => (
            Death::ProtocolError {
                detail: detail.clone(),
            },
            format!("protocol error: {detail}; the worker was killed"),
        ),
        (Stop::Died, _) if limit_crossed.is_some() => {
            let rss_bytes = limit_crossed.unwrap_or(0);
            let limit_bytes = limit.unwrap_or(0);
            (
                Death::MemoryLimit {
                    rss_bytes,
                    limit_bytes,
                },
                memory_limit_reason(rss_bytes, limit_bytes),
            )
        }
        (Stop::Died, Ok(status)) => died_status(status, tail),
        (Stop::Died, Err(e)) => (
            Death::Exited { code: None },
            format!("the worker ended and could not be waited for: {e}"),
        ),
    }
}

fn died_status(status: ExitStatus, tail: &[String]) -> (Death, String) {
    let words = match last_meaningful(tail) {
        Some(line) => format!("{}: {line}", describe_status(status)),
        None => describe_status(status),
    };
    match status.signal() {
        Some(libc::SIGINT) => (
            Death::Interrupted {
                signal: "SIGINT".into(),
            },
            "interrupted (SIGINT): the worker got SIGINT".into(),
        ),
        Some(signal) => (
            Death::Signal {
                signal,
                name: signal_name(signal).into(),
            },
            words,
        ),
        None => (
            Death::Exited {
                code: status.code(),
            },
            words,
        ),
    }
}

/// The sentence of a memory-limit death.
pub fn memory_limit_reason(rss_bytes: u64, limit_bytes: u64) -> String {
    format!(
        "memory limit: RSS {} crossed --memory-limit {}; the parent killed the worker (SIGKILL), as the Kubernetes OOM killer would",
        format_size(rss_bytes),
        format_size(limit_bytes),
    )
}

/// Copy the worker's stderr into worker.log (best effort: a full disk must not kill the run),
/// keeping the last lines for the crash message.
fn copy_stderr(
    stderr: std::process::ChildStderr,
    log_path: &Path,
    tail: Arc<Mutex<VecDeque<String>>>,
    pid: u32,
) -> Result<JoinHandle<()>> {
    let mut log = open_log_append(log_path)?;
    std::thread::Builder::new()
        .name(format!("worker-{pid}-stderr"))
        .spawn(move || {
            let mut reader = BufReader::new(stderr);
            while let Some(line) = read_bounded_line(&mut reader, MAX_LOG_LINE_BYTES) {
                let line = match line {
                    Line::Text(text) => text,
                    Line::TooLong => "[docling-memprof: a log line over 1 MiB was cut]".into(),
                };
                let _ = writeln!(log, "{line}");
                let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
                if tail.len() == STDERR_TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
            let _ = log.flush();
        })
        .map_err(|e| Error::io("starting the stderr reader", e))
}

/// How a process ended, in words.
pub fn describe_status(status: ExitStatus) -> String {
    if let Some(signal) = status.signal() {
        let name = signal_name(signal);
        let hint = match signal {
            libc::SIGKILL => " (killed: the OOM killer or a kill -9)",
            libc::SIGABRT => " (aborted)",
            libc::SIGSEGV => " (segmentation fault)",
            _ => "",
        };
        return format!("killed by signal {signal} ({name}){hint}");
    }
    match status.code() {
        Some(0) => "exited with code 0 in the middle of a job".into(),
        Some(101) => "panicked (exit code 101)".into(),
        Some(code) => format!("exited with code {code}"),
        None => "ended without an exit code".into(),
    }
}

pub(crate) fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        libc::SIGKILL => "SIGKILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGPIPE => "SIGPIPE",
        _ => "signal",
    }
}

/// The line of the worker's stderr that best says why it died (a panic message, or the last).
fn last_meaningful(tail: &[String]) -> Option<String> {
    tail.iter()
        .rev()
        .find(|l| {
            l.contains("panicked at")
                || l.contains("error")
                || l.contains("Error")
                || l.contains("abort")
        })
        .or_else(|| tail.iter().rev().find(|l| !l.trim().is_empty()))
        .map(|l| l.trim().chars().take(300).collect())
}

/// A log file the worker's output is copied into, line by line.
pub fn open_log_append(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlong_line_is_reported_and_skipped() {
        let text = format!("{}\nnext\n", "x".repeat(100));
        let mut reader = BufReader::new(text.as_bytes());
        assert!(matches!(
            read_bounded_line(&mut reader, 10),
            Some(Line::TooLong)
        ));
        assert!(matches!(read_bounded_line(&mut reader, 10), Some(Line::Text(t)) if t == "next"));
        assert!(read_bounded_line(&mut reader, 10).is_none());
    }
}
