//! `docling-memprof logs`: analyse an instrumented docling-serve worker log.

use std::path::PathBuf;

use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, Table};

use crate::analysis::VerdictParams;
use crate::logs::{analyse_file, LogAnalysis};
use crate::units::{parse_human_size, MIB};

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The worker log (`[MEMORY]`, `[CACHE CLEAR]`, ... lines; other lines are skipped).
    pub log: PathBuf,
    /// Emit the analysis as one JSON object (top level: `verdict`, `cache_clears`, ...).
    #[arg(long)]
    pub json: bool,
    /// Memory limit of the worker (e.g. `3GiB`), for the projected job reaching it.
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
}

pub fn run(args: LogsArgs) -> crate::Result<i32> {
    let limit_mb = match &args.memory_limit {
        Some(text) => Some(parse_human_size(text).map_err(crate::Error::Usage)? as f64 / MIB),
        None => None,
    };
    let analysis = analyse_file(&args.log, limit_mb, &VerdictParams::default())?;
    if args.json {
        let text = serde_json::to_string_pretty(&analysis)
            .map_err(|e| crate::Error::Internal(e.to_string()))?;
        println!("{text}");
    } else {
        print!("{}", render_text(&analysis));
    }
    Ok(0)
}

fn table() -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED);
    t
}

/// The terminal report: verdict, trajectory, clear table, unreadable lines.
pub fn render_text(a: &LogAnalysis) -> String {
    let mut out = String::new();
    let v = &a.verdict;
    let call = match v.leak {
        Some(true) => "LEAK",
        Some(false) => "no leak",
        None => "inconclusive",
    };
    out.push_str(&format!(
        "{}: {} jobs, {} worker start(s)\n",
        a.origin, a.jobs, a.workers_started
    ));
    out.push_str(&format!(
        "verdict: {call} ({}), slope {:+.1} MB/job (95% CI {:+.1} to {:+.1}), p={:.4}\n",
        serde_json::to_value(v.pattern)
            .ok()
            .and_then(|p| p.as_str().map(str::to_string))
            .unwrap_or_default(),
        v.slope_mb_per_job,
        v.slope_ci_mb_per_job.0,
        v.slope_ci_mb_per_job.1,
        v.trend_p_value
    ));
    out.push_str(&format!("  {}\n", v.summary));
    if let Some(job) = v.projected_limit_job {
        out.push_str(&format!(
            "  projected to reach the memory limit at job {job}\n"
        ));
    }
    if let Some(jobs) = v.jobs_to_decide {
        out.push_str(&format!("  about {jobs} more job(s) would decide\n"));
    }
    out.push_str(&format!("cause: {}\n\n", a.cause.explanation));

    let mut t = table();
    t.set_header(vec!["job", "worker", "outcome", "rss MB", "after clear MB"]);
    for p in &a.trajectory.points {
        let clear = a.cache_clears.iter().find(|c| c.job == p.job);
        t.add_row(vec![
            Cell::new(p.job),
            Cell::new(p.worker_index),
            Cell::new(&p.outcome),
            Cell::new(p.rss_mb.map_or("-".into(), |v| format!("{v:.0}"))),
            Cell::new(clear.map_or(String::new(), |c| format!("{:.0}", c.after_mb))),
        ]);
    }
    out.push_str(&format!("Memory trajectory\n{t}\n\n"));

    if !a.cache_clears.is_empty() {
        let mut t = table();
        t.set_header(vec![
            "Clear Event",
            "Memory Before",
            "Memory After",
            "Freed",
        ]);
        for c in &a.cache_clears {
            t.add_row(vec![
                format!("Job {}", c.job),
                format!("{:.0} MB", c.before_mb),
                format!("{:.0} MB", c.after_mb),
                format!("{:.0} MB", c.freed_mb),
            ]);
        }
        out.push_str(&format!("Cache clearing effectiveness\n{t}\n"));
        let s = &a.clear_summary;
        out.push_str(&format!(
            "{} clear(s); mean freed {}; floor growth {} per clear cycle\n\n",
            s.clears,
            s.mean_freed_mb.map_or("-".into(), |v| format!("{v:.1} MB")),
            s.floor_growth_mb_per_cycle
                .map_or("-".into(), |v| format!("{v:+.1} MB")),
        ));
    }
    if a.lines.unreadable > 0 {
        out.push_str(&format!(
            "{} unreadable line(s) skipped:\n",
            a.lines.unreadable
        ));
        for u in &a.lines.unreadable_examples {
            out.push_str(&format!("  line {}: {} ({})\n", u.line, u.reason, u.text));
        }
    }
    out
}
