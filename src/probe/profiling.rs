//! The worker child's profiling options: census, allocation sites, owner chains.
//!
//! [`Profiler::start`] turns on what [`ProfilingOptions`] ask for (once per child process) and
//! hands out the census and site hooks for the [`super::Prober`]. After each snapshot the child
//! calls [`Profiler::after_snapshot`], which appends a [`ProfileRecord`] (owner tree, unreachable objects,
//! job-tagged survivors) to `profile.jsonl` in the run folder and rewrites `sites.collapsed`
//! (the live sites as collapsed stacks, for flamegraph tools; exact mode: in sampled mode the
//! snapshot carries raw stacks and the parent writes both, `engine/sites.rs`). Replay's snapshots carry the
//! census and the site table themselves; `profile.jsonl` carries what has no place there.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::take::{CensusHook, SitesHook};
use crate::alloc::sites::{self, SiteSurvivors, StackBytes};
use crate::alloc::{dhat_sites, jemalloc_prof, sampling};
use crate::census::{self, owners, owners::OwnerNode};
use crate::record::{Snapshot, SnapshotKind, TypeCount};
use crate::{Error, Result};

/// One line per snapshot with profiling extras.
pub const PROFILE_JSONL: &str = "profile.jsonl";
/// The last snapshot's live allocation sites as collapsed stacks.
pub const SITES_COLLAPSED: &str = "sites.collapsed";

pub use crate::record::SitesMode;

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

/// The profiling of one worker process: a value the child owns (the allocator-level
/// trackers it switches on are process-wide by nature: they live in [`crate::alloc`]).
#[derive(Debug)]
pub struct Profiler {
    options: ProfilingOptions,
    last: Arc<Mutex<Last>>,
    job: Arc<Mutex<u64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Profiler {
    /// Turn on what `options` ask for; returns the profiler and the prober's census and site hooks.
    pub fn start(
        options: ProfilingOptions,
    ) -> Result<(Profiler, Option<CensusHook>, Option<SitesHook>)> {
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
            Some(SitesMode::Tracemalloc) => {
                return Err(Error::Usage(
                    "--sites tracemalloc is Python's: use it with --worker docling".into(),
                ))
            }
            Some(SitesMode::Jemalloc) => start_jemalloc_prof(options.run_dir.as_deref())?,
            None => {}
        }
        let last = Arc::new(Mutex::new(Last::default()));
        let job = Arc::new(Mutex::new(0u64));
        let census_hook: Option<CensusHook> = options
            .census
            .then(|| Box::new(census::census_snapshot) as CensusHook);
        let run_dir = options.run_dir.clone();
        let sites_hook: Option<SitesHook> = options.sites.map(|mode| {
            let (last, job, top_n) = (Arc::clone(&last), Arc::clone(&job), options.top_n);
            let run_dir = run_dir.clone();
            Box::new(move |kind: SnapshotKind| {
                let job = *lock(&job);
                match mode {
                    // Raw stacks: the parent symbolises them, survivors and collapsed stacks
                    // included (crate::symbols).
                    SitesMode::Sampled => (None, sampling::raw_report()),
                    // The job's profiler is finished at its after-job snapshot (and at the
                    // baseline); a clear's snapshot has no profile of its own.
                    SitesMode::Exact if kind == SnapshotKind::AfterClear => (None, None),
                    SitesMode::Tracemalloc => (None, None),
                    // A `prof.dump` for jeprof; the snapshot carries no sites of its own.
                    SitesMode::Jemalloc => {
                        if let Some(dir) = run_dir.as_deref() {
                            let path = jemalloc_prof::dump_path(
                                dir,
                                job,
                                kind == SnapshotKind::AfterClear,
                            );
                            if let Err(err) = jemalloc_prof::dump(&path) {
                                log::warn!("{err}");
                            }
                        }
                        (None, None)
                    }
                    SitesMode::Exact => {
                        let Some(report) = dhat_sites::finish_job(job, top_n) else {
                            return (None, None);
                        };
                        *lock(&last) = Last {
                            survivors: report.survivors,
                            stacks: report.stacks,
                        };
                        (Some(report.table), None)
                    }
                }
            }) as SitesHook
        });
        Ok((Profiler { options, last, job }, census_hook, sites_hook))
    }

    /// A job starts: blocks allocated from now on are tagged with `job` (1-based).
    pub fn job_started(&self, job: u64) {
        sampling::set_job(job);
        *lock(&self.job) = job;
    }

    /// Whether owner trees are wanted (the census is on).
    pub fn wants_owners(&self) -> bool {
        self.options.census
    }

    /// After a snapshot: append its [`ProfileRecord`] (with the worker's owner tree, when the
    /// census is on) to `profile.jsonl` and rewrite `sites.collapsed`. Failures to write go to
    /// the log: profiling never fails a job.
    pub fn after_snapshot(&self, job: u64, owners: Option<OwnerNode>, snapshot: Option<&Snapshot>) {
        let active = self;
        let Some(dir) = active.options.run_dir.as_deref() else {
            return;
        };
        let Some(snapshot) = snapshot else {
            return;
        };
        let owners = if active.options.census { owners } else { None };
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
}

/// `--sites jemalloc` in the child: jemalloc's profiler must be running (the parent set
/// `_RJEM_MALLOC_CONF`), and the dumps' folder is made.
fn start_jemalloc_prof(run_dir: Option<&Path>) -> Result<()> {
    if !(crate::alloc::is_installed()
        && crate::alloc::selected() == crate::alloc::AllocatorKind::Jemalloc)
    {
        return Err(Error::Usage(
            "--sites jemalloc runs under jemalloc (--allocator jemalloc)".into(),
        ));
    }
    jemalloc_prof::check_running()?;
    let dir = run_dir
        .ok_or_else(|| Error::Usage("--sites jemalloc needs a run folder for its dumps".into()))?
        .join(jemalloc_prof::DUMP_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))
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
