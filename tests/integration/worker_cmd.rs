//! `replay --worker-cmd`: a shipped workload through the Python reference worker
//! (`workers/reference_worker.py`), the protocol's conformance test; and protocol faults
//! (`workers/tests/faulty_worker.py`) ending as typed deaths with exit 3, finished jobs kept.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use docling_memprof::analysis::LeakCall;
use docling_memprof::engine::analyse_folder;
use docling_memprof::engine::folder::read_run;
use docling_memprof::record::{Death, JobOutcome, RunStatus, WorkerKind};

use crate::util::{binary, project_root, python3};

fn workload() -> PathBuf {
    project_root().join("fixtures/workloads/seed-20-jobs.json")
}

fn replay_with(worker_cmd: &str, out: &Path, extra: &[&str]) -> Output {
    Command::new(binary())
        .arg("replay")
        .arg(workload())
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .arg("--worker-cmd")
        .arg(worker_cmd)
        .args(extra)
        .output()
        .expect("run docling-memprof")
}

fn reference(python: &Path, flags: &str) -> String {
    format!(
        "{} {} {flags}",
        python.display(),
        project_root().join("workers/reference_worker.py").display()
    )
}

fn faulty(python: &Path, kind: &str, job: u64) -> String {
    format!(
        "{} {} {kind} {job}",
        python.display(),
        project_root()
            .join("workers/tests/faulty_worker.py")
            .display()
    )
}

