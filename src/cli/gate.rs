//! `docling-memprof gate`: check a run against memory budgets.
//! Exit codes: 0 every budget held, 1 a budget broken, 2 bad input.

use std::path::PathBuf;

use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use crate::analysis::gate::{gate_run, junit_xml, markdown_summary, GateResult};

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
}

/// Write the reports a gate asked for; return the exit code (0 pass, 1 broken).
pub fn write_outputs(
    result: &GateResult,
    junit: Option<&PathBuf>,
    summary: Option<&PathBuf>,
) -> crate::Result<i32> {
    if let Some(path) = junit {
        std::fs::write(path, junit_xml(result)?)
            .map_err(|e| crate::Error::io(format!("writing {}", path.display()), e))?;
    }
    if let Some(path) = summary {
        std::fs::write(path, markdown_summary(result))
            .map_err(|e| crate::Error::io(format!("writing {}", path.display()), e))?;
    }
    Ok(if result.passed {
        0
    } else {
        crate::error::EXIT_BUDGET_BROKEN
    })
}

pub fn run(args: GateArgs) -> crate::Result<i32> {
    let result = gate_run(&args.run, &args.budget, args.baseline.as_deref())?;
    if args.json {
        let text = serde_json::to_string_pretty(&result)
            .map_err(|e| crate::Error::Internal(e.to_string()))?;
        println!("{text}");
    } else {
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED);
        t.set_header(vec!["check", "result", "actual", "budget", "detail"]);
        for c in &result.checks {
            let num = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3} {}", c.unit));
            let status = if c.skipped {
                "skipped"
            } else if c.passed {
                "pass"
            } else {
                "FAIL"
            };
            t.add_row(vec![
                c.name.clone(),
                status.into(),
                num(c.actual),
                num(c.limit),
                c.message.clone(),
            ]);
        }
        println!("{t}");
        println!(
            "gate {}: {}",
            if result.passed { "passed" } else { "FAILED" },
            if result.passed {
                "every budget held".to_string()
            } else {
                format!("{} budget(s) broken", result.broken)
            }
        );
    }
    write_outputs(&result, args.junit.as_ref(), args.summary.as_ref())
}
