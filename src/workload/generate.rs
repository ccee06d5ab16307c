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

mod markup {
    use super::*;

    pub fn markdown(content: &Content) -> String {
        let mut out = String::new();
        for (index, page) in content.pages.iter().enumerate() {
            if index > 0 {
                out.push_str("<!-- page-break -->\n\n");
            }
            for block in page {
                match block {
                    Block::Title(t) => out.push_str(&format!("# {t}\n\n")),
                    Block::Heading(t) => out.push_str(&format!("## {t}\n\n")),
                    Block::Paragraph(t) => out.push_str(&format!("{t}\n\n")),
                    Block::List(items) => {
                        for item in items {
                            out.push_str(&format!("- {item}\n"));
                        }
                        out.push('\n');
                    }
                    Block::Table(rows) => {
                        for (i, row) in rows.iter().enumerate() {
                            out.push_str(&format!("| {} |\n", row.join(" | ")));
                            if i == 0 {
                                out.push_str(&format!("|{}\n", " --- |".repeat(row.len())));
                            }
                        }
                        out.push('\n');
                    }
                }
            }
        }
        out
    }

    pub fn html(content: &Content) -> String {
        let mut out = String::from("<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>Generated report</title></head>\n<body>\n");
        for (index, page) in content.pages.iter().enumerate() {
            if index > 0 {
                out.push_str("<div style=\"page-break-after: always\"></div>\n");
            }
            for block in page {
                match block {
                    Block::Title(t) => out.push_str(&format!("<h1>{t}</h1>\n")),
                    Block::Heading(t) => out.push_str(&format!("<h2>{t}</h2>\n")),
                    Block::Paragraph(t) => out.push_str(&format!("<p>{t}</p>\n")),
                    Block::List(items) => {
                        out.push_str("<ul>\n");
                        for item in items {
                            out.push_str(&format!("<li>{item}</li>\n"));
                        }
                        out.push_str("</ul>\n");
                    }
                    Block::Table(rows) => {
                        out.push_str("<table>\n");
                        for (i, row) in rows.iter().enumerate() {
                            let tag = if i == 0 { "th" } else { "td" };
                            out.push_str("<tr>");
                            for cell in row {
                                out.push_str(&format!("<{tag}>{cell}</{tag}>"));
                            }
                            out.push_str("</tr>\n");
                        }
                        out.push_str("</table>\n");
                    }
                }
            }
        }
        out.push_str("</body>\n</html>\n");
        out
    }

    /// One table: a header and rows until about `size_bytes` (at least 10 rows per page).
    pub fn csv(rng: &mut ChaCha8Rng, pages: u32, size_bytes: u64) -> String {
        let mut out = String::from("job,document,rss_mb,freed_mb,pages,note\n");
        let mut row = 0u64;
        while (out.len() as u64) < size_bytes || row < u64::from(pages) * 10 {
            row += 1;
            let note = sentence(rng);
            out.push_str(&format!(
                "{row},doc-{:05}.pdf,{},{},{},\"{}\"\n",
                rng.gen_range(0..100_000),
                rng.gen_range(800..2200),
                rng.gen_range(0..260),
                rng.gen_range(1..40),
                note.replace('"', "'")
            ));
        }
        out
    }
}

mod pdf {
    use super::*;
    use lopdf::content::{Content as PdfContent, Operation};
    use lopdf::{dictionary, Document, Object, Stream};

    const WIDTH_PT: i64 = 612;
    const HEIGHT_PT: i64 = 792;
    const CHARS_PER_LINE: usize = 85;

