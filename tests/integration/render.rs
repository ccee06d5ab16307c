//! Integration tests: render. Tables and the Markdown report are pinned with insta snapshots
//! for the synthetic fixture `fixtures/reports/synthetic-sawtooth/`; every chart is checked to be
//! written and valid (PNG decodes to 800x480, SVG parses) for replay and log trajectories and
//! for the edge cases (one job, no clears, a killed child, missing values).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use docling_memprof::analysis::{
    Cause, CauseKind, ClearPoint, ClearSummary, JobPoint, LeakCall, Pattern, RunVerdict,
    SeriesVerdict, SourceKind, Trajectory,
};
use docling_memprof::probe::{
    AllocatorLayers, JemallocStats, ProcessMemory, SiteStat, SiteTable, Snapshot, SnapshotKind,
    TypeCount, WorkerState,
};
use docling_memprof::render::{
    self, table, BaselineRun, GrowthKind, GrowthRow, GrowthTable, RenderOptions, ReportInput,
    Terminal,
};
use docling_memprof::runner::record::{
    CacheClearRecord, DocumentRecord, JobOutcome, JobRecord, MachineInfo, RunManifest,
    RECORD_SCHEMA_VERSION,
};

use crate::util::project_root;

const FIXTURE: &str = "fixtures/reports/synthetic-sawtooth";
const MIB: u64 = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// The synthetic fixture: a 12-job jemalloc run with a cache clear every 3 jobs, a floor rising
// 6 MB per cycle, a growing `PageImage` census type and one growing site; job 8 failed.

fn mb(v: f64) -> u64 {
    (v * MIB as f64).round() as u64
}

