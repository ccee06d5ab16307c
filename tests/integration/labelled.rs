//! The labelled evaluation of the verdict: SYNTHETIC trajectories (seeded ChaCha8) of known
//! kinds, each labelled "leak that matters", "not a leak" or "grey" (near the practical
//! threshold), run through `judge_series`; recall, false-positive rate and a per-pattern table
//! are printed and asserted. `cargo test --test integration recall_and -- --nocapture`.

use docling_memprof::analysis::significance::matter_threshold;
use docling_memprof::analysis::{judge_series, ClearMark, LeakCall, SeriesInput, VerdictParams};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const BASE_MB: f64 = 1000.0;

/// The kinds of trajectory the generator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
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
    /// A level series with clear events that do not reset it (a census count).
    PlateauClearsNoReset,
    LinearClearsNoReset,
    /// Whole-MB plateau after a settling warm-up, slow allocator creep well below the
    /// threshold, clears every 3 jobs that free nothing (the docling worker).
    QuantisedCreep,
    /// A plateau with a few isolated spikes of +150-400 MB.
    BigSpikes,
    /// One or two bounded steps in the first quarter, then flat.
    EarlyBoundedSteps,
    /// A warm-up ramp over a sixth to a third of the run, then flat.
    LongWarmUp,
    /// A rising-floor sawtooth with only 3-4 clears in the run.
    RisingFloorFewClears,
    /// A small leak (2-6 times the threshold per horizon: 0.1-0.3 MB/job on 1000 MB).
    SmallLeak,
    /// Linear growth at 5-40% of the threshold per horizon: real but slow.
    SlowLinear,
}

impl Kind {
    pub fn all() -> [Kind; 20] {
        use Kind::*;
        [
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
            PlateauClearsNoReset,
            LinearClearsNoReset,
            QuantisedCreep,
            BigSpikes,
            EarlyBoundedSteps,
            LongWarmUp,
            RisingFloorFewClears,
            SmallLeak,
            SlowLinear,
        ]
    }

    /// Kinds whose series keeps growing (leak or slow growth, by their size).
    fn grows(self) -> bool {
        use Kind::*;
        matches!(
            self,
            Linear
                | Stepwise
                | LateOnset
                | SawtoothRising
                | SawtoothRisingNoEvents
                | LinearClearsNoReset
                | QuantisedCreep
                | RisingFloorFewClears
                | SmallLeak
                | SlowLinear
        )
    }

    fn lengths(self) -> &'static [usize] {
        use Kind::*;
        match self {
            SawtoothFlat | SawtoothFlatNoEvents | SawtoothRising | SawtoothRisingNoEvents => {
                &[24, 40, 80, 400]
            }
            QuantisedCreep | SmallLeak | SlowLinear => &[100, 200, 400],
            BigSpikes | EarlyBoundedSteps | LongWarmUp => &[20, 40, 80, 400],
            RisingFloorFewClears => &[24, 40, 80],
            _ => &[12, 20, 40, 80, 400],
        }
    }
}

fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
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

/// One generated case and its truth.
pub struct Case {
    pub kind: Kind,
    /// True growth over the run in noise sigmas (growing kinds).
    pub growth_sigmas: f64,
    /// True slope x horizon over the threshold that matters (0 for kinds that do not grow).
    pub matter_ratio: f64,
    pub input: SeriesInput,
}

/// The truth: a leak that matters (and that the run can show), not a leak, or grey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    Leak,
    NotLeak,
    Grey,
}

impl Case {
    pub fn truth(&self) -> Truth {
        if !self.kind.grows() || self.matter_ratio <= 0.5 {
            Truth::NotLeak
        } else if self.matter_ratio >= 2.0 && self.growth_sigmas >= 4.0 {
            Truth::Leak
        } else {
            Truth::Grey
        }
    }
}

