//! The run folder: `run.json` (rewritten atomically at start and end), `jobs.jsonl` (one line
//! per job, flushed as each job ends), `worker.log` (the child's log lines), `documents/`
//! (generated documents) and `scratch/` (the worker's scratch folder).
//! Formats are documented in `docs/run-format.md`.

use std::fs::{File, OpenOptions};
use std::io::Write;
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

/// A run folder's records.
#[derive(Debug, Clone)]
pub struct LoadedRun {
    pub manifest: RunManifest,
    pub jobs: Vec<JobRecord>,
    /// The last line of `jobs.jsonl` was cut short (the run was killed while writing it).
    pub truncated_last_line: bool,
}

/// Read `run.json` and `jobs.jsonl` of a run folder.
pub fn load_run(dir: &Path) -> Result<LoadedRun> {
    if !dir.is_dir() {
        return Err(Error::bad_input(
            dir,
            "folder",
            "not a run folder (expected run.json and jobs.jsonl)",
        ));
    }
    let manifest_path = dir.join("run.json");
    let text = std::fs::read_to_string(&manifest_path)
        .map_err(|e| Error::bad_input(&manifest_path, "file", format!("cannot read: {e}")))?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let manifest: RunManifest = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        Error::bad_input(
            &manifest_path,
            format!("$.{}", e.path()),
            e.inner().to_string(),
        )
    })?;
    let (jobs, truncated_last_line) = load_jobs(&dir.join("jobs.jsonl"))?;
    Ok(LoadedRun {
        manifest,
        jobs,
        truncated_last_line,
    })
}

/// Read `jobs.jsonl`: every line must parse, except a last line without its newline (cut short).
pub fn load_jobs(path: &Path) -> Result<(Vec<JobRecord>, bool)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::bad_input(path, "file", format!("cannot read: {e}")))?;
    let ends_with_newline = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut jobs = Vec::with_capacity(lines.len());
    let mut truncated = false;
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut de = serde_json::Deserializer::from_str(line);
        match serde_path_to_error::deserialize::<_, JobRecord>(&mut de) {
            Ok(job) => jobs.push(job),
            Err(e) => {
                let last = i + 1 == lines.len();
                if last && !ends_with_newline && e.inner().is_eof() {
                    truncated = true;
                    continue;
                }
                return Err(Error::bad_input(
                    path,
                    format!("line {} $.{}", i + 1, e.path()),
                    e.inner().to_string(),
                ));
            }
        }
    }
    Ok((jobs, truncated))
}

/// `run.json` and the records of `jobs.jsonl` ([`load_run`] without the torn-line flag).
pub fn read_run(dir: &Path) -> Result<(RunManifest, Vec<JobRecord>)> {
    let run = load_run(dir)?;
    Ok((run.manifest, run.jobs))
}

/// The records of `jobs.jsonl` ([`load_jobs`] without the torn-line flag).
pub fn read_jobs(path: &Path) -> Result<Vec<JobRecord>> {
    Ok(load_jobs(path)?.0)
}

/// A log file the child's stderr is copied into, line by line.
pub fn open_log_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))
}