fn snapshot(kind: SnapshotKind, at: f64, rss: f64, live: f64, resident: f64, job: u64) -> Snapshot {
    Snapshot {
        kind,
        taken_at_secs: at,
        snapshot_duration_secs: 0.0004,
        process: ProcessMemory {
            rss_bytes: mb(rss),
            ..Default::default()
        },
        allocator: AllocatorLayers::Jemalloc {
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
        },
        worker: WorkerState {
            converters: 1,
            pipelines: 1,
            models_loaded: 3,
            model_bytes: mb(32.0),
            options_side_map: 1 + (job.saturating_sub(1)) / 3,
            retained_results: 0,
            jobs_total: job,
            jobs_since_clear: if kind == SnapshotKind::AfterClear {
                0
            } else {
                (job.saturating_sub(1)) % 3 + 1
            },
        },
        census: vec![
            TypeCount {
                type_name: "Converter".into(),
                live_count: 1,
                live_bytes: 4096,
            },
            TypeCount {
                type_name: "PageImage".into(),
                live_count: 10 * job,
                live_bytes: 10 * job * 65_536,
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
    }
}

/// The fixture's numbers for job `j` (1-based): (rss, live, resident) after the job.
fn fixture_memory(j: u64) -> (f64, f64, f64) {
    let cycle = ((j - 1) / 3) as f64;
    let step = ((j - 1) % 3 + 1) as f64;
    let wobble = [0.0, 0.4, -0.3, 0.2][(j % 4) as usize];
    let rss = 120.0 + 6.0 * cycle + 15.0 * step + wobble;
    let live = 40.0 + 5.0 * cycle + 12.0 * step + wobble;
    (rss, live, live + 15.0)
}

fn fixture_records() -> (RunManifest, Vec<JobRecord>) {
    let mut records = Vec::new();
    for j in 1..=12u64 {
        let (rss, live, resident) = fixture_memory(j);
        let failed = j == 8;
        let cache_clear = (j % 3 == 0).then(|| {
            let cycle = ((j - 1) / 3) as f64;
            let after_rss = 122.0 + 6.0 * cycle;
            CacheClearRecord {
                converters: 1,
                pipelines: 1,
                model_bytes: mb(32.0),
                rss_before_bytes: mb(rss),
                rss_after_bytes: mb(after_rss),
                after_clear: snapshot(
                    SnapshotKind::AfterClear,
                    j as f64 * 2.0 + 0.5,
                    after_rss,
                    42.0 + 5.0 * cycle,
                    60.0 + 5.0 * cycle,
                    j,
                ),
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
            documents: vec![DocumentRecord {
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
        });
    }
    let manifest = RunManifest {
        schema_version: RECORD_SCHEMA_VERSION,
        tool_version: "0.1.0".into(),
        workload_path: "fixtures/workloads/synthetic-sawtooth.json".into(),
        workload_name: "synthetic-sawtooth (SYNTHETIC fixture for render tests)".into(),
        workload: serde_json::json!({"name": "synthetic-sawtooth", "synthetic": true, "jobs_between_cache_clear": 3}),
        allocator: "jemalloc".into(),
        isolation: "single-worker".into(),
        sites: Some("exact".into()),
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
        status: "completed".into(),
        status_message: None,
        wall_time_secs: Some(30.0),
        workers_started: 1,
    };
    (manifest, records)
}

fn fixture_dir() -> PathBuf {
    project_root().join(FIXTURE)
}

/// Rewrites the fixture from the generator above: `cargo test --test integration
/// regenerate_render_fixture -- --ignored`.
#[test]
#[ignore = "rewrites fixtures/reports/synthetic-sawtooth"]
fn regenerate_render_fixture() {
    let (manifest, records) = fixture_records();
    let dir = fixture_dir();
    std::fs::create_dir_all(&dir).expect("fixture folder");
    let json = serde_json::to_string_pretty(&manifest).expect("manifest json");
    std::fs::write(dir.join("run.json"), json + "\n").expect("run.json");
    let lines: Vec<String> = records
        .iter()
        .map(|r| serde_json::to_string(r).expect("record json"))
        .collect();
    std::fs::write(dir.join("jobs.jsonl"), lines.join("\n") + "\n").expect("jobs.jsonl");
}

#[test]
fn fixture_matches_the_record_types() {
    let dir = fixture_dir();
    let manifest: RunManifest =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).expect("run.json"))
            .expect("manifest parses");
    let records: Vec<JobRecord> = std::fs::read_to_string(dir.join("jobs.jsonl"))
        .expect("jobs.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("record parses"))
        .collect();
    let (want_manifest, want_records) = fixture_records();
    assert_eq!(
        manifest, want_manifest,
        "run.json is stale: regenerate it (see regenerate_render_fixture)"
    );
    assert_eq!(
        records, want_records,
        "jobs.jsonl is stale: regenerate it (see regenerate_render_fixture)"
    );
}

// ---------------------------------------------------------------------------------------------
// Report inputs. The verdict and growth table are written out here (fixed numbers, as the
// analysis would report them) so that the snapshots pin rendering only.

fn series_verdict(
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
            LeakCall::NoLeak => Some(false),
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
    }
}

fn leak_verdict(t: &Trajectory) -> RunVerdict {
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
    }
}

fn growth_table() -> GrowthTable {
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

/// The fixture's records as a trajectory (the same fields the analysis' reader fills).
fn fixture_trajectory() -> (RunManifest, Trajectory) {
    let dir = fixture_dir();
    let manifest: RunManifest =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).expect("run.json"))
            .expect("manifest parses");
    let records: Vec<JobRecord> = std::fs::read_to_string(dir.join("jobs.jsonl"))
        .expect("jobs.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("record parses"))
        .collect();
    let to_mb = |b: u64| b as f64 / MIB as f64;
    let points = records
        .iter()
        .map(|r| {
            let snap = r.after_job.as_ref();
            JobPoint {
                job: r.job,
                worker_index: r.worker_index,
                outcome: r.outcome.label().into(),
                duration_secs: Some(r.duration_secs),
                rss_mb: snap.map(|s| to_mb(s.process.rss_bytes)),
                live_mb: snap.and_then(|s| s.allocator.live_bytes()).map(to_mb),
                resident_mb: snap.and_then(|s| s.allocator.resident_bytes()).map(to_mb),
                peak_rss_mb: r.peak_rss_bytes.map(to_mb),
                type_counts: snap
                    .map(|s| {
                        s.census
                            .iter()
                            .map(|c| (c.type_name.clone(), c.live_count as f64))
                            .collect()
                    })
                    .unwrap_or_default(),
                ..Default::default()
            }
        })
        .collect();
    let clears = records
        .iter()
        .filter_map(|r| {
            let c = r.cache_clear.as_ref()?;
            Some(ClearPoint {
                job: r.job,
                before_mb: to_mb(c.rss_before_bytes),
                after_mb: to_mb(c.rss_after_bytes),
                freed_mb: to_mb(c.rss_before_bytes) - to_mb(c.rss_after_bytes),
                live_after_mb: c.after_clear.allocator.live_bytes().map(to_mb),
                live_before_mb: r
                    .after_job
                    .as_ref()
                    .and_then(|s| s.allocator.live_bytes())
                    .map(to_mb),
            })
        })
        .collect();
    let trajectory = Trajectory {
        source: SourceKind::Replay,
        origin: FIXTURE.into(),
        baseline_rss_mb: manifest
            .baselines
            .first()
            .map(|b| to_mb(b.process.rss_bytes)),
        baseline_live_mb: manifest
            .baselines
            .first()
            .and_then(|b| b.allocator.live_bytes())
            .map(to_mb),
        points,
        clears,
        memory_limit_mb: manifest.memory_limit_bytes.map(to_mb),
        unreadable_lines: 0,
    };
    (manifest, trajectory)
}

fn fixture_input() -> ReportInput {
    let (manifest, trajectory) = fixture_trajectory();
    let verdict = leak_verdict(&trajectory);
    let mut input = ReportInput::new("synthetic-sawtooth", trajectory, verdict);
    input.manifest = Some(manifest);
    input.growth = Some(growth_table());
    input
}

/// The seed's 20-job log trajectory (RSS only), as `logs` reads it.
fn seed_log_input() -> ReportInput {
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
            outcome: "success".into(),
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
    };
    let mut input = ReportInput::new("worker.log", trajectory, verdict);
    input.settings.push(("log".into(), "worker.log".into()));
    input
}

// ---------------------------------------------------------------------------------------------
// Snapshots of the tables and of report.md.

fn terminal_plain(data: &table::TableData) -> String {
    table::render_terminal(data, &Terminal::plain())
}

#[test]
fn tables_snapshot() {
    let input = fixture_input();
    insta::assert_snapshot!(
        "jobs_table",
        terminal_plain(&table::jobs_table(&input.trajectory, &input.clears))
    );
    insta::assert_snapshot!(
        "growth_table",
        terminal_plain(&table::growth_table(&growth_table(), 10))
    );
    insta::assert_snapshot!(
        "clear_table",
        terminal_plain(&table::clear_table(&input.clears))
    );
    insta::assert_snapshot!(
        "verdict_table",
        terminal_plain(&table::verdict_table(&input.verdict))
    );
}

#[test]
fn seed_clear_table_is_the_seed_layout() {
    let input = seed_log_input();
    let md = render::markdown::table(&table::clear_table(&input.clears));
    insta::assert_snapshot!("seed_clear_table_md", md);
    assert!(md.contains("| Job 3 | 1109 MB | 859 MB | 250 MB |"), "{md}");
}

#[test]
fn markdown_report_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = fixture_input();
    let opts = RenderOptions {
        charts: false,
        markdown: true,
        html: false,
    };
    render::write_report(dir.path(), &input, &opts).expect("report written");
    let md = std::fs::read_to_string(dir.path().join("report.md")).expect("report.md");
    insta::assert_snapshot!("fixture_report_md", md);
    // The verdict comes first.
    let verdict_at = md.find("Verdict: LEAK").expect("headline");
    assert!(verdict_at < md.find("## Jobs").expect("jobs section"));
}

