//! Integration tests: analysis. Named patterns, clears that do or do not reset a series, the
//! synthetic sawtooth run folder. The labelled recall / false-positive evaluation is in
//! `labelled.rs`.

use docling_memprof::analysis::{
    judge_series, ClearMark, LeakCall, Pattern, SeriesInput, VerdictParams,
};

fn seed_like(points: &[(u64, f64)], clears: &[(u64, f64)]) -> SeriesInput {
    SeriesInput {
        name: "rss_mb".into(),
        unit: "MB".into(),
        points: points.to_vec(),
        clears: clears
            .iter()
            .map(|&(job, after)| ClearMark {
                job,
                after: Some(after),
            })
            .collect(),
        min_growth: 1.0,
        limit: Some(3072.0),
        deaths: vec![],
    }
}

#[test]
fn patterns_are_named() {
    let params = VerdictParams::default();
    let linear: Vec<(u64, f64)> = (1..=30)
        .map(|j| {
            (
                j,
                500.0 + 3.0 * j as f64 + if j % 2 == 0 { 1.0 } else { -1.0 },
            )
        })
        .collect();
    let v = judge_series(&seed_like(&linear, &[]), &params);
    assert_eq!(
        (v.call, v.pattern),
        (LeakCall::Leak, Pattern::Linear),
        "{}",
        v.summary
    );
    assert!((v.slope_per_job - 3.0).abs() < 0.2);
    assert!(v.slope_ci.0 <= v.slope_per_job && v.slope_per_job <= v.slope_ci.1);
    // 3072 MB limit: last value ~590, +3/job -> around job 30 + 828.
    let projected = v.projected_limit_job.unwrap_or(0);
    assert!((800..900).contains(&projected), "{projected}");

    let plateau: Vec<(u64, f64)> = (1..=30)
        .map(|j| (j, 500.0 + ((j * 7919) % 5) as f64))
        .collect();
    let v = judge_series(&seed_like(&plateau, &[]), &params);
    assert_eq!(v.call, LeakCall::NoLeak, "{}", v.summary);
    assert_eq!(v.leak, Some(false));

    let warm: Vec<(u64, f64)> = (1..=30)
        .map(|j| {
            (
                j,
                if j <= 3 {
                    200.0 * j as f64
                } else {
                    800.0 + ((j * 31) % 3) as f64
                },
            )
        })
        .collect();
    let v = judge_series(&seed_like(&warm, &[]), &params);
    assert_eq!(
        (v.call, v.pattern),
        (LeakCall::NoLeak, Pattern::WarmUp),
        "{}",
        v.summary
    );
    assert!(v.warmup_jobs >= 2);

    // Level, one step up at job 9, level again: growth that stopped, not a warm-up.
    let step: Vec<(u64, f64)> = (1..=30)
        .map(|j| {
            (
                j,
                600.0 + if j >= 9 { 120.0 } else { 0.0 } + ((j * 31) % 3) as f64,
            )
        })
        .collect();
    let v = judge_series(&seed_like(&step, &[]), &params);
    assert_eq!(
        (v.call, v.pattern),
        (LeakCall::NoLeak, Pattern::BoundedStep),
        "{}",
        v.summary
    );

    let late: Vec<(u64, f64)> = (1..=40)
        .map(|j| {
            (
                j,
                700.0 + if j > 20 { 10.0 * (j - 20) as f64 } else { 0.0 } + (j % 3) as f64,
            )
        })
        .collect();
    let v = judge_series(&seed_like(&late, &[]), &params);
    assert_eq!(
        (v.call, v.pattern),
        (LeakCall::Leak, Pattern::LateOnset),
        "{}",
        v.summary
    );

    let steps: Vec<(u64, f64)> = (1..=40)
        .map(|j| (j, 700.0 + 50.0 * (j / 8) as f64 + (j % 2) as f64))
        .collect();
    let v = judge_series(&seed_like(&steps, &[]), &params);
    assert_eq!(
        (v.call, v.pattern),
        (LeakCall::Leak, Pattern::Stepwise),
        "{}",
        v.summary
    );

    let short: Vec<(u64, f64)> = (1..=4).map(|j| (j, 100.0 * j as f64)).collect();
    let v = judge_series(&seed_like(&short, &[]), &params);
    assert_eq!(
        (v.call, v.pattern, v.leak),
        (LeakCall::Inconclusive, Pattern::TooShort, None)
    );
    assert_eq!(v.jobs_to_decide, Some(2));
}

