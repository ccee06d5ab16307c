//! Inputs of the render tests: the synthetic fixture's generator (`fixtures/reports/
//! synthetic-sawtooth/`, built from the shared record types) and the verdicts, growth table and
//! log trajectory the tests render. The verdicts are written out with fixed numbers, as the
//! analysis would report them, so that the snapshots pin rendering only.

use std::collections::BTreeMap;
use std::path::PathBuf;

use docling_memprof::analysis::from_records;
use docling_memprof::analysis::{
    Cause, CauseKind, ClearPoint, ClearSummary, JobPoint, LeakCall, Pattern, RunVerdict,
    SeriesVerdict, SourceKind, Trajectory,
};
use docling_memprof::record::{
    AllocatorLayers, JemallocStats, ProcessMemory, SiteStat, SiteTable, Snapshot, SnapshotKind,
    TypeCount, WorkerState,
};
use docling_memprof::record::{
    CacheClear, DocumentResult, JobOutcome, JobRecord, MachineInfo, RunManifest,
    RECORD_SCHEMA_VERSION,
};
use docling_memprof::render::{GrowthKind, GrowthRow, GrowthTable, ReportInput};

use docling_memprof::engine::folder::read_run;

use crate::util::project_root;

pub const FIXTURE: &str = "fixtures/reports/synthetic-sawtooth";
pub const MIB: u64 = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// The synthetic fixture: a 12-job jemalloc run with a cache clear every 3 jobs, a floor rising
// 6 MB per cycle, a growing `PageImage` census type and one growing site; job 8 failed.

pub fn mb(v: f64) -> u64 {
    (v * MIB as f64).round() as u64
}

pub fn snapshot(
    kind: SnapshotKind,
    at: f64,
    rss: f64,
    live: f64,
    resident: f64,
    job: u64,
) -> Snapshot {
    Snapshot {
        kind,
        taken_at_secs: Some(at),
        snapshot_duration_secs: Some(0.0004),
        process: Some(ProcessMemory {
            rss_bytes: mb(rss),
            ..Default::default()
        }),
        process_from_parent: false,
        allocator: Some(AllocatorLayers::Jemalloc {
            before_purge: JemallocStats {
                allocated_bytes: mb(live),
                active_bytes: mb(live * 1.1),
                resident_bytes: mb(resident),
                retained_bytes: mb(4.0),
                mapped_bytes: mb(resident + 8.0),
                metadata_bytes: mb(1.5),
                ..Default::default()
            },
            after_purge: None,
        }),
        worker: Some(WorkerState {
            converters: 1,
            pipelines: 1,
            models_loaded: Some(3),
            model_bytes: Some(mb(32.0)),
            options_side_map: Some(1 + (job.saturating_sub(1)) / 3),
            retained_results: Some(0),
            jobs_total: job,
            jobs_since_clear: if kind == SnapshotKind::AfterClear {
                0
            } else {
                (job.saturating_sub(1)) % 3 + 1
            },
        }),
        python: None,
        census: vec![
            TypeCount {
                type_name: "Converter".into(),
                live_count: 1,
                live_bytes: Some(4096),
            },
            TypeCount {
                type_name: "PageImage".into(),
                live_count: 10 * job,
                live_bytes: Some(10 * job * 65_536),
            },
        ],
        sites: Some(SiteTable {
            mode: "exact".into(),
            sample_interval_bytes: None,
            sites: vec![
                SiteStat {
                    site: "worker::document::pdf::render_page (src/worker/document/pdf.rs:88)"
                        .into(),
                    live_bytes: mb(2.0 * job as f64),
                    live_blocks: 10 * job,
                    live_bytes_stderr: None,
                    job_live_bytes: Some(mb(2.0)),
                },
                SiteStat {
                    site: "worker::options::side_map_insert (src/worker/options.rs:140)".into(),
                    live_bytes: 4096 * (1 + job.saturating_sub(1) / 3),
                    live_blocks: 1 + job.saturating_sub(1) / 3,
                    live_bytes_stderr: None,
                    job_live_bytes: None,
                },
            ],
        }),
        raw_sites: None,
    }
}

