//! The records every part of docling-memprof shares: plain serde structs and enums, leaves of
//! the module graph (they import nothing of the project but [`crate::units`]).
//!
//! - [`snapshot`]: one snapshot of a worker process's memory (every field that a worker or
//!   platform may not know is an `Option`);
//! - [`run`]: `run.json` ([`RunManifest`]) and `jobs.jsonl` ([`JobRecord`]), with the typed
//!   outcome of a job ([`JobOutcome`], [`Death`]), one [`CacheClear`] and one
//!   [`DocumentResult`] type wherever they travel;
//! - [`sample`]: `samples.jsonl` and the `watch` part of `run.json` (what `watch` adds);
//! - [`modes`]: the run's choices as enums (allocator, isolation, sites, snapshot detail);
//! - [`policy`]: a worker policy and the axes of a sweep;
//! - [`minimize`]: the steps report of `minimize`.
//!
//! Versioned by [`RECORD_SCHEMA_VERSION`]; version 1 folders still read (see
//! `docs/run-format.md`).

pub mod minimize;
pub mod modes;
pub mod policy;
pub mod run;
pub mod sample;
pub mod snapshot;

pub use minimize::*;
pub use modes::*;
pub use policy::*;
pub use run::*;
pub use sample::*;
pub use snapshot::*;
