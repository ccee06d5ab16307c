//! The parent side of a replay: spawning the worker child, the job protocol, isolation modes,
//! the memory limit, crash handling, streaming `jobs.jsonl`.

pub mod record;

pub use record::*;