/// The fixture's numbers for job `j` (1-based): (rss, live, resident) after the job.
pub fn fixture_memory(j: u64) -> (f64, f64, f64) {
    let cycle = ((j - 1) / 3) as f64;
    let step = ((j - 1) % 3 + 1) as f64;
    let wobble = [0.0, 0.4, -0.3, 0.2][(j % 4) as usize];
    let rss = 120.0 + 6.0 * cycle + 15.0 * step + wobble;
    let live = 40.0 + 5.0 * cycle + 12.0 * step + wobble;
    (rss, live, live + 15.0)
}

pub fn fixture_records() -> (RunManifest, Vec<JobRecord>) {
    let mut records = Vec::new();
    for j in 1..=12u64 {
        let (rss, live, resident) = fixture_memory(j);
        let failed = j == 8;
        let cache_clear = (j % 3 == 0).then(|| {
            let cycle = ((j - 1) / 3) as f64;
            let after_rss = 122.0 + 6.0 * cycle;
            CacheClear {
                jobs_since_last_clear: 3,
                converters: 1,
                pipelines: 1,
                models: 3,
                model_bytes: Some(mb(32.0)),
                rss_before_bytes: Some(mb(rss)),
                rss_after_bytes: Some(mb(after_rss)),
                after_clear: Some(snapshot(
                    SnapshotKind::AfterClear,
                    j as f64 * 2.0 + 0.5,
                    after_rss,
                    42.0 + 5.0 * cycle,
                    60.0 + 5.0 * cycle,
                    j,
                )),
            }
        });
        records.push(JobRecord {
            schema_version: RECORD_SCHEMA_VERSION,
            job: j,
            worker_index: 0,
            worker_pid: 4242,
            worker_jobs_total: j,
            job_id: format!("00000000-0000-4000-8000-{j:012}"),
            task_id: format!("10000000-0000-4000-8000-{j:012}"),
            workload_job: if j % 2 == 0 {
                "scanned-pdf".into()
            } else {
                "report-pdf".into()
            },
            outcome: if failed {
                JobOutcome::Failed {
                    error: "document failed: truncated xref table".into(),
                }
            } else {
                JobOutcome::Success
            },
            duration_secs: 1.5 + (j % 3) as f64 * 0.25,
            documents: vec![DocumentResult {
                name: "report.pdf".into(),
                size_bytes: 453_530,
                pages: 10,
                success: !failed,
                error: failed.then(|| "truncated xref table".to_string()),
                duration_secs: 1.4,
            }],
            peak_rss_bytes: Some(mb(rss + 8.0)),
            after_job: Some(snapshot(
                SnapshotKind::AfterJob,
                j as f64 * 2.0,
                rss,
                live,
                resident,
                j,
            )),
            cache_clear,
            recycle_requested: false,
            logged_rss_bytes: None,
        });
    }
    let manifest = RunManifest {
        schema_version: RECORD_SCHEMA_VERSION,
        tool_version: "0.1.0".into(),
        workload_path: "fixtures/workloads/synthetic-sawtooth.json".into(),
        workload_name: "synthetic-sawtooth (SYNTHETIC fixture for render tests)".into(),
        workload: serde_json::json!({"name": "synthetic-sawtooth", "synthetic": true, "jobs_between_cache_clear": 3}),
        worker: docling_memprof::record::WorkerKind::Core,
        allocator: Some(docling_memprof::record::AllocatorKind::Jemalloc),
        isolation: docling_memprof::record::Isolation::Worker,
        sites: Some(docling_memprof::record::SitesMode::Exact),
        census: true,
        memory_limit_bytes: Some(512 * MIB),
        git_revision: Some("0000000".into()),
        machine: MachineInfo {
            hostname: Some("synthetic".into()),
            os: "linux".into(),
            arch: "x86_64".into(),
            cpus: 2,
            total_memory_bytes: Some(8 * 1024 * MIB),
        },
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: Some("2026-01-01T00:00:30Z".into()),
        baselines: vec![snapshot(SnapshotKind::Baseline, 0.0, 80.0, 20.0, 30.0, 0)],
        status: docling_memprof::record::RunStatus::Completed,
        status_message: None,
        wall_time_secs: Some(30.0),
        workers_started: 1,
        jobs_planned: None,
        watch: None,
    };
    (manifest, records)
}

pub fn fixture_dir() -> PathBuf {
    project_root().join(FIXTURE)
}

