//! The tests that need jemalloc's profiler compiled in (feature `jemalloc-profiling`).

use std::process::Command;

use docling_memprof::alloc::jemalloc_prof::{self, HeapProfile};
use docling_memprof::alloc::module::main_binary;
use docling_memprof::symbols::elf;

use super::known_leak::{churn, leak_pages, leak_small, CASES};

/// Set in the child runs: the child leaks, dumps and prints its results.
const CHILD_ENV: &str = "JEPROF_ACCURACY_CHILD";

/// The estimate and its stderr of the stacks through `function`'s code in `profile`.
fn leak_estimate(profile: &HeapProfile, function: usize) -> (f64, f64) {
    let main = main_binary();
    let path = main.path.as_deref().expect("/proc/self/exe");
    let starts = elf::function_starts(path);
    let (start, end) =
        elf::function_range(&starts, main.relative(function)).expect("the function's symbol");
    let (mut bytes, mut variance) = (0.0, 0.0);
    for stack in &profile.stacks {
        // Return addresses: the call instruction is the byte before.
        let through = stack.frames.iter().any(|&ip| {
            let rel = main.relative(ip.saturating_sub(1) as usize);
            rel >= start && rel < end
        });
        if through {
            let e = stack.estimate(profile.sample_interval_bytes);
            bytes += e.bytes;
            variance += e.variance;
        }
    }
    (bytes, variance.sqrt())
}

/// One child run: every case leaked, dumped, measured, printed as `RESULT case estimate stderr`.
fn child(dir: &str) {
    let state = jemalloc_prof::check_running().expect("the profiler runs in the child");
    for (index, &(function, count, size)) in CASES.iter().enumerate() {
        let mut keep = Vec::with_capacity(count);
        churn(50_000);
        let address = if function == "leak_small" {
            leak_small(count, size, &mut keep);
            leak_small as *const () as usize
        } else {
            leak_pages(count, size, &mut keep);
            leak_pages as *const () as usize
        };
        let path = std::path::Path::new(dir).join(format!("case-{index}.heap"));
        jemalloc_prof::dump(&path).expect("prof.dump");
        let text = std::fs::read_to_string(&path).expect("the dump");
        let profile = jemalloc_prof::parse_heap_v2(&text).expect("a heap_v2 dump");
        assert_eq!(profile.sample_interval_bytes, 1 << state.lg_sample);
        let (estimate, stderr) = leak_estimate(&profile, address);
        println!("RESULT {index} {estimate:.0} {stderr:.0}");
        drop(keep);
    }
}

fn run_child(lg_sample: u32) -> Vec<(f64, f64)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "with_profiler::a_known_leak_is_estimated_by_jemalloc_within_its_error_bars",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .env(
            jemalloc_prof::CONF_ENV,
            jemalloc_prof::malloc_conf(lg_sample),
        )
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<(f64, f64)> = stdout
        .lines()
        .filter_map(|l| l.split_once("RESULT ").map(|(_, r)| r))
        .map(|l| {
            let v: Vec<f64> = l.split(' ').map(|x| x.parse().expect("a number")).collect();
            (v[1], v[2])
        })
        .collect();
    assert_eq!(results.len(), CASES.len(), "{stdout}");
    results
}

#[test]
fn a_known_leak_is_estimated_by_jemalloc_within_its_error_bars() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(&dir.to_string_lossy());
        return;
    }
    let runs: usize = std::env::var("JEPROF_ACCURACY_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let mut worst_z: f64 = 0.0;
    println!("| blocks x size (mean) | true bytes | run | estimate | stderr | z |");
    println!("|---|---|---|---|---|---|");
    for lg_sample in [16u32, 18] {
        for run in 1..=runs {
            for ((_, count, size), (estimate, stderr)) in CASES.iter().zip(run_child(lg_sample)) {
                let truth = (count * size) as f64;
                let z = (estimate - truth) / stderr.max(1.0);
                println!(
                    "| {count} x {size} B ({} KiB) | {truth:.0} | {run} | {estimate:.0} | {stderr:.0} ({:.1}%) | {z:+.2} |",
                    (1u64 << lg_sample) / 1024,
                    100.0 * stderr / truth
                );
                assert!(estimate > 0.0, "the leak is found: {count} x {size}");
                worst_z = worst_z.max(z.abs());
            }
        }
    }
    // Four standard errors: a miss is a biased estimator, not bad luck (p < 1e-4 per case).
    assert!(worst_z < 4.0, "worst |z| {worst_z:.2}");
}

