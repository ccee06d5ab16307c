//! Integration tests: logs.
