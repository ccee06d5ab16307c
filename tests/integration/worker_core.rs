//! Integration tests: worker_core (converter cache, clears, failures, scratch, log lines,
//! leak scenarios as the worker's own counters see them; live bytes are checked with jemalloc
//! in `tests/worker_clear_jemalloc.rs`).

#[path = "../worker_support/mod.rs"]
mod support;

use std::sync::{Arc, Mutex};

use docling_memprof::worker::loglines::LogLine;
use docling_memprof::worker::{
    ConversionOptions, LeakScenario, OcrEngine, OutputFormat, Source, Task, TaskType, Worker,
    WorkerSettings,
};

use support::{light_options, markdown_bytes, pdf_bytes, settings};

fn pdf_task(options: ConversionOptions) -> Task {
    Task::convert(
        vec![Source::from_bytes("report.pdf", &pdf_bytes(2, 4))],
        options,
    )
}

fn observed(settings: WorkerSettings) -> (Worker, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let observer =
        Box::new(move |line: &str| sink.lock().expect("lines lock").push(line.to_string()));
    (
        Worker::with_observer(settings, Some(observer)).expect("worker starts"),
        lines,
    )
}

#[test]
fn same_pipeline_options_hit_the_cache_and_only_the_key_options_make_new_converters() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut worker = Worker::new(settings(scratch.path(), vec![])).expect("worker starts");
    let defaults = ConversionOptions::default();

    let report = worker.run_job("j1", pdf_task(defaults.clone()));
    assert!(report.success, "{:?}", report.error);
    assert_eq!(report.documents[0].pages, 2);
    let first = worker.state();
    // Layout 172 MB + TableFormer accurate 213 MB + EasyOCR 83.2 + 15.1 MB, at scale 0.001.
    assert_eq!(
        (first.converters, first.pipelines, first.models_loaded),
        (1, 1, Some(4))
    );
    assert_eq!(first.model_bytes, Some(483_300));

    let report = worker.run_job("j2", pdf_task(defaults.clone()));
    assert!(report.success);
    assert_eq!(worker.state().converters, 1, "same options hit the cache");
    assert_eq!(
        worker.state().model_bytes,
        first.model_bytes,
        "no model loaded again"
    );

    let json = ConversionOptions {
        to_formats: vec![OutputFormat::Md, OutputFormat::Json],
        ..defaults.clone()
    };
    let report = worker.run_job("j3", pdf_task(json));
    assert!(report.success);
    assert_eq!(report.results[0].outputs.len(), 2);
    assert_eq!(
        worker.state().converters,
        1,
        "to_formats reuses the converter"
    );

    // A Markdown document through the same converter adds the (model-free) simple pipeline.
    let md = Task::convert(
        vec![Source::from_bytes("notes.md", &markdown_bytes(3))],
        defaults.clone(),
    );
    assert!(worker.run_job("j4", md).success);
    let state = worker.state();
    assert_eq!(
        (state.converters, state.pipelines, state.model_bytes),
        (1, 2, first.model_bytes)
    );

    let tesseract = ConversionOptions {
        ocr_engine: OcrEngine::Tesseract,
        ..defaults.clone()
    };
    assert!(worker.run_job("j5", pdf_task(tesseract)).success);
    let state = worker.state();
    assert_eq!(
        state.converters, 2,
        "a new OCR engine makes a new converter"
    );
    // + layout, TableFormer accurate, tesseract eng + osd.
    assert_eq!(
        state.model_bytes,
        first
            .model_bytes
            .map(|b| b + 172_000 + 213_000 + 4_100 + 10_600)
    );
}

#[test]
fn the_lru_evicts_at_capacity() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut worker = Worker::new(settings(scratch.path(), vec![])).expect("worker starts");
    for engine in [
        OcrEngine::Easyocr,
        OcrEngine::Tesseract,
        OcrEngine::Rapidocr,
        OcrEngine::None,
    ] {
        let options = ConversionOptions {
            ocr_engine: engine,
            ..light_options()
        };
        assert!(worker.run_job("j", pdf_task(options)).success);
        assert!(worker.state().converters <= 2);
    }
    let state = worker.state();
    assert_eq!((state.converters, state.options_side_map), (2, Some(2)));
    // Rapidocr + none are the two left: 2 layouts, 2 TableFormers, 3 RapidOCR models.
    assert_eq!(state.models_loaded, Some(7));
}

