//! Integration tests: analysis. Labelled synthetic trajectories (seeded) run through the
//! verdict; recall and false-positive rate are printed and asserted.

use docling_memprof::analysis::{
    judge_series, ClearMark, LeakCall, Pattern, SeriesInput, VerdictParams,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const BASE_MB: f64 = 1000.0;

/// The kinds of trajectory the generator makes, with their truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plateau,
    WarmUp,
    SawtoothFlat,
    SawtoothFlatNoEvents,
    BoundedSteps,
    Spikes,
    Linear,
    Stepwise,
    LateOnset,
    SawtoothRising,
    SawtoothRisingNoEvents,
    /// A level series with clear events that do not reset it (a census count the cache
    /// clear leaves alone).
    PlateauClearsNoReset,
    /// A linear leak with clear events that do not reset it.
    LinearClearsNoReset,
}

impl Kind {
    fn is_leak(self) -> bool {
        matches!(
            self,
            Kind::Linear
                | Kind::Stepwise
                | Kind::LateOnset
                | Kind::SawtoothRising
                | Kind::SawtoothRisingNoEvents
                | Kind::LinearClearsNoReset
        )
    }
    fn all() -> [Kind; 13] {
        [
            Kind::Plateau,
            Kind::WarmUp,
            Kind::SawtoothFlat,
            Kind::SawtoothFlatNoEvents,
            Kind::BoundedSteps,
            Kind::Spikes,
            Kind::Linear,
            Kind::Stepwise,
            Kind::LateOnset,
            Kind::SawtoothRising,
            Kind::SawtoothRisingNoEvents,
            Kind::PlateauClearsNoReset,
            Kind::LinearClearsNoReset,
        ]
    }
    fn is_sawtooth(self) -> bool {
        matches!(
            self,
            Kind::SawtoothFlat
                | Kind::SawtoothFlatNoEvents
                | Kind::SawtoothRising
                | Kind::SawtoothRisingNoEvents
        )
    }
}

fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    // Box-Muller.
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// AR(1) noise with marginal sigma `sigma` and lag-1 correlation `phi`.
fn noise(rng: &mut ChaCha8Rng, n: usize, sigma: f64, phi: f64) -> Vec<f64> {
    let innovation = sigma * (1.0 - phi * phi).sqrt();
    let mut out = Vec::with_capacity(n);
    let mut prev = sigma * gaussian(rng);
    for _ in 0..n {
        out.push(prev);
        prev = phi * prev + innovation * gaussian(rng);
    }
    out
}

struct Case {
    kind: Kind,
    n: usize,
    sigma: f64,
    /// Total growth of a leak, in noise sigmas.
    growth_sigmas: f64,
    input: SeriesInput,
}

fn make(kind: Kind, n: usize, sigma: f64, phi: f64, rng: &mut ChaCha8Rng) -> Case {
    let e = noise(rng, n, sigma, phi);
    let growth_sigmas = if kind.is_leak() {
        rng.gen_range(2.0..16.0)
    } else {
        0.0
    };
    let growth = growth_sigmas * sigma;
    let mut values = vec![BASE_MB; n];
    let mut clears = Vec::new();
    let last = (n - 1) as f64;
    match kind {
        Kind::Plateau | Kind::PlateauClearsNoReset => {}
        Kind::WarmUp => {
            let height = rng.gen_range(5.0..50.0) * sigma;
            let tau = rng.gen_range(0.5..(n as f64 / 15.0).max(0.6));
            for (i, v) in values.iter_mut().enumerate() {
                *v -= height * (-(i as f64) / tau).exp();
            }
        }
        Kind::BoundedSteps => {
            let steps = rng.gen_range(1..=2);
            for _ in 0..steps {
                let at = rng.gen_range(1..=(n * 45 / 100).max(2));
                let size = rng.gen_range(3.0..20.0) * sigma;
                for v in values.iter_mut().skip(at) {
                    *v += size;
                }
            }
        }
        Kind::Spikes => {
            for _ in 0..rng.gen_range(1..=3) {
                let at = rng.gen_range(0..n);
                values[at] += rng.gen_range(10.0..50.0) * sigma;
            }
        }
        Kind::Linear | Kind::LinearClearsNoReset => {
            for (i, v) in values.iter_mut().enumerate() {
                *v += growth * i as f64 / last;
            }
        }
        Kind::Stepwise => {
            let every = rng.gen_range(2..=(n / 5).max(3));
            let steps = (n - 1) / every;
            let size = growth / steps.max(1) as f64;
            for (i, v) in values.iter_mut().enumerate() {
                *v += size * (i / every) as f64;
            }
        }
        Kind::LateOnset => {
            let onset = (rng.gen_range(0.3..0.6) * n as f64) as usize;
            let span = (n - 1 - onset) as f64;
            for (i, v) in values.iter_mut().enumerate().skip(onset) {
                *v += growth * (i - onset) as f64 / span;
            }
        }
        Kind::SawtoothFlat
        | Kind::SawtoothFlatNoEvents
        | Kind::SawtoothRising
        | Kind::SawtoothRisingNoEvents => {
            let period = rng.gen_range(2..=4);
            let amplitude = rng.gen_range(10.0..60.0) * sigma;
            let rising = matches!(kind, Kind::SawtoothRising | Kind::SawtoothRisingNoEvents);
            let events = matches!(kind, Kind::SawtoothFlat | Kind::SawtoothRising);
            let floor_noise = noise(rng, n, sigma, phi);
            for i in 0..n {
                let floor = BASE_MB
                    + if rising {
                        growth * i as f64 / last
                    } else {
                        0.0
                    };
                let pos = i % period;
                values[i] = floor + amplitude * (pos + 1) as f64 / period as f64;
                if pos == period - 1 && events {
                    // Clear after this job: back to the floor.
                    clears.push(ClearMark {
                        job: (i + 1) as u64,
                        after: Some(floor + floor_noise[i]),
                    });
                }
            }
        }
    }
    let points: Vec<(u64, f64)> = values
        .iter()
        .zip(&e)
        .enumerate()
        .map(|(i, (v, e))| ((i + 1) as u64, v + e))
        .collect();
    if matches!(kind, Kind::PlateauClearsNoReset | Kind::LinearClearsNoReset) {
        // Clears every few jobs that leave this series where it was: the after-value is
        // unknown (a census count) or the value itself.
        let period = rng.gen_range(2..=4);
        let observed = rng.gen_bool(0.5);
        for &(job, value) in points.iter().skip(period - 1).step_by(period) {
            clears.push(ClearMark {
                job,
                after: observed.then_some(value),
            });
        }
    }
    let input = SeriesInput {
        name: "rss_mb".into(),
        unit: "MB".into(),
        points,
        clears,
        min_growth: 1.0,
        limit: Some(BASE_MB * 3.0),
    };
    Case {
        kind,
        n,
        sigma,
        growth_sigmas,
        input,
    }
}

