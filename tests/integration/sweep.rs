//! `sweep` and `minimize` end to end through the binary: small workloads with tiny model
//! scales, each in its own temporary folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use docling_memprof::analysis::sweep::SweepReport;
use docling_memprof::analysis::{LeakCall, VerdictParams};
use docling_memprof::engine::analyse_folder;
use docling_memprof::record::{MinimizeReport, RunStatus};

use crate::util::{binary, project_root};

fn run(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .env_remove("DOCLING_MEMPROF_TEST_ABORT_AT_JOB")
        .output()
        .expect("run docling-memprof")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The unbounded-converter-cache fixture (every job a new option set, every set loads the
/// models again unless a clear drops them). Repeated, the second pass finds its sets loaded.
fn converter_cache_workload(dir: &Path, model_scale: f64, repeat: u32) -> PathBuf {
    let path = project_root().join("fixtures/workloads/leak-unbounded-converter-cache.json");
    let mut w: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    w["worker"]["model_scale"] = serde_json::json!(model_scale);
    w["repeat"] = serde_json::json!(repeat);
    let out = dir.join("converter-cache.json");
    std::fs::write(&out, w.to_string()).expect("write workload");
    out
}

fn read_sweep(dir: &Path) -> SweepReport {
    let text = std::fs::read_to_string(dir.join("sweep.json")).expect("sweep.json");
    serde_json::from_str(&text).expect("sweep.json parses")
}

#[test]
fn clearing_every_job_survives_the_limit_that_kills_the_worker_that_never_clears() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let workload = converter_cache_workload(tmp.path(), 0.05, 2);
    let out = tmp.path().join("sweep");
    let o = run(&[
        "sweep",
        workload.to_str().expect("utf-8"),
        "--clear-every",
        "0,1",
        "--memory-limit",
        "150MiB",
        "--parallel",
        "2",
        "--out",
        out.to_str().expect("utf-8"),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let printed: SweepReport = serde_json::from_slice(&o.stdout).expect("--json is sweep.json");
    let report = read_sweep(&out);
    assert_eq!(printed, report);
    let ids: Vec<&str> = report.policies.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["clear0-worker-jemalloc", "clear1-worker-jemalloc"]);
    let never = report.policies[0]
        .metrics
        .as_ref()
        .expect("clear0 finished");
    let every = report.policies[1]
        .metrics
        .as_ref()
        .expect("clear1 finished");
    // Never clearing: each option set's models stay, RSS crosses the limit, the death and its job are shown.
    let death = never.death.as_ref().expect("clear0 dies under 150 MiB");
    assert_eq!(death.kind, "memory_limit");
    assert!(death.job > 1 && death.job < 16, "{death:?}");
    assert_eq!(never.status, RunStatus::ChildDied);
    // Clearing after every job: the models go with the clear, the ceiling stays low.
    assert!(every.death.is_none());
    assert_eq!(every.status, RunStatus::Completed);
    assert_ne!(every.call, LeakCall::Leak);
    let (low, high) = (
        every.peak_rss_mb.expect("peak"),
        never.peak_rss_mb.expect("peak"),
    );
    assert!(high > 150.0 && low < 100.0, "ceilings {low} and {high}");
    assert!(every.margin_mb.is_some_and(|m| m > 0.0));
    let rec = report.recommendation.as_ref().expect("a recommendation");
    assert_eq!(
        rec.policy.as_deref(),
        Some("clear1-worker-jemalloc"),
        "{}",
        rec.text
    );
    assert!(report.policies[1].pareto && !report.policies[0].pareto);
    // The sweep's numbers are the run folders' numbers: the same analysis read back.
    for p in &report.policies {
        let m = p.metrics.as_ref().expect("metrics");
        let a =
            analyse_folder(&out.join(&p.run_dir), &VerdictParams::default()).expect("run folder");
        assert_eq!(a.verdict.primary.call, m.call, "{}", p.id);
        assert_eq!(a.records.len() as u64, m.jobs_run, "{}", p.id);
        let peak = a
            .records
            .iter()
            .flat_map(|r| {
                [
                    r.peak_rss_bytes,
                    r.after_job
                        .as_ref()
                        .and_then(|s| s.process.as_ref())
                        .map(|p| p.rss_bytes),
                ]
            })
            .flatten()
            .max()
            .map(|b| b as f64 / (1024.0 * 1024.0));
        assert_eq!(peak, m.peak_rss_mb, "{}", p.id);
        assert_eq!(a.manifest.memory_limit_bytes, Some(150 * 1024 * 1024));
    }
    for file in ["sweep.md", "charts/sweep.svg", "charts/sweep.png"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let md = std::fs::read_to_string(out.join("sweep.md")).expect("sweep.md");
    assert!(md.contains("clear1-worker-jemalloc (recommended)"), "{md}");
    assert!(md.contains(&format!("{} (memory", death.job)), "{md}");
}

#[test]
fn without_a_limit_the_recommendation_is_the_fastest_policy_that_does_not_leak() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let workload = converter_cache_workload(tmp.path(), 0.005, 1);
    let out = tmp.path().join("sweep");
    let o = run(&[
        "sweep",
        workload.to_str().expect("utf-8"),
        "--clear-every",
        "0,1",
        "--parallel",
        "1",
        "--out",
        out.to_str().expect("utf-8"),
        "--markdown",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("| policy |"), "{stdout}");
    let report = read_sweep(&out);
    let calls: Vec<LeakCall> = report
        .policies
        .iter()
        .map(|p| p.metrics.as_ref().expect("finished").call)
        .collect();
    assert_eq!(
        calls[0],
        LeakCall::Leak,
        "never clearing keeps every set's models"
    );
    assert_ne!(calls[1], LeakCall::Leak);
    let rec = report.recommendation.as_ref().expect("a recommendation");
    assert_eq!(
        rec.policy.as_deref(),
        Some("clear1-worker-jemalloc"),
        "{}",
        rec.text
    );
}

/// A workload whose replays last about a second each, so that a sweep can be stopped midway.
fn slow_workload(dir: &Path) -> PathBuf {
    let text = r#"{"schema_version": 1, "name": "slow", "worker": {"jobs_between_cache_clear": 3, "model_scale": 0.05},
        "documents": [{"id": "doc", "generate": {"format": "pdf", "pages": 10, "size_bytes": 200000, "seed": 9}}],
        "jobs": [{"name": "pdf", "options": {"images_scale": 2.0, "to_formats": ["md"]}, "documents": ["doc"]}],
        "repeat": 60}"#;
    let path = dir.join("slow.json");
    std::fs::write(&path, text).expect("write workload");
    path
}

fn finished(run_dir: &Path) -> bool {
    std::fs::read_to_string(run_dir.join("run.json"))
        .is_ok_and(|t| t.contains("\"status\": \"completed\""))
}

#[test]
fn an_interrupted_sweep_keeps_its_finished_policies_and_resume_runs_only_the_rest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let workload = slow_workload(tmp.path());
    let out = tmp.path().join("sweep");
    let args = [
        "sweep",
        workload.to_str().expect("utf-8"),
        "--clear-every",
        "1,2,3,5",
        "--parallel",
        "1",
        "--no-charts",
        "--out",
        out.to_str().expect("utf-8"),
    ];
    let child = Command::new(binary())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the sweep");
    let first = out.join("clear1-worker-jemalloc");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !finished(&first) {
        assert!(Instant::now() < deadline, "the first policy never finished");
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let o = child.wait_with_output().expect("the sweep ends");
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    let report = read_sweep(&out);
    let done: Vec<String> = report
        .policies
        .iter()
        .filter(|p| p.metrics.is_some())
        .map(|p| p.id.clone())
        .collect();
    if done.len() == report.policies.len() {
        eprintln!("SKIPPED: the sweep finished before SIGTERM reached it");
        return;
    }
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    assert!(!report.complete);
    assert!(
        done.contains(&"clear1-worker-jemalloc".to_string()),
        "{done:?}"
    );
    let mtimes: Vec<_> = done
        .iter()
        .map(|id| {
            std::fs::metadata(out.join(id).join("run.json"))
                .and_then(|m| m.modified())
                .expect("mtime")
        })
        .collect();
    let mut resumed = args.to_vec();
    resumed.push("--resume");
    let o = run(&resumed);
    assert!(o.status.success(), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(stderr.matches("kept ").count(), done.len(), "{stderr}");
    assert_eq!(
        stderr.matches("started ").count(),
        report.policies.len() - done.len(),
        "{stderr}"
    );
    for (id, before) in done.iter().zip(mtimes) {
        let after = std::fs::metadata(out.join(id).join("run.json"))
            .and_then(|m| m.modified())
            .expect("mtime");
        assert_eq!(before, after, "{id} was run again");
    }
    let report = read_sweep(&out);
    assert!(report.complete);
    assert!(report.policies.iter().all(|p| p
        .metrics
        .as_ref()
        .is_some_and(|m| m.status == RunStatus::Completed)));
}

#[test]
fn sweep_flags_and_folders_that_cannot_be_used_exit_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let workload = converter_cache_workload(tmp.path(), 0.005, 1);
    let w = workload.to_str().expect("utf-8");
    let o = run(&["sweep", w, "--clear-every", "x"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--clear-every"));
    let o = run(&["sweep", w, "--isolation", "worker", "--max-jobs", "5"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no policy to run"));
    let missing = tmp.path().join("none");
    let o = run(&[
        "sweep",
        w,
        "--resume",
        "--out",
        missing.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = tmp.path().join("sweep");
    let o = run(&[
        "sweep",
        w,
        "--clear-every",
        "1",
        "--no-charts",
        "-q",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&[
        "sweep",
        w,
        "--clear-every",
        "1",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));
    let o = run(&[
        "sweep",
        w,
        "--clear-every",
        "2",
        "--resume",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("same workload, axes"));
}

#[test]
fn minimize_keeps_only_the_leaking_job_kind() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("min");
    let fixture = project_root().join("fixtures/workloads/synthetic-one-leaking-kind.json");
    let o = run(&[
        "minimize",
        fixture.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let report: MinimizeReport = serde_json::from_slice(&o.stdout).expect("--json is steps.json");
    assert!(report.complete);
    assert_eq!(
        report.minimal_jobs,
        ["pdf-page-images"],
        "{}",
        report.summary
    );
    assert_eq!(report.minimal_documents, ["scan"]);
    assert_eq!(report.minimal_option_sets, 1);
    assert_eq!((report.original_jobs, report.original_documents), (8, 5));
    assert!(report.replays < 20, "{} replays", report.replays);
    assert!(report
        .final_slope
        .is_some_and(|s| s >= 0.5 * report.original_slope));
    // The minimal workload is a workload file: it loads, and its replay is still a leak.
    let minimal = docling_memprof::workload::load(&out.join("minimal.json")).expect("loads");
    assert_eq!(minimal.workload.jobs.len(), 1);
    assert_eq!(minimal.workload.documents.len(), 1);
    assert!(minimal.workload.job_count() >= 12);
    let run_dir = tmp.path().join("replay");
    let o = run(&[
        "replay",
        out.join("minimal.json").to_str().expect("utf-8"),
        "--out",
        run_dir.to_str().expect("utf-8"),
        "--quiet",
        "--no-charts",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let a = analyse_folder(&run_dir, &VerdictParams::default()).expect("run");
    assert_eq!(a.verdict.primary.call, LeakCall::Leak);
    // Every step is in the report: the original first, each candidate with its folder.
    assert_eq!(report.steps[0].phase, "original");
    for s in &report.steps[1..] {
        assert!(
            out.join(&s.folder).join("workload.json").is_file(),
            "{}",
            s.folder
        );
    }
    assert!(out.join("steps.md").is_file());
}

#[test]
fn minimize_refuses_a_workload_that_does_not_leak() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let workload = converter_cache_workload(tmp.path(), 0.005, 1);
    let out = tmp.path().join("min");
    let o = run(&[
        "minimize",
        workload.to_str().expect("utf-8"),
        "--clear-every",
        "1",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nothing to minimize"),
        "{}",
        text(&o)
    );
    let o = run(&["minimize", workload.to_str().expect("utf-8"), "--keep", "2"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--keep"));
}

#[test]
fn a_sweep_compares_the_core_with_a_worker_command() {
    let Some(python) = crate::util::python3() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let workload = converter_cache_workload(tmp.path(), 0.005, 2);
    let out = tmp.path().join("sweep");
    let worker = format!(
        "{} {} --leak-kb-per-job 2048 --model-mb 1",
        python.display(),
        project_root().join("workers/reference_worker.py").display()
    );
    let o = run(&[
        "sweep",
        workload.to_str().expect("utf-8"),
        "--clear-every",
        "1",
        "--worker-cmd",
        "core",
        "--worker-cmd",
        &worker,
        "--no-charts",
        "--quiet",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let report = read_sweep(&out);
    let ids: Vec<&str> = report.policies.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["clear1-worker-jemalloc", "clear1-worker-cmd2"]);
    let core = report.policies[0].metrics.as_ref().expect("core finished");
    let cmd = report.policies[1]
        .metrics
        .as_ref()
        .expect("command finished");
    assert_ne!(core.call, LeakCall::Leak);
    // The reference worker keeps 2 MiB per job whatever the clears: RSS grows ~2 MB/job.
    assert_eq!(cmd.call, LeakCall::Leak);
    assert!(cmd.slope_mb_per_job.is_some_and(|s| s > 1.0), "{cmd:?}");
    assert!(report.policies[1].replay_args.contains(&worker));
    let rec = report.recommendation.as_ref().expect("a recommendation");
    assert_eq!(
        rec.policy.as_deref(),
        Some("clear1-worker-jemalloc"),
        "{}",
        rec.text
    );
}
