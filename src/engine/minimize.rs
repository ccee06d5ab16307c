//! `minimize`: the smallest workload whose replay is still a leak with at least a share of the
//! original slope. The original is replayed and judged first (not a leak: nothing to do);
//! then [`super::ddmin`] runs over its jobs, then over the documents and the option sets the
//! remaining jobs use ([`crate::workload::reduce`]). Each candidate is a workload file in its
//! own folder, repeated to a fixed length and replayed `trials` times by this binary's
//! `replay` ([`super::subrun`]), judged by the same verdict as `replay`. `steps.json` is
//! rewritten after every candidate.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::ddmin::ddmin;
use super::finish::analyse_folder;
use super::subrun::ChildReplay;
use crate::analysis::{LeakCall, RunVerdict, SeriesVerdict, VerdictParams};
use crate::cancel::Cancel;
use crate::record::{MinimizeReport, MinimizeStep, RunStatus, STEPS_SCHEMA_VERSION};
use crate::workload::reduce::{
    option_sets, used_documents, with_absolute_paths, with_documents, with_jobs, with_option_sets,
};
use crate::workload::{LoadedWorkload, Workload};
use crate::{Error, Result};

pub const STEPS_JSON: &str = "steps.json";
pub const MINIMAL_JSON: &str = "minimal.json";
/// The shortest replay a candidate gets (a verdict needs points; a sawtooth needs clears).
pub const MIN_TARGET_JOBS: u64 = 12;

#[derive(Debug, Clone)]
pub struct MinimizeConfig {
    /// Share of the original slope a candidate must keep, in (0, 1].
    pub keep: f64,
    /// Jobs per candidate replay; default the original's, at least [`MIN_TARGET_JOBS`].
    pub target_jobs: Option<u64>,
    /// Replays per candidate, each must pass (at least 1).
    pub trials: u32,
    pub out_dir: PathBuf,
    pub runner: ChildReplay,
}

/// What a search tells its caller as it goes.
#[derive(Debug, Clone)]
pub struct Tried<'a> {
    pub step: &'a MinimizeStep,
}

struct Search<'a> {
    config: &'a MinimizeConfig,
    cancel: &'a Cancel,
    progress: &'a dyn Fn(Tried<'_>),
    params: VerdictParams,
    report: MinimizeReport,
    /// Verdicts of candidates already replayed, by their workload's JSON.
    seen: HashMap<String, (bool, Option<f64>)>,
    started: Instant,
}

