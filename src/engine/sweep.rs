//! `sweep`: replay one workload under every policy of some axes, each replay in its own
//! process and run folder ([`super::subrun`]), `parallel` at a time; judge each run folder
//! with the same analysis as `replay` ([`super::analyse_folder`]); compare them
//! ([`crate::analysis::sweep`]).
//!
//! The sweep folder holds one run folder per policy (named by its id), each replay's output
//! (`<id>.log`) and `sweep.json`, rewritten whenever a policy finishes. A policy whose run
//! completed or died on its own is a result and is kept; an interrupted one is not, and
//! `resume` removes its folder and runs it again.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use super::finish::{analyse_folder, RunAnalysis};
use super::policy::plan;
use super::subrun::ChildReplay;
use crate::analysis::sweep::{
    warm_medians, PolicyEntry, PolicyMetrics, SweepReport, SWEEP_SCHEMA_VERSION,
};
use crate::analysis::VerdictParams;
use crate::cancel::Cancel;
use crate::record::{Axes, JobRecord, RunStatus};
use crate::workload::LoadedWorkload;
use crate::{Error, Result};

pub const SWEEP_JSON: &str = "sweep.json";

/// What a sweep runs.
#[derive(Debug, Clone)]
pub struct SweepConfig {
    /// The workload file as given (each replay reads it).
    pub workload_path: PathBuf,
    pub axes: Axes,
    pub memory_limit_bytes: Option<u64>,
    pub horizon_jobs: u64,
    /// Replays at a time (at least 1).
    pub parallel: usize,
    pub out_dir: PathBuf,
    /// Keep the finished policies of an earlier sweep into `out_dir`, run the others.
    pub resume: bool,
    pub runner: ChildReplay,
}

/// What a sweep tells its caller as it goes.
#[derive(Debug, Clone)]
pub enum SweepProgress<'a> {
    /// A finished policy kept from an earlier sweep (`resume`).
    Kept {
        id: &'a str,
    },
    Started {
        id: &'a str,
        running: usize,
    },
    Finished {
        id: &'a str,
        status: RunStatus,
        secs: f64,
    },
}

/// One policy's run, as read back.
struct Done {
    analysis: RunAnalysis,
}

/// The state the replaying threads share.
struct Shared<'a> {
    config: &'a SweepConfig,
    report: Mutex<SweepReport>,
    done: Mutex<Vec<Option<Done>>>,
    queue: Mutex<VecDeque<usize>>,
    failure: Mutex<Option<Error>>,
    params: VerdictParams,
    worker_keys: Vec<String>,
}

/// Run the sweep. Returns the report (also in `sweep.json`); an interrupted sweep returns the
/// policies finished so far (`complete` false).
pub fn run_sweep(
    config: &SweepConfig,
    loaded: &LoadedWorkload,
    progress: &(dyn Fn(SweepProgress<'_>) + Sync),
    cancel: &Cancel,
) -> Result<SweepReport> {
    let wall = Instant::now();
    let plan = plan(&config.axes, loaded.workload.worker.max_jobs)?;
    let workers = config.axes.workers.clone();
    let policies: Vec<PolicyEntry> = plan
        .policies
        .iter()
        .map(|p| {
            let id = p.id(&workers);
            PolicyEntry {
                run_dir: id.clone(),
                id,
                policy: p.clone(),
                replay_args: config
                    .runner
                    .shared
                    .iter()
                    .cloned()
                    .chain(p.replay_args())
                    .collect(),
                metrics: None,
                pareto: false,
            }
        })
        .collect();
    let report = SweepReport {
        schema_version: SWEEP_SCHEMA_VERSION,
        workload_path: config.workload_path.display().to_string(),
        workload_name: loaded.name.clone(),
        axes: config.axes.clone(),
        memory_limit_bytes: config.memory_limit_bytes,
        horizon_jobs: config.horizon_jobs,
        parallel: config.parallel.max(1),
        policies,
        skipped: plan.skipped,
        complete: false,
        recommendation: None,
        wall_time_secs: None,
    };
    claim_folder(config, &report)?;
    let params = VerdictParams {
        horizon_jobs: config.horizon_jobs,
        ..VerdictParams::default()
    };
    let worker_keys = report
        .policies
        .iter()
        .map(|p| format!("{:?}/{:?}", p.policy.worker, p.policy.allocator))
        .collect();
    let done = keep_finished(config, &report, &params, progress)?;
    let queue: VecDeque<usize> = (0..done.len()).filter(|&i| done[i].is_none()).collect();
    let shared = Shared {
        config,
        report: Mutex::new(report),
        done: Mutex::new(done),
        queue: Mutex::new(queue),
        failure: Mutex::new(None),
        params,
        worker_keys,
    };
    shared.publish(None)?;
    let threads = config.parallel.max(1);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| shared.work(progress, cancel));
        }
    });
    if let Some(err) = take(&shared.failure) {
        return Err(err);
    }
    shared.publish(Some(wall.elapsed().as_secs_f64()))?;
    Ok(shared
        .report
        .into_inner()
        .unwrap_or_else(|p| p.into_inner()))
}

