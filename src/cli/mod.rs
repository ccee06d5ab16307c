//! The command line: one file per subcommand. Each `run` returns the exit code on success
//! (0, or 1 for a broken gate) and a typed [`crate::Error`] otherwise.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub mod child;
pub mod diff;
pub mod gate;
pub mod log_limits;
pub mod logs;
pub mod minimize;
pub mod record;
pub mod replay;
pub mod report;
pub mod summary;
pub mod sweep;
pub mod watch;
pub mod worker_flags;

#[derive(Debug, Parser)]
#[command(
    name = "docling-memprof",
    version,
    about = "Find and prevent memory growth in long-running document-conversion workers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay a workload through the worker core in a child process, snapshotting memory after every job.
    Replay(replay::ReplayArgs),
    /// Re-render tables, charts and reports of a run folder without replaying.
    Report(report::ReportArgs),
    /// Compare two jobs of a run, or two runs.
    Diff(diff::DiffArgs),
    /// Check a run against memory budgets (exit 0 pass, 1 broken, 2 bad input).
    Gate(gate::GateArgs),
    /// Analyse a docling-serve worker log: verdict, trajectory, cache-clear table.
    Logs(logs::LogsArgs),
    /// Turn a docling-serve worker log into a replayable workload.
    Record(record::RecordArgs),
    /// Replay a workload under every combination of policy axes; table, chart, recommendation.
    Sweep(sweep::SweepArgs),
    /// The smallest workload (jobs, documents, option sets) whose replay still leaks (ddmin).
    Minimize(minimize::MinimizeArgs),
    /// Follow a live worker (--pid N, or -- CMD ARGS...): samples, job records from its log,
    /// Prometheus metrics (--metrics), and a report when it ends.
    Watch(watch::WatchArgs),
    /// The worker child (started by `replay`; not for direct use).
    #[command(hide = true)]
    Child(child::ChildArgs),
}

/// Run the parsed command line.
pub fn dispatch(cli: Cli) -> crate::Result<i32> {
    match cli.command {
        Command::Replay(args) => replay::run(args),
        Command::Report(args) => report::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Gate(args) => gate::run(args),
        Command::Logs(args) => logs::run(args),
        Command::Record(args) => record::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Minimize(args) => minimize::run(args),
        Command::Watch(args) => watch::run(args),
        Command::Child(args) => child::run(args),
    }
}

/// Print a line on stdout. A closed pipe (`| head`) or a full device is an error to report
/// (exit 4), never a panic as `println!` would make it.
pub fn print(text: &str) -> crate::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| crate::Error::io("writing to stdout", e))
}

/// `reports/<name>-<timestamp>/` under the current folder, made unique with a suffix when it
/// exists. The name is reduced to ASCII letters, digits, `-` and `_`.
pub fn timestamped_report_dir(name: &str) -> PathBuf {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let base = PathBuf::from("reports").join(format!("{safe}-{stamp}"));
    let mut dir = base.clone();
    let mut n = 2;
    while dir.exists() {
        dir = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    dir
}

/// The verdict's parameters with `--horizon JOBS` applied (at least 1 job).
pub fn verdict_params(horizon: Option<u64>) -> crate::analysis::VerdictParams {
    let mut params = crate::analysis::VerdictParams::default();
    if let Some(h) = horizon {
        params.horizon_jobs = h.max(1);
    }
    params
}
