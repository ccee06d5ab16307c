//! One fault case: a command run under a deadline with its peak memory (`wait4`), and the
//! checks after a faulted replay: exit code, no panic, no orphan, `jobs.jsonl` valid but
//! possibly its last line, records neither lost nor mixed, and `gate` and `report` giving the
//! documented answer on what is left (an incomplete run never passes the gate).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use docling_memprof::engine::folder::read_run;
use docling_memprof::record::{Death, JobRecord, RunStatus};

use super::alive;
use super::tally::{Problem, Tally};
use crate::util::binary;

/// The bound on the peak RSS of a replay and its worker (`ru_maxrss` of `wait4`, which
/// covers the waited-for worker): these small Markdown jobs stay near 100 MiB.
pub const MAX_TREE_RSS: u64 = 512 * 1024 * 1024;
/// A replay, gate or report that has not ended by then hangs.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// How a bounded command ended.
#[derive(Debug, Default)]
pub struct Ended {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub hung: bool,
    pub peak_rss_bytes: u64,
    pub stderr: String,
    /// Every child of the command seen while it ran (its workers).
    pub children: Vec<u32>,
}

/// Starts `command` with stdout and stderr into files beside `log_stem`.
pub fn spawn(mut command: Command, log_stem: &Path) -> Child {
    let file = |ext: &str| std::fs::File::create(log_stem.with_extension(ext)).expect("log file");
    command
        .stdin(Stdio::null())
        .stdout(file("out"))
        .stderr(file("err"))
        .spawn()
        .expect("spawn")
}

/// `replay WORKLOAD --out OUT --quiet --no-charts`.
pub fn replay_command(workload: &Path, out: &Path) -> Command {
    let mut command = Command::new(binary());
    command
        .arg("replay")
        .arg(workload)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--no-charts"]);
    command
}

/// Waits for `child` until `deadline` (then kills it and its workers: a hang).
// The child is reaped by `wait4` (for its peak RSS), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
pub fn wait_bounded(child: Child, log_stem: &Path, deadline: Duration) -> Ended {
    let pid = child.id() as libc::pid_t;
    let started = Instant::now();
    let mut ended = Ended::default();
    let mut seen = BTreeSet::new();
    loop {
        seen.extend(children_of(child.id()));
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid out-value for wait4.
        let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 on our own child with valid out-pointers.
        let done = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut rusage) };
        if done == pid {
            ended.peak_rss_bytes = rusage.ru_maxrss as u64 * 1024;
            if libc::WIFEXITED(status) {
                ended.code = Some(libc::WEXITSTATUS(status));
            } else if libc::WIFSIGNALED(status) {
                ended.signal = Some(libc::WTERMSIG(status));
            }
            break;
        }
        if started.elapsed() > deadline && !ended.hung {
            ended.hung = true;
            for worker in children_of(child.id()) {
                signal(worker, libc::SIGKILL);
            }
            signal(child.id(), libc::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    ended.stderr = std::fs::read_to_string(log_stem.with_extension("err")).unwrap_or_default();
    ended.children = seen.into_iter().collect();
    ended
}

/// Runs `command` to its end under [`DEADLINE`].
pub fn run_bounded(command: Command, log_stem: &Path) -> Ended {
    let child = spawn(command, log_stem);
    wait_bounded(child, log_stem, DEADLINE)
}

/// The direct children of `pid` (every thread's `children` list).
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut out = BTreeSet::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
                out.extend(
                    text.split_whitespace()
                        .filter_map(|t| t.parse::<u32>().ok()),
                );
            }
        }
    }
    out.into_iter().collect()
}

/// The worker processes among the children of `pid` (`docling-memprof child`; the parent
/// also runs short-lived helpers such as `git`).
pub fn workers_of(pid: u32) -> Vec<u32> {
    children_of(pid)
        .into_iter()
        .filter(|child| {
            std::fs::read(format!("/proc/{child}/cmdline"))
                .is_ok_and(|c| c.split(|b| *b == 0).nth(1) == Some(b"child".as_slice()))
        })
        .collect()
}

/// kill(2); `false` when the process is gone.
pub fn signal(pid: u32, signal: i32) -> bool {
    // SAFETY: kill(2) on a pid this test started; no memory is touched.
    unsafe { libc::kill(pid as i32, signal) == 0 }
}