#[test]
fn clears_come_every_n_jobs_failed_ones_included_and_recycling_after_max_jobs() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let settings = WorkerSettings {
        jobs_between_cache_clear: 2,
        max_jobs: 3,
        ..settings(scratch.path(), vec![])
    };
    let (mut worker, lines) = observed(settings);
    let (report, clear) = worker.process("j1", pdf_task(light_options()));
    assert!(report.success && clear.is_none());
    let bad = Task::convert(
        vec![Source::from_bytes("broken.pdf", b"%PDF-1.4 garbage")],
        light_options(),
    );
    let (report, clear) = worker.process("j2", bad);
    assert!(!report.success);
    let clear = clear.expect("a clear after the second job, failed or not");
    assert_eq!(
        (
            clear.jobs_since_last_clear,
            clear.converters,
            clear.pipelines
        ),
        (2, 1, 1)
    );
    assert_eq!(clear.models, 4);
    assert_eq!(clear.model_bytes, Some(483_300));
    let state = worker.state();
    assert_eq!(
        (
            state.converters,
            state.pipelines,
            state.model_bytes,
            state.options_side_map
        ),
        (0, 0, Some(0), Some(0))
    );
    assert_eq!((state.jobs_total, state.jobs_since_clear), (2, 0));
    assert!(!worker.wants_recycle());
    worker.process("j3", pdf_task(light_options()));
    assert!(worker.wants_recycle());
    let lines = lines.lock().expect("lines");
    let clear_line = lines
        .iter()
        .find(|l| l.starts_with("[CACHE CLEAR]"))
        .expect("clear logged");
    match LogLine::parse(clear_line) {
        Some(LogLine::CacheClear {
            jobs_since_last_clear: 2,
            converters: 1,
            pipelines: 1,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_failed_document_fails_its_job_and_the_worker_goes_on() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (mut worker, lines) = observed(settings(scratch.path(), vec![]));
    let task = Task::convert(
        vec![
            Source::from_bytes("good.md", &markdown_bytes(2)),
            Source::from_bytes("bad.docx", b"PK\x03\x04 not really a zip word/"),
            Source::Base64 {
                filename: "junk.md".into(),
                base64_string: "***".into(),
            },
            Source::File {
                path: scratch.path().join("missing.pdf"),
            },
        ],
        light_options(),
    );
    let report = worker.run_job("j1", task);
    assert!(!report.success);
    let error = report.error.clone().expect("error recorded");
    assert!(
        error.contains("bad.docx") && error.contains("junk.md") && error.contains("missing.pdf"),
        "{error}"
    );
    assert_eq!(
        report
            .documents
            .iter()
            .map(|d| d.success)
            .collect::<Vec<_>>(),
        vec![true, false, false, false]
    );
    assert_eq!(
        report.results.len(),
        1,
        "the good document's result is still handed back"
    );
    {
        let lines = lines.lock().expect("lines");
        assert!(lines
            .iter()
            .any(|l| l.starts_with("[JOB FAILED] job_id=j1")));
        assert!(lines
            .iter()
            .any(|l| l.starts_with("[JOB ERROR] job_id=j1 | error=")));
        assert!(lines
            .iter()
            .any(|l| l.starts_with("[TASK FAILED]") && l.contains("documents=1/4 succeeded")));
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("[DOC FAILED]"))
                .count(),
            3
        );
    }
    let next = worker.run_job(
        "j2",
        Task::convert(
            vec![Source::from_bytes("a.md", &markdown_bytes(2))],
            light_options(),
        ),
    );
    assert!(next.success, "{:?}", next.error);
    assert_eq!(worker.state().jobs_total, 2);
}

#[test]
fn abort_on_error_skips_the_remaining_documents() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut worker = Worker::new(settings(scratch.path(), vec![])).expect("worker starts");
    let options = ConversionOptions {
        abort_on_error: true,
        ..light_options()
    };
    let task = Task::convert(
        vec![
            Source::from_bytes("bad.xyz", b"\x00\x01"),
            Source::from_bytes("good.md", &markdown_bytes(2)),
        ],
        options,
    );
    let report = worker.run_job("j1", task);
    assert!(!report.documents[1].success);
    assert!(report.documents[1]
        .error
        .as_deref()
        .is_some_and(|e| e.contains("abort_on_error")));
}

