//! Order statistics of pairwise slopes in linear memory and O(n log n) expected time, and
//! inversion counts (the Mann-Kendall S without its n^2 loop).
//!
//! The slopes are never all kept. For a trial slope t, the pair i < j (x_i < x_j) has a slope
//! <= t exactly when u_j <= u_i for u = y - t x, so the number of slopes <= t is the number of
//! inversions of the points ordered by u(t) (ties broken by falling x): a sort and a Fenwick
//! pass. The pairs whose slope lies in (lo, hi] are the pairs the orders at lo and at hi put
//! differently: the inversions of one order read in the other, which can be counted,
//! sampled uniformly and listed. The selection (after Dillencourt, Mount and Netanyahu 1992
//! and Matousek 1991) samples slopes in the interval known to hold the wanted rank, narrows the
//! interval to the sample's quantiles around it (a margin of 3 sample standard deviations),
//! checks the new bounds by counting, and lists the slopes once at most a few times n remain.
//! The answer is the exact order statistic (a Las Vegas algorithm: randomness changes the time,
//! not the result); the random generator is seeded, so runs repeat. Below
//! [`BRUTE_MAX_PAIRS`] pairs the slopes are simply listed.
//!
//! Floating point: the orders at lo and hi are computed from rounded u values, so a slope
//! within rounding of a bound (about 1e-15 relative) could be put on the wrong side. Bounds
//! are moved off sample values by a tolerance well above that rounding, and when the wanted
//! rank falls in a block of equal slopes (quantised data: many pairs of slope exactly 0) the
//! block's value is returned once counting shows the rank lies within that tolerance of it.

use rand::{Rng, SeedableRng};

use super::float_order::total_order_bits;
use super::float_order::{merge_sorted, sort_total};
use rand_chacha::ChaCha8Rng;

/// Up to this many pairs, every slope is listed and the rank selected directly.
pub const BRUTE_MAX_PAIRS: u64 = 1 << 18;

/// A Fenwick (binary indexed) tree of counts over values 0..n.
struct Fenwick {
    tree: Vec<u32>,
}

impl Fenwick {
    fn new(n: usize) -> Self {
        Fenwick {
            tree: vec![0; n + 1],
        }
    }

    fn insert(&mut self, value: usize) {
        let mut i = value + 1;
        while i < self.tree.len() {
            self.tree[i] += 1;
            i += i & i.wrapping_neg();
        }
    }

    /// How many inserted values are < `value`.
    fn below(&self, value: usize) -> u64 {
        let mut i = value;
        let mut sum = 0u64;
        while i > 0 {
            sum += u64::from(self.tree[i]);
            i -= i & i.wrapping_neg();
        }
        sum
    }

    /// The value of the `k`-th smallest inserted value (0-based `k`, k < inserted count).
    fn kth(&self, k: u64) -> usize {
        let mut pos = 0usize;
        let mut remaining = k + 1;
        let mut step = (self.tree.len() - 1).next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next < self.tree.len() && u64::from(self.tree[next]) < remaining {
                pos = next;
                remaining -= u64::from(self.tree[next]);
            }
            step >>= 1;
        }
        pos
    }
}

/// The number of pairs p < q with `seq[p] > seq[q]` (strict), for values in 0..`range`.
pub fn inversions(seq: &[u32], range: usize) -> u64 {
    let mut fenwick = Fenwick::new(range);
    let mut total = 0u64;
    for (p, &v) in seq.iter().enumerate() {
        let v = v as usize;
        // Earlier values > v: all earlier minus those <= v.
        total += p as u64 - fenwick.below(v + 1);
        fenwick.insert(v);
    }
    total
}

/// One group of points, sorted by strictly increasing x.
struct Group {
    x: Vec<f64>,
    y: Vec<f64>,
}

impl Group {
    fn n(&self) -> usize {
        self.x.len()
    }

    fn pairs(&self) -> u64 {
        let n = self.n() as u64;
        n * n.saturating_sub(1) / 2
    }

