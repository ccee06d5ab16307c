//! The seed's `get_memory_diagnostics()` and `find_memory_leaks()`, as library functions over
//! a run's snapshots (and, for owner chains, its `profile.jsonl`).
//!
//! - [`memory_diagnostics`]: current memory, allocator layers, top sites (with growth since
//!   the previous snapshot), census (with growth), unreachable objects, trend so far.
//! - [`find_memory_leaks`]: the counted types and the allocation sites that grow after the
//!   warm-up, with their growth per job and, for types, the owner chains that hold them.
//!
//! Growth after warm-up: the after-job series of a type (or site) without its first
//! `warmup_jobs` points grows when its floor rises (the second half's minimum is above the
//! first half's, the seed's "floor after each clear rises"), or when it never falls and ends
//! higher. Cache cycles (loaded, cleared, loaded again) do not count as growth. A sampled
//! site must also grow by more than twice the standard error of its change.

use serde::{Deserialize, Serialize};

use super::verdict::RunVerdict;
use crate::alloc::sites::{site_growth, SiteGrowth};
use crate::census::owners::{owner_chains, OwnerChain};
use crate::census::{type_growth, TypeGrowth};
use crate::probe::profiling::ProfileRecord;
use crate::record::{AllocatorLayers, JobRecord, SiteStat, Snapshot, SnapshotKind, TypeCount};

/// Owner chains kept per growing type.
const CHAINS_PER_TYPE: usize = 3;

/// One job's after-job snapshot, with its profiling extras when recorded.
#[derive(Debug, Clone)]
pub struct JobSnapshot<'a> {
    pub job: u64,
    pub snapshot: &'a Snapshot,
    pub profile: Option<&'a ProfileRecord>,
}

/// A point of the trend so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    pub job: u64,
    pub rss_bytes: Option<u64>,
    pub live_bytes: Option<u64>,
}

/// `get_memory_diagnostics()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryDiagnostics {
    pub job: u64,
    pub rss_bytes: Option<u64>,
    pub live_bytes: Option<u64>,
    pub allocator: Option<AllocatorLayers>,
    pub sites_mode: Option<String>,
    pub top_sites: Vec<SiteStat>,
    pub site_growth: Vec<SiteGrowth>,
    pub census: Vec<TypeCount>,
    pub type_growth: Vec<TypeGrowth>,
    pub unreachable: Vec<TypeCount>,
    pub trend: Vec<TrendPoint>,
}

/// A growing type (`find_memory_leaks()`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeLeak {
    pub type_name: String,
    pub live_count: u64,
    pub live_bytes: u64,
    /// From the first point after warm-up to the last.
    pub count_growth: i64,
    pub bytes_growth: i64,
    pub count_growth_per_job: f64,
    /// Who holds them at the last snapshot, largest first.
    pub owner_chains: Vec<OwnerChain>,
    /// `owner_chains` rendered as text.
    pub owner_chains_text: Vec<String>,
}

/// A growing allocation site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteLeak {
    pub site: String,
    pub live_bytes: u64,
    pub bytes_growth: i64,
    pub bytes_growth_per_job: f64,
    /// Standard error of the growth (sampled mode).
    pub bytes_growth_stderr: Option<u64>,
}

/// What [`find_memory_leaks`] found, largest growth first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryLeaks {
    pub warmup_jobs: u64,
    pub types: Vec<TypeLeak>,
    pub sites: Vec<SiteLeak>,
}

/// Both reports of a run: what `diagnostics.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDiagnostics {
    pub diagnostics: Option<MemoryDiagnostics>,
    pub leaks: MemoryLeaks,
}

/// The default warm-up: a fifth of the jobs, at least 1 (none for a single job).
pub fn default_warmup(jobs: usize) -> usize {
    if jobs <= 1 {
        0
    } else {
        (jobs / 5).max(1)
    }
}

