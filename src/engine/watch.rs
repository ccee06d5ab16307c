//! `watch`: a live worker followed from outside, by PID or as a command `watch` starts. The
//! same run folder and events as a replay, with the log and `/proc` as the source of events
//! instead of a backend: every `--interval` a sample of the process tree (`Sampled`, a line
//! of `samples.jsonl`), job boundaries from the log's lines as they are written (`JobStarted`,
//! `JobDone`, `CacheCleared`), and at the end (SIGINT/SIGTERM, or the process exited) the
//! death when there was one. Never ptrace, never stop the process.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::events::{emit, Event, Observer};
use super::folder::{FolderWriter, RunFolder};
use super::manifest::{git_revision, machine_info, now_rfc3339};
use super::replay::RunOutcome;
use super::watch_jobs::JobTracker;
use crate::backend::process::signal_name;
use crate::cancel::Cancel;
use crate::logs::LogTail;
use crate::observe::watcher::TreeSampler;
use crate::record::{
    CgroupVersion, Death, Isolation, JobSource, ProcessExit, RunManifest, RunStatus, Snapshot,
    SnapshotKind, WatchInfo, WorkerKind, RECORD_SCHEMA_VERSION,
};
use crate::{Error, Result};

/// What to watch.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchTarget {
    /// A running process.
    Pid(u32),
    /// A command `watch` starts (its stdout and stderr go to the run folder's `worker.log`).
    Command(Vec<String>),
}

/// A watch, configured.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    pub target: WatchTarget,
    /// The log to follow (None with a command: its `worker.log`; None with a PID: no log).
    pub log: Option<PathBuf>,
    pub interval: Duration,
    pub smaps_interval: Duration,
    pub memory_limit_bytes: Option<u64>,
    /// The name of the run folder's workload (`--name`, else the host name).
    pub name: String,
}

/// How long a started command gets to exit after SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(5);
/// How often the log is read between samples.
const LOG_POLL: Duration = Duration::from_millis(100);

/// Why the loop ended.
enum End {
    Cancelled(&'static str),
    Exited(Option<ExitStatus>),
}

/// One watch.
#[derive(Debug)]
pub struct Watch {
    config: WatchConfig,
    out_dir: PathBuf,
}

impl Watch {
    pub fn new(config: WatchConfig, out_dir: &Path) -> Watch {
        Watch {
            config,
            out_dir: out_dir.to_path_buf(),
        }
    }

    /// Follow the process until it exits or `cancel` is set. A PID that does not exist or
    /// cannot be read, and a log that cannot be read, are bad input before the folder is made.
    pub fn run(self, observers: &mut [&mut dyn Observer], cancel: &Cancel) -> Result<RunOutcome> {
        let wall = Instant::now();
        let config = &self.config;
        if let WatchTarget::Pid(pid) = config.target {
            TreeSampler::new(pid, config.smaps_interval).map_err(target_error)?;
        }
        let given_log = config.log.as_deref().map(open_log).transpose()?;
        let folder = RunFolder::create(&self.out_dir)?;
        let (pid, mut child) = match &config.target {
            WatchTarget::Pid(pid) => (*pid, None),
            WatchTarget::Command(argv) => match spawn(argv, &folder.worker_log_path()) {
                Ok(child) => (child.id(), Some(child)),
                Err(err) => {
                    // Nothing ran: the folder is given up for a later run.
                    let _ = std::fs::remove_file(folder.worker_log_path());
                    folder.abandon();
                    return Err(err);
                }
            },
        };
        let mut sampler = TreeSampler::new(pid, config.smaps_interval).map_err(target_error)?;
        let tail = match (given_log, &child) {
            (Some(tail), _) => Some(tail),
            (None, Some(_)) => Some(open_log(&folder.worker_log_path())?),
            (None, None) => None,
        };
        let mut tracker = JobTracker::new(tail, pid, config.interval)?;
        let mut manifest = self.manifest(pid, &sampler, &tracker);
        let mut writer = FolderWriter { folder };
        let mut all: Vec<&mut dyn Observer> = vec![&mut writer];
        all.extend(observers.iter_mut().map(|o| &mut **o as &mut dyn Observer));
        emit(
            &mut all,
            Event::RunStarted {
                manifest: &manifest,
            },
        )?;
        let baseline = baseline_of(&mut sampler);
        manifest.baselines.push(baseline);
        manifest.workers_started = 1;
        emit(
            &mut all,
            Event::WorkerStarted {
                worker_index: 0,
                pid,
                baseline: manifest.baselines.first(),
                manifest: &manifest,
            },
        )?;
        let oom_before = oom_kills(&sampler);
        let end = self.follow(
            &mut all,
            &mut sampler,
            &mut tracker,
            &mut child,
            cancel,
            wall,
        )?;
        let end = match (end, child.as_mut()) {
            (End::Cancelled(signal), Some(child)) => {
                End::Exited(stop_child(child)).or_cancelled(signal)
            }
            (end, _) => end,
        };
        let exit = self.exit_of(&end, &sampler, oom_before);
        let death = exit.as_ref().and_then(death_of);
        let t = wall.elapsed().as_secs_f64();
        let ended = matches!(end, End::Exited(_));
        tracker.finish(&mut all, &mut sampler, t, death.as_ref(), ended)?;
        close_manifest(
            &mut manifest,
            &end,
            exit,
            death.as_ref(),
            &sampler,
            &tracker,
            t,
        );
        emit(&mut all, Event::WorkerRetired { worker_index: 0 })?;
        emit(
            &mut all,
            Event::RunEnded {
                manifest: &manifest,
            },
        )?;
        Ok(RunOutcome {
            dir: self.out_dir.clone(),
            manifest,
            records: std::mem::take(&mut tracker.records),
        })
    }

