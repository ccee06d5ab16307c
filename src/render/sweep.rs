//! A sweep's outputs: the policy table (terminal, Markdown), `sweep.md`, and the chart of
//! memory ceiling against throughput ([`super::chart::sweep`]). Reads [`SweepReport`] only.

use std::path::{Path, PathBuf};

use super::format::{self, MISSING};
use super::table::{Cell, TableData, Tone};
use crate::analysis::sweep::{PolicyEntry, SweepReport};
use crate::analysis::LeakCall;
use crate::{Error, Result};

pub const SWEEP_MD: &str = "sweep.md";

fn opt(value: Option<f64>, decimals: usize) -> String {
    format::mb_fixed(value, decimals)
}

/// One row per policy: verdict, ceiling, slope, speed, reload and restart time, death,
/// projection, margin, front.
pub fn table(report: &SweepReport) -> TableData {
    let mut t = TableData::new(&[
        ("policy", false),
        ("verdict", false),
        ("peak RSS MB", true),
        ("RSS slope MB/job (95% CI)", true),
        ("jobs/s", true),
        ("p95 job s", true),
        ("reload s", true),
        ("restart s", true),
        ("workers", true),
        ("clears", true),
        ("died at job", false),
        ("limit at job", true),
        (&format!("ceiling at job {} MB", report.horizon_jobs), true),
        ("margin MB", true),
        ("front", false),
    ]);
    let recommended = report.recommendation.as_ref().and_then(|r| r.index);
    for (i, entry) in report.policies.iter().enumerate() {
        t.rows.push(row(entry, recommended == Some(i)));
    }
    t
}

fn row(entry: &PolicyEntry, recommended: bool) -> Vec<Cell> {
    let name = if recommended {
        Cell::tone(format!("{} (recommended)", entry.id), Tone::Strong)
    } else {
        Cell::new(entry.id.clone())
    };
    let Some(m) = &entry.metrics else {
        let mut cells = vec![name, Cell::tone("not run", Tone::Muted)];
        cells.extend((0..13).map(|_| Cell::tone(MISSING, Tone::Muted)));
        return cells;
    };
    let call_tone = match m.call {
        LeakCall::Leak => Tone::Bad,
        LeakCall::NoLeak => Tone::Good,
        _ => Tone::Warn,
    };
    let slope = match (m.slope_mb_per_job, m.slope_ci) {
        (Some(s), Some((lo, hi))) => format!(
            "{} ({} to {})",
            format::signed(s),
            format::signed(lo),
            format::signed(hi)
        ),
        _ => MISSING.into(),
    };
    let death = match &m.death {
        Some(d) => Cell::tone(format!("{} ({})", d.job, d.kind), Tone::Bad),
        None => Cell::new(MISSING),
    };
    let margin_tone = match m.margin_mb {
        Some(v) if v < 0.0 => Tone::Bad,
        Some(_) => Tone::Good,
        None => Tone::Plain,
    };
    vec![
        name,
        Cell::tone(format::call(m.call), call_tone),
        Cell::new(opt(m.peak_rss_mb, 0)),
        Cell::new(slope),
        Cell::new(opt(m.jobs_per_sec, 2)),
        Cell::new(opt(m.p95_job_secs, 2)),
        Cell::new(opt(m.reload_secs, 2)),
        Cell::new(opt(m.restart_secs, 2)),
        Cell::new(m.workers_started.to_string()),
        Cell::new(m.cache_clears.to_string()),
        death,
        Cell::new(
            m.projected_limit_job
                .map_or(MISSING.into(), |j| j.to_string()),
        ),
        Cell::new(opt(m.projected_peak_mb, 0)),
        Cell::tone(opt(m.margin_mb, 0), margin_tone),
        Cell::new(if entry.pareto { "yes" } else { "" }),
    ]
}

/// The recommendation and what the table leaves out, as lines.
pub fn notes(report: &SweepReport) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(r) = &report.recommendation {
        lines.push(format!("Recommendation: {}", r.text));
    }
    if !report.complete {
        let missing = report
            .policies
            .iter()
            .filter(|p| p.metrics.is_none())
            .count();
        lines.push(format!(
            "{missing} of {} policies have no result yet (interrupted): `--resume` runs them",
            report.policies.len()
        ));
    }
    for s in &report.skipped {
        lines.push(format!("Not a policy: {s}"));
    }
    lines
}

/// `sweep.md`: the table, the recommendation, the chart, the commands that rerun each policy.
pub fn markdown(report: &SweepReport, chart_png: Option<&str>) -> String {
    let mut out = format!("# Sweep of {}\n\n", report.workload_name);
    let limit = report
        .memory_limit_bytes
        .map_or("none".into(), format::bytes_mb);
    out.push_str(&format!(
        "Workload `{}`; memory limit {limit}; horizon {} jobs; {} policies, {} at a time.\n\n",
        report.workload_path,
        report.horizon_jobs,
        report.policies.len(),
        report.parallel
    ));
    for line in notes(report) {
        out.push_str(&format!("{line}\n\n"));
    }
    out.push_str(&super::markdown::table(&table(report)));
    out.push('\n');
    if let Some(png) = chart_png {
        out.push_str(&format!("\n![memory ceiling against throughput]({png})\n"));
    }
    out.push_str("\n## Each policy's replay\n\n");
    for p in &report.policies {
        out.push_str(&format!(
            "- `{}`: run folder `{}/`, `docling-memprof replay {} {}`\n",
            p.id,
            p.run_dir,
            report.workload_path,
            p.replay_args
                .iter()
                .map(|a| if a.contains(' ') {
                    format!("'{a}'")
                } else {
                    a.clone()
                })
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    out.push_str(
        "\nSlopes are of RSS's floor (95% interval). `reload s` estimates the time cold jobs (first on a worker or after a clear, the run's first left out) spent above the warm median of their workload job. `restart s`: start-up of every worker after the first. The ceiling at the horizon adds the RSS slope times the jobs left when RSS's own verdict is `leak` or `slow_growth`. Throughput measured with several replays at once shares the machine's cores.\n",
    );
    out
}

/// Write `sweep.md` and the chart (`charts/sweep.svg`, `.png`) into the sweep folder.
pub fn write(dir: &Path, report: &SweepReport, charts: bool) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut png = None;
    if charts && report.policies.iter().any(|p| p.metrics.is_some()) {
        let chart_dir = dir.join(super::CHARTS_DIR);
        std::fs::create_dir_all(&chart_dir)
            .map_err(|e| Error::io(format!("creating {}", chart_dir.display()), e))?;
        let file = super::chart::sweep::write(&chart_dir, report)?;
        png = Some(file.relative_png());
        written.push(file.svg_path);
        written.push(file.png_path);
    }
    let path = dir.join(SWEEP_MD);
    super::write_file(&path, markdown(report, png.as_deref()).as_bytes())?;
    written.push(path);
    Ok(written)
}
