//! The workload file: schema, validation with JSON paths, generated documents.
