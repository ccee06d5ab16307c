//! Integration tests: render. Tables and the Markdown report are pinned with insta snapshots
//! for the synthetic fixture `fixtures/reports/synthetic-sawtooth/`; every chart is checked to be
//! written and valid (PNG decodes to 800x480, SVG parses) for replay and log trajectories and
//! for the edge cases (one job, no clears, a killed child, missing values).

mod inputs;

use std::path::Path;

use docling_memprof::analysis::from_records;
use docling_memprof::analysis::{LeakCall, Pattern};
use docling_memprof::engine::folder::read_run;
use docling_memprof::record::{JobRecord, RunManifest};
use docling_memprof::render::{self, table, BaselineRun, RenderOptions, ReportInput, Terminal};

use crate::util::project_root;
use inputs::*;

/// Rewrites the fixture from the generator in `inputs.rs`: `cargo test --test integration
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
// Snapshots of the tables and of report.md.

fn terminal_plain(data: &table::TableData) -> String {
    render::render_terminal(data, &Terminal::plain())
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
    // The growth chart is as tall as its bars need (at most the others' 480).
    let growth = path.file_stem().is_some_and(|s| s == "growth");
    if growth {
        assert!(
            info.width == 800 && (150..=480).contains(&info.height),
            "{}: {}x{}",
            path.display(),
            info.width,
            info.height
        );
    } else {
        assert_eq!((info.width, info.height), (800, 480), "{}", path.display());
    }
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
        m.status = docling_memprof::record::RunStatus::ChildDied;
        m.status_message = Some("killed by signal 9 (SIGKILL) during job 12".into());
        m.finished_at = None;
    }
    if let Some(last) = input.trajectory.points.last_mut() {
        last.outcome = docling_memprof::analysis::OutcomeKind::Died;
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

/// Run folders of format version 1 (text statuses, bare snapshots, deaths as text) still read:
/// the same synthetic records written as version 1 and as version 2 give one trajectory and
/// one verdict.
#[test]
fn version_1_run_folder_reads_as_version_2() {
    use docling_memprof::analysis::{judge_run, VerdictParams};
    let v1_dir = project_root().join("fixtures/reports/synthetic-sawtooth-v1");
    let (v1_manifest, v1_records) = read_run(&v1_dir).expect("the version 1 fixture reads");
    assert_eq!(v1_manifest.schema_version, 1);
    assert!(v1_records.iter().all(|r| r.schema_version == 1));
    let (v2_manifest, v2_records) = read_run(&fixture_dir()).expect("the version 2 fixture reads");
    assert_eq!(v2_manifest.schema_version, 2);
    let t1 = from_records::trajectory(&v1_manifest, &v1_records, "fixture");
    let t2 = from_records::trajectory(&v2_manifest, &v2_records, "fixture");
    assert_eq!(t1, t2);
    let params = VerdictParams::default();
    assert_eq!(judge_run(&t1, &params), judge_run(&t2, &params));
}

/// `--horizon` reaches the verdict of `report` (and `replay`/`gate` through the same helper):
/// the synthetic sawtooth is a leak over 1,000 jobs and only slow growth over one job.
#[test]
fn report_horizon_flag_changes_what_growth_matters() {
    let verdict_line = |horizon: &str| {
        let out = tempfile::tempdir().expect("tmp");
        let status = std::process::Command::new(crate::util::binary())
            .args([
                "report",
                "--no-charts",
                "--quiet",
                "--horizon",
                horizon,
                "--out",
            ])
            .arg(out.path())
            .arg(crate::util::project_root().join("fixtures/reports/synthetic-sawtooth"))
            .status()
            .expect("run report");
        assert!(status.success());
        let md = std::fs::read_to_string(out.path().join("report.md")).expect("report.md");
        md.lines()
            .find(|l| l.starts_with("**Verdict:"))
            .expect("verdict line")
            .to_string()
    };
    assert!(verdict_line("1000").contains("LEAK"));
    assert!(verdict_line("1").contains("SLOW GROWTH"));
}

/// A long run's report keeps the first and last rows of its jobs and clears tables: the
/// 277,778 jobs of a long log made a 70 MB report.html and a 26 MB chart before.
#[test]
fn a_long_runs_report_tables_and_chart_stay_small() {
    let mut input = fixture_input();
    let template = input.trajectory.points.last().cloned().expect("a point");
    let clear = input.trajectory.clears.first().cloned().expect("a clear");
    let first = template.job + 1;
    for job in first..first + 20_000 {
        let mut p = template.clone();
        p.job = job;
        p.rss_mb = p.rss_mb.map(|v| v + (job % 3) as f64 * 10.0);
        input.trajectory.points.push(p);
        if job % 3 == 0 {
            let mut c = clear.clone();
            c.job = job;
            input.trajectory.clears.push(c.clone());
            input.clears.push(c);
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    render::write_report(dir.path(), &input, &RenderOptions::default()).expect("report written");
    let md = std::fs::read_to_string(dir.path().join("report.md")).expect("report.md");
    let jobs = input.trajectory.points.len();
    let left_out = jobs - render::REPORT_TABLE_ROWS;
    assert!(
        md.contains(&format!("… {left_out} rows …")),
        "the jobs table is cut"
    );
    let clears = input.clears.len();
    assert!(
        md.contains(&format!("… {} rows …", clears - render::REPORT_TABLE_ROWS)),
        "the clears table is cut"
    );
    let last = input.trajectory.points.last().map(|p| p.job).unwrap_or(0);
    assert!(md.contains(&format!("| {last} |")), "the last job is shown");
    assert!(md.len() < 1_000_000, "report.md is {} bytes", md.len());
    let svg = std::fs::metadata(dir.path().join("charts/trajectory.svg")).expect("svg");
    assert!(
        svg.len() < 2_000_000,
        "trajectory.svg is {} bytes",
        svg.len()
    );
}
