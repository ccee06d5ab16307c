//! A docling-serve worker log -> a replayable workload (placeholder until the schema lands).
