//! The end of a run, computed once: records -> trajectory -> verdict -> diagnostics -> the
//! report's input and the gate's decision. A replay hands its [`RunOutcome`] (the records it
//! holds, never re-read); `report`, `gate` and `diff` read a folder back once
//! ([`analyse_folder`]); nothing judges the same run twice.

use std::path::{Path, PathBuf};

use super::folder::{load_profile, load_run};
use super::replay::RunOutcome;
use crate::analysis::diagnostics::{self, RunDiagnostics, DIAGNOSTICS_JSON};
use crate::analysis::gate::{evaluate, BudgetFile, GateResult};
use crate::analysis::{clears::clear_table, diff::diff_jobs, from_records, judge_run};
use crate::analysis::{RunVerdict, Trajectory, VerdictParams};
use crate::record::{JobRecord, RunManifest};
use crate::render::{BaselineRun, GrowthTable, ReportInput};
use crate::{Error, Result};

/// A run and everything computed from it.
#[derive(Debug, Clone)]
pub struct RunAnalysis {
    pub dir: PathBuf,
    pub manifest: RunManifest,
    pub records: Vec<JobRecord>,
    /// The last line of `jobs.jsonl` was cut short (read-back folders only).
    pub truncated_last_line: bool,
    pub trajectory: Trajectory,
    pub verdict: RunVerdict,
    pub diagnostics: RunDiagnostics,
}

/// Analyse what a replay recorded (its `profile.jsonl` is read for the owner chains).
pub fn analyse_run(outcome: RunOutcome, params: &VerdictParams) -> Result<RunAnalysis> {
    analyse(
        outcome.dir,
        outcome.manifest,
        outcome.records,
        false,
        params,
    )
}

/// Read a run folder back and analyse it.
pub fn analyse_folder(dir: &Path, params: &VerdictParams) -> Result<RunAnalysis> {
    let loaded = load_run(dir)?;
    analyse(
        dir.to_path_buf(),
        loaded.manifest,
        loaded.jobs,
        loaded.truncated_last_line,
        params,
    )
}

fn analyse(
    dir: PathBuf,
    manifest: RunManifest,
    records: Vec<JobRecord>,
    truncated_last_line: bool,
    params: &VerdictParams,
) -> Result<RunAnalysis> {
    let origin = dir.display().to_string();
    let trajectory = from_records::trajectory(&manifest, &records, &origin);
    let verdict = judge_run(&trajectory, params);
    let profile = load_profile(&dir)?;
    let diagnostics = diagnostics::for_records(&records, &profile, &verdict);
    Ok(RunAnalysis {
        dir,
        manifest,
        records,
        truncated_last_line,
        trajectory,
        verdict,
        diagnostics,
    })
}

impl RunAnalysis {
    /// Write `diagnostics.json` into the run folder.
    pub fn write_diagnostics(&self) -> Result<PathBuf> {
        let path = self.dir.join(DIAGNOSTICS_JSON);
        let text = serde_json::to_string_pretty(&self.diagnostics)
            .map_err(|e| Error::Internal(format!("diagnostics.json: {e}")))?;
        std::fs::write(&path, text)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        Ok(path)
    }

    /// The report of this run: trajectory, verdict, clear table, growth from the first to
    /// the last job with memory values.
    pub fn report_input(&self) -> ReportInput {
        let trajectory = self.trajectory.clone();
        let clears = clear_table(&trajectory);
        let measured: Vec<u64> = trajectory
            .points
            .iter()
            .filter(|p| p.rss_mb.is_some() || p.live_mb.is_some())
            .map(|p| p.job)
            .collect();
        let growth = match (measured.first(), measured.last()) {
            (Some(&first), Some(&last)) if last > first => diff_jobs(&trajectory, first, last)
                .ok()
                .map(|d| GrowthTable::from_diff(&d, first, last)),
            _ => None,
        };
        let mut input = ReportInput::new(
            self.manifest.workload_name.clone(),
            trajectory,
            self.verdict.clone(),
        );
        input.clears = clears;
        input.growth = growth;
        if self.truncated_last_line {
            input.settings.push((
                "jobs.jsonl".into(),
                "last line cut short (the run was killed while writing it)".into(),
            ));
        }
        if let Some(watch) = &self.manifest.watch {
            input.settings.extend(watch_settings(watch));
        }
        input.manifest = Some(self.manifest.clone());
        input
    }

    /// This run as the baseline of another's report.
    pub fn as_baseline(&self, label: impl Into<String>) -> BaselineRun {
        BaselineRun {
            label: label.into(),
            trajectory: self.trajectory.clone(),
        }
    }

