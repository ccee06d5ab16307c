//! `docling-memprof record`: turn a docling-serve worker log into a replayable workload.

use std::path::PathBuf;

use clap::Args;

use crate::cli::log_limits::LogLimitArgs;
use crate::logs::{parse_file_with, record::record};

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The worker log.
    pub log: PathBuf,
    /// Where to write the workload (JSON).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// The workload's name (default: the log file's stem).
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub limits: LogLimitArgs,
}

pub fn run(args: RecordArgs) -> crate::Result<i32> {
    // Never overwrite the log being read (`record LOG -o LOG`).
    if let (Ok(a), Ok(b)) = (args.log.canonicalize(), args.output.canonicalize()) {
        if a == b {
            return Err(crate::Error::Usage(format!(
                "-o {}: that is the log being read; choose another output file",
                args.output.display()
            )));
        }
    }
    let log = parse_file_with(&args.log, &args.limits.limits())?;
    if log.jobs.is_empty() {
        return Err(crate::Error::bad_input(
            &args.log,
            "file",
            "no job found in the log",
        ));
    }
    let name = args.name.clone().unwrap_or_else(|| {
        args.log
            .file_stem()
            .map_or("recorded".into(), |s| s.to_string_lossy().into_owned())
    });
    let recorded = record(&log, &name);
    if recorded.workload.jobs.is_empty() {
        return Err(crate::Error::bad_input(
            &args.log,
            "file",
            "no job with a document in the log",
        ));
    }
    let text = serde_json::to_string_pretty(&recorded.workload)
        .map_err(|e| crate::Error::Internal(e.to_string()))?;
    std::fs::write(&args.output, text + "\n")
        .map_err(|e| crate::Error::io(format!("writing {}", args.output.display()), e))?;
    for note in &recorded.notes {
        eprintln!("note: {note}");
    }
    if log.unreadable_count > 0 {
        eprintln!("note: {} unreadable line(s) skipped", log.unreadable_count);
    }
    eprintln!(
        "wrote {} ({} job(s), {} document(s))",
        args.output.display(),
        recorded.workload.jobs.len(),
        recorded.workload.documents.len()
    );
    Ok(0)
}
