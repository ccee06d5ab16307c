//! Input formats and their detection from a file name and the first bytes.

use serde::{Deserialize, Serialize};

/// An input format the worker accepts (docling's `InputFormat` names, lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentFormat {
    Pdf,
    Docx,
    Html,
    #[serde(rename = "md")]
    Markdown,
    Csv,
    /// A raster image (PNG, JPEG, TIFF, ...): goes through the PDF pipeline in docling.
    Image,
}

impl DocumentFormat {
    pub const ALL: [DocumentFormat; 6] = [
        DocumentFormat::Pdf,
        DocumentFormat::Docx,
        DocumentFormat::Html,
        DocumentFormat::Markdown,
        DocumentFormat::Csv,
        DocumentFormat::Image,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentFormat::Pdf => "pdf",
            DocumentFormat::Docx => "docx",
            DocumentFormat::Html => "html",
            DocumentFormat::Markdown => "md",
            DocumentFormat::Csv => "csv",
            DocumentFormat::Image => "image",
        }
    }

    /// The usual file extension (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            DocumentFormat::Image => "png",
            other => other.as_str(),
        }
    }

    /// Whether docling converts this format with the (model-loading) PDF pipeline.
    pub fn needs_models(self) -> bool {
        matches!(self, DocumentFormat::Pdf | DocumentFormat::Image)
    }

    /// The format a file name's extension names, case-insensitively.
    pub fn from_extension(name: &str) -> Option<DocumentFormat> {
        let (_, ext) = name.rsplit_once('.')?;
        let format = match ext.to_ascii_lowercase().as_str() {
            "pdf" => DocumentFormat::Pdf,
            "docx" | "docm" | "dotx" => DocumentFormat::Docx,
            "html" | "htm" | "xhtml" => DocumentFormat::Html,
            "md" | "markdown" => DocumentFormat::Markdown,
            "csv" | "tsv" => DocumentFormat::Csv,
            "png" | "jpg" | "jpeg" | "tif" | "tiff" | "bmp" | "webp" => DocumentFormat::Image,
            _ => return None,
        };
        Some(format)
    }

    /// The format the content's first bytes show, when they are distinctive.
    pub fn from_magic(bytes: &[u8]) -> Option<DocumentFormat> {
        let head = &bytes[..bytes.len().min(1024)];
        if find(head, b"%PDF-").is_some() {
            return Some(DocumentFormat::Pdf);
        }
        if head.starts_with(b"PK\x03\x04") {
            // A zip: DOCX when it names the Word part near the start (it usually does).
            let window = &bytes[..bytes.len().min(64 * 1024)];
            return (find(window, b"word/").is_some()).then_some(DocumentFormat::Docx);
        }
        if head.starts_with(b"\x89PNG\r\n\x1a\n")
            || head.starts_with(b"\xff\xd8\xff")
            || head.starts_with(b"II*\0")
            || head.starts_with(b"MM\0*")
            || head.starts_with(b"BM")
        {
            return Some(DocumentFormat::Image);
        }
        let text = String::from_utf8_lossy(head)
            .trim_start_matches('\u{feff}')
            .trim_start()
            .to_ascii_lowercase();
        if text.starts_with("<!doctype html") || text.starts_with("<html") {
            return Some(DocumentFormat::Html);
        }
        None
    }

    /// The format of a named document: the extension when known, else the magic bytes.
    /// A PDF or zip signature overrides a misleading textual extension.
    pub fn detect(name: &str, bytes: &[u8]) -> Option<DocumentFormat> {
        let by_magic = DocumentFormat::from_magic(bytes);
        match (DocumentFormat::from_extension(name), by_magic) {
            (Some(ext), Some(magic)) if ext != magic && magic != DocumentFormat::Html => {
                Some(magic)
            }
            (Some(ext), _) => Some(ext),
            (None, magic) => magic,
        }
    }
}

impl std::fmt::Display for DocumentFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DocumentFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        DocumentFormat::ALL
            .into_iter()
            .find(|f| {
                f.as_str() == lower || (lower == "markdown" && *f == DocumentFormat::Markdown)
            })
            .ok_or_else(|| {
                format!(
                    "unknown document format `{s}` (expected pdf, docx, html, md, csv or image)"
                )
            })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_extension_and_magic() {
        assert_eq!(
            DocumentFormat::from_extension("A.PDF"),
            Some(DocumentFormat::Pdf)
        );
        assert_eq!(DocumentFormat::from_extension("x.tar"), None);
        assert_eq!(
            DocumentFormat::from_magic(b"%PDF-1.7\n"),
            Some(DocumentFormat::Pdf)
        );
        assert_eq!(
            DocumentFormat::from_magic(b"<!DOCTYPE html><p>"),
            Some(DocumentFormat::Html)
        );
        assert_eq!(
            DocumentFormat::detect("report", b"%PDF-1.4"),
            Some(DocumentFormat::Pdf)
        );
        assert_eq!(
            DocumentFormat::detect("report.md", b"%PDF-1.4"),
            Some(DocumentFormat::Pdf)
        );
        assert_eq!(
            DocumentFormat::detect("page.md", b"<html>"),
            Some(DocumentFormat::Markdown)
        );
        assert_eq!(DocumentFormat::detect("blob", b"\x00\x01"), None);
        assert_eq!(
            "markdown".parse::<DocumentFormat>(),
            Ok(DocumentFormat::Markdown)
        );
    }
}