    /// Check this run against the budgets (and a baseline run). A run that did not finish
    /// fails the gate unless `allow_incomplete`.
    pub fn gate(
        &self,
        budget: &BudgetFile,
        baseline: Option<&RunAnalysis>,
        allow_incomplete: bool,
    ) -> Result<GateResult> {
        if self.trajectory.points.is_empty() && self.manifest.status.is_complete() {
            return Err(Error::bad_input(
                self.dir.join("jobs.jsonl"),
                "file",
                "no job records",
            ));
        }
        let base = baseline.map(|b| (b.dir.display().to_string(), &b.verdict));
        let mut result = evaluate(
            &self.trajectory,
            &self.verdict,
            budget,
            base.as_ref().map(|(o, v)| (o.as_str(), *v)),
        );
        crate::analysis::gate::check_complete(
            &mut result,
            &self.manifest,
            self.records.len() as u64,
            allow_incomplete,
        );
        Ok(result)
    }
}

/// What the report says of a watched process: where the jobs came from, the notes, the exit.
fn watch_settings(watch: &crate::record::WatchInfo) -> Vec<(String, String)> {
    let mut out = vec![(
        "jobs".to_string(),
        match (watch.jobs_from, &watch.log) {
            (crate::record::JobSource::Log, Some(log)) => format!("job boundaries from the log {log}"),
            _ => format!(
                "unknown (no log): each point is one sampling interval of {} s, judged per interval, not per job",
                watch.interval_secs
            ),
        },
    )];
    out.push((
        "sampling".to_string(),
        format!(
            "{} samples, every {} s (smaps_rollup every {} s){}",
            watch.samples,
            watch.interval_secs,
            watch.smaps_interval_secs,
            watch.cgroup.as_ref().map_or(
                "; no memory cgroup (v2 or v1) readable".to_string(),
                |c| format!("; cgroup {c}")
            )
        ),
    ));
    if let Some(exit) = &watch.exit {
        out.push(("process exit".to_string(), exit.detail.clone()));
    }
    for note in &watch.notes {
        out.push(("note".to_string(), note.clone()));
    }
    out
}

/// Read a budget file (bounded: a budget is small) and check it.
pub fn load_budget(path: &Path) -> Result<BudgetFile> {
    const MAX_BUDGET_BYTES: u64 = 1024 * 1024;
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::bad_input(path, "file", format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(Error::bad_input(path, "file", "not a regular file"));
    }
    if meta.len() > MAX_BUDGET_BYTES {
        return Err(Error::bad_input(
            path,
            "file",
            format!(
                "{} bytes, more than a budget file's 1 MiB bound",
                meta.len()
            ),
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::bad_input(path, "file", format!("cannot read: {e}")))?;
    crate::analysis::gate::parse_budget(path, &text)
}

/// The report of an analysed docling-serve worker log.
pub fn log_report_input(analysis: &crate::logs::LogAnalysis) -> ReportInput {
    log_report_input_with(analysis, analysis.trajectory.clone())
}

/// [`log_report_input`] that takes the analysis' trajectory instead of copying it (a long
/// log's is hundreds of thousands of points).
pub fn log_report_input_owned(mut analysis: crate::logs::LogAnalysis) -> ReportInput {
    // The points moved, the rest (the clears, a few fields) copied.
    let points = std::mem::take(&mut analysis.trajectory.points);
    let mut trajectory = analysis.trajectory.clone();
    trajectory.points = points;
    log_report_input_with(&analysis, trajectory)
}

fn log_report_input_with(
    analysis: &crate::logs::LogAnalysis,
    trajectory: crate::analysis::Trajectory,
) -> ReportInput {
    let title = Path::new(&analysis.origin)
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or(&analysis.origin)
        .to_string();
    let mut input = ReportInput::new(title, trajectory, analysis.run_verdict.clone());
    input.clears = clear_table(&input.trajectory);
    let mut settings = vec![
        ("log lines".to_string(), analysis.lines.total.to_string()),
        (
            "worker starts".to_string(),
            analysis.workers_started.to_string(),
        ),
    ];
    if let Some(n) = analysis.jobs_between_cache_clear {
        settings.push(("jobs between cache clears".to_string(), n.to_string()));
    }
    for u in &analysis.lines.unreadable_examples {
        settings.push((
            format!("unreadable line {}", u.line),
            format!("{} ({})", u.reason, u.text),
        ));
    }
    input.settings = settings;
    input
}

/// Write the gate reports asked for (JUnit XML, Markdown summary); return the exit code the
/// gate asks for (0 pass, 1 broken).
pub fn write_gate_outputs(
    result: &GateResult,
    junit: Option<&Path>,
    summary: Option<&Path>,
) -> Result<i32> {
    use crate::render::gate::{junit_xml, markdown_summary};
    if let Some(path) = junit {
        std::fs::write(path, junit_xml(result)?)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    }
    if let Some(path) = summary {
        std::fs::write(path, markdown_summary(result))
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    }
    Ok(if result.passed {
        0
    } else {
        crate::error::EXIT_BUDGET_BROKEN
    })
}
