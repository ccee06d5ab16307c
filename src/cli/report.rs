//! `docling-memprof report RUN`: re-render the tables, charts, `report.md` and `report.html` of
//! a run folder (or of a docling-serve worker log) from saved data, without replaying.
//!
//! [`input_from_run`] and [`input_from_log`] assemble a [`ReportInput`] from the analysis'
//! results; `replay` and `logs` call them and then [`crate::render::write_report`].

use std::path::{Path, PathBuf};

use clap::Args;

use crate::analysis::{
    clears::clear_table,
    diff::diff_jobs,
    from_records, judge_run,
    load::{load_run, LoadedRun},
    VerdictParams,
};
use crate::logs::{analyse_file, LogAnalysis};
use crate::render::{self, BaselineRun, GrowthTable, RenderOptions, ReportInput, Terminal};
use crate::units::{parse_human_size, MIB};
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run folder (`run.json` + `jobs.jsonl`), or a docling-serve worker log file.
    pub run: PathBuf,
    /// Where to write the report (default: the run folder; for a log, `<log>-report/` beside it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write report.md and report.html without charts.
    #[arg(long)]
    pub no_charts: bool,
    /// A baseline run folder (or log) to draw on one job axis with this run.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Memory limit for a log (`3GiB`), for the projected job reaching it; run folders carry theirs.
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Do not print the report on the terminal, only the files written.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: ReportArgs) -> Result<i32> {
    let limit_mb = match &args.memory_limit {
        Some(text) => Some(parse_human_size(text).map_err(Error::Usage)? as f64 / MIB),
        None => None,
    };
    let mut input = load_input(&args.run, limit_mb)?;
    if let Some(base) = &args.baseline {
        let baseline = load_input(base, limit_mb)?;
        input.baseline = Some(BaselineRun {
            label: baseline_label(base),
            trajectory: baseline.trajectory,
        });
    }
    let out = args.out.clone().unwrap_or_else(|| default_out(&args.run));
    let opts = RenderOptions {
        charts: !args.no_charts,
        ..RenderOptions::default()
    };
    let written = render::write_report(&out, &input, &opts)?;
    if !args.quiet {
        print!("{}", render::terminal_report(&input, &Terminal::detect()));
        println!();
    }
    for path in &written {
        println!("wrote {}", path.display());
    }
    Ok(0)
}

/// A run folder or a log file, read and judged.
fn load_input(path: &Path, limit_mb: Option<f64>) -> Result<ReportInput> {
    if path.is_dir() {
        input_from_run(path)
    } else if path.is_file() {
        let analysis = analyse_file(path, limit_mb, &VerdictParams::default())?;
        Ok(input_from_log(&analysis))
    } else {
        Err(Error::bad_input(
            path,
            "path",
            "neither a run folder nor a log file",
        ))
    }
}

fn default_out(run: &Path) -> PathBuf {
    if run.is_dir() {
        return run.to_path_buf();
    }
    let stem = run.file_stem().and_then(|s| s.to_str()).unwrap_or("log");
    run.with_file_name(format!("{stem}-report"))
}

fn baseline_label(path: &Path) -> String {
    let name = path
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("baseline");
    format!("baseline {name}")
}

/// The report of a run folder: its records read back, judged, diffed from the first to the
/// last job that has memory values.
pub fn input_from_run(dir: &Path) -> Result<ReportInput> {
    Ok(input_from_loaded(dir, load_run(dir)?))
}

/// [`input_from_run`] for a run folder already read.
pub fn input_from_loaded(dir: &Path, loaded: LoadedRun) -> ReportInput {
    let origin = dir.display().to_string();
    let trajectory = from_records::trajectory(&loaded.manifest, &loaded.jobs, &origin);
    let verdict = judge_run(&trajectory, &VerdictParams::default());
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
    let title = loaded.manifest.workload_name.clone();
    let mut input = ReportInput::new(title, trajectory, verdict);
    input.clears = clears;
    input.growth = growth;
    if loaded.truncated_last_line {
        input.settings.push((
            "jobs.jsonl".into(),
            "last line cut short (the run was killed while writing it)".into(),
        ));
    }
    input.manifest = Some(loaded.manifest);
    input
}

/// The report of an analysed docling-serve worker log.
pub fn input_from_log(analysis: &LogAnalysis) -> ReportInput {
    let title = Path::new(&analysis.origin)
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or(&analysis.origin)
        .to_string();
    let mut input = ReportInput::new(
        title,
        analysis.trajectory.clone(),
        analysis.run_verdict.clone(),
    );
    input.clears = clear_table(&analysis.trajectory);
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
