//! Reading a run folder back: the reader lives with the format's writer in
//! [`crate::runner::output`]; analysis uses it under this name.

pub use crate::runner::output::{load_jobs, load_run, LoadedRun};
