//! The worker core's memory, as jemalloc's live bytes (`stats.allocated`) see it:
//! - a cache clear returns live bytes to within 5% of the level before the models loaded;
//! - each leak scenario raises live bytes job after job while the default worker levels off.
//!
//! Its own test binary because it installs jemalloc as the global allocator. The tests share
//! one process-wide allocator, so they run one at a time (a lock).

#[path = "worker_support/mod.rs"]
mod support;

use std::sync::Mutex;

use docling_memprof::worker::{
    ConversionOptions, LeakScenario, Source, Task, Worker, WorkerSettings,
};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// No thread caches in this process: lopdf parses with rayon, and blocks its pool threads free
/// would sit in their caches, still counted in `stats.allocated` (tens of KB of noise).
/// jemalloc reads this (prefixed) `malloc_conf` symbol when it initialises.
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: &[u8; 13] = b"tcache:false\0";

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Live bytes now (after an epoch advance refreshes jemalloc's cached stats).
fn live_bytes() -> u64 {
    tikv_jemalloc_ctl::epoch::advance().expect("jemalloc epoch advances");
    tikv_jemalloc_ctl::stats::allocated::read().expect("jemalloc stats readable") as u64
}

#[test]
fn a_clear_returns_live_bytes_to_the_level_before_the_models_loaded() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let scratch = tempfile::tempdir().expect("tempdir");
    let settings = WorkerSettings {
        model_scale: 0.05,
        jobs_between_cache_clear: 3,
        ..support::settings(scratch.path(), vec![])
    };
    let mut worker = Worker::new(settings).expect("worker starts");
    let pdf = support::pdf_bytes(2, 4);
    // Warm up with one full cycle of the same path (models loaded, then cleared): the first
    // PDF conversion leaves ~20 KB of one-time state behind that is not the models'.
    let warm_up = Task::convert(
        vec![Source::from_bytes("r.pdf", &pdf)],
        ConversionOptions::default(),
    );
    drop(worker.run_job("warm-up", warm_up));
    assert_eq!(worker.clear_caches().model_bytes, Some(24_165_000));
    let before_models = live_bytes();

    let mut peak = 0;
    for i in 0..3 {
        let task = Task::convert(
            vec![Source::from_bytes("r.pdf", &pdf)],
            ConversionOptions::default(),
        );
        let (report, clear) = worker.process(&format!("j{i}"), task);
        assert!(report.success, "{:?}", report.error);
        drop(report);
        peak = peak.max(live_bytes());
        if let Some(clear) = clear {
            // Layout + TableFormer accurate + EasyOCR at 5% of their real sizes.
            assert_eq!(clear.model_bytes, Some(24_165_000));
        }
    }
    let after_clear = live_bytes();
    assert!(
        !tikv_jemalloc_ctl::opt::tcache::read().expect("opt.tcache readable"),
        "tcache is off"
    );
    let models_bytes = 24_165_000;
    assert!(
        peak >= before_models + models_bytes,
        "models were live: {before_models} -> {peak}"
    );
    let drift = after_clear.abs_diff(before_models) as f64 / before_models as f64;
    eprintln!("live bytes: before models {before_models}, peak {peak}, after clear {after_clear} ({:.2}%)", drift * 100.0);
    assert!(
        drift <= 0.05,
        "after the clear {after_clear} vs {before_models} before the models ({:.1}%)",
        drift * 100.0
    );
}

#[test]
fn each_leak_scenario_raises_live_bytes_while_the_default_worker_levels_off() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    const JOBS: usize = 10;
    for scenario in LeakScenario::ALL {
        let plan = support::plan(scenario);
        // Live bytes at the end of each clear cycle (after the clear when one is due).
        let measure = |scenarios: Vec<LeakScenario>| -> Vec<u64> {
            let scratch = tempfile::tempdir().expect("tempdir");
            let settings = WorkerSettings {
                jobs_between_cache_clear: plan.jobs_between_cache_clear,
                ..support::settings(scratch.path(), scenarios)
            };
            let mut worker = Worker::new(settings).expect("worker starts");
            let cycle = (plan.jobs_between_cache_clear as usize).max(1);
            let mut series = Vec::new();
            for i in 0..JOBS {
                // The task is built here and consumed by the job: nothing of it outlives the job.
                let (report, _) = worker.process(&format!("j{i}"), (plan.task)(i));
                assert!(report.success, "{scenario:?}: {:?}", report.error);
                drop(report);
                if (i + 1) % cycle == 0 {
                    series.push(live_bytes());
                }
            }
            drop(worker);
            series
        };
        let default = measure(vec![]);
        let leaky = measure(vec![scenario]);
        let rises = |s: &[u64]| s.windows(2).filter(|w| w[1] > w[0]).count();
        let growth = |s: &[u64]| s[s.len() - 1] as i64 - s[1] as i64;
        eprintln!(
            "{scenario:?}: default growth {} B {default:?}; scenario growth {} B {leaky:?}",
            growth(&default),
            growth(&leaky)
        );
        // From the second cycle on the scenario rises at every cycle end ...
        assert_eq!(
            rises(&leaky[1..]),
            leaky.len() - 2,
            "{scenario:?} rises every cycle: {leaky:?}"
        );
        // ... by far more than the default worker moves over the same cycles.
        assert!(growth(&leaky) > 0);
        assert!(
            growth(&default).abs() * 10 < growth(&leaky),
            "{scenario:?}: default moves {} B, scenario {} B",
            growth(&default),
            growth(&leaky)
        );
    }
}
