//! The workload file: schema, validation with JSON paths, generated documents.
//!
//! - [`schema`]: the serde types ([`Workload`]), versioned; documented in
//!   `docs/workload-format.md`, with `fixtures/workload.schema.json` as JSON Schema;
//! - [`validate`]: [`load`] reads, parses and checks a file, naming the JSON path of any
//!   problem, before anything runs;
//! - [`materialize`]: resolves file documents and generates the others into the run folder.

pub mod generate;
pub mod materialize;
pub mod reduce;
pub mod schema;
pub mod validate;

pub use schema::{
    DocumentSpec, GeneratedDocument, JobSpec, SourceMode, Workload, WorkloadWorker,
    WORKLOAD_SCHEMA_VERSION,
};
pub use validate::{load, LoadedWorkload};
