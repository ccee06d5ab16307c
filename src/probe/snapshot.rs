//! What a snapshot is: plain serde structs, the unit of `jobs.jsonl`.
//! Every field that a given allocator or platform cannot fill is an `Option`.

use serde::{Deserialize, Serialize};

/// When the snapshot was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotKind {
    /// Before the first job of a worker process.
    Baseline,
    /// Right after a job ended (before any cache clear).
    AfterJob,
    /// Right after a cache clear.
    AfterClear,
}

/// One snapshot of the worker process's memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub kind: SnapshotKind,
    /// Seconds since the run started (parent's clock is not shared: the child's own start).
    pub taken_at_secs: f64,
    /// How long taking this snapshot took.
    pub snapshot_duration_secs: f64,
    pub process: ProcessMemory,
    pub allocator: AllocatorLayers,
    pub worker: WorkerState,
    /// Live objects by type (empty when the census is off).
    #[serde(default)]
    pub census: Vec<TypeCount>,
    /// Top allocation sites by live bytes (absent when sites are off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sites: Option<SiteTable>,
}

/// Process memory from procfs (`/proc/self/status`, `smaps_rollup`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessMemory {
    pub rss_bytes: u64,
    pub rss_anon_bytes: Option<u64>,
    pub rss_file_bytes: Option<u64>,
    pub rss_shmem_bytes: Option<u64>,
    pub pss_bytes: Option<u64>,
    /// Private_Clean + Private_Dirty (USS).
    pub uss_bytes: Option<u64>,
    pub vm_size_bytes: Option<u64>,
    pub vm_hwm_bytes: Option<u64>,
}

/// The allocator's own view, by allocator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "allocator", rename_all = "snake_case")]
pub enum AllocatorLayers {
    /// jemalloc stats after an epoch advance, then again after purging every arena.
    Jemalloc {
        before_purge: JemallocStats,
        after_purge: Option<JemallocStats>,
    },
    /// dhat's heap stats for the current job's profiler.
    Dhat(DhatStats),
    /// glibc's mallinfo2.
    System(MallInfo),
}

impl AllocatorLayers {
    /// Bytes the program holds live (allocated and not yet freed), as the allocator sees them.
    pub fn live_bytes(&self) -> Option<u64> {
        match self {
            AllocatorLayers::Jemalloc { before_purge, .. } => Some(before_purge.allocated_bytes),
            // The whole-heap counter when present (curr_bytes covers only the job's profiler).
            AllocatorLayers::Dhat(d) => Some(d.heap_live_bytes.unwrap_or(d.curr_bytes)),
            AllocatorLayers::System(m) => Some(m.uordblks_bytes + m.hblkhd_bytes),
        }
    }

    /// Bytes the allocator keeps resident (after a purge for jemalloc when one was done).
    pub fn resident_bytes(&self) -> Option<u64> {
        match self {
            AllocatorLayers::Jemalloc { before_purge, .. } => Some(before_purge.resident_bytes),
            AllocatorLayers::Dhat(_) => None,
            AllocatorLayers::System(m) => Some(m.arena_bytes + m.hblkhd_bytes),
        }
    }

    pub fn resident_after_purge_bytes(&self) -> Option<u64> {
        match self {
            AllocatorLayers::Jemalloc {
                after_purge: Some(a),
                ..
            } => Some(a.resident_bytes),
            _ => None,
        }
    }
}

/// jemalloc's `stats.*` (bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct JemallocStats {
    pub allocated_bytes: u64,
    pub active_bytes: u64,
    pub resident_bytes: u64,
    pub retained_bytes: u64,
    pub mapped_bytes: u64,
    pub metadata_bytes: u64,
    /// Dirty pages of all arenas (freed, still resident; what a purge returns first).
    #[serde(default)]
    pub dirty_bytes: Option<u64>,
    /// Muzzy pages of all arenas (freed, lazily returned).
    #[serde(default)]
    pub muzzy_bytes: Option<u64>,
}

/// dhat's `HeapStats` for the profiler of the current job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DhatStats {
    pub total_blocks: u64,
    pub total_bytes: u64,
    pub curr_blocks: u64,
    pub curr_bytes: u64,
    pub max_blocks: u64,
    pub max_bytes: u64,
    /// Live bytes of the whole Rust heap (counted by the allocator wrapper in dhat mode; the
    /// profiler's `curr_bytes` sees only blocks allocated since the job started).
    #[serde(default)]
    pub heap_live_bytes: Option<u64>,
    #[serde(default)]
    pub heap_live_blocks: Option<u64>,
}

/// glibc `mallinfo2` (bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MallInfo {
    /// Non-mmapped space allocated from the system.
    pub arena_bytes: u64,
    /// Space in mmapped regions.
    pub hblkhd_bytes: u64,
    /// Total allocated (in use) space.
    pub uordblks_bytes: u64,
    /// Total free space.
    pub fordblks_bytes: u64,
    /// Releasable (top-most) free space.
    pub keepcost_bytes: u64,
}

/// The worker core's cache state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerState {
    pub converters: u64,
    pub pipelines: u64,
    pub models_loaded: u64,
    pub model_bytes: u64,
    /// Entries of the options side map (hash -> options).
    pub options_side_map: u64,
    /// Results retained by the worker (only with the `retain_results` scenario).
    pub retained_results: u64,
    pub jobs_total: u64,
    pub jobs_since_clear: u64,
}

/// Live instances and bytes of one type of the worker core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeCount {
    pub type_name: String,
    pub live_count: u64,
    pub live_bytes: u64,
}

/// Allocation sites by live bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteTable {
    /// `exact` (dhat) or `sampled` (sampling wrapper).
    pub mode: String,
    /// For sampled mode: the mean bytes between samples.
    pub sample_interval_bytes: Option<u64>,
    pub sites: Vec<SiteStat>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteStat {
    /// Normalized site identity: `function (file:line)` frames joined by ` <- `, innermost first.
    pub site: String,
    pub live_bytes: u64,
    pub live_blocks: u64,
    /// Standard error of `live_bytes` for sampled sites.
    pub live_bytes_stderr: Option<u64>,
    /// Bytes allocated during this job and still live at its end (exact mode).
    pub job_live_bytes: Option<u64>,
}
