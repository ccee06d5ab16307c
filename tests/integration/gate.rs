//! Integration tests: gate (and diff). The run folders here are SYNTHETIC: written from the
//! shared record types (run.json + jobs.jsonl) with chosen numbers, not produced by a replay.

use std::path::{Path, PathBuf};
use std::process::Command;

use docling_memprof::record::{
    AllocatorLayers, JemallocStats, ProcessMemory, Snapshot, SnapshotKind, TypeCount, WorkerState,
};
use docling_memprof::record::{
    CacheClear, JobOutcome, JobRecord, MachineInfo, RunManifest, RECORD_SCHEMA_VERSION,
};

use crate::util::{binary, project_root};

const MIB: f64 = 1024.0 * 1024.0;

/// One synthetic job: RSS and live MiB after the job, census counts, an optional clear
/// (rss after the clear).
#[derive(Clone)]
pub struct SynthJob {
    pub rss_mb: f64,
    pub live_mb: f64,
    pub types: Vec<(&'static str, u64)>,
    pub clear_to_mb: Option<f64>,
}

fn snapshot(kind: SnapshotKind, rss_mb: f64, live_mb: f64, types: &[(&str, u64)]) -> Snapshot {
    let live = (live_mb * MIB) as u64;
    Snapshot {
        kind,
        taken_at_secs: Some(0.0),
        snapshot_duration_secs: Some(0.001),
        process: Some(ProcessMemory {
            rss_bytes: (rss_mb * MIB) as u64,
            ..ProcessMemory::default()
        }),
        process_from_parent: false,
        allocator: Some(AllocatorLayers::Jemalloc {
            before_purge: JemallocStats {
                allocated_bytes: live,
                active_bytes: live + live / 8,
                resident_bytes: live + live / 4,
                ..JemallocStats::default()
            },
            after_purge: Some(JemallocStats {
                allocated_bytes: live,
                active_bytes: live + live / 8,
                resident_bytes: live + live / 8,
                ..JemallocStats::default()
            }),
        }),
        worker: Some(WorkerState::default()),
        census: types
            .iter()
            .map(|(name, count)| TypeCount {
                type_name: name.to_string(),
                live_count: *count,
                live_bytes: Some(count * 64),
            })
            .collect(),
        sites: None,
        python: None,
        raw_sites: None,
    }
}

/// Write a synthetic run folder.
pub fn write_run(dir: &Path, jobs: &[SynthJob]) {
    std::fs::create_dir_all(dir).expect("create run dir");
    let manifest = RunManifest {
        schema_version: RECORD_SCHEMA_VERSION,
        tool_version: "synthetic".into(),
        workload_path: "synthetic".into(),
        workload_name: "synthetic".into(),
        workload: serde_json::json!({"synthetic": true}),
        worker: docling_memprof::record::WorkerKind::Core,
        allocator: Some(docling_memprof::record::AllocatorKind::Jemalloc),
        isolation: docling_memprof::record::Isolation::Worker,
        sites: None,
        census: true,
        memory_limit_bytes: None,
        git_revision: None,
        machine: MachineInfo::default(),
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: None,
        baselines: vec![snapshot(SnapshotKind::Baseline, 100.0, 10.0, &[])],
        status: docling_memprof::record::RunStatus::Completed,
        status_message: None,
        wall_time_secs: Some(1.0),
        workers_started: 1,
        jobs_planned: None,
        watch: None,
    };
    std::fs::write(
        dir.join("run.json"),
        serde_json::to_string_pretty(&manifest).expect("json"),
    )
    .expect("write");
    let mut lines = String::new();
    for (i, j) in jobs.iter().enumerate() {
        let record = JobRecord {
            schema_version: RECORD_SCHEMA_VERSION,
            job: (i + 1) as u64,
            worker_index: 0,
            worker_pid: 1,
            worker_jobs_total: (i + 1) as u64,
            job_id: format!("job-{i}"),
            task_id: format!("task-{i}"),
            workload_job: "synthetic".into(),
            outcome: JobOutcome::Success,
            duration_secs: 0.1,
            documents: vec![],
            peak_rss_bytes: Some((j.rss_mb * 1.02 * MIB) as u64),
            after_job: Some(snapshot(
                SnapshotKind::AfterJob,
                j.rss_mb,
                j.live_mb,
                &j.types,
            )),
            cache_clear: j.clear_to_mb.map(|after| CacheClear {
                jobs_since_last_clear: 1,
                converters: 1,
                pipelines: 1,
                models: 0,
                model_bytes: None,
                rss_before_bytes: Some((j.rss_mb * MIB) as u64),
                rss_after_bytes: Some((after * MIB) as u64),
                after_clear: Some(snapshot(
                    SnapshotKind::AfterClear,
                    after,
                    j.live_mb - (j.rss_mb - after),
                    &j.types,
                )),
            }),
            recycle_requested: false,
            logged_rss_bytes: None,
        };
        lines.push_str(&serde_json::to_string(&record).expect("json"));
        lines.push('\n');
    }
    std::fs::write(dir.join("jobs.jsonl"), lines).expect("write");
}

/// A healthy run: sawtooth with a flat floor, live flat, census flat; jitter is deterministic.
pub fn healthy(n: usize) -> Vec<SynthJob> {
    (0..n)
        .map(|i| {
            let pos = i % 3;
            let jitter = ((i * 7919) % 5) as f64 * 0.4;
            SynthJob {
                rss_mb: 500.0 + 60.0 * (pos + 1) as f64 + jitter,
                live_mb: 200.0 + 60.0 * (pos + 1) as f64 + jitter,
                types: vec![("Document", 3 + (i % 2) as u64), ("Converter", 1)],
                clear_to_mb: (pos == 2).then_some(500.0 + jitter),
            }
        })
        .collect()
}

/// A leaking run: the floor, live bytes and one census type grow every job.
pub fn leaking(n: usize, mb_per_job: f64) -> Vec<SynthJob> {
    healthy(n)
        .into_iter()
        .enumerate()
        .map(|(i, mut j)| {
            let extra = mb_per_job * i as f64;
            j.rss_mb += extra;
            j.live_mb += extra;
            j.clear_to_mb = j.clear_to_mb.map(|v| v + extra);
            j.types.push(("RetainedResult", i as u64 + 1));
            j
        })
        .collect()
}

struct GateRun {
    code: i32,
    stdout: String,
    stderr: String,
    junit: PathBuf,
    summary: PathBuf,
}

fn gate(run: &Path, budget: &Path, baseline: Option<&Path>, out: &Path) -> GateRun {
    let junit = out.join("junit.xml");
    let summary = out.join("summary.md");
    let mut cmd = Command::new(binary());
    cmd.arg("gate")
        .arg(run)
        .arg("--budget")
        .arg(budget)
        .arg("--junit")
        .arg(&junit)
        .arg("--summary")
        .arg(&summary);
    if let Some(b) = baseline {
        cmd.arg("--baseline").arg(b);
    }
    let output = cmd.output().expect("run the binary");
    GateRun {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        junit,
        summary,
    }
}

/// Parse the JUnit XML and return (tests, failures, names of failed cases).
fn junit_failures(path: &Path) -> (usize, usize, Vec<String>) {
    let text = std::fs::read_to_string(path).expect("junit written");
    let doc = roxmltree::Document::parse(&text).expect("JUnit XML parses");
    let cases: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let failed: Vec<String> = cases
        .iter()
        .filter(|c| c.children().any(|k| k.has_tag_name("failure")))
        .map(|c| c.attribute("name").unwrap_or("").to_string())
        .collect();
    (cases.len(), failed.len(), failed)
}

fn budget_file(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("memprof.toml");
    std::fs::write(&path, body).expect("write budget");
    path
}

const FULL_BUDGET: &str = r#"
[budget]
peak_rss = "1GiB"
rss_slope_mb_per_job = 2.0
live_slope_mb_per_job = 2.0
type_growth_per_job = 0.5
min_freed_per_clear = "100MiB"
[baseline]
tolerance_mb_per_job = 0.5
"#;

#[test]
fn gate_passes_a_healthy_synthetic_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = tmp.path().join("run");
    write_run(&run, &healthy(24));
    let budget = budget_file(tmp.path(), FULL_BUDGET);
    let g = gate(&run, &budget, None, tmp.path());
    assert_eq!(g.code, 0, "stdout:\n{}\nstderr:\n{}", g.stdout, g.stderr);
    let (tests, failures, _) = junit_failures(&g.junit);
    assert!(tests >= 5, "{tests}");
    assert_eq!(failures, 0);
    let summary = std::fs::read_to_string(&g.summary).expect("summary");
    assert!(summary.contains("passed"), "{summary}");
}