#[test]
fn terminal_report_is_plain_when_piped_and_unsqueezed() {
    let input = fixture_input();
    let text = render::terminal_report(&input, &Terminal::plain());
    assert!(!text.contains('\x1b'));
    assert!(
        text.contains("worker::document::pdf::render_page (src/worker/document/pdf.rs:88)"),
        "a long cell stays whole"
    );
    let coloured = render::terminal_report(
        &input,
        &Terminal {
            color: true,
            width: Some(100),
        },
    );
    assert!(coloured.contains("\x1b["), "colour when asked");
}

// ---------------------------------------------------------------------------------------------
// Charts: every file written and valid.

fn assert_png_800x480(path: &Path) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{} does not decode: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{} frame: {e}", path.display()));
    assert_eq!((info.width, info.height), (800, 480), "{}", path.display());
    // Not a blank image: some pixels differ from the first one.
    let first = &buf[..3];
    assert!(
        buf.chunks(3).any(|px| px != first),
        "{} is blank",
        path.display()
    );
}

fn assert_svg_parses(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    assert!(
        doc.descendants().any(|n| n.has_tag_name("text")),
        "{} has no labels",
        path.display()
    );
}

/// Write the full report and check every chart; returns the chart stems written.
fn check_report(input: &ReportInput) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let written =
        render::write_report(dir.path(), input, &RenderOptions::default()).expect("report written");
    let mut stems = Vec::new();
    for path in &written {
        assert!(path.is_file(), "{} missing", path.display());
        match path.extension().and_then(|e| e.to_str()) {
            Some("png") => {
                assert_png_800x480(path);
                stems.push(
                    path.file_stem()
                        .and_then(|s| s.to_str())
                        .unwrap_or_default()
                        .to_string(),
                );
            }
            Some("svg") => assert_svg_parses(path),
            _ => {}
        }
    }
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("report.html");
    assert_eq!(
        html.matches("data:image/png;base64,").count(),
        stems.len(),
        "every chart embedded"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "self-contained"
    );
    let md = std::fs::read_to_string(dir.path().join("report.md")).expect("report.md");
    for stem in &stems {
        assert!(
            md.contains(&format!("charts/{stem}.png")),
            "report.md links {stem}"
        );
    }
    if std::env::var_os("RENDER_KEEP").is_some() {
        let keep = std::env::temp_dir()
            .join("render-keep")
            .join(input.title.replace('/', "_"));
        let _ = std::fs::remove_dir_all(&keep);
        let _ = std::fs::create_dir_all(keep.join("charts"));
        for path in &written {
            let rel = path.strip_prefix(dir.path()).expect("inside");
            let _ = std::fs::copy(path, keep.join(rel));
        }
    }
    stems
}

