//! The log reader on the seed's formats.

use super::*;
use crate::logs::text::{field, find_tag, TAGS};

fn parse(text: &str) -> ParsedLog {
    parse_reader(text.as_bytes(), "test").expect("in-memory read")
}

#[test]
fn reads_both_prefix_styles_and_both_doc_tags() {
    let log = parse(
        "INFO:docling_serve.rq_worker_instrumented:[WORKER START] name=w | queues=convert | config={'jobs_between_cache_clear': 3, 'scratch_dir': '/x'}\n\
         [JOB EXEC] job_id=a | task_id=t | queue=convert | trace_id=0\n\
         [TASK START] task_id=t | type=convert | documents=1 | total_size=442.9 KB | pipeline=standard | ocr=easyocr | formats=md,json\n\
         \x20 [1/1] file: report.pdf (442.9 KB)\n\
         INFO:docling_serve.rq_worker_instrumented:[DOC ✓] report.pdf | status=success | size=442.9 KB | pages=10 | time=12.34s\n\
         [JOB SUCCESS] job_id=a | task_id=t | duration=54.57s\n\
         [MEMORY] job_id=a | rss=1115MB | jobs_total=1\n\
         some other library says hello\n\
         [DOC ✗] broken.pdf | status=failure | size=12 B | pages=0\n\
         [JOB FAILED] job_id=b | task_id=u | duration=1.00s\n\
         [MEMORY] job_id=b | rss=1120MB | jobs_total=2\n\
         [CACHE CLEAR] jobs_since_last_clear=2 | converters=1 | pipelines=1 | memory=859MB (freed 261MB)\n",
    );
    assert_eq!(log.jobs_between_cache_clear, Some(3));
    assert_eq!(log.jobs.len(), 2);
    let first = &log.jobs[0];
    assert_eq!(first.rss_mb, Some(1115.0));
    assert_eq!(first.outcome, OutcomeKind::Success);
    let task = first.task.as_ref().expect("task");
    assert_eq!(
        task.formats.as_deref(),
        Some(&["md".to_string(), "json".to_string()][..])
    );
    assert_eq!(task.sources.len(), 1);
    assert_eq!(first.documents[0].pages, Some(10));
    assert!(first.documents[0].ok);
    assert!(!log.jobs[1].documents[0].ok);
    assert_eq!(log.jobs[1].outcome, OutcomeKind::Failed);
    assert_eq!(log.clears.len(), 1);
    assert_eq!(
        (
            log.clears[0].job,
            log.clears[0].before_mb,
            log.clears[0].freed_mb
        ),
        (2, 1120.0, 261.0)
    );
    assert_eq!(log.lines_other, 1);
    assert_eq!(log.unreadable_count, 0);
    assert_eq!(
        log.jobs[0].kind().as_deref(),
        Some("pdf, standard, ocr=easyocr, to=md,json")
    );
    assert_eq!(log.jobs[1].kind().as_deref(), Some("pdf"));
}

#[test]
fn unreadable_lines_are_counted_not_fatal() {
    let log = parse("[MEMORY] job_id=a | rss=lots | jobs_total=1\n[MEMORY] job_id=b | rss=10MB\n[CACHE CLEAR] memory=?\n");
    assert_eq!(log.unreadable_count, 2);
    assert_eq!(log.unreadable[0].line, 1);
    assert_eq!(log.jobs.len(), 1);
    assert_eq!(log.jobs[0].rss_mb, Some(10.0));
}

#[test]
fn a_worker_restart_ends_an_open_job_as_died() {
    let log = parse("[JOB EXEC] job_id=a | task_id=t\n[WORKER START] name=w | queues=q | config={}\n[JOB EXEC] job_id=b\n[MEMORY] job_id=b | rss=5MB | jobs_total=1\n");
    assert_eq!(log.jobs.len(), 2);
    assert_eq!(log.jobs[0].outcome, OutcomeKind::Died);
    assert_eq!(log.jobs[1].worker_index, 1);
}

