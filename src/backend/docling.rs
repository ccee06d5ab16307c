//! `--worker docling`: the real docling-serve worker code (docling-jobkit's `docling_task`)
//! in a Python process, driven by `workers/memprof_docling` over the protocol.
//!
//! What the parent decides for the driver, in its environment: which Python runs it
//! (`--python`, `DOCLING_MEMPROF_PYTHON`, else the repository's `.venv-docling`), the
//! allocator preloaded into it (`LD_PRELOAD` of Debian's `libjemalloc.so.2` or
//! `libmimalloc.so.2`, or glibc's malloc), `PYTHONMALLOC`, the model folder, the census
//! policy, and `HF_HUB_OFFLINE=1` (nothing is downloaded). [`DoclingWorker::check`] runs
//! `python -m memprof_docling.check` once before the first job: a Python without docling or
//! docling-jobkit is a usage error naming what is missing and the setup command.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::record::{AllocatorKind, CensusPolicy, PythonMalloc};
use crate::{Error, Result};

/// The command that creates the pinned environment this repository's tests use.
pub const SETUP_COMMAND: &str = "scripts/setup-docling.sh";
/// The Python of the environment `scripts/setup-docling.sh` creates, under the repository.
pub const VENV_PYTHON: &str = ".venv-docling/bin/python";
/// The stand-in model folder `scripts/setup-docling.sh` writes, under the repository.
pub const VENV_ARTIFACTS: &str = ".venv-docling/artifacts";
/// Where Debian's allocator packages put their libraries.
const LIB_DIR: &str = "/usr/lib/x86_64-linux-gnu";

/// How to run the docling driver.
#[derive(Debug, Clone, PartialEq)]
pub struct DoclingWorker {
    pub python: PathBuf,
    /// The folder holding `memprof_docling/` and `memprof_worker/` (put on `PYTHONPATH`).
    pub workers_dir: PathBuf,
    pub allocator: AllocatorKind,
    /// The preloaded library (jemalloc, mimalloc); None for glibc's malloc.
    pub preload: Option<PathBuf>,
    pub python_malloc: PythonMalloc,
    pub census: CensusPolicy,
    /// The model folder when the workload names none.
    pub artifacts: Option<PathBuf>,
    /// What `memprof_docling.check` reported (Python, docling and jobkit versions), plus the
    /// allocator, `PYTHONMALLOC` and whether the weights are stand-ins: recorded in `run.json`.
    pub environment: BTreeMap<String, String>,
}

