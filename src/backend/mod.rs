//! What runs the jobs: a worker process speaking the [`crate::protocol`].
//!
//! - [`Backend::Core`]: the Rust worker core, this binary started as `docling-memprof child`
//!   with the allocator chosen in its environment ([`core_child`] is its side of the protocol);
//! - [`Backend::Command`]: any external command that speaks the protocol
//!   (`--worker-cmd 'python3 workers/reference_worker.py'`);
//! - [`Backend::Docling`]: the real docling-serve worker code, docling-jobkit's
//!   `docling_task` driven by `workers/memprof_docling` ([`docling`]).
//!
//! Both are started and watched the same way ([`process::WorkerProcess`]): the parent samples
//! the process's RSS from outside, so even a worker that reports nothing gets a trajectory.
//! A new backend is a new variant here that says how to start the process.

use std::path::PathBuf;
use std::time::Duration;

use crate::record::{AllocatorKind, WorkerKind};
use crate::{Error, Result};

pub mod core_child;
pub mod docling;
pub mod process;

pub use docling::{DoclingChoice, DoclingWorker};

pub use process::{SpawnSpec, Stop, WorkerProcess};

/// The environment variable that carries the core's allocator choice.
pub const ALLOCATOR_ENV: &str = crate::alloc::ALLOCATOR_ENV;

/// Which worker runs the jobs.
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    /// The Rust worker core: `exe child` with `allocator`.
    Core {
        exe: PathBuf,
        allocator: AllocatorKind,
    },
    /// An external worker command (program and arguments).
    Command { argv: Vec<String> },
    /// The docling driver in a Python with docling and docling-jobkit.
    Docling(Box<DoclingWorker>),
}

impl Backend {
    /// The core, run by the binary that is running now.
    pub fn core(allocator: AllocatorKind) -> Result<Backend> {
        let exe = std::env::current_exe()
            .map_err(|e| Error::io("locating the docling-memprof binary", e))?;
        Ok(Backend::Core { exe, allocator })
    }

    /// An external command from a shell-like command line (`python3 my_worker.py --flag`).
    pub fn command_line(line: &str) -> Result<Backend> {
        let argv = shlex::split(line)
            .ok_or_else(|| Error::Usage(format!("--worker-cmd `{line}`: unbalanced quotes")))?;
        if argv.is_empty() {
            return Err(Error::Usage("--worker-cmd is empty".into()));
        }
        Ok(Backend::Command { argv })
    }

    /// What `run.json` records.
    pub fn kind(&self) -> WorkerKind {
        match self {
            Backend::Core { .. } => WorkerKind::Core,
            Backend::Command { argv } => WorkerKind::Command { argv: argv.clone() },
            Backend::Docling(d) => WorkerKind::Docling {
                python: d.python.display().to_string(),
                environment: d.environment.clone(),
            },
        }
    }

    /// The allocator the parent chose (the core's); an external worker says its own.
    pub fn allocator(&self) -> Option<AllocatorKind> {
        match self {
            Backend::Core { allocator, .. } => Some(*allocator),
            Backend::Command { .. } => None,
            Backend::Docling(d) => Some(d.allocator),
        }
    }

    /// How to start one worker process of this backend.
    pub fn spawn_spec(
        &self,
        worker_log: PathBuf,
        sample_interval: Duration,
        memory_limit_bytes: Option<u64>,
    ) -> SpawnSpec {
        let (program, args, env) = match self {
            Backend::Core { exe, allocator } => (
                exe.clone(),
                vec!["child".to_string()],
                vec![(ALLOCATOR_ENV.to_string(), allocator.as_str().to_string())],
            ),
            Backend::Command { argv } => (
                PathBuf::from(&argv[0]),
                argv[1..].to_vec(),
                vec![("PYTHONUNBUFFERED".to_string(), "1".to_string())],
            ),
            Backend::Docling(d) => d.command(),
        };
        SpawnSpec {
            program,
            args,
            env,
            worker_log,
            sample_interval,
            memory_limit_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_command_is_split_like_a_shell() {
        let b = Backend::command_line("python3 'my worker.py' --leak 2").expect("splits");
        assert_eq!(
            b,
            Backend::Command {
                argv: vec![
                    "python3".into(),
                    "my worker.py".into(),
                    "--leak".into(),
                    "2".into()
                ]
            }
        );
        assert!(Backend::command_line("python3 'open").is_err());
        assert!(Backend::command_line("  ").is_err());
    }
}
