//! Generated documents: real files of each input format, deterministic (same format, pages,
//! size and seed give the same bytes), with plausible content (a title, section headings,
//! paragraphs, a list and a table every few pages) so that conversions do real work.
//!
//! Pages: PDF pages are real pages (US Letter, Helvetica text layer); DOCX pages end with
//! `w:br w:type="page"`; HTML pages with `<div style="page-break-after: always">`; Markdown
//! pages with `<!-- page-break -->`. The document parser reads each back with `pages` pages,
//! except CSV, a single table that always reads back as one page (`pages` scales its rows).
//! Size: PDF is padded to about `size_bytes` with one image XObject per page (random pixels);
//! the other formats grow by more paragraphs (or rows) until they reach about `size_bytes`.
//!
//! This file holds the content (pages of blocks, the same for every format); the writers live
//! in `pdf.rs`, `docx.rs` and `markup.rs` (Markdown, HTML, CSV).

use std::io::{Cursor, Write};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::worker::document::DocumentFormat;

/// The most pages a generated document may have.
pub const MAX_PAGES: u32 = 10_000;
/// The largest generated document, in bytes.
pub const MAX_SIZE_BYTES: u64 = 1 << 30;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenerateError {
    #[error("cannot generate {0} documents (images need OCR, which the worker core does not run)")]
    Unsupported(DocumentFormat),
    #[error("pages must be between 1 and {MAX_PAGES}, not {0}")]
    Pages(u32),
    #[error("size_bytes must be at most {MAX_SIZE_BYTES}, not {0}")]
    Size(u64),
    #[error("writing the {format} document: {detail}")]
    Write {
        format: DocumentFormat,
        detail: String,
    },
}

