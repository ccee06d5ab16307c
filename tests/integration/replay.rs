//! Integration tests: `replay` end to end, through the real binary and its worker children.
//! Small workloads with tiny model scales, each in its own temporary folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use docling_memprof::engine::folder::read_run;
use docling_memprof::record::AllocatorLayers;
use docling_memprof::record::{Death, JobOutcome, JobRecord, RunManifest};

use crate::util::{binary, project_root};

/// A workload of `repeat` runs of one PDF job, cleared every `clear_every` jobs.
fn pdf_workload(dir: &Path, repeat: u32, clear_every: u32, scenarios: &[&str]) -> PathBuf {
    let scenarios: Vec<String> = scenarios.iter().map(|s| format!("\"{s}\"")).collect();
    let text = format!(
        r#"{{"schema_version": 1, "name": "test",
        "worker": {{"jobs_between_cache_clear": {clear_every}, "model_scale": 0.002, "scenarios": [{}]}},
        "documents": [{{"id": "doc", "generate": {{"format": "pdf", "pages": 2, "size_bytes": 40000, "seed": 9}}}},
                      {{"id": "notes", "path": "{}"}}],
        "jobs": [{{"name": "pdf-md-json", "options": {{"to_formats": ["md", "json"]}}, "documents": ["doc", "notes"]}}],
        "repeat": {repeat}}}"#,
        scenarios.join(", "),
        project_root()
            .join("fixtures/documents/release-notes.md")
            .display()
    );
    let path = dir.join("workload.json");
    std::fs::write(&path, text).expect("write workload");
    path
}

fn replay(workload: &Path, out: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(binary());
    cmd.arg("replay")
        .arg(workload)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra);
    cmd.env_remove("DOCLING_MEMPROF_TEST_ABORT_AT_JOB");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run docling-memprof")
}

fn ok(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn live(record: &JobRecord) -> u64 {
    record
        .after_job
        .as_ref()
        .and_then(|s| s.live_bytes())
        .expect("live bytes after the job")
}

fn read(out: &Path) -> (RunManifest, Vec<JobRecord>) {
    read_run(out).expect("run folder reads back")
}

/// Clears at jobs 3, 6, 9; live bytes lower after each clear; every field filled.
fn check_clears_and_fields(allocator: &str) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let workload = pdf_workload(tmp.path(), 9, 3, &[]);
    let out = tmp.path().join("run");
    // Full snapshots: purge (jemalloc) and smaps_rollup in every snapshot.
    let full = [
        "--allocator",
        allocator,
        "--purge",
        "every",
        "--smaps",
        "every",
    ];
    let output = replay(&workload, &out, &full, &[]);
    ok(&output);
    let (manifest, records) = read(&out);
    assert_eq!(manifest.status.as_str(), "completed");
    assert_eq!(manifest.allocator.map(|a| a.as_str()), Some(allocator));
    assert_eq!(manifest.workers_started, 1);
    assert_eq!(manifest.baselines.len(), 1);
    assert!(manifest.baselines[0].rss_bytes().is_some_and(|b| b > 0));
    assert!(manifest.wall_time_secs.is_some() && manifest.finished_at.is_some());
    assert_eq!(records.len(), 9);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.job, i as u64 + 1);
        assert_eq!(
            r.outcome,
            JobOutcome::Success,
            "job {}: {:?}",
            r.job,
            r.outcome
        );
        assert_eq!((r.worker_index, r.worker_jobs_total), (0, i as u64 + 1));
        assert!(r.worker_pid > 0 && !r.job_id.is_empty() && !r.task_id.is_empty());
        assert_eq!(r.workload_job, "pdf-md-json");
        assert_eq!(r.documents.len(), 2);
        assert!(r
            .documents
            .iter()
            .all(|d| d.success && d.size_bytes > 0 && d.pages > 0));
        assert!(r.duration_secs > 0.0);
        assert!(r.peak_rss_bytes.is_some_and(|p| p > 0), "peak RSS sampled");
        let snap = r.after_job.as_ref().expect("after-job snapshot");
        let process = snap.process.as_ref().expect("process memory read");
        assert!(
            process.rss_bytes > 0
                && process.pss_bytes.is_some()
                && process.rss_anon_bytes.is_some()
        );
        assert!(!snap.process_from_parent, "the core reads its own /proc");
        assert!(snap.snapshot_duration_secs.is_some_and(|d| d > 0.0));
        let state = snap.worker.as_ref().expect("worker state");
        assert!(state.model_bytes.is_some_and(|b| b > 0) && state.converters == 1);
        match (
            snap.allocator.as_ref().expect("allocator layers"),
            allocator,
        ) {
            (AllocatorLayers::Jemalloc { after_purge, .. }, "jemalloc") => {
                assert!(after_purge.is_some())
            }
            (AllocatorLayers::Dhat(d), "dhat") => {
                assert!(d.heap_live_bytes.is_some() && d.total_blocks > 0)
            }
            (AllocatorLayers::System(m), "system") => assert!(m.uordblks_bytes > 0),
            (layers, _) => panic!("{allocator}: unexpected layers {layers:?}"),
        }
        let clear_due = r.job % 3 == 0;
        assert_eq!(r.cache_clear.is_some(), clear_due, "job {}", r.job);
        if let Some(clear) = &r.cache_clear {
            let model_bytes = clear.model_bytes.expect("the core reports model bytes");
            assert!(clear.converters >= 1 && model_bytes > 0);
            let after_clear = clear.after_clear.as_ref().expect("after-clear snapshot");
            let after = after_clear.live_bytes().expect("live after clear");
            assert!(
                after + model_bytes / 2 < live(r),
                "job {}: live {} after the job, {} after the clear that dropped {} model bytes",
                r.job,
                live(r),
                after,
                model_bytes
            );
            assert_eq!(
                after_clear.worker.as_ref().and_then(|w| w.model_bytes),
                Some(0)
            );
        }
    }
    let log = std::fs::read_to_string(out.join("worker.log")).expect("worker.log");
    assert!(
        log.contains("[WORKER START]") && log.contains("[CACHE CLEAR]"),
        "{log}"
    );
    assert_eq!(log.matches("[JOB SUCCESS]").count(), 9);
}