#[test]
fn the_scratch_folder_is_removed_after_every_task() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut worker = Worker::new(settings(scratch.path(), vec![])).expect("worker starts");
    let good = Task::convert(
        vec![Source::from_bytes("a.md", &markdown_bytes(2))],
        light_options(),
    );
    assert!(worker.run_job("j1", good).success);
    let bad = Task::convert(
        vec![Source::from_bytes("b.pdf", b"%PDF-1.7 nothing")],
        light_options(),
    );
    assert!(!worker.run_job("j2", bad).success);
    let left: Vec<_> = std::fs::read_dir(scratch.path())
        .expect("scratch readable")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn results_are_handed_back_and_not_kept() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut worker = Worker::new(settings(scratch.path(), vec![])).expect("worker starts");
    let options = ConversionOptions {
        to_formats: vec![OutputFormat::Md, OutputFormat::Text],
        ..light_options()
    };
    let report = worker.run_job(
        "j1",
        Task::convert(
            vec![Source::from_bytes("a.md", &markdown_bytes(3))],
            options,
        ),
    );
    let md = &report.results[0].outputs[&OutputFormat::Md];
    assert!(md.contains("Report") && md.contains("Paragraph 2"), "{md}");
    assert_eq!(
        (
            worker.state().retained_results,
            worker.retained_result_bytes()
        ),
        (Some(0), 0)
    );

    let chunk = Task {
        task_type: TaskType::Chunk,
        ..Task::convert(
            vec![Source::from_bytes("a.md", &markdown_bytes(12))],
            light_options(),
        )
    };
    let report = worker.run_job("j2", chunk);
    assert!(report.success);
    assert!(
        report.results[0].chunks.len() >= 3,
        "{:?}",
        report.results[0].chunks
    );
}

#[test]
fn log_lines_follow_the_seed_and_parse_back_into_their_fields() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (mut worker, lines) = observed(settings(scratch.path(), vec![]));
    let task = pdf_task(ConversionOptions {
        to_formats: vec![OutputFormat::Md, OutputFormat::Json],
        ..Default::default()
    });
    let task_id = task.task_id.clone();
    let (report, _) = worker.process("job-1", task);
    assert!(report.success);
    worker.clear_caches();
    let lines = lines.lock().expect("lines").clone();
    let parsed: Vec<LogLine> = lines
        .iter()
        .map(|l| LogLine::parse(l).unwrap_or_else(|| panic!("does not parse: {l}")))
        .collect();
    for (line, back) in lines.iter().zip(&parsed) {
        assert_eq!(&back.to_string(), line, "round trip");
    }
    let tags: Vec<&str> = lines
        .iter()
        .map(|l| l.trim_start().split(']').next().unwrap_or(""))
        .collect();
    assert_eq!(
        tags,
        [
            "[WORKER START",
            "[JOB EXEC",
            "[JOB START",
            "[TASK START",
            "[1/1",
            "[DOC OK",
            "[TASK SUCCESS",
            "[JOB SUCCESS",
            "[MEMORY",
            "[CACHE CLEAR"
        ]
    );
    match &parsed[3] {
        LogLine::TaskStart {
            task_id: t,
            task_type,
            documents: 1,
            pipeline,
            ocr,
            formats,
            total_size_bytes,
        } => {
            assert_eq!(t, &task_id);
            assert_eq!(task_type, "convert");
            assert_eq!(
                (pipeline.as_deref(), ocr.as_deref()),
                (Some("standard"), Some("easyocr"))
            );
            assert_eq!(
                formats.as_deref(),
                Some(&["md".to_string(), "json".to_string()][..])
            );
            assert!(*total_size_bytes > 500);
        }
        other => panic!("{other:?}"),
    }
    match &parsed[5] {
        LogLine::Doc {
            ok: true,
            name,
            status,
            pages: 2,
            ..
        } => assert_eq!((name.as_str(), status.as_str()), ("report.pdf", "success")),
        other => panic!("{other:?}"),
    }
    match &parsed[8] {
        LogLine::Memory {
            job_id,
            rss_mb,
            jobs_total: 1,
        } => {
            assert_eq!(job_id, "job-1");
            assert_eq!(*rss_mb, report.rss_after_bytes / (1024 * 1024));
        }
        other => panic!("{other:?}"),
    }
    match &parsed[9] {
        LogLine::CacheClear {
            jobs_since_last_clear: 1,
            converters: 1,
            pipelines: 1,
            ..
        } => {}
        other => panic!("{other:?}"),
    }
}