/// The fast `field` and `find_tag` give what the plain definitions give (`split(" | ")`, the
/// leftmost `[TAG]` of every tag), on odd separators and tags inside other text.
#[test]
fn the_fast_field_and_tag_readers_match_their_plain_definitions() {
    fn plain_field<'a>(body: &'a str, key: &str) -> Option<&'a str> {
        body.split(" | ").find_map(|part| {
            let (k, v) = part.split_once('=')?;
            (k.trim() == key).then(|| v.trim())
        })
    }
    fn plain_tag(line: &str) -> Option<(&'static str, &str)> {
        let mut best: Option<(usize, &'static str)> = None;
        for tag in TAGS {
            if let Some(pos) = line.find(&format!("[{tag}]")) {
                if best.is_none_or(|(p, _)| pos < p) {
                    best = Some((pos, tag));
                }
            }
        }
        let (pos, tag) = best?;
        Some((tag, line[pos + tag.len() + 2..].trim()))
    }
    let bodies = [
        "job_id=a | rss=1115MB | jobs_total=1",
        " | rss=1 | | rss=2",
        "rss=1|rss=2 | rss=3",
        "a=b || rss=4 |  | rss=5",
        "rss = 7 MB  |x=y",
        "név=é | rss=8MB | ü=|",
        "",
        "|",
        " | ",
        "rss=9 | ",
    ];
    for body in bodies {
        for key in ["rss", "job_id", "x", "név", "ü", "a"] {
            assert_eq!(field(body, key), plain_field(body, key), "{body:?} {key}");
        }
    }
    let lines = [
        "INFO:x:[MEMORY] job_id=a | rss=1MB",
        "[DOC ✓] a [MEMORY] b",
        "pre [[JOB START]] x",
        "[JOB STAR] [JOB START]",
        "é[CACHE CLEAR] memory=1MB (freed 0MB)",
        "Registered ocr engines: ['easyocr', 'rapidocr']",
        "[",
        "no tag here",
    ];
    for line in lines {
        assert_eq!(find_tag(line), plain_tag(line), "{line:?}");
    }
    // Every tag, alone and in a line, as the plain reader finds it.
    for tag in TAGS {
        for line in [
            format!("[{tag}]"),
            format!("INFO:x:[{tag}] k=v"),
            format!("[{tag} ] [{tag}]x"),
        ] {
            assert_eq!(find_tag(&line), plain_tag(&line), "{line:?}");
            assert!(find_tag(&line).is_some(), "{line:?}");
        }
    }
}

#[test]
fn a_jobs_kind_joins_its_file_types_and_task_options_in_order() {
    let doc = |name: &str| LogDocument {
        name: name.into(),
        ok: true,
        size_bytes: None,
        pages: None,
        time_secs: None,
    };
    let task = |pipeline: Option<&str>, ocr: Option<&str>, formats: Option<Vec<&str>>| LogTask {
        pipeline: pipeline.map(str::to_string),
        ocr: ocr.map(str::to_string),
        formats: formats.map(|f| f.into_iter().map(str::to_string).collect()),
        sources: vec![("file".into(), "b.DOCX".into(), None)],
        ..LogTask::default()
    };
    let job = |documents: Vec<LogDocument>, task: Option<LogTask>| LogJob {
        documents,
        task: task.map(Box::new),
        ..LogJob::default()
    };
    let cases = [
        // Types lowercased, sorted, deduplicated, sources with documents.
        (
            job(
                vec![doc("a.pdf"), doc("c.PDF"), doc("noext")],
                Some(task(
                    Some("standard"),
                    Some("easyocr"),
                    Some(vec!["md", "json"]),
                )),
            ),
            Some("docx+pdf, standard, ocr=easyocr, to=md,json"),
        ),
        (
            job(vec![doc("a.html"), doc("b.csv"), doc("a.html")], None),
            Some("csv+html"),
        ),
        // An empty value is a part of its own; a name ending in `.` an empty type.
        (
            job(
                vec![],
                Some(LogTask {
                    pipeline: Some(String::new()),
                    ocr: Some("none".into()),
                    ..LogTask::default()
                }),
            ),
            Some(", ocr=none"),
        ),
        (job(vec![doc("x.")], None), Some("")),
        (job(vec![doc("noext")], None), None),
        (job(vec![], Some(LogTask::default())), None),
    ];
    for (j, want) in cases {
        assert_eq!(j.kind().as_deref(), want, "{j:?}");
    }
}

