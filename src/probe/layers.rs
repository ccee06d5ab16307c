//! The allocator layers of a snapshot: what the running allocator itself reports.
//!
//! jemalloc: `stats.*` after an epoch advance, then (when purging) the same after
//! `arena.<all>.purge` — live memory and memory the allocator only keeps, apart. dhat: the job
//! profiler's counts plus whole-heap counters. system: glibc's `mallinfo2`.
//! See [`crate::alloc`] for the details and the cost of the purge.

use crate::record::AllocatorLayers;

/// Read the layers of the running allocator. `purge` applies to jemalloc only.
pub fn read(purge: bool) -> AllocatorLayers {
    crate::alloc::read_layers(purge)
}

/// The allocator name of a layers value (`jemalloc`, `dhat`, `system`).
pub fn allocator_name(layers: &AllocatorLayers) -> &'static str {
    match layers {
        AllocatorLayers::Jemalloc { .. } => "jemalloc",
        AllocatorLayers::Dhat(_) => "dhat",
        AllocatorLayers::System(_) => "system",
        AllocatorLayers::Mimalloc(_) => "mimalloc",
    }
}