/// What the documented answer to a fault is.
#[derive(Debug, Clone)]
pub enum Expect {
    /// SIGKILL to the parent: it dies of it; whatever it wrote stays readable.
    ParentKilled,
    /// SIGINT, SIGTERM or SIGHUP to the parent: exit 3, `interrupted`, a report (or, before
    /// its handler is installed, death by the signal with no run folder yet).
    ParentInterrupted(i32),
    /// A signal to the worker: exit 3, the run not complete, the death named in the record.
    WorkerSignalled(i32),
    /// A full or read-only output: exit 4 naming a path under this folder.
    IoFailure(PathBuf),
}

/// One faulted replay to judge.
pub struct Faulted<'a> {
    pub class: &'a str,
    pub point: String,
    pub expect: Expect,
    pub out: &'a Path,
    /// Records in `jobs.jsonl` when the fault was injected (none may be lost).
    pub records_before: usize,
    /// Worker pids seen during the run.
    pub workers: Vec<u32>,
    /// A scratch folder for the gate's and the report's files.
    pub scratch: &'a Path,
}

impl Faulted<'_> {
    /// Every check; each problem goes to `tally`.
    pub fn judge(&self, ended: &Ended, tally: &mut Tally) {
        let mut report =
            |p: Problem, detail: String| tally.problem(self.class, &self.point, p, detail);
        if ended.hung {
            report(
                Problem::Hang,
                format!("replay still running after {DEADLINE:?}"),
            );
        }
        if ended.stderr.contains("panicked") || ended.code == Some(101) {
            report(Problem::Panic, ended.stderr.clone());
        }
        let worker_log = std::fs::read_to_string(self.out.join("worker.log")).unwrap_or_default();
        if worker_log.contains("panicked at") {
            report(Problem::Panic, "the worker panicked (worker.log)".into());
        }
        if ended.peak_rss_bytes > MAX_TREE_RSS {
            report(
                Problem::OverMemory,
                format!("peak RSS {} MiB", ended.peak_rss_bytes >> 20),
            );
        }
        let loaded = read_run(self.out);
        let mut pids: BTreeSet<u32> = self.workers.iter().copied().collect();
        pids.extend(&ended.children);
        if let Ok((_, records)) = &loaded {
            pids.extend(records.iter().map(|r| r.worker_pid));
        }
        if let Some(problem) = self.exit_problem(ended, loaded.is_ok()) {
            report(Problem::WrongExit, problem);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for pid in pids {
            while alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if alive(pid) {
                report(Problem::Orphan, format!("worker {pid} outlived the replay"));
                signal(pid, libc::SIGKILL);
            }
        }
        if let Some(problem) = torn_jobs_jsonl(self.out) {
            report(Problem::LostOrMixed, problem);
        }
        match &loaded {
            Ok((manifest, records)) => {
                for (p, detail) in self.run_problems(manifest.status, records) {
                    report(p, detail);
                }
            }
            Err(e) if self.out.join("run.json").exists() => report(
                Problem::LostOrMixed,
                format!("the run folder does not read: {e}"),
            ),
            Err(_) => {}
        }
        for (p, detail) in self.gate_and_report(loaded.is_ok()) {
            report(p, detail);
        }
    }

    fn exit_problem(&self, ended: &Ended, folder_reads: bool) -> Option<String> {
        let got = format!(
            "exit {:?}, signal {:?}: {}",
            ended.code, ended.signal, ended.stderr
        );
        let ok = match &self.expect {
            Expect::ParentKilled => ended.signal == Some(libc::SIGKILL),
            Expect::ParentInterrupted(sig) => {
                ended.code == Some(3)
                    || (ended.signal == Some(*sig) && !self.out.join("jobs.jsonl").exists())
            }
            Expect::WorkerSignalled(_) => ended.code == Some(3) && folder_reads,
            Expect::IoFailure(dir) => {
                ended.code == Some(4) && ended.stderr.contains(&dir.display().to_string())
            }
        };
        (!ok).then_some(got)
    }

    /// The records and the status the fault must leave.
    fn run_problems(&self, status: RunStatus, records: &[JobRecord]) -> Vec<(Problem, String)> {
        let mut out = Vec::new();
        if records.len() < self.records_before {
            out.push((
                Problem::LostOrMixed,
                format!(
                    "{} records, {} before the fault",
                    records.len(),
                    self.records_before
                ),
            ));
        }
        for (i, r) in records.iter().enumerate() {
            if r.job != i as u64 + 1 {
                out.push((Problem::LostOrMixed, format!("record {i} is job {}", r.job)));
                break;
            }
        }
        let pids: BTreeSet<u32> = records.iter().map(|r| r.worker_pid).collect();
        let foreign = pids
            .iter()
            .any(|p| !self.workers.is_empty() && !self.workers.contains(p));
        if pids.len() > 1 || foreign {
            out.push((Problem::LostOrMixed, format!("records of workers {pids:?}")));
        }
        let want_status = match &self.expect {
            Expect::ParentInterrupted(_) => Some(status == RunStatus::Interrupted),
            Expect::WorkerSignalled(_) => Some(!status.is_complete()),
            Expect::ParentKilled | Expect::IoFailure(_) => None,
        };
        if want_status == Some(false) {
            out.push((Problem::WrongExit, format!("run.json status {status}")));
        }
        if let (Expect::WorkerSignalled(sig), Some(death)) =
            (&self.expect, records.last().and_then(|r| r.outcome.death()))
        {
            let named = match death {
                Death::Signal { signal, .. } => signal == sig,
                Death::Interrupted { signal } => *sig == libc::SIGINT && signal == "SIGINT",
                _ => false,
            };
            if !named {
                out.push((
                    Problem::WrongExit,
                    format!("death {death:?} for signal {sig}"),
                ));
            }
        }
        if matches!(self.expect, Expect::ParentInterrupted(_))
            && !self.out.join("report.md").is_file()
        {
            out.push((
                Problem::WrongExit,
                "no report.md after an interruption".into(),
            ));
        }
        out
    }

    /// `gate` (1 on a readable unfinished run, 2 on a folder that does not read; never 0)
    /// and `report` (0 on a readable run, 2 otherwise).
    fn gate_and_report(&self, folder_reads: bool) -> Vec<(Problem, String)> {
        let mut out = Vec::new();
        let budget = self.scratch.join("budget.toml");
        std::fs::write(&budget, "[budget]\npeak_rss = \"3GiB\"\n").expect("budget");
        let mut gate = Command::new(binary());
        gate.arg("gate")
            .arg(self.out)
            .arg("--budget")
            .arg(&budget)
            .arg("--summary")
            .arg(self.scratch.join("gate.md"));
        let mut report = Command::new(binary());
        report
            .arg("report")
            .arg(self.out)
            .args(["--quiet", "--no-charts", "--out"])
            .arg(self.scratch.join("report"));
        let want = if folder_reads { (1, 0) } else { (2, 2) };
        for (name, command, want) in [("gate", gate, want.0), ("report", report, want.1)] {
            let ended = run_bounded(command, &self.scratch.join(name));
            if ended.hung {
                out.push((Problem::Hang, format!("{name} hung")));
            } else if ended.stderr.contains("panicked") || ended.code == Some(101) {
                out.push((Problem::Panic, format!("{name}: {}", ended.stderr)));
            } else if name == "gate" && ended.code == Some(0) {
                out.push((
                    Problem::FalsePass,
                    "gate exit 0 on an unfinished run".into(),
                ));
            } else if ended.code != Some(want) {
                out.push((
                    Problem::WrongExit,
                    format!(
                        "{name} exit {:?}, want {want}: {}",
                        ended.code, ended.stderr
                    ),
                ));
            }
        }
        out
    }
}

/// `jobs.jsonl` is valid but possibly its last line (a NUL tail allowed): the problem, if not.
fn torn_jobs_jsonl(out: &Path) -> Option<String> {
    let bytes = std::fs::read(out.join("jobs.jsonl")).ok()?;
    let end = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    let text = String::from_utf8_lossy(&bytes[..end]);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let last = i + 1 == lines.len();
        if !line.ends_with('\n') && last {
            continue;
        }
        if serde_json::from_str::<JobRecord>(line.trim_end()).is_err() {
            return Some(format!(
                "jobs.jsonl line {} does not read: {line:.80}",
                i + 1
            ));
        }
    }
    None
}
