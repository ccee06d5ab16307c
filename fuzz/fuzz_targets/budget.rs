//! Fuzz target: the budget parser (TOML, sizes, slopes) never panics on any text, and the
//! gate's decision over a fixed run (the seed log's 20 jobs, also as the baseline) never
//! panics for a budget it accepts.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use docling_memprof::analysis::{gate, judge_run, RunVerdict, Trajectory, VerdictParams};
use docling_memprof::logs::parse_reader;
use libfuzzer_sys::fuzz_target;

fn run() -> &'static (Trajectory, RunVerdict) {
    static RUN: OnceLock<(Trajectory, RunVerdict)> = OnceLock::new();
    RUN.get_or_init(|| {
        let text = include_str!("../../fixtures/logs/seed-20-jobs.log");
        let log = parse_reader(text.as_bytes(), "seed-20-jobs.log").expect("the fixture reads");
        let trajectory = log.trajectory(Some(3072.0));
        let verdict = judge_run(&trajectory, &VerdictParams::default());
        (trajectory, verdict)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(budget) = gate::parse_budget(Path::new("fuzz.toml"), text) else {
        return;
    };
    let (trajectory, verdict) = run();
    let result = gate::evaluate(trajectory, verdict, &budget, Some(("baseline", verdict)));
    assert_eq!(
        result.broken,
        result.checks.iter().filter(|c| !c.passed).count(),
        "broken counts the failed checks"
    );
    assert_eq!(result.passed, result.broken == 0);
});
