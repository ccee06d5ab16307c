//! What is read from outside a process, without stopping or tracing it: `/proc/<pid>`
//! ([`procfs`]) and the sampler of a process's RSS during a job ([`sampler`]: peak per job,
//! memory limit), the process tree ([`tree`]) and its memory cgroup, v2 or v1 ([`cgroup`]). Used by replay's
//! parent for every backend, by `watch`, and by the worker core for itself.

pub mod cgroup;
pub mod procfs;
pub mod sampler;
pub mod tree;
pub mod watcher;

pub use sampler::RssSampler;
