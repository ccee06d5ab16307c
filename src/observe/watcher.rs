//! One sample of a watched process tree: `/proc/<pid>/status` of the process and of each
//! descendant (cheap: read at every `--interval`), `smaps_rollup` PSS/USS at a slower rate
//! (it walks every mapping and takes the target's mmap lock), and the memory cgroup's (v2 or v1)
//! files. Nothing here stops or traces the process.

use std::time::{Duration, Instant};

use super::cgroup::Cgroup;
use super::procfs::{self, parse_smaps_rollup, Target};
use super::tree;
use crate::record::{ProcessMemory, ProcessSample, Sample};

/// Samples one process and its descendants.
#[derive(Debug)]
pub struct TreeSampler {
    pid: u32,
    cgroup: Option<Cgroup>,
    smaps_every: Duration,
    last_smaps: Option<Instant>,
    /// `smaps_rollup` was refused (no ptrace-read access to the process): PSS stays unknown.
    pub smaps_denied: Option<String>,
    pub samples: u64,
}

/// Why a process cannot be watched.
#[derive(Debug, thiserror::Error)]
pub enum WatchTargetError {
    #[error("no process with PID {pid} (/proc/{pid} does not exist)")]
    NoSuchProcess { pid: u32 },
    #[error("PID {pid} is a zombie (it exited and waits for its parent to reap it)")]
    Zombie { pid: u32 },
    #[error("cannot read /proc/{pid}/status: {source}")]
    Unreadable {
        pid: u32,
        #[source]
        source: std::io::Error,
    },
}

impl TreeSampler {
    /// Check that `pid` can be read, and find its cgroup.
    pub fn new(pid: u32, smaps_every: Duration) -> Result<TreeSampler, WatchTargetError> {
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            return Err(WatchTargetError::NoSuchProcess { pid });
        }
        if let Err(source) = procfs::read(Target::Pid(pid), false) {
            return Err(match source.kind() {
                std::io::ErrorKind::NotFound => WatchTargetError::NoSuchProcess { pid },
                _ => WatchTargetError::Unreadable { pid, source },
            });
        }
        if matches!(tree::state_and_parent(pid), Some(('Z', _))) {
            return Err(WatchTargetError::Zombie { pid });
        }
        Ok(TreeSampler {
            pid,
            cgroup: Cgroup::of_pid(pid),
            smaps_every,
            last_smaps: None,
            smaps_denied: None,
            samples: 0,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn cgroup(&self) -> Option<&Cgroup> {
        self.cgroup.as_ref()
    }

    /// The watched process's own memory now (status, plus smaps_rollup when `with_smaps`
    /// and readable); None when it is gone.
    pub fn worker_now(&mut self, with_smaps: bool) -> Option<ProcessMemory> {
        let mut memory = procfs::read(Target::Pid(self.pid), false).ok()?;
        if memory.rss_bytes == 0 && !tree::is_alive(self.pid) {
            return None;
        }
        if with_smaps && self.smaps_denied.is_none() {
            self.read_smaps(self.pid, &mut memory);
        }
        Some(memory)
    }

    fn read_smaps(&mut self, pid: u32, memory: &mut ProcessMemory) {
        match std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) {
            Ok(text) => parse_smaps_rollup(&text, memory),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && pid == self.pid => {
                self.smaps_denied = Some(format!(
                    "/proc/{pid}/smaps_rollup: {e} (PSS and USS need ptrace-read access: the same user, or CAP_SYS_PTRACE)"
                ));
            }
            Err(_) => {}
        }
    }

    /// Sample the tree; None when the watched process is gone (or a zombie).
    pub fn sample(&mut self, t_secs: f64, job: Option<u64>) -> Option<Sample> {
        let smaps_due = self.smaps_denied.is_none()
            && self
                .last_smaps
                .is_none_or(|at| at.elapsed() >= self.smaps_every);
        if smaps_due {
            self.last_smaps = Some(Instant::now());
        }
        if !tree::is_alive(self.pid) {
            return None;
        }
        let mut processes = Vec::new();
        for (pid, is_worker) in std::iter::once((self.pid, true))
            .chain(tree::descendants(self.pid).into_iter().map(|p| (p, false)))
        {
            let Ok(mut memory) = procfs::read(Target::Pid(pid), false) else {
                if is_worker {
                    return None;
                }
                continue;
            };
            if smaps_due {
                self.read_smaps(pid, &mut memory);
            }
            processes.push(ProcessSample {
                pid,
                comm: tree::comm(pid),
                is_worker,
                memory,
            });
        }
        self.samples += 1;
        Some(Sample {
            t_secs,
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            job,
            total: total_of(&processes),
            processes,
            cgroup: self.cgroup.as_ref().and_then(Cgroup::read),
        })
    }
}

fn sum(values: impl Iterator<Item = Option<u64>>) -> Option<u64> {
    values.sum()
}

/// The sums over the processes (a part is known only when every process's is).
pub fn total_of(processes: &[ProcessSample]) -> ProcessMemory {
    let all = || processes.iter().map(|p| &p.memory);
    ProcessMemory {
        rss_bytes: all().map(|m| m.rss_bytes).sum(),
        rss_anon_bytes: sum(all().map(|m| m.rss_anon_bytes)),
        rss_file_bytes: sum(all().map(|m| m.rss_file_bytes)),
        rss_shmem_bytes: sum(all().map(|m| m.rss_shmem_bytes)),
        pss_bytes: sum(all().map(|m| m.pss_bytes)),
        uss_bytes: sum(all().map(|m| m.uss_bytes)),
        vm_size_bytes: sum(all().map(|m| m.vm_size_bytes)),
        vm_hwm_bytes: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_process_and_refuses_a_missing_one() {
        let mut sampler = TreeSampler::new(std::process::id(), Duration::ZERO).expect("self");
        let sample = sampler.sample(0.0, None).expect("alive");
        let worker = sample.worker().expect("worker first");
        assert!(worker.rss_bytes > 0);
        assert!(worker.pss_bytes.is_some(), "smaps_rollup of ourselves");
        assert!(sample.total.rss_bytes >= worker.rss_bytes);
        assert!(matches!(
            TreeSampler::new(u32::MAX - 1, Duration::ZERO),
            Err(WatchTargetError::NoSuchProcess { .. })
        ));
    }
}