/// Sawtooth values: a floor (`floor(i)`) plus a ramp to `amplitude` within each cycle of
/// `period` jobs; with `events`, a clear mark after each cycle (after-value: the floor).
fn sawtooth(
    n: usize,
    period: usize,
    amplitude: f64,
    floor: impl Fn(usize) -> f64,
    floor_noise: &[f64],
    events: bool,
) -> (Vec<f64>, Vec<ClearMark>) {
    let mut values = vec![0.0; n];
    let mut clears = Vec::new();
    for i in 0..n {
        let pos = i % period;
        values[i] = floor(i) + amplitude * (pos + 1) as f64 / period as f64;
        if pos == period - 1 && events {
            clears.push(ClearMark {
                job: (i + 1) as u64,
                after: Some(floor(i) + floor_noise[i]),
            });
        }
    }
    (values, clears)
}

/// The shape of the original kinds (all but the issue's), without noise.
fn classic_shape(kind: Kind, n: usize, sigma: f64, growth: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let mut values = vec![BASE_MB; n];
    let last = (n - 1) as f64;
    match kind {
        Kind::WarmUp => {
            let height = rng.gen_range(5.0..50.0) * sigma;
            let tau = rng.gen_range(0.5..(n as f64 / 15.0).max(0.6));
            for (i, v) in values.iter_mut().enumerate() {
                *v -= height * (-(i as f64) / tau).exp();
            }
        }
        Kind::BoundedSteps => {
            for _ in 0..rng.gen_range(1..=2) {
                let at = rng.gen_range(1..=(n * 45 / 100).max(2));
                let size = rng.gen_range(3.0..20.0) * sigma;
                values.iter_mut().skip(at).for_each(|v| *v += size);
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
            let size = growth / ((n - 1) / every).max(1) as f64;
            for (i, v) in values.iter_mut().enumerate() {
                *v += size * (i / every) as f64;
            }
        }
        _ => {}
    }
    values
}

/// Make one case of `kind`.
pub fn make(kind: Kind, n: usize, sigma: f64, phi: f64, rng: &mut ChaCha8Rng) -> Case {
    let params = VerdictParams::default();
    let horizon = params.horizon_jobs as f64;
    let e = noise(rng, n, sigma, phi);
    let quantised = match kind {
        Kind::QuantisedCreep | Kind::SmallLeak => true,
        Kind::BigSpikes | Kind::EarlyBoundedSteps | Kind::LongWarmUp | Kind::SlowLinear => {
            rng.gen_bool(0.5)
        }
        _ => false,
    };
    let resolution = if quantised { 1.0 } else { 0.0 };
    let threshold = matter_threshold(BASE_MB, resolution, None, &params);
    let mut growth_sigmas = if kind.grows() {
        rng.gen_range(2.0..16.0)
    } else {
        0.0
    };
    // Kinds sized by the threshold rather than by the noise.
    let ratio_slope = |r: f64| r * threshold / horizon;
    let mut slope = growth_sigmas * sigma / (n - 1) as f64;
    let mut values = vec![BASE_MB; n];
    let mut clears = Vec::new();
    let last = (n - 1) as f64;
    match kind {
        Kind::Plateau | Kind::PlateauClearsNoReset => {}
        Kind::WarmUp
        | Kind::BoundedSteps
        | Kind::Spikes
        | Kind::Linear
        | Kind::LinearClearsNoReset
        | Kind::Stepwise => values = classic_shape(kind, n, sigma, growth_sigmas * sigma, rng),
        Kind::LateOnset => {
            let onset = (rng.gen_range(0.3..0.6) * n as f64) as usize;
            let span = (n - 1 - onset) as f64;
            slope = growth_sigmas * sigma / span;
            for (i, v) in values.iter_mut().enumerate().skip(onset) {
                *v += slope * (i - onset) as f64;
            }
        }
        Kind::SawtoothFlat
        | Kind::SawtoothFlatNoEvents
        | Kind::SawtoothRising
        | Kind::SawtoothRisingNoEvents
        | Kind::RisingFloorFewClears => {
            let period = if kind == Kind::RisingFloorFewClears {
                n / rng.gen_range(3..=4)
            } else {
                rng.gen_range(2..=4)
            };
            let amplitude = rng.gen_range(10.0..60.0) * sigma;
            let rising = !matches!(kind, Kind::SawtoothFlat | Kind::SawtoothFlatNoEvents);
            let events = !matches!(
                kind,
                Kind::SawtoothFlatNoEvents | Kind::SawtoothRisingNoEvents
            );
            let floor_noise = noise(rng, n, sigma, phi);
            let g = if rising { growth_sigmas * sigma } else { 0.0 };
            (values, clears) = sawtooth(
                n,
                period,
                amplitude,
                |i| BASE_MB + g * i as f64 / last,
                &floor_noise,
                events,
            );
        }
        Kind::QuantisedCreep | Kind::SlowLinear | Kind::SmallLeak => {
            let r = match kind {
                Kind::SmallLeak => rng.gen_range(2.0..6.0),
                _ => rng.gen_range(0.05..0.4),
            };
            slope = ratio_slope(r);
            let settle = if kind == Kind::QuantisedCreep {
                (
                    rng.gen_range(20.0..60.0),
                    rng.gen_range(0.03..0.1) * n as f64,
                )
            } else {
                (0.0, 1.0)
            };
            for (i, v) in values.iter_mut().enumerate() {
                *v += slope * i as f64 - settle.0 * (-(i as f64) / settle.1).exp();
            }
            growth_sigmas = slope * last / sigma;
        }
        Kind::BigSpikes => {
            for _ in 0..rng.gen_range(2..=4) {
                let at = rng.gen_range(0..n);
                values[at] += rng.gen_range(150.0..400.0);
            }
        }
        Kind::EarlyBoundedSteps => {
            for _ in 0..rng.gen_range(1..=2) {
                let at = rng.gen_range(1..=(n / 4).max(2));
                let size = rng.gen_range(5.0..20.0) * sigma + rng.gen_range(5.0..50.0);
                values.iter_mut().skip(at).for_each(|v| *v += size);
            }
        }
        Kind::LongWarmUp => {
            let w = (rng.gen_range(1.0 / 6.0..1.0 / 3.0) * n as f64).max(2.0);
            let height = rng.gen_range(5.0..50.0) * sigma + rng.gen_range(10.0..100.0);
            for (i, v) in values.iter_mut().enumerate() {
                *v -= height * (1.0 - i as f64 / w).max(0.0);
            }
        }
    }
    let mut points: Vec<(u64, f64)> = values
        .iter()
        .zip(&e)
        .enumerate()
        .map(|(i, (v, e))| {
            let raw = v + e;
            ((i + 1) as u64, if quantised { raw.round() } else { raw })
        })
        .collect();
    if matches!(
        kind,
        Kind::PlateauClearsNoReset | Kind::LinearClearsNoReset | Kind::QuantisedCreep
    ) {
        // Clears every few jobs that leave this series where it was: the after-value is
        // unknown (a census count) or about the value itself.
        let period = if kind == Kind::QuantisedCreep {
            3
        } else {
            rng.gen_range(2..=4)
        };
        let observed = kind == Kind::QuantisedCreep || rng.gen_bool(0.5);
        for &(job, value) in points.iter().skip(period - 1).step_by(period) {
            let after = if quantised {
                (value - rng.gen_range(0.0..1.5)).round()
            } else {
                value
            };
            clears.push(ClearMark {
                job,
                after: observed.then_some(after),
            });
        }
    }
    points.retain(|(_, v)| v.is_finite());
    let matter_ratio = if kind.grows() {
        slope * horizon / threshold
    } else {
        0.0
    };
    Case {
        kind,
        growth_sigmas,
        matter_ratio,
        input: SeriesInput {
            name: "rss_mb".into(),
            unit: "MB".into(),
            points,
            clears,
            min_growth: 1.0,
            limit: None,
            deaths: vec![],
        },
    }
}

/// Counts for one kind.
#[derive(Default)]
struct Tally {
    leak_total: u64,
    leak_called: u64,
    not_total: u64,
    false_positive: u64,
    grey: u64,
    slow: u64,
    inconclusive: u64,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.leak_total += o.leak_total;
        self.leak_called += o.leak_called;
        self.not_total += o.not_total;
        self.false_positive += o.false_positive;
        self.grey += o.grey;
        self.slow += o.slow;
        self.inconclusive += o.inconclusive;
    }
}

