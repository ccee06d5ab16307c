//! docling-memprof: find and prevent memory growth in long-running document-conversion workers.
//!
//! The layers, top to bottom (imports only point down; `tests/integration/architecture.rs`
//! checks that no folder imports one that imports it back):
//!
//! - [`cli`]: flags -> a config, then print (one file per subcommand);
//! - [`engine`]: a replay as a library call, typed events to observers, the run folder, the
//!   analysis of a finished run;
//! - [`backend`]: what runs the jobs (the Rust worker core, any command speaking the protocol);
//! - [`protocol`]: the versioned wire contract between the parent and a worker (plain data);
//! - [`workload`], [`worker`] (the Rust worker core), [`probe`] (a snapshot inside the core's
//!   process), [`alloc`] (its runtime-selected allocator), [`observe`] (`/proc/<pid>` from
//!   outside), [`logs`] (docling-serve worker logs);
//! - [`analysis`] (trajectories -> verdict, diff, gate) and [`render`] (every output format);
//! - leaves: [`record`] (run.json / jobs.jsonl / snapshot types), [`census`] (the counted
//!   hooks the worker core puts on its types), [`cancel`], [`units`], [`error`].

pub mod alloc;
pub mod analysis;
pub mod backend;
pub mod bounded;
pub mod cancel;
pub mod census;
pub mod cli;
pub mod engine;
pub mod error;
pub mod logs;
pub mod observe;
pub mod probe;
pub mod protocol;
pub mod record;
pub mod render;
pub mod symbols;
pub mod units;
pub mod worker;
pub mod workload;

pub use error::{Error, Result};
