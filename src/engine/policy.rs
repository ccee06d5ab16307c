//! A worker policy: the settings a worker's owner chooses (cache clears, recycling, isolation,
//! allocator, the worker itself), as one value a sweep varies and a replay runs.
//!
//! [`resolve_isolation`] is the one rule turning `--isolation` / `--max-jobs` into what a
//! replay runs (`replay` and `sweep` both use it); [`Policy::replay_args`] is the policy as
//! `docling-memprof replay` flags, so every policy of a sweep is a replay anyone can rerun.
//! The types are plain records ([`crate::record::policy`]); [`plan`] expands the axes.

use crate::record::{AllocatorKind, Axes, Isolation, Policy, WorkerChoice};
use crate::{Error, Result};

/// The isolation mode and the jobs per worker it implies: `--max-jobs N` alone recycles, a
/// process per job runs one job per worker, a single worker never recycles.
pub fn resolve_isolation(
    isolation: Option<Isolation>,
    max_jobs: Option<u32>,
    workload_max_jobs: u32,
) -> Result<(Isolation, u32)> {
    let jobs = max_jobs.unwrap_or(workload_max_jobs);
    let isolation = isolation.unwrap_or(if jobs > 0 {
        Isolation::Recycle
    } else {
        Isolation::Worker
    });
    match isolation {
        Isolation::Worker if max_jobs.is_some_and(|n| n > 0) => Err(Error::Usage(
            "--max-jobs recycles the worker: use it with --isolation recycle".into(),
        )),
        Isolation::Worker => Ok((Isolation::Worker, 0)),
        Isolation::Recycle if jobs == 0 => Err(Error::Usage(
            "--isolation recycle needs --max-jobs N (or worker.max_jobs in the workload)".into(),
        )),
        Isolation::Recycle => Ok((Isolation::Recycle, jobs)),
        Isolation::ProcessPerJob => Ok((Isolation::ProcessPerJob, 1)),
    }
}

/// The policies of a sweep, and the combinations left out with the reason (a single worker
/// with `--max-jobs 5`, a second process-per-job that differs only in max jobs).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub policies: Vec<Policy>,
    pub skipped: Vec<String>,
}