#[test]
fn noisy_short_growth_is_inconclusive_with_jobs_to_decide() {
    let params = VerdictParams::default();
    // Weak upward drift buried in noise over 8 jobs.
    let values = [100.0, 112.0, 95.0, 108.0, 118.0, 99.0, 115.0, 111.0];
    let points: Vec<(u64, f64)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| ((i + 1) as u64, *v))
        .collect();
    let v = judge_series(&seed_like(&points, &[]), &params);
    assert_eq!(v.call, LeakCall::Inconclusive, "{}", v.summary);
    assert!(v.jobs_to_decide.unwrap_or(0) >= 1);
}

/// The bug: on the synthetic sawtooth run, `type:PageImage` rose by exactly 10 per job but got
/// the cache clears as cycles, leaving 3 "floor" points: inconclusive, too short, slope 0.
/// Clears that do not reset a series are not its cycles: it is judged on every point.
#[test]
fn series_not_reset_by_clears_is_judged_on_every_point() {
    let params = VerdictParams::default();
    let points: Vec<(u64, f64)> = (1..=12).map(|j| (j, 10.0 * j as f64)).collect();
    let clears_unknown_after: Vec<ClearMark> = [3, 6, 9, 12]
        .iter()
        .map(|&job| ClearMark { job, after: None })
        .collect();
    let clears_after_unchanged: Vec<ClearMark> = [3, 6, 9, 12]
        .iter()
        .map(|&job| ClearMark {
            job,
            after: Some(10.0 * job as f64),
        })
        .collect();
    for clears in [clears_unknown_after, clears_after_unchanged] {
        let input = SeriesInput {
            name: "type:PageImage".into(),
            unit: "count".into(),
            points: points.clone(),
            clears,
            min_growth: 1.0,
            limit: None,
            deaths: vec![],
        };
        let v = judge_series(&input, &params);
        assert_eq!(
            (v.call, v.pattern),
            (LeakCall::Leak, Pattern::Linear),
            "{}",
            v.summary
        );
        assert!((v.slope_per_job - 10.0).abs() < 1e-9, "{}", v.slope_per_job);
        assert_eq!(v.floor, points, "every point is fitted");
    }
}

/// The other side: a series the clears do reset keeps its floor, even with the after-clear
/// value unknown (a census count emptied by the clear).
#[test]
fn series_reset_by_clears_is_judged_on_its_floor() {
    let params = VerdictParams::default();
    // Floor rises 2 per cycle; each 3-job cycle adds 10, 20, 30 on top.
    let points: Vec<(u64, f64)> = (1..=18u64)
        .map(|j| {
            let cycle = (j - 1) / 3;
            (j, 2.0 * cycle as f64 + 10.0 * ((j - 1) % 3 + 1) as f64)
        })
        .collect();
    let input = SeriesInput {
        name: "type:Document".into(),
        unit: "count".into(),
        points,
        clears: [3, 6, 9, 12, 15, 18]
            .iter()
            .map(|&job| ClearMark { job, after: None })
            .collect(),
        min_growth: 1.0,
        limit: None,
        deaths: vec![],
    };
    let v = judge_series(&input, &params);
    assert_eq!(
        (v.call, v.pattern),
        (LeakCall::Leak, Pattern::SawtoothRisingFloor),
        "{}",
        v.summary
    );
    assert!(v.floor.len() < input.points.len());
    assert!(
        (v.slope_per_job - 2.0 / 3.0).abs() < 0.05,
        "{}",
        v.slope_per_job
    );
}

