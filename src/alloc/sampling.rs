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
//! under a per-thread re-entrancy guard: whatever the tracker itself allocates (the map, the
//! symbol tables) is not tracked. Symbols are resolved only when a snapshot asks for the site
//! table ([`site_report`]), once per instruction pointer.
//!
//! Estimates are Horvitz-Thompson: a site's live bytes are the sum of `size / p` over its
//! tracked blocks, with standard error `sqrt(sum(size^2 (1 - p) / p^2))`.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use super::sites::{self, JobBytes, SiteSurvivors, StackBytes};
use crate::record::{SiteStat, SiteTable};

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
    /// Resolved, normalised frames per instruction pointer (innermost inline frame first).
    symbols: HashMap<usize, Vec<String>>,
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
#[inline]
fn is_sampled(addr: usize, size: usize) -> bool {
    let p = inclusion_probability(size as u64, MEAN_BYTES.load(Ordering::Relaxed));
    // Fibonacci hashing of the address (its low bits are alignment, so mix them all in),
    // as a uniform number in [0, 1).
    let hash = (addr as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    (hash as f64) < p * 4_294_967_296.0
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

/// What the sampled tracker reports at a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct SampledReport {
    /// Top sites by estimated live bytes.
    pub table: SiteTable,
    /// For the same sites: estimated live bytes by allocating job.
    pub survivors: Vec<SiteSurvivors>,
    /// Every tracked stack's estimated live bytes (for collapsed output).
    pub stacks: Vec<StackBytes>,
    /// Tracked blocks right now.
    pub tracked_blocks: u64,
}

#[derive(Debug, Default)]
struct Estimate {
    bytes: f64,
    blocks: f64,
    variance: f64,
    by_job: HashMap<u64, f64>,
}

/// The site table of the tracked blocks (top `top_n` sites), with job-tagged survivors and
/// per-stack bytes. `None` when sampling is off.
pub fn site_report(top_n: usize) -> Option<SampledReport> {
    if !is_enabled() {
        return None;
    }
    let _guard = Guard::enter()?;
    let SamplingConfig { mean_bytes } = config();
    // Per raw stack, copied out under the lock.
    let (per_stack, stacks, tracked_blocks) = with_state(|state| {
        let mut per_stack: HashMap<u32, Estimate> = HashMap::new();
        for tracked in state.live.values() {
            let p_inv = 1.0 / inclusion_probability(tracked.size, mean_bytes).max(1e-12);
            let size = tracked.size as f64;
            let e = per_stack.entry(tracked.stack).or_default();
            e.bytes += size * p_inv;
            e.blocks += p_inv;
            e.variance += size * size * (p_inv - 1.0) * p_inv;
            *e.by_job.entry(tracked.job).or_default() += size * p_inv;
        }
        let stacks: HashMap<u32, Box<[usize]>> = per_stack
            .keys()
            .filter_map(|&id| state.stacks.get(id as usize).map(|s| (id, s.clone())))
            .collect();
        (per_stack, stacks, state.live.len() as u64)
    });
    // Resolve symbols outside the lock, caching them per instruction pointer.
    let mut cache: HashMap<usize, Vec<String>> =
        with_state(|state| std::mem::take(&mut state.symbols));
    let mut by_site: HashMap<String, Estimate> = HashMap::new();
    let mut stack_bytes = Vec::with_capacity(per_stack.len());
    for (id, estimate) in per_stack {
        let Some(ips) = stacks.get(&id) else {
            continue;
        };
        let mut frames = Vec::new();
        for &ip in ips.iter() {
            let resolved = cache.entry(ip).or_insert_with(|| resolve_ip(ip));
            frames.extend(resolved.iter().cloned());
        }
        let clean = sites::clean_stack(&frames);
        let site = sites::site_identity(&clean);
        stack_bytes.push(StackBytes {
            frames: clean,
            live_bytes: estimate.bytes.round() as u64,
        });
        let total = by_site.entry(site).or_default();
        total.bytes += estimate.bytes;
        total.blocks += estimate.blocks;
        total.variance += estimate.variance;
        for (job, bytes) in estimate.by_job {
            *total.by_job.entry(job).or_default() += bytes;
        }
    }
    with_state(|state| state.symbols = cache);
    let current_job = CURRENT_JOB.load(Ordering::Relaxed);
    let mut all: Vec<(String, Estimate)> = by_site.into_iter().collect();
    all.sort_by(|a, b| b.1.bytes.total_cmp(&a.1.bytes).then(a.0.cmp(&b.0)));
    all.truncate(top_n);
    let mut table_sites = Vec::with_capacity(all.len());
    let mut survivors = Vec::with_capacity(all.len());
    for (site, estimate) in all {
        let job_live = estimate.by_job.get(&current_job).copied().unwrap_or(0.0);
        table_sites.push(SiteStat {
            site: site.clone(),
            live_bytes: estimate.bytes.round() as u64,
            live_blocks: estimate.blocks.round() as u64,
            live_bytes_stderr: Some(estimate.variance.sqrt().round() as u64),
            job_live_bytes: Some(job_live.round() as u64),
        });
        let mut by_job: Vec<JobBytes> = estimate
            .by_job
            .into_iter()
            .map(|(job, bytes)| JobBytes {
                job,
                live_bytes: bytes.round() as u64,
            })
            .collect();
        by_job.sort_by_key(|j| j.job);
        survivors.push(SiteSurvivors { site, by_job });
    }
    Some(SampledReport {
        table: SiteTable {
            mode: "sampled".into(),
            sample_interval_bytes: Some(mean_bytes),
            sites: table_sites,
        },
        survivors,
        stacks: stack_bytes,
        tracked_blocks,
    })
}

/// `function (file:line)` for every (inline) symbol at `ip`, innermost first, normalised.
fn resolve_ip(ip: usize) -> Vec<String> {
    let mut out = Vec::new();
    backtrace::resolve(ip as *mut std::ffi::c_void, |symbol| {
        let name = match symbol.name() {
            Some(name) => format!("{name:#}"),
            None => "???".to_string(),
        };
        let text = match (symbol.filename(), symbol.lineno()) {
            (Some(file), Some(line)) => format!("{name} ({}:{line})", file.display()),
            _ => name,
        };
        out.push(sites::normalize_frame(&text));
    });
    if out.is_empty() {
        out.push("???".into());
    }
    out
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
        disable();
    }
}
