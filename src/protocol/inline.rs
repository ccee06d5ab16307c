//! A `job` whose inline (`base64`) sources are still files: each is base64-encoded while the
//! line is written, a chunk at a time, so that the sender holds neither a source's bytes nor
//! their base64 (the parent's memory does not grow with a big source). The line on the wire
//! is the one [`super::send`] would write for the same [`Job`] with the bytes inlined.

use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use super::{Document, Job, ToWorker};
use crate::bounded::{open_input, InputKinds};

/// A [`Job`] and the files of its inline sources.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingJob {
    /// The job; each inline source's `base64` holds the placeholder of its file.
    pub job: Job,
    pub inline: Vec<InlineFile>,
}

/// One inline source still on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct InlineFile {
    /// A token that needs no JSON escaping and occurs nowhere else in the job.
    pub placeholder: String,
    pub path: PathBuf,
}

impl OutgoingJob {
    /// A job with no inline file.
    pub fn plain(job: Job) -> OutgoingJob {
        OutgoingJob {
            job,
            inline: Vec::new(),
        }
    }

    /// Adds an inline source: the document to put in the job, its file to stream.
    pub fn inline_document(
        name: String,
        path: PathBuf,
        nonce: &str,
        index: usize,
    ) -> (Document, InlineFile) {
        let placeholder = format!("memprof-inline-{nonce}-{index}");
        (
            Document::Base64 {
                name,
                base64: placeholder.clone(),
            },
            InlineFile { placeholder, path },
        )
    }
}

/// Bytes read from a source per step (a multiple of 3: no padding inside the stream).
const CHUNK: usize = 3 * 64 * 1024;

/// Writes the job as one JSON line, streaming each inline file's base64, and flushes. A file
/// that cannot be read is an error naming it (the line is then incomplete: the caller treats
/// the worker as gone).
pub fn send_job<W: Write>(out: &mut W, message: &OutgoingJob) -> io::Result<()> {
    let line = serde_json::to_vec(&ToWorker::Job(message.job.clone())).map_err(io::Error::other)?;
    let mut holes = Vec::with_capacity(message.inline.len());
    for file in &message.inline {
        let quoted = format!("\"{}\"", file.placeholder);
        let at = find(&line, quoted.as_bytes()).ok_or_else(|| {
            io::Error::other(format!(
                "inline source {}: placeholder not in the job",
                file.path.display()
            ))
        })?;
        holes.push((at, quoted.len(), file));
    }
    holes.sort_by_key(|(at, _, _)| *at);
    let mut out = BufWriter::with_capacity(CHUNK * 2, out);
    let mut from = 0;
    for (at, len, file) in holes {
        out.write_all(&line[from..at])?;
        out.write_all(b"\"")?;
        stream_base64(&mut out, file)?;
        out.write_all(b"\"")?;
        from = at + len;
    }
    out.write_all(&line[from..])?;
    out.write_all(b"\n")?;
    out.flush()
}

fn stream_base64<W: Write>(out: &mut W, file: &InlineFile) -> io::Result<()> {
    use base64::Engine;
    let named =
        |e: io::Error| io::Error::new(e.kind(), format!("reading {}: {e}", file.path.display()));
    let source = open_input(&file.path, InputKinds::RegularOnly)
        .map_err(|e| io::Error::other(e.to_string()))?;
    // The size when opened: a file that grows while it is sent cannot make the line endless.
    let size = source.metadata().map_err(named)?.len();
    let mut source = source.take(size);
    let mut buf = vec![0u8; CHUNK];
    let mut encoded = String::with_capacity(CHUNK / 3 * 4 + 4);
    loop {
        let mut filled = 0;
        while filled < CHUNK {
            match source.read(&mut buf[filled..]).map_err(named)? {
                0 => break,
                n => filled += n,
            }
        }
        if filled == 0 {
            return Ok(());
        }
        encoded.clear();
        base64::engine::general_purpose::STANDARD.encode_string(&buf[..filled], &mut encoded);
        out.write_all(encoded.as_bytes())?;
        if filled < CHUNK {
            return Ok(());
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(documents: Vec<Document>) -> Job {
        Job {
            job: 1,
            job_id: "j".into(),
            task_id: "t".into(),
            workload_job: "w".into(),
            task_type: "convert".into(),
            documents,
            options: serde_json::json!({"to_formats": ["md"]}),
        }
    }

    /// The streamed line is byte for byte the line `send` writes with the bytes inlined,
    /// for sizes around the chunk (padding only at the end).
    #[test]
    fn the_streamed_line_is_the_inlined_line() {
        use base64::Engine;
        let tmp = tempfile::tempdir().expect("tempdir");
        for size in [0, 1, 2, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 2] {
            let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            let a = tmp.path().join("a.pdf");
            let b = tmp.path().join("b.md");
            std::fs::write(&a, &bytes).expect("write");
            std::fs::write(&b, b"# hi").expect("write");
            let (da, fa) = OutgoingJob::inline_document("a.pdf".into(), a, "n", 0);
            let (db, fb) = OutgoingJob::inline_document("b.md".into(), b, "n", 1);
            let path = Document::Path {
                name: "c".into(),
                path: "/c".into(),
            };
            let outgoing = OutgoingJob {
                job: job(vec![da, path.clone(), db]),
                inline: vec![fb, fa],
            };
            let mut streamed = Vec::new();
            send_job(&mut streamed, &outgoing).expect("send");
            let engine = base64::engine::general_purpose::STANDARD;
            let inlined = job(vec![
                Document::Base64 {
                    name: "a.pdf".into(),
                    base64: engine.encode(&bytes),
                },
                path,
                Document::Base64 {
                    name: "b.md".into(),
                    base64: engine.encode(b"# hi"),
                },
            ]);
            let mut expected = Vec::new();
            super::super::send(&mut expected, &ToWorker::Job(inlined)).expect("send");
            assert_eq!(streamed, expected, "size {size}");
        }
    }

    #[test]
    fn a_missing_source_is_an_error_naming_it() {
        let (doc, file) =
            OutgoingJob::inline_document("x".into(), "/nonexistent/x.pdf".into(), "n", 0);
        let outgoing = OutgoingJob {
            job: job(vec![doc]),
            inline: vec![file],
        };
        let err = send_job(&mut Vec::new(), &outgoing).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/x.pdf"), "{err}");
    }
}
