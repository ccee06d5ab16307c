//! The memory of a process's cgroup (a container's, a pod's), v2 or v1.
//!
//! - **v2**: `memory.current` (what the OOM killer compares with `memory.max`), `memory.stat`
//!   (`anon`, `file`, `inactive_file`) and `memory.events` (`oom`, `oom_kill`).
//! - **v1** (the legacy memory controller many Kubernetes nodes still run):
//!   `memory.usage_in_bytes`, `memory.limit_in_bytes`, `memory.stat`'s hierarchical
//!   `total_rss`/`total_cache`/`total_inactive_file`, and `memory.oom_control`'s `oom_kill`.
//!
//! On both the working set is `current - inactive_file`: what `kubectl top` shows and the
//! kubelet's eviction uses. The cgroup is found from `/proc/<pid>/cgroup` (`0::/path` for v2,
//! `N:...memory...:/path` for v1) under the matching mount of `/proc/self/mountinfo`, with the
//! mount's own root taken off the path (a container's mount often starts inside the hierarchy).
//! v2 is preferred when the process has both and v2 has the memory files.

use std::path::{Path, PathBuf};

pub use crate::record::{CgroupMemory, CgroupVersion};

/// v1's `memory.limit_in_bytes` at or past this is the kernel's "unlimited"
/// (`PAGE_COUNTER_MAX` pages, 9223372036854771712 with 4 KiB pages).
const V1_UNLIMITED_BYTES: u64 = 1 << 62;

/// A cgroup folder with the memory controller's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    pub dir: PathBuf,
    pub version: CgroupVersion,
}

impl Cgroup {
    /// The memory cgroup of `pid` (None when neither a v2 nor a v1 memory cgroup can be read).
    pub fn of_pid(pid: u32) -> Option<Cgroup> {
        let membership = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        locate(&membership, &mounts, CgroupVersion::V2)
            .filter(|c| c.dir.join("memory.current").is_file())
            .or_else(|| {
                locate(&membership, &mounts, CgroupVersion::V1)
                    .filter(|c| c.dir.join("memory.usage_in_bytes").is_file())
            })
    }

    /// Read the memory files; None when the usage file cannot be read (the cgroup is gone).
    pub fn read(&self) -> Option<CgroupMemory> {
        match self.version {
            CgroupVersion::V2 => read_dir(&self.dir),
            CgroupVersion::V1 => read_dir_v1(&self.dir),
        }
    }
}

/// Where the cgroup of a `/proc/<pid>/cgroup` text lives, for one version, given the
/// mountinfo text (no file is checked).
pub fn locate(membership: &str, mountinfo: &str, version: CgroupVersion) -> Option<Cgroup> {
    let path = membership.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (id, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let wanted = match version {
            CgroupVersion::V2 => id == "0" && controllers.is_empty(),
            CgroupVersion::V1 => controllers.split(',').any(|c| c == "memory"),
        };
        wanted.then(|| path.trim())
    })?;
    let (root, mount) = mount_of(mountinfo, version)?;
    let inside = path.strip_prefix(root.as_str()).unwrap_or(path);
    Some(Cgroup {
        dir: mount.join(inside.trim_start_matches('/')),
        version,
    })
}

/// The (root inside the hierarchy, mount point) of the cgroup2 file system, or of the v1
/// hierarchy that holds the memory controller.
fn mount_of(mountinfo: &str, version: CgroupVersion) -> Option<(String, PathBuf)> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let mut right = right.split_ascii_whitespace();
        let fstype = right.next()?;
        let super_options = right.nth(1).unwrap_or("");
        let wanted = match version {
            CgroupVersion::V2 => fstype == "cgroup2",
            CgroupVersion::V1 => {
                fstype == "cgroup" && super_options.split(',').any(|o| o == "memory")
            }
        };
        let mut left = left.split_ascii_whitespace();
        let root = left.nth(3)?;
        let point = left.next()?;
        wanted.then(|| (root.to_string(), PathBuf::from(point)))
    })
}

/// The mount point of the cgroup2 file system in a mountinfo text.
pub fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    mount_of(mountinfo, CgroupVersion::V2).map(|(_, point)| point)
}

fn number(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// `key value` lines (memory.stat, memory.events, memory.oom_control).
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| number(v))?
    })
}