#[test]
fn reference_worker_replays_the_seed_workload_without_a_leak() {
    let Some(python) = python3() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("run");
    let output = replay_with(&reference(&python, ""), &out, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (manifest, records) = read_run(&out).expect("run folder");
    assert_eq!(manifest.status, RunStatus::Completed);
    assert!(matches!(manifest.worker, WorkerKind::Command { .. }));
    assert_eq!(
        manifest.allocator, None,
        "an external worker's allocator is its own"
    );
    assert_eq!(records.len(), 20);
    assert!(records.iter().all(|r| r.outcome == JobOutcome::Success));
    // Clears every 3 jobs, as the seed's worker: jobs 3, 6, ..., 18.
    let clears: Vec<u64> = records
        .iter()
        .filter(|r| r.cache_clear.is_some())
        .map(|r| r.job)
        .collect();
    assert_eq!(clears, vec![3, 6, 9, 12, 15, 18]);
    // The worker measures its own RSS and a gc census (counts only: bytes unknown, null).
    let snap = records[0].after_job.as_ref().expect("after-job snapshot");
    assert!(snap.rss_bytes().is_some_and(|b| b > 0) && !snap.process_from_parent);
    assert!(snap.allocator.is_none());
    assert!(snap
        .census
        .iter()
        .any(|t| t.type_name == "dict" && t.live_bytes.is_none()));
    assert!(records.iter().all(|r| r.peak_rss_bytes.is_some()));
    let analysis = analyse_folder(&out, &Default::default()).expect("analysis");
    assert_eq!(analysis.verdict.primary.series, "rss_mb");
    assert_eq!(
        analysis.verdict.primary.call,
        LeakCall::NoLeak,
        "{}",
        analysis.verdict.primary.summary
    );
    for file in [
        "report.md",
        "report.html",
        "charts/trajectory.png",
        "worker.log",
    ] {
        assert!(out.join(file).is_file(), "{file} written");
    }
    let log = std::fs::read_to_string(out.join("worker.log")).expect("worker.log");
    assert_eq!(log.matches("[CACHE CLEAR]").count(), 6);
}

#[test]
fn reference_worker_asked_to_leak_is_judged_a_leak() {
    let Some(python) = python3() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("run");
    let output = replay_with(&reference(&python, "--leak-kb-per-job 4096"), &out, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let analysis = analyse_folder(&out, &Default::default()).expect("analysis");
    let primary = &analysis.verdict.primary;
    assert_eq!(primary.call, LeakCall::Leak, "{}", primary.summary);
    // 4 MiB per job kept: the slope is within 10% of it.
    assert!(
        (primary.slope_per_job - 4.0).abs() < 0.4,
        "slope {} MB/job",
        primary.slope_per_job
    );
}

/// A worker that reports no snapshot at all still gets a trajectory: the parent reads its
/// RSS from `/proc/<pid>` after each job.
#[test]
fn a_worker_reporting_no_memory_gets_the_parents_readings() {
    let Some(python) = python3() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let script = tmp.path().join("silent_worker.py");
    std::fs::write(
        &script,
        r#"import json, sys
out = sys.stdout
for line in sys.stdin:
    m = json.loads(line)
    if m["type"] == "init":
        out.write(json.dumps({"type": "ready", "protocol_version": 1, "pid": 0}) + "\n")
    elif m["type"] == "job":
        out.write(json.dumps({"type": "job_done", "job": m["job"], "outcome": {"status": "success"}, "duration_secs": 0.01}) + "\n")
    else:
        break
    out.flush()
"#,
    )
    .expect("script");
    let out = tmp.path().join("run");
    let cmd = format!("{} {}", python.display(), script.display());
    let output = replay_with(&cmd, &out, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (_, records) = read_run(&out).expect("run folder");
    assert_eq!(records.len(), 20);
    for r in &records {
        let snap = r.after_job.as_ref().expect("the parent's snapshot");
        assert!(snap.process_from_parent && snap.rss_bytes().is_some_and(|b| b > 0));
        assert!(snap.allocator.is_none() && snap.worker.is_none());
    }
}

fn check_fault(kind: &str, expect: impl Fn(&Death) -> bool, extra: &[&str]) {
    let Some(python) = python3() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("run");
    let output = replay_with(&faulty(&python, kind, 4), &out, extra);
    assert_eq!(
        output.status.code(),
        Some(3),
        "{kind}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (manifest, records) = read_run(&out).expect("run folder");
    assert_eq!(manifest.status, RunStatus::ChildDied, "{kind}");
    assert_eq!(
        records.len(),
        4,
        "{kind}: three finished jobs and the death"
    );
    assert!(records[..3]
        .iter()
        .all(|r| r.outcome == JobOutcome::Success));
    let death = records[3].outcome.death().expect("job 4 died");
    assert!(expect(death), "{kind}: {death:?}");
    assert!(
        out.join("report.md").is_file(),
        "{kind}: a report of the partial run"
    );
}

#[test]
fn bad_json_from_a_worker_is_a_protocol_error() {
    check_fault(
        "bad-json",
        |d| matches!(d, Death::ProtocolError { .. }),
        &[],
    );
}

#[test]
fn a_job_done_without_its_job_field_is_a_protocol_error() {
    check_fault(
        "missing-field",
        |d| matches!(d, Death::ProtocolError { detail } if detail.contains("job")),
        &[],
    );
}

#[test]
fn a_job_done_for_another_job_is_a_protocol_error() {
    check_fault(
        "wrong-job",
        |d| matches!(d, Death::ProtocolError { .. }),
        &[],
    );
}

#[test]
fn a_worker_exiting_mid_job_is_an_exit_death() {
    check_fault("exit", |d| *d == Death::Exited { code: Some(7) }, &[]);
}

#[test]
fn a_worker_hanging_mid_job_is_a_timeout_death() {
    check_fault(
        "hang",
        |d| matches!(d, Death::Timeout { after_secs } if (*after_secs - 2.0).abs() < 1e-9),
        &["--job-timeout", "2"],
    );
}

/// Lines a library prints on the protocol channel are kept in worker.log, not fatal.
#[test]
fn stray_lines_on_the_protocol_channel_are_logged_and_skipped() {
    let Some(python) = python3() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("run");
    let output = replay_with(&faulty(&python, "stray", 2), &out, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (_, records) = read_run(&out).expect("run folder");
    assert_eq!(records.len(), 20);
    let log = std::fs::read_to_string(out.join("worker.log")).expect("worker.log");
    assert!(
        log.contains("[worker stdout] a library printed this"),
        "{log}"
    );
}
