//! Taking a [`Snapshot`] in the worker child: procfs, allocator layers, worker state, and the
//! hooks the census and allocation-site readers plug into.

use std::time::Instant;

use crate::observe::procfs;
use crate::record::{RawSites, SiteTable, Snapshot, SnapshotKind, TypeCount, WorkerState};

/// A census reader: live objects by type (filled by the census engineer's code).
pub type CensusHook = Box<dyn Fn() -> Vec<TypeCount> + Send>;
/// An allocation-site reader for the given snapshot kind: a symbolised table (exact mode) or
/// raw sampled stacks for the parent to symbolise (sampled mode).
pub type SitesHook = Box<dyn Fn(SnapshotKind) -> (Option<SiteTable>, Option<RawSites>) + Send>;

/// How snapshots are taken in one worker process.
pub struct Prober {
    /// The child's start: `taken_at_secs` counts from here.
    pub started: Instant,
    /// Purge jemalloc's arenas inside each snapshot (reads the layers twice).
    pub purge: bool,
    /// Read `smaps_rollup` for PSS/USS.
    pub smaps: bool,
    /// Census of live objects by type; `None` gives an empty census.
    pub census: Option<CensusHook>,
    /// Allocation sites; `None` leaves `sites` absent.
    pub sites: Option<SitesHook>,
}

impl std::fmt::Debug for Prober {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prober")
            .field("purge", &self.purge)
            .field("smaps", &self.smaps)
            .field("census", &self.census.is_some())
            .field("sites", &self.sites.is_some())
            .finish()
    }
}

impl Prober {
    /// Purge and smaps on, no census, no sites.
    pub fn new(started: Instant) -> Prober {
        Prober {
            started,
            purge: true,
            smaps: true,
            census: None,
            sites: None,
        }
    }

    /// Take one snapshot of this process.
    pub fn take(&self, kind: SnapshotKind, worker: WorkerState) -> Snapshot {
        self.take_with(kind, worker, self.purge, self.smaps)
    }

    /// Take one snapshot with its own purge and smaps choices (instead of the prober's).
    pub fn take_with(
        &self,
        kind: SnapshotKind,
        worker: WorkerState,
        purge: bool,
        smaps: bool,
    ) -> Snapshot {
        let begin = Instant::now();
        // Process memory first: a purge would lower RSS.
        // A failed read is unknown (None), never a 0 MB reading.
        let process = procfs::read(procfs::Target::SelfProcess, smaps).ok();
        let allocator = Some(super::layers::read(purge));
        let census = self.census.as_ref().map(|hook| hook()).unwrap_or_default();
        let (sites, raw_sites) = self.sites.as_ref().map_or((None, None), |hook| hook(kind));
        let end = Instant::now();
        Snapshot {
            kind,
            taken_at_secs: Some(begin.duration_since(self.started).as_secs_f64()),
            snapshot_duration_secs: Some(end.duration_since(begin).as_secs_f64()),
            process,
            process_from_parent: false,
            allocator,
            worker: Some(worker),
            census,
            sites,
            python: None,
            raw_sites,
        }
    }
}
