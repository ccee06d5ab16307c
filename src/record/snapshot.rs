//! What a snapshot is: plain serde structs, the unit of `jobs.jsonl` and of the protocol.
//! Every part that a given worker, allocator or platform cannot fill is an `Option`: a worker
//! reports what it can measure (RSS only, or allocator layers, or a type census, or sites),
//! and what is unknown is `null`, never 0.

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
    /// Seconds since the worker process started (its own clock).
    #[serde(default)]
    pub taken_at_secs: Option<f64>,
    /// How long taking this snapshot took.
    #[serde(default)]
    pub snapshot_duration_secs: Option<f64>,
    /// Process memory (None when it could not be read).
    #[serde(default)]
    pub process: Option<ProcessMemory>,
    /// The parent read `process` from `/proc/<pid>` because the worker did not report it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub process_from_parent: bool,
    /// The allocator's own view (None when the worker cannot read its allocator).
    #[serde(default)]
    pub allocator: Option<AllocatorLayers>,
    /// The worker's cache state (None when the worker does not report it).
    #[serde(default)]
    pub worker: Option<WorkerState>,
    /// Live objects by type (empty when the census is off).
    #[serde(default)]
    pub census: Vec<TypeCount>,
    /// Top allocation sites by live bytes (absent when sites are off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sites: Option<SiteTable>,
    /// Unsymbolised sampled sites, as a worker sends them (protocol 1.1): the parent
    /// symbolises them into `sites` and drops this before the record is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_sites: Option<RawSites>,
    /// A Python worker's own view: `gc`, the census's cost, tracemalloc (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<PythonState>,
}

/// What a Python worker (the docling driver) knows of itself at a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PythonState {
    /// `pymalloc` (production: small objects in arenas malloc's statistics do not see) or
    /// `malloc`.
    #[serde(default)]
    pub python_malloc: Option<String>,
    /// `gc.get_count()` per generation.
    #[serde(default)]
    pub gc_counts: Vec<u64>,
    /// Collections so far per generation (`gc.get_stats()`).
    #[serde(default)]
    pub gc_collections: Vec<u64>,
    /// Whether this snapshot carries the census, and why (`every`, `first`, `under_budget`,
    /// `every_4th`, `clear`).
    #[serde(default)]
    pub census_taken: bool,
    #[serde(default)]
    pub census_reason: Option<String>,
    /// The census policy's period when it was decided (1: every job).
    #[serde(default)]
    pub census_every_k: Option<u64>,
    #[serde(default)]
    pub census_duration_secs: Option<f64>,
    /// Objects the census walked.
    #[serde(default)]
    pub objects: Option<u64>,
    #[serde(default)]
    pub tracemalloc_traced_bytes: Option<u64>,
    #[serde(default)]
    pub tracemalloc_peak_bytes: Option<u64>,
}

impl Snapshot {
    /// RSS, when the process memory was read.
    pub fn rss_bytes(&self) -> Option<u64> {
        self.process.as_ref().map(|p| p.rss_bytes)
    }

    /// Live bytes as the allocator sees them, when it was read.
    pub fn live_bytes(&self) -> Option<u64> {
        self.allocator
            .as_ref()
            .and_then(AllocatorLayers::live_bytes)
    }

    /// Bytes the allocator keeps resident, when it was read.
    pub fn resident_bytes(&self) -> Option<u64> {
        self.allocator
            .as_ref()
            .and_then(AllocatorLayers::resident_bytes)
    }

    /// A census type's live count (0 when the census has no such type).
    pub fn type_count(&self, type_name: &str) -> Option<&TypeCount> {
        self.census.iter().find(|t| t.type_name == type_name)
    }
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
    /// mimalloc's `mi_process_info` (the docling driver with mimalloc preloaded).
    Mimalloc(MimallocStats),
}

/// mimalloc's `mi_process_info` (its `current_rss` equals the commit charge on Linux, so RSS
/// comes from `/proc`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MimallocStats {
    pub current_commit_bytes: u64,
    pub peak_commit_bytes: u64,
    #[serde(default)]
    pub page_faults: Option<u64>,
    #[serde(default)]
    pub version: Option<u64>,
}