#[test]
fn a_log_read_without_details_gives_the_same_trajectory_and_counts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/logs");
    let mut read = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures/logs") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|x| x != "log") {
            continue;
        }
        let full = parse_file_with(&path, &LogLimits::default()).expect("parses");
        let light = LogLimits {
            keep_details: false,
            ..LogLimits::default()
        };
        let summary = parse_file_with(&path, &light).expect("parses");
        assert_eq!(
            summary.trajectory(None),
            full.trajectory(None),
            "{}",
            path.display()
        );
        assert_eq!(
            (
                summary.lines_total,
                summary.unreadable_count,
                summary.clears.len()
            ),
            (full.lines_total, full.unreadable_count, full.clears.len())
        );
        assert!(summary
            .jobs
            .iter()
            .all(|j| j.task.is_none() && j.documents.is_empty()));
        read += usize::from(full.jobs.iter().any(|j| j.task.is_some()));
    }
    assert!(read >= 3, "fixtures with tasks: {read}");
}

#[test]
fn jobs_refilled_from_spares_read_as_new_ones() {
    // Without details a closed job's parts are refilled by the next job: jobs that hold fewer
    // documents, formats or fields than the one before must not keep any of its.
    let jobs = [
        "[JOB START] job_id=a\n[TASK START] task_id=t1 | type=convert | documents=3 | pipeline=standard | ocr=easyocr | formats=md,json,html\n  [1/3] file: a.pdf (1.0 KB)\n  [2/3] file: b.docx (1.0 KB)\n  [3/3] file: c.HTML (1.0 KB)\n[DOC OK] a.pdf | size=1.0 KB\n[DOC OK] b.docx | size=1.0 KB\n[DOC FAILED] c.HTML | size=1.0 KB\n[MEMORY] job_id=a | rss=900MB\n",
        "[JOB START] job_id=b\n[TASK START] task_id=t2 | type=convert | documents=1 | formats=md\n  [1/1] file: d.csv (1.0 KB)\n[MEMORY] job_id=b | rss=901MB\n",
        "[JOB START] job_id=c\n[MEMORY] job_id=c | rss=902MB\n",
        "[JOB START] job_id=d\n[TASK START] task_id=t3 | pipeline=vlm\n[TASK START] task_id=t4 | ocr=none | formats= md , ,json\n[DOC OK] e.md\n[MEMORY] job_id=d | rss=903MB\n",
        "[JOB START]\n[DOC OK] f.pdf\n[DOC OK] g.pdf\n[MEMORY] rss=904MB\n",
    ];
    let text: String = jobs.concat();
    let full = parse(&text);
    let light = parse_reader_with(
        text.as_bytes(),
        "test",
        &LogLimits {
            keep_details: false,
            ..LogLimits::default()
        },
    )
    .expect("parses");
    let kinds: Vec<Option<String>> = full.jobs.iter().map(LogJob::kind).collect();
    assert_eq!(
        kinds,
        [
            Some("docx+html+pdf, standard, ocr=easyocr, to=md,json,html"),
            Some("csv, to=md"),
            None,
            Some("md, ocr=none, to=md,json"),
            Some("pdf"),
        ]
        .map(|k| k.map(str::to_string))
    );
    let light_kinds: Vec<Option<String>> = light
        .jobs
        .iter()
        .map(|j| j.kind_at_close.as_deref().map(str::to_string))
        .collect();
    assert_eq!(light_kinds, kinds);
    assert_eq!(light.trajectory(None), full.trajectory(None));
    // Jobs of one kind share its string.
    let again = parse_reader_with(
        format!("{}{}", jobs[1], jobs[1].replace("job_id=b", "job_id=b2")).as_bytes(),
        "test",
        &LogLimits {
            keep_details: false,
            ..LogLimits::default()
        },
    )
    .expect("parses");
    let (one, two) = (&again.jobs[0].kind_at_close, &again.jobs[1].kind_at_close);
    assert!(matches!((one, two), (Some(a), Some(b)) if std::sync::Arc::ptr_eq(a, b)));
}
