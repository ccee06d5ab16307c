//! `--sites jemalloc`: jemalloc's own heap profiler (issue 14, item 2).
//!
//! Without the `jemalloc-profiling` feature the mode is refused with exit 2. With it: a
//! replay's per-job dumps are read by Debian's `jeprof` (the known leak of
//! `leak-page-images.json` ranks first), and the accuracy of jemalloc's estimate on the same
//! known leak as
//! `tests/sites_accuracy.rs`: blocks of known sizes leaked from known functions after 50,000
//! freed blocks of churn, a `prof.dump`, and the leaking functions' stacks scaled the way
//! `jeprof` does, against the true bytes, with Horvitz-Thompson error bars
//! (`docling_memprof::alloc::jemalloc_prof::HeapStack::estimate`).
//!
//! Accuracy, only with the feature (jemalloc's profiler compiled in):
//! `CARGO_TARGET_DIR=target/prof cargo test --release --locked --features jemalloc-profiling
//! --test jemalloc_prof -- --nocapture` prints the table in BENCHMARKS.md
//! (`JEPROF_ACCURACY_RUNS=10` for more runs). jemalloc reads `prof:true` only at its first
//! allocation, so every run is a child process of this test binary started with
//! `_RJEM_MALLOC_CONF` in its environment; a stack belongs to a leaking function when one of
//! its return addresses falls in that function's symbol-table range (no symbolisation).

#[cfg(feature = "jemalloc-profiling")]
#[path = "known_leak/mod.rs"]
mod known_leak;

#[cfg(feature = "jemalloc-profiling")]
#[path = "jemalloc_prof/with_profiler.rs"]
mod with_profiler;

/// A build without the profiler refuses the mode: exit 2, a message naming the feature, and
/// no run folder.
#[cfg(not(feature = "jemalloc-profiling"))]
#[test]
fn without_the_feature_the_mode_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_docling-memprof"))
        .arg("replay")
        .arg(root.join("fixtures/workloads/seed-20-jobs.json"))
        .arg("--out")
        .arg(&out)
        .args(["--quiet", "--no-charts", "--sites", "jemalloc"])
        .output()
        .expect("run docling-memprof");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--features jemalloc-profiling"), "{stderr}");
    assert!(!out.exists(), "no run folder is claimed");
}

#[global_allocator]
static GLOBAL: docling_memprof::alloc::SelectedAllocator =
    docling_memprof::alloc::SelectedAllocator::new();
