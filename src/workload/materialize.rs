//! Turning a workload's documents into files the worker child can read: a `path` document is
//! resolved against the workload's folder; a `generate` document is generated (deterministic:
//! same description, same bytes) into the run folder's `documents/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::validate::LoadedWorkload;
use crate::{Error, Result};

/// Document id -> absolute file path.
pub type DocumentFiles = BTreeMap<String, PathBuf>;

/// Resolve or generate every document of the workload. Generated files go to `documents_dir`.
pub fn materialize(loaded: &LoadedWorkload, documents_dir: &Path) -> Result<DocumentFiles> {
    let mut files = DocumentFiles::new();
    // Only documents some job uses are resolved or generated (a workload may list many more).
    let used: std::collections::HashSet<&str> = loaded
        .workload
        .jobs
        .iter()
        .flat_map(|j| j.documents.iter().map(String::as_str))
        .collect();
    for (i, doc) in loaded.workload.documents.iter().enumerate() {
        if !used.contains(doc.id.as_str()) {
            continue;
        }
        let path = match (&doc.path, &doc.generate) {
            (Some(path), _) => loaded.resolve(path),
            (None, Some(g)) => {
                let bytes = super::generate::generate(g.format, g.pages, g.size_bytes, g.seed)
                    .map_err(|e| {
                        Error::bad_input(
                            &loaded.path,
                            format!("$.documents[{i}].generate"),
                            format!("cannot generate: {e}"),
                        )
                    })?;
                std::fs::create_dir_all(documents_dir)
                    .map_err(|e| Error::io(format!("creating {}", documents_dir.display()), e))?;
                let name = g
                    .file_name
                    .clone()
                    .unwrap_or_else(|| format!("{}.{}", doc.id, g.format.extension()));
                let target = documents_dir.join(sanitize(&name));
                std::fs::write(&target, bytes)
                    .map_err(|e| Error::io(format!("writing {}", target.display()), e))?;
                target
            }
            (None, None) => {
                return Err(Error::bad_input(
                    &loaded.path,
                    format!("$.documents[{i}]"),
                    "expected `path` or `generate`",
                ))
            }
        };
        let absolute = std::path::absolute(&path)
            .map_err(|e| Error::io(format!("resolving {}", path.display()), e))?;
        files.insert(doc.id.clone(), absolute);
    }
    Ok(files)
}

/// A file name safe to join to a folder.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == '/' || c == '\\' || c == '\0' {
                '_'
            } else {
                c
            }
        })
        .collect()
}
