//! Reading docling-serve worker logs into a [`crate::analysis::Trajectory`].
