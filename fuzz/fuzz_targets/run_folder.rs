//! Fuzz target: the run-folder reader (`run.json` and `jobs.jsonl`: versions, record order,
//! torn last lines, NUL tails) and the analysis of what it accepts never panic. The input is
//! split at its first `0xFF` byte (which UTF-8 text never holds) into `run.json` and
//! `jobs.jsonl`, written into one folder per fuzzing process.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use docling_memprof::analysis::VerdictParams;
use docling_memprof::engine::analyse_folder;
use docling_memprof::engine::folder::load_run;
use libfuzzer_sys::fuzz_target;

fn folder() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("memprof-fuzz-run-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the fuzzing folder");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let (run, jobs) = match data.iter().position(|b| *b == 0xFF) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let dir = folder();
    std::fs::write(dir.join("run.json"), run).expect("write run.json");
    std::fs::write(dir.join("jobs.jsonl"), jobs).expect("write jobs.jsonl");
    let Ok(loaded) = load_run(dir) else {
        return;
    };
    for (i, record) in loaded.jobs.iter().enumerate() {
        assert_eq!(
            record.job,
            i as u64 + 1,
            "records are read one per job, in order"
        );
    }
    // The verdict, diagnostics and gate input of an accepted folder.
    let _ = analyse_folder(dir, &VerdictParams::default());
});
