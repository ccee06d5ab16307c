//! `docling-memprof watch --pid N [--log FILE]` and `watch [--log FILE] -- CMD ARGS...`:
//! follow a live worker from outside ([`crate::engine::Watch`]), write the run folder as it
//! goes, show a live status line on a terminal, serve `--metrics`, and write the report of a
//! replay at the end (SIGINT/SIGTERM, or the process exited).

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::analysis::VerdictParams;
use crate::cancel::Cancel;
use crate::cli::summary::RunSummary;
use crate::cli::timestamped_report_dir;
use crate::engine::metrics::{MetricSet, Metrics};
use crate::engine::metrics_http::MetricsServer;
use crate::engine::status::StatusLine;
use crate::engine::{analyse_run, Observer, Watch, WatchConfig, WatchTarget};
use crate::record::RunStatus;
use crate::render::{self, RenderOptions, Terminal};
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The running worker to follow (and its descendants).
    #[arg(long, conflicts_with = "command")]
    pub pid: Option<u32>,
    /// The worker's log, followed as it is written (rotation and truncation too). With a
    /// command, default: its stdout and stderr (the run folder's worker.log). Without a log,
    /// jobs are unknown: one record per sampling interval.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Seconds between samples of /proc/<pid>/status (and the cgroup).
    #[arg(long, default_value_t = 1.0, value_name = "SECS")]
    pub interval: f64,
    /// Seconds between reads of smaps_rollup (PSS, USS; slower, takes the mmap lock).
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub smaps_interval: f64,
    /// The worker's memory limit (`3GiB`), for the projected job reaching it.
    #[arg(long, value_parser = parse_size)]
    pub memory_limit: Option<u64>,
    /// The `worker` label of the metrics and the run's name (default: the host name).
    #[arg(long)]
    pub name: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics: `PORT` (on 127.0.0.1) or `HOST:PORT`.
    #[arg(long, value_name = "ADDR", value_parser = parse_metrics_addr)]
    pub metrics: Option<SocketAddr>,
    /// The run folder (default: reports/watch-<name>-<timestamp>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No live status line and no summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print a machine-readable summary (JSON) on stdout at the end.
    #[arg(long)]
    pub json: bool,
    /// Skip charts in the final report.
    #[arg(long)]
    pub no_charts: bool,
    /// The command to start and follow (after `--`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

fn parse_size(text: &str) -> std::result::Result<u64, String> {
    match crate::units::parse_human_size(text)? {
        0 => Err("expected a size > 0".into()),
        n => Ok(n),
    }
}

/// `9464` -> 127.0.0.1:9464; `HOST:PORT` resolved (the first address).
pub fn parse_metrics_addr(text: &str) -> std::result::Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    let mut addrs = text
        .to_socket_addrs()
        .map_err(|e| format!("expected PORT or HOST:PORT (e.g. 127.0.0.1:9464): {e}"))?;
    addrs
        .next()
        .ok_or_else(|| format!("{text}: no address found"))
}

fn seconds(flag: &str, secs: f64) -> Result<Duration> {
    if secs.is_finite() && (0.01..=86_400.0).contains(&secs) {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(Error::Usage(format!(
            "{flag} {secs}: expected seconds between 0.01 and 86400"
        )))
    }
}

/// The host name (the default `worker` label).
fn host_name() -> String {
    crate::engine::manifest::machine_info()
        .hostname
        .unwrap_or_else(|| "worker".into())
}

pub fn run(args: WatchArgs) -> Result<i32> {
    let target = match (args.pid, args.command.is_empty()) {
        (Some(pid), true) => WatchTarget::Pid(pid),
        (None, false) => WatchTarget::Command(args.command.clone()),
        (Some(_), false) => {
            return Err(Error::Usage("watch: --pid or -- CMD, not both".into()));
        }
        (None, true) => {
            return Err(Error::Usage(
                "watch: give --pid N or a command after `--` (watch -- python3 worker.py)".into(),
            ))
        }
    };
    let name = args.name.clone().unwrap_or_else(host_name);
    let config = WatchConfig {
        target,
        log: args.log.clone(),
        interval: seconds("--interval", args.interval)?,
        smaps_interval: seconds("--smaps-interval", args.smaps_interval)?,
        memory_limit_bytes: args.memory_limit,
        name: name.clone(),
    };
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| timestamped_report_dir(&format!("watch-{name}")));
    let (mut metrics, _server) = start_metrics(args.metrics, &name, args.quiet || args.json)?;
    let cancel = Cancel::new();
    cancel
        .on_signals()
        .map_err(|e| Error::io("installing the signal handlers", e))?;
    let mut status = StatusLine::new(!args.quiet && !args.json);
    let mut observers: Vec<&mut dyn Observer> = vec![&mut status];
    if let Some(m) = metrics.as_mut() {
        observers.push(m);
    }
    let outcome = Watch::new(config, &out_dir).run(&mut observers, &cancel)?;
    let analysis = analyse_run(outcome, &VerdictParams::default())?;
    finish(&args, &analysis)?;
    match analysis.manifest.status {
        RunStatus::Completed | RunStatus::Interrupted | RunStatus::Running => Ok(0),
        RunStatus::ChildDied => Err(Error::ChildDied(format!(
            "watched: {}; the records are in {}",
            analysis.manifest.status_message.clone().unwrap_or_default(),
            out_dir.display()
        ))),
    }
}

/// `--metrics`: the observer and the server (bound before the watch starts).
pub fn start_metrics(
    addr: Option<SocketAddr>,
    name: &str,
    quiet: bool,
) -> Result<(Option<Metrics>, Option<MetricsServer>)> {
    let Some(addr) = addr else {
        return Ok((None, None));
    };
    let (registry, set) = MetricSet::new(name);
    let server = MetricsServer::start(addr, registry)?;
    if !quiet {
        eprintln!("metrics: http://{}/metrics", server.addr);
    }
    if !addr.ip().is_loopback() {
        log::warn!("--metrics {addr} is reachable beyond this machine");
    }
    Ok((Some(Metrics::new(set)), Some(server)))
}

fn finish(args: &WatchArgs, analysis: &crate::engine::RunAnalysis) -> Result<()> {
    if let Err(err) = analysis.write_diagnostics() {
        log::warn!("diagnostics.json: {err}");
    }
    let summary = RunSummary::new(analysis);
    let input = analysis.report_input();
    let options = RenderOptions {
        charts: !args.no_charts,
        ..RenderOptions::default()
    };
    let written = render::write_report(&analysis.dir, &input, &options)?;
    if args.json {
        crate::cli::summary::print_json(&summary, &input.verdict, &written)?;
    } else if !args.quiet {
        crate::cli::print(&render::terminal_report(&input, &Terminal::detect()))?;
        crate::cli::print(&summary.one_line())?;
        crate::cli::print(&format!("run folder: {}", analysis.dir.display()))?;
    }
    Ok(())
}
