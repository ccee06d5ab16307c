//! The memory of a process's cgroup v2 (a container's, a pod's): `memory.current` (what the
//! OOM killer compares with `memory.max`), `memory.stat` (`anon`, `file`, `inactive_file`),
//! the working set (`memory.current - inactive_file`: what `kubectl top` shows and the
//! kubelet's eviction uses) and `memory.events` (`oom`, `oom_kill`). The cgroup is found from
//! `/proc/<pid>/cgroup` (`0::/path`) under the cgroup2 mount of `/proc/self/mountinfo`.

use std::path::{Path, PathBuf};

pub use crate::record::CgroupMemory;

/// A cgroup v2 folder with the memory controller's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    pub dir: PathBuf,
}

impl Cgroup {
    /// The cgroup v2 of `pid`, when it has the memory controller's files (None on cgroup v1
    /// only machines, or when the files cannot be read).
    pub fn of_pid(pid: u32) -> Option<Cgroup> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let relative = text
            .lines()
            .find_map(|l| l.strip_prefix("0::"))?
            .trim()
            .trim_start_matches('/');
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        let root = cgroup2_mount(&mounts)?;
        let cgroup = Cgroup {
            dir: root.join(relative),
        };
        cgroup
            .dir
            .join("memory.current")
            .is_file()
            .then_some(cgroup)
    }

    /// Read the memory files; None when `memory.current` cannot be read (the cgroup is gone).
    pub fn read(&self) -> Option<CgroupMemory> {
        read_dir(&self.dir)
    }
}

/// The mount point of the cgroup2 file system in a mountinfo text.
pub fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        (right.split_ascii_whitespace().next()? == "cgroup2")
            .then(|| left.split_ascii_whitespace().nth(4).map(PathBuf::from))?
    })
}

fn number(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// `key value` lines (memory.stat, memory.events).
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| number(v))?
    })
}

/// Read a cgroup folder's memory files.
pub fn read_dir(dir: &Path) -> Option<CgroupMemory> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let current_bytes = number(&read("memory.current")?)?;
    let max_bytes = read("memory.max").and_then(|t| number(&t));
    let stat = read("memory.stat").unwrap_or_default();
    let events = read("memory.events");
    let inactive_file_bytes = keyed(&stat, "inactive_file");
    Some(CgroupMemory {
        current_bytes,
        max_bytes,
        anon_bytes: keyed(&stat, "anon"),
        file_bytes: keyed(&stat, "file"),
        inactive_file_bytes,
        working_set_bytes: inactive_file_bytes.map(|i| current_bytes.saturating_sub(i)),
        oom_events: events.as_deref().and_then(|e| keyed(e, "oom")),
        oom_kill_events: events.as_deref().and_then(|e| keyed(e, "oom_kill")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cgroup2_mount() {
        let info = "30 1 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_mount(info),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(
            cgroup2_mount("30 1 0:26 / /x rw - ext4 /dev/sda rw\n"),
            None
        );
    }

    #[test]
    fn reads_a_cgroup_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |n: &str, t: &str| std::fs::write(dir.path().join(n), t).expect("write");
        write("memory.current", "1000000\n");
        write("memory.max", "max\n");
        write(
            "memory.stat",
            "anon 600000\nfile 300000\nactive_file 100000\ninactive_file 200000\n",
        );
        write(
            "memory.events",
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n",
        );
        let m = read_dir(dir.path()).expect("reads");
        assert_eq!(m.current_bytes, 1_000_000);
        assert_eq!(m.max_bytes, None);
        assert_eq!(m.anon_bytes, Some(600_000));
        assert_eq!(m.file_bytes, Some(300_000));
        assert_eq!(m.working_set_bytes, Some(800_000));
        assert_eq!(m.oom_kill_events, Some(1));
        write("memory.max", "2000000\n");
        assert_eq!(
            read_dir(dir.path()).expect("reads").max_bytes,
            Some(2_000_000)
        );
    }
}
