//! The slope selection against brute force, on plain, quantised and grouped series.

use super::*;

fn brute(groups: &[(&[f64], &[f64])]) -> Vec<f64> {
    let mut all = Vec::new();
    for (x, y) in groups {
        for i in 0..x.len() {
            for j in (i + 1)..x.len() {
                all.push((y[j] - y[i]) / (x[j] - x[i]));
            }
        }
    }
    all.sort_by(|a, b| a.total_cmp(b));
    all
}

fn series(n: usize, seed: u64, quantised: bool) -> (Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Vec<f64> = (1..=n).map(|v| v as f64).collect();
    let y: Vec<f64> = x
        .iter()
        .map(|v| {
            let raw = 770.0 + 0.01 * v + rng.gen_range(-3.0..3.0);
            if quantised {
                raw.round()
            } else {
                raw
            }
        })
        .collect();
    (x, y)
}

#[test]
fn inversions_match_brute_force() {
    let seq = [3u32, 1, 4, 0, 2, 5];
    let mut brute = 0;
    for p in 0..seq.len() {
        for q in (p + 1)..seq.len() {
            if seq[p] > seq[q] {
                brute += 1;
            }
        }
    }
    assert_eq!(inversions(&seq, 6), brute);
}

#[test]
fn fast_selection_equals_brute_force() {
    for (seed, quantised) in [(1, false), (2, true), (3, false), (4, true)] {
        for n in [40, 151, 400] {
            let (x, y) = series(n, seed * 1000 + n as u64, quantised);
            let groups = [(&x[..], &y[..])];
            let all = brute(&groups);
            // brute_max 0: the sampling path runs even on small inputs.
            let set = SlopeSet::with_brute_max(&groups, 0);
            let total = all.len() as u64;
            let ranks = [
                0,
                1,
                total / 7,
                total / 2 - 1,
                total / 2,
                total - 2,
                total - 1,
            ];
            let got = set.select(&ranks);
            for (r, g) in ranks.iter().zip(&got) {
                let want = all[*r as usize];
                assert!(
                    (g - want).abs() <= 1e-9 * (1.0 + want.abs()),
                    "n={n} seed={seed} quantised={quantised} rank {r}: {g} vs {want}"
                );
            }
        }
    }
}

#[test]
fn grouped_selection_equals_brute_force() {
    let (x1, y1) = series(120, 7, true);
    let (x2, y2) = series(90, 8, false);
    let groups = [(&x1[..], &y1[..]), (&x2[..], &y2[..])];
    let all = brute(&groups);
    let set = SlopeSet::with_brute_max(&groups, 0);
    let total = all.len() as u64;
    for r in [0, total / 3, total / 2, total - 1] {
        let got = set.select(&[r])[0];
        assert!((got - all[r as usize]).abs() < 1e-9, "rank {r}");
    }
}

#[test]
fn a_block_of_equal_slopes_is_found() {
    // A quantised plateau: most slopes are exactly 0.
    let x: Vec<f64> = (1..=300).map(f64::from).collect();
    let y: Vec<f64> = x
        .iter()
        .map(|v| {
            if (*v as u64).is_multiple_of(17) {
                771.0
            } else {
                770.0
            }
        })
        .collect();
    let groups = [(&x[..], &y[..])];
    let set = SlopeSet::with_brute_max(&groups, 0);
    assert_eq!(set.median(), 0.0);
    let all = brute(&groups);
    let want = all[all.len() * 99 / 100];
    assert!((set.select(&[(all.len() * 99 / 100) as u64])[0] - want).abs() < 1e-12);
}
