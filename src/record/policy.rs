//! A worker policy as plain data: the settings a sweep varies ([`Axes`]) and one combination
//! of them ([`Policy`]), which is also a set of `replay` flags.

use serde::{Deserialize, Serialize};

use super::modes::{AllocatorKind, Isolation};

/// Which worker runs the jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkerChoice {
    /// The Rust worker core (`--allocator` applies).
    Core,
    /// A `--worker-cmd` command line.
    Command { command: String },
    /// The real docling worker (`--worker docling`; `--allocator` applies).
    Docling,
}

/// One policy: what a replay of the workload runs with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// `jobs_between_cache_clear` (0 = never); `None` keeps the workload's.
    pub clear_every: Option<u32>,
    pub isolation: Isolation,
    /// Jobs per worker (0 = unlimited), as [`resolve_isolation`] made it.
    pub max_jobs: u32,
    /// The core's allocator (`None` for a worker command: it runs its own).
    pub allocator: Option<AllocatorKind>,
    pub worker: WorkerChoice,
}

impl Policy {
    /// A name that is also a folder name: `clear1-worker-jemalloc`, `clear3-recycle5-system`,
    /// `clear10-ppj-cmd2` (the worker command's position among `--worker-cmd`s).
    pub fn id(&self, workers: &[WorkerChoice]) -> String {
        let clear = match self.clear_every {
            Some(n) => format!("clear{n}"),
            None => "clearW".into(),
        };
        let isolation = match self.isolation {
            Isolation::Worker => "worker".to_string(),
            Isolation::Recycle => format!("recycle{}", self.max_jobs),
            Isolation::ProcessPerJob => "ppj".into(),
        };
        let worker = match (&self.worker, self.allocator) {
            (WorkerChoice::Core, Some(a)) => a.as_str().to_string(),
            (WorkerChoice::Core, None) => "core".into(),
            (WorkerChoice::Docling, Some(a)) => format!("docling-{}", a.as_str()),
            (WorkerChoice::Docling, None) => "docling".into(),
            (w, _) => format!(
                "cmd{}",
                workers.iter().position(|x| x == w).map_or(0, |i| i + 1)
            ),
        };
        format!("{clear}-{isolation}-{worker}")
    }

    /// The policy as `replay` flags (the workload, `--out` and shared flags come apart).
    pub fn replay_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(n) = self.clear_every {
            args.extend(["--clear-every".to_string(), n.to_string()]);
        }
        args.extend([
            "--isolation".to_string(),
            self.isolation.as_str().to_string(),
        ]);
        if self.isolation == Isolation::Recycle {
            args.extend(["--max-jobs".to_string(), self.max_jobs.to_string()]);
        }
        match &self.worker {
            WorkerChoice::Core => {
                if let Some(a) = self.allocator {
                    args.extend(["--allocator".to_string(), a.as_str().to_string()]);
                }
            }
            WorkerChoice::Command { command } => {
                args.extend(["--worker-cmd".to_string(), command.clone()]);
            }
            WorkerChoice::Docling => {
                args.extend(["--worker".to_string(), "docling".to_string()]);
                if let Some(a) = self.allocator {
                    args.extend(["--allocator".to_string(), a.as_str().to_string()]);
                }
            }
        }
        args
    }
}

/// The axes of a sweep: every combination is a policy. An empty axis keeps the workload's
/// value (clears, max jobs) or the default (isolation from max jobs, jemalloc, the core).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Axes {
    pub clear_every: Vec<u32>,
    pub max_jobs: Vec<u32>,
    pub isolation: Vec<Isolation>,
    pub allocator: Vec<AllocatorKind>,
    pub workers: Vec<WorkerChoice>,
}
