//! From trajectories to answers: diffs, trend statistics, the verdict, its cause, cache-clear
//! effectiveness, the gate. Plain structs in, plain structs out; nothing here prints.

pub mod attribution;
pub mod cause;
pub mod classify;
pub mod clears;
mod cycles;
pub mod diagnostics;
pub mod diff;
mod explain;
pub mod fleet;
mod float_order;
pub mod from_records;
pub mod gate;
pub mod judge;
mod lives;

pub mod series;
mod shape;
pub mod significance;
pub mod slopes;
mod spikes;
pub mod sweep;
pub mod trend;
pub mod verdict;

pub use classify::{judge_series, ClearMark, SeriesInput, VerdictParams};
pub use judge::judge_run;
pub use series::*;
pub use verdict::*;
