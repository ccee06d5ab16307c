//! Process memory from procfs: `/proc/<pid>/status` (VmRSS, RssAnon, RssFile, RssShmem, VmSize,
//! VmHWM) and `/proc/<pid>/smaps_rollup` (Pss, Private_Clean + Private_Dirty = USS).
//!
//! `status` costs a few microseconds; `smaps_rollup` walks every mapping (about 2 ms for a
//! 150 MiB process), so it is read once per snapshot and never by the fast sampler.

use std::io;
use std::path::PathBuf;

use crate::record::ProcessMemory;

/// Which process to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The calling process (`/proc/self`).
    SelfProcess,
    Pid(u32),
}

impl Target {
    fn dir(self) -> PathBuf {
        match self {
            Target::SelfProcess => PathBuf::from("/proc/self"),
            Target::Pid(pid) => PathBuf::from(format!("/proc/{pid}")),
        }
    }
}

/// Parse one `Key:   1234 kB` line's value into bytes.
fn kb_value(rest: &str) -> Option<u64> {
    let mut parts = rest.split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => Some(value * 1024),
        Some(_) => None,
    }
}

/// Fill the fields `/proc/<pid>/status` holds.
pub fn parse_status(text: &str, out: &mut ProcessMemory) {
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let value = kb_value(rest);
        match key {
            "VmRSS" => out.rss_bytes = value.unwrap_or(0),
            "RssAnon" => out.rss_anon_bytes = value,
            "RssFile" => out.rss_file_bytes = value,
            "RssShmem" => out.rss_shmem_bytes = value,
            "VmSize" => out.vm_size_bytes = value,
            "VmHWM" => out.vm_hwm_bytes = value,
            _ => {}
        }
    }
}

/// Fill Pss and USS from `/proc/<pid>/smaps_rollup`.
pub fn parse_smaps_rollup(text: &str, out: &mut ProcessMemory) {
    let mut private_bytes: Option<u64> = None;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        match key {
            "Pss" => out.pss_bytes = kb_value(rest),
            "Private_Clean" | "Private_Dirty" => {
                if let Some(v) = kb_value(rest) {
                    private_bytes = Some(private_bytes.unwrap_or(0) + v);
                }
            }
            _ => {}
        }
    }
    out.uss_bytes = private_bytes;
}

/// Read a process's memory. `with_smaps` adds PSS and USS (slower; see the module docs).
pub fn read(target: Target, with_smaps: bool) -> io::Result<ProcessMemory> {
    let dir = target.dir();
    let mut out = ProcessMemory::default();
    let status = std::fs::read_to_string(dir.join("status"))?;
    parse_status(&status, &mut out);
    if with_smaps {
        // smaps_rollup exists since Linux 4.14; without it PSS/USS stay None.
        if let Ok(text) = std::fs::read_to_string(dir.join("smaps_rollup")) {
            parse_smaps_rollup(&text, &mut out);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_rollup() {
        let status = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nRssAnon:\t 512 kB\nRssFile:\t 500 kB\nRssShmem:\t 12 kB\nVmSize:\t 9000 kB\n";
        let rollup = "00400000-7fff [rollup]\nRss: 1024 kB\nPss:  900 kB\nPrivate_Clean: 100 kB\nPrivate_Dirty: 700 kB\n";
        let mut m = ProcessMemory::default();
        parse_status(status, &mut m);
        parse_smaps_rollup(rollup, &mut m);
        assert_eq!(m.rss_bytes, 1024 * 1024);
        assert_eq!(m.rss_anon_bytes, Some(512 * 1024));
        assert_eq!(m.rss_file_bytes, Some(500 * 1024));
        assert_eq!(m.rss_shmem_bytes, Some(12 * 1024));
        assert_eq!(m.vm_size_bytes, Some(9000 * 1024));
        assert_eq!(m.vm_hwm_bytes, Some(2048 * 1024));
        assert_eq!(m.pss_bytes, Some(900 * 1024));
        assert_eq!(m.uss_bytes, Some(800 * 1024));
    }

    #[test]
    fn reads_this_process() {
        let m = read(Target::SelfProcess, true).expect("procfs readable");
        assert!(m.rss_bytes > 0);
        assert!(m.rss_anon_bytes.is_some());
    }
}