// ---------------------------------------------------------------------------------------------
// Report inputs. The verdict and growth table are written out here (fixed numbers, as the
// analysis would report them) so that the snapshots pin rendering only.

pub fn series_verdict(
    series: &str,
    unit: &str,
    call: LeakCall,
    pattern: Pattern,
    slope: f64,
    floor: Vec<(u64, f64)>,
) -> SeriesVerdict {
    let first = floor.first().map_or(0.0, |p| p.1);
    let first_job = floor.first().map_or(1, |p| p.0) as f64;
    SeriesVerdict {
        series: series.into(),
        unit: unit.into(),
        call,
        leak: match call {
            LeakCall::Leak => Some(true),
            LeakCall::NoLeak | LeakCall::SlowGrowth => Some(false),
            LeakCall::Inconclusive => None,
        },
        pattern,
        warmup_jobs: 0,
        slope_per_job: slope,
        slope_ci: (slope * 0.8, slope * 1.2),
        trend_p_value: 0.0004,
        total_growth: slope * 11.0,
        noise_sigma: 0.31,
        jobs_to_decide: None,
        projected_limit_job: None,
        floor,
        summary: format!("{series}: synthetic verdict for the render tests."),
        fit_intercept: Some(first - slope * first_job),
        practical: None,
    }
}

pub fn leak_verdict(t: &Trajectory) -> RunVerdict {
    let rss_floor: Vec<(u64, f64)> = t.clears.iter().map(|c| (c.job, c.after_mb)).collect();
    let live_floor: Vec<(u64, f64)> = t
        .clears
        .iter()
        .filter_map(|c| c.live_after_mb.map(|v| (c.job, v)))
        .collect();
    let mut primary = series_verdict(
        "live_mb",
        "MB",
        LeakCall::Leak,
        Pattern::SawtoothRisingFloor,
        1.667,
        live_floor,
    );
    primary.summary = "The floor after each cache clear rises about 5 MB per 3-job cycle.".into();
    let mut rss = series_verdict(
        "rss_mb",
        "MB",
        LeakCall::Leak,
        Pattern::SawtoothRisingFloor,
        2.0,
        rss_floor,
    );
    rss.projected_limit_job = Some(191);
    let resident = series_verdict(
        "resident_mb",
        "MB",
        LeakCall::Inconclusive,
        Pattern::SawtoothFlatFloor,
        0.4,
        vec![],
    );
    let mut resident = SeriesVerdict {
        jobs_to_decide: Some(9),
        fit_intercept: None,
        ..resident
    };
    resident.summary = "Not enough cycles yet.".into();
    let pages = series_verdict(
        "type:PageImage",
        "count",
        LeakCall::Leak,
        Pattern::Linear,
        10.0,
        vec![],
    );
    let converters = series_verdict(
        "type:Converter",
        "count",
        LeakCall::NoLeak,
        Pattern::Plateau,
        0.0,
        vec![],
    );
    RunVerdict {
        primary: primary.clone(),
        series: vec![primary, resident, rss, pages, converters],
        cause: Cause {
            kind: CauseKind::LiveGrowth,
            explanation: "Live bytes rise with the PageImage count.".into(),
            suspects: vec![
                "type PageImage".into(),
                "worker::document::pdf::render_page (src/worker/document/pdf.rs:88)".into(),
            ],
        },
        clear_summary: ClearSummary {
            clears: t.clears.len() as u64,
            mean_freed_mb: Some(45.0),
            floor_growth_mb_per_cycle: Some(6.0),
        },
        attribution: None,
    }
}

pub fn growth_table() -> GrowthTable {
    let row = |kind, name: &str, unit: &str, from: f64, to: f64| GrowthRow {
        kind,
        name: name.into(),
        unit: unit.into(),
        from: Some(from),
        to: Some(to),
        change: to - from,
        change_per_job: (to - from) / 11.0,
    };
    GrowthTable {
        from_job: 1,
        to_job: 12,
        rows: vec![
            row(GrowthKind::Metric, "rss_mb", "MB", 135.0, 183.0),
            row(GrowthKind::Metric, "live_mb", "MB", 52.0, 91.0),
            row(GrowthKind::Type, "PageImage", "count", 10.0, 120.0),
            row(GrowthKind::Type, "Converter", "count", 1.0, 1.0),
            row(
                GrowthKind::Site,
                "worker::document::pdf::render_page (src/worker/document/pdf.rs:88)",
                "MB",
                2.0,
                24.0,
            ),
            row(
                GrowthKind::Site,
                "worker::options::side_map_insert (src/worker/options.rs:140)",
                "MB",
                0.0039,
                0.0156,
            ),
            GrowthRow {
                from: None,
                ..row(
                    GrowthKind::Site,
                    "worker::pipeline::drop_models (src/worker/pipeline.rs:51)",
                    "MB",
                    3.0,
                    0.0,
                )
            },
        ],
    }
}

