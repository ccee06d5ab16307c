//! dhat mode: one heap profiler per job, plus whole-heap counters.
//!
//! dhat's [`::dhat::HeapStats`] count only blocks allocated since the running profiler started,
//! and a profiler cannot reset its peak; so the child starts a fresh profiler for each job
//! ([`start_job_profiler`]): `max_bytes` is then the job's own peak and `curr_bytes` what the
//! job allocated and left live. Frees of older blocks are invisible to that profiler, so the
//! [`super::SelectedAllocator`] also keeps whole-heap live counters in dhat mode
//! ([`heap_live`]); they fill `heap_live_bytes`/`heap_live_blocks`, which
//! [`crate::probe::AllocatorLayers::live_bytes`] prefers.
//!
//! Profilers run in dhat's testing mode: dropping one neither prints to stderr (the child's
//! stderr is `worker.log`) nor writes `dhat-heap.json`; except with `--sites exact`, where
//! [`super::dhat_sites::builder`] gives each job's profiler a file to write.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::record::DhatStats;

static HEAP_LIVE_BYTES: AtomicU64 = AtomicU64::new(0);
static HEAP_LIVE_BLOCKS: AtomicU64 = AtomicU64::new(0);

#[inline]
pub(super) fn count_alloc(size: usize) {
    HEAP_LIVE_BYTES.fetch_add(size as u64, Ordering::Relaxed);
    HEAP_LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
}

#[inline]
pub(super) fn count_dealloc(size: usize) {
    HEAP_LIVE_BYTES.fetch_sub(size as u64, Ordering::Relaxed);
    HEAP_LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
}

#[inline]
pub(super) fn count_realloc(old_size: usize, new_size: usize) {
    if new_size >= old_size {
        HEAP_LIVE_BYTES.fetch_add((new_size - old_size) as u64, Ordering::Relaxed);
    } else {
        HEAP_LIVE_BYTES.fetch_sub((old_size - new_size) as u64, Ordering::Relaxed);
    }
}

/// Live bytes and blocks of the whole Rust heap (dhat mode only; zeros otherwise).
pub fn heap_live() -> (u64, u64) {
    (
        HEAP_LIVE_BYTES.load(Ordering::Relaxed),
        HEAP_LIVE_BLOCKS.load(Ordering::Relaxed),
    )
}

/// The profiler of the current job, if one runs.
static PROFILER: Mutex<Option<::dhat::Profiler>> = Mutex::new(None);

fn with_profiler<R>(f: impl FnOnce(&mut Option<::dhat::Profiler>) -> R) -> R {
    // A poisoned lock only means a panic elsewhere while holding it; the Option is still sound.
    let mut guard = PROFILER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    f(&mut guard)
}

/// Stop the running profiler (if any) and start a fresh one for the next job. Does nothing
/// unless this process runs with the dhat allocator.
pub fn start_job_profiler() {
    if !(super::is_installed() && super::selected() == super::AllocatorKind::Dhat) {
        return;
    }
    with_profiler(|slot| {
        // Drop the previous profiler first: dhat allows one at a time.
        drop(slot.take());
        *slot = Some(super::dhat_sites::builder().build());
    });
}

/// Stop the running profiler, if any.
pub fn stop_profiler() {
    with_profiler(|slot| drop(slot.take()));
}

/// The current job profiler's stats and the whole-heap counters (zeros without a profiler).
pub fn stats() -> DhatStats {
    let (heap_live_bytes, heap_live_blocks) = heap_live();
    let mut out = with_profiler(|slot| match slot {
        Some(_) => {
            let h = ::dhat::HeapStats::get();
            DhatStats {
                total_blocks: h.total_blocks,
                total_bytes: h.total_bytes,
                curr_blocks: h.curr_blocks as u64,
                curr_bytes: h.curr_bytes as u64,
                max_blocks: h.max_blocks as u64,
                max_bytes: h.max_bytes as u64,
                ..DhatStats::default()
            }
        }
        None => DhatStats::default(),
    });
    if super::is_installed() && super::selected() == super::AllocatorKind::Dhat {
        out.heap_live_bytes = Some(heap_live_bytes);
        out.heap_live_blocks = Some(heap_live_blocks);
    }
    out
}