#[test]
fn replay_under_jemalloc_records_every_job_and_clear() {
    check_clears_and_fields("jemalloc");
}

#[test]
fn replay_under_system_allocator_records_every_job_and_clear() {
    check_clears_and_fields("system");
}

#[test]
fn replay_under_dhat_records_every_job_and_clear() {
    check_clears_and_fields("dhat");
}

#[test]
fn a_leak_scenario_makes_live_bytes_rise_job_after_job() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let workload = pdf_workload(tmp.path(), 6, 2, &["page_images"]);
    let out = tmp.path().join("run");
    ok(&replay(&workload, &out, &[], &[]));
    let (_, records) = read(&out);
    // Default snapshots: no purge, dirty/muzzy bytes read instead; smaps only after clears.
    let first = records[0].after_job.as_ref().expect("after-job snapshot");
    match first.allocator.as_ref().expect("allocator layers") {
        AllocatorLayers::Jemalloc {
            before_purge,
            after_purge,
        } => {
            assert!(after_purge.is_none() && before_purge.dirty_bytes.is_some());
        }
        other => panic!("default allocator is jemalloc, got {other:?}"),
    }
    assert!(first
        .process
        .as_ref()
        .is_some_and(|p| p.pss_bytes.is_none()));
    let clear = records[1].cache_clear.as_ref().expect("clear after job 2");
    let after_clear = clear.after_clear.as_ref().expect("after-clear snapshot");
    assert!(after_clear
        .process
        .as_ref()
        .is_some_and(|p| p.pss_bytes.is_some()));
    let lives: Vec<u64> = records.iter().map(live).collect();
    assert!(
        lives.windows(2).all(|w| w[1] > w[0]),
        "live bytes after each job: {lives:?}"
    );
    let floors: Vec<u64> = records
        .iter()
        .filter_map(|r| r.cache_clear.as_ref()?.after_clear.as_ref()?.live_bytes())
        .collect();
    assert_eq!(floors.len(), 3);
    assert!(
        floors.windows(2).all(|w| w[1] > w[0]),
        "live bytes after each clear: {floors:?}"
    );
}