impl AllocatorLayers {
    /// Bytes the program holds live (allocated and not yet freed), as the allocator sees them.
    pub fn live_bytes(&self) -> Option<u64> {
        match self {
            AllocatorLayers::Jemalloc { before_purge, .. } => Some(before_purge.allocated_bytes),
            // The whole-heap counter when present (curr_bytes covers only the job's profiler).
            AllocatorLayers::Dhat(d) => Some(d.heap_live_bytes.unwrap_or(d.curr_bytes)),
            AllocatorLayers::System(m) => Some(m.uordblks_bytes + m.hblkhd_bytes),
            // mimalloc reports no live bytes, only what it has committed.
            AllocatorLayers::Mimalloc(_) => None,
        }
    }

    /// Bytes the allocator keeps resident (after a purge for jemalloc when one was done).
    pub fn resident_bytes(&self) -> Option<u64> {
        match self {
            AllocatorLayers::Jemalloc { before_purge, .. } => Some(before_purge.resident_bytes),
            AllocatorLayers::Dhat(_) => None,
            AllocatorLayers::System(m) => Some(m.arena_bytes + m.hblkhd_bytes),
            AllocatorLayers::Mimalloc(m) => Some(m.current_commit_bytes),
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

/// The worker's cache state (the counts a worker does not know are `None`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerState {
    pub converters: u64,
    pub pipelines: u64,
    #[serde(default)]
    pub models_loaded: Option<u64>,
    #[serde(default)]
    pub model_bytes: Option<u64>,
    /// Entries of the options side map (hash -> options).
    #[serde(default)]
    pub options_side_map: Option<u64>,
    /// Results retained by the worker (only with the `retain_results` scenario).
    #[serde(default)]
    pub retained_results: Option<u64>,
    pub jobs_total: u64,
    pub jobs_since_clear: u64,
}

/// Live instances and bytes of one type of the worker core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeCount {
    pub type_name: String,
    pub live_count: u64,
    /// Bytes the instances hold (None when the worker counts instances only, as `gc` does).
    pub live_bytes: Option<u64>,
}

/// Allocation sites by live bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteTable {
    /// `exact` (dhat), `sampled` (sampling wrapper), or what an external worker names its
    /// tracer (`tracemalloc`).
    pub mode: String,
    /// For sampled mode: the mean bytes between samples.
    pub sample_interval_bytes: Option<u64>,
    pub sites: Vec<SiteStat>,
}

/// Sampled allocation sites before symbolisation: what the worker measured, with return
/// addresses relative to its binary's load address. The worker never loads debug info; the
/// parent resolves the addresses once per run from the binary named by `build_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawSites {
    /// The GNU build id of the worker's binary (hex), when it has one.
    #[serde(default)]
    pub build_id: Option<String>,
    /// The worker's executable (`/proc/self/exe` as the worker read it).
    #[serde(default)]
    pub binary: Option<String>,
    /// The mean bytes between samples.
    pub sample_interval_bytes: u64,
    /// The job whose blocks `job_live_bytes` counts (0 before the first job).
    pub current_job: u64,
    /// Tracked blocks right now.
    pub tracked_blocks: u64,
    /// Every stack with tracked blocks alive.
    pub stacks: Vec<RawStack>,
}

/// One sampled stack and its Horvitz-Thompson estimates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawStack {
    /// Return addresses relative to the binary's load address, innermost first; 0 for a frame
    /// outside the binary (libc, the vDSO).
    pub frames: Vec<u64>,
    /// Estimated live bytes.
    pub bytes: f64,
    /// Estimated live blocks.
    pub blocks: f64,
    /// Variance of `bytes`.
    pub variance: f64,
    /// Estimated live bytes by allocating job, `[job, bytes]` pairs.
    #[serde(default)]
    pub by_job: Vec<(u64, f64)>,
    /// The raw samples behind the estimates: tracked live blocks by size, `[size, count]`
    /// pairs (what a jemalloc heap profile records per stack; `sites.heap` is written from
    /// them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sampled: Vec<(u64, u64)>,
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