/// Each scenario's own counter grows job after job while a default worker running the same
/// plan levels off.
#[test]
fn each_leak_scenario_grows_while_the_default_worker_levels_off() {
    const JOBS: usize = 9;
    for scenario in LeakScenario::ALL {
        let plan = support::plan(scenario);
        let measure = |scenarios: Vec<LeakScenario>| -> Vec<u64> {
            let scratch = tempfile::tempdir().expect("tempdir");
            let settings = WorkerSettings {
                jobs_between_cache_clear: plan.jobs_between_cache_clear,
                ..settings(scratch.path(), scenarios)
            };
            let mut worker = Worker::new(settings).expect("worker starts");
            (0..JOBS)
                .map(|i| {
                    let (report, _) = worker.process(&format!("j{i}"), (plan.task)(i));
                    assert!(report.success, "{scenario:?}: {:?}", report.error);
                    let state = worker.state();
                    match scenario {
                        LeakScenario::UnboundedConverterCache
                        | LeakScenario::UnclearedWorkerManagers => state.model_bytes.unwrap_or(0),
                        LeakScenario::RetainResults => worker.retained_result_bytes(),
                        LeakScenario::PageImages => worker.kept_page_images().1,
                        LeakScenario::OptionsSideMap => state.options_side_map.unwrap_or(0),
                    }
                })
                .collect()
        };
        let default = measure(vec![]);
        let leaky = measure(vec![scenario]);
        // Compare at the same phase of each clear cycle (after the last job of a cycle).
        let cycle = (plan.jobs_between_cache_clear as usize).max(1);
        let at_cycle_ends = |series: &[u64]| -> Vec<u64> {
            series
                .iter()
                .copied()
                .skip(cycle - 1)
                .step_by(cycle)
                .collect()
        };
        let (d, l) = (at_cycle_ends(&default), at_cycle_ends(&leaky));
        assert!(
            l.windows(2).all(|w| w[1] > w[0]),
            "{scenario:?} grows: {leaky:?}"
        );
        let default_tail = &d[1..];
        assert!(
            default_tail.windows(2).all(|w| w[1] <= w[0]),
            "{scenario:?}: the default worker levels off: {default:?}"
        );
        eprintln!("{scenario:?}: default {default:?} / scenario {leaky:?}");
    }
}

/// The seed's run, scaled down: 20 jobs of a 10-page PDF (standard pipeline, EasyOCR, md+json)
/// with a clear every 3 jobs, at 5% of the real model sizes. Must take seconds, not minutes.
#[test]
fn a_scaled_seed_replay_runs_in_seconds() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let settings = WorkerSettings {
        model_scale: 0.05,
        ..settings(scratch.path(), vec![])
    };
    let mut worker = Worker::new(settings).expect("worker starts");
    let pdf = pdf_bytes(10, 20);
    let options = ConversionOptions {
        to_formats: vec![OutputFormat::Md, OutputFormat::Json],
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let mut clears = 0;
    for i in 0..20 {
        let task = Task::convert(
            vec![Source::from_bytes("report.pdf", &pdf)],
            options.clone(),
        );
        let (report, clear) = worker.process(&format!("job-{i}"), task);
        assert!(report.success, "{:?}", report.error);
        assert_eq!(report.documents[0].pages, 10);
        if let Some(clear) = clear {
            clears += 1;
            assert_eq!(
                (clear.converters, clear.pipelines, clear.model_bytes),
                (1, 1, Some(24_165_000))
            );
        }
    }
    let elapsed_secs = started.elapsed().as_secs_f64();
    eprintln!("20-job scaled seed replay: {elapsed_secs:.2} s");
    assert_eq!(clears, 6);
    assert!(elapsed_secs < 60.0, "{elapsed_secs} s");
}

#[test]
fn page_range_timeout_and_bad_image_scale_are_honoured() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut worker = Worker::new(settings(scratch.path(), vec![])).expect("worker starts");
    let first_page = ConversionOptions {
        page_range: Some((1, 1)),
        ..light_options()
    };
    let report = worker.run_job("j1", pdf_task(first_page));
    assert!(report.success, "{:?}", report.error);
    assert_eq!(report.documents[0].pages, 1);

    let timeout = ConversionOptions {
        document_timeout: Some(0.0),
        ..light_options()
    };
    let report = worker.run_job("j2", pdf_task(timeout));
    assert!(!report.success);
    assert!(
        report
            .error
            .as_deref()
            .is_some_and(|e| e.contains("document_timeout")),
        "{:?}",
        report.error
    );

    let bad_scale = ConversionOptions {
        images_scale: -1.0,
        ..light_options()
    };
    let report = worker.run_job("j3", pdf_task(bad_scale));
    assert!(
        report
            .error
            .as_deref()
            .is_some_and(|e| e.contains("images_scale")),
        "{:?}",
        report.error
    );
    assert_eq!(worker.state().jobs_total, 3);
}

/// Regression (issue 15): `page_range` is not in the converter cache key, and a cached
/// converter kept the first job's range: a later job's range was dropped, an earlier one stuck.
#[test]
fn page_range_follows_each_job_through_a_cached_converter() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut worker = Worker::new(settings(scratch.path(), vec![])).expect("worker starts");
    let pages = |worker: &mut Worker, range: Option<(u32, u32)>, id: &str| {
        let options = ConversionOptions {
            page_range: range,
            ..light_options()
        };
        let report = worker.run_job(id, pdf_task(options));
        assert!(report.success, "{:?}", report.error);
        report.documents[0].pages
    };
    assert_eq!(pages(&mut worker, None, "j1"), 2);
    assert_eq!(pages(&mut worker, Some((2, 2)), "j2"), 1);
    assert_eq!(pages(&mut worker, None, "j3"), 2);
    assert_eq!(
        worker.state().converters,
        1,
        "one cached converter served all three"
    );
}
