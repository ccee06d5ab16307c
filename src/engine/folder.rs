//! The run folder: `run.json` (rewritten atomically at start and end), `jobs.jsonl` (one line
//! per job, flushed as each job ends), `worker.log` (the child's log lines), `documents/`
//! (generated documents) and `scratch/` (the worker's scratch folder).
//! Formats are documented in `docs/run-format.md`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::events::{Event, Observer};
use crate::probe::profiling::{ProfileRecord, PROFILE_JSONL};
use crate::record::{
    JobRecord, RunManifest, Sample, OLDEST_READABLE_SCHEMA_VERSION, RECORD_SCHEMA_VERSION,
};
use crate::{Error, Result};

pub const RUN_JSON: &str = "run.json";
pub const JOBS_JSONL: &str = "jobs.jsonl";
pub const WORKER_LOG: &str = "worker.log";
pub const SAMPLES_JSONL: &str = "samples.jsonl";
pub const DOCUMENTS_DIR: &str = "documents";
pub const SCRATCH_DIR: &str = "scratch";
/// Bounds of a run folder's files read back (docs/limits.md).
pub const MAX_RUN_JSON_BYTES: u64 = 256 * 1024 * 1024;
pub const MAX_JOBS_JSONL_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// An open run folder.
#[derive(Debug)]
pub struct RunFolder {
    dir: PathBuf,
    jobs: File,
    /// `samples.jsonl`, opened at the first sample (`watch` only).
    samples: Option<File>,
}

impl RunFolder {
    /// Create the folder (and its parents). Refuses a folder that already holds a run; the
    /// claim is atomic (`jobs.jsonl` is created exclusively), so two replays into one `--out`
    /// cannot both write it.
    pub fn create(dir: &Path) -> Result<RunFolder> {
        let held = || {
            Error::Usage(format!(
                "{} already holds a run (run.json / jobs.jsonl); choose another --out",
                dir.display()
            ))
        };
        if dir.join(RUN_JSON).exists() || dir.join(JOBS_JSONL).exists() {
            return Err(held());
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let jobs_path = dir.join(JOBS_JSONL);
        let jobs = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&jobs_path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => held(),
                _ => Error::io(format!("creating {}", jobs_path.display()), e),
            })?;
        Ok(RunFolder {
            dir: dir.to_path_buf(),
            jobs,
            samples: None,
        })
    }

    /// Give the folder up before any job ran (the workload failed at its generate step): the
    /// files the claim made are removed, so a later run may use the folder.
    pub fn abandon(self) {
        let _ = std::fs::remove_file(self.dir.join(JOBS_JSONL));
        let _ = std::fs::remove_dir_all(self.dir.join(DOCUMENTS_DIR));
        // Only when nothing else is left in it (a folder the user made stays).
        let _ = std::fs::remove_dir(&self.dir);
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

impl RunFolder {
    /// Append one sample to `samples.jsonl` and flush it to the file.
    pub fn append_sample(&mut self, sample: &Sample) -> Result<()> {
        let path = self.dir.join(SAMPLES_JSONL);
        let mut line = serde_json::to_vec(sample)
            .map_err(|e| Error::Internal(format!("samples.jsonl record: {e}")))?;
        line.push(b'\n');
        if self.samples.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
            self.samples = Some(file);
        }
        let Some(file) = self.samples.as_mut() else {
            return Ok(());
        };
        file.write_all(&line)
            .and_then(|()| file.flush())
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))
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
    let text = Error::read_text_input(&manifest_path, MAX_RUN_JSON_BYTES, "run.json")?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let manifest: RunManifest = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        Error::bad_input(
            &manifest_path,
            format!("$.{}", e.path()),
            e.inner().to_string(),
        )
    })?;
    check_version(&manifest_path, manifest.schema_version)?;
    let (jobs, truncated_last_line) = load_jobs(&dir.join("jobs.jsonl"))?;
    Ok(LoadedRun {
        manifest,
        jobs,
        truncated_last_line,
    })
}

/// Read `jobs.jsonl`: every line must parse, except a last line without its newline (cut short).
pub fn load_jobs(path: &Path) -> Result<(Vec<JobRecord>, bool)> {
    let mut text = Error::read_text_input(path, MAX_JOBS_JSONL_BYTES, "jobs.jsonl")?;
    // What a crash leaves on ext4: a tail of NUL bytes after the last full line.
    let kept = text.trim_end_matches('\0').len();
    text.truncate(kept);
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
            Ok(job) => {
                // Records are appended in job order, one per job: 1, 2, 3, ...
                let expected = jobs.len() as u64 + 1;
                if job.job != expected {
                    return Err(Error::bad_input(
                        path,
                        format!("line {} $.job", i + 1),
                        format!(
                            "job {} where job {expected} was expected (records are one per job, in order)",
                            job.job
                        ),
                    ));
                }
                jobs.push(job)
            }
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

/// Refuse a format version this build does not read.
fn check_version(path: &Path, version: u32) -> Result<()> {
    if (OLDEST_READABLE_SCHEMA_VERSION..=RECORD_SCHEMA_VERSION).contains(&version) {
        return Ok(());
    }
    Err(Error::bad_input(
        path,
        "$.schema_version",
        format!(
            "version {version} is not one this docling-memprof reads ({OLDEST_READABLE_SCHEMA_VERSION} to {RECORD_SCHEMA_VERSION})"
        ),
    ))
}

/// Read `profile.jsonl` of a run folder (empty when the run had no profiling). A torn last
/// line is skipped; any other bad line is bad input.
pub fn load_profile(dir: &Path) -> Result<Vec<ProfileRecord>> {
    let path = dir.join(PROFILE_JSONL);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        _ => {}
    }
    // Bounded and regular files only, as `jobs.jsonl` (`/dev/zero` here grew until killed).
    let text = Error::read_text_input(&path, MAX_JOBS_JSONL_BYTES, "profile.jsonl")?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str(line) {
            Ok(record) => out.push(record),
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => break,
            Err(e) => {
                return Err(Error::bad_input(
                    &path,
                    format!("line {}", i + 1),
                    e.to_string(),
                ))
            }
        }
    }
    Ok(out)
}

/// The run folder as an observer: `run.json` rewritten at the start, at each worker start and
/// at the end; each job's record appended to `jobs.jsonl` and flushed as it comes.
#[derive(Debug)]
pub struct FolderWriter {
    pub folder: RunFolder,
}

impl Observer for FolderWriter {
    fn on_event(&mut self, event: &Event<'_>) -> Result<()> {
        match event {
            Event::RunStarted { manifest }
            | Event::WorkerStarted { manifest, .. }
            | Event::RunEnded { manifest } => self.folder.write_manifest(manifest),
            Event::JobDone { record } => self.folder.append_job(record),
            Event::Sampled { sample } => self.folder.append_sample(sample),
            _ => Ok(()),
        }
    }
}

/// `run.json` and the records of `jobs.jsonl` ([`load_run`] without the torn-line flag).
pub fn read_run(dir: &Path) -> Result<(RunManifest, Vec<JobRecord>)> {
    let run = load_run(dir)?;
    Ok((run.manifest, run.jobs))
}
