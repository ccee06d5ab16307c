//! Census, owner chains and allocation sites, end to end: replays of the shipped leak
//! workloads through the real binary, read back with the diagnostics API.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use docling_memprof::alloc::dhat_sites::{check_viewer_fields, DhatProfile, DHAT_HEAP_JSON};
use docling_memprof::analysis::diagnostics::RunDiagnostics;
use docling_memprof::engine::folder::read_run;
use docling_memprof::engine::sites::SITES_JSONL;
use docling_memprof::probe::profiling::{ProfileRecord, SITES_COLLAPSED};
use docling_memprof::record::JobRecord;

use crate::util::{binary, project_root};

fn workload(name: &str) -> PathBuf {
    project_root().join("fixtures/workloads").join(name)
}

fn replay(workload: &Path, out: &Path, extra: &[&str]) -> Output {
    let output = Command::new(binary())
        // A sample point every 16 KiB: tight error bars on these small workloads.
        .env("DOCLING_MEMPROF_SITES_SAMPLE_BYTES", "16384")
        .arg("replay")
        .arg(workload)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(["--census"])
        .args(extra)
        .env_remove("DOCLING_MEMPROF_TEST_ABORT_AT_JOB")
        .output()
        .expect("run docling-memprof");
    assert!(
        output.status.success(),
        "exit {:?}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn count(record: &JobRecord, type_name: &str) -> u64 {
    record
        .after_job
        .as_ref()
        .and_then(|s| s.census.iter().find(|t| t.type_name == type_name))
        .map_or(0, |t| t.live_count)
}

fn run(name: &str, extra: &[&str]) -> (tempfile::TempDir, Vec<JobRecord>, RunDiagnostics) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    replay(&workload(name), &out, extra);
    let (_, records) = read_run(&out).expect("run reads back");
    let diagnostics = docling_memprof::engine::analyse_folder(&out, &Default::default())
        .expect("diagnostics")
        .diagnostics;
    (dir, records, diagnostics)
}

#[test]
fn retained_results_point_at_the_retention_path_and_its_holder() {
    let (dir, records, diag) = run("leak-retain-results.json", &["--sites", "sampled"]);
    let counts: Vec<u64> = records
        .iter()
        .map(|r| count(r, "ConversionResult"))
        .collect();
    assert_eq!(
        counts,
        (1..=10).collect::<Vec<u64>>(),
        "one result kept per job"
    );

    let top_type = diag.leaks.types.first().expect("a growing type");
    assert_eq!(
        top_type.type_name, "ConversionResult",
        "{:#?}",
        diag.leaks.types
    );
    let chain = top_type.owner_chains.first().expect("an owner chain");
    let holder = chain.holder().expect("a holder");
    assert_eq!(
        (holder.name.as_str(), holder.type_name.as_str()),
        ("retained", "RetainedResults"),
        "{}",
        chain.render()
    );
    assert_eq!(chain.count, 10);
    assert!(chain.render().starts_with(
        "worker (Worker) -> retained (RetainedResults) -> results: 10 x ConversionResult"
    ));

    let top_site = diag.leaks.sites.first().expect("a growing site");
    assert!(
        top_site.site.contains("RetainedResults::keep"),
        "top growing site: {}\nall: {:#?}",
        top_site.site,
        diag.leaks.sites
    );
    assert!(
        top_site.bytes_growth_stderr.is_some(),
        "sampled sites carry error bars"
    );
    let table = records[9]
        .after_job
        .as_ref()
        .and_then(|s| s.sites.as_ref())
        .expect("sites");
    assert_eq!(table.mode, "sampled");
    assert!(table.sample_interval_bytes.is_some());

    // Symbolised by the parent: the records hold the site table, never the raw stacks.
    let jobs = std::fs::read_to_string(dir.path().join("run").join("jobs.jsonl")).expect("jobs");
    assert!(
        !jobs.contains("raw_sites"),
        "raw stacks never reach jobs.jsonl"
    );

    // Job-tagged survivors (written by the parent in sampled mode): the bytes job 2 kept are
    // still live at the last job.
    let text =
        std::fs::read_to_string(dir.path().join("run").join(SITES_JSONL)).expect("sites.jsonl");
    let profile: Vec<ProfileRecord> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a sites.jsonl line"))
        .collect();
    let last = profile
        .iter()
        .rev()
        .find(|p| p.job == 10)
        .expect("job 10 profile");
    let survivors = last
        .survivors
        .iter()
        .find(|s| s.site.contains("RetainedResults::keep"))
        .expect("survivors of the retention site");
    assert!(survivors.by_job.len() >= 3, "{survivors:?}");
    let collapsed =
        std::fs::read_to_string(dir.path().join("run").join(SITES_COLLAPSED)).expect("collapsed");
    let line = collapsed
        .lines()
        .find(|l| l.contains("RetainedResults::keep"))
        .expect("the retention stack in the collapsed output");
    let (stack, bytes) = line.rsplit_once(' ').expect("stack and bytes");
    assert!(bytes.parse::<u64>().expect("bytes") > 0);
    assert!(stack.contains(";docling_memprof::worker::job::Worker::run_job;"));

    // A real flamegraph renderer reads the collapsed stacks (inferno, flamegraph.pl's port).
    let mut svg = Vec::new();
    let mut options = inferno::flamegraph::Options::default();
    inferno::flamegraph::from_lines(&mut options, collapsed.lines(), &mut svg)
        .expect("inferno renders sites.collapsed");
    let svg = String::from_utf8(svg).expect("utf-8 svg");
    assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "an SVG");
    assert!(
        svg.contains("RetainedResults::keep"),
        "the retention frame in the flamegraph"
    );
}

