//! A fleet of worker logs: each log judged alone, exactly as `logs` judges one
//! ([`crate::logs::analyse_file`]), its own report written under `workers/<name>/`, then one
//! [`FleetReport`] of every worker, the worst first. A log that cannot be read is a row with
//! its error; the others are still judged.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::finish::log_report_input;
use crate::analysis::fleet::{FleetError, FleetReport, FleetWorker};
use crate::analysis::VerdictParams;
use crate::logs::{analyse_file, LogLimits};
use crate::render::{self, RenderOptions};
use crate::{Error, Result};

/// The folder, under the fleet's, that holds each worker's own report.
pub const WORKERS_DIR: &str = "workers";

/// How a fleet is judged and where its reports go.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub memory_limit_mb: Option<f64>,
    pub params: VerdictParams,
    /// The bounds every log is read under (`--max-log-*`).
    pub limits: LogLimits,
    /// The fleet's folder; `None` writes nothing.
    pub out: Option<PathBuf>,
    pub charts: bool,
}

/// The fleet and the files written.
#[derive(Debug, Clone)]
pub struct FleetOutcome {
    pub report: FleetReport,
    pub written: Vec<PathBuf>,
}

/// The logs named: files as given, folders as every `*.log` file in them, sorted by name. A
/// folder that cannot be listed or holds no `*.log` file is bad input.
pub fn expand_logs(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for arg in args {
        if !arg.is_dir() {
            out.push(arg.clone());
            continue;
        }
        let entries = std::fs::read_dir(arg)
            .map_err(|e| Error::bad_input(arg, "folder", format!("cannot list: {e}")))?;
        let mut logs = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| Error::bad_input(arg, "folder", format!("cannot list: {e}")))?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "log") && path.is_file() {
                logs.push(path);
            }
        }
        if logs.is_empty() {
            return Err(Error::bad_input(arg, "folder", "no *.log file in it"));
        }
        logs.sort();
        out.extend(logs);
    }
    Ok(out)
}

/// A worker's name from its log's file stem, kept to `[A-Za-z0-9._-]` and made unique.
fn worker_name(path: &Path, taken: &mut BTreeSet<String>) -> String {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("worker");
    let safe: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let base = if safe.trim_matches('.').is_empty() {
        "worker".to_string()
    } else {
        safe
    };
    let mut name = base.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// What stopped a log, as a row's error: the file and the place the error names.
fn row_error(log: &Path, err: &Error) -> FleetError {
    match err {
        Error::BadInput {
            path,
            place,
            message,
        } => FleetError {
            file: path.display().to_string(),
            place: place.clone(),
            message: message.clone(),
        },
        other => FleetError {
            file: log.display().to_string(),
            place: "file".into(),
            message: other.to_string(),
        },
    }
}

/// Judge every log, write each judged worker's report and the fleet's (`fleet.md`,
/// `fleet.html`, `fleet.json`, `charts/fleet.*`). An unreadable log is a row; a failure to
/// write is an error.
pub fn run_fleet(logs: &[PathBuf], config: &FleetConfig) -> Result<FleetOutcome> {
    let mut taken = BTreeSet::new();
    let mut workers = Vec::with_capacity(logs.len());
    let mut written = Vec::new();
    let opts = RenderOptions {
        charts: config.charts,
        ..RenderOptions::default()
    };
    for log in logs {
        let name = worker_name(log, &mut taken);
        let analysis =
            match analyse_file(log, &config.limits, config.memory_limit_mb, &config.params) {
                Ok(a) => a,
                Err(err) => {
                    let shown = log.display().to_string();
                    workers.push(FleetWorker::unreadable(&name, &shown, row_error(log, &err)));
                    continue;
                }
            };
        let mut row = analysis.fleet_worker(&name);
        if let Some(out) = &config.out {
            let dir = out.join(WORKERS_DIR).join(&name);
            written.extend(render::write_report(
                &dir,
                &log_report_input(&analysis),
                &opts,
            )?);
            row.report_dir = Some(format!("{WORKERS_DIR}/{name}"));
        }
        workers.push(row);
    }
    let report = FleetReport::new(workers, config.memory_limit_mb, config.params.horizon_jobs);
    if let Some(out) = &config.out {
        written.extend(render::fleet::write(out, &report, config.charts)?);
    }
    Ok(FleetOutcome { report, written })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_unique() {
        let mut taken = BTreeSet::new();
        assert_eq!(worker_name(Path::new("a/pod-1.log"), &mut taken), "pod-1");
        assert_eq!(worker_name(Path::new("b/pod-1.log"), &mut taken), "pod-1-2");
        assert_eq!(
            worker_name(Path::new("c/we ird$.log"), &mut taken),
            "we_ird_"
        );
        assert_eq!(worker_name(Path::new("..log"), &mut taken), "worker");
    }
}
