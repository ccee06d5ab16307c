//! `--sites sampled`: a sampling allocation tracker over jemalloc, in the spirit of rerun's
//! `re_memory`.
//!
//! The global allocator ([`super::SelectedAllocator`]) calls [`on_alloc`] and [`on_dealloc`]
//! (a reallocation is both) only while sampling is on (one relaxed atomic load otherwise). Which blocks
//! are tracked depends only on the block, so a free can tell without a lookup whether its
//! block may be in the map: a block of `size` bytes is tracked with probability
//! `p = 1 - exp(-size / mean_bytes)` (each allocated byte is a sample point with probability
//! `1 / mean_bytes`, as in jemalloc's and tcmalloc's heap profilers), decided by comparing a
//! hash of its address with `p`. Blocks much larger than `mean_bytes` (page images, model
//! weights) are always tracked; small ones rarely, each standing for `1 / p` blocks.
//!
//! A tracked block gets a raw backtrace (instruction pointers only, no symbols, no allocation)
//! interned as a stack id, and the map keeps `address -> (stack, size, job)`. All of this runs
//! under a per-thread re-entrancy guard: whatever the tracker itself allocates (the map) is
//! not tracked. Symbols are never resolved in this process: a snapshot carries the estimates
//! per raw stack with addresses relative to the binary and its build id ([`raw_report`]), and
//! the replay's parent symbolises them once per run ([`crate::symbols`]).
//!
//! Estimates are Horvitz-Thompson: a site's live bytes are the sum of `size / p` over its
//! tracked blocks, with standard error `sqrt(sum(size^2 (1 - p) / p^2))`.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::record::{RawSites, RawStack};

/// Sampling parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SamplingConfig {
    /// Mean bytes allocated between two sample points.
    pub mean_bytes: u64,
}

/// The default rate, chosen by measurement (BENCHMARKS.md, "Census and sites overhead").
pub const DEFAULT_CONFIG: SamplingConfig = SamplingConfig {
    mean_bytes: 64 * 1024,
};

/// Overrides the default mean bytes between samples in the worker child.
pub const SAMPLE_BYTES_ENV: &str = "DOCLING_MEMPROF_SITES_SAMPLE_BYTES";

/// [`DEFAULT_CONFIG`], or the mean given by [`SAMPLE_BYTES_ENV`] when it is a positive number.
pub fn config_from_env() -> SamplingConfig {
    std::env::var(SAMPLE_BYTES_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&n| n > 0)
        .map_or(DEFAULT_CONFIG, |mean_bytes| SamplingConfig { mean_bytes })
}

/// Instruction pointers kept per stack.
const MAX_FRAMES: usize = 40;

static ENABLED: AtomicBool = AtomicBool::new(false);
static MEAN_BYTES: AtomicU64 = AtomicU64::new(u64::MAX);
static CURRENT_JOB: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set while this thread is inside the tracker: its allocations are not tracked.
    static BUSY: Cell<bool> = const { Cell::new(false) };
}

/// Holds the re-entrancy flag of this thread for its lifetime.
struct Guard;

impl Guard {
    /// `None` when this thread is already inside the tracker (or its TLS is gone).
    #[inline]
    fn enter() -> Option<Guard> {
        BUSY.try_with(|busy| {
            if busy.get() {
                None
            } else {
                busy.set(true);
                Some(Guard)
            }
        })
        .ok()
        .flatten()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = BUSY.try_with(|busy| busy.set(false));
    }
}

#[derive(Debug, Clone, Copy)]
struct Tracked {
    stack: u32,
    size: u64,
    job: u64,
}

#[derive(Debug, Default)]
struct State {
    live: HashMap<usize, Tracked>,
    stack_ids: HashMap<Box<[usize]>, u32>,
    stacks: Vec<Box<[usize]>>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let mut guard = STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    f(guard.get_or_insert_with(State::default))
}

/// Start tracking with `config` (blocks allocated before stay untracked).
pub fn enable(config: SamplingConfig) {
    // Read the binary's load address and build id now, outside any allocation hook.
    let _ = super::module::main_binary();
    MEAN_BYTES.store(config.mean_bytes.max(1), Ordering::Relaxed);
    ENABLED.store(true, Ordering::Release);
}

