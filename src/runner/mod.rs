//! The parent side of a replay: spawning the worker child, the job protocol, isolation modes,
//! the memory limit, crash handling, streaming `jobs.jsonl`.
//!
//! - [`record`]: the shared `run.json` / `jobs.jsonl` types;
//! - [`protocol`]: parent <-> child JSON lines;
//! - [`child_process`]: one worker child (spawn, sampler, waits, death reasons);
//! - [`parent`]: [`replay`] runs a workload through worker children into a run folder;
//! - [`manifest`]: `run.json` at the start of a run (settings, versions, machine);
//! - [`output`]: the run folder (writing and reading it back).

pub mod child_process;
pub mod manifest;
pub mod output;
pub mod parent;
pub mod protocol;
pub mod record;

pub use parent::{replay, Isolation, PurgeMode, ReplayConfig, RunEnd, RunStatus, SnapshotDetail};
pub use record::*;
