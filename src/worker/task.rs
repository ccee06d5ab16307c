//! What a job carries (a [`Task`]) and what it hands back ([`JobReport`]; a clear hands back a
//! [`crate::record::CacheClear`]).
//!
//! Plain serde structs: the runner sends tasks to the child as JSON and gets reports back.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::options::{ConversionOptions, OutputFormat};
use crate::census::Tally;
use crate::record::DocumentResult;

/// docling-serve's task types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskType {
    Convert,
    Chunk,
}

impl TaskType {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskType::Convert => "convert",
            TaskType::Chunk => "chunk",
        }
    }
}

/// One source document of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// A file on the worker's disk (docling-serve's local path source).
    File { path: PathBuf },
    /// Inline bytes, as docling-serve's `FileSource` (`base64_string` + `filename`).
    Base64 {
        filename: String,
        base64_string: String,
    },
}

impl Source {
    /// The document's name as the logs show it (the file name).
    pub fn name(&self) -> String {
        match self {
            Source::File { path } => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
            Source::Base64 { filename, .. } => filename.clone(),
        }
    }

    /// The document's bytes, at most `max_bytes` of them: a file is opened as a regular file
    /// only (a directory, FIFO or device is refused naming the path) and read with the bound
    /// applied while reading; inline base64 is refused from its length before decoding.
    pub fn read_bounded(&self, max_bytes: u64) -> Result<Vec<u8>, String> {
        match self {
            Source::File { path } => {
                crate::bounded::read_file(path, max_bytes, "max_input_bytes of a document")
                    .map_err(|e| e.to_string())
            }
            Source::Base64 {
                filename,
                base64_string,
            } => {
                use base64::Engine;
                let encoded = base64_string.trim();
                // Four base64 characters carry three bytes.
                let decoded_len = (encoded.len() as u64 / 4).saturating_mul(3);
                if decoded_len > max_bytes.saturating_add(3) {
                    return Err(format!(
                        "{filename}: decodes to about {decoded_len} bytes, larger than the {max_bytes}-byte bound (max_input_bytes of a document)"
                    ));
                }
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|e| format!("{filename}: invalid base64: {e}"))?;
                if bytes.len() as u64 > max_bytes {
                    return Err(format!(
                        "{filename}: {} bytes, larger than the {max_bytes}-byte bound (max_input_bytes of a document)",
                        bytes.len()
                    ));
                }
                Ok(bytes)
            }
        }
    }

    /// Inline bytes from a name and content (base64-encodes them).
    pub fn from_bytes(filename: impl Into<String>, bytes: &[u8]) -> Source {
        use base64::Engine;
        Source::Base64 {
            filename: filename.into(),
            base64_string: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }
}

/// One conversion (or chunking) task: docling-serve's task with its sources and options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    pub task_id: String,
    #[serde(default = "default_task_type")]
    pub task_type: TaskType,
    pub sources: Vec<Source>,
    #[serde(default)]
    pub options: ConversionOptions,
}

fn default_task_type() -> TaskType {
    TaskType::Convert
}

impl Task {
    /// A convert task with a fresh uuid4 task id.
    pub fn convert(sources: Vec<Source>, options: ConversionOptions) -> Task {
        Task {
            task_id: uuid::Uuid::new_v4().to_string(),
            task_type: TaskType::Convert,
            sources,
            options,
        }
    }
}

/// The exported outputs of one converted document, handed back with the job's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversionResult {
    pub name: String,
    pub pages: u32,
    /// One text per requested output format.
    pub outputs: BTreeMap<OutputFormat, String>,
    /// For chunk tasks: the document's chunks (empty for convert tasks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<String>,
    /// Live-instance census token (see `crate::census`).
    #[serde(skip)]
    pub census: Tally<Self>,
}

impl ConversionResult {
    /// Bytes of text this result holds (outputs and chunks).
    pub fn text_bytes(&self) -> u64 {
        let outputs: usize = self.outputs.values().map(String::len).sum();
        let chunks: usize = self.chunks.iter().map(String::len).sum();
        (outputs + chunks) as u64
    }
}

/// How one job went. `results` are handed back and not kept by the worker (unless the
/// `retain_results` leak scenario is on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobReport {
    pub job_id: String,
    pub task_id: String,
    pub success: bool,
    pub error: Option<String>,
    pub duration_secs: f64,
    pub documents: Vec<DocumentResult>,
    pub results: Vec<ConversionResult>,
    /// VmRSS right after the job (0 when /proc is not readable).
    pub rss_after_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_read_within_the_input_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.md");
        std::fs::write(&path, vec![b'x'; 100]).expect("write");
        let file = Source::File { path: path.clone() };
        assert_eq!(file.read_bounded(100).expect("fits").len(), 100);
        let err = file.read_bounded(99).unwrap_err();
        assert!(
            err.contains("big.md: larger than the 99-byte bound"),
            "{err}"
        );
        let dir_source = Source::File {
            path: dir.path().to_path_buf(),
        };
        assert!(dir_source
            .read_bounded(99)
            .unwrap_err()
            .contains("is a directory"));
        let inline = Source::from_bytes("b.md", &[b'y'; 100]);
        assert_eq!(inline.read_bounded(100).expect("fits").len(), 100);
        let err = inline.read_bounded(10).unwrap_err();
        assert!(err.starts_with("b.md: decodes to about"), "{err}");
    }

    #[test]
    fn task_json_round_trips_and_rejects_unknown_fields() {
        let json = r#"{"task_id":"t1","task_type":"convert","sources":[
            {"kind":"file","path":"/tmp/a.pdf"},
            {"kind":"base64","filename":"b.md","base64_string":"IyBIaQ=="}],
            "options":{"do_ocr":false}}"#;
        let task: Task = serde_json::from_str(json).expect("task parses");
        assert_eq!(task.sources.len(), 2);
        assert_eq!(task.sources[0].name(), "a.pdf");
        assert!(!task.options.do_ocr);
        let back: Task = serde_json::from_str(&serde_json::to_string(&task).expect("serializes"))
            .expect("parses");
        assert_eq!(back, task);

        let err =
            serde_json::from_str::<Task>(r#"{"task_id":"t","sources":[],"extra":1}"#).unwrap_err();
        assert!(err.to_string().contains("extra"), "{err}");
        let err = serde_json::from_str::<Task>(
            r#"{"task_id":"t","sources":[{"kind":"file","path":"x","size":3}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("size"), "{err}");
        let err = serde_json::from_str::<Task>(
            r#"{"task_id":"t","sources":[{"kind":"http","url":"x"}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("http"), "{err}");
    }
}