/// Stop tracking and forget every tracked block.
pub fn disable() {
    ENABLED.store(false, Ordering::Release);
    if let Some(_guard) = Guard::enter() {
        with_state(|state| *state = State::default());
    }
}

/// Whether the tracker is on (the allocator's one check).
#[inline]
pub fn is_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The current parameters.
pub fn config() -> SamplingConfig {
    SamplingConfig {
        mean_bytes: MEAN_BYTES.load(Ordering::Relaxed),
    }
}

/// Tag blocks allocated from now on with `job` (0 before the first job).
pub fn set_job(job: u64) {
    CURRENT_JOB.store(job, Ordering::Relaxed);
}

/// The probability that a block of `size` bytes is tracked under `mean_bytes`.
#[inline]
pub fn inclusion_probability(size: u64, mean_bytes: u64) -> f64 {
    -(-(size as f64) / mean_bytes.max(1) as f64).exp_m1()
}

/// Whether a block is tracked: a function of its address and size only.
///
/// This runs on every allocation and free while sampling is on, so the common case (a small
/// block that is not tracked) is decided with integer arithmetic: since
/// `p = 1 - exp(-size / mean) <= size / mean`, a hash at or above `size / mean` (scaled to
/// 2^32) cannot be below `p`, and `exp_m1` runs only for the few blocks that pass that test
/// (measured: `expm1` was the sampler's largest own cost in a replay's profile; BENCHMARKS.md).
/// The decision is exactly the one of the plain comparison with `p`.
#[inline]
fn is_sampled(addr: usize, size: usize) -> bool {
    let hash = address_hash(addr);
    let mean = MEAN_BYTES.load(Ordering::Relaxed).max(1);
    if u128::from(hash) * u128::from(mean) >= (size as u128) << 32 {
        return false;
    }
    let p = inclusion_probability(size as u64, mean);
    (hash as f64) < p * 4_294_967_296.0
}

/// A uniform 32-bit number from a block's address.
///
/// A full avalanche mix of the address (murmur3's 64-bit finaliser). Plain Fibonacci hashing
/// was not enough: blocks of one size class sit on an address lattice, and a multiplicative
/// hash of a lattice is a Weyl sequence whose hits cluster, so the number of tracked 48-byte
/// blocks of a known leak varied far beyond the binomial error bars
/// (tests/sites_accuracy.rs: estimates of 0.46x to 1.5x the truth).
#[inline]
fn address_hash(addr: usize) -> u32 {
    let mut x = addr as u64;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    (x >> 32) as u32
}

/// The allocator's hook after a successful allocation.
#[inline]
pub fn on_alloc(ptr: *mut u8, size: usize) {
    if ptr.is_null() || !is_sampled(ptr as usize, size) {
        return;
    }
    track(ptr as usize, size);
}

/// The allocator's hook before a free.
#[inline]
pub fn on_dealloc(ptr: *mut u8, size: usize) {
    if !is_sampled(ptr as usize, size) {
        return;
    }
    untrack(ptr as usize);
}

#[cold]
fn track(addr: usize, size: usize) {
    let Some(_guard) = Guard::enter() else {
        return;
    };
    let mut ips = [0usize; MAX_FRAMES];
    let mut n = 0;
    backtrace::trace(|frame| {
        ips[n] = frame.ip() as usize;
        n += 1;
        n < MAX_FRAMES
    });
    let job = CURRENT_JOB.load(Ordering::Relaxed);
    with_state(|state| {
        let raw = &ips[..n];
        let stack = match state.stack_ids.get(raw) {
            Some(&id) => id,
            None => {
                let id = state.stacks.len() as u32;
                state.stacks.push(raw.into());
                state.stack_ids.insert(raw.into(), id);
                id
            }
        };
        state.live.insert(
            addr,
            Tracked {
                stack,
                size: size as u64,
                job,
            },
        );
    });
}