#[test]
fn page_images_grow_with_pages() {
    let (_dir, records, diag) = run("leak-page-images.json", &[]);
    // 3 pages per job, every image kept.
    let counts: Vec<u64> = records.iter().map(|r| count(r, "PageImage")).collect();
    assert_eq!(counts, (1..=10).map(|j| 3 * j).collect::<Vec<u64>>());
    let leak = diag
        .leaks
        .types
        .iter()
        .find(|t| t.type_name == "PageImage")
        .expect("PageImage grows");
    assert!((leak.count_growth_per_job - 3.0).abs() < 1e-9);
    assert!(
        leak.owner_chains_text[0].contains("page_image_store"),
        "{:?}",
        leak.owner_chains_text
    );
    assert_eq!(diag.leaks.types[0].type_name, "PageImage");
}

#[test]
fn unbounded_converter_cache_grows_models_and_converters_per_option_set() {
    let (_dir, records, diag) = run("leak-unbounded-converter-cache.json", &[]);
    let converters: Vec<u64> = records.iter().map(|r| count(r, "Converter")).collect();
    assert_eq!(converters, (1..=8).collect::<Vec<u64>>());
    let models: Vec<u64> = records.iter().map(|r| count(r, "Model")).collect();
    let per_set = models[0];
    assert!(per_set >= 2);
    assert_eq!(models, (1..=8).map(|j| j * per_set).collect::<Vec<u64>>());
    for name in ["Model", "Converter", "Pipeline", "SideMapEntry"] {
        assert!(
            diag.leaks.types.iter().any(|t| t.type_name == name),
            "{name} not found growing: {:#?}",
            diag.leaks.types
        );
    }
    let model = diag
        .leaks
        .types
        .iter()
        .find(|t| t.type_name == "Model")
        .expect("Model");
    assert!(
        model.owner_chains_text[0]
            .starts_with("worker (Worker) -> manager (ConverterManager) -> converter_cache (Converter) -> pipeline_cache (Pipeline) -> models"),
        "{:?}",
        model.owner_chains_text
    );
    assert_eq!(
        diag.leaks.types[0].type_name, "Model",
        "models are the bytes"
    );
}

#[test]
fn no_type_grows_after_warm_up_in_the_mixed_workload() {
    let (_dir, records, diag) = run("mixed.json", &["--sites", "sampled"]);
    assert_eq!(records.len(), 12);
    assert!(diag.leaks.types.is_empty(), "{:#?}", diag.leaks.types);
    let census = &diag.diagnostics.as_ref().expect("diagnostics").census;
    // Nothing of a finished job stays: no documents, items or page images between jobs.
    for name in ["Document", "Page", "Item", "PageImage", "ConversionResult"] {
        let live = census
            .iter()
            .find(|t| t.type_name == name)
            .map_or(0, |t| t.live_count);
        assert_eq!(live, 0, "{name} alive between jobs");
    }
    assert!(diag
        .diagnostics
        .as_ref()
        .is_some_and(|d| d.unreachable.is_empty()));
}

#[test]
fn exact_sites_write_a_dhat_profile_the_viewer_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let text = r#"{"schema_version": 1, "name": "exact",
        "worker": {"jobs_between_cache_clear": 0, "model_scale": 0.0005, "scenarios": ["retain_results"]},
        "documents": [{"id": "doc", "generate": {"format": "pdf", "pages": 2, "size_bytes": 30000, "seed": 3}}],
        "jobs": [{"name": "convert", "options": {"to_formats": ["md", "json"]}, "documents": ["doc"]}],
        "repeat": 4}"#;
    let path = dir.path().join("workload.json");
    std::fs::write(&path, text).expect("workload");
    replay(&path, &out, &["--allocator", "dhat", "--sites", "exact"]);

    let kept = out.join(DHAT_HEAP_JSON);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&kept).expect("dhat-heap.json"))
            .expect("json");
    check_viewer_fields(&json).expect("dh_view.js accepts it");
    assert_eq!(json["mode"], "rust-heap");
    assert_eq!(json["ftbl"][0], "[root]");
    let profile = DhatProfile::read(&kept).expect("parses");
    assert!(!profile.pps.is_empty());

    let (_, records) = read_run(&out).expect("run");
    let table = records[3]
        .after_job
        .as_ref()
        .and_then(|s| s.sites.as_ref())
        .expect("sites");
    assert_eq!(table.mode, "exact");
    let diag = docling_memprof::engine::analyse_folder(&out, &Default::default())
        .expect("diagnostics")
        .diagnostics;
    let top = diag
        .leaks
        .sites
        .first()
        .expect("a site leaving bytes behind every job");
    assert!(
        diag.leaks
            .sites
            .iter()
            .take(3)
            .any(|s| s.site.contains("RetainedResults::keep")),
        "top: {}\n{:#?}",
        top.site,
        diag.leaks.sites
    );
    let retention = table
        .sites
        .iter()
        .find(|s| s.site.contains("RetainedResults::keep"))
        .expect("the retention site in the job's table");
    assert!(retention.job_live_bytes.unwrap_or(0) > 0);
}