/// The synthetic sawtooth run folder as a whole: every series gets a verdict from its data.
#[test]
fn synthetic_sawtooth_run_judges_every_series() {
    use docling_memprof::analysis::{from_records, judge_run};
    use docling_memprof::engine::load_run;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/reports/synthetic-sawtooth");
    let loaded = load_run(&dir).expect("fixture loads");
    let trajectory = from_records::trajectory(&loaded.manifest, &loaded.jobs, "fixture");
    let verdict = judge_run(&trajectory, &VerdictParams::default());
    let get = |name: &str| {
        verdict
            .series
            .iter()
            .find(|s| s.series == name)
            .unwrap_or_else(|| panic!("no {name} series"))
    };
    let pages = get("type:PageImage");
    assert_eq!(
        (pages.call, pages.pattern),
        (LeakCall::Leak, Pattern::Linear),
        "{}",
        pages.summary
    );
    assert!((pages.slope_per_job - 10.0).abs() < 1e-9);
    let converter = get("type:Converter");
    assert_eq!(
        (converter.call, converter.pattern),
        (LeakCall::NoLeak, Pattern::Plateau),
        "{}",
        converter.summary
    );
    // Resident falls at every clear: a sawtooth judged on its after-clear floor.
    let resident = get("resident_mb");
    assert_eq!(
        (resident.call, resident.pattern),
        (LeakCall::Leak, Pattern::SawtoothRisingFloor),
        "{}",
        resident.summary
    );
    for name in ["live_mb", "rss_mb"] {
        assert_eq!(get(name).pattern, Pattern::SawtoothRisingFloor, "{name}");
    }
}

/// SYNTHETIC: a worker growing 10 MB per job from its 900 MB base is OOM-killed at ~1300 MB
/// every 40 jobs and replaced, with no cache clears. Read as clears (before), every life's
/// minimum is its base: a flat floor, no leak, while the worker dies every 40 jobs. Fitted
/// life by life it is the 10 MB/job leak; the same series with planned restarts (`--max-jobs`
/// policy: restarts passed as clears) stays a sawtooth whose floor does not rise.
#[test]
fn deaths_start_new_lives_and_planned_restarts_stay_clears() {
    let params = VerdictParams::default();
    let points: Vec<(u64, f64)> = (1..=160u64)
        .map(|j| {
            let since = (j - 1) % 40;
            (j, 900.0 + 10.0 * since as f64 + ((j * 7) % 3) as f64)
        })
        .collect();
    let input = |deaths: Vec<u64>, clears: Vec<ClearMark>| SeriesInput {
        name: "rss_mb".into(),
        unit: "MB".into(),
        points: points.clone(),
        clears,
        min_growth: 1.0,
        limit: Some(1300.0),
        deaths,
    };
    let died = judge_series(&input(vec![40, 80, 120], vec![]), &params);
    assert_eq!(died.call, LeakCall::Leak, "{}", died.summary);
    assert!((died.slope_per_job - 10.0).abs() < 0.5, "{}", died.summary);
    assert!(died.summary.contains("4 worker lives"), "{}", died.summary);
    let planned: Vec<ClearMark> = [40, 80, 120]
        .iter()
        .map(|&job| ClearMark { job, after: None })
        .collect();
    let retired = judge_series(&input(vec![], planned), &params);
    assert_ne!(retired.call, LeakCall::Leak, "{}", retired.summary);
    assert_eq!(
        retired.pattern,
        Pattern::SawtoothFlatFloor,
        "{}",
        retired.summary
    );
}

/// A plateau that dies once (a crash, not growth) is still a plateau in both lives.
#[test]
fn a_flat_worker_that_crashed_once_is_not_a_leak() {
    let params = VerdictParams::default();
    let points: Vec<(u64, f64)> = (1..=60u64)
        .map(|j| (j, 700.0 + ((j * 5) % 3) as f64))
        .collect();
    let input = SeriesInput {
        name: "rss_mb".into(),
        unit: "MB".into(),
        points,
        clears: vec![],
        min_growth: 1.0,
        limit: None,
        deaths: vec![30],
    };
    let v = judge_series(&input, &params);
    assert_eq!(v.call, LeakCall::NoLeak, "{}", v.summary);
}
