//! What a snapshot is and how it is taken.
//!
//! - [`snapshot`]: the plain serde structs (shared by every engineer);
//! - [`procfs`]: `/proc/<pid>/status` and `smaps_rollup`;
//! - [`layers`]: the allocator's own view (see [`crate::alloc`]);
//! - [`take`]: a [`Prober`] takes a [`Snapshot`] in the worker child;
//! - [`sampler`]: the parent samples the child's RSS during a job (peak RSS, memory limit).

pub mod census;
pub mod diagnostics;
pub mod layers;
pub mod owners;
pub mod procfs;
pub mod profiling;
pub mod sampler;
pub mod sites;
pub mod snapshot;
pub mod take;

pub use snapshot::*;
pub use take::Prober;
