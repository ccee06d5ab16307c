//! Census and allocation-site overhead: each option against the same replay without it, side
//! by side, interleaved.
//!
//! `cargo bench --bench census_sites_overhead [-- ROUNDS [WORKLOAD]]` (default 7 rounds of
//! `fixtures/workloads/seed-20-jobs.json`). Three pairs, each run alternately first:
//! - census: jemalloc, census on vs `--no-census`;
//! - sampled sites: jemalloc with census, `--sites sampled` vs no sites;
//! - exact sites: dhat with census, `--sites exact` vs no sites (dhat is slow by itself; the
//!   ratio is against dhat without sites).
//!
//! Reports the median replay wall time of each side (from run.json: process start-up is
//! excluded) and their ratio. Results go to BENCHMARKS.md by hand.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Pair {
    name: &'static str,
    with: &'static [&'static str],
    without: &'static [&'static str],
}

const PAIRS: [Pair; 3] = [
    Pair {
        name: "census (jemalloc)",
        with: &["--allocator", "jemalloc", "--sites", "off"],
        without: &["--allocator", "jemalloc", "--no-census", "--sites", "off"],
    },
    Pair {
        name: "sampled sites (jemalloc, census on)",
        with: &["--allocator", "jemalloc", "--sites", "sampled"],
        without: &["--allocator", "jemalloc", "--sites", "off"],
    },
    Pair {
        name: "exact sites (dhat, census on)",
        with: &["--allocator", "dhat", "--sites", "exact"],
        without: &["--allocator", "dhat"],
    },
];

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(7);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workload = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("fixtures/workloads/seed-20-jobs.json"));
    let only = std::env::var("CENSUS_BENCH_ONLY").ok();
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_docling-memprof"));
    let tmp = tempfile::tempdir().expect("tempdir");
    println!(
        "workload: {}, {rounds} interleaved rounds",
        workload.display()
    );
    for (p, pair) in PAIRS.iter().enumerate() {
        if only.as_deref().is_some_and(|o| !pair.name.starts_with(o)) {
            continue;
        }
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let order = if round % 2 == 0 {
                [true, false]
            } else {
                [false, true]
            };
            for on in order {
                let out = tmp.path().join(format!("p{p}-r{round}-{on}"));
                let flags = if on { pair.with } else { pair.without };
                let wall = run(&binary, &workload, &out, flags);
                if on {
                    with.push(wall);
                } else {
                    without.push(wall);
                }
            }
        }
        let (a, b) = (median(&mut with), median(&mut without));
        println!(
            "{:<38} with {:>9.1} ms  without {:>9.1} ms  ratio {:.3}  (min/max with {:.1}/{:.1}, without {:.1}/{:.1})",
            pair.name,
            a * 1e3,
            b * 1e3,
            a / b,
            with.first().copied().unwrap_or(0.0) * 1e3,
            with.last().copied().unwrap_or(0.0) * 1e3,
            without.first().copied().unwrap_or(0.0) * 1e3,
            without.last().copied().unwrap_or(0.0) * 1e3,
        );
    }
}

/// One replay's wall time from run.json.
fn run(binary: &Path, workload: &Path, out: &Path, flags: &[&str]) -> f64 {
    let status = Command::new(binary)
        .arg("replay")
        .arg(workload)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(flags)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run docling-memprof");
    assert!(status.success(), "replay {flags:?} failed: {status}");
    let (manifest, _) = docling_memprof::engine::folder::read_run(out).expect("run folder");
    let _ = std::fs::remove_dir_all(out);
    manifest.wall_time_secs.unwrap_or(0.0)
}

/// Median (sorts in place).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