/// `get_memory_diagnostics()` at the last of `history` (after-job snapshots in job order).
pub fn memory_diagnostics(history: &[JobSnapshot<'_>]) -> Option<MemoryDiagnostics> {
    let last = history.last()?;
    let previous = history.len().checked_sub(2).and_then(|i| history.get(i));
    let snap = last.snapshot;
    let sites = snap.sites.as_ref();
    Some(MemoryDiagnostics {
        job: last.job,
        rss_bytes: snap.rss_bytes(),
        live_bytes: snap.live_bytes(),
        allocator: snap.allocator.clone(),
        sites_mode: sites.map(|t| t.mode.clone()),
        top_sites: sites.map(|t| t.sites.clone()).unwrap_or_default(),
        site_growth: sites
            .map(|t| site_growth(previous.and_then(|p| p.snapshot.sites.as_ref()), t))
            .unwrap_or_default(),
        census: snap.census.clone(),
        type_growth: type_growth(
            previous
                .map(|p| p.snapshot.census.as_slice())
                .unwrap_or(&[]),
            &snap.census,
        ),
        unreachable: last
            .profile
            .map(|p| p.unreachable.clone())
            .unwrap_or_default(),
        trend: history
            .iter()
            .map(|h| TrendPoint {
                job: h.job,
                rss_bytes: h.snapshot.rss_bytes(),
                live_bytes: h.snapshot.live_bytes(),
            })
            .collect(),
    })
}

/// Whether a series grows after warm-up (see the module docs); `None` when too short.
pub fn grows(series: &[f64]) -> bool {
    if series.len() < 2 {
        return false;
    }
    let first = series[0];
    let last = series[series.len() - 1];
    let never_falls = series.windows(2).all(|w| w[1] >= w[0]);
    if never_falls && last > first {
        return true;
    }
    if series.len() < 4 {
        return false;
    }
    let (a, b) = series.split_at(series.len() / 2);
    let min = |s: &[f64]| s.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |s: &[f64]| s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    min(b) > min(a) && max(b) >= max(a)
}

/// `find_memory_leaks()` over after-job snapshots in job order.
pub fn find_memory_leaks(history: &[JobSnapshot<'_>], warmup_jobs: usize) -> MemoryLeaks {
    let after: &[JobSnapshot<'_>] = history.get(warmup_jobs..).unwrap_or(&[]);
    let mut out = MemoryLeaks {
        warmup_jobs: warmup_jobs as u64,
        ..MemoryLeaks::default()
    };
    let (Some(first), Some(last)) = (after.first(), after.last()) else {
        return out;
    };
    let span_jobs = (last.job.saturating_sub(first.job)).max(1) as f64;

    // Types, from the snapshots that carry a census (a Python worker skips it on some jobs).
    let censused: Vec<JobSnapshot<'_>> = after
        .iter()
        .filter(|h| !h.snapshot.census.is_empty())
        .cloned()
        .collect();
    let owner_tree = after
        .iter()
        .rev()
        .find_map(|h| h.profile.and_then(|p| p.owners.as_ref()));
    let mut names: Vec<&str> = censused
        .iter()
        .flat_map(|h| h.snapshot.census.iter().map(|t| t.type_name.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    let count_of = |h: &JobSnapshot<'_>, name: &str| {
        h.snapshot
            .census
            .iter()
            .find(|t| t.type_name == name)
            .map_or((0, 0), |t| (t.live_count, t.live_bytes.unwrap_or(0)))
    };
    for name in names {
        let series: Vec<f64> = censused
            .iter()
            .map(|h| count_of(h, name).0 as f64)
            .collect();
        if !grows(&series) {
            continue;
        }
        let (Some(typed_first), Some(typed_last)) = (censused.first(), censused.last()) else {
            break;
        };
        let (c0, b0) = count_of(typed_first, name);
        let (c1, b1) = count_of(typed_last, name);
        let span_jobs = (typed_last.job.saturating_sub(typed_first.job)).max(1) as f64;
        let chains: Vec<OwnerChain> = owner_tree
            .map(|tree| owner_chains(tree, name))
            .unwrap_or_default()
            .into_iter()
            .take(CHAINS_PER_TYPE)
            .collect();
        out.types.push(TypeLeak {
            type_name: name.to_string(),
            live_count: c1,
            live_bytes: b1,
            count_growth: c1 as i64 - c0 as i64,
            bytes_growth: b1 as i64 - b0 as i64,
            count_growth_per_job: (c1 as f64 - c0 as f64) / span_jobs,
            owner_chains_text: chains.iter().map(OwnerChain::render).collect(),
            owner_chains: chains,
        });
    }
    out.types.sort_by(|a, b| {
        b.bytes_growth
            .cmp(&a.bytes_growth)
            .then(b.count_growth.cmp(&a.count_growth))
    });

    // Sites.
    let exact = last
        .snapshot
        .sites
        .as_ref()
        .is_some_and(|t| t.mode == "exact");
    let mut sites: Vec<&str> = after
        .iter()
        .filter_map(|h| h.snapshot.sites.as_ref())
        .flat_map(|t| t.sites.iter().map(|s| s.site.as_str()))
        .collect();
    sites.sort_unstable();
    sites.dedup();
    let stat_of = |h: &JobSnapshot<'_>, site: &str| -> Option<SiteStat> {
        h.snapshot
            .sites
            .as_ref()
            .and_then(|t| t.sites.iter().find(|s| s.site == site).cloned())
    };
    for site in sites {
        let stats: Vec<Option<SiteStat>> = after.iter().map(|h| stat_of(h, site)).collect();
        let live_bytes = stats.last().cloned().flatten().map_or(0, |s| s.live_bytes);
        let leak = if exact {
            // Each job's survivors at its end: growth when most jobs leave bytes behind.
            let per_job: Vec<u64> = stats
                .iter()
                .map(|s| s.as_ref().and_then(|s| s.job_live_bytes).unwrap_or(0))
                .collect();
            let leaving = per_job.iter().filter(|&&b| b > 0).count();
            (leaving * 2 > per_job.len() && per_job.len() >= 2).then(|| {
                let total: u64 = per_job.iter().skip(1).sum();
                SiteLeak {
                    site: site.to_string(),
                    live_bytes,
                    bytes_growth: total as i64,
                    bytes_growth_per_job: total as f64 / span_jobs,
                    bytes_growth_stderr: None,
                }
            })
        } else {
            let series: Vec<f64> = stats
                .iter()
                .map(|s| s.as_ref().map_or(0.0, |s| s.live_bytes as f64))
                .collect();
            let err = |s: &Option<SiteStat>| {
                s.as_ref().and_then(|s| s.live_bytes_stderr).unwrap_or(0) as f64
            };
            let (e0, e1) = (err(&stats[0]), err(&stats[stats.len() - 1]));
            let stderr = (e0 * e0 + e1 * e1).sqrt();
            let growth = series[series.len() - 1] - series[0];
            (grows(&series) && growth > 2.0 * stderr).then(|| SiteLeak {
                site: site.to_string(),
                live_bytes,
                bytes_growth: growth as i64,
                bytes_growth_per_job: growth / span_jobs,
                bytes_growth_stderr: (stderr > 0.0).then_some(stderr.round() as u64),
            })
        };
        out.sites.extend(leak);
    }
    out.sites
        .sort_by_key(|site| std::cmp::Reverse(site.bytes_growth));
    out
}

/// The after-job snapshots of a run's records, each with its `profile.jsonl` record.
pub fn job_snapshots<'a>(
    records: &'a [JobRecord],
    profile: &'a [ProfileRecord],
) -> Vec<JobSnapshot<'a>> {
    records
        .iter()
        .filter_map(|r| {
            let snapshot = r.after_job.as_ref()?;
            let profile = profile.iter().rev().find(|p| {
                p.job == r.job && p.kind == SnapshotKind::AfterJob && p.worker_pid == r.worker_pid
            });
            Some(JobSnapshot {
                job: r.job,
                snapshot,
                profile,
            })
        })
        .collect()
}

/// Diagnostics and leaks of a run's records (with its `profile.jsonl` records). The growing
/// types are the census types the run's verdict calls a leak (`type:<name>` series), so
/// `diagnostics.json` and the verdict never disagree.
pub fn for_records(
    records: &[JobRecord],
    profile: &[ProfileRecord],
    verdict: &RunVerdict,
) -> RunDiagnostics {
    let history = job_snapshots(records, profile);
    let mut leaks = find_memory_leaks(&history, default_warmup(history.len()));
    leaks.types.retain(|t| {
        verdict
            .series
            .iter()
            .any(|s| s.series == format!("type:{}", t.type_name) && s.leak == Some(true))
    });
    RunDiagnostics {
        diagnostics: memory_diagnostics(&history),
        leaks,
    }
}

/// The file the run's diagnostics are written to in the run folder.
pub const DIAGNOSTICS_JSON: &str = "diagnostics.json";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_ignores_cache_cycles() {
        assert!(grows(&[1.0, 2.0, 3.0, 4.0]));
        assert!(
            grows(&[4.0, 8.0, 12.0, 6.0, 10.0, 14.0, 8.0, 12.0]),
            "floor rises"
        );
        assert!(
            !grows(&[4.0, 8.0, 12.0, 4.0, 8.0, 12.0, 4.0, 8.0]),
            "cycles"
        );
        assert!(!grows(&[3.0, 3.0, 3.0, 3.0]));
        assert!(!grows(&[5.0]));
        assert!(!grows(&[2.0, 1.0, 2.0]));
    }

    #[test]
    fn warmup_is_a_fifth() {
        assert_eq!(default_warmup(0), 0);
        assert_eq!(default_warmup(3), 1);
        assert_eq!(default_warmup(20), 4);
    }
}
