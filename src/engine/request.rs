//! The protocol job a workload job becomes: its documents as paths, or as inline base64
//! sources streamed from their files when the job is sent (`protocol::inline`), so that the
//! parent never holds a big source or its base64 copy.

use crate::protocol::{self, inline::OutgoingJob};
use crate::workload::materialize::DocumentFiles;
use crate::workload::{JobSpec, SourceMode};
use crate::{Error, Result};

pub fn job_request(job: u64, spec: &JobSpec, files: &DocumentFiles) -> Result<OutgoingJob> {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let mut documents = Vec::with_capacity(spec.documents.len());
    let mut inline = Vec::new();
    for (index, id) in spec.documents.iter().enumerate() {
        let path = files
            .get(id)
            .ok_or_else(|| Error::Internal(format!("document `{id}` was not materialised")))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| id.clone());
        documents.push(match spec.sources {
            SourceMode::File => protocol::Document::Path {
                name,
                path: path.display().to_string(),
            },
            SourceMode::Base64 => {
                let (document, file) =
                    OutgoingJob::inline_document(name, path.clone(), &nonce, index);
                inline.push(file);
                document
            }
        });
    }
    let options = serde_json::to_value(&spec.options)
        .map_err(|e| Error::Internal(format!("job options: {e}")))?;
    Ok(OutgoingJob {
        job: protocol::Job {
            job,
            job_id: uuid::Uuid::new_v4().to_string(),
            task_id: uuid::Uuid::new_v4().to_string(),
            workload_job: spec.name.clone(),
            task_type: spec.task_type.as_str().to_string(),
            documents,
            options,
        },
        inline,
    })
}