#[derive(Default)]
struct Tally {
    leak_total: u64,
    leak_called: u64,
    non_leak_total: u64,
    false_positive: u64,
    inconclusive: u64,
}

#[test]
fn recall_and_false_positive_rate_on_labelled_trajectories() {
    let params = VerdictParams::default();
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0004);
    let mut overall = Tally::default();
    let mut per_kind: Vec<(Kind, Tally)> =
        Kind::all().iter().map(|k| (*k, Tally::default())).collect();
    let mut misses: Vec<String> = Vec::new();
    let reps = 12;
    for (kind, tally) in per_kind.iter_mut() {
        let shown_before = misses.len();
        let lengths: &[usize] = if kind.is_sawtooth() {
            &[24, 40, 80]
        } else {
            &[12, 20, 40, 80]
        };
        for &n in lengths {
            for &sigma in &[0.5, 3.0, 20.0] {
                for &phi in &[0.0, 0.5] {
                    for _ in 0..reps {
                        let case = make(*kind, n, sigma, phi, &mut rng);
                        let verdict = judge_series(&case.input, &params);
                        if case.kind.is_leak() {
                            if case.growth_sigmas < 4.0 {
                                continue;
                            }
                            tally.leak_total += 1;
                            if verdict.call == LeakCall::Leak {
                                tally.leak_called += 1;
                            } else if misses.len() < shown_before + 4 {
                                misses.push(format!(
                                    "MISS {:?} n={} sigma={} phi={phi} growth={:.1}sigma -> {:?} {}",
                                    case.kind, case.n, case.sigma, case.growth_sigmas, verdict.call, verdict.summary
                                ));
                            }
                        } else {
                            tally.non_leak_total += 1;
                            if verdict.call == LeakCall::Leak {
                                tally.false_positive += 1;
                                if misses.len() < shown_before + 4 {
                                    misses.push(format!(
                                        "FALSE POSITIVE {:?} n={} sigma={} phi={phi} -> {}",
                                        case.kind, case.n, case.sigma, verdict.summary
                                    ));
                                }
                            }
                        }
                        if verdict.call == LeakCall::Inconclusive {
                            tally.inconclusive += 1;
                        }
                    }
                }
            }
        }
        overall.leak_total += tally.leak_total;
        overall.leak_called += tally.leak_called;
        overall.non_leak_total += tally.non_leak_total;
        overall.false_positive += tally.false_positive;
        overall.inconclusive += tally.inconclusive;
    }
    for line in &misses {
        println!("{line}");
    }
    for (kind, t) in &per_kind {
        if kind.is_leak() {
            println!(
                "{kind:?}: recall {}/{} (inconclusive {})",
                t.leak_called, t.leak_total, t.inconclusive
            );
        } else {
            println!(
                "{kind:?}: false positives {}/{} (inconclusive {})",
                t.false_positive, t.non_leak_total, t.inconclusive
            );
        }
    }
    let recall = overall.leak_called as f64 / overall.leak_total.max(1) as f64;
    let fpr = overall.false_positive as f64 / overall.non_leak_total.max(1) as f64;
    println!(
        "RECALL {:.4} ({}/{}) on leaks >= 4 sigma; FALSE-POSITIVE RATE {:.4} ({}/{}); inconclusive {}",
        recall,
        overall.leak_called,
        overall.leak_total,
        fpr,
        overall.false_positive,
        overall.non_leak_total,
        overall.inconclusive
    );
    assert!(recall >= 0.95, "recall {recall}");
    assert!(fpr <= 0.02, "false-positive rate {fpr}");
}

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
