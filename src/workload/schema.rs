//! The workload file's serde types (JSON, versioned by [`WORKLOAD_SCHEMA_VERSION`]).
//!
//! Documented in `docs/workload-format.md`; `fixtures/workload.schema.json` is the matching
//! JSON Schema. Every struct rejects unknown fields, so a typo is an error with its JSON path.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::worker::document::DocumentFormat;
use crate::worker::task::TaskType;
use crate::worker::ConversionOptions;

/// The version of the workload format this build reads.
pub const WORKLOAD_SCHEMA_VERSION: u32 = 1;

/// A workload: worker settings, documents, jobs, and how many times to run the job list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub schema_version: u32,
    /// A short name (used in the run folder's name); defaults to the file's stem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub worker: WorkloadWorker,
    pub documents: Vec<DocumentSpec>,
    pub jobs: Vec<JobSpec>,
    /// Run the whole job list this many times (default 1).
    #[serde(default = "default_repeat")]
    pub repeat: u32,
}

fn default_repeat() -> u32 {
    1
}

/// The worker settings a workload may set: the protocol's [`crate::protocol::WorkerSettings`]
/// (one type from the workload file to the worker process).
pub use crate::protocol::WorkerSettings as WorkloadWorker;

/// A document: a file (`path`, relative to the workload file) or a generated one
/// (`generate`). Exactly one of the two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSpec {
    /// The id jobs refer to it by.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<GeneratedDocument>,
}

/// A document generated deterministically from its description (so that a workload recorded
/// from a docling-serve log, which knows only sizes and page counts, can be replayed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratedDocument {
    pub format: DocumentFormat,
    /// Pages (PDF), sections or tables for the other formats.
    pub pages: u32,
    /// Target size of the file in bytes.
    pub size_bytes: u64,
    /// Seed of the generator: same description, same bytes.
    #[serde(default)]
    pub seed: u64,
    /// File name to give it (default `<id>.<extension>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
}

/// How a job hands its documents to the worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceMode {
    /// A path on the worker's disk.
    #[default]
    File,
    /// Inline base64 bytes, as docling-serve's HTTP API sends them.
    Base64,
}

/// One job of the list: a task over some documents with some options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    pub name: String,
    #[serde(default = "default_task_type")]
    pub task_type: TaskType,
    #[serde(default)]
    pub options: ConversionOptions,
    /// Ids of the documents this job converts.
    pub documents: Vec<String>,
    #[serde(default)]
    pub sources: SourceMode,
}

fn default_task_type() -> TaskType {
    TaskType::Convert
}

impl Workload {
    /// The jobs in run order: the job list `repeat` times.
    pub fn planned_jobs(&self) -> impl Iterator<Item = &JobSpec> + '_ {
        (0..self.repeat).flat_map(move |_| self.jobs.iter())
    }

    /// Number of jobs a run executes.
    pub fn job_count(&self) -> u64 {
        self.jobs.len() as u64 * u64::from(self.repeat)
    }

    pub fn document(&self, id: &str) -> Option<&DocumentSpec> {
        self.documents.iter().find(|d| d.id == id)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;
    use crate::worker::{
        ImageExportMode, LeakScenario, OcrEngine, OutputFormat, PipelineKind, TableMode,
    };

    fn schema() -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/workload.schema.json");
        let text = std::fs::read_to_string(path).expect("fixtures/workload.schema.json");
        serde_json::from_str(&text).expect("the schema is JSON")
    }

    fn schema_props(object: &Value) -> BTreeSet<String> {
        object["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .cloned()
            .collect()
    }

    fn keys<T: Serialize>(value: &T) -> BTreeSet<String> {
        serde_json::to_value(value)
            .expect("serializes")
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect()
    }

    fn enum_values(def: &Value) -> Vec<Value> {
        def["enum"]
            .as_array()
            .or_else(|| def["items"]["enum"].as_array())
            .expect("enum")
            .clone()
    }

    #[test]
    fn json_schema_matches_the_serde_types() {
        let s = schema();
        let defs = &s["$defs"];
        let generated = GeneratedDocument {
            format: DocumentFormat::Pdf,
            pages: 1,
            size_bytes: 1,
            seed: 0,
            file_name: Some("a.pdf".into()),
        };
        let document = DocumentSpec {
            id: "a".into(),
            path: Some("a.pdf".into()),
            generate: Some(generated.clone()),
        };
        let job = JobSpec {
            name: "j".into(),
            task_type: TaskType::Convert,
            options: ConversionOptions::default(),
            documents: vec!["a".into()],
            sources: SourceMode::File,
        };
        let workload = Workload {
            schema_version: WORKLOAD_SCHEMA_VERSION,
            name: Some("w".into()),
            description: Some("d".into()),
            worker: WorkloadWorker::default(),
            documents: vec![document.clone()],
            jobs: vec![job.clone()],
            repeat: 1,
        };
        assert_eq!(schema_props(&s), keys(&workload));
        assert_eq!(
            schema_props(&defs["worker"]),
            keys(&WorkloadWorker::default())
        );
        assert_eq!(schema_props(&defs["document"]), keys(&document));
        assert_eq!(schema_props(&defs["generated"]), keys(&generated));
        assert_eq!(schema_props(&defs["job"]), keys(&job));
        assert_eq!(
            schema_props(&defs["options"]),
            keys(&ConversionOptions::default())
        );

        // Every enum value the schema allows is one the types accept, and the lists are complete
        // where the types enumerate themselves.
        let scenarios = enum_values(&defs["worker"]["properties"]["scenarios"]);
        let all: Vec<Value> = LeakScenario::ALL
            .iter()
            .map(|s| serde_json::to_value(s).expect("ser"))
            .collect();
        assert_eq!(scenarios, all);
        let formats = enum_values(&defs["generated"]["properties"]["format"]);
        let all: Vec<Value> = DocumentFormat::ALL
            .iter()
            .map(|f| serde_json::to_value(f).expect("ser"))
            .collect();
        assert_eq!(formats, all);
        let o = &defs["options"]["properties"];
        fn accepts<T: for<'de> Deserialize<'de>>(values: Vec<Value>) {
            for v in values {
                assert!(
                    serde_json::from_value::<T>(v.clone()).is_ok(),
                    "{v} not accepted"
                );
            }
        }
        accepts::<PipelineKind>(enum_values(&o["pipeline"]));
        accepts::<OcrEngine>(enum_values(&o["ocr_engine"]));
        accepts::<TableMode>(enum_values(&o["table_mode"]));
        accepts::<ImageExportMode>(enum_values(&o["image_export_mode"]));
        accepts::<OutputFormat>(enum_values(&o["to_formats"]));
        accepts::<TaskType>(enum_values(&defs["job"]["properties"]["task_type"]));
        accepts::<SourceMode>(enum_values(&defs["job"]["properties"]["sources"]));
    }
}