fn take<T: Default>(m: &Mutex<T>) -> T {
    std::mem::take(&mut *m.lock().unwrap_or_else(|p| p.into_inner()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A fresh sweep needs a folder without a sweep; a resumed one needs the same sweep in it.
fn claim_folder(config: &SweepConfig, report: &SweepReport) -> Result<()> {
    let path = config.out_dir.join(SWEEP_JSON);
    let exists = path.exists();
    match (exists, config.resume) {
        (true, false) => Err(Error::Usage(format!(
            "{} already holds a sweep ({SWEEP_JSON}): add --resume to finish it, or choose another --out",
            config.out_dir.display()
        ))),
        (false, true) => Err(Error::Usage(format!(
            "--resume: {} holds no {SWEEP_JSON} to resume",
            config.out_dir.display()
        ))),
        (true, true) => {
            let old = read_report(&path)?;
            let ids = |r: &SweepReport| r.policies.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
            if old.workload_path != report.workload_path
                || ids(&old) != ids(report)
                || old.memory_limit_bytes != report.memory_limit_bytes
            {
                return Err(Error::Usage(format!(
                    "--resume: {} was a sweep of {} over {} with memory limit {:?}; this command asks for {} over {} with {:?}: give the same workload, axes and --memory-limit",
                    path.display(),
                    old.workload_path,
                    ids(&old).join(","),
                    old.memory_limit_bytes,
                    report.workload_path,
                    ids(report).join(","),
                    report.memory_limit_bytes
                )));
            }
            Ok(())
        }
        (false, false) => {
            let busy = std::fs::read_dir(&config.out_dir)
                .map(|mut d| d.next().is_some())
                .unwrap_or(false);
            if busy {
                return Err(Error::Usage(format!(
                    "{} is not empty: a sweep needs a folder of its own (--out)",
                    config.out_dir.display()
                )));
            }
            std::fs::create_dir_all(&config.out_dir)
                .map_err(|e| Error::io(format!("creating {}", config.out_dir.display()), e))
        }
    }
}

/// Read a `sweep.json`.
pub fn read_report(path: &Path) -> Result<SweepReport> {
    let text = Error::read_text_input(path, 64 * 1024 * 1024, SWEEP_JSON)?;
    serde_json::from_str(&text).map_err(|e| Error::bad_input(path, "$", e.to_string()))
}

/// The policies whose run folder already holds a result (resume); the folders of the others
/// (an interrupted or never-ended run) are removed so that they can run again.
fn keep_finished(
    config: &SweepConfig,
    report: &SweepReport,
    params: &VerdictParams,
    progress: &(dyn Fn(SweepProgress<'_>) + Sync),
) -> Result<Vec<Option<Done>>> {
    let mut done = Vec::with_capacity(report.policies.len());
    for entry in &report.policies {
        let dir = config.out_dir.join(&entry.run_dir);
        if !dir.exists() {
            done.push(None);
            continue;
        }
        match analyse_folder(&dir, params) {
            Ok(analysis) if is_result(analysis.manifest.status) => {
                progress(SweepProgress::Kept { id: &entry.id });
                done.push(Some(Done { analysis }));
            }
            _ => {
                std::fs::remove_dir_all(&dir).map_err(|e| {
                    Error::io(format!("removing the unfinished {}", dir.display()), e)
                })?;
                done.push(None);
            }
        }
    }
    Ok(done)
}

fn is_result(status: RunStatus) -> bool {
    matches!(status, RunStatus::Completed | RunStatus::ChildDied)
}

impl Shared<'_> {
    /// Take policies off the queue until it is empty, the sweep is cancelled or one failed.
    fn work(&self, progress: &(dyn Fn(SweepProgress<'_>) + Sync), cancel: &Cancel) {
        loop {
            if cancel.is_cancelled() || lock(&self.failure).is_some() {
                return;
            }
            let Some(index) = lock(&self.queue).pop_front() else {
                return;
            };
            if let Err(err) = self.run_one(index, progress, cancel) {
                let mut failure = lock(&self.failure);
                if failure.is_none() {
                    *failure = Some(err);
                }
                return;
            }
        }
    }

    fn run_one(
        &self,
        index: usize,
        progress: &(dyn Fn(SweepProgress<'_>) + Sync),
        cancel: &Cancel,
    ) -> Result<()> {
        let (id, args) = {
            let report = lock(&self.report);
            let p = &report.policies[index];
            (p.id.clone(), p.policy.replay_args())
        };
        let dir = self.config.out_dir.join(&id);
        let log = self.config.out_dir.join(format!("{id}.log"));
        let started = Instant::now();
        let running = self.config.parallel.max(1).min(lock(&self.queue).len() + 1);
        progress(SweepProgress::Started { id: &id, running });
        let exit = self
            .config
            .runner
            .run(&self.config.workload_path, &dir, &args, &log, cancel)?;
        let analysis = match analyse_folder(&dir, &self.params) {
            Ok(a) => a,
            Err(_) if cancel.is_cancelled() => return Ok(()),
            Err(e) => {
                return Err(Error::Internal(format!(
                    "policy {id}: replay exited {} without a readable run folder ({e}); its output is in {}",
                    exit.code,
                    log.display()
                )))
            }
        };
        let status = analysis.manifest.status;
        progress(SweepProgress::Finished {
            id: &id,
            status,
            secs: started.elapsed().as_secs_f64(),
        });
        if !is_result(status) {
            if cancel.is_cancelled() {
                return Ok(()); // interrupted: not a result; --resume runs it again
            }
            return Err(Error::Internal(format!(
                "policy {id}: its replay ended `{status}` without being asked to stop (exit {}); see {}",
                exit.code,
                log.display()
            )));
        }
        if exit.code == crate::error::EXIT_BAD_INPUT || exit.code == crate::error::EXIT_INTERNAL {
            return Err(Error::Internal(format!(
                "policy {id}: replay exited {}; see {}",
                exit.code,
                log.display()
            )));
        }
        lock(&self.done)[index] = Some(Done { analysis });
        self.publish(None)
    }

    /// Recompute every finished policy's metrics (the reload estimate pools the warm jobs of
    /// every run with the same worker), conclude, and rewrite `sweep.json`.
    fn publish(&self, wall: Option<f64>) -> Result<()> {
        let done = lock(&self.done);
        let mut pools: BTreeMap<&str, Vec<&[JobRecord]>> = BTreeMap::new();
        for (key, d) in self.worker_keys.iter().zip(done.iter()) {
            if let Some(d) = d {
                pools.entry(key).or_default().push(&d.analysis.records);
            }
        }
        let warm: BTreeMap<&str, BTreeMap<String, f64>> = pools
            .iter()
            .map(|(k, runs)| (*k, warm_medians(runs)))
            .collect();
        let mut report = lock(&self.report);
        for (i, d) in done.iter().enumerate() {
            report.policies[i].metrics = d.as_ref().map(|d| {
                let a = &d.analysis;
                let empty = BTreeMap::new();
                let w = warm.get(self.worker_keys[i].as_str()).unwrap_or(&empty);
                PolicyMetrics::of(
                    &a.manifest,
                    &a.records,
                    &a.verdict,
                    self.params.horizon_jobs,
                    w,
                )
            });
        }
        report.conclude();
        if wall.is_some() {
            report.wall_time_secs = wall;
        }
        write_report(&self.config.out_dir, &report)
    }
}

/// Write `sweep.json` atomically.
fn write_report(dir: &Path, report: &SweepReport) -> Result<()> {
    let path = dir.join(SWEEP_JSON);
    let tmp = dir.join(".sweep.json.tmp");
    let text = serde_json::to_string_pretty(report)
        .map_err(|e| Error::Internal(format!("{SWEEP_JSON}: {e}")))?;
    std::fs::write(&tmp, text + "\n")
        .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}
