//! The run folder: `run.json` (rewritten atomically at start and end), `jobs.jsonl` (one line
//! per job, flushed as each job ends), `worker.log` (the child's log lines), `documents/`
//! (generated documents) and `scratch/` (the worker's scratch folder).
//! Formats are documented in `docs/run-format.md`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use super::record::{JobRecord, RunManifest};
use crate::{Error, Result};

pub const RUN_JSON: &str = "run.json";
pub const JOBS_JSONL: &str = "jobs.jsonl";
pub const WORKER_LOG: &str = "worker.log";
pub const DOCUMENTS_DIR: &str = "documents";
pub const SCRATCH_DIR: &str = "scratch";

/// An open run folder.
#[derive(Debug)]
pub struct RunFolder {
    dir: PathBuf,
    jobs: File,
}

impl RunFolder {
    /// Create the folder (and its parents). Refuses a folder that already holds a run.
    pub fn create(dir: &Path) -> Result<RunFolder> {
        if dir.join(RUN_JSON).exists() || dir.join(JOBS_JSONL).exists() {
            return Err(Error::Usage(format!(
                "{} already holds a run (run.json / jobs.jsonl); choose another --out",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let jobs_path = dir.join(JOBS_JSONL);
        let jobs = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&jobs_path)
            .map_err(|e| Error::io(format!("creating {}", jobs_path.display()), e))?;
        Ok(RunFolder {
            dir: dir.to_path_buf(),
            jobs,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn worker_log_path(&self) -> PathBuf {
        self.dir.join(WORKER_LOG)
    }

    pub fn documents_dir(&self) -> PathBuf {
        self.dir.join(DOCUMENTS_DIR)
    }

    pub fn scratch_dir(&self) -> PathBuf {
        self.dir.join(SCRATCH_DIR)
    }

    /// Write `run.json` atomically (temporary file, then rename).
    pub fn write_manifest(&self, manifest: &RunManifest) -> Result<()> {
        let path = self.dir.join(RUN_JSON);
        let tmp = self.dir.join(".run.json.tmp");
        let text = serde_json::to_string_pretty(manifest)
            .map_err(|e| Error::Internal(format!("run.json: {e}")))?;
        std::fs::write(&tmp, text + "\n")
            .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))
    }

    /// Append one record to `jobs.jsonl` and flush it to the file.
    pub fn append_job(&mut self, record: &JobRecord) -> Result<()> {
        let mut line = serde_json::to_vec(record)
            .map_err(|e| Error::Internal(format!("jobs.jsonl record: {e}")))?;
        line.push(b'\n');
        self.jobs
            .write_all(&line)
            .and_then(|()| self.jobs.flush())
            .map_err(|e| {
                Error::io(
                    format!("writing {}", self.dir.join(JOBS_JSONL).display()),
                    e,
                )
            })
    }
}

/// Read a run folder back: its manifest and its job records (in file order).
pub fn read_run(dir: &Path) -> Result<(RunManifest, Vec<JobRecord>)> {
    let run_path = dir.join(RUN_JSON);
    let text = std::fs::read_to_string(&run_path)
        .map_err(|e| Error::bad_input(&run_path, "$", format!("cannot read run.json: {e}")))?;
    let manifest: RunManifest = serde_json::from_str(&text)
        .map_err(|e| Error::bad_input(&run_path, "$", format!("not a run.json: {e}")))?;
    Ok((manifest, read_jobs(&dir.join(JOBS_JSONL))?))
}

/// Read `jobs.jsonl`. Every line must be a record; a torn last line (a run killed while
/// writing it) is skipped.
pub fn read_jobs(path: &Path) -> Result<Vec<JobRecord>> {
    let file = File::open(path)
        .map_err(|e| Error::bad_input(path, "$", format!("cannot read jobs.jsonl: {e}")))?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let last = lines.len();
    let mut records = Vec::with_capacity(last);
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<JobRecord>(line) {
            Ok(record) => records.push(record),
            Err(_) if i + 1 == last && !line.ends_with('}') => {}
            Err(e) => {
                return Err(Error::bad_input(
                    path,
                    format!("line {}", i + 1),
                    e.to_string(),
                ))
            }
        }
    }
    Ok(records)
}

/// A log file the child's stderr is copied into, line by line.
pub fn open_log_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))
}