    /// The sampling loop: until the process exits or the watch is cancelled.
    fn follow(
        &self,
        all: &mut [&mut dyn Observer],
        sampler: &mut TreeSampler,
        tracker: &mut JobTracker,
        child: &mut Option<Child>,
        cancel: &Cancel,
        wall: Instant,
    ) -> Result<End> {
        let mut next_sample = Instant::now();
        loop {
            if let Some(reason) = cancel.reason() {
                return Ok(End::Cancelled(reason));
            }
            if let Some(child) = child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Ok(End::Exited(Some(status)));
                }
            }
            let t = wall.elapsed().as_secs_f64();
            if Instant::now() >= next_sample {
                next_sample += self.config.interval;
                let Some(sample) = sampler.sample(t, tracker.running_job()) else {
                    let status = child.as_mut().and_then(|c| c.wait().ok());
                    return Ok(End::Exited(status));
                };
                let rss = sample.worker().map(|m| m.rss_bytes);
                tracker.on_rss(rss.unwrap_or(0));
                emit(all, Event::Sampled { sample: &sample })?;
                emit(all, Event::Tick { rss_bytes: rss })?;
                if !tracker.has_log() {
                    if let Some(memory) = sample.worker() {
                        tracker.interval_record(all, memory, t)?;
                    }
                }
            }
            tracker.poll(all, sampler, t)?;
            let until_sample = next_sample.saturating_duration_since(Instant::now());
            std::thread::sleep(until_sample.min(LOG_POLL));
        }
    }

    fn manifest(&self, pid: u32, sampler: &TreeSampler, tracker: &JobTracker) -> RunManifest {
        let argv = match &self.config.target {
            WatchTarget::Pid(_) => None,
            WatchTarget::Command(argv) => Some(argv.clone()),
        };
        let log = tracker.tail().map(|t| t.path().display().to_string());
        let mut notes = Vec::new();
        if tracker.history_jobs > 0 {
            notes.push(format!(
                "{} job(s) already in the log when the watch started were not recorded (nothing was sampled then)",
                tracker.history_jobs
            ));
        }
        let watch = WatchInfo {
            pid,
            argv: argv.clone(),
            log: log.clone(),
            jobs_from: if log.is_some() {
                JobSource::Log
            } else {
                JobSource::Intervals
            },
            interval_secs: self.config.interval.as_secs_f64(),
            smaps_interval_secs: self.config.smaps_interval.as_secs_f64(),
            cgroup: sampler.cgroup().map(|c| {
                let version = match c.version {
                    CgroupVersion::V2 => "v2",
                    CgroupVersion::V1 => "v1",
                };
                format!("{} ({version})", c.dir.display())
            }),
            notes,
            samples: 0,
            exit: None,
        };
        let workload_path = match (&argv, &log) {
            (Some(argv), _) => argv.join(" "),
            (None, Some(log)) => format!("PID {pid}, log {log}"),
            (None, None) => format!("PID {pid}"),
        };
        RunManifest {
            schema_version: RECORD_SCHEMA_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            workload_path,
            workload_name: self.config.name.clone(),
            workload: serde_json::Value::Null,
            worker: WorkerKind::Watched {
                pid,
                argv: argv.unwrap_or_default(),
            },
            allocator: None,
            isolation: Isolation::Worker,
            sites: None,
            census: false,
            memory_limit_bytes: self.config.memory_limit_bytes,
            git_revision: git_revision(),
            machine: machine_info(),
            started_at: now_rfc3339(),
            finished_at: None,
            baselines: Vec::new(),
            status: RunStatus::Running,
            status_message: None,
            wall_time_secs: None,
            workers_started: 0,
            jobs_planned: None,
            watch: Some(watch),
        }
    }

    /// How the process ended (None when the watch stopped and the process lives on).
    fn exit_of(&self, end: &End, sampler: &TreeSampler, oom_before: u64) -> Option<ProcessExit> {
        let End::Exited(status) = end else {
            return None;
        };
        let oom_after = oom_kills(sampler);
        let oom_killed = oom_after > oom_before;
        let code = status.and_then(|s| s.code());
        let signal = status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s));
        let mut detail = match (code, signal) {
            (Some(code), _) => format!("exited with code {code}"),
            (None, Some(signal)) => format!("killed by signal {signal} ({})", signal_name(signal)),
            (None, None) => {
                "exited (its exit status is not visible to a watcher that did not start it)".into()
            }
        };
        if oom_killed {
            detail.push_str(&format!(
                "; OOM-killed: the cgroup's oom_kill count (memory.events, v1: memory.oom_control) went from {oom_before} to {oom_after}"
            ));
        }
        Some(ProcessExit {
            code,
            signal,
            oom_killed,
            detail,
        })
    }
}

