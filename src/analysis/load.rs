//! Reading a run folder: `run.json` (a [`RunManifest`]) and `jobs.jsonl` (one [`JobRecord`] per
//! line). Errors name the file and the line; a truncated last line (a killed run) is tolerated.

use std::path::Path;

use crate::runner::{JobRecord, RunManifest};

/// A run folder's records.
#[derive(Debug, Clone)]
pub struct LoadedRun {
    pub manifest: RunManifest,
    pub jobs: Vec<JobRecord>,
    /// The last line of `jobs.jsonl` was cut short (the run was killed while writing it).
    pub truncated_last_line: bool,
}

/// Read `run.json` and `jobs.jsonl` of a run folder.
pub fn load_run(dir: &Path) -> crate::Result<LoadedRun> {
    if !dir.is_dir() {
        return Err(crate::Error::bad_input(
            dir,
            "folder",
            "not a run folder (expected run.json and jobs.jsonl)",
        ));
    }
    let manifest_path = dir.join("run.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        crate::Error::bad_input(&manifest_path, "file", format!("cannot read: {e}"))
    })?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let manifest: RunManifest = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        crate::Error::bad_input(
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
pub fn load_jobs(path: &Path) -> crate::Result<(Vec<JobRecord>, bool)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::Error::bad_input(path, "file", format!("cannot read: {e}")))?;
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
                return Err(crate::Error::bad_input(
                    path,
                    format!("line {} $.{}", i + 1, e.path()),
                    e.inner().to_string(),
                ));
            }
        }
    }
    Ok((jobs, truncated))
}
