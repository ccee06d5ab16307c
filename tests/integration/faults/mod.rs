//! Faults during a replay (issue 15's fault classes owned by the engine): signals to the
//! parent and to the worker, two replays into one folder, a closed or full stdout. After each:
//! `jobs.jsonl` valid, no orphan worker, a report, and a gate that never passes an incomplete
//! run (exit 1 unless `--allow-incomplete`).
//!
//! These are the faults at fixed points; [`points`] injects signals at seeded random points,
//! [`disk`] fills the disk and makes the output read-only, both counted in one table
//! ([`tally`]).

mod case;
mod disk;
mod points;
mod tally;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use docling_memprof::engine::folder::read_run;
use docling_memprof::record::{Death, RunStatus};

use crate::util::{binary, project_root};

/// A long replay (hundreds of small jobs) so that a fault lands mid-run.
pub(super) fn long_workload(dir: &Path) -> PathBuf {
    long_workload_of(dir, 400)
}

/// [`long_workload`] with `jobs` jobs.
pub(super) fn long_workload_of(dir: &Path, jobs: usize) -> PathBuf {
    let text = format!(
        r#"{{"schema_version": 1, "name": "long",
        "worker": {{"jobs_between_cache_clear": 3, "model_scale": 0.002}},
        "documents": [{{"id": "notes", "path": "{}"}}],
        "jobs": [{{"name": "md", "options": {{"to_formats": ["md"]}}, "documents": ["notes"]}}],
        "repeat": {jobs}}}"#,
        project_root()
            .join("fixtures/documents/release-notes.md")
            .display()
    );
    let path = dir.join("long.json");
    std::fs::write(&path, text).expect("workload");
    path
}

fn start_replay(workload: &Path, out: &Path) -> Child {
    Command::new(binary())
        .arg("replay")
        .arg(workload)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .arg("--no-charts")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start replay")
}

/// Wait until `jobs.jsonl` holds at least `n` lines.
fn wait_for_jobs(out: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let lines = std::fs::read_to_string(out.join("jobs.jsonl"))
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines >= n {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("{} never reached {n} jobs", out.display());
}

fn kill(pid: u32, signal: i32) {
    // SAFETY: kill(2) with a pid this test started; no memory is touched.
    let rc = unsafe { libc::kill(pid as i32, signal) };
    assert_eq!(rc, 0, "kill {pid} {signal}");
}

pub(super) fn alive(pid: u32) -> bool {
    // A zombie is not alive: read its state.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

/// Gate a run with one budget every healthy run of these tests holds (peak RSS under 3 GiB).
fn gate(run: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let budget = run.with_extension("budget.toml");
    std::fs::write(&budget, "[budget]\npeak_rss = \"3GiB\"\n").expect("budget");
    let output = Command::new(binary())
        .arg("gate")
        .arg(run)
        .arg("--budget")
        .arg(&budget)
        .arg("--summary")
        .arg(run.join("gate-summary.md"))
        .args(extra)
        .output()
        .expect("gate");
    let summary = std::fs::read_to_string(run.join("gate-summary.md")).unwrap_or_default();
    (output.status.code(), summary)
}

/// The parent stopped by `signal` (what Kubernetes and CI runners send) ends like Ctrl-C:
/// the worker is stopped, the run recorded as interrupted, the report written, exit 3.
fn parent_signal_is_an_interruption(signal: i32, name: &str) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("run");
    let mut child = start_replay(&long_workload(tmp.path()), &out);
    wait_for_jobs(&out, 3);
    kill(child.id(), signal);
    let status = child.wait().expect("replay ends");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .map(|mut s| s.read_to_string(&mut stderr));
    assert_eq!(status.code(), Some(3), "{name}: {stderr}");
    let (manifest, records) = read_run(&out).expect("run folder reads");
    assert_eq!(manifest.status, RunStatus::Interrupted, "{name}");
    assert!(manifest.finished_at.is_some());
    assert!(records.len() >= 3 && records.len() < 400);
    let last = records.last().expect("records");
    if let Some(death) = last.outcome.death() {
        assert!(
            matches!(death, Death::Interrupted { signal } if signal == name),
            "{death:?}"
        );
    }
    for pid in records.iter().map(|r| r.worker_pid) {
        assert!(!alive(pid), "{name}: worker {pid} outlived the replay");
    }
    assert!(
        out.join("report.md").is_file(),
        "{name}: the report of the partial run"
    );
    let (code, summary) = gate(&out, &[]);
    assert_eq!(
        code,
        Some(1),
        "{name}: an interrupted run fails the gate\n{summary}"
    );
    assert!(summary.contains("run_complete") && summary.contains("interrupted"));
    let (code, _) = gate(&out, &["--allow-incomplete"]);
    assert_eq!(code, Some(0), "{name}: allowed");
}

#[test]
fn sigterm_to_the_parent_is_an_interruption_with_a_report() {
    parent_signal_is_an_interruption(libc::SIGTERM, "SIGTERM");
}

#[test]
fn sighup_to_the_parent_is_an_interruption_with_a_report() {
    parent_signal_is_an_interruption(libc::SIGHUP, "SIGHUP");
}

#[test]
fn sigint_to_the_parent_is_an_interruption_with_a_report() {
    parent_signal_is_an_interruption(libc::SIGINT, "SIGINT");
}

#[test]
fn a_worker_killed_mid_run_is_a_signal_death_and_fails_the_gate() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("run");
    let mut child = start_replay(&long_workload(tmp.path()), &out);
    wait_for_jobs(&out, 2);
    let (_, records) = read_run(&out).expect("partial run reads");
    kill(records[0].worker_pid, libc::SIGKILL);
    assert_eq!(child.wait().expect("replay ends").code(), Some(3));
    let (manifest, records) = read_run(&out).expect("run folder reads");
    assert_eq!(manifest.status, RunStatus::ChildDied);
    let death = records
        .last()
        .and_then(|r| r.outcome.death())
        .expect("a death");
    assert!(
        matches!(death, Death::Signal { signal, .. } if *signal == libc::SIGKILL),
        "{death:?}"
    );
    let (code, summary) = gate(&out, &[]);
    assert_eq!(code, Some(1), "{summary}");
}