/// Read a cgroup v2 folder's memory files.
pub fn read_dir(dir: &Path) -> Option<CgroupMemory> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let current_bytes = number(&read("memory.current")?)?;
    let max_bytes = read("memory.max").and_then(|t| number(&t));
    let stat = read("memory.stat").unwrap_or_default();
    let events = read("memory.events");
    let inactive_file_bytes = keyed(&stat, "inactive_file");
    Some(CgroupMemory {
        version: CgroupVersion::V2,
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

/// Read a cgroup v1 memory controller folder. The hierarchical `total_*` counters of
/// `memory.stat` are used (they include child cgroups, as `usage_in_bytes` does), with the
/// local ones as a fallback.
pub fn read_dir_v1(dir: &Path) -> Option<CgroupMemory> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let current_bytes = number(&read("memory.usage_in_bytes")?)?;
    let max_bytes = read("memory.limit_in_bytes")
        .and_then(|t| number(&t))
        .filter(|&b| b < V1_UNLIMITED_BYTES);
    let stat = read("memory.stat").unwrap_or_default();
    let stat_of = |key: &str| keyed(&stat, &format!("total_{key}")).or_else(|| keyed(&stat, key));
    let inactive_file_bytes = stat_of("inactive_file");
    Some(CgroupMemory {
        version: CgroupVersion::V1,
        current_bytes,
        max_bytes,
        anon_bytes: stat_of("rss"),
        file_bytes: stat_of("cache"),
        inactive_file_bytes,
        working_set_bytes: inactive_file_bytes.map(|i| current_bytes.saturating_sub(i)),
        oom_events: None,
        oom_kill_events: read("memory.oom_control").and_then(|t| keyed(&t, "oom_kill")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "30 1 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

    #[test]
    fn finds_the_cgroup2_mount() {
        assert_eq!(
            cgroup2_mount(HYBRID),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(
            cgroup2_mount("30 1 0:26 / /x rw - ext4 /dev/sda rw\n"),
            None
        );
    }

    #[test]
    fn locates_v1_and_v2_with_the_mount_root_taken_off() {
        let membership = "4:memory:/kubepods/pod1/abc\n1:cpu:/\n0::/kubepods/pod1/abc\n";
        let v1 = locate(membership, HYBRID, CgroupVersion::V1).expect("v1");
        assert_eq!(
            v1.dir,
            PathBuf::from("/sys/fs/cgroup/memory/kubepods/pod1/abc")
        );
        let v2 = locate(membership, HYBRID, CgroupVersion::V2).expect("v2");
        assert_eq!(
            v2.dir,
            PathBuf::from("/sys/fs/cgroup/unified/kubepods/pod1/abc")
        );
        // A container whose memory mount starts at its own cgroup.
        let inside =
            "35 31 0:32 /kubepods/pod1/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n";
        let own = locate(membership, inside, CgroupVersion::V1).expect("v1 in a container");
        assert_eq!(own.dir, PathBuf::from("/sys/fs/cgroup/memory"));
        // The cpu hierarchy is not the memory one.
        let cpu_only = "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
        assert_eq!(locate(membership, cpu_only, CgroupVersion::V1), None);
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
        assert_eq!(m.version, CgroupVersion::V2);
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

    #[test]
    fn reads_a_v1_memory_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |n: &str, t: &str| std::fs::write(dir.path().join(n), t).expect("write");
        write("memory.usage_in_bytes", "4322668544\n");
        write("memory.limit_in_bytes", "9223372036854771712\n");
        write(
            "memory.stat",
            "cache 100\nrss 50\ninactive_file 10\ntotal_cache 4124381184\ntotal_rss 1990656\ntotal_inactive_file 2178244608\n",
        );
        write(
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        );
        let m = read_dir_v1(dir.path()).expect("reads");
        assert_eq!(m.version, CgroupVersion::V1);
        assert_eq!(m.current_bytes, 4_322_668_544);
        assert_eq!(
            m.max_bytes, None,
            "the kernel's unlimited value is no limit"
        );
        assert_eq!(m.anon_bytes, Some(1_990_656));
        assert_eq!(m.file_bytes, Some(4_124_381_184));
        assert_eq!(m.working_set_bytes, Some(4_322_668_544 - 2_178_244_608));
        assert_eq!((m.oom_events, m.oom_kill_events), (None, Some(2)));
        write("memory.limit_in_bytes", "1073741824\n");
        assert_eq!(
            read_dir_v1(dir.path()).expect("reads").max_bytes,
            Some(1 << 30)
        );
        // Without the hierarchical counters the local ones are read.
        write("memory.stat", "cache 100\nrss 50\ninactive_file 10\n");
        let local = read_dir_v1(dir.path()).expect("reads");
        assert_eq!(
            (local.anon_bytes, local.inactive_file_bytes),
            (Some(50), Some(10))
        );
    }

    /// On this machine's own process: whatever hierarchy it has, a found cgroup reads.
    #[test]
    fn this_process_cgroup_reads_when_found() {
        if let Some(cgroup) = Cgroup::of_pid(std::process::id()) {
            let m = cgroup.read().expect("a found cgroup reads");
            assert!(m.current_bytes > 0, "{cgroup:?}: {m:?}");
            assert_eq!(m.version, cgroup.version);
        }
    }
}
