//! Prometheus metrics of a run, as an observer of its events ([`Metrics`]), served over HTTP
//! by [`super::metrics_http`]. Names follow the Prometheus conventions: one `docling_` prefix,
//! base units (`_bytes`), `_total` for counters only, a `worker` label from `--name` or the
//! host name and no pid label (a recycled worker keeps its series). The seed's names where
//! they exist (`docling_worker_memory_rss_bytes`, `docling_worker_memory_heap_bytes`,
//! `docling_worker_objects`, the seed's `object_count` renamed: promtool refuses `_count` on a gauge), and the verdict (`docling_memprof_*`).

use std::borrow::Cow;
use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::events::{Event, Observer};
use super::live::LiveVerdict;
use crate::record::{JobRecord, Sample};

type Labels = Vec<(String, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// The metric handles (the registry holding them goes to the HTTP server).
#[derive(Debug, Default, Clone)]
pub struct MetricSet {
    up: Gauge,
    rss: Gauge,
    rss_anon: Family<Labels, Gauge>,
    rss_file: Family<Labels, Gauge>,
    rss_shmem: Family<Labels, Gauge>,
    pss: Family<Labels, Gauge>,
    uss: Family<Labels, Gauge>,
    heap: Family<Labels, Gauge>,
    tree_rss: Gauge,
    tree_pss: Family<Labels, Gauge>,
    tree_processes: Gauge,
    descendant_rss: Family<Labels, Gauge>,
    cgroup_current: Family<Labels, Gauge>,
    cgroup_max: Family<Labels, Gauge>,
    cgroup_stat: Family<Labels, Gauge>,
    working_set: Family<Labels, Gauge>,
    oom_kills: Family<Labels, Counter>,
    jobs: Family<Labels, Counter>,
    cache_clears: Counter,
    cache_clear_freed: Family<Labels, Gauge>,
    deaths: Family<Labels, Counter>,
    objects: Family<Labels, Gauge>,
    samples: Counter,
    growth: Family<Labels, FloatGauge>,
    leak: Family<Labels, Gauge>,
    projected_limit_job: Family<Labels, Gauge>,
}

fn labels(key: &str, value: &str) -> Labels {
    vec![(key.to_string(), value.to_string())]
}

impl MetricSet {
    /// A registry (with the `worker` label on every series) and its handles.
    pub fn new(worker: &str) -> (Registry, MetricSet) {
        let mut r = Registry::with_labels(
            [(Cow::Borrowed("worker"), Cow::Owned(worker.to_string()))].into_iter(),
        );
        let m = MetricSet::default();
        let b = Unit::Bytes;
        r.register(
            "docling_worker_up",
            "1 while the watched worker process runs",
            m.up.clone(),
        );
        r.register_with_unit(
            "docling_worker_memory_rss",
            "Resident set size of the worker process (VmRSS)",
            b.clone(),
            m.rss.clone(),
        );
        r.register_with_unit(
            "docling_worker_memory_rss_anon",
            "Anonymous resident memory of the worker process (RssAnon)",
            b.clone(),
            m.rss_anon.clone(),
        );
        r.register_with_unit(
            "docling_worker_memory_rss_file",
            "File-backed resident memory of the worker process (RssFile)",
            b.clone(),
            m.rss_file.clone(),
        );
        r.register_with_unit(
            "docling_worker_memory_rss_shmem",
            "Shared-memory resident memory of the worker process (RssShmem)",
            b.clone(),
            m.rss_shmem.clone(),
        );
        r.register_with_unit(
            "docling_worker_memory_pss",
            "Proportional set size of the worker process (smaps_rollup Pss)",
            b.clone(),
            m.pss.clone(),
        );
        r.register_with_unit(
            "docling_worker_memory_uss",
            "Unique set size of the worker process (smaps_rollup Private_*)",
            b.clone(),
            m.uss.clone(),
        );
        r.register_with_unit(
            "docling_worker_memory_heap",
            "Live heap bytes as the worker's allocator reports them",
            b.clone(),
            m.heap.clone(),
        );
        r.register_with_unit(
            "docling_worker_tree_memory_rss",
            "Summed RSS of the worker and its descendants (shared pages counted per process)",
            b.clone(),
            m.tree_rss.clone(),
        );
        r.register_with_unit(
            "docling_worker_tree_memory_pss",
            "Summed PSS of the worker and its descendants",
            b.clone(),
            m.tree_pss.clone(),
        );
        m.register_tree(&mut r);
        (r, m)
    }

    /// The process tree, the cgroup, the jobs and the verdict.
    fn register_tree(&self, r: &mut Registry) {
        let m = self;
        let b = Unit::Bytes;
        r.register(
            "docling_worker_tree_processes",
            "Processes in the worker's tree, the worker included",
            m.tree_processes.clone(),
        );
        r.register_with_unit(
            "docling_worker_descendant_memory_rss",
            "Summed RSS of the worker's descendants by command name",
            b.clone(),
            m.descendant_rss.clone(),
        );
        r.register_with_unit(
            "docling_worker_cgroup_memory_current",
            "The worker's cgroup memory.current (v1: memory.usage_in_bytes; what the OOM killer compares with the limit)",
            b.clone(),
            m.cgroup_current.clone(),
        );
        r.register_with_unit(
            "docling_worker_cgroup_memory_max",
            "The worker's cgroup memory.max (v1: memory.limit_in_bytes; absent when unlimited)",
            b.clone(),
            m.cgroup_max.clone(),
        );
        r.register_with_unit(
            "docling_worker_cgroup_memory_stat",
            "The worker's cgroup memory.stat items (v1: the hierarchical total_rss, total_cache, total_inactive_file)",
            b.clone(),
            m.cgroup_stat.clone(),
        );
        r.register_with_unit(
            "docling_worker_memory_working_set",
            "memory.current - inactive_file of the worker's cgroup (kubectl top, kubelet eviction)",
            b.clone(),
            m.working_set.clone(),
        );
        r.register(
            "docling_worker_cgroup_oom_kills",
            "OOM kills in the worker's cgroup seen while watching (memory.events oom_kill; v1: memory.oom_control)",
            m.oom_kills.clone(),
        );
        r.register(
            "docling_worker_jobs",
            "Jobs finished, by outcome",
            m.jobs.clone(),
        );
        r.register(
            "docling_worker_cache_clears",
            "Cache clears of the worker",
            m.cache_clears.clone(),
        );
        r.register_with_unit(
            "docling_worker_cache_clear_freed",
            "Memory freed by the last cache clear",
            b.clone(),
            m.cache_clear_freed.clone(),
        );
        r.register(
            "docling_worker_deaths",
            "Worker deaths during a job, by kind",
            m.deaths.clone(),
        );
        r.register("docling_worker_objects", "Live objects by type after the last job, when the worker has a census (the seed's docling_worker_object_count: promtool refuses a _count suffix on a gauge)", m.objects.clone());
        r.register(
            "docling_memprof_samples",
            "Samples of the worker's process tree taken",
            m.samples.clone(),
        );
        r.register_with_unit(
            "docling_memprof_growth_per_job",
            "Memory growth per job so far: the estimate and its 95% interval bounds",
            b,
            m.growth.clone(),
        );
        r.register(
            "docling_memprof_leak",
            "1 when the verdict so far is a leak, else 0; the pattern and the call as labels",
            m.leak.clone(),
        );
        r.register(
            "docling_memprof_projected_limit_job",
            "The job at which --memory-limit is projected to be reached",
            m.projected_limit_job.clone(),
        );
    }

    fn on_sample(&self, sample: &Sample) {
        self.samples.inc();
        self.up.set(1);
        if let Some(w) = sample.worker() {
            self.set_process(
                w.rss_bytes,
                w.rss_anon_bytes,
                w.rss_file_bytes,
                w.rss_shmem_bytes,
            );
            set_opt(&self.pss, w.pss_bytes);
            set_opt(&self.uss, w.uss_bytes);
        }
        set(&self.tree_rss, sample.total.rss_bytes);
        set_opt(&self.tree_pss, sample.total.pss_bytes);
        self.tree_processes.set(sample.processes.len() as i64);
        let mut by_command: std::collections::BTreeMap<String, u64> = Default::default();
        for p in sample.processes.iter().filter(|p| !p.is_worker) {
            let name = p.comm.clone().unwrap_or_else(|| "unknown".into());
            *by_command.entry(name).or_default() += p.memory.rss_bytes;
        }
        self.descendant_rss.clear();
        for (command, rss) in by_command {
            set(
                &self
                    .descendant_rss
                    .get_or_create(&labels("command", &command)),
                rss,
            );
        }
        if let Some(c) = &sample.cgroup {
            set_opt(&self.cgroup_current, Some(c.current_bytes));
            set_opt(&self.cgroup_max, c.max_bytes);
            set_opt(&self.working_set, c.working_set_bytes);
            for (item, value) in [
                ("anon", c.anon_bytes),
                ("file", c.file_bytes),
                ("inactive_file", c.inactive_file_bytes),
            ] {
                if let Some(v) = value {
                    set(&self.cgroup_stat.get_or_create(&labels("item", item)), v);
                }
            }
            let counter = self.oom_kills.get_or_create(&Vec::new());
            let seen = c.oom_kill_events.unwrap_or(0);
            let counted = counter.get();
            if seen > counted {
                counter.inc_by(seen - counted);
            }
        }
    }

    fn set_process(&self, rss: u64, anon: Option<u64>, file: Option<u64>, shmem: Option<u64>) {
        set(&self.rss, rss);
        set_opt(&self.rss_anon, anon);
        set_opt(&self.rss_file, file);
        set_opt(&self.rss_shmem, shmem);
    }

    fn on_job(&self, record: &JobRecord, from_samples: bool) {
        self.jobs
            .get_or_create(&labels("outcome", record.outcome.label()))
            .inc();
        if let Some(death) = record.outcome.death() {
            self.deaths
                .get_or_create(&labels("kind", death.kind()))
                .inc();
        }
        let Some(snapshot) = record.after_job.as_ref() else {
            return;
        };
        if !from_samples {
            if let Some(p) = &snapshot.process {
                self.set_process(
                    p.rss_bytes,
                    p.rss_anon_bytes,
                    p.rss_file_bytes,
                    p.rss_shmem_bytes,
                );
            }
        }
        set_opt(&self.heap, snapshot.live_bytes());
        if !snapshot.census.is_empty() {
            self.objects.clear();
            for t in &snapshot.census {
                set(
                    &self.objects.get_or_create(&labels("type", &t.type_name)),
                    t.live_count,
                );
            }
        }
    }

    fn on_verdict(&self, verdict: &crate::analysis::SeriesVerdict) {
        // The verdict's unit is MB (MiB) for memory series.
        let scale = if verdict.unit == "MB" {
            1024.0 * 1024.0
        } else {
            1.0
        };
        if verdict.pattern == crate::analysis::Pattern::TooShort {
            self.growth.clear();
        } else {
            self.set_growth(verdict, scale);
        }
        self.set_call(verdict);
    }

    fn set_growth(&self, verdict: &crate::analysis::SeriesVerdict, scale: f64) {
        for (bound, value) in [
            ("estimate", verdict.slope_per_job),
            ("lower", verdict.slope_ci.0),
            ("upper", verdict.slope_ci.1),
        ] {
            self.growth
                .get_or_create(&labels("bound", bound))
                .set(value * scale);
        }
    }

    fn set_call(&self, verdict: &crate::analysis::SeriesVerdict) {
        let call = serde_json::to_value(verdict.call)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        self.leak.clear();
        let key = vec![
            ("pattern".to_string(), verdict.pattern.name().to_string()),
            ("call".to_string(), call),
        ];
        self.leak
            .get_or_create(&key)
            .set(i64::from(verdict.leak == Some(true)));
        set_opt(&self.projected_limit_job, verdict.projected_limit_job);
    }
}

fn set(gauge: &Gauge, value: u64) {
    gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
}

/// A gauge whose value may be unknown: its series exists only while the value is known
/// (unknown is no sample, never 0).
fn set_opt(gauge: &Family<Labels, Gauge>, value: Option<u64>) {
    match value {
        Some(v) => set(&gauge.get_or_create(&Vec::new()), v),
        None => {
            gauge.remove(&Vec::new());
        }
    }
}

/// The observer that keeps the metrics up to date.
#[derive(Debug)]
pub struct Metrics {
    set: MetricSet,
    live: LiveVerdict,
    /// Samples come in (`watch`): the process gauges follow them, not the job records.
    sampled: bool,
}

impl Metrics {
    pub fn new(set: MetricSet) -> Metrics {
        Metrics {
            set,
            live: LiveVerdict::default(),
            sampled: false,
        }
    }
}

impl Observer for Metrics {
    fn on_event(&mut self, event: &Event<'_>) -> crate::Result<()> {
        match event {
            Event::WorkerStarted { baseline, .. } => {
                self.set.up.set(1);
                if let Some(p) = baseline.and_then(|b| b.process.as_ref()) {
                    self.set.set_process(
                        p.rss_bytes,
                        p.rss_anon_bytes,
                        p.rss_file_bytes,
                        p.rss_shmem_bytes,
                    );
                }
            }
            Event::Tick {
                rss_bytes: Some(rss),
            } if !self.sampled => set(&self.set.rss, *rss),
            Event::Sampled { sample } => {
                self.sampled = true;
                self.set.on_sample(sample);
            }
            Event::JobDone { record } => self.set.on_job(record, self.sampled),
            Event::CacheCleared { clear, .. } => {
                self.set.cache_clears.inc();
                if let (Some(before), Some(after)) = (clear.rss_before_bytes, clear.rss_after_bytes)
                {
                    self.set
                        .cache_clear_freed
                        .get_or_create(&Vec::new())
                        .set(before as i64 - after as i64);
                }
            }
            Event::WorkerRetired { .. } | Event::RunEnded { .. } => {
                self.set.up.set(0);
            }
            _ => {}
        }
        if self.live.on_event(event) {
            if let Some(verdict) = &self.live.verdict {
                self.set.on_verdict(verdict);
            }
        }
        Ok(())
    }
}