/// A killed parent leaves `run.json` at `running`: the gate must not pass it, and the worker
/// must not live on (it sees its stdin close).
#[test]
fn a_parent_killed_with_sigkill_leaves_no_orphan_and_no_green_gate() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("run");
    let mut child = start_replay(&long_workload(tmp.path()), &out);
    wait_for_jobs(&out, 2);
    let (_, records) = read_run(&out).expect("partial run reads");
    let worker = records[0].worker_pid;
    kill(child.id(), libc::SIGKILL);
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(worker) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(worker), "worker {worker} orphaned");
    let (manifest, _) = read_run(&out).expect("run folder still reads");
    assert_eq!(manifest.status, RunStatus::Running);
    let (code, summary) = gate(&out, &[]);
    assert_eq!(code, Some(1), "{summary}");
    assert!(summary.contains("running"), "{summary}");
}

/// Regression (issue 15): two replays into one `--out` both exited 0 with interleaved
/// records. The folder is claimed atomically: one runs, the other is refused before any job.
#[test]
fn two_replays_into_one_folder_never_mix_their_records() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("run");
    let workload = project_root().join("fixtures/workloads/seed-20-jobs.json");
    let start = || {
        Command::new(binary())
            .args(["replay"])
            .arg(&workload)
            .arg("--out")
            .arg(&out)
            .args(["--quiet", "--no-charts"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start")
    };
    let (a, b) = (start(), start());
    let codes = [
        a.wait_with_output().expect("a").status.code(),
        b.wait_with_output().expect("b").status.code(),
    ];
    let mut sorted = codes;
    sorted.sort();
    assert_eq!(
        sorted,
        [Some(0), Some(2)],
        "one runs, one is refused: {codes:?}"
    );
    let (_, records) = read_run(&out).expect("the one run");
    assert_eq!(records.len(), 20);
    let pids: std::collections::BTreeSet<u32> = records.iter().map(|r| r.worker_pid).collect();
    assert_eq!(pids.len(), 1, "records of one worker only");
}

/// Regression (issue 15): `| head` made `replay`, `logs`, `gate`, `diff` and `report` panic
/// with exit 101. A closed stdout is an I/O error (exit 4) without a panic.
#[test]
fn a_closed_stdout_pipe_is_an_error_not_a_panic() {
    let log = project_root().join("fixtures/logs/seed-20-jobs.log");
    // The read end is closed before the command starts (no race with a small output).
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let output = Command::new(binary())
        .arg("logs")
        .arg(&log)
        .arg("--no-report")
        .stdout(writer)
        .output()
        .expect("logs ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(4), "{stderr}");
}

#[test]
fn a_full_stdout_is_an_error_not_a_panic() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("SKIPPED: no /dev/full");
        return;
    };
    let output = Command::new(binary())
        .arg("logs")
        .arg(project_root().join("fixtures/logs/seed-20-jobs.log"))
        .arg("--no-report")
        .stdout(full)
        .output()
        .expect("logs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(4), "{stderr}");
}

/// Regression (issue 15): a workload refused at its generate step left a folder that blocked
/// a later run into the same `--out`.
#[test]
fn a_workload_refused_before_job_1_leaves_the_folder_reusable() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("run");
    let bad = tmp.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"schema_version": 1, "documents": [{"id": "d", "path": "missing.pdf"}],
            "jobs": [{"name": "j", "documents": ["d"]}]}"#,
    )
    .expect("workload");
    let first = Command::new(binary())
        .arg("replay")
        .arg(&bad)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .output()
        .expect("replay");
    assert_ne!(first.status.code(), Some(0));
    let second = Command::new(binary())
        .arg("replay")
        .arg(project_root().join("fixtures/workloads/seed-20-jobs.json"))
        .arg("--out")
        .arg(&out)
        .args(["--quiet", "--no-charts"])
        .output()
        .expect("replay");
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
}

