//! `docling-memprof gate`: check a run against memory budgets.
//! Exit codes: 0 every budget held, 1 a budget broken (or the run incomplete), 2 bad input.

use std::path::PathBuf;

use clap::Args;

use crate::engine::{analyse_folder, finish::load_budget, finish::write_gate_outputs};
use crate::render::gate::terminal_table;

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The run folder (run.json + jobs.jsonl) to check.
    pub run: PathBuf,
    /// The budget file (memprof.toml).
    #[arg(long, value_name = "FILE")]
    pub budget: PathBuf,
    /// A baseline run folder: fail when a slope exceeds the baseline's CI upper bound + tolerance.
    #[arg(long, value_name = "RUN")]
    pub baseline: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a Markdown summary here (for a CI step summary).
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Let a run that did not finish (a death, an interruption, a killed replay) pass when its
    /// budgets hold; without it an incomplete run fails the gate.
    #[arg(long)]
    pub allow_incomplete: bool,
    /// Growth is a leak when what it adds within this many jobs matters (default 1000; see
    /// docs/verdict-method.md); smaller real growth is `slow_growth`.
    #[arg(long, value_name = "JOBS")]
    pub horizon: Option<u64>,
}

pub fn run(args: GateArgs) -> crate::Result<i32> {
    let budget = load_budget(&args.budget)?;
    let params = crate::cli::verdict_params(args.horizon);
    let baseline = args
        .baseline
        .as_deref()
        .map(|dir| analyse_folder(dir, &params))
        .transpose()?;
    let run = analyse_folder(&args.run, &params)?;
    let result = run.gate(&budget, baseline.as_ref(), args.allow_incomplete)?;
    if args.json {
        let text = serde_json::to_string_pretty(&result)
            .map_err(|e| crate::Error::Internal(e.to_string()))?;
        crate::cli::print(&text)?;
    } else {
        crate::cli::print(&terminal_table(&result))?;
    }
    write_gate_outputs(&result, args.junit.as_deref(), args.summary.as_deref())
}
