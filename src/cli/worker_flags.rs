//! The flags that choose the worker of a replay (`--worker`, `--worker-cmd`, `--allocator`,
//! `--python`, ...), parsed once and turned into a [`Backend`].

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::backend::{Backend, DoclingChoice, DoclingWorker};
use crate::record::{AllocatorKind, CensusPolicy, PythonMalloc, SitesMode};
use crate::{Error, Result};

/// Which worker runs the jobs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum WorkerChoice {
    /// The Rust worker core (this binary as a child process).
    #[default]
    Core,
    /// The real docling-serve worker code: docling-jobkit's `docling_task` in a Python with
    /// docling (`--python`), driven by workers/memprof_docling.
    Docling,
}

/// `--sites`: a site mode, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SitesFlag {
    /// No allocation sites.
    Off,
    /// dhat, one profiler per job (the core under `--allocator dhat`).
    Exact,
    /// The sampling tracker over jemalloc (the core under jemalloc).
    Sampled,
    /// Python's tracemalloc (`--worker docling`).
    Tracemalloc,
    /// jemalloc's own heap profiler, `prof.dump` per job (a build with the cargo feature
    /// `jemalloc-profiling`).
    Jemalloc,
}

impl SitesFlag {
    /// The mode asked for; `None` for `off`. Not given at all, a replay takes
    /// [`WorkerArgs::default_sites`].
    pub fn mode(self) -> Option<SitesMode> {
        match self {
            SitesFlag::Off => None,
            SitesFlag::Exact => Some(SitesMode::Exact),
            SitesFlag::Sampled => Some(SitesMode::Sampled),
            SitesFlag::Tracemalloc => Some(SitesMode::Tracemalloc),
            SitesFlag::Jemalloc => Some(SitesMode::Jemalloc),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// The worker: the Rust core, or the real docling worker code (see docs/docling-worker.md).
    #[arg(long, value_enum, default_value_t = WorkerChoice::Core)]
    pub worker: WorkerChoice,
    /// Run the jobs through an external worker command that speaks the protocol
    /// (docs/protocol.md), e.g. `python3 workers/reference_worker.py`.
    #[arg(long, value_name = "COMMAND", conflicts_with = "worker")]
    pub worker_cmd: Option<String>,
    /// The worker's allocator. The core: jemalloc (default), dhat or system, chosen at start
    /// without rebuilding. The docling driver: system (glibc, default), jemalloc or mimalloc
    /// (Debian's libjemalloc2 / libmimalloc2.0, preloaded).
    #[arg(long, value_enum)]
    pub allocator: Option<AllocatorKind>,
    /// The Python that runs the docling driver (default: DOCLING_MEMPROF_PYTHON, else the
    /// repository's .venv-docling made by scripts/setup-docling.sh).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// PYTHONMALLOC for the docling driver: pymalloc (production; its arenas are invisible to
    /// malloc's statistics) or malloc.
    #[arg(long, value_enum, default_value_t = PythonMalloc::Pymalloc)]
    pub python_malloc: PythonMalloc,
    /// docling's model folder when the workload's worker section names none (default: the
    /// stand-in weights of scripts/setup-docling.sh).
    #[arg(long, value_name = "DIR")]
    pub artifacts_path: Option<PathBuf>,
}

impl WorkerArgs {
    /// The sites a replay records when `--sites` is not given: sampled for the Rust core under
    /// jemalloc with snapshots on (its cost meets issue 14's targets on a quiet machine:
    /// BENCHMARKS.md, "Sites by default"), none otherwise (`--sites off` turns them off).
    pub fn default_sites(&self, snapshots: bool) -> Option<SitesMode> {
        let core_on_jemalloc = self.worker_cmd.is_none()
            && self.worker == WorkerChoice::Core
            && self.allocator.unwrap_or(AllocatorKind::Jemalloc) == AllocatorKind::Jemalloc;
        (snapshots && core_on_jemalloc).then_some(SitesMode::Sampled)
    }

    /// The backend these flags choose; `sites` and `census` must suit it.
    pub fn backend(&self, sites: Option<SitesMode>, census: CensusPolicy) -> Result<Backend> {
        if let Some(line) = &self.worker_cmd {
            if sites == Some(SitesMode::Jemalloc) {
                // The parent puts jemalloc's options in the command's environment too.
                crate::alloc::jemalloc_prof::child_env()?;
            }
            return Backend::command_line(line);
        }
        match self.worker {
            WorkerChoice::Core => {
                for (flag, given) in [
                    ("--python", self.python.is_some()),
                    ("--artifacts-path", self.artifacts_path.is_some()),
                    (
                        "--python-malloc",
                        self.python_malloc != PythonMalloc::Pymalloc,
                    ),
                ] {
                    if given {
                        return Err(Error::Usage(format!("{flag} is for --worker docling")));
                    }
                }
                let allocator = self.allocator.unwrap_or(AllocatorKind::Jemalloc);
                check_core_sites(sites, allocator)?;
                Backend::core(allocator)
            }
            WorkerChoice::Docling => {
                if matches!(
                    sites,
                    Some(SitesMode::Exact | SitesMode::Sampled | SitesMode::Jemalloc)
                ) {
                    return Err(Error::Usage(
                        "--sites exact, sampled and jemalloc are the Rust core's: the docling \
                         driver records Python's sites with --sites tracemalloc"
                            .into(),
                    ));
                }
                let choice = DoclingChoice {
                    python: self.python.clone(),
                    allocator: self.allocator,
                    python_malloc: self.python_malloc,
                    census,
                    artifacts: self.artifacts_path.clone(),
                };
                Ok(Backend::Docling(Box::new(DoclingWorker::resolve(&choice)?)))
            }
        }
    }
}

/// `--sites exact` runs under dhat, `--sites sampled` and `jemalloc` under jemalloc (the latter
/// in a build with the `jemalloc-profiling` feature); mimalloc is the driver's.
fn check_core_sites(sites: Option<SitesMode>, allocator: AllocatorKind) -> Result<()> {
    if allocator == AllocatorKind::Mimalloc {
        return Err(Error::Usage(
            "--allocator mimalloc is for --worker docling; the core runs under jemalloc, dhat \
             or system"
                .into(),
        ));
    }
    match (sites, allocator) {
        (Some(SitesMode::Exact), a) if a != AllocatorKind::Dhat => Err(Error::Usage(
            "--sites exact runs under dhat: add --allocator dhat".into(),
        )),
        (Some(SitesMode::Sampled), a) if a != AllocatorKind::Jemalloc => Err(Error::Usage(
            "--sites sampled runs under jemalloc: use --allocator jemalloc".into(),
        )),
        (Some(SitesMode::Jemalloc), a) if a != AllocatorKind::Jemalloc => Err(Error::Usage(
            "--sites jemalloc is jemalloc's own profiler: use --allocator jemalloc".into(),
        )),
        // A build without the profiler, or a bad DOCLING_MEMPROF_JEMALLOC_LG_SAMPLE: exit 2.
        (Some(SitesMode::Jemalloc), _) => crate::alloc::jemalloc_prof::child_env().map(|_| ()),
        (Some(SitesMode::Tracemalloc), _) => Err(Error::Usage(
            "--sites tracemalloc is Python's: use it with --worker docling".into(),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[arg(long, value_enum)]
        sites: Option<SitesFlag>,
    }

    fn sites(argv: &[&str]) -> Option<SitesMode> {
        let argv = std::iter::once("replay").chain(argv.iter().copied());
        <Cli as clap::Parser>::try_parse_from(argv)
            .expect("flags parse")
            .sites
            .and_then(SitesFlag::mode)
    }

    #[test]
    fn sites_off_is_a_value_and_the_default() {
        assert_eq!(sites(&[]), None);
        assert_eq!(sites(&["--sites", "off"]), None);
        assert_eq!(sites(&["--sites", "sampled"]), Some(SitesMode::Sampled));
        assert_eq!(sites(&["--sites", "exact"]), Some(SitesMode::Exact));
        assert_eq!(
            sites(&["--sites", "tracemalloc"]),
            Some(SitesMode::Tracemalloc)
        );
        assert_eq!(sites(&["--sites", "jemalloc"]), Some(SitesMode::Jemalloc));
    }

    #[derive(clap::Parser)]
    struct Workers {
        #[command(flatten)]
        worker: WorkerArgs,
    }

    fn default_of(argv: &[&str], snapshots: bool) -> Option<SitesMode> {
        let argv = std::iter::once("replay").chain(argv.iter().copied());
        <Workers as clap::Parser>::try_parse_from(argv)
            .expect("flags parse")
            .worker
            .default_sites(snapshots)
    }

    #[test]
    fn sampled_sites_are_the_default_of_the_core_on_jemalloc_only() {
        assert_eq!(default_of(&[], true), Some(SitesMode::Sampled));
        assert_eq!(
            default_of(&["--allocator", "jemalloc"], true),
            Some(SitesMode::Sampled)
        );
        assert_eq!(default_of(&[], false), None, "no snapshots, no sites");
        assert_eq!(default_of(&["--allocator", "system"], true), None);
        assert_eq!(default_of(&["--allocator", "dhat"], true), None);
        assert_eq!(default_of(&["--worker", "docling"], true), None);
        assert_eq!(default_of(&["--worker-cmd", "python3 w.py"], true), None);
    }
}