    fn wrap(text: &str) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > CHARS_PER_LINE {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// The page's text operations: lines placed with `Td`, a larger gap between blocks.
    fn page_operations(blocks: &[Block]) -> Vec<Operation> {
        let mut ops = vec![
            Operation::new("BT", vec![]),
            Operation::new("Td", vec![72.into(), (HEIGHT_PT - 72).into()]),
        ];
        let mut first = true;
        let mut line = |ops: &mut Vec<Operation>, size: i64, dy: i64, text: &str| {
            ops.push(Operation::new("Tf", vec!["F1".into(), size.into()]));
            if !first {
                ops.push(Operation::new("Td", vec![0.into(), (-dy).into()]));
            }
            first = false;
            ops.push(Operation::new("Tj", vec![Object::string_literal(text)]));
        };
        for block in blocks {
            match block {
                Block::Title(t) => line(&mut ops, 20, 30, t),
                Block::Heading(t) => line(&mut ops, 15, 30, t),
                Block::Paragraph(t) => {
                    for (i, l) in wrap(t).iter().enumerate() {
                        line(&mut ops, 11, if i == 0 { 26 } else { 14 }, l);
                    }
                }
                Block::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        line(
                            &mut ops,
                            11,
                            if i == 0 { 26 } else { 16 },
                            &format!("- {item}"),
                        );
                    }
                }
                Block::Table(rows) => {
                    for (i, row) in rows.iter().enumerate() {
                        line(
                            &mut ops,
                            11,
                            if i == 0 { 26 } else { 16 },
                            &row.join("    "),
                        );
                    }
                }
            }
        }
        ops.push(Operation::new("ET", vec![]));
        ops
    }

    fn build(
        content: &Content,
        image_bytes_per_page: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Vec<u8>, String> {
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let font_id = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
        });
        let mut kids: Vec<Object> = Vec::with_capacity(content.pages.len());
        for blocks in &content.pages {
            let mut ops = page_operations(blocks);
            let mut resources = dictionary! { "Font" => dictionary! { "F1" => font_id } };
            if image_bytes_per_page > 0 {
                // Random RGB pixels, 64 wide: does not compress, so the file size is predictable.
                let height = image_bytes_per_page.div_ceil(64 * 3).max(1);
                let mut pixels = vec![0u8; 64 * 3 * height];
                rng.fill(pixels.as_mut_slice());
                let image = Stream::new(
                    dictionary! {
                        "Type" => "XObject", "Subtype" => "Image", "Width" => 64, "Height" => height as i64,
                        "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8,
                    },
                    pixels,
                );
                let image_id = doc.add_object(image);
                resources.set("XObject", dictionary! { "Im1" => image_id });
                ops.extend([
                    Operation::new("q", vec![]),
                    Operation::new(
                        "cm",
                        vec![
                            128.into(),
                            0.into(),
                            0.into(),
                            96.into(),
                            420.into(),
                            40.into(),
                        ],
                    ),
                    Operation::new("Do", vec!["Im1".into()]),
                    Operation::new("Q", vec![]),
                ]);
            }
            let stream = PdfContent { operations: ops }
                .encode()
                .map_err(|e| e.to_string())?;
            let content_id = doc.add_object(Stream::new(dictionary! {}, stream));
            let page_id = doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => content_id, "Resources" => resources,
                "MediaBox" => vec![0.into(), 0.into(), WIDTH_PT.into(), HEIGHT_PT.into()],
            });
            kids.push(page_id.into());
        }
        let count = kids.len() as i64;
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
        );
        let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog_id);
        let mut out = Vec::new();
        doc.save_to(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    pub fn write(
        content: &Content,
        size_bytes: u64,
        rng: &mut ChaCha8Rng,
    ) -> Result<Vec<u8>, String> {
        // The text-only size first (with its own generator state, so the pixels stay
        // deterministic), then images to make up the difference.
        let text_only = build(content, 0, &mut rng.clone())?;
        let pages = content.pages.len().max(1) as u64;
        const IMAGE_OVERHEAD_BYTES: u64 = 260;
        let missing = size_bytes.saturating_sub(text_only.len() as u64);
        let per_page = (missing / pages).saturating_sub(IMAGE_OVERHEAD_BYTES);
        if per_page < 64 * 3 {
            return Ok(text_only);
        }
        build(content, per_page as usize, rng)
    }
}

