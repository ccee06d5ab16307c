//! The protocol's conformance: the messages the parent sends and both workers (the Rust core's
//! `child`, the Python reference worker) answer are valid against
//! `fixtures/protocol.schema.json` and parse as the Rust types; the schema is strict enough to
//! refuse a broken message.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use docling_memprof::protocol::{
    self, Document, FromWorker, Init, Job, Measure, ToWorker, WorkerSettings, PROTOCOL_VERSION,
};

use crate::util::{binary, project_root, python3};

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(project_root().join("fixtures/protocol.schema.json"))
        .expect("the protocol schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

fn assert_valid(validator: &jsonschema::Validator, line: &str) {
    let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{line}\n{}", errors.join("\n"));
}

/// init, four jobs (two documents each: a path and base64), shutdown.
fn conversation(dir: &Path) -> Vec<ToWorker> {
    let notes = project_root().join("fixtures/documents/release-notes.md");
    let csv = std::fs::read(project_root().join("fixtures/documents/memory-table.csv"))
        .expect("fixture csv");
    use base64::Engine;
    let mut out = vec![ToWorker::Init(Init {
        protocol_version: PROTOCOL_VERSION,
        worker_index: 0,
        settings: WorkerSettings {
            jobs_between_cache_clear: 2,
            model_scale: 0.001,
            scratch_dir: Some(dir.join("scratch").display().to_string()),
            ..WorkerSettings::default()
        },
        measure: Measure {
            snapshots: true,
            purge: false,
            purge_after_clear: true,
            smaps: false,
            smaps_after_clear: true,
            census: true,
            sites: None,
            run_dir: Some(dir.display().to_string()),
        },
    })];
    for job in 1..=4u64 {
        out.push(ToWorker::Job(Job {
            job,
            job_id: format!("job-{job}"),
            task_id: format!("task-{job}"),
            workload_job: "conformance".into(),
            task_type: "convert".into(),
            documents: vec![
                Document::Path {
                    name: "release-notes.md".into(),
                    path: notes.display().to_string(),
                },
                Document::Base64 {
                    name: "memory-table.csv".into(),
                    base64: base64::engine::general_purpose::STANDARD.encode(&csv),
                },
            ],
            options: serde_json::json!({"to_formats": ["md", "json"], "do_ocr": false}),
        }));
    }
    out.push(ToWorker::Shutdown);
    out
}

/// Run a worker through the conversation; every line both ways is checked.
fn check_worker(mut command: Command) {
    let validator = validator();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the worker");
    let mut stdin = child.stdin.take().expect("stdin");
    for message in conversation(tmp.path()) {
        let line = serde_json::to_string(&message).expect("serialise");
        assert_valid(&validator, &line);
        writeln!(stdin, "{line}").expect("write to the worker");
    }
    drop(stdin);
    let output = child.wait_with_output().expect("worker output");
    assert!(output.status.success(), "worker exit {:?}", output.status);
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let messages: Vec<FromWorker> = text
        .lines()
        .map(|line| {
            assert_valid(&validator, line);
            protocol::parse(line).unwrap_or_else(|e| panic!("{e}: {line}"))
        })
        .collect();
    assert_eq!(messages.len(), 5, "ready + four job_done: {text}");
    assert!(matches!(&messages[0], FromWorker::Ready(r) if r.baseline.is_some()));
    for (i, message) in messages[1..].iter().enumerate() {
        let FromWorker::JobDone(done) = message else {
            panic!("expected job_done, got {message:?}")
        };
        assert_eq!(done.job, i as u64 + 1);
        assert_eq!(done.documents.len(), 2);
        assert!(done
            .after_job
            .as_ref()
            .is_some_and(|s| s.rss_bytes().is_some()));
        assert_eq!(
            done.cache_clear.is_some(),
            done.job % 2 == 0,
            "job {}",
            done.job
        );
    }
}

#[test]
fn the_core_worker_speaks_the_protocol_schema() {
    let mut command = Command::new(binary());
    command
        .arg("child")
        .env("DOCLING_MEMPROF_ALLOCATOR", "jemalloc");
    check_worker(command);
}

#[test]
fn the_reference_worker_speaks_the_protocol_schema() {
    let Some(python) = python3() else { return };
    let mut command = Command::new(python);
    command.arg(project_root().join("workers/reference_worker.py"));
    check_worker(command);
}

#[test]
fn the_schema_refuses_a_broken_message() {
    let validator = validator();
    for bad in [
        r#"{"type":"job_done","outcome":{"status":"success"},"duration_secs":1}"#,
        r#"{"type":"job_done","job":1,"outcome":{"status":"died"},"duration_secs":1}"#,
        r#"{"type":"ready","protocol_version":2,"pid":1}"#,
        r#"{"type":"job_done","job":1,"outcome":{"status":"success"},"duration_secs":1,"after_job":{"kind":"after_job","process":{"rss_bytes":-5}}}"#,
    ] {
        let value: serde_json::Value = serde_json::from_str(bad).expect("JSON");
        assert!(!validator.is_valid(&value), "accepted: {bad}");
    }
}