impl End {
    /// A started command stopped because the watch was cancelled: still an interruption.
    fn or_cancelled(self, signal: &'static str) -> End {
        match self {
            End::Exited(_) => End::Cancelled(signal),
            end => end,
        }
    }
}

/// The watched process's state when the watch started.
fn baseline_of(sampler: &mut TreeSampler) -> Snapshot {
    Snapshot {
        python: None,
        raw_sites: None,
        kind: SnapshotKind::Baseline,
        taken_at_secs: Some(0.0),
        snapshot_duration_secs: None,
        process: sampler.worker_now(true),
        process_from_parent: true,
        allocator: None,
        worker: None,
        census: Vec::new(),
        sites: None,
    }
}

fn oom_kills(sampler: &TreeSampler) -> u64 {
    sampler
        .cgroup()
        .and_then(|c| c.read())
        .and_then(|m| m.oom_kill_events)
        .unwrap_or(0)
}

/// The death an exit means (None for a clean exit).
fn death_of(exit: &ProcessExit) -> Option<Death> {
    if exit.oom_killed {
        return Some(Death::Signal {
            signal: libc::SIGKILL,
            name: "SIGKILL (OOM killer)".into(),
        });
    }
    match (exit.code, exit.signal) {
        (Some(0), _) => None,
        (Some(code), _) => Some(Death::Exited { code: Some(code) }),
        (None, Some(signal)) => Some(Death::Signal {
            signal,
            name: signal_name(signal).into(),
        }),
        (None, None) => Some(Death::Exited { code: None }),
    }
}

fn close_manifest(
    manifest: &mut RunManifest,
    end: &End,
    exit: Option<ProcessExit>,
    death: Option<&Death>,
    sampler: &TreeSampler,
    tracker: &JobTracker,
    t: f64,
) {
    let died_in_job = tracker
        .records
        .last()
        .is_some_and(|r| r.outcome.death().is_some());
    let unknown_exit = matches!(death, Some(Death::Exited { code: None }));
    let detail = exit.as_ref().map_or("exited", |e| e.detail.as_str());
    let (status, message) = match (end, death) {
        (End::Cancelled(signal), _) => (
            RunStatus::Interrupted,
            format!("the watch was stopped by {signal}"),
        ),
        (End::Exited(_), None) => (RunStatus::Completed, format!("the process {detail}")),
        // A PID's exit status is not visible: between jobs, not a death.
        (End::Exited(_), Some(_)) if unknown_exit && !died_in_job => {
            (RunStatus::Completed, format!("the process {detail}"))
        }
        (End::Exited(_), Some(_)) => (RunStatus::ChildDied, format!("the process {detail}")),
    };
    manifest.status = status;
    manifest.status_message = Some(message);
    manifest.finished_at = Some(now_rfc3339());
    manifest.wall_time_secs = Some(t);
    if let Some(watch) = manifest.watch.as_mut() {
        watch.samples = sampler.samples;
        watch.exit = exit;
        if let Some(note) = &sampler.smaps_denied {
            watch.notes.push(note.clone());
        }
        if let Some(tail) = tracker.tail() {
            if tail.rotations > 0 || tail.truncations > 0 {
                watch.notes.push(format!(
                    "the log was rotated {} time(s) and truncated {} time(s); both were followed",
                    tail.rotations, tail.truncations
                ));
            }
        }
    }
}

fn target_error(err: crate::observe::watcher::WatchTargetError) -> Error {
    Error::Usage(format!("--pid: {err}"))
}

fn open_log(path: &Path) -> Result<LogTail> {
    LogTail::open(path, crate::logs::LogLimits::default().max_line_bytes)
        .map_err(|e| Error::bad_input(path, "file", format!("cannot follow the log: {e}")))
}

/// Start the command with its stdout and stderr in `worker.log`.
fn spawn(argv: &[String], log: &Path) -> Result<Child> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::Usage("watch -- CMD: no command given".into()));
    };
    let file =
        File::create(log).map_err(|e| Error::io(format!("creating {}", log.display()), e))?;
    let err = file
        .try_clone()
        .map_err(|e| Error::io(format!("opening {}", log.display()), e))?;
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .map_err(|e| Error::Usage(format!("cannot start {program}: {e}")))
}

/// Stop a started command: SIGTERM, then SIGKILL after [`TERM_GRACE`]; its exit status.
fn stop_child(child: &mut Child) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    // SAFETY: kill only sends a signal to our own child, not yet reaped (try_wait said so),
    // so the pid cannot have been reused.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + TERM_GRACE;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait().ok()
}
