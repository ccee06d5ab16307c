//! A run's records -> a [`Trajectory`]: one point per job with every memory layer, the census
//! as `type_counts`, the sites as `site_mb`, the clears from the cache-clear records and the
//! baseline from the manifest.

use std::collections::BTreeMap;

use super::series::{ClearPoint, JobPoint, SourceKind, Trajectory};
use crate::record::{AllocatorLayers, Snapshot};
use crate::record::{JobRecord, RunManifest};
use crate::units::mib;

fn active_mb(snapshot: &Snapshot) -> Option<f64> {
    match snapshot.allocator.as_ref()? {
        AllocatorLayers::Jemalloc { before_purge, .. } => Some(mib(before_purge.active_bytes)),
        _ => None,
    }
}

/// One job's point.
/// A Python worker under pymalloc keeps its small objects in arenas the allocator's statistics
/// do not count: its "live bytes" are not the program's, so they are no series of their own
/// (RSS is then the primary series; the layers stay in the records).
fn allocator_misses_objects(snapshot: &Snapshot) -> bool {
    snapshot
        .python
        .as_ref()
        .and_then(|p| p.python_malloc.as_deref())
        .is_some_and(|m| m == "pymalloc")
}

pub fn job_point(record: &JobRecord) -> JobPoint {
    let snapshot = record.after_job.as_ref();
    JobPoint {
        job: record.job,
        worker_index: record.worker_index,
        outcome: record.outcome.kind(),
        duration_secs: Some(record.duration_secs),
        rss_mb: snapshot.and_then(Snapshot::rss_bytes).map(mib),
        live_mb: snapshot
            .filter(|s| !allocator_misses_objects(s))
            .and_then(Snapshot::live_bytes)
            .map(mib),
        resident_mb: snapshot.and_then(Snapshot::resident_bytes).map(mib),
        resident_after_purge_mb: snapshot
            .and_then(|s| s.allocator.as_ref())
            .and_then(AllocatorLayers::resident_after_purge_bytes)
            .map(mib),
        active_mb: snapshot.and_then(active_mb),
        peak_rss_mb: record.peak_rss_bytes.map(mib),
        model_mb: snapshot
            .and_then(|s| s.worker.as_ref())
            .and_then(|w| w.model_bytes)
            .map(mib),
        type_counts: snapshot
            .map(|s| {
                s.census
                    .iter()
                    .map(|t| (t.type_name.clone(), t.live_count as f64))
                    .collect()
            })
            .unwrap_or_default(),
        site_mb: snapshot
            .and_then(|s| s.sites.as_ref())
            .map(|table| {
                let mut sites = BTreeMap::new();
                for site in &table.sites {
                    *sites.entry(site.site.clone()).or_insert(0.0) += mib(site.live_bytes);
                }
                sites
            })
            .unwrap_or_default(),
        kind: record_kind(record).map(std::sync::Arc::from),
    }
}

/// A record's kind: its workload job's name, else its first document's file type.
fn record_kind(record: &JobRecord) -> Option<String> {
    if !record.workload_job.is_empty() {
        return Some(record.workload_job.clone());
    }
    record
        .documents
        .first()
        .and_then(|d| d.name.rsplit_once('.'))
        .map(|(_, ext)| ext.to_ascii_lowercase())
}

/// The trajectory of a run.
pub fn trajectory(manifest: &RunManifest, records: &[JobRecord], origin: &str) -> Trajectory {
    let mut records: Vec<&JobRecord> = records.iter().collect();
    records.sort_by_key(|r| r.job);
    let points = records.iter().map(|r| job_point(r)).collect();
    let clears = records
        .iter()
        .filter_map(|r| {
            let c = r.cache_clear.as_ref()?;
            let after_clear = c.after_clear.as_ref();
            // The worker's own readings around the clear, else the snapshots' RSS; a clear
            // with neither is not drawn (unknown, not 0).
            let before = c
                .rss_before_bytes
                .or_else(|| r.after_job.as_ref().and_then(Snapshot::rss_bytes))?;
            let after = c
                .rss_after_bytes
                .or_else(|| after_clear.and_then(Snapshot::rss_bytes))?;
            Some(ClearPoint {
                job: r.job,
                before_mb: mib(before),
                after_mb: mib(after),
                freed_mb: mib(before) - mib(after),
                live_after_mb: after_clear
                    .filter(|s| !allocator_misses_objects(s))
                    .and_then(Snapshot::live_bytes)
                    .map(mib),
                live_before_mb: r.after_job.as_ref().and_then(Snapshot::live_bytes).map(mib),
                resident_after_mb: after_clear.and_then(Snapshot::resident_bytes).map(mib),
                type_counts_after: after_clear
                    .map(|a| {
                        a.census
                            .iter()
                            .map(|t| (t.type_name.clone(), t.live_count as f64))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect();
    let baseline = manifest.baselines.first();
    Trajectory {
        source: SourceKind::Replay,
        origin: origin.to_string(),
        baseline_rss_mb: baseline.and_then(Snapshot::rss_bytes).map(mib),
        baseline_live_mb: baseline.and_then(Snapshot::live_bytes).map(mib),
        points,
        clears,
        memory_limit_mb: manifest.memory_limit_bytes.map(mib),
        unreadable_lines: 0,
    }
}