#[test]
fn the_shipped_budget_file_loads() {
    let budget = docling_memprof::engine::finish::load_budget(
        &project_root().join("fixtures/budgets/memprof.toml"),
    )
    .expect("fixture budget parses");
    assert!(budget.budget.peak_rss.is_some());
}

#[test]
fn each_kind_of_budget_break_fails_with_exit_1() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let healthy_run = tmp.path().join("healthy");
    write_run(&healthy_run, &healthy(24));
    let leaking_run = tmp.path().join("leaking");
    write_run(&leaking_run, &leaking(24, 4.0));
    let cases: [(&str, &str, &Path, &str); 5] = [
        (
            "peak",
            "[budget]\npeak_rss = \"600MiB\"\n",
            &healthy_run,
            "peak_rss",
        ),
        (
            "rss",
            "[budget]\nrss_slope_mb_per_job = 1.0\n",
            &leaking_run,
            "rss_slope",
        ),
        (
            "live",
            "[budget]\nlive_slope_mb_per_job = 1.0\n",
            &leaking_run,
            "live_slope",
        ),
        (
            "types",
            "[budget]\ntype_growth_per_job = 0.5\n",
            &leaking_run,
            "type_growth:RetainedResult",
        ),
        (
            "freed",
            "[budget]\nmin_freed_per_clear = \"200MiB\"\n",
            &healthy_run,
            "freed_per_clear",
        ),
    ];
    for (label, body, run, expected) in cases {
        let dir = tmp.path().join(label);
        std::fs::create_dir_all(&dir).expect("dir");
        let budget = budget_file(&dir, body);
        let g = gate(run, &budget, None, &dir);
        assert_eq!(
            g.code, 1,
            "{label}: stdout:\n{}\nstderr:\n{}",
            g.stdout, g.stderr
        );
        let (_, failures, failed) = junit_failures(&g.junit);
        assert_eq!(failures, 1, "{label}: {failed:?}");
        assert_eq!(failed[0], expected, "{label}");
        let summary = std::fs::read_to_string(&g.summary).expect("summary");
        assert!(summary.contains("FAIL"), "{label}: {summary}");
    }
}

