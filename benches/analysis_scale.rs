//! Analysis at scale: the verdict on long synthetic trajectories, time and memory.
//!
//! `cargo bench --bench analysis_scale [-- JOBS...]` (default 10000 100000 1000000). For each
//! size, in a fresh child process (so that peak memory is per size): build a synthetic
//! log-like trajectory (whole-MB RSS, a cache clear every 3 jobs that frees nothing, a
//! settling plateau with slow creep, SYNTHETIC data), then time `judge_run` on it (every
//! series, warm-up, cycles, trend, interval, shape), and read the process's peak RSS
//! (`VmHWM`) before and after. A second line per size does the same on a linear leak of
//! 2 MB per job. `-- --log JOBS` instead writes a synthetic worker log of JOBS jobs (9 lines a
//! job) into memory and times parsing plus the verdict, as `logs` does. Results go to
//! BENCHMARKS.md by hand.

use std::process::Command;
use std::time::Instant;

use docling_memprof::analysis::{judge_run, JobPoint, SourceKind, Trajectory, VerdictParams};

fn status_kb(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// SYNTHETIC: 731 MB settling to ~771 MB by job 60, +0.005 MB per job afterwards (whole MB),
/// or a 2 MB/job leak; small deterministic jitter.
fn trajectory(jobs: u64, leak: bool) -> Trajectory {
    let points = (1..=jobs)
        .map(|j| {
            let settle = 40.0 * (1.0 - (-(j as f64) / 15.0).exp());
            let jitter = ((j * 2_654_435_761) % 3) as f64 - 1.0;
            let trend = if leak {
                2.0 * j as f64
            } else {
                0.005 * j as f64
            };
            JobPoint {
                job: j,
                outcome: docling_memprof::analysis::OutcomeKind::Success,
                rss_mb: Some((731.0 + settle + trend + jitter).round()),
                ..JobPoint::default()
            }
        })
        .collect();
    Trajectory {
        source: SourceKind::Log,
        origin: "synthetic".into(),
        baseline_rss_mb: None,
        baseline_live_mb: None,
        points,
        clears: vec![],
        memory_limit_mb: None,
        unreadable_lines: 0,
    }
}

fn one_size(jobs: u64, leak: bool) {
    let t0 = Instant::now();
    let t = trajectory(jobs, leak);
    let build_secs = t0.elapsed().as_secs_f64();
    let rss_before = status_kb("VmRSS:");
    let t1 = Instant::now();
    let verdict = judge_run(&t, &VerdictParams::default());
    let judge_secs = t1.elapsed().as_secs_f64();
    let peak = status_kb("VmHWM:");
    println!(
        "| {jobs} | {} | {build_secs:.2} s | {judge_secs:.2} s | {:.0} MB | {:.0} MB | {:?} {} {:+.4}/job |",
        if leak { "leak 2 MB/job" } else { "plateau + creep" },
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0,
        verdict.primary.call,
        verdict.primary.pattern.name(),
        verdict.primary.slope_per_job,
    );
}

fn log_text(jobs: u64) -> String {
    let mut out = String::with_capacity(jobs as usize * 700);
    out.push_str(
        "INFO:w:[WORKER START] name=w | queues=convert | config={'jobs_between_cache_clear': 3}\n",
    );
    for j in 1..=jobs {
        let rss = 771 + ((j * 2_654_435_761) % 3);
        out.push_str(&format!(
            "INFO:w:[JOB EXEC] job_id={j} | task_id=t{j} | queue=convert | trace_id=0\n\
             INFO:w:[JOB START] job_id={j} | task_id=t{j} | queue=convert | trace_id=0\n\
             INFO:w:[TASK START] task_id=t{j} | type=convert | documents=1 | total_size=12.0 KB | pipeline=standard | ocr=easyocr | formats=md\n\
             INFO:w:  [1/1] file: doc{j}.html (12.0 KB)\n\
             INFO:w:[DOC OK] doc{j}.html | status=success | size=12.0 KB | pages=1 | time=0.10s\n\
             INFO:w:[TASK SUCCESS] task_id=t{j} | time=0.11s | documents=1/1 succeeded | size=12.0 KB | pages=1 | throughput=9.1 pages/sec\n\
             INFO:w:[JOB SUCCESS] job_id={j} | task_id=t{j} | duration=0.12s\n\
             INFO:w:[MEMORY] job_id={j} | rss={rss}MB | jobs_total={j}\n"
        ));
        if j % 3 == 0 {
            out.push_str(&format!(
                "INFO:w:[CACHE CLEAR] jobs_since_last_clear=3 | converters=1 | pipelines=1 | memory={rss}MB (freed 0MB)\n"
            ));
        }
    }
    out
}

fn one_log(jobs: u64) {
    let text = log_text(jobs);
    let lines = text.lines().count();
    let t0 = Instant::now();
    let parsed = docling_memprof::logs::parse::parse_reader(text.as_bytes(), "synthetic")
        .expect("in-memory read");
    let parse_secs = t0.elapsed().as_secs_f64();
    drop(text);
    let t1 = Instant::now();
    let verdict = judge_run(&parsed.trajectory(None), &VerdictParams::default());
    let judge_secs = t1.elapsed().as_secs_f64();
    println!(
        "| log, {jobs} jobs ({lines} lines) | parse {parse_secs:.2} s | verdict {judge_secs:.2} s | peak {:.0} MB | {:?} |",
        status_kb("VmHWM:") as f64 / 1024.0,
        verdict.primary.call
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let Some(pos) = args.iter().position(|a| a == "--one") {
        let jobs = args
            .get(pos + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        let leak = args.iter().any(|a| a == "--leak");
        one_size(jobs, leak);
        return;
    }
    if let Some(pos) = args.iter().position(|a| a == "--log") {
        let jobs = args
            .get(pos + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(36_000);
        one_log(jobs);
        return;
    }
    let sizes: Vec<u64> = if args.is_empty() {
        vec![10_000, 100_000, 1_000_000]
    } else {
        args.iter().filter_map(|a| a.parse().ok()).collect()
    };
    println!("| jobs | trajectory | build | judge_run | RSS before | peak RSS | primary verdict |");
    println!("|---|---|---|---|---|---|---|");
    let exe = std::env::current_exe().expect("current exe");
    for jobs in sizes {
        for leak in [false, true] {
            let mut cmd = Command::new(&exe);
            cmd.arg("--one").arg(jobs.to_string());
            if leak {
                cmd.arg("--leak");
            }
            let status = cmd.status().expect("child runs");
            assert!(status.success(), "child for {jobs} jobs failed");
        }
    }
}
