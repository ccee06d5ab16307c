//! Reading and validating a workload file. Every problem is an
//! [`Error::BadInput`](crate::Error::BadInput) naming the file, the JSON path
//! (`$.jobs[3].options.ocr_engine`) and what was expected, found before any job runs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The largest converter cache a workload may ask for (each entry can hold a full set of
/// models: a bigger cache is a typo, and 10^9 entries cost 2 GB before the first job).
pub const MAX_OPTIONS_CACHE_SIZE: u32 = 10_000;

/// The largest workload file read (a workload lists documents and jobs, not their bytes).
pub const MAX_WORKLOAD_BYTES: u64 = 64 * 1024 * 1024;

use super::schema::{Workload, WORKLOAD_SCHEMA_VERSION};
use crate::{Error, Result};

/// A validated workload and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedWorkload {
    pub workload: Workload,
    /// The workload file as given.
    pub path: PathBuf,
    /// The folder document paths are relative to.
    pub base_dir: PathBuf,
    /// The workload's name (its `name`, or the file's stem).
    pub name: String,
}

impl LoadedWorkload {
    /// A document's path resolved against the workload's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }
}

/// Read, parse and check a workload file.
pub fn load(path: &Path) -> Result<LoadedWorkload> {
    let text = Error::read_text_input(path, MAX_WORKLOAD_BYTES, "a workload file")?;
    let workload = parse(path, &text)?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let base_dir = if base_dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base_dir
    };
    let name = workload.name.clone().unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "workload".into())
    });
    let loaded = LoadedWorkload {
        workload,
        path: path.to_path_buf(),
        base_dir,
        name,
    };
    check(&loaded)?;
    Ok(loaded)
}

/// A serde_path_to_error path as a JSON path: `$`, `$.jobs[3].options.ocr_engine`.
fn json_path(path: &serde_path_to_error::Path) -> String {
    let text = path.to_string();
    if text.is_empty() || text == "." {
        "$".into()
    } else if text.starts_with('[') {
        format!("${text}")
    } else {
        format!("$.{text}")
    }
}

/// Parse a workload's JSON text; `file` names it in errors.
pub fn parse(file: &Path, text: &str) -> Result<Workload> {
    let mut de = serde_json::Deserializer::from_str(text);
    let workload: Workload = serde_path_to_error::deserialize(&mut de)
        .map_err(|err| Error::bad_input(file, json_path(err.path()), err.inner().to_string()))?;
    de.end()
        .map_err(|err| Error::bad_input(file, "$", err.to_string()))?;
    Ok(workload)
}

