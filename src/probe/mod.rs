//! What a snapshot is and how it is taken.

pub mod snapshot;

pub use snapshot::*;
