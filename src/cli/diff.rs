//! `docling-memprof diff`: compare two jobs of a run (`diff RUN --from 3 --to 18`), or two runs
//! (`diff RUN_A RUN_B`): per memory metric, per census type, per site, largest growth first.

use std::path::{Path, PathBuf};

use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use crate::analysis::diff::{diff_jobs, diff_runs, Diff, DiffRow};
use crate::analysis::{Trajectory, VerdictParams};
use crate::engine::analyse_folder;

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct DiffArgs {
    /// A run folder (run.json + jobs.jsonl).
    pub run: PathBuf,
    /// A second run folder: compare the two runs instead of two jobs.
    pub other: Option<PathBuf>,
    /// First job (default: the first job of the run).
    #[arg(long, value_name = "JOB")]
    pub from: Option<u64>,
    /// Second job (default: the last job of the run).
    #[arg(long, value_name = "JOB")]
    pub to: Option<u64>,
    /// Rows per table (types and sites).
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Print the diff as JSON.
    #[arg(long)]
    pub json: bool,
}

fn load(dir: &Path) -> crate::Result<Trajectory> {
    let t = analyse_folder(dir, &VerdictParams::default())?.trajectory;
    if t.points.is_empty() {
        return Err(crate::Error::bad_input(
            dir.join("jobs.jsonl"),
            "file",
            "no job records",
        ));
    }
    Ok(t)
}

pub fn run(args: DiffArgs) -> crate::Result<i32> {
    let a = load(&args.run)?;
    let diff = match &args.other {
        Some(other) => {
            if args.from.is_some() || args.to.is_some() {
                return Err(crate::Error::Usage(
                    "--from/--to compare jobs of one run; leave them out with two runs".into(),
                ));
            }
            let b = load(other)?;
            diff_runs(&a, &b, &VerdictParams::default()).map_err(crate::Error::Usage)?
        }
        None => {
            let from = args
                .from
                .unwrap_or_else(|| a.points.first().map_or(1, |p| p.job));
            let to = args
                .to
                .unwrap_or_else(|| a.points.last().map_or(1, |p| p.job));
            diff_jobs(&a, from, to)
                .map_err(|m| crate::Error::bad_input(&args.run, "--from/--to", m))?
        }
    };
    if args.json {
        crate::cli::print(
            &serde_json::to_string_pretty(&diff)
                .map_err(|e| crate::Error::Internal(e.to_string()))?,
        )?;
    } else {
        crate::cli::print(&render_text(&diff, args.top))?;
    }
    Ok(0)
}

fn table(title: &str, rows: &[DiffRow], top: usize) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED);
    t.set_header(vec![title, "from", "to", "change"]);
    let fmt = |v: Option<f64>, unit: &str| v.map_or("-".into(), |v| format!("{v:.2} {unit}"));
    for r in rows.iter().take(top) {
        t.add_row(vec![
            r.name.clone(),
            fmt(r.from, &r.unit),
            fmt(r.to, &r.unit),
            format!("{:+.2} {}", r.change, r.unit),
        ]);
    }
    let more = if rows.len() > top {
        format!("({} more)\n", rows.len() - top)
    } else {
        String::new()
    };
    format!("{t}\n{more}\n")
}

/// The terminal report of a diff.
pub fn render_text(d: &Diff, top: usize) -> String {
    let mut out = format!("{} -> {}\n", d.from_label, d.to_label);
    out.push_str(&table("memory", &d.metrics, usize::MAX));
    out.push_str(&table("slope per job", &d.slopes, usize::MAX));
    out.push_str(&table("census type", &d.types, top));
    out.push_str(&table("allocation site", &d.sites, top));
    out
}