/// The checks serde cannot make: version, ids, references, files, ranges.
pub fn check(loaded: &LoadedWorkload) -> Result<()> {
    let file = &loaded.path;
    let w = &loaded.workload;
    let bad = |place: String, message: String| Error::bad_input(file, place, message);

    if w.schema_version != WORKLOAD_SCHEMA_VERSION {
        return Err(bad(
            "$.schema_version".into(),
            format!(
                "unsupported schema_version {}, expected {WORKLOAD_SCHEMA_VERSION}",
                w.schema_version
            ),
        ));
    }
    if !(w.worker.model_scale.is_finite()
        && w.worker.model_scale > 0.0
        && w.worker.model_scale <= 16.0)
    {
        return Err(bad(
            "$.worker.model_scale".into(),
            format!(
                "expected a number in (0, 16] (1.0 = real model sizes), got {}",
                w.worker.model_scale
            ),
        ));
    }
    if !(1..=MAX_OPTIONS_CACHE_SIZE).contains(&w.worker.options_cache_size) {
        return Err(bad(
            "$.worker.options_cache_size".into(),
            format!(
                "expected 1 to {MAX_OPTIONS_CACHE_SIZE} converters, got {}",
                w.worker.options_cache_size
            ),
        ));
    }
    for (i, name) in w.worker.scenarios.iter().enumerate() {
        if crate::worker::LeakScenario::from_name(name).is_none() {
            let known: Vec<&str> = crate::worker::LeakScenario::ALL
                .iter()
                .map(|s| s.as_str())
                .collect();
            return Err(bad(
                format!("$.worker.scenarios[{i}]"),
                format!(
                    "unknown leak scenario `{name}` (known: {})",
                    known.join(", ")
                ),
            ));
        }
    }
    if w.repeat == 0 {
        return Err(bad("$.repeat".into(), "expected at least 1".into()));
    }
    if w.jobs.is_empty() {
        return Err(bad("$.jobs".into(), "expected at least one job".into()));
    }

    let mut ids = HashSet::new();
    for (i, doc) in w.documents.iter().enumerate() {
        let place = format!("$.documents[{i}]");
        if doc.id.trim().is_empty() {
            return Err(bad(format!("{place}.id"), "expected a non-empty id".into()));
        }
        if !ids.insert(doc.id.as_str()) {
            return Err(bad(
                format!("{place}.id"),
                format!("duplicate document id `{}`", doc.id),
            ));
        }
        match (&doc.path, &doc.generate) {
            (Some(path), None) => {
                let resolved = loaded.resolve(path);
                if !resolved.is_file() {
                    return Err(bad(
                        format!("{place}.path"),
                        format!(
                            "document file not found: {} (paths are relative to the workload file)",
                            resolved.display()
                        ),
                    ));
                }
            }
            (None, Some(g)) => {
                if g.pages == 0 {
                    return Err(bad(
                        format!("{place}.generate.pages"),
                        "expected at least 1 page".into(),
                    ));
                }
                if g.size_bytes == 0 {
                    return Err(bad(
                        format!("{place}.generate.size_bytes"),
                        "expected a size > 0".into(),
                    ));
                }
                if let Some(name) = &g.file_name {
                    if name.is_empty()
                        || name.contains('/')
                        || name.contains('\\')
                        || name.starts_with('.')
                    {
                        return Err(bad(
                            format!("{place}.generate.file_name"),
                            format!("expected a plain file name, got `{name}`"),
                        ));
                    }
                }
            }
            (Some(_), Some(_)) => {
                return Err(bad(
                    place,
                    "expected either `path` or `generate`, not both".into(),
                ));
            }
            (None, None) => {
                return Err(bad(
                    place,
                    "expected `path` (a file) or `generate` (a generated document)".into(),
                ));
            }
        }
    }

    for (j, job) in w.jobs.iter().enumerate() {
        let place = format!("$.jobs[{j}]");
        let o = &job.options;
        if !(o.images_scale.is_finite() && o.images_scale > 0.0 && o.images_scale <= 10.0) {
            return Err(bad(
                format!("{place}.options.images_scale"),
                format!("expected a number in (0, 10], got {}", o.images_scale),
            ));
        }
        if let Some(t) = o.document_timeout {
            if !(t.is_finite() && t >= 0.0) {
                return Err(bad(
                    format!("{place}.options.document_timeout"),
                    format!("expected seconds >= 0, got {t}"),
                ));
            }
        }
        if job.name.trim().is_empty() {
            return Err(bad(
                format!("{place}.name"),
                "expected a non-empty name".into(),
            ));
        }
        if job.documents.is_empty() {
            return Err(bad(
                format!("{place}.documents"),
                "expected at least one document id".into(),
            ));
        }
        for (k, id) in job.documents.iter().enumerate() {
            if !ids.contains(id.as_str()) {
                let known: Vec<&str> = w.documents.iter().map(|d| d.id.as_str()).collect();
                return Err(bad(
                    format!("{place}.documents[{k}]"),
                    format!(
                        "unknown document id `{id}` (documents: {})",
                        known.join(", ")
                    ),
                ));
            }
        }
        if job.options.to_formats.is_empty() {
            return Err(bad(
                format!("{place}.options.to_formats"),
                "expected at least one output format".into(),
            ));
        }
        if let Some((first, last)) = job.options.page_range {
            if first == 0 || last < first {
                return Err(bad(
                    format!("{place}.options.page_range"),
                    format!(
                        "expected [first, last] with 1 <= first <= last, got [{first}, {last}]"
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Workload> {
        parse(Path::new("w.json"), text)
    }

    const GOOD: &str = r#"{"schema_version":1,
        "worker":{"jobs_between_cache_clear":3,"model_scale":0.01},
        "documents":[{"id":"a","generate":{"format":"pdf","pages":2,"size_bytes":20000,"seed":1}}],
        "jobs":[{"name":"j","options":{"to_formats":["md","json"]},"documents":["a"]}],
        "repeat":4}"#;

    #[test]
    fn good_workload_parses_and_checks() {
        let w = parse_str(GOOD).expect("parses");
        assert_eq!(w.job_count(), 4);
        let loaded = LoadedWorkload {
            workload: w,
            path: "w.json".into(),
            base_dir: ".".into(),
            name: "w".into(),
        };
        check(&loaded).expect("checks");
    }

    #[test]
    fn bad_enum_names_its_json_path() {
        let text = GOOD.replace(r#""to_formats":["md","json"]"#, r#""ocr_engine":"easyorc""#);
        match parse_str(&text) {
            Err(Error::BadInput { place, message, .. }) => {
                assert_eq!(place, "$.jobs[0].options.ocr_engine");
                assert!(message.contains("easyocr"), "{message}");
            }
            other => panic!("expected BadInput, got {other:?}"),
        }
    }

    #[test]
    fn unknown_document_id_and_missing_file_are_named() {
        let mut w = parse_str(GOOD).expect("parses");
        w.jobs[0].documents.push("b".into());
        let loaded = LoadedWorkload {
            workload: w.clone(),
            path: "w.json".into(),
            base_dir: ".".into(),
            name: "w".into(),
        };
        match check(&loaded) {
            Err(Error::BadInput { place, .. }) => assert_eq!(place, "$.jobs[0].documents[1]"),
            other => panic!("expected BadInput, got {other:?}"),
        }
        w.jobs[0].documents.pop();
        w.documents[0].generate = None;
        w.documents[0].path = Some("no/such/file.pdf".into());
        let loaded = LoadedWorkload {
            workload: w,
            path: "w.json".into(),
            base_dir: ".".into(),
            name: "w".into(),
        };
        match check(&loaded) {
            Err(Error::BadInput { place, message, .. }) => {
                assert_eq!(place, "$.documents[0].path");
                assert!(message.contains("no/such/file.pdf"), "{message}");
            }
            other => panic!("expected BadInput, got {other:?}"),
        }
    }
}
