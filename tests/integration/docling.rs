//! `replay --worker docling`: the real docling-jobkit worker code, driven by
//! workers/memprof_docling in the pinned environment of scripts/setup-docling.sh (stand-in
//! layout weights: the pipeline and its memory are real, layout predictions meaningless).
//! Without that environment these tests fail under `CI=true` and are skipped elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;

use docling_memprof::analysis::{LeakCall, VerdictParams};
use docling_memprof::engine::{analyse_folder, RunAnalysis};
use docling_memprof::record::{AllocatorLayers, JobOutcome, WorkerKind};

use crate::util::{binary, docling_python, project_root};

fn workload(name: &str) -> PathBuf {
    project_root().join("fixtures/workloads").join(name)
}

/// `docling-memprof replay W --worker docling ARGS --out DIR`: (exit code, stderr).
fn replay_docling(
    workload: &Path,
    out: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (i32, String) {
    let python = docling_python().expect("checked by the caller");
    let mut command = Command::new(binary());
    command
        .arg("replay")
        .arg(workload)
        .args(["--worker", "docling", "--quiet", "--no-charts", "--out"])
        .arg(out)
        .arg("--python")
        .arg(python)
        .args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("run docling-memprof");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn analyse(dir: &Path) -> RunAnalysis {
    analyse_folder(dir, &VerdictParams::default()).expect("analyse the run folder")
}

/// A copy of the 60-job web/office workload with `repeat` and `scenarios` changed, written
/// beside the shipped documents so its relative paths hold.
fn variant(dir: &Path, repeat: u64) -> PathBuf {
    let text = std::fs::read_to_string(workload("docling-web-office.json")).expect("read");
    let mut value: serde_json::Value = serde_json::from_str(&text).expect("json");
    value["repeat"] = repeat.into();
    let docs = project_root().join("fixtures/documents");
    for d in value["documents"].as_array_mut().expect("documents") {
        if let Some(path) = d.get("path").and_then(|p| p.as_str()) {
            let name = Path::new(path).file_name().expect("name").to_owned();
            d["path"] = docs.join(name).display().to_string().into();
        }
    }
    let path = dir.join("workload.json");
    std::fs::write(&path, value.to_string()).expect("write workload");
    path
}

#[test]
fn docling_replay_records_python_census_and_rss_for_every_job() {
    if docling_python().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("run");
    let (code, stderr) = replay_docling(
        &workload("docling-web-office.json"),
        &out,
        &["--census", "every"],
        &[],
    );
    assert_eq!(code, 0, "replay failed: {stderr}");
    let run = analyse(&out);
    assert_eq!(run.records.len(), 60);
    match &run.manifest.worker {
        WorkerKind::Docling { environment, .. } => {
            assert!(
                environment.contains_key("docling-jobkit"),
                "{environment:?}"
            );
            assert_eq!(
                environment.get("synthetic_weights").map(String::as_str),
                Some("layout")
            );
        }
        other => panic!("worker kind {other:?}"),
    }
    for r in &run.records {
        assert_eq!(
            r.outcome,
            JobOutcome::Success,
            "job {}: {:?}",
            r.job,
            r.outcome
        );
        let after = r.after_job.as_ref().expect("after-job snapshot");
        let rss = after.rss_bytes().expect("RSS from inside the worker");
        assert!(
            rss > 300 << 20,
            "job {}: RSS {rss} is not a docling worker's",
            r.job
        );
        assert!(
            !after.process_from_parent,
            "the driver reads /proc/self itself"
        );
        let python = after.python.as_ref().expect("python part");
        assert!(python.census_taken, "job {}: census not taken", r.job);
        assert!(
            after.census.len() > 500,
            "job {}: {} types",
            r.job,
            after.census.len()
        );
        assert_eq!(r.documents.len(), 1);
        assert!(r.documents[0].success);
    }
    // Every 3 jobs a clear, as the workload asks.
    let clears = run
        .records
        .iter()
        .filter(|r| r.cache_clear.is_some())
        .count();
    assert_eq!(clears, 20);
    assert_ne!(run.verdict.primary.call, LeakCall::Inconclusive);
    // pymalloc hides objects from malloc's statistics: the verdict is on RSS.
    assert_eq!(run.verdict.primary.series, "rss_mb");
}

#[test]
fn docling_retained_results_are_a_leak_whose_owner_chain_names_the_retention() {
    if docling_python().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (leak, clean) = (tmp.path().join("leak"), tmp.path().join("clean"));
    // PYTHONMALLOC=malloc: every object through the preloaded jemalloc, so its layers see them.
    let args = [
        "--census",
        "every",
        "--allocator",
        "jemalloc",
        "--python-malloc",
        "malloc",
    ];
    let (code, stderr) = replay_docling(
        &workload("docling-web-office-retain-results.json"),
        &leak,
        &args,
        &[],
    );
    assert_eq!(code, 0, "replay failed: {stderr}");
    let run = analyse(&leak);
    assert_eq!(
        run.verdict.primary.call,
        LeakCall::Leak,
        "{:?}",
        run.verdict.primary
    );
    let top = run.diagnostics.leaks.types.first().expect("a growing type");
    assert!(top.count_growth > 0);
    let chains: Vec<&String> = run
        .diagnostics
        .leaks
        .types
        .iter()
        .take(5)
        .flat_map(|t| &t.owner_chains_text)
        .collect();
    assert!(
        chains
            .iter()
            .any(|c| c.contains("RETAINED") && c.contains("DoclingDocument")),
        "no owner chain through the retained documents: {chains:#?}"
    );
    // jemalloc's allocated bytes move with the leak, and much less without it.
    let allocated = |run: &RunAnalysis| -> Vec<u64> {
        run.records
            .iter()
            .filter_map(|r| match r.after_job.as_ref()?.allocator.as_ref()? {
                AllocatorLayers::Jemalloc { before_purge, .. } => {
                    Some(before_purge.allocated_bytes)
                }
                _ => None,
            })
            .collect()
    };
    let grown = |v: &[u64]| v[v.len() - 1] as i64 - v[v.len() / 5] as i64;
    let leak_growth = grown(&allocated(&run));
    let (code, stderr) = replay_docling(&workload("docling-web-office.json"), &clean, &args, &[]);
    assert_eq!(code, 0, "replay failed: {stderr}");
    let clean_growth = grown(&allocated(&analyse(&clean)));
    // The retained documents add several MB over these jobs; the clean worker's allocated
    // bytes stay within a few MB (they grew about 30 MB while the driver kept every census,
    // before its census store was bounded: snapshots.MAX_KEPT_CENSUSES).
    assert!(
        leak_growth > 3 << 20 && leak_growth - clean_growth > 3 << 20,
        "jemalloc allocated grew {leak_growth} B with the leak, {clean_growth} B without"
    );
}

#[test]
fn docling_max_jobs_starts_fresh_workers() {
    if docling_python().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let w = variant(tmp.path(), 4); // 16 jobs
    let out = tmp.path().join("run");
    let (code, stderr) = replay_docling(&w, &out, &["--max-jobs", "8", "--census", "off"], &[]);
    assert_eq!(code, 0, "replay failed: {stderr}");
    let run = analyse(&out);
    let pids: std::collections::BTreeSet<u32> = run.records.iter().map(|r| r.worker_pid).collect();
    assert_eq!(run.records.len(), 16);
    assert_eq!(pids.len(), 2, "two workers of 8 jobs each: {pids:?}");
    assert!(run.records.iter().all(|r| r.worker_jobs_total <= 8));
}

#[test]
fn docling_driver_killed_mid_job_is_a_recorded_death_with_the_finished_jobs_kept() {
    if docling_python().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let w = variant(tmp.path(), 2); // 8 jobs
    let out = tmp.path().join("run");
    let (code, stderr) = replay_docling(
        &w,
        &out,
        &["--census", "off"],
        &[("DOCLING_MEMPROF_TEST_KILL_AT_JOB", "4")],
    );
    assert_eq!(code, 3, "a dead worker is exit 3: {stderr}");
    let run = analyse(&out);
    assert_eq!(run.records.len(), 4, "jobs 1-3 kept, job 4 the death");
    assert!(run.records[..3]
        .iter()
        .all(|r| r.outcome == JobOutcome::Success));
    match &run.records[3].outcome {
        JobOutcome::Died { death, .. } => {
            let text = format!("{death:?}");
            assert!(text.contains("Signal") && text.contains('9'), "{text}");
        }
        other => panic!("job 4: {other:?}"),
    }
}

#[test]
fn docling_worker_with_a_python_lacking_docling_is_refused_naming_the_setup() {
    let tmp = tempfile::tempdir().expect("tmp");
    let output = Command::new(binary())
        .arg("replay")
        .arg(workload("docling-web-office.json"))
        .args(["--worker", "docling", "--python", "python3", "--out"])
        .arg(tmp.path().join("run"))
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("docling") && stderr.contains("setup-docling.sh"),
        "{stderr}"
    );
    assert!(
        !tmp.path().join("run").exists(),
        "no run folder for a refused replay"
    );
}

#[test]
fn docling_worker_refuses_the_core_only_allocators_and_sites() {
    for args in [&["--allocator", "dhat"][..], &["--sites", "sampled"][..]] {
        let output = Command::new(binary())
            .arg("replay")
            .arg(workload("docling-web-office.json"))
            .args(["--worker", "docling", "--python", "python3"])
            .args(args)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(args[0]), "{args:?}: {stderr}");
    }
    let output = Command::new(binary())
        .arg("replay")
        .arg(workload("docling-web-office.json"))
        .args(["--allocator", "mimalloc"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
}
