//! A run as a library call. [`Replay`] runs a workload through a [`crate::backend::Backend`]
//! and sends typed [`events::Event`]s to [`events::Observer`]s (the run folder writer, the
//! progress bar, anything a caller adds); [`finish`] turns what a run holds (or a run folder
//! read back) into the analysis and the report's input, once.
//!
//! - [`replay`]: the job loop of the parent (isolation, memory limit, deaths, cancellation);
//! - [`watch`], [`watch_jobs`]: a live process followed from outside (samples, log tail, job
//!   records from the log's boundaries, its death);
//! - [`status`]: `watch`'s one-line live status on a terminal;
//! - [`worker`]: starting one worker process, the parent's own `/proc` readings;
//! - [`events`]: the events and the observer trait;
//! - [`folder`]: the run folder (claimed atomically, written as an observer, read back);
//! - [`manifest`]: `run.json` at the start of a run;
//! - [`metrics`], [`metrics_http`], [`live`]: Prometheus metrics as an observer, `/metrics`
//!   over HTTP, the verdict so far;
//! - [`progress`]: the progress bar observer;
//! - [`finish`]: analysis, diagnostics and report input of a finished run.

pub mod ddmin;
pub mod events;
pub mod finish;
pub mod fleet;
pub mod folder;
mod job_record;
pub mod live;
pub mod manifest;
pub mod metrics;
pub mod metrics_http;
pub mod minimize;
pub mod policy;
pub mod progress;
pub mod replay;
pub mod request;
pub mod sites;
pub mod status;
pub mod subrun;
pub mod sweep;
pub mod watch;
pub mod watch_jobs;
pub mod worker;

pub use events::{Event, EventLog, Observer};
pub use finish::{analyse_folder, analyse_run, RunAnalysis};
pub use folder::{load_run, LoadedRun, RunFolder};
pub use progress::Progress;
pub use replay::{Replay, ReplayConfig, RunOutcome};
pub use watch::{Watch, WatchConfig, WatchTarget};
