//! `minimize`'s steps as a table (terminal, Markdown) and `steps.md`. Reads
//! [`MinimizeReport`] only.

use std::path::{Path, PathBuf};

use super::format::{self, MISSING};
use super::table::{Cell, TableData, Tone};
use crate::record::MinimizeReport;
use crate::Result;

pub const STEPS_MD: &str = "steps.md";

/// One row per replayed candidate.
pub fn table(report: &MinimizeReport) -> TableData {
    let mut t = TableData::new(&[
        ("step", true),
        ("phase", false),
        ("kept", false),
        ("jobs", true),
        ("verdict", false),
        ("slope MB/job", true),
        ("of original", true),
        ("passed", false),
        ("time s", true),
    ]);
    for s in &report.steps {
        let slope = s.slopes.last().copied();
        let share = slope
            .filter(|_| report.original_slope > 0.0)
            .map(|v| format!("{:.0}%", 100.0 * v / report.original_slope));
        t.rows.push(vec![
            Cell::new(s.index.to_string()),
            Cell::new(s.phase.clone()),
            Cell::new(format::truncate(&s.kept.join(", "), 60)),
            Cell::new(s.jobs_planned.to_string()),
            Cell::new(s.calls.join(", ")),
            Cell::new(slope.map_or(MISSING.into(), format::signed)),
            Cell::new(share.unwrap_or_else(|| MISSING.into())),
            if s.passed {
                Cell::tone("yes", Tone::Strong)
            } else {
                Cell::tone("no", Tone::Muted)
            },
            Cell::new(format!("{:.1}", s.secs)),
        ]);
    }
    t
}

/// `steps.md`: the result first, then every step.
pub fn markdown(report: &MinimizeReport) -> String {
    let mut out = format!("# Minimized {}\n\n", report.workload_path);
    out.push_str(&format!("{}\n\n", report.summary));
    out.push_str(&format!(
        "Judged series `{}`; a candidate passes when its replay is a leak with at least {:.0}% of the original slope ({:+.3} MB/job) in each of {} trial(s); each candidate runs at least {} jobs (its job list repeated).\n\n",
        report.series,
        100.0 * report.keep,
        report.original_slope,
        report.trials,
        report.target_jobs
    ));
    if let Some(p) = &report.minimal_path {
        out.push_str(&format!(
            "Minimal workload: `{p}` (replay it with `docling-memprof replay {p}`).\n\n"
        ));
    }
    out.push_str(&super::markdown::table(&table(report)));
    out
}

/// Write `steps.md` into the output folder.
pub fn write(dir: &Path, report: &MinimizeReport) -> Result<PathBuf> {
    let path = dir.join(STEPS_MD);
    super::write_file(&path, markdown(report).as_bytes())?;
    Ok(path)
}
