//! From trajectories to answers: diffs, trend statistics, the verdict, its cause, cache-clear
//! effectiveness, the gate. Plain structs in, plain structs out; nothing here prints.

pub mod series;
pub mod verdict;

pub use series::*;
pub use verdict::*;
