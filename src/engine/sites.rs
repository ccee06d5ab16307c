//! The parent's side of sampled allocation sites: every snapshot that arrives with raw
//! stacks ([`crate::record::RawSites`]) is symbolised here ([`crate::symbols::SiteResolver`],
//! one loader per build id for the whole run) before its record is written; the survivors by
//! job go to `sites.jsonl` and the latest live stacks to `sites.collapsed` in the run folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::alloc::sites::{collapsed_stacks, DEFAULT_TOP_N};
use crate::probe::profiling::{ProfileRecord, SITES_COLLAPSED};
use crate::record::{JobRecord, SitesMode, Snapshot};
use crate::symbols::SiteResolver;

/// Per sampled snapshot: the survivors by job of its top sites (a [`ProfileRecord`] without
/// owners), one line each.
pub const SITES_JSONL: &str = "sites.jsonl";

/// Symbolises the run's sampled sites.
#[derive(Debug)]
pub(crate) struct RunSites {
    resolver: SiteResolver,
    dir: PathBuf,
    /// Warnings already handed to the run.
    reported: usize,
}

impl RunSites {
    pub(crate) fn new(dir: &Path) -> RunSites {
        RunSites {
            resolver: SiteResolver::new(),
            dir: dir.to_path_buf(),
            reported: 0,
        }
    }

    /// Symbolise a snapshot's raw sites into its site table (no-op without raw sites).
    pub(crate) fn snapshot(&mut self, snapshot: &mut Snapshot, job: u64, worker_pid: u32) {
        let Some(raw) = snapshot.raw_sites.take() else {
            return;
        };
        let report = self.resolver.resolve(&raw, DEFAULT_TOP_N);
        snapshot.sites = Some(report.table);
        let record = ProfileRecord {
            job,
            kind: snapshot.kind,
            worker_pid,
            owners: None,
            unreachable: Vec::new(),
            sites_mode: Some(SitesMode::Sampled),
            survivors: report.survivors,
        };
        if let Err(e) = append_line(&self.dir.join(SITES_JSONL), &record) {
            self.resolver.warnings.push(format!("{SITES_JSONL}: {e}"));
        }
        if !report.stacks.is_empty() {
            let path = self.dir.join(SITES_COLLAPSED);
            if let Err(e) = std::fs::write(&path, collapsed_stacks(&report.stacks)) {
                self.resolver
                    .warnings
                    .push(format!("{}: {e}", path.display()));
            }
        }
    }

    /// Both snapshots of a job's record.
    pub(crate) fn record(&mut self, record: &mut JobRecord) {
        let (job, pid) = (record.job, record.worker_pid);
        if let Some(s) = record.after_job.as_mut() {
            self.snapshot(s, job, pid);
        }
        if let Some(s) = record
            .cache_clear
            .as_mut()
            .and_then(|c| c.after_clear.as_mut())
        {
            self.snapshot(s, job, pid);
        }
    }

    /// Warnings met since the last call.
    pub(crate) fn new_warnings(&mut self) -> Vec<String> {
        let new = self.resolver.warnings[self.reported..].to_vec();
        self.reported = self.resolver.warnings.len();
        new
    }
}

fn append_line(path: &Path, record: &ProfileRecord) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(&line)
}
