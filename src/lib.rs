//! docling-memprof: find and prevent memory growth in long-running document-conversion workers.
//!
//! The modules follow the data: a [`workload`] is replayed through the [`worker`] core in a
//! child process ([`runner`]) whose global allocator is chosen at start ([`alloc`]); after each
//! job the child takes a [`probe::Snapshot`]; the parent streams them to `jobs.jsonl`; the
//! [`analysis`] turns the series into a verdict; [`render`] draws tables, charts and reports.
//! [`logs`] reads real docling-serve worker logs into the same series. [`cli`] sits on top.

pub mod alloc;
pub mod analysis;
pub mod bounded;
pub mod cli;
pub mod error;
pub mod logs;
pub mod probe;
pub mod render;
pub mod runner;
pub mod units;
pub mod worker;
pub mod workload;

pub use error::{Error, Result};