#[cold]
fn untrack(addr: usize) {
    let Some(_guard) = Guard::enter() else {
        return;
    };
    with_state(|state| {
        state.live.remove(&addr);
    });
}

/// The tracked blocks' estimates per raw stack, with return addresses relative to the
/// binary's load address and its build id: no symbol is resolved here (the parent does it,
/// [`crate::symbols`]), so no debug info is ever loaded into the measured process. `None`
/// when sampling is off.
pub fn raw_report() -> Option<RawSites> {
    if !is_enabled() {
        return None;
    }
    let _guard = Guard::enter()?;
    let SamplingConfig { mean_bytes } = config();
    let binary = super::module::main_binary();
    let (per_stack, tracked_blocks) = with_state(|state| {
        let mut per_stack: HashMap<u32, Estimate> = HashMap::new();
        for tracked in state.live.values() {
            let p_inv = 1.0 / inclusion_probability(tracked.size, mean_bytes).max(1e-12);
            let size = tracked.size as f64;
            let e = per_stack.entry(tracked.stack).or_default();
            e.bytes += size * p_inv;
            e.blocks += p_inv;
            e.variance += size * size * (p_inv - 1.0) * p_inv;
            *e.by_job.entry(tracked.job).or_default() += size * p_inv;
            *e.sizes.entry(tracked.size).or_default() += 1;
        }
        let stacks: Vec<RawStack> = per_stack
            .into_iter()
            .filter_map(|(id, e)| {
                let ips = state.stacks.get(id as usize)?;
                let mut by_job: Vec<(u64, f64)> = e.by_job.into_iter().collect();
                by_job.sort_by_key(|&(job, _)| job);
                let mut sampled: Vec<(u64, u64)> = e.sizes.into_iter().collect();
                sampled.sort_unstable();
                Some(RawStack {
                    frames: ips.iter().map(|&ip| binary.relative(ip)).collect(),
                    bytes: e.bytes,
                    blocks: e.blocks,
                    variance: e.variance,
                    by_job,
                    sampled,
                })
            })
            .collect();
        (stacks, state.live.len() as u64)
    });
    Some(RawSites {
        build_id: binary.build_id.clone(),
        binary: binary.path.clone(),
        sample_interval_bytes: mean_bytes,
        current_job: CURRENT_JOB.load(Ordering::Relaxed),
        tracked_blocks,
        stacks: per_stack,
    })
}

#[derive(Debug, Default)]
struct Estimate {
    bytes: f64,
    blocks: f64,
    variance: f64,
    by_job: HashMap<u64, f64>,
    /// Tracked blocks by size (the raw samples behind the estimates).
    sizes: HashMap<u64, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_depends_on_the_block_only() {
        enable(SamplingConfig { mean_bytes: 4096 });
        assert!(is_sampled(0x1000, 1 << 20), "big blocks are always tracked");
        let hits = (0..1_000_000usize)
            .filter(|i| is_sampled(0x7f00_0000_0000 + i * 16, 32))
            .count();
        // p(32 bytes) = 1 - exp(-32/4096) = 0.78%: about 7 800 of a million addresses.
        assert!((6_500..9_000).contains(&hits), "{hits}");
        let p = inclusion_probability(4096, 4096);
        assert!((p - 0.632).abs() < 0.001, "{p}");
        assert_eq!(is_sampled(0xdead_bee0, 8), is_sampled(0xdead_bee0, 8));
        // The integer pre-test decides exactly as the plain comparison with p.
        for mean in [4096u64, 65536, 1 << 20] {
            MEAN_BYTES.store(mean, Ordering::Relaxed);
            for i in 0..200_000usize {
                let (addr, size) = (
                    0x5500_0000_0000 + i * 48,
                    1 + (i * 7919) % (3 * mean as usize),
                );
                let p = inclusion_probability(size as u64, mean);
                let plain = (address_hash(addr) as f64) < p * 4_294_967_296.0;
                assert_eq!(is_sampled(addr, size), plain, "{addr:#x} {size} {mean}");
            }
        }
        disable();
    }
}