#[test]
fn recycle_and_process_per_job_start_new_workers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let workload = pdf_workload(tmp.path(), 5, 0, &[]);

    let out = tmp.path().join("recycle");
    ok(&replay(
        &workload,
        &out,
        &["--isolation", "recycle", "--max-jobs", "2"],
        &[],
    ));
    let (manifest, records) = read(&out);
    let workers: Vec<u32> = records.iter().map(|r| r.worker_index).collect();
    assert_eq!(workers, vec![0, 0, 1, 1, 2]);
    let per_worker: Vec<u64> = records.iter().map(|r| r.worker_jobs_total).collect();
    assert_eq!(per_worker, vec![1, 2, 1, 2, 1]);
    assert_eq!(
        records
            .iter()
            .map(|r| r.recycle_requested)
            .collect::<Vec<_>>(),
        vec![false, true, false, true, false]
    );
    assert_ne!(records[1].worker_pid, records[2].worker_pid);
    assert_eq!(records[0].worker_pid, records[1].worker_pid);
    assert_eq!(
        (
            manifest.workers_started,
            manifest.baselines.len(),
            manifest.isolation.as_str()
        ),
        (3, 3, "recycle")
    );

    let out = tmp.path().join("per-job");
    ok(&replay(
        &workload,
        &out,
        &["--isolation", "process-per-job"],
        &[],
    ));
    let (manifest, records) = read(&out);
    assert_eq!(
        records.iter().map(|r| r.worker_index).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    let mut pids: Vec<u32> = records.iter().map(|r| r.worker_pid).collect();
    pids.dedup();
    assert_eq!(pids.len(), 5);
    assert_eq!(manifest.workers_started, 5);
}

#[test]
fn a_child_killed_mid_run_leaves_a_valid_partial_report() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let workload = pdf_workload(tmp.path(), 5, 3, &[]);
    let out = tmp.path().join("run");
    let output = replay(
        &workload,
        &out,
        &[],
        &[("DOCLING_MEMPROF_TEST_ABORT_AT_JOB", "3")],
    );
    assert_eq!(
        output.status.code(),
        Some(3),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("job 3") && stderr.contains("SIGABRT"),
        "{stderr}"
    );
    let (manifest, records) = read(&out);
    assert_eq!(manifest.status.as_str(), "child_died");
    assert!(manifest
        .status_message
        .as_deref()
        .is_some_and(|m| m.contains("job 3")));
    assert_eq!(records.len(), 3);
    assert!(records[..2]
        .iter()
        .all(|r| r.outcome == JobOutcome::Success && r.after_job.is_some()));
    match &records[2].outcome {
        JobOutcome::Died { death, reason } => {
            assert!(reason.contains("SIGABRT"), "{reason}");
            assert!(
                matches!(death, Death::Signal { signal, .. } if *signal == libc::SIGABRT),
                "{death:?}"
            );
        }
        other => panic!("job 3 should have died, got {other:?}"),
    }
    assert!(records[2].after_job.is_none());
}

#[test]
fn a_memory_limit_kills_the_worker_like_kubernetes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let workload = pdf_workload(tmp.path(), 3, 3, &[]);
    let out = tmp.path().join("run");
    let output = replay(&workload, &out, &["--memory-limit", "1MiB"], &[]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("memory limit"), "{stderr}");
    let (manifest, records) = read(&out);
    assert_eq!(manifest.status.as_str(), "child_died");
    assert_eq!(manifest.memory_limit_bytes, Some(1024 * 1024));
    assert!(records
        .iter()
        .all(|r| matches!(r.outcome, JobOutcome::Died { .. })));
}