#[test]
fn charts_for_a_replay_report() {
    let mut input = fixture_input();
    let mut baseline = fixture_input().trajectory;
    for p in &mut baseline.points {
        p.rss_mb = p.rss_mb.map(|v| v - 10.0 - p.job as f64);
        p.live_mb = p.live_mb.map(|v| v - 8.0 - p.job as f64);
    }
    input.baseline = Some(BaselineRun {
        label: "baseline".into(),
        trajectory: baseline,
    });
    assert_eq!(check_report(&input), ["trajectory", "growth", "comparison"]);
}

#[test]
fn charts_for_a_docling_serve_log() {
    assert_eq!(check_report(&seed_log_input()), ["trajectory"]);
}

#[test]
fn charts_for_a_single_job() {
    let mut input = fixture_input();
    input.title = "single job".into();
    input.trajectory.points.truncate(1);
    input.trajectory.clears.clear();
    input.clears.clear();
    input.verdict = leak_verdict(&input.trajectory);
    input.verdict.primary.pattern = Pattern::TooShort;
    input.verdict.primary.call = LeakCall::Inconclusive;
    input.verdict.primary.fit_intercept = None;
    input.growth = None;
    assert_eq!(check_report(&input), ["trajectory"]);
}

#[test]
fn charts_without_clears() {
    let mut input = fixture_input();
    input.title = "no clears".into();
    input.trajectory.clears.clear();
    input.clears.clear();
    let floor: Vec<(u64, f64)> = input
        .trajectory
        .points
        .iter()
        .filter_map(|p| p.live_mb.map(|v| (p.job, v)))
        .collect();
    input.verdict.primary.floor = floor;
    input.verdict.primary.pattern = Pattern::Linear;
    let stems = check_report(&input);
    assert_eq!(stems, ["trajectory", "growth"]);
}

