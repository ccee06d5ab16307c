//! One worker child process seen from the parent: spawning it with its allocator, the
//! threads that read its stdout (protocol lines) and stderr (copied to `worker.log`), the RSS
//! sampler, waiting for its messages with deadlines, and telling how it died.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::output::open_log_append;
use super::protocol::{self, FromChild, ToChild};
use crate::alloc::{AllocatorKind, ALLOCATOR_ENV};
use crate::probe::sampler::RssSampler;
use crate::{Error, Result};

/// Lines of the child's stderr kept for the crash message.
const STDERR_TAIL_LINES: usize = 40;
/// How often the wait loop wakes up to check deadlines, Ctrl-C and the progress bar.
const POLL: Duration = Duration::from_millis(50);

/// Set by the Ctrl-C handler; the wait loop stops the child when it sees it.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Install the Ctrl-C handler (once per process; later calls do nothing).
pub fn install_interrupt_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // An error means another handler is installed (a library user's): leave it alone.
        let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    });
}

/// How to start a child.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    pub exe: PathBuf,
    pub allocator: AllocatorKind,
    pub worker_log: PathBuf,
    pub sample_interval: Duration,
    pub memory_limit_bytes: Option<u64>,
}

/// Why waiting for a message ended without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The child closed its stdout (it died or exited).
    Died,
    /// Ctrl-C.
    Interrupted,
    /// The deadline passed.
    TimedOut,
}

/// A running worker child.
#[derive(Debug)]
pub struct ChildProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    sampler: Option<RssSampler>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    stderr_thread: Option<JoinHandle<()>>,
    stray_log: Option<std::fs::File>,
    memory_limit_bytes: Option<u64>,
    pub pid: u32,
    pub worker_index: u32,
    /// Jobs sent to this child.
    pub jobs_sent: u64,
}

impl ChildProcess {
    /// Start `<exe> child` with the allocator in its environment.
    pub fn spawn(spec: &SpawnSpec, worker_index: u32) -> Result<ChildProcess> {
        let mut child = Command::new(&spec.exe)
            .arg("child")
            .env(ALLOCATOR_ENV, spec.allocator.as_str())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Error::io(
                    format!("starting the worker child {}", spec.exe.display()),
                    e,
                )
            })?;
        let pid = child.id();
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::Internal("child stdout not piped".into()))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| Error::Internal("child stderr not piped".into()))?;

        let (tx, lines) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("child-{pid}-stdout"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| Error::io("starting the stdout reader", e))?;

        let stderr_tail = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL_LINES)));
        let tail = Arc::clone(&stderr_tail);
        let mut log = open_log_append(&spec.worker_log)?;
        let stderr_thread = std::thread::Builder::new()
            .name(format!("child-{pid}-stderr"))
            .spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    // worker.log is best effort: a full disk must not kill the run.
                    let _ = writeln!(log, "{line}");
                    let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
                    if tail.len() == STDERR_TAIL_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
                let _ = log.flush();
            })
            .map_err(|e| Error::io("starting the stderr reader", e))?;

        // The child may already be gone (bad binary); then there is nothing to sample.
        let sampler = RssSampler::start(pid, spec.sample_interval, spec.memory_limit_bytes).ok();
        Ok(ChildProcess {
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

    /// Send a message; `false` when the child's stdin is closed (it died).
    pub fn send(&mut self, message: &ToChild) -> bool {
        match self.stdin.as_mut() {
            Some(stdin) => protocol::send(stdin, message).is_ok(),
            None => false,
        }
    }

    /// The latest sampled RSS of the child.
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
        mut tick: impl FnMut(&ChildProcess),
    ) -> Result<FromChild, Stop> {
        loop {
            match self.lines.recv_timeout(POLL) {
                Ok(line) => match protocol::parse::<FromChild>(&line) {
                    Ok(message) => return Ok(message),
                    Err(_) => {
                        // Not a protocol line (something printed to stdout): keep it in the log.
                        if let Some(log) = self.stray_log.as_mut() {
                            let _ = writeln!(log, "[child stdout] {line}");
                        }
                    }
                },
                Err(RecvTimeoutError::Timeout) => {
                    if INTERRUPTED.load(Ordering::SeqCst) {
                        return Err(Stop::Interrupted);
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

    /// Ask the child to stop after its last job and wait for it (killing it after `grace`).
    /// Returns a problem description when it did not exit cleanly.
    pub fn shutdown(mut self, grace: Duration) -> Option<String> {
        self.send(&ToChild::Shutdown);
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
        let status = self.reap();
        match status {
            Ok(s) if s.success() && !killed => None,
            Ok(s) => Some(format!(
                "worker {} (pid {}) did not exit cleanly: {}",
                self.worker_index,
                self.pid,
                describe_status(s)
            )),
            Err(e) => Some(format!(
                "worker {} (pid {}): {e}",
                self.worker_index, self.pid
            )),
        }
    }

    /// Stop the sampler, then wait for the child (in this order: the sampler may kill the pid,
    /// which must not be reaped and reused before it stops) and drain its stderr.
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

    /// The child stopped answering in the middle of a job: kill it if it still runs, reap it
    /// and say why it ended.
    pub fn death_reason(mut self, stop: Stop, job_timeout: Option<Duration>) -> String {
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
        match (stop, status) {
            (Stop::Interrupted, _) => "interrupted (Ctrl-C): the worker was stopped".into(),
            (Stop::TimedOut, _) => format!(
                "job timeout: still running after {}; the worker was killed",
                crate::units::format_duration(job_timeout.map(|d| d.as_secs_f64()).unwrap_or(0.0))
            ),
            (Stop::Died, _) if limit_crossed.is_some() => format!(
                "memory limit: RSS {} crossed --memory-limit {}; the parent killed the worker (SIGKILL), as the Kubernetes OOM killer would",
                crate::units::format_size(limit_crossed.unwrap_or(0)),
                crate::units::format_size(self.memory_limit_bytes.unwrap_or(0)),
            ),
            (Stop::Died, Ok(status)) if status.signal() == Some(libc::SIGINT) => {
                "interrupted (Ctrl-C): the worker got SIGINT".into()
            }
            (Stop::Died, Ok(status)) => {
                let detail = last_meaningful(&tail);
                match detail {
                    Some(line) => format!("{}: {line}", describe_status(status)),
                    None => describe_status(status),
                }
            }
            (Stop::Died, Err(e)) => format!("the worker ended and could not be waited for: {e}"),
        }
    }

    /// Wait for the `ready` message after `init`.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<FromChild, Stop> {
        self.wait_message(Some(Instant::now() + timeout), |_| {})
    }
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

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
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

/// The line of the child's stderr that best says why it died (a panic message, or the last).
fn last_meaningful(tail: &[String]) -> Option<String> {
    tail.iter()
        .rev()
        .find(|l| l.contains("panicked at") || l.contains("error") || l.contains("abort"))
        .or_else(|| tail.iter().rev().find(|l| !l.trim().is_empty()))
        .map(|l| l.trim().chars().take(300).collect())
}

/// The binary to start as the child: the running executable.
pub fn current_exe() -> Result<PathBuf> {
    std::env::current_exe().map_err(|e| Error::io("locating the docling-memprof binary", e))
}