/// The flags that choose the driver's setup.
#[derive(Debug, Clone, Default)]
pub struct DoclingChoice {
    pub python: Option<PathBuf>,
    pub allocator: Option<AllocatorKind>,
    pub python_malloc: PythonMalloc,
    pub census: CensusPolicy,
    pub artifacts: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct CheckAnswer {
    ok: bool,
    #[serde(default)]
    versions: BTreeMap<String, String>,
    #[serde(default)]
    missing: Vec<String>,
    #[serde(default)]
    message: String,
}

/// The repository the binary was built from (its `workers/` folder holds the driver).
fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The preloaded library for an allocator, checked to exist.
fn preload_of(allocator: AllocatorKind) -> Result<Option<PathBuf>> {
    let (file, package) = match allocator {
        AllocatorKind::System => return Ok(None),
        AllocatorKind::Jemalloc => ("libjemalloc.so.2", "libjemalloc2"),
        AllocatorKind::Mimalloc => ("libmimalloc.so.2", "libmimalloc2.0"),
        AllocatorKind::Dhat => {
            return Err(Error::Usage(
                "--allocator dhat is the Rust core's; the docling driver runs under jemalloc, \
                 mimalloc or system (glibc)"
                    .into(),
            ))
        }
    };
    let path = Path::new(LIB_DIR).join(file);
    if path.is_file() {
        Ok(Some(path))
    } else {
        Err(Error::Usage(format!(
            "--allocator {allocator}: {} not found; install Debian's {package} \
             (apt-get install {package})",
            path.display()
        )))
    }
}

impl DoclingWorker {
    /// The driver as the flags choose it, its Python checked (runs the check, ~10 s).
    pub fn resolve(choice: &DoclingChoice) -> Result<DoclingWorker> {
        let repo = repository();
        let python = match (&choice.python, std::env::var_os("DOCLING_MEMPROF_PYTHON")) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) if !p.is_empty() => PathBuf::from(p),
            _ if repo.join(VENV_PYTHON).is_file() => repo.join(VENV_PYTHON),
            _ => {
                return Err(Error::Usage(format!(
                    "--worker docling: no Python with docling given (--python PATH or \
                     DOCLING_MEMPROF_PYTHON), and {} does not exist: run {SETUP_COMMAND}",
                    repo.join(VENV_PYTHON).display()
                )))
            }
        };
        let allocator = choice.allocator.unwrap_or(AllocatorKind::System);
        let preload = preload_of(allocator)?;
        let artifacts = choice.artifacts.clone().or_else(|| {
            let standin = repo.join(VENV_ARTIFACTS);
            standin.is_dir().then_some(standin)
        });
        let mut worker = DoclingWorker {
            python,
            workers_dir: repo.join("workers"),
            allocator,
            preload,
            python_malloc: choice.python_malloc,
            census: choice.census,
            artifacts,
            environment: BTreeMap::new(),
        };
        worker.environment = worker.check()?;
        Ok(worker)
    }

    /// Run `python -m memprof_docling.check`: the versions, or a usage error naming what is
    /// missing.
    pub fn check(&self) -> Result<BTreeMap<String, String>> {
        let shown = self.python.display();
        let output = Command::new(&self.python)
            .args(["-m", "memprof_docling.check"])
            .env("PYTHONPATH", &self.workers_dir)
            .env("HF_HUB_OFFLINE", "1")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                Error::Usage(format!(
                    "--python {shown}: cannot run it ({e}); run {SETUP_COMMAND} or name a \
                     Python with docling and docling-jobkit"
                ))
            })?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'));
        let answer: CheckAnswer = match line.map(serde_json::from_str) {
            Some(Ok(answer)) => answer,
            _ => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
                return Err(Error::Usage(format!(
                    "--python {shown}: the docling driver's check did not answer ({}): {}",
                    output.status,
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                )));
            }
        };
        if !answer.ok {
            return Err(Error::Usage(format!(
                "--python {shown}: cannot import {} ({}); run {SETUP_COMMAND} or install them \
                 into that Python",
                answer.missing.join(", "),
                answer.message
            )));
        }
        let mut env = answer.versions;
        env.insert("allocator".into(), self.allocator.as_str().into());
        env.insert("python_malloc".into(), self.python_malloc.as_str().into());
        env.insert("census_policy".into(), self.census.as_str().into());
        if let Some(dir) = &self.artifacts {
            env.insert("artifacts_path".into(), dir.display().to_string());
            if let Some(models) = standin_models(dir) {
                env.insert("synthetic_weights".into(), models);
            }
        }
        Ok(env)
    }

    /// The driver's command line and environment.
    pub fn command(&self) -> (PathBuf, Vec<String>, Vec<(String, String)>) {
        let mut env = vec![
            (
                "PYTHONPATH".to_string(),
                self.workers_dir.display().to_string(),
            ),
            ("PYTHONUNBUFFERED".to_string(), "1".to_string()),
            ("HF_HUB_OFFLINE".to_string(), "1".to_string()),
            (
                "DOCLING_MEMPROF_ALLOCATOR".to_string(),
                self.allocator.as_str().to_string(),
            ),
            (
                "DOCLING_MEMPROF_CENSUS".to_string(),
                self.census.as_str().to_string(),
            ),
            (
                "PYTHONMALLOC".to_string(),
                self.python_malloc.as_str().to_string(),
            ),
        ];
        if let Some(lib) = &self.preload {
            env.push(("LD_PRELOAD".to_string(), lib.display().to_string()));
        }
        if let Some(dir) = &self.artifacts {
            env.push((
                "DOCLING_MEMPROF_ARTIFACTS".to_string(),
                dir.display().to_string(),
            ));
        }
        let args = vec!["-m".to_string(), "memprof_docling".to_string()];
        (self.python.clone(), args, env)
    }
}

/// The models a stand-in folder's `STANDIN.json` lists (`layout`), when it is one.
pub fn standin_models(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("STANDIN.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let models: Vec<&str> = value
        .get("models")?
        .as_array()?
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    Some(models.join(","))
}