#[test]
fn charts_for_a_killed_child() {
    let mut input = fixture_input();
    input.title = "killed child".into();
    if let Some(m) = &mut input.manifest {
        m.status = "child_died".into();
        m.status_message = Some("killed by signal 9 (SIGKILL) during job 12".into());
        m.finished_at = None;
    }
    if let Some(last) = input.trajectory.points.last_mut() {
        last.outcome = "died".into();
        last.rss_mb = None;
        last.live_mb = None;
        last.resident_mb = None;
        last.duration_secs = None;
    }
    // The worker was restarted after job 6.
    for p in input.trajectory.points.iter_mut().filter(|p| p.job > 6) {
        p.worker_index = 1;
    }
    input.trajectory.clears.retain(|c| c.job < 12);
    input.clears.retain(|c| c.job < 12);
    assert_eq!(check_report(&input), ["trajectory", "growth"]);
    let md = render::markdown::render(&render::doc::build(&input, &[]), &[]);
    assert!(
        md.contains("did not complete (child\\_died: killed by signal 9"),
        "{md}"
    );
}

#[test]
fn charts_with_missing_values() {
    let mut input = fixture_input();
    input.title = "missing values".into();
    for p in &mut input.trajectory.points {
        if p.job % 4 == 2 {
            p.rss_mb = None;
        }
        if p.job % 5 == 0 {
            p.live_mb = None;
            p.resident_mb = Some(f64::NAN);
        }
        p.peak_rss_mb = None;
    }
    input.trajectory.baseline_rss_mb = None;
    assert_eq!(check_report(&input), ["trajectory", "growth"]);
    let jobs = terminal_plain(&table::jobs_table(&input.trajectory, &input.clears));
    assert!(jobs.contains(" - "), "missing values print as -:\n{jobs}");
}

#[test]
fn charts_with_no_values_at_all() {
    let mut input = seed_log_input();
    input.title = "no values".into();
    for p in &mut input.trajectory.points {
        p.rss_mb = None;
    }
    input.trajectory.clears.clear();
    input.clears.clear();
    input.verdict.primary.floor.clear();
    assert_eq!(check_report(&input), ["trajectory"]);
}

// ---------------------------------------------------------------------------------------------
// `docling-memprof report`: re-render from saved data.

fn run_report(args: &[&str]) -> std::process::Output {
    std::process::Command::new(crate::util::binary())
        .arg("report")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("binary runs")
}

#[test]
fn report_command_rerenders_a_run_folder() {
    let out = tempfile::tempdir().expect("tempdir");
    let fixture = fixture_dir();
    let output = run_report(&[
        fixture.to_str().expect("utf-8 path"),
        "--out",
        out.path().to_str().expect("utf-8 path"),
        "--baseline",
        fixture.to_str().expect("utf-8 path"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "report failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!stdout.contains('\x1b'), "plain when piped");
    assert!(stdout.contains("Clear Event"), "{stdout}");
    for chart in ["trajectory", "growth", "comparison"] {
        assert_png_800x480(&out.path().join(format!("charts/{chart}.png")));
        assert_svg_parses(&out.path().join(format!("charts/{chart}.svg")));
    }
    let md = std::fs::read_to_string(out.path().join("report.md")).expect("report.md");
    assert!(
        md.starts_with("# Memory report: synthetic-sawtooth"),
        "{md}"
    );
    assert!(md.contains("| Job 3 |"), "clear table present");
}

#[test]
fn report_command_renders_a_log_without_charts() {
    let out = tempfile::tempdir().expect("tempdir");
    let log = project_root().join("fixtures/logs/seed-20-jobs.log");
    let output = run_report(&[
        log.to_str().expect("utf-8 path"),
        "--out",
        out.path().to_str().expect("utf-8 path"),
        "--no-charts",
        "--quiet",
        "--memory-limit",
        "3GiB",
    ]);
    assert!(
        output.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !out.path().join("charts").exists(),
        "--no-charts draws nothing"
    );
    let md = std::fs::read_to_string(out.path().join("report.md")).expect("report.md");
    assert!(md.contains("| Job 3 | 1109 MB | 859 MB | 250 MB |"), "{md}");
    assert!(out.path().join("report.html").is_file());
}

#[test]
fn report_command_rejects_a_missing_path() {
    let output = run_report(&["/nonexistent/run-folder"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