fn row(name: &str, t: &Tally) -> String {
    let frac = |a: u64, b: u64| {
        if b == 0 {
            "-".to_string()
        } else {
            format!("{:.3} ({a}/{b})", a as f64 / b as f64)
        }
    };
    format!(
        "| {name} | {} | {} | {} | {} | {} |",
        frac(t.leak_called, t.leak_total),
        frac(t.false_positive, t.not_total),
        t.slow,
        t.inconclusive,
        t.grey
    )
}

#[test]
fn recall_and_false_positive_rate_on_labelled_trajectories() {
    let params = VerdictParams::default();
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0012);
    let mut overall = Tally::default();
    let mut lines = Vec::new();
    let mut examples = Vec::new();
    for kind in Kind::all() {
        let mut t = Tally::default();
        let shown = examples.len();
        for &n in kind.lengths() {
            for &sigma in &[0.5, 3.0, 20.0] {
                for &phi in &[0.0, 0.5] {
                    let reps = if n >= 400 { 4 } else { 10 };
                    for _ in 0..reps {
                        let case = make(kind, n, sigma, phi, &mut rng);
                        let v = judge_series(&case.input, &params);
                        match v.call {
                            LeakCall::SlowGrowth => t.slow += 1,
                            LeakCall::Inconclusive => t.inconclusive += 1,
                            _ => {}
                        }
                        let wrong = match case.truth() {
                            Truth::Leak => {
                                t.leak_total += 1;
                                t.leak_called += u64::from(v.call == LeakCall::Leak);
                                v.call != LeakCall::Leak
                            }
                            Truth::NotLeak => {
                                t.not_total += 1;
                                t.false_positive += u64::from(v.call == LeakCall::Leak);
                                v.call == LeakCall::Leak
                            }
                            Truth::Grey => {
                                t.grey += 1;
                                false
                            }
                        };
                        if wrong && examples.len() < shown + 3 {
                            examples.push(format!(
                                "{:?} {kind:?} n={n} sigma={sigma} phi={phi} growth={:.1}sigma ratio={:.2} -> {}",
                                case.truth(), case.growth_sigmas, case.matter_ratio, v.summary
                            ));
                        }
                    }
                }
            }
        }
        lines.push(row(&format!("{kind:?}"), &t));
        overall.add(&t);
    }
    for e in &examples {
        println!("{e}");
    }
    println!("| kind | recall (leaks that matter) | false positives (not leaks) | slow_growth calls | inconclusive | grey (not counted) |");
    println!("|---|---|---|---|---|---|");
    for l in &lines {
        println!("{l}");
    }
    println!("{}", row("**all**", &overall));
    let recall = overall.leak_called as f64 / overall.leak_total.max(1) as f64;
    let fpr = overall.false_positive as f64 / overall.not_total.max(1) as f64;
    println!(
        "RECALL {recall:.4} ({}/{}); FALSE-POSITIVE RATE {fpr:.4} ({}/{})",
        overall.leak_called, overall.leak_total, overall.false_positive, overall.not_total
    );
    assert!(overall.leak_total > 500 && overall.not_total > 1000);
    assert!(recall >= 0.95, "recall {recall}");
    assert!(fpr <= 0.01, "false-positive rate {fpr}");
}
