//! A docling-serve worker log -> a replayable [`Workload`]: options from `[TASK START]`
//! (pipeline, OCR engine, output formats), documents from `[DOC ...]` lines (and the source
//! lines): generated documents with the logged format (from the file extension), page count
//! and size, so that the replay converts the same shapes without the original files.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::parse::{LogJob, ParsedLog};
use crate::analysis::OutcomeKind;
use crate::worker::document::DocumentFormat;
use crate::worker::task::TaskType;
use crate::worker::{ConversionOptions, OcrEngine, OutputFormat, PipelineKind};
use crate::workload::{
    DocumentSpec, GeneratedDocument, JobSpec, SourceMode, Workload, WorkloadWorker,
    WORKLOAD_SCHEMA_VERSION,
};

/// The recorded workload and what could not be carried over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    pub workload: Workload,
    /// Things the log said that the workload cannot express, one sentence each.
    pub notes: Vec<String>,
}

fn from_str<T: for<'de> Deserialize<'de>>(text: &str) -> Option<T> {
    serde_json::from_value(Value::String(text.trim().to_ascii_lowercase())).ok()
}

fn options(job: &LogJob, notes: &mut Vec<String>) -> ConversionOptions {
    let mut options = ConversionOptions::default();
    let Some(task) = &job.task else {
        return options;
    };
    if let Some(p) = &task.pipeline {
        match from_str::<PipelineKind>(p) {
            Some(kind) => options.pipeline = kind,
            None => notes.push(format!(
                "job {}: pipeline `{p}` is not one the worker core has; standard used",
                job.job
            )),
        }
    }
    if let Some(ocr) = &task.ocr {
        match ocr.trim().to_ascii_lowercase().as_str() {
            "none" | "off" | "false" | "disabled" => {
                options.do_ocr = false;
            }
            other => match from_str::<OcrEngine>(other) {
                Some(engine) => options.ocr_engine = engine,
                None => notes.push(format!(
                    "job {}: OCR engine `{ocr}` unknown; auto used",
                    job.job
                )),
            },
        }
    }
    if let Some(formats) = &task.formats {
        let parsed: Vec<OutputFormat> = formats
            .iter()
            .filter_map(|f| {
                let v = from_str::<OutputFormat>(f);
                if v.is_none() {
                    notes.push(format!(
                        "job {}: output format `{f}` unknown; left out",
                        job.job
                    ));
                }
                v
            })
            .collect();
        if !parsed.is_empty() {
            options.to_formats = parsed;
        }
    }
    options
}

/// (name, size, pages) of each document of a job, from the `[DOC]` lines, else the sources.
fn documents(job: &LogJob) -> Vec<(String, Option<u64>, Option<u32>)> {
    if !job.documents.is_empty() {
        return job
            .documents
            .iter()
            .map(|d| (d.name.clone(), d.size_bytes, d.pages))
            .collect();
    }
    job.task
        .as_ref()
        .map(|t| {
            t.sources
                .iter()
                .map(|(_, name, size)| (name.clone(), *size, None))
                .collect()
        })
        .unwrap_or_default()
}

/// Turn a parsed log into a workload.
pub fn record(log: &ParsedLog, name: &str) -> Recorded {
    let mut notes = Vec::new();
    let mut docs: Vec<DocumentSpec> = Vec::new();
    let mut doc_ids: BTreeMap<(String, u64, u32), String> = BTreeMap::new();
    let mut jobs = Vec::new();
    for job in &log.jobs {
        let entries = documents(job);
        if entries.is_empty() {
            notes.push(format!("job {}: no document in the log; left out", job.job));
            continue;
        }
        let mut ids = Vec::new();
        for (doc_name, size, pages) in entries {
            let format = DocumentFormat::from_extension(&doc_name).unwrap_or_else(|| {
                notes.push(format!(
                    "job {}: `{doc_name}` has no known extension; generated as PDF",
                    job.job
                ));
                DocumentFormat::Pdf
            });
            let size_bytes = size.unwrap_or(0).max(1);
            let pages = pages.unwrap_or(0).max(1);
            let key = (doc_name.clone(), size_bytes, pages);
            let id = match doc_ids.get(&key) {
                Some(id) => id.clone(),
                None => {
                    let id = format!("doc-{}", docs.len() + 1);
                    let file_name = if DocumentFormat::from_extension(&doc_name).is_some() {
                        Some(doc_name.clone())
                    } else {
                        Some(format!("{id}.{}", format.extension()))
                    };
                    docs.push(DocumentSpec {
                        id: id.clone(),
                        path: None,
                        generate: Some(GeneratedDocument {
                            format,
                            pages,
                            size_bytes,
                            seed: docs.len() as u64 + 1,
                            file_name,
                        }),
                    });
                    doc_ids.insert(key, id.clone());
                    id
                }
            };
            ids.push(id);
        }
        let task_type = job
            .task
            .as_ref()
            .and_then(|t| t.task_type.as_deref())
            .and_then(from_str::<TaskType>)
            .unwrap_or(TaskType::Convert);
        jobs.push(JobSpec {
            name: format!("job-{}", job.job),
            task_type,
            options: options(job, &mut notes),
            documents: ids,
            sources: SourceMode::File,
        });
        if job.outcome == OutcomeKind::Failed {
            notes.push(format!(
                "job {} failed in the log; its generated document will likely convert",
                job.job
            ));
        }
    }
    let mut worker = WorkloadWorker::default();
    if let Some(n) = log.jobs_between_cache_clear {
        worker.jobs_between_cache_clear = u32::try_from(n).unwrap_or(u32::MAX);
    }
    let workload = Workload {
        schema_version: WORKLOAD_SCHEMA_VERSION,
        name: Some(name.to_string()),
        description: Some(format!("recorded by docling-memprof from {}", log.origin)),
        worker,
        documents: docs,
        jobs,
        repeat: 1,
    };
    Recorded { workload, notes }
}
