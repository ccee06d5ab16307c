//! A replay in its own process: this binary's `replay` run as a child, so that each policy of
//! a sweep (and each candidate of `minimize`) has its own process, its own run folder and its
//! own signal handling, and runs exactly the code a user's `replay` runs.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::cancel::Cancel;
use crate::{Error, Result};

/// How to start `docling-memprof replay` as a child.
#[derive(Debug, Clone)]
pub struct ChildReplay {
    /// The docling-memprof binary.
    pub exe: PathBuf,
    /// Flags every replay gets (`--memory-limit 1GiB`, `--no-charts`, ...).
    pub shared: Vec<String>,
}

/// How a child replay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildExit {
    /// The exit code (128 + the signal for a child killed by one).
    pub code: i32,
}

impl ChildReplay {
    /// The binary running now.
    pub fn current(shared: Vec<String>) -> Result<ChildReplay> {
        let exe = std::env::current_exe()
            .map_err(|e| Error::io("locating the docling-memprof binary", e))?;
        Ok(ChildReplay { exe, shared })
    }

    /// The command line of one replay (for the steps report and `sweep.md`).
    pub fn argv(&self, workload: &Path, out: &Path, args: &[String]) -> Vec<String> {
        let mut argv = vec![
            "replay".to_string(),
            workload.display().to_string(),
            "--out".into(),
            out.display().to_string(),
            "--quiet".into(),
        ];
        argv.extend(self.shared.iter().cloned());
        argv.extend(args.iter().cloned());
        argv
    }

    /// Run one replay into `out`, its stdout and stderr into `log`. When `cancel` is set the
    /// child is sent SIGTERM (it ends its run as interrupted, keeping its records) and waited for.
    pub fn run(
        &self,
        workload: &Path,
        out: &Path,
        args: &[String],
        log: &Path,
        cancel: &Cancel,
    ) -> Result<ChildExit> {
        let file =
            File::create(log).map_err(|e| Error::io(format!("creating {}", log.display()), e))?;
        let err = file
            .try_clone()
            .map_err(|e| Error::io(format!("opening {}", log.display()), e))?;
        let mut child = Command::new(&self.exe)
            .args(self.argv(workload, out, args))
            .stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .env_remove("DOCLING_MEMPROF_TEST_ABORT_AT_JOB")
            .spawn()
            .map_err(|e| Error::io(format!("starting {} replay", self.exe.display()), e))?;
        let mut signalled = false;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    use std::os::unix::process::ExitStatusExt;
                    let code = status
                        .code()
                        .or_else(|| status.signal().map(|s| 128 + s))
                        .unwrap_or(crate::error::EXIT_INTERNAL);
                    return Ok(ChildExit { code });
                }
                Ok(None) => {}
                Err(e) => return Err(Error::io("waiting for a replay", e)),
            }
            if cancel.is_cancelled() && !signalled {
                if let Ok(pid) = i32::try_from(child.id()) {
                    // SAFETY: kill(2) on our own child's pid, which is not reaped yet.
                    unsafe {
                        libc::kill(pid, libc::SIGTERM);
                    }
                }
                signalled = true;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}
