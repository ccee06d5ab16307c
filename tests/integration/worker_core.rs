//! Integration tests: worker_core.
