//! What is read from outside a process, without stopping or tracing it: `/proc/<pid>`
//! ([`procfs`]) and the sampler of a process's RSS during a job ([`sampler`]: peak per job,
//! memory limit). Used by replay's parent for every backend, and by the worker core for itself.

pub mod procfs;
pub mod sampler;

pub use sampler::RssSampler;