/// Regression (issue 15): `record LOG -o LOG` overwrote its input.
#[test]
fn record_refuses_to_overwrite_its_own_log() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = tmp.path().join("worker.log");
    std::fs::copy(project_root().join("fixtures/logs/seed-20-jobs.log"), &log).expect("copy");
    let before = std::fs::read(&log).expect("read");
    let output = Command::new(binary())
        .arg("record")
        .arg(&log)
        .arg("-o")
        .arg(&log)
        .output()
        .expect("record");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        std::fs::read(&log).expect("read"),
        before,
        "the log is untouched"
    );
}

/// Regression (issue 15): a `jobs.jsonl` ending in NUL bytes (what a crash leaves on ext4)
/// was refused instead of its torn tail being skipped.
#[test]
fn a_jobs_jsonl_with_a_nul_tail_reads() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = project_root().join("fixtures/reports/synthetic-sawtooth");
    for file in ["run.json", "jobs.jsonl"] {
        std::fs::copy(fixture.join(file), tmp.path().join(file)).expect("copy");
    }
    let jobs = tmp.path().join("jobs.jsonl");
    let mut bytes = std::fs::read(&jobs).expect("read");
    bytes.extend(std::iter::repeat_n(0u8, 4096));
    std::fs::write(&jobs, bytes).expect("write");
    let (_, records) = read_run(tmp.path()).expect("reads despite the NUL tail");
    assert_eq!(records.len(), 12);
}

/// Regression (issue 15's class "a device as a run file grows until killed"): `profile.jsonl`
/// was read whole without a bound; `/dev/zero` in its place made `report` and `gate` grow.
#[test]
fn a_profile_jsonl_that_is_a_device_is_refused_not_read_forever() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = project_root().join("fixtures/reports/synthetic-sawtooth");
    for file in ["run.json", "jobs.jsonl"] {
        std::fs::copy(fixture.join(file), tmp.path().join(file)).expect("copy");
    }
    std::os::unix::fs::symlink("/dev/zero", tmp.path().join("profile.jsonl")).expect("symlink");
    let output = Command::new(binary())
        .arg("report")
        .arg(tmp.path())
        .args(["--quiet", "--no-charts", "--out"])
        .arg(tmp.path().join("report"))
        .output()
        .expect("report");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("profile.jsonl"), "{stderr}");
    assert!(stderr.contains("character device"), "{stderr}");
}