/// Run the search. Errors: the original is not a leak (bad input, exit 2), a replay that
/// could not run, an interruption (the steps so far are in `steps.json`).
pub fn minimize(
    loaded: &LoadedWorkload,
    config: &MinimizeConfig,
    progress: &dyn Fn(Tried<'_>),
    cancel: &Cancel,
) -> Result<MinimizeReport> {
    claim(&config.out_dir)?;
    let base = with_absolute_paths(loaded);
    let target = config
        .target_jobs
        .unwrap_or_else(|| base.job_count().max(MIN_TARGET_JOBS));
    let mut search = Search {
        config,
        cancel,
        progress,
        params: VerdictParams::default(),
        report: MinimizeReport {
            schema_version: STEPS_SCHEMA_VERSION,
            workload_path: loaded.path.display().to_string(),
            series: String::new(),
            original_slope: 0.0,
            keep: config.keep,
            target_jobs: target,
            trials: config.trials.max(1),
            steps: Vec::new(),
            minimal_path: None,
            minimal_jobs: Vec::new(),
            minimal_documents: Vec::new(),
            minimal_option_sets: 0,
            original_jobs: base.jobs.len(),
            original_documents: used_documents(&base).len(),
            original_option_sets: option_sets(&base).len(),
            final_slope: None,
            replays: 0,
            wall_time_secs: 0.0,
            complete: false,
            summary: String::new(),
        },
        seen: HashMap::new(),
        started: Instant::now(),
    };
    search.original(loaded)?;
    let current = search.reduce_jobs(&base, target)?;
    let current = search.reduce_documents(current, target)?;
    let current = search.reduce_options(current)?;
    search.conclude(loaded, current)
}

/// The output folder must be new or empty.
fn claim(dir: &Path) -> Result<()> {
    let busy = std::fs::read_dir(dir)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    if busy {
        return Err(Error::Usage(format!(
            "{} is not empty: minimize needs a folder of its own (--out)",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))
}

/// The judged series of a verdict (the original's headline), else the headline.
fn series_of<'v>(verdict: &'v RunVerdict, name: &str) -> &'v SeriesVerdict {
    verdict
        .series
        .iter()
        .find(|s| s.series == name)
        .unwrap_or(&verdict.primary)
}

impl Search<'_> {
    /// Replay the original workload as it is; it must be a leak with a positive slope.
    fn original(&mut self, loaded: &LoadedWorkload) -> Result<()> {
        let started = Instant::now();
        let dir = self.config.out_dir.join("original");
        let verdict = self.replay(&loaded.path, &dir)?;
        let primary = verdict.primary.clone();
        let step = MinimizeStep {
            index: 0,
            phase: "original".into(),
            kept: loaded
                .workload
                .jobs
                .iter()
                .map(|j| j.name.clone())
                .collect(),
            jobs_planned: loaded.workload.job_count(),
            folder: "original".into(),
            calls: vec![primary.call.name().into()],
            slopes: vec![primary.slope_per_job],
            passed: primary.call == LeakCall::Leak,
            secs: started.elapsed().as_secs_f64(),
        };
        self.push(step)?;
        if primary.call != LeakCall::Leak || primary.slope_per_job <= 0.0 {
            return Err(Error::bad_input(
                &loaded.path,
                "verdict",
                format!(
                    "its replay is judged {} ({}): not a leak, nothing to minimize (replay in {})",
                    primary.call.name(),
                    primary.summary,
                    dir.display()
                ),
            ));
        }
        self.report.series = primary.series.clone();
        self.report.original_slope = primary.slope_per_job;
        Ok(())
    }

    /// One replay of a workload file into `dir`, judged.
    fn replay(&mut self, workload: &Path, dir: &Path) -> Result<RunVerdict> {
        let log = PathBuf::from(format!("{}.log", dir.display()));
        self.report.replays += 1;
        let exit = self
            .config
            .runner
            .run(workload, dir, &[], &log, self.cancel)?;
        if self.cancel.is_cancelled() {
            return Err(self.interrupted());
        }
        let analysis = analyse_folder(dir, &self.params).map_err(|e| {
            Error::Internal(format!(
                "the replay of {} exited {} without a readable run folder ({e}); its output is in {}",
                workload.display(),
                exit.code,
                log.display()
            ))
        })?;
        if analysis.manifest.status == RunStatus::Interrupted {
            return Err(self.interrupted());
        }
        Ok(analysis.verdict)
    }

    fn interrupted(&mut self) -> Error {
        let _ = self.write();
        Error::Interrupted(format!(
            "minimize interrupted after {} replays; the steps so far are in {}",
            self.report.replays,
            self.config.out_dir.join(STEPS_JSON).display()
        ))
    }

    /// Replay a candidate (`trials` times, stopping at the first that fails); whether it still
    /// leaks with the kept share of the original slope.
    fn test(&mut self, phase: &str, kept: Vec<String>, w: &Workload) -> Result<bool> {
        let key =
            serde_json::to_string(w).map_err(|e| Error::Internal(format!("candidate: {e}")))?;
        if let Some(&(passed, _)) = self.seen.get(&key) {
            return Ok(passed);
        }
        let started = Instant::now();
        let index = self.report.steps.len();
        let folder = format!("candidates/{index:03}-{phase}");
        let dir = self.config.out_dir.join(&folder);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let path = dir.join("workload.json");
        write_workload(&path, w)?;
        let (mut calls, mut slopes) = (Vec::new(), Vec::new());
        let mut passed = true;
        for trial in 0..self.report.trials {
            let verdict = self.replay(&path, &dir.join(format!("run-{}", trial + 1)))?;
            let s = series_of(&verdict, &self.report.series);
            calls.push(s.call.name().to_string());
            slopes.push(s.slope_per_job);
            if !(s.call == LeakCall::Leak
                && s.slope_per_job >= self.config.keep * self.report.original_slope)
            {
                passed = false;
                break;
            }
        }
        let last_slope = slopes.last().copied();
        self.seen.insert(key, (passed, last_slope));
        self.push(MinimizeStep {
            index,
            phase: phase.into(),
            kept,
            jobs_planned: w.job_count(),
            folder,
            calls,
            slopes,
            passed,
            secs: started.elapsed().as_secs_f64(),
        })?;
        Ok(passed)
    }

    fn push(&mut self, step: MinimizeStep) -> Result<()> {
        (self.progress)(Tried { step: &step });
        self.report.steps.push(step);
        self.write()
    }

    fn write(&mut self) -> Result<()> {
        self.report.wall_time_secs = self.started.elapsed().as_secs_f64();
        let path = self.config.out_dir.join(STEPS_JSON);
        let text = serde_json::to_string_pretty(&self.report)
            .map_err(|e| Error::Internal(format!("{STEPS_JSON}: {e}")))?;
        std::fs::write(&path, text + "\n")
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))
    }

    /// ddmin over the workload's job list.
    fn reduce_jobs(&mut self, base: &Workload, target: u64) -> Result<Workload> {
        let jobs = base.jobs.clone();
        let (found, _) = ddmin(jobs.len(), &mut |subset: &[usize]| {
            let picked: Vec<_> = subset.iter().map(|&i| jobs[i].clone()).collect();
            let kept = picked.iter().map(|j| j.name.clone()).collect();
            let candidate = with_jobs(base, picked, target);
            self.test("jobs", kept, &candidate)
        })?;
        let picked = found.iter().map(|&i| jobs[i].clone()).collect();
        Ok(with_jobs(base, picked, target))
    }

    /// ddmin over the documents the remaining jobs use.
    fn reduce_documents(&mut self, current: Workload, target: u64) -> Result<Workload> {
        let ids = used_documents(&current);
        if ids.len() < 2 {
            return Ok(current);
        }
        let (found, _) = ddmin(ids.len(), &mut |subset: &[usize]| {
            let keep: Vec<String> = subset.iter().map(|&i| ids[i].clone()).collect();
            match with_documents(&current, &keep) {
                Some(w) => {
                    let w = with_jobs(&w, w.jobs.clone(), target);
                    self.test("documents", keep, &w)
                }
                None => Ok(false),
            }
        })?;
        let keep: Vec<String> = found.iter().map(|&i| ids[i].clone()).collect();
        Ok(with_documents(&current, &keep)
            .map(|w| with_jobs(&w, w.jobs.clone(), target))
            .unwrap_or(current))
    }

    /// ddmin over the distinct option sets of the remaining jobs.
    fn reduce_options(&mut self, current: Workload) -> Result<Workload> {
        let sets = option_sets(&current);
        if sets.len() < 2 {
            return Ok(current);
        }
        let label = |i: usize| {
            let owner = current.jobs.iter().find(|j| j.options == sets[i]);
            format!("options of {}", owner.map_or("?", |j| j.name.as_str()))
        };
        let (found, _) = ddmin(sets.len(), &mut |subset: &[usize]| {
            let kept = subset.iter().map(|&i| label(i)).collect();
            match with_option_sets(&current, subset) {
                Some(w) => self.test("options", kept, &w),
                None => Ok(false),
            }
        })?;
        Ok(with_option_sets(&current, &found).unwrap_or(current))
    }

    /// Write `minimal.json` (checked by loading it back) and the summary.
    fn conclude(
        mut self,
        loaded: &LoadedWorkload,
        mut minimal: Workload,
    ) -> Result<MinimizeReport> {
        minimal.name = Some(format!("{}-minimal", loaded.name));
        let jobs: Vec<String> = minimal.jobs.iter().map(|j| j.name.clone()).collect();
        minimal.description = Some(format!(
            "The smallest workload found by `docling-memprof minimize {}` whose replay is still a leak: jobs {} repeated {} times.",
            loaded.path.display(),
            jobs.join(", "),
            minimal.repeat
        ));
        // The final workload differs from the last passing candidate only by its name and
        // description: replayed once more only when no candidate was this very workload.
        let mut unnamed = minimal.clone();
        unnamed.name = loaded.workload.name.clone();
        unnamed.description = loaded.workload.description.clone();
        self.test("final", jobs.clone(), &unnamed)?;
        let key = serde_json::to_string(&unnamed)
            .map_err(|e| Error::Internal(format!("candidate: {e}")))?;
        let (passed, final_slope) = self.seen.get(&key).copied().unwrap_or((false, None));
        let path = self.config.out_dir.join(MINIMAL_JSON);
        write_workload(&path, &minimal)?;
        crate::workload::load(&path)?;
        let r = &mut self.report;
        r.minimal_path = Some(MINIMAL_JSON.into());
        r.minimal_jobs = jobs;
        r.minimal_documents = used_documents(&minimal);
        r.minimal_option_sets = option_sets(&minimal).len();
        r.final_slope = final_slope;
        r.complete = true;
        r.summary = summary(r, minimal.repeat, passed);
        self.write()?;
        Ok(self.report)
    }
}

fn summary(r: &MinimizeReport, repeat: u32, passed: bool) -> String {
    let slope = r.final_slope.unwrap_or(f64::NAN);
    format!(
        "{} ({} of {} jobs; documents {}, {} of {}; {} of {} option sets), repeated {repeat} times: {} at {slope:+.3} MB/job on {} ({:.0}% of the original {:+.3} MB/job); {} replays in {:.1}s",
        r.minimal_jobs.iter().map(|j| format!("`{j}`")).collect::<Vec<_>>().join(", "),
        r.minimal_jobs.len(),
        r.original_jobs,
        r.minimal_documents.join(", "),
        r.minimal_documents.len(),
        r.original_documents,
        r.minimal_option_sets,
        r.original_option_sets,
        if passed { "still a leak" } else { "its last replay did not pass again (noisy: try --trials 2)" },
        r.series,
        100.0 * slope / r.original_slope,
        r.original_slope,
        r.replays,
        r.wall_time_secs
    )
}

fn write_workload(path: &Path, w: &Workload) -> Result<()> {
    let text =
        serde_json::to_string_pretty(w).map_err(|e| Error::Internal(format!("workload: {e}")))?;
    std::fs::write(path, text + "\n")
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}
