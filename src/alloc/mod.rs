//! The runtime-selected global allocator and the allocator readers.
//!
//! The binary declares `#[global_allocator] static GLOBAL: SelectedAllocator` (in `main.rs`).
//! On the first allocation the wrapper reads [`ALLOCATOR_ENV`] with `libc::getenv` (which does
//! not allocate, so there is no recursion), caches the choice in an atomic and from then on
//! forwards every call to jemalloc, `dhat::Alloc` or the system allocator (glibc). The std
//! runtime allocates before `main`, so the choice must be in the environment when the process
//! starts: the replay parent sets it on the child with `Command::env`, and it never changes
//! afterwards.
//!
//! Only Rust allocations pass through the wrapper; C libraries' `malloc` goes to glibc
//! (tikv-jemallocator prefixes its symbols on Linux).
//!
//! Readers: [`jemalloc`] (stats after an epoch advance, purge of every arena),
//! [`jemalloc_prof`] (jemalloc's own heap profiler, feature `jemalloc-profiling`), [`dhat`] (a
//! heap profiler per job, plus whole-heap counters kept by the wrapper in dhat mode) and
//! [`system`] (glibc `mallinfo2`).

pub mod dhat;
pub mod dhat_sites;
pub mod jemalloc;
pub mod jemalloc_prof;
pub mod module;
pub mod sampling;
pub mod sites;
pub mod system;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, Ordering};

/// The environment variable that selects the allocator of a process at start:
/// `jemalloc` (also the default when unset or unknown), `dhat` or `system`.
pub const ALLOCATOR_ENV: &str = "DOCLING_MEMPROF_ALLOCATOR";
/// [`ALLOCATOR_ENV`] as a C string for `libc::getenv`.
const ALLOCATOR_ENV_C: &[u8] = b"DOCLING_MEMPROF_ALLOCATOR\0";

pub use crate::record::AllocatorKind;

fn kind_from_code(code: u8) -> AllocatorKind {
    match code {
        CODE_DHAT => AllocatorKind::Dhat,
        CODE_SYSTEM => AllocatorKind::System,
        _ => AllocatorKind::Jemalloc,
    }
}

const CODE_UNSET: u8 = 0;
const CODE_JEMALLOC: u8 = 1;
const CODE_DHAT: u8 = 2;
const CODE_SYSTEM: u8 = 3;

/// The cached choice (`CODE_UNSET` until the first allocation or [`selected`] call).
static CHOICE: AtomicU8 = AtomicU8::new(CODE_UNSET);

/// Read the choice from the environment without allocating.
fn read_choice() -> u8 {
    // SAFETY: `ALLOCATOR_ENV_C` is NUL-terminated; getenv only reads the environment, which the
    // C runtime set up before any Rust code ran. It does not allocate.
    let value = unsafe { libc::getenv(ALLOCATOR_ENV_C.as_ptr().cast()) };
    if value.is_null() {
        return CODE_JEMALLOC;
    }
    // SAFETY: getenv returned a non-null pointer to a NUL-terminated string owned by the
    // environment; we only read it here, before anything could modify the environment.
    let bytes = unsafe { std::ffi::CStr::from_ptr(value) }.to_bytes();
    if bytes.eq_ignore_ascii_case(b"dhat") {
        CODE_DHAT
    } else if bytes.eq_ignore_ascii_case(b"system") || bytes.eq_ignore_ascii_case(b"glibc") {
        CODE_SYSTEM
    } else {
        CODE_JEMALLOC
    }
}

/// The choice, as the allocator sees it: the first call (the process's first allocation)
/// reads the environment, caches it and records that the wrapper is installed.
#[inline]
fn choice() -> u8 {
    let code = CHOICE.load(Ordering::Relaxed);
    if code != CODE_UNSET {
        return code;
    }
    let code = read_choice();
    // Every thread computes the same value from the same environment: plain stores are enough.
    INSTALLED.store(true, Ordering::Relaxed);
    CHOICE.store(code, Ordering::Relaxed);
    code
}

/// The allocator this process runs with (read once; never changes afterwards).
///
/// In a process whose global allocator is not [`SelectedAllocator`] (unit tests, other
/// binaries) this still reports what the environment asks for; readers guard against that
/// with [`is_installed`].
pub fn selected() -> AllocatorKind {
    match CHOICE.load(Ordering::Relaxed) {
        CODE_UNSET => kind_from_code(read_choice()),
        code => kind_from_code(code),
    }
}

/// Whether [`SelectedAllocator`] has served at least one allocation in this process, i.e. it
/// is the global allocator. The readers fall back to `mallinfo2` otherwise.
pub fn is_installed() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

static INSTALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The global allocator type: forwards to the allocator chosen by [`ALLOCATOR_ENV`].
///
/// In dhat mode it also keeps whole-heap live counters ([`dhat::heap_live`]), because dhat's
/// own counts only cover blocks allocated since the current (per-job) profiler started.
#[derive(Debug, Default)]
pub struct SelectedAllocator;

impl SelectedAllocator {
    pub const fn new() -> Self {
        SelectedAllocator
    }
}

static JEMALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
static DHAT: ::dhat::Alloc = ::dhat::Alloc;

// SAFETY: every method forwards to exactly one underlying allocator, chosen once per process
// before the first allocation and never changed, so a block is always freed or reallocated by
// the allocator that allocated it. The dhat-mode counters are plain atomics and never allocate.
unsafe impl GlobalAlloc for SelectedAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match choice() {
            CODE_DHAT => {
                // SAFETY: forwarded with the caller's guarantees (non-zero size layout).
                let ptr = unsafe { DHAT.alloc(layout) };
                if !ptr.is_null() {
                    dhat::count_alloc(layout.size());
                }
                ptr
            }
            // SAFETY: forwarded with the caller's guarantees.
            CODE_SYSTEM => unsafe { System.alloc(layout) },
            _ => {
                // SAFETY: forwarded with the caller's guarantees.
                let ptr = unsafe { JEMALLOC.alloc(layout) };
                if sampling::is_enabled() {
                    sampling::on_alloc(ptr, layout.size());
                }
                ptr
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match choice() {
            CODE_DHAT => {
                // SAFETY: forwarded with the caller's guarantees.
                let ptr = unsafe { DHAT.alloc_zeroed(layout) };
                if !ptr.is_null() {
                    dhat::count_alloc(layout.size());
                }
                ptr
            }
            // SAFETY: forwarded with the caller's guarantees.
            CODE_SYSTEM => unsafe { System.alloc_zeroed(layout) },
            _ => {
                // SAFETY: forwarded with the caller's guarantees.
                let ptr = unsafe { JEMALLOC.alloc_zeroed(layout) };
                if sampling::is_enabled() {
                    sampling::on_alloc(ptr, layout.size());
                }
                ptr
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match choice() {
            CODE_DHAT => {
                // SAFETY: `ptr` was allocated by DHAT (the choice never changes) with `layout`.
                unsafe { DHAT.dealloc(ptr, layout) };
                dhat::count_dealloc(layout.size());
            }
            // SAFETY: `ptr` was allocated by System with `layout`.
            CODE_SYSTEM => unsafe { System.dealloc(ptr, layout) },
            _ => {
                if sampling::is_enabled() {
                    sampling::on_dealloc(ptr, layout.size());
                }
                // SAFETY: `ptr` was allocated by jemalloc with `layout`.
                unsafe { JEMALLOC.dealloc(ptr, layout) }
            }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match choice() {
            CODE_DHAT => {
                // SAFETY: `ptr` was allocated by DHAT with `layout`; caller guarantees new_size.
                let new_ptr = unsafe { DHAT.realloc(ptr, layout, new_size) };
                if !new_ptr.is_null() {
                    dhat::count_realloc(layout.size(), new_size);
                }
                new_ptr
            }
            // SAFETY: `ptr` was allocated by System with `layout`.
            CODE_SYSTEM => unsafe { System.realloc(ptr, layout, new_size) },
            _ => {
                let sampled = sampling::is_enabled();
                if sampled {
                    sampling::on_dealloc(ptr, layout.size());
                }
                // SAFETY: `ptr` was allocated by jemalloc with `layout`.
                let new_ptr = unsafe { JEMALLOC.realloc(ptr, layout, new_size) };
                if sampled {
                    sampling::on_alloc(new_ptr, new_size);
                }
                new_ptr
            }
        }
    }
}

/// Read the allocator's layers for a snapshot. For jemalloc, `purge` also purges every arena
/// and reads the stats again (see [`jemalloc::read_layers`] for what that changes).
pub fn read_layers(purge: bool) -> crate::record::AllocatorLayers {
    use crate::record::AllocatorLayers;
    match (is_installed(), selected()) {
        (true, AllocatorKind::Jemalloc) => jemalloc::read_layers(purge),
        (true, AllocatorKind::Dhat) => AllocatorLayers::Dhat(dhat::stats()),
        _ => AllocatorLayers::System(system::mallinfo()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in [
            AllocatorKind::Jemalloc,
            AllocatorKind::Dhat,
            AllocatorKind::System,
        ] {
            assert_eq!(AllocatorKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(AllocatorKind::from_name("tcmalloc"), None);
    }
}