/// The fixture's records as a trajectory, read as the analysis reads a run folder.
pub fn fixture_trajectory() -> (RunManifest, Trajectory) {
    let (manifest, records) = read_run(&fixture_dir()).expect("the render fixture reads");
    let trajectory = from_records::trajectory(&manifest, &records, FIXTURE);
    (manifest, trajectory)
}

pub fn fixture_input() -> ReportInput {
    let (manifest, trajectory) = fixture_trajectory();
    let verdict = leak_verdict(&trajectory);
    let mut input = ReportInput::new("synthetic-sawtooth", trajectory, verdict);
    input.manifest = Some(manifest);
    input.growth = Some(growth_table());
    input
}

/// The seed's 20-job log trajectory (RSS only), as `logs` reads it.
pub fn seed_log_input() -> ReportInput {
    let clears = [
        (3, 1109.0, 859.0),
        (6, 1306.0, 1066.0),
        (9, 1485.0, 1236.0),
        (12, 1690.0, 1448.0),
        (15, 1844.0, 1589.0),
        (18, 1984.0, 1741.0),
    ];
    let mut rss: BTreeMap<u64, f64> = BTreeMap::new();
    rss.insert(1, 1160.0);
    rss.insert(20, 2157.0);
    for (job, before, _) in clears {
        rss.insert(job, before);
    }
    // Jobs between the seed's reported ones: the last clear's floor plus 110 MB per job since.
    for j in 1..=20u64 {
        rss.entry(j).or_insert_with(|| {
            let prev = clears
                .iter()
                .rev()
                .find(|c| c.0 < j)
                .map_or(1160.0, |c| c.2);
            (prev + 110.0 * ((j - 1) % 3) as f64).round()
        });
    }
    let points = rss
        .iter()
        .map(|(job, v)| JobPoint {
            job: *job,
            outcome: docling_memprof::analysis::OutcomeKind::Success,
            duration_secs: Some(54.57),
            rss_mb: Some(*v),
            ..Default::default()
        })
        .collect();
    let trajectory = Trajectory {
        source: SourceKind::Log,
        origin: "worker.log".into(),
        baseline_rss_mb: None,
        baseline_live_mb: None,
        points,
        clears: clears
            .iter()
            .map(|(job, before, after)| ClearPoint {
                job: *job,
                before_mb: *before,
                after_mb: *after,
                freed_mb: before - after,
                live_after_mb: None,
                live_before_mb: None,
                resident_after_mb: None,
                type_counts_after: Default::default(),
            })
            .collect(),
        memory_limit_mb: Some(3072.0),
        unreadable_lines: 3,
    };
    let floor: Vec<(u64, f64)> = trajectory
        .clears
        .iter()
        .map(|c| (c.job, c.after_mb))
        .collect();
    let mut primary = series_verdict(
        "rss_mb",
        "MB",
        LeakCall::Leak,
        Pattern::SawtoothRisingFloor,
        58.9,
        floor,
    );
    primary.projected_limit_job = Some(40);
    let verdict = RunVerdict {
        primary: primary.clone(),
        series: vec![primary],
        cause: Cause {
            kind: CauseKind::Unknown,
            explanation: "A log gives RSS only.".into(),
            suspects: vec![],
        },
        clear_summary: ClearSummary {
            clears: 6,
            mean_freed_mb: Some(246.5),
            floor_growth_mb_per_cycle: Some(176.6),
        },
        attribution: None,
    };
    let mut input = ReportInput::new("worker.log", trajectory, verdict);
    input.settings.push(("log".into(), "worker.log".into()));
    input
}