mod docx {
    use super::*;
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, DateTime, ZipWriter};

    const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/><Override PartName="/word/numbering.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml"/></Types>"#;
    const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;
    const DOCUMENT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/numbering" Target="numbering.xml"/></Relationships>"#;
    const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style><w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/><w:rPr><w:sz w:val="56"/></w:rPr></w:style><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:b/><w:sz w:val="32"/></w:rPr></w:style><w:style w:type="paragraph" w:styleId="ListParagraph"><w:name w:val="List Paragraph"/><w:basedOn w:val="Normal"/></w:style></w:styles>"#;
    const NUMBERING: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:numbering xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:abstractNum w:abstractNumId="0"><w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="bullet"/><w:lvlText w:val="&#8226;"/></w:lvl></w:abstractNum><w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num></w:numbering>"#;

    fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }

    fn paragraph(out: &mut String, style: Option<&str>, text: &str) {
        out.push_str("<w:p>");
        if let Some(style) = style {
            out.push_str(&format!("<w:pPr><w:pStyle w:val=\"{style}\"/></w:pPr>"));
        }
        out.push_str(&format!(
            "<w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
            escape(text)
        ));
    }

    fn document_xml(content: &Content) -> String {
        let mut out = String::from(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>"#,
        );
        for (index, page) in content.pages.iter().enumerate() {
            if index > 0 {
                out.push_str("<w:p><w:r><w:br w:type=\"page\"/></w:r></w:p>");
            }
            for block in page {
                match block {
                    Block::Title(t) => paragraph(&mut out, Some("Title"), t),
                    Block::Heading(t) => paragraph(&mut out, Some("Heading1"), t),
                    Block::Paragraph(t) => paragraph(&mut out, None, t),
                    Block::List(items) => {
                        for item in items {
                            out.push_str(&format!(
                                "<w:p><w:pPr><w:pStyle w:val=\"ListParagraph\"/><w:numPr><w:ilvl w:val=\"0\"/><w:numId w:val=\"1\"/></w:numPr></w:pPr><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                                escape(item)
                            ));
                        }
                    }
                    Block::Table(rows) => {
                        out.push_str(
                            "<w:tbl><w:tblPr><w:tblW w:w=\"0\" w:type=\"auto\"/></w:tblPr>",
                        );
                        for (i, row) in rows.iter().enumerate() {
                            out.push_str("<w:tr>");
                            if i == 0 {
                                out.push_str("<w:trPr><w:tblHeader/></w:trPr>");
                            }
                            for cell in row {
                                out.push_str("<w:tc>");
                                paragraph(&mut out, None, cell);
                                out.push_str("</w:tc>");
                            }
                            out.push_str("</w:tr>");
                        }
                        out.push_str("</w:tbl>");
                    }
                }
            }
        }
        out.push_str(
            r#"<w:sectPr><w:pgSz w:w="12240" w:h="15840"/></w:sectPr></w:body></w:document>"#,
        );
        out
    }

    pub fn write(content: &Content) -> Result<Vec<u8>, String> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        // Stored (not deflated) document text, so the file size follows the content size.
        let fixed = SimpleFileOptions::default().last_modified_time(DateTime::default());
        let parts: [(&str, String, CompressionMethod); 6] = [
            (
                "[Content_Types].xml",
                CONTENT_TYPES.to_string(),
                CompressionMethod::Deflated,
            ),
            ("_rels/.rels", RELS.to_string(), CompressionMethod::Deflated),
            (
                "word/_rels/document.xml.rels",
                DOCUMENT_RELS.to_string(),
                CompressionMethod::Deflated,
            ),
            (
                "word/styles.xml",
                STYLES.to_string(),
                CompressionMethod::Deflated,
            ),
            (
                "word/numbering.xml",
                NUMBERING.to_string(),
                CompressionMethod::Deflated,
            ),
            (
                "word/document.xml",
                document_xml(content),
                CompressionMethod::Stored,
            ),
        ];
        for (name, text, method) in parts {
            zip.start_file(name, fixed.compression_method(method))
                .map_err(|e| e.to_string())?;
            zip.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
        }
        Ok(zip.finish().map_err(|e| e.to_string())?.into_inner())
    }
}

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