    fn slope(&self, a: usize, b: usize) -> f64 {
        let (i, j) = if a < b { (a, b) } else { (b, a) };
        (self.y[j] - self.y[i]) / (self.x[j] - self.x[i])
    }

    /// The points ordered by u = y - t x (ties: higher index first). -inf: by x; +inf: reversed.
    fn order_at(&self, t: f64) -> Vec<u32> {
        let n = self.n();
        if t == f64::NEG_INFINITY {
            return (0..n as u32).collect();
        }
        if t == f64::INFINITY {
            return (0..n as u32).rev().collect();
        }
        // Sorted as one integer per point: u's total order in the high bits, the index
        // reversed in the low ones (ties: higher index first).
        let mut keyed: Vec<u128> = (0..n)
            .map(|i| {
                let key = total_order_bits(self.y[i] - t * self.x[i]);
                (u128::from(key) << 32) | u128::from(u32::MAX - i as u32)
            })
            .collect();
        keyed.sort_unstable();
        keyed.into_iter().map(|k| u32::MAX - (k as u32)).collect()
    }

    /// The order at `lo` read as positions in the order at `hi`: its inversions are the
    /// pairs with a slope in (lo, hi].
    fn flip_sequence(lo_order: &[u32], hi_order: &[u32]) -> Vec<u32> {
        let mut pos_hi = vec![0u32; hi_order.len()];
        for (p, &i) in hi_order.iter().enumerate() {
            pos_hi[i as usize] = p as u32;
        }
        lo_order.iter().map(|&i| pos_hi[i as usize]).collect()
    }

    /// Every slope in (lo, hi], from the inversions of the flip sequence (merge sort).
    fn list_flips(&self, lo_order: &[u32], hi_order: &[u32], out: &mut Vec<f64>) {
        let seq = Self::flip_sequence(lo_order, hi_order);
        // Sort (position in hi order, point) by position; every time an element of the right
        // half passes elements of the left half, those pairs are inversions.
        let mut items: Vec<(u32, u32)> =
            seq.iter().copied().zip(lo_order.iter().copied()).collect();
        let mut buf = items.clone();
        let n = items.len();
        let mut width = 1;
        while width < n {
            let mut start = 0;
            while start < n {
                let mid = (start + width).min(n);
                let end = (start + 2 * width).min(n);
                let (mut i, mut j, mut k) = (start, mid, start);
                while i < mid && j < end {
                    if items[i].0 <= items[j].0 {
                        buf[k] = items[i];
                        i += 1;
                    } else {
                        for left in &items[i..mid] {
                            out.push(self.slope(left.1 as usize, items[j].1 as usize));
                        }
                        buf[k] = items[j];
                        j += 1;
                    }
                    k += 1;
                }
                buf[k..k + (mid - i)].copy_from_slice(&items[i..mid]);
                k += mid - i;
                buf[k..k + (end - j)].copy_from_slice(&items[j..end]);
                start = end;
            }
            std::mem::swap(&mut items, &mut buf);
            width *= 2;
        }
    }

    /// Slopes of the flips whose 0-based indices (in the order "by later element, then by
    /// rank among its earlier greater elements") are `targets` (sorted, all < flip count).
    fn sample_flips(
        &self,
        lo_order: &[u32],
        hi_order: &[u32],
        targets: &[u64],
        out: &mut Vec<f64>,
    ) {
        let seq = Self::flip_sequence(lo_order, hi_order);
        let mut fenwick = Fenwick::new(seq.len());
        let mut cum = 0u64;
        let mut t = 0usize;
        for (p, &v) in seq.iter().enumerate() {
            let v = v as usize;
            let at_most = fenwick.below(v + 1);
            let greater = p as u64 - at_most;
            while t < targets.len() && targets[t] < cum + greater {
                let r = targets[t] - cum;
                let other_pos = fenwick.kth(at_most + r);
                out.push(self.slope(hi_order[other_pos] as usize, lo_order[p] as usize));
                t += 1;
            }
            cum += greater;
            fenwick.insert(v);
        }
    }
}

