//! jemalloc's own view: `stats.*` after an epoch advance, and a purge of every arena.
//!
//! jemalloc keeps freed pages resident (dirty, then muzzy) until decay returns them, so RSS
//! mixes memory the program holds with memory the allocator only keeps. Reading the stats,
//! purging every arena (`arena.<MALLCTL_ARENAS_ALL>.purge`) and reading again separates the two:
//! `resident` before the purge minus `resident` after it is what the allocator was keeping.
//!
//! The purge changes the process: it returns the kept pages to the kernel, so the worker's RSS
//! after a snapshot is lower than it would have been without one, and the next job faults
//! those pages in again. Replay therefore purges only inside snapshots (never between them),
//! and `--no-snapshots` turns both off for overhead comparisons.

use tikv_jemalloc_ctl::{epoch, stats};

use crate::record::{AllocatorLayers, JemallocStats};

/// `MALLCTL_ARENAS_ALL` in jemalloc 5: the pseudo-arena index meaning "every arena".
pub const MALLCTL_ARENAS_ALL: u32 = 4096;

/// Read `stats.{allocated, active, resident, retained, mapped, metadata}` after advancing the
/// epoch (jemalloc caches its stats until then).
pub fn stats() -> Result<JemallocStats, tikv_jemalloc_ctl::Error> {
    epoch::advance()?;
    Ok(JemallocStats {
        allocated_bytes: stats::allocated::read()? as u64,
        active_bytes: stats::active::read()? as u64,
        resident_bytes: stats::resident::read()? as u64,
        retained_bytes: stats::retained::read()? as u64,
        mapped_bytes: stats::mapped::read()? as u64,
        metadata_bytes: stats::metadata::read()? as u64,
        dirty_bytes: arena_pages("dirty").map(|p| p * page_size_bytes()),
        muzzy_bytes: arena_pages("muzzy").map(|p| p * page_size_bytes()),
    })
}

/// `stats.arenas.<MALLCTL_ARENAS_ALL>.p{dirty,muzzy}`: pages freed but kept, over all arenas.
/// Read without purging, so it costs the worker nothing.
fn arena_pages(kind: &str) -> Option<u64> {
    let name = format!("stats.arenas.{MALLCTL_ARENAS_ALL}.p{kind}\0");
    // SAFETY: the name is NUL-terminated and `stats.arenas.<i>.pdirty` / `.pmuzzy` are
    // `size_t` values in jemalloc 5, so reading a `usize` is the right type and size.
    unsafe { tikv_jemalloc_ctl::raw::read::<usize>(name.as_bytes()) }
        .ok()
        .map(|p| p as u64)
}

fn page_size_bytes() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page > 0 {
        page as u64
    } else {
        4096
    }
}

/// Purge the dirty and muzzy pages of every arena, returning them to the kernel now.
pub fn purge_all() -> Result<(), i32> {
    let name = format!("arena.{MALLCTL_ARENAS_ALL}.purge\0");
    // SAFETY: `name` is a NUL-terminated mallctl name; `arena.<i>.purge` takes no old or new
    // value, so null pointers with zero lengths are the documented way to call it.
    let code = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr().cast(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    if code == 0 {
        Ok(())
    } else {
        Err(code)
    }
}

/// The jemalloc layers of a snapshot: stats, then (with `purge`) a purge and the stats again.
/// Only call this in a process whose global allocator forwards to jemalloc.
pub fn read_layers(purge: bool) -> AllocatorLayers {
    match stats() {
        Ok(before_purge) => {
            let after_purge = if purge {
                purge_all().ok().and_then(|()| stats().ok())
            } else {
                None
            };
            AllocatorLayers::Jemalloc {
                before_purge,
                after_purge,
            }
        }
        // Stats are compiled in (feature `stats`), so this does not happen; report what glibc
        // sees rather than invent zeros.
        Err(_) => AllocatorLayers::System(super::system::mallinfo()),
    }
}
