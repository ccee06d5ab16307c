//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The project's root folder.
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared docling test corpus, or `None` (with a message on stderr) when it is absent.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("DOCLING_MEMPROF_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("../shared/corpus/docling-tests"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: corpus not found at {} (set DOCLING_MEMPROF_CORPUS)",
            dir.display()
        );
        None
    }
}

/// The built `docling-memprof` binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_docling-memprof"))
}

/// The Python interpreter for the workers in `workers/`. Missing Python fails the test under
/// `CI=true` (the CI installs it); elsewhere the test is skipped with a message.
pub fn python3() -> Option<PathBuf> {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(PathBuf::from("python3"));
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("python3 is needed for the workers/ tests and CI=true: install Python 3");
    }
    eprintln!("SKIPPED: python3 not found");
    None
}

/// The Python of the pinned docling environment (`scripts/setup-docling.sh`). Missing, it
/// fails the test under `CI=true` (`.ci/run` sets it up); elsewhere the test is skipped with a
/// message naming the setup command.
pub fn docling_python() -> Option<PathBuf> {
    let python = std::env::var_os("DOCLING_MEMPROF_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join(".venv-docling/bin/python"));
    if python.is_file() {
        return Some(python);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "{} not found and CI=true: run scripts/setup-docling.sh (.ci/run does)",
            python.display()
        );
    }
    eprintln!(
        "SKIPPED: {} not found: run scripts/setup-docling.sh for the docling worker tests",
        python.display()
    );
    None
}