/// The pairwise slopes of one or more groups of points (pairs are taken within a group).
pub struct SlopeSet {
    groups: Vec<Group>,
    pairs: u64,
    /// Rounding tolerance of a bound: see the module documentation.
    scale: f64,
    brute_max: u64,
}

/// A bound of the interval holding the wanted ranks, with the order of each group at it.
struct Bound {
    t: f64,
    /// Slopes <= t.
    count: u64,
    orders: Vec<Vec<u32>>,
}

impl SlopeSet {
    /// Groups of (x, y); within a group points with an x already seen are dropped (callers
    /// pass distinct job numbers). Non-finite points are dropped.
    pub fn new(groups: &[(&[f64], &[f64])]) -> Self {
        Self::with_brute_max(groups, BRUTE_MAX_PAIRS)
    }

    /// As [`SlopeSet::new`], listing every slope up to `brute_max` pairs (tests lower it).
    pub fn with_brute_max(groups: &[(&[f64], &[f64])], brute_max: u64) -> Self {
        let mut out = Vec::new();
        let (mut max_y, mut max_x, mut min_dx) = (0.0_f64, 0.0_f64, f64::INFINITY);
        for (x, y) in groups {
            let mut pts: Vec<(f64, f64)> = x
                .iter()
                .zip(y.iter())
                .map(|(a, b)| (*a, *b))
                .filter(|(a, b)| a.is_finite() && b.is_finite())
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            pts.dedup_by(|a, b| a.0 == b.0);
            for w in pts.windows(2) {
                min_dx = min_dx.min(w[1].0 - w[0].0);
            }
            for (a, b) in &pts {
                max_x = max_x.max(a.abs());
                max_y = max_y.max(b.abs());
            }
            if pts.len() >= 2 {
                out.push(Group {
                    x: pts.iter().map(|p| p.0).collect(),
                    y: pts.iter().map(|p| p.1).collect(),
                });
            }
        }
        let pairs = out.iter().map(Group::pairs).sum();
        let min_dx = if min_dx.is_finite() && min_dx > 0.0 {
            min_dx
        } else {
            1.0
        };
        SlopeSet {
            groups: out,
            pairs,
            scale: (max_y + max_x) / min_dx,
            brute_max,
        }
    }

    /// Number of pairs (with distinct x).
    pub fn pairs(&self) -> u64 {
        self.pairs
    }

    /// The slopes at the given 0-based ranks of the sorted slopes (each < [`Self::pairs`]).
    pub fn select(&self, ranks: &[u64]) -> Vec<f64> {
        if self.pairs == 0 {
            return vec![f64::NAN; ranks.len()];
        }
        let ranks: Vec<u64> = ranks.iter().map(|r| (*r).min(self.pairs - 1)).collect();
        if self.pairs <= self.brute_max {
            let mut all = Vec::with_capacity(self.pairs as usize);
            for g in &self.groups {
                for i in 0..g.n() {
                    for j in (i + 1)..g.n() {
                        all.push(g.slope(i, j));
                    }
                }
            }
            sort_total(&mut all);
            return ranks.iter().map(|&r| all[r as usize]).collect();
        }
        self.select_each(&ranks)
    }

