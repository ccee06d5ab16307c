//! Accuracy of the sampled sites (issue 14): a known leak of known bytes, estimated by the
//! sampler in this process and symbolised by the parent-side resolver from raw addresses, must
//! fall within its stated error bars. Its own test binary because it installs the runtime-
//! selected allocator (jemalloc, the default) as the global allocator; one test, so nothing else
//! allocates meanwhile.
//!
//! `cargo test --release --test sites_accuracy -- --nocapture` prints the table in BENCHMARKS.md.
//! It found the lattice bias of the sampler's first address hash (see `alloc/sampling.rs`).

#[path = "known_leak/mod.rs"]
mod known_leak;

use docling_memprof::alloc::sampling::{self, SamplingConfig};
use docling_memprof::symbols::SiteResolver;
use known_leak::{churn, leak_pages, leak_small, CASES};

#[global_allocator]
static GLOBAL: docling_memprof::alloc::SelectedAllocator =
    docling_memprof::alloc::SelectedAllocator::new();

#[test]
fn a_known_leak_is_estimated_within_its_error_bars() {
    assert!(
        docling_memprof::alloc::is_installed(),
        "the selected allocator serves this test"
    );
    let mut worst_z: f64 = 0.0;
    println!("| blocks x size | true bytes | estimate | stderr | z |");
    println!("|---|---|---|---|---|");
    for mean_bytes in [64 * 1024, 256 * 1024] {
        for &(function, count, size) in &CASES {
            sampling::enable(SamplingConfig { mean_bytes });
            let mut keep = Vec::with_capacity(count);
            churn(50_000);
            if function == "leak_small" {
                leak_small(count, size, &mut keep);
            } else {
                leak_pages(count, size, &mut keep);
            }
            let raw = sampling::raw_report().expect("sampling is on");
            let mut resolver = SiteResolver::new();
            let report = resolver.resolve(&raw, 50);
            assert!(resolver.warnings.is_empty(), "{:?}", resolver.warnings);
            let (estimate, stderr) = report
                .table
                .sites
                .iter()
                .filter(|s| s.site.contains(function))
                .fold((0u64, 0f64), |(b, v), s| {
                    let e = s.live_bytes_stderr.unwrap_or(0) as f64;
                    (b + s.live_bytes, v + e * e)
                });
            let stderr = stderr.sqrt();
            let truth = (count * size) as f64;
            let z = (estimate as f64 - truth) / stderr.max(1.0);
            println!(
                "| {count} x {size} B (mean {} KiB) | {truth:.0} | {estimate} | {stderr:.0} ({:.1}%) | {z:+.2} |",
                mean_bytes / 1024,
                100.0 * stderr / truth
            );
            worst_z = worst_z.max(z.abs());
            assert!(
                estimate > 0,
                "the {function} site is found: {:#?}",
                report.table.sites
            );
            drop(keep);
            sampling::disable();
        }
    }
    // Four standard errors: a miss here is a biased estimator, not bad luck (p < 1e-4).
    assert!(worst_z < 4.0, "worst |z| {worst_z:.2}");
}