#[test]
fn a_slope_above_the_baseline_fails() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path().join("base");
    write_run(&base, &healthy(24));
    let cand = tmp.path().join("cand");
    write_run(&cand, &leaking(24, 1.5));
    // No absolute budgets: only the baseline comparison can fail.
    let budget = budget_file(tmp.path(), "[baseline]\ntolerance_mb_per_job = 0.5\n");
    let g = gate(&cand, &budget, Some(&base), tmp.path());
    assert_eq!(g.code, 1, "stdout:\n{}\nstderr:\n{}", g.stdout, g.stderr);
    let (_, _, failed) = junit_failures(&g.junit);
    assert!(
        failed.contains(&"baseline_rss_slope".to_string()),
        "{failed:?}"
    );
    // The same run against itself passes.
    let g = gate(&base, &budget, Some(&base), tmp.path());
    assert_eq!(g.code, 0, "stdout:\n{}\nstderr:\n{}", g.stdout, g.stderr);
}

#[test]
fn bad_input_exits_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = tmp.path().join("run");
    write_run(&run, &healthy(12));
    // Unknown key in the budget.
    let budget = budget_file(tmp.path(), "[budget]\npeak_rs = \"1GiB\"\n");
    let g = gate(&run, &budget, None, tmp.path());
    assert_eq!(g.code, 2, "{}", g.stderr);
    assert!(g.stderr.contains("memprof.toml"), "{}", g.stderr);
    // A size that is not a size.
    let budget = budget_file(tmp.path(), "[budget]\npeak_rss = \"lots\"\n");
    assert_eq!(gate(&run, &budget, None, tmp.path()).code, 2);
    // Not a run folder.
    let budget = budget_file(tmp.path(), FULL_BUDGET);
    assert_eq!(
        gate(&tmp.path().join("missing"), &budget, None, tmp.path()).code,
        2
    );
    // A corrupt line in the middle of jobs.jsonl names the file and the line.
    let text = std::fs::read_to_string(run.join("jobs.jsonl")).expect("read");
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = "{\"schema_version\": 1, \"job\": \"four\"}";
    std::fs::write(run.join("jobs.jsonl"), lines.join("\n") + "\n").expect("write");
    let g = gate(&run, &budget, None, tmp.path());
    assert_eq!(g.code, 2, "{}", g.stderr);
    assert!(
        g.stderr.contains("jobs.jsonl") && g.stderr.contains("line 4"),
        "{}",
        g.stderr
    );
}

#[test]
fn a_truncated_last_line_is_tolerated() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = tmp.path().join("run");
    write_run(&run, &healthy(12));
    let text = std::fs::read_to_string(run.join("jobs.jsonl")).expect("read");
    let cut = &text[..text.len() - 40];
    std::fs::write(run.join("jobs.jsonl"), cut).expect("write");
    let loaded = docling_memprof::engine::load_run(&run).expect("loads");
    assert_eq!(loaded.jobs.len(), 11);
    assert!(loaded.truncated_last_line);
}

#[test]
fn diff_between_jobs_and_between_runs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = tmp.path().join("a");
    write_run(&a, &healthy(12));
    let b = tmp.path().join("b");
    write_run(&b, &leaking(12, 3.0));
    let out = Command::new(binary())
        .args(["diff"])
        .arg(&b)
        .args(["--from", "1", "--to", "12", "--json"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let types = d["types"].as_array().expect("types");
    assert_eq!(
        types[0]["name"], "RetainedResult",
        "largest growth first: {types:?}"
    );
    assert_eq!(types[0]["change"], 11.0);
    let out = Command::new(binary())
        .arg("diff")
        .arg(&a)
        .arg(&b)
        .arg("--json")
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let slopes = d["slopes"].as_array().expect("slopes");
    assert!(
        slopes
            .iter()
            .any(|s| s["name"] == "rss_mb" && s["change"].as_f64().unwrap_or(0.0) > 2.0),
        "{slopes:?}"
    );
    // A job outside the run is bad input.
    let out = Command::new(binary())
        .arg("diff")
        .arg(&a)
        .args(["--from", "1", "--to", "99"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    // The terminal table.
    let out = Command::new(binary())
        .arg("diff")
        .arg(&b)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("census type") && text.contains("RetainedResult"),
        "{text}"
    );
}
