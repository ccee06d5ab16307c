//! The worker child's profiling options: census, allocation sites, owner chains.
//!
//! [`start`] turns on what [`ProfilingOptions`] ask for (once per child process) and returns
//! the census and site hooks for the [`super::Prober`]. After each snapshot the child calls
//! [`after_snapshot`], which appends a [`ProfileRecord`] (owner tree, unreachable objects,
//! job-tagged survivors) to `profile.jsonl` in the run folder and rewrites `sites.collapsed`
//! (the live sites as collapsed stacks, for flamegraph tools). Replay's snapshots carry the
//! census and the site table themselves; `profile.jsonl` carries what has no place there.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::census;
use super::owners::{self, OwnerNode};
use super::sites::{self, SiteSurvivors, StackBytes};
use super::take::{CensusHook, SitesHook};
use super::{Snapshot, SnapshotKind, TypeCount};
use crate::alloc::{dhat_sites, sampling};
use crate::worker::Worker;
use crate::{Error, Result};

/// One line per snapshot with profiling extras.
pub const PROFILE_JSONL: &str = "profile.jsonl";
/// The last snapshot's live allocation sites as collapsed stacks.
pub const SITES_COLLAPSED: &str = "sites.collapsed";

/// Allocation-site modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SitesMode {
    /// dhat, one profiler per job: exact bytes allocated in each job and live at its end.
    Exact,
    /// A sampling tracker over jemalloc: estimates with standard errors.
    Sampled,
}

impl SitesMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SitesMode::Exact => "exact",
            SitesMode::Sampled => "sampled",
        }
    }

    pub fn from_name(name: &str) -> Option<SitesMode> {
        match name.trim() {
            "exact" => Some(SitesMode::Exact),
            "sampled" => Some(SitesMode::Sampled),
            _ => None,
        }
    }
}

/// What the child profiles.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfilingOptions {
    pub census: bool,
    pub sites: Option<SitesMode>,
    /// The run folder (`profile.jsonl`, `sites.collapsed`, `dhat-heap.json`); nothing is
    /// written without one.
    pub run_dir: Option<PathBuf>,
    pub top_n: usize,
}

/// Profiling extras of one snapshot (a line of `profile.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileRecord {
    /// The job the snapshot followed (0 for a baseline).
    pub job: u64,
    pub kind: SnapshotKind,
    pub worker_pid: u32,
    /// The worker's owner tree (with the census on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owners: Option<OwnerNode>,
    /// Counted objects alive but not reached from the worker.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreachable: Vec<TypeCount>,
    /// Sites mode and, per top site, live bytes by allocating job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sites_mode: Option<SitesMode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub survivors: Vec<SiteSurvivors>,
}

#[derive(Debug, Default)]
struct Last {
    survivors: Vec<SiteSurvivors>,
    stacks: Vec<StackBytes>,
}

#[derive(Debug)]
struct Active {
    options: ProfilingOptions,
    last: Arc<Mutex<Last>>,
    job: Arc<Mutex<u64>>,
}

static ACTIVE: Mutex<Option<Active>> = Mutex::new(None);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Turn on what `options` ask for; returns the prober's census and site hooks.
pub fn start(options: ProfilingOptions) -> Result<(Option<CensusHook>, Option<SitesHook>)> {
    census::set_enabled(options.census);
    match options.sites {
        Some(SitesMode::Exact) => {
            let dir = options.run_dir.clone().ok_or_else(|| {
                Error::Usage("--sites exact needs a run folder for its profiles".into())
            })?;
            dhat_sites::enable(&dir)?;
            // The profiler running since start was built before exact mode: restart it so the
            // baseline's profile is written.
            crate::alloc::dhat::start_job_profiler();
        }
        Some(SitesMode::Sampled) => {
            if !(crate::alloc::is_installed()
                && crate::alloc::selected() == crate::alloc::AllocatorKind::Jemalloc)
            {
                return Err(Error::Usage(
                    "--sites sampled runs under jemalloc (--allocator jemalloc)".into(),
                ));
            }
            sampling::enable(sampling::config_from_env());
        }
        None => {}
    }
    let last = Arc::new(Mutex::new(Last::default()));
    let job = Arc::new(Mutex::new(0u64));
    let census_hook: Option<CensusHook> = options
        .census
        .then(|| Box::new(census::census_snapshot) as CensusHook);
    let sites_hook: Option<SitesHook> = options.sites.map(|mode| {
        let (last, job, top_n) = (Arc::clone(&last), Arc::clone(&job), options.top_n);
        Box::new(move |kind: SnapshotKind| {
            let job = *lock(&job);
            let (table, survivors, stacks) = match mode {
                SitesMode::Sampled => {
                    let report = sampling::site_report(top_n)?;
                    (report.table, report.survivors, report.stacks)
                }
                // The job's profiler is finished at its after-job snapshot (and at the
                // baseline); a clear's snapshot has no profile of its own.
                SitesMode::Exact if kind == SnapshotKind::AfterClear => return None,
                SitesMode::Exact => {
                    let report = dhat_sites::finish_job(job, top_n)?;
                    (report.table, report.survivors, report.stacks)
                }
            };
            *lock(&last) = Last { survivors, stacks };
            Some(table)
        }) as SitesHook
    });
    *lock(&ACTIVE) = Some(Active { options, last, job });
    Ok((census_hook, sites_hook))
}

/// A job starts: blocks allocated from now on are tagged with `job` (1-based).
pub fn job_started(job: u64) {
    sampling::set_job(job);
    if let Some(active) = lock(&ACTIVE).as_ref() {
        *lock(&active.job) = job;
    }
}

/// After a snapshot of `worker`: append its [`ProfileRecord`] to `profile.jsonl` and rewrite
/// `sites.collapsed`. Failures to write go to the log: profiling never fails a job.
pub fn after_snapshot(job: u64, worker: &Worker, snapshot: Option<&Snapshot>) {
    let guard = lock(&ACTIVE);
    let Some(active) = guard.as_ref() else {
        return;
    };
    let Some(dir) = active.options.run_dir.as_deref() else {
        return;
    };
    let Some(snapshot) = snapshot else {
        return;
    };
    let owners = active.options.census.then(|| owners::owner_tree(worker));
    let unreachable = owners
        .as_ref()
        .map(|tree| owners::unreachable(&snapshot.census, tree))
        .unwrap_or_default();
    let last = std::mem::take(&mut *lock(&active.last));
    let record = ProfileRecord {
        job,
        kind: snapshot.kind,
        worker_pid: std::process::id(),
        owners,
        unreachable,
        sites_mode: active.options.sites,
        survivors: last.survivors,
    };
    if let Err(err) = append_record(dir, &record) {
        log::warn!("profile.jsonl: {err}");
    }
    if !last.stacks.is_empty() {
        let path = dir.join(SITES_COLLAPSED);
        if let Err(err) = std::fs::write(&path, sites::collapsed_stacks(&last.stacks)) {
            log::warn!("{}: {err}", path.display());
        }
    }
}

fn append_record(dir: &Path, record: &ProfileRecord) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(PROFILE_JSONL))?;
    file.write_all(&line)
}

/// Read `profile.jsonl` of a run folder (empty when the run had no profiling). A torn last
/// line is skipped; any other bad line is bad input.
pub fn read_profile(dir: &Path) -> Result<Vec<ProfileRecord>> {
    let path = dir.join(PROFILE_JSONL);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
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