    /// [`Self::select_one`] of each rank, the ranks on as many threads as there are cores. The
    /// first sample (of all pairs) is drawn once for all ranks, each half on a thread; each
    /// selection goes on with a generator seeded by its rank alone: the same slopes on any
    /// number of threads.
    fn select_each(&self, ranks: &[u64]) -> Vec<f64> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let first = self.first_sample(cores);
        if ranks.len() < 2 || cores < 2 {
            return ranks.iter().map(|&r| self.select_one(r, &first)).collect();
        }
        let first = &first;
        let per_thread = ranks.len().div_ceil(cores);
        std::thread::scope(|scope| {
            let mut parts = ranks.chunks(per_thread);
            let mine = parts.next().unwrap_or_default();
            let handles: Vec<_> = parts
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|&r| self.select_one(r, first))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut out: Vec<f64> = mine.iter().map(|&r| self.select_one(r, first)).collect();
            for handle in handles {
                // A selection that panicked (a bug) panics here, as it would on one thread.
                out.extend(
                    handle
                        .join()
                        .unwrap_or_else(|e| std::panic::resume_unwind(e)),
                );
            }
            out
        })
    }

    /// [`Self::sample_size`] slopes drawn uniformly from all pairs, sorted: two halves, each
    /// from its own seeded generator (on its own thread when there are cores), merged.
    fn first_sample(&self, cores: usize) -> Vec<f64> {
        let m = self.sample_size();
        let half = |part: u64, size: usize| {
            let mut rng =
                ChaCha8Rng::seed_from_u64(0x5a3b_1e5f ^ part ^ self.pairs.rotate_left(17));
            self.sample_all(size, &mut rng)
        };
        let (a, b) = if cores >= 2 {
            std::thread::scope(|scope| {
                let other = scope.spawn(move || half(1, m - m / 2));
                let mine = half(0, m / 2);
                // A sample that panicked (a bug) panics here, as it would on one thread.
                let theirs = other
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e));
                (mine, theirs)
            })
        } else {
            (half(0, m / 2), half(1, m - m / 2))
        };
        merge_sorted(&a, &b)
    }

    /// The median of the slopes (the mean of the two middle ones for an even count).
    pub fn median(&self) -> f64 {
        let n = self.pairs;
        if n == 0 {
            return f64::NAN;
        }
        if n % 2 == 1 {
            self.select(&[n / 2])[0]
        } else {
            let v = self.select(&[n / 2 - 1, n / 2]);
            (v[0] + v[1]) / 2.0
        }
    }

    fn tolerance(&self, t: f64) -> f64 {
        1e-12 * (self.scale + t.abs() * (1.0 + self.scale))
    }

    fn bound(&self, t: f64) -> Bound {
        let orders: Vec<Vec<u32>> = self.groups.iter().map(|g| g.order_at(t)).collect();
        let count = if t == f64::NEG_INFINITY {
            0
        } else if t == f64::INFINITY {
            self.pairs
        } else {
            orders
                .iter()
                .zip(&self.groups)
                .map(|(o, g)| inversions(o, g.n()))
                .sum()
        };
        Bound { t, count, orders }
    }

    fn sample_size(&self) -> usize {
        let n: usize = self.groups.iter().map(Group::n).sum();
        (2 * n).clamp(1 << 14, 1 << 22)
    }

    /// About `m` slopes drawn uniformly from (lo, hi] (with replacement), sorted.
    fn sample(&self, lo: &Bound, hi: &Bound, m: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
        if lo.t == f64::NEG_INFINITY && hi.t == f64::INFINITY {
            return self.sample_all(m, rng);
        }
        let flips: Vec<u64> = self
            .groups
            .iter()
            .enumerate()
            .map(|(gi, g)| inversions(&Group::flip_sequence(&lo.orders[gi], &hi.orders[gi]), g.n()))
            .collect();
        let total: u64 = flips.iter().sum();
        if total == 0 {
            return Vec::new();
        }
        let mut targets: Vec<u64> = (0..m).map(|_| rng.gen_range(0..total)).collect();
        targets.sort_unstable();
        let mut out = Vec::with_capacity(m);
        let mut offset = 0u64;
        let mut t = 0usize;
        for (gi, g) in self.groups.iter().enumerate() {
            let end = targets[t..].partition_point(|&v| v < offset + flips[gi]) + t;
            let local: Vec<u64> = targets[t..end].iter().map(|v| v - offset).collect();
            g.sample_flips(&lo.orders[gi], &hi.orders[gi], &local, &mut out);
            t = end;
            offset += flips[gi];
        }
        sort_total(&mut out);
        out
    }

    /// About `m` slopes drawn uniformly from all pairs (with replacement), sorted: a group by
    /// its share of the pairs, then two distinct points of it (no counting needed).
    fn sample_all(&self, m: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let ends: Vec<u64> = self
            .groups
            .iter()
            .scan(0u64, |sum, g| {
                *sum += g.pairs();
                Some(*sum)
            })
            .collect();
        let mut out = Vec::with_capacity(m);
        for _ in 0..m {
            let r = rng.gen_range(0..self.pairs);
            let g = &self.groups[ends.partition_point(|&end| end <= r)];
            let n = g.n();
            let i = rng.gen_range(0..n);
            let j = rng.gen_range(0..n - 1);
            out.push(g.slope(i, if j >= i { j + 1 } else { j }));
        }
        sort_total(&mut out);
        out
    }

    /// Every slope in (lo, hi], sorted.
    fn list(&self, lo: &Bound, hi: &Bound) -> Vec<f64> {
        let mut out = Vec::with_capacity((hi.count - lo.count) as usize);
        for (gi, g) in self.groups.iter().enumerate() {
            g.list_flips(&lo.orders[gi], &hi.orders[gi], &mut out);
        }
        sort_total(&mut out);
        out
    }

    /// The slope of rank `k`, starting from `first`: a sorted sample of all pairs.
    fn select_one(&self, k: u64, first: &[f64]) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(0x510e_5e1e ^ k ^ self.pairs.rotate_left(17));
        let n: u64 = self.groups.iter().map(|g| g.n() as u64).sum();
        let list_max = (4 * n).max(self.brute_max);
        let m = self.sample_size();
        let mut lo = self.bound(f64::NEG_INFINITY);
        let mut hi = self.bound(f64::INFINITY);
        let mut sample: Vec<f64> = first.to_vec();
        let mut fallback = f64::NAN;
        for _ in 0..200 {
            let inside = hi.count.saturating_sub(lo.count);
            if inside <= list_max {
                let listed = self.list(&lo, &hi);
                if listed.is_empty() {
                    break;
                }
                let r = (k.saturating_sub(lo.count) as usize).min(listed.len() - 1);
                return listed[r];
            }
            // The sample drawn for a wider interval stays a sample of this one; draw anew
            // when too little of it is left.
            sample.retain(|v| *v > lo.t && *v <= hi.t);
            if sample.len() < (m / 16).max(256) {
                sample = self.sample(&lo, &hi, m, &mut rng);
            }
            if sample.is_empty() {
                break;
            }
            let len = sample.len();
            let q = k.saturating_sub(lo.count) as f64 / inside as f64 * len as f64;
            let margin = 3.0 * (len as f64).sqrt();
            let r_lo = (q - margin).floor();
            let r_hi = (q + margin).ceil();
            let v_lo = (r_lo >= 0.0).then(|| sample[r_lo as usize]);
            let v_hi = (r_hi < len as f64).then(|| sample[r_hi as usize]);
            let at = (q as usize).min(len - 1);
            let mid = sample[at];
            fallback = mid;
            let tied = (at > 0 && sample[at - 1] == mid) || (at + 1 < len && sample[at + 1] == mid);
            if tied {
                // A block of equal slopes at the rank: is the rank within it? If not, the
                // block is cut off and the rest of the sample narrows further.
                let tol = self.tolerance(mid);
                let below = self.bound(mid - tol);
                if below.count > k {
                    hi = below;
                    continue;
                }
                let above = self.bound(mid + tol);
                if k < above.count {
                    return mid;
                }
                lo = above;
                continue;
            }
            // v_lo < mid < v_hi: bounds just past their blocks of equal slopes, on the far
            // side from the rank.
            if let Some(v) = v_lo.filter(|v| *v < mid) {
                let new_lo = self.bound(v + self.tolerance(v));
                if new_lo.count > k {
                    hi = new_lo;
                    continue;
                }
                lo = new_lo;
            }
            if let Some(v) = v_hi.filter(|v| *v > mid) {
                let new_hi = self.bound(v - self.tolerance(v));
                if new_hi.count <= k {
                    lo = new_hi;
                    continue;
                }
                if new_hi.t > lo.t {
                    hi = new_hi;
                }
            }
            // Narrowed around the rank: what is left of the sample is too little to go on.
            sample.clear();
        }
        fallback
    }
}

#[cfg(test)]
#[path = "slopes_tests.rs"]
mod tests;