/// Every combination of the axes, resolved as `replay` would resolve its flags, without
/// duplicates.
pub fn plan(axes: &Axes, workload_max_jobs: u32) -> Result<Plan> {
    fn or_none<T: Copy>(values: &[T]) -> Vec<Option<T>> {
        if values.is_empty() {
            vec![None]
        } else {
            values.iter().copied().map(Some).collect()
        }
    }
    let workers = if axes.workers.is_empty() {
        vec![WorkerChoice::Core]
    } else {
        axes.workers.clone()
    };
    let mut policies: Vec<Policy> = Vec::new();
    let mut skipped = Vec::new();
    for worker in &workers {
        let allocators = match worker {
            WorkerChoice::Core => or_none(&axes.allocator)
                .into_iter()
                .map(|a| Some(a.unwrap_or(AllocatorKind::Jemalloc)))
                .collect(),
            WorkerChoice::Command { .. } => vec![None],
            // The driver runs under glibc, jemalloc or mimalloc; dhat is the core's.
            WorkerChoice::Docling => or_none(&axes.allocator)
                .into_iter()
                .filter(|a| *a != Some(AllocatorKind::Dhat))
                .map(|a| Some(a.unwrap_or(AllocatorKind::System)))
                .collect(),
        };
        for &allocator in &allocators {
            for clear_every in or_none(&axes.clear_every) {
                for isolation in or_none(&axes.isolation) {
                    for max_jobs in or_none(&axes.max_jobs) {
                        let resolved = resolve_isolation(isolation, max_jobs, workload_max_jobs);
                        let (isolation, max_jobs) = match resolved {
                            Ok(pair) => pair,
                            Err(e) => {
                                skipped.push(format!(
                                    "{} with max jobs {}: {e}",
                                    isolation.map_or("default isolation", Isolation::as_str),
                                    max_jobs.map_or("of the workload".into(), |n| n.to_string())
                                ));
                                continue;
                            }
                        };
                        let policy = Policy {
                            clear_every,
                            isolation,
                            max_jobs,
                            allocator,
                            worker: worker.clone(),
                        };
                        if !policies.contains(&policy) {
                            policies.push(policy);
                        }
                    }
                }
            }
        }
    }
    if policies.is_empty() {
        return Err(Error::Usage(format!(
            "no policy to run: every combination of the axes was refused ({})",
            skipped.join("; ")
        )));
    }
    Ok(Plan { policies, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolation_follows_max_jobs_as_replay_resolves_it() {
        assert_eq!(
            resolve_isolation(None, Some(5), 0).ok(),
            Some((Isolation::Recycle, 5))
        );
        assert_eq!(
            resolve_isolation(None, Some(0), 7).ok(),
            Some((Isolation::Worker, 0))
        );
        assert_eq!(
            resolve_isolation(None, None, 7).ok(),
            Some((Isolation::Recycle, 7))
        );
        assert!(resolve_isolation(Some(Isolation::Worker), Some(3), 0).is_err());
        assert!(resolve_isolation(Some(Isolation::Recycle), None, 0).is_err());
        assert_eq!(
            resolve_isolation(Some(Isolation::ProcessPerJob), Some(9), 0).ok(),
            Some((Isolation::ProcessPerJob, 1))
        );
    }

    #[test]
    fn a_docling_worker_axis_takes_the_drivers_allocators_and_flags() {
        let axes = Axes {
            allocator: vec![AllocatorKind::Jemalloc, AllocatorKind::Dhat],
            workers: vec![WorkerChoice::Core, WorkerChoice::Docling],
            ..Axes::default()
        };
        let plan = plan(&axes, 0).expect("a plan");
        let workers = axes.workers.clone();
        let ids: Vec<String> = plan.policies.iter().map(|p| p.id(&workers)).collect();
        // dhat is the core's only: the driver runs under jemalloc, not dhat
        assert!(ids.iter().any(|i| i.ends_with("-jemalloc")));
        assert!(ids.iter().any(|i| i.ends_with("-dhat")));
        assert!(ids.iter().any(|i| i.ends_with("-docling-jemalloc")));
        assert!(!ids.iter().any(|i| i.contains("docling-dhat")));
        let docling = plan
            .policies
            .iter()
            .find(|p| p.worker == WorkerChoice::Docling)
            .expect("a docling policy");
        let args = docling.replay_args().join(" ");
        assert!(args.contains("--worker docling") && args.contains("--allocator jemalloc"));
    }

    #[test]
    fn the_plan_is_every_valid_combination_once() {
        let axes = Axes {
            clear_every: vec![1, 3],
            max_jobs: vec![0, 5],
            isolation: vec![
                Isolation::Worker,
                Isolation::Recycle,
                Isolation::ProcessPerJob,
            ],
            ..Axes::default()
        };
        let plan = plan(&axes, 0).expect("a plan");
        let ids: Vec<String> = plan.policies.iter().map(|p| p.id(&[])).collect();
        assert_eq!(
            ids,
            [
                "clear1-worker-jemalloc",
                "clear1-recycle5-jemalloc",
                "clear1-ppj-jemalloc",
                "clear3-worker-jemalloc",
                "clear3-recycle5-jemalloc",
                "clear3-ppj-jemalloc"
            ]
        );
        // worker+5 and recycle+0 are refused, for each clear value.
        assert_eq!(plan.skipped.len(), 4);
    }

    #[test]
    fn a_policy_is_the_replay_flags_that_run_it() {
        let p = Policy {
            clear_every: Some(2),
            isolation: Isolation::Recycle,
            max_jobs: 10,
            allocator: None,
            worker: WorkerChoice::Command {
                command: "python3 w.py".into(),
            },
        };
        assert_eq!(
            p.replay_args(),
            [
                "--clear-every",
                "2",
                "--isolation",
                "recycle",
                "--max-jobs",
                "10",
                "--worker-cmd",
                "python3 w.py"
            ]
        );
        assert_eq!(
            p.id(std::slice::from_ref(&p.worker)),
            "clear2-recycle10-cmd1"
        );
    }
}
