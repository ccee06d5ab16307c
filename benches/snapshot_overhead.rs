//! Snapshot overhead: the same replay with snapshots on and off, side by side, interleaved.
//!
//! `cargo bench --bench snapshot_overhead [-- ROUNDS [WORKLOAD]]` (default 9 rounds of
//! `fixtures/workloads/seed-20-jobs.json`). Each round runs the workload once with snapshots
//! (baseline + after every job + after every clear: procfs status + smaps_rollup, jemalloc
//! stats before and after a purge, worker state) and once with `--no-snapshots`, alternating
//! which goes first. Reports the median replay wall time of each (from run.json, so process
//! start-up is excluded), their ratio, and the median / p95 / max cost of one snapshot (from
//! the snapshots' own `snapshot_duration_secs`). Results go to BENCHMARKS.md by hand.
//!
//! `SNAPSHOT_OVERHEAD_ARGS="--purge every --smaps every"` adds flags to the snapshots-on runs;
//! `SNAPSHOT_OVERHEAD_COMMON_ARGS="--no-census"` adds flags to both sides.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(9);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workload = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("fixtures/workloads/seed-20-jobs.json"));
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_docling-memprof"));
    let tmp = tempfile::tempdir().expect("tempdir");

    let mut on_secs = Vec::new();
    let mut off_secs = Vec::new();
    let mut snapshot_secs = Vec::new();
    let mut jobs = 0usize;
    for round in 0..rounds {
        let order: [bool; 2] = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for snapshots in order {
            let out = tmp.path().join(format!("r{round}-{snapshots}"));
            let (wall, snaps, n) = run(&binary, &workload, &out, snapshots);
            jobs = n;
            if snapshots {
                on_secs.push(wall);
                snapshot_secs.extend(snaps);
            } else {
                off_secs.push(wall);
            }
        }
    }
    let on = median(&mut on_secs);
    let off = median(&mut off_secs);
    snapshot_secs.sort_by(f64::total_cmp);
    let p95 = snapshot_secs[(snapshot_secs.len() * 95 / 100).min(snapshot_secs.len() - 1)];
    let max = snapshot_secs.last().copied().unwrap_or(0.0);
    println!(
        "workload: {} ({jobs} jobs), {rounds} interleaved rounds",
        workload.display()
    );
    let extra = std::env::var("SNAPSHOT_OVERHEAD_ARGS").unwrap_or_default();
    let common = std::env::var("SNAPSHOT_OVERHEAD_COMMON_ARGS").unwrap_or_default();
    println!("snapshot flags: `{extra}`, flags on both sides: `{common}`");
    println!("replay wall time, snapshots on:  median {:.1} ms", on * 1e3);
    println!(
        "replay wall time, snapshots off: median {:.1} ms",
        off * 1e3
    );
    println!("overhead: {:+.2}% (on/off - 1)", (on / off - 1.0) * 100.0);
    println!(
        "one snapshot ({} taken): median {:.3} ms, p95 {:.3} ms, max {:.3} ms",
        snapshot_secs.len(),
        median(&mut snapshot_secs.clone()) * 1e3,
        p95 * 1e3,
        max * 1e3
    );
}

/// One replay: (wall time from run.json, every snapshot's cost, jobs).
fn run(binary: &Path, workload: &Path, out: &Path, snapshots: bool) -> (f64, Vec<f64>, usize) {
    let mut cmd = Command::new(binary);
    cmd.arg("replay")
        .arg(workload)
        .arg("--out")
        .arg(out)
        .arg("--quiet");
    // The snapshot alone: no sampled sites (the jemalloc core's default) on either side
    // (`--no-snapshots` records none anyway).
    if snapshots {
        cmd.args(["--sites", "off"]);
    }
    let common = std::env::var("SNAPSHOT_OVERHEAD_COMMON_ARGS").unwrap_or_default();
    cmd.args(common.split_whitespace());
    if snapshots {
        let extra = std::env::var("SNAPSHOT_OVERHEAD_ARGS").unwrap_or_default();
        cmd.args(extra.split_whitespace());
    } else {
        cmd.arg("--no-snapshots");
    }
    let status = cmd.status().expect("run docling-memprof");
    assert!(status.success(), "replay failed: {status}");
    let (manifest, records) = docling_memprof::engine::folder::read_run(out).expect("run folder");
    let mut costs: Vec<f64> = manifest
        .baselines
        .iter()
        .filter_map(|s| s.snapshot_duration_secs)
        .collect();
    for r in &records {
        costs.extend(r.after_job.iter().filter_map(|s| s.snapshot_duration_secs));
        if snapshots {
            costs.extend(
                r.cache_clear
                    .iter()
                    .filter_map(|c| c.after_clear.as_ref()?.snapshot_duration_secs),
            );
        }
    }
    (manifest.wall_time_secs.unwrap_or(0.0), costs, records.len())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
