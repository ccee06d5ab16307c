//! Fuzz target: the workload loader (the JSON parse with its JSON paths, then the checks serde
//! cannot make) never panics on any text, and a workload it accepts keeps its documented
//! bounds.
#![no_main]

use std::path::{Path, PathBuf};

use docling_memprof::workload::validate::{check, parse};
use docling_memprof::workload::LoadedWorkload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The loader reads UTF-8 text (invalid UTF-8 is refused before parsing).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("fuzz.json");
    let Ok(workload) = parse(file, text) else {
        return;
    };
    let loaded = LoadedWorkload {
        name: workload.name.clone().unwrap_or_else(|| "fuzz".into()),
        workload,
        path: file.to_path_buf(),
        // A folder that does not exist: every relative document path is missing.
        base_dir: PathBuf::from("/nonexistent-fuzz-base"),
    };
    if check(&loaded).is_ok() {
        let w = &loaded.workload;
        assert!((1..=10_000).contains(&w.worker.options_cache_size));
        assert!(w.worker.model_scale.is_finite() && w.worker.model_scale > 0.0);
        // The plan of an accepted workload is computed without overflow or panic.
        let _ = w.job_count();
        let _ = w.planned_jobs().take(64).count();
    }
});