/// Generates a document of `format` with `pages` pages, about `size_bytes` long.
pub fn generate(
    format: DocumentFormat,
    pages: u32,
    size_bytes: u64,
    seed: u64,
) -> Result<Vec<u8>, GenerateError> {
    if pages == 0 || pages > MAX_PAGES {
        return Err(GenerateError::Pages(pages));
    }
    if size_bytes > MAX_SIZE_BYTES {
        return Err(GenerateError::Size(size_bytes));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let write_error = |detail: String| GenerateError::Write { format, detail };
    match format {
        DocumentFormat::Pdf => {
            let content = Content::new(&mut rng, pages, 0);
            pdf::write(&content, size_bytes, &mut rng).map_err(write_error)
        }
        DocumentFormat::Docx => {
            let content = Content::new(&mut rng, pages, size_bytes.saturating_sub(4_000));
            docx::write(&content).map_err(write_error)
        }
        DocumentFormat::Html => {
            Ok(markup::html(&Content::new(&mut rng, pages, size_bytes)).into_bytes())
        }
        DocumentFormat::Markdown => {
            Ok(markup::markdown(&Content::new(&mut rng, pages, size_bytes)).into_bytes())
        }
        DocumentFormat::Csv => Ok(markup::csv(&mut rng, pages, size_bytes).into_bytes()),
        DocumentFormat::Image => Err(GenerateError::Unsupported(format)),
    }
}

const WORDS: &[&str] = &[
    "memory",
    "worker",
    "document",
    "conversion",
    "pipeline",
    "model",
    "layout",
    "table",
    "page",
    "cache",
    "process",
    "result",
    "analysis",
    "growth",
    "allocation",
    "release",
    "service",
    "queue",
    "job",
    "report",
    "structure",
    "text",
    "figure",
    "section",
    "format",
    "export",
    "parser",
    "option",
    "engine",
    "baseline",
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "for",
    "on",
    "with",
    "each",
    "after",
    "between",
    "every",
    "resident",
    "measured",
    "stable",
    "large",
    "small",
    "new",
    "first",
    "last",
    "total",
    "average",
    "recognition",
    "character",
    "image",
    "scale",
    "batch",
    "limit",
    "kernel",
    "container",
    "cluster",
    "request",
    "response",
    "latency",
    "throughput",
    "heap",
    "arena",
    "fragment",
    "object",
    "reference",
    "should",
    "remains",
    "shows",
    "keeps",
    "frees",
    "loads",
    "grows",
    "stays",
    "returns",
    "reaches",
];

/// One block of generated content.
#[derive(Debug, Clone)]
pub(crate) enum Block {
    Title(String),
    Heading(String),
    Paragraph(String),
    List(Vec<String>),
    Table(Vec<Vec<String>>),
}

/// Pages of blocks.
pub(crate) struct Content {
    pub pages: Vec<Vec<Block>>,
}

fn words(rng: &mut ChaCha8Rng, count: usize) -> String {
    let mut out = String::with_capacity(count * 8);
    for i in 0..count {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(WORDS.choose(rng).copied().unwrap_or("memory"));
    }
    out
}

fn sentence(rng: &mut ChaCha8Rng) -> String {
    let count = rng.gen_range(6..16);
    let mut s = words(rng, count);
    if let Some(first) = s.get(..1) {
        let upper = first.to_ascii_uppercase();
        s.replace_range(..1, &upper);
    }
    s.push('.');
    s
}

fn paragraph(rng: &mut ChaCha8Rng) -> String {
    let count = rng.gen_range(3..6);
    (0..count)
        .map(|_| sentence(rng))
        .collect::<Vec<_>>()
        .join(" ")
}

fn table(rng: &mut ChaCha8Rng, rows: usize) -> Vec<Vec<String>> {
    let mut out = vec![vec![
        "Job".to_string(),
        "RSS (MB)".to_string(),
        "Freed (MB)".to_string(),
        "Pages".to_string(),
    ]];
    for job in 1..=rows {
        out.push(vec![
            job.to_string(),
            rng.gen_range(800..2200).to_string(),
            rng.gen_range(0..260).to_string(),
            rng.gen_range(1..40).to_string(),
        ]);
    }
    out
}

fn block_len(block: &Block) -> u64 {
    (match block {
        Block::Title(t) | Block::Heading(t) | Block::Paragraph(t) => t.len() + 16,
        Block::List(items) => items.iter().map(|i| i.len() + 12).sum(),
        Block::Table(rows) => rows.iter().flatten().map(|c| c.len() + 12).sum(),
    }) as u64
}

impl Content {
    /// Base content for `pages` pages, then more paragraphs round-robin until about
    /// `text_bytes` of text (0: base content only).
    fn new(rng: &mut ChaCha8Rng, pages: u32, text_bytes: u64) -> Content {
        let mut out = Vec::with_capacity(pages as usize);
        for page in 0..pages {
            let mut blocks = Vec::new();
            if page == 0 {
                blocks.push(Block::Title(format!("Memory report {}", words(rng, 2))));
            }
            blocks.push(Block::Heading(format!(
                "{} {}",
                page + 1,
                sentence(rng).trim_end_matches('.')
            )));
            blocks.push(Block::Paragraph(paragraph(rng)));
            blocks.push(Block::Paragraph(paragraph(rng)));
            if page % 3 == 0 {
                blocks.push(Block::Table(table(rng, 5)));
            } else if page % 3 == 1 {
                let items = rng.gen_range(3..6);
                blocks.push(Block::List((0..items).map(|_| sentence(rng)).collect()));
            }
            blocks.push(Block::Paragraph(paragraph(rng)));
            out.push(blocks);
        }
        let mut total: u64 = out.iter().flatten().map(block_len).sum();
        let mut page = 0usize;
        while total < text_bytes && !out.is_empty() {
            let block = Block::Paragraph(paragraph(rng));
            total += block_len(&block);
            out[page].push(block);
            page = (page + 1) % out.len();
        }
        Content { pages: out }
    }
}

mod docx;
mod markup;
mod pdf;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::document::{parse, Limits};

    #[test]
    fn every_format_reads_back_with_its_pages_and_is_deterministic() {
        for format in [
            DocumentFormat::Pdf,
            DocumentFormat::Docx,
            DocumentFormat::Html,
            DocumentFormat::Markdown,
        ] {
            let a = generate(format, 4, 20_000, 7).expect("generates");
            let b = generate(format, 4, 20_000, 7).expect("generates");
            assert_eq!(a, b, "{format} not deterministic");
            assert_ne!(
                a,
                generate(format, 4, 20_000, 8).expect("generates"),
                "{format} ignores the seed"
            );
            let doc = parse(&format!("g.{}", format.extension()), &a, &Limits::default())
                .expect("parses back");
            assert_eq!(doc.pages.len(), 4, "{format} pages");
            assert!(doc.items.len() > 10, "{format}: {} items", doc.items.len());
            let size = a.len() as f64;
            assert!(
                (size / 20_000.0 - 1.0).abs() < 0.35,
                "{format}: {size} bytes for 20000 asked"
            );
        }
        let csv = generate(DocumentFormat::Csv, 3, 10_000, 1).expect("generates");
        assert_eq!(
            parse("g.csv", &csv, &Limits::default())
                .expect("parses")
                .pages
                .len(),
            1
        );
        assert_eq!(
            generate(DocumentFormat::Pdf, 0, 1, 1),
            Err(GenerateError::Pages(0))
        );
        assert!(matches!(
            generate(DocumentFormat::Image, 1, 1, 1),
            Err(GenerateError::Unsupported(_))
        ));
    }
}