#[test]
fn a_malformed_workload_exits_2_before_any_job() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let workload = pdf_workload(tmp.path(), 3, 3, &[]);
    let text = std::fs::read_to_string(&workload).expect("read").replace(
        r#""to_formats": ["md", "json"]"#,
        r#""ocr_engine": "easyorc""#,
    );
    std::fs::write(&workload, text).expect("write");
    let out = tmp.path().join("run");
    let output = replay(&workload, &out, &[], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("$.jobs[0].options.ocr_engine") && stderr.contains("workload.json"),
        "{stderr}"
    );
    assert!(!out.exists(), "no run folder before validation passes");

    let missing = tmp.path().join("missing.json");
    std::fs::write(&missing, r#"{"schema_version":1,"documents":[{"id":"a","path":"nope.pdf"}],"jobs":[{"name":"j","documents":["a"]}]}"#)
        .expect("write");
    let output = replay(&missing, &out, &[], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("$.documents[0].path") && stderr.contains("nope.pdf"),
        "{stderr}"
    );
}

#[test]
fn json_summary_and_no_snapshots() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let workload = pdf_workload(tmp.path(), 3, 3, &[]);
    let out = tmp.path().join("run");
    let output = replay(&workload, &out, &["--json", "--no-snapshots"], &[]);
    ok(&output);
    let summary: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("JSON summary on stdout");
    assert_eq!(summary["status"], "completed");
    assert_eq!(summary["jobs"], 3);
    assert_eq!(summary["cache_clears"], 1);
    let (manifest, records) = read(&out);
    assert!(manifest.baselines.is_empty());
    assert!(records.iter().all(|r| r.after_job.is_none()));
    assert!(records[2].cache_clear.is_some());
}

#[test]
fn every_shipped_workload_validates() {
    let dir = project_root().join("fixtures/workloads");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures/workloads") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            docling_memprof::workload::load(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            count += 1;
        }
    }
    assert!(count >= 7, "{count} workloads");
}

/// Regression (issue 15): the parent read a base64 source whole and held its base64 and the
/// JSON line besides (about 3.9 times the source: 773 MiB for 191 MiB). It now streams the
/// encoding from the file: its own peak RSS (VmHWM of the `replay` process, not the worker)
/// stays far under the size of a 48 MiB source, and the worker receives the same bytes.
#[test]
fn a_big_inline_source_does_not_grow_the_parent() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Synthetic: 48 MiB of text; a Markdown file the worker converts.
    let source = tmp.path().join("big.md");
    let line = "A line of synthetic text for the inline-source test.\n\n";
    std::fs::write(&source, line.repeat((48 << 20) / line.len())).expect("source");
    let size = std::fs::metadata(&source).expect("size").len();
    let workload = tmp.path().join("w.json");
    std::fs::write(
        &workload,
        format!(
            r#"{{"schema_version": 1, "worker": {{"model_scale": 0.002}},
            "documents": [{{"id": "big", "path": "{}"}}],
            "jobs": [{{"name": "inline", "sources": "base64", "options": {{"to_formats": ["md"]}},
                       "documents": ["big"]}}]}}"#,
            source.display()
        ),
    )
    .expect("workload");
    let out = tmp.path().join("run");
    let mut child = Command::new(binary())
        .arg("replay")
        .arg(&workload)
        .arg("--out")
        .arg(&out)
        // Sampled sites (the default) load this binary's debug info into the parent (~140
        // MB, outside the measured worker): off here, where the parent's own peak is measured.
        .args(["--quiet", "--no-charts", "--sites", "off"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("replay");
    let status_path = format!("/proc/{}/status", child.id());
    let mut hwm_kib = 0u64;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        // VmHWM only grows: the last reading before the exit is the parent's peak.
        if let Some(kib) = std::fs::read_to_string(&status_path).ok().and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        }) {
            hwm_kib = hwm_kib.max(kib);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    assert!(status.success(), "{:?}", child.stderr.take());
    let (_, records) = read_run(&out).expect("run");
    assert_eq!(records[0].outcome, JobOutcome::Success);
    assert_eq!(
        records[0].documents[0].size_bytes, size,
        "the worker got every byte"
    );
    assert!(hwm_kib > 0, "the parent's VmHWM was read");
    assert!(
        hwm_kib * 1024 < size / 2,
        "the parent's peak RSS {} KiB grows with the {size}-byte source",
        hwm_kib
    );
}