fn jeprof() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("jeprof"))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("jeprof is needed and CI=true: apt-get install -y libjemalloc-dev");
        }
        eprintln!("SKIPPED: jeprof not found (install it: apt-get install -y libjemalloc-dev)");
    }
    found
}

/// `jeprof --text`'s rows: (flat MB, cum MB, function), in its order.
fn text_rows(report: &str) -> Vec<(f64, f64, String)> {
    report
        .lines()
        .skip_while(|l| !l.starts_with("Total:"))
        .skip(1)
        .filter_map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            let flat: f64 = parts.first()?.parse().ok()?;
            let cum: f64 = parts.get(3)?.parse().ok()?;
            Some((flat, cum, parts.get(5..)?.join(" ")))
        })
        .collect()
}

/// A replay with `--sites jemalloc` writes a dump per job (and per clear) that `jeprof`
/// opens; in the last one the page images' allocation holds the census's leaked bytes.
#[test]
fn jeprof_reads_the_per_job_dumps_of_a_replay() {
    let Some(jeprof) = jeprof() else {
        return;
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = env!("CARGO_BIN_EXE_docling-memprof");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let status = Command::new(bin)
        .arg("replay")
        .arg(root.join("fixtures/workloads/leak-page-images.json"))
        .arg("--out")
        .arg(&out)
        .args(["--quiet", "--no-charts", "--sites", "jemalloc"])
        .status()
        .expect("run docling-memprof");
    assert!(status.success(), "replay failed: {status:?}");
    // 10 jobs, a clear after every 3rd: the baseline, 10 after-job and 3 after-clear dumps.
    let sites = out.join(jemalloc_prof::DUMP_DIR);
    for name in [
        "jemalloc-0.heap",
        "jemalloc-10.heap",
        "jemalloc-9-clear.heap",
    ] {
        assert!(sites.join(name).is_file(), "{name} in {}", sites.display());
    }
    let count = std::fs::read_dir(&sites).expect("sites/").count();
    assert_eq!(count, 1 + 10 + 3, "dumps in {}", sites.display());
    let last = sites.join("jemalloc-10.heap");
    let text = std::fs::read_to_string(&last).expect("the last dump");
    let profile = jemalloc_prof::parse_heap_v2(&text).expect("a heap_v2 dump");
    assert_eq!(
        profile.sample_interval_bytes,
        1 << jemalloc_prof::DEFAULT_LG_SAMPLE
    );
    assert!(text.contains("\nMAPPED_LIBRARIES:\n"));

    let output = Command::new(&jeprof)
        .args(["--text", bin])
        .arg(&last)
        .output()
        .expect("run jeprof");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "jeprof failed: {}\n{report}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Flat bytes land in jemalloc's own innermost frames (jeprof's skip list knows the
    // unprefixed names only): the leak is read from its function's `cum`.
    let total_mb: f64 = report
        .lines()
        .find_map(|l| l.strip_prefix("Total:"))
        .and_then(|t| t.trim().trim_end_matches("MB").trim().parse().ok())
        .expect("jeprof's Total");
    let rows = text_rows(&report);
    let cum_mb = rows
        .iter()
        .find(|(_, _, f)| f.starts_with("docling_memprof::worker::pipeline::PageImage::render"))
        .map(|r| r.1)
        .expect("the page images' allocation is listed");
    assert!(
        cum_mb >= 0.8 * total_mb,
        "the page images hold most of the heap: {cum_mb} of {total_mb} MB\n{report}"
    );
    // The census counts the page images' requested bytes; jemalloc counts their size classes
    // (large classes are at most 25% above the request; 1.45 MB pages take 1.5 MiB each).
    let (_, records) = docling_memprof::engine::folder::read_run(&out).expect("run reads back");
    let census = records
        .last()
        .and_then(|r| r.after_job.as_ref())
        .map(|s| &s.census)
        .expect("the last job's census");
    let page_images = census
        .iter()
        .find(|t| t.type_name.ends_with("PageImage"))
        .expect("PageImage in the census");
    let census_mb = page_images.live_bytes.expect("counted bytes") as f64 / (1024.0 * 1024.0);
    assert!(
        cum_mb >= census_mb - 0.1 && cum_mb <= 1.25 * census_mb + 0.5,
        "jeprof {cum_mb} MB, census {census_mb:.2} MB\n{report}"
    );
}
