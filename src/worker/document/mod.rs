//! Documents: the model every format parses into, format detection, the parsers and their
//! bounds against hostile input.
//!
//! Entry points: [`parse`] (detects the format from the name and the first bytes) and
//! [`parse_pages`] (the same with an inclusive 1-based page range, which the PDF parser uses
//! to skip the other pages' text). A parser panic is caught and returned as
//! [`DocumentError::Panicked`]: no panic escapes.

pub mod csv;
pub mod docx;
mod docx_body;
pub mod format;
pub mod html;
mod html_depth;
pub mod limits;
pub mod markdown;
pub mod model;
pub mod pdf;
mod pdf_cmap;
mod pdf_fonts;
mod pdf_nesting;
mod pdf_streams;

pub use format::DocumentFormat;
pub use limits::Limits;
pub use model::{
    BoundingBox, Document, Item, ItemKind, Page, PageSize, Provenance, Table, TableCell,
};

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Why a document could not be parsed; every variant names the document.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DocumentError {
    #[error("{name}: unsupported document format ({detail})")]
    Unsupported { name: String, detail: String },
    #[error("{name}: too large: {detail}")]
    TooLarge { name: String, detail: String },
    #[error("{name}: nesting deeper than {max_depth} levels")]
    TooDeep { name: String, max_depth: usize },
    #[error("{name}: malformed {format}: {detail}")]
    Malformed {
        name: String,
        format: DocumentFormat,
        detail: String,
    },
    #[error(
        "{name}: page range {first}-{last} is not valid for a document of {page_count} page(s)"
    )]
    BadPageRange {
        name: String,
        first: u32,
        last: u32,
        page_count: usize,
    },
    #[error("{name}: the {format} parser panicked: {detail}")]
    Panicked {
        name: String,
        format: DocumentFormat,
        detail: String,
    },
}

impl DocumentError {
    pub(crate) fn malformed(
        name: &str,
        format: DocumentFormat,
        detail: impl std::fmt::Display,
    ) -> Self {
        DocumentError::Malformed {
            name: name.to_string(),
            format,
            detail: detail.to_string(),
        }
    }

    pub(crate) fn too_large(name: &str, detail: impl Into<String>) -> Self {
        DocumentError::TooLarge {
            name: name.to_string(),
            detail: detail.into(),
        }
    }

    pub(crate) fn too_deep(name: &str, max_depth: usize) -> Self {
        DocumentError::TooDeep {
            name: name.to_string(),
            max_depth,
        }
    }
}

impl From<DocumentError> for crate::Error {
    fn from(err: DocumentError) -> Self {
        let name = match &err {
            DocumentError::Unsupported { name, .. }
            | DocumentError::TooLarge { name, .. }
            | DocumentError::TooDeep { name, .. }
            | DocumentError::Malformed { name, .. }
            | DocumentError::BadPageRange { name, .. }
            | DocumentError::Panicked { name, .. } => name.clone(),
        };
        crate::Error::bad_input(name, "document", err.to_string())
    }
}

/// Parses a document, detecting its format from `name` and the first bytes.
pub fn parse(name: &str, bytes: &[u8], limits: &Limits) -> Result<Document, DocumentError> {
    parse_pages(name, bytes, limits, None)
}

/// Parses a document and keeps only the pages in the inclusive 1-based `page_range`.
/// A range that starts past the last page is an error; one that ends past it is clipped.
pub fn parse_pages(
    name: &str,
    bytes: &[u8],
    limits: &Limits,
    page_range: Option<(u32, u32)>,
) -> Result<Document, DocumentError> {
    let format = DocumentFormat::detect(name, bytes).ok_or_else(|| DocumentError::Unsupported {
        name: name.to_string(),
        detail: "neither the file name nor the content names a known format".into(),
    })?;
    parse_as(name, format, bytes, limits, page_range)
}

/// Parses a document of a known format.
pub fn parse_as(
    name: &str,
    format: DocumentFormat,
    bytes: &[u8],
    limits: &Limits,
    page_range: Option<(u32, u32)>,
) -> Result<Document, DocumentError> {
    if bytes.len() as u64 > limits.max_input_bytes {
        return Err(DocumentError::too_large(
            name,
            format!(
                "{} bytes, more than the {} allowed",
                bytes.len(),
                limits.max_input_bytes
            ),
        ));
    }
    if let Some((first, last)) = page_range {
        if first == 0 || last < first {
            return Err(DocumentError::BadPageRange {
                name: name.into(),
                first,
                last,
                page_count: 0,
            });
        }
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| match format {
        DocumentFormat::Markdown => markdown::parse(name, &decode_text(bytes), limits),
        DocumentFormat::Html => html::parse(name, &decode_text(bytes), limits),
        DocumentFormat::Csv => csv::parse(name, bytes, limits),
        DocumentFormat::Docx => docx::parse(name, bytes, limits),
        DocumentFormat::Pdf => pdf::parse(name, bytes, limits, page_range),
        DocumentFormat::Image => Err(DocumentError::Unsupported {
            name: name.to_string(),
            detail: "images need OCR, which this worker core does not run".into(),
        }),
    }));
    let mut doc = match outcome {
        Ok(result) => result?,
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            return Err(DocumentError::Panicked {
                name: name.to_string(),
                format,
                detail,
            });
        }
    };
    if let Some((first, last)) = page_range {
        if first as usize > doc.pages.len() {
            return Err(DocumentError::BadPageRange {
                name: name.into(),
                first,
                last,
                page_count: doc.pages.len(),
            });
        }
        doc.retain_pages(first, last);
    }
    Ok(doc)
}

/// UTF-8 text without a byte-order mark; invalid sequences become U+FFFD.
fn decode_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    String::from_utf8_lossy(bytes)
}

/// Splits `pages` page breaks into numbered pages without sizes (1..=count).
pub(crate) fn plain_pages(count: u32) -> Vec<Page> {
    (1..=count.max(1))
        .map(|page_no| Page {
            page_no,
            size: None,
        })
        .collect()
}

/// A list item whose marker is known while its text is still being collected (the HTML and
/// Markdown readers).
pub(crate) struct PendingItem {
    pub(crate) ordered: bool,
    pub(crate) marker: String,
    pub(crate) level: u8,
}

/// An open list (the HTML and Markdown readers): ordered lists number their items.
pub(crate) struct ListContext {
    pub(crate) ordered: bool,
    pub(crate) next_number: u64,
}

/// The next item of the innermost open list: its level (0 for a top-level list), and its
/// marker (`N.` numbered in an ordered list, `-` otherwise or outside any list).
pub(crate) fn next_list_item(lists: &mut [ListContext]) -> PendingItem {
    let level = lists.len().saturating_sub(1).min(u8::MAX as usize) as u8;
    let (ordered, marker) = match lists.last_mut() {
        Some(list) if list.ordered => {
            let marker = format!("{}.", list.next_number);
            list.next_number += 1;
            (true, marker)
        }
        _ => (false, "-".to_string()),
    };
    PendingItem {
        ordered,
        marker,
        level,
    }
}

/// The collected inline text as an item: the pending list item (taken), or a paragraph. `None`
/// when the text is blank; the text is cleared either way and a pending item is then kept.
pub(crate) fn take_inline(
    inline: &mut String,
    pending_item: &mut Option<PendingItem>,
) -> Option<ItemKind> {
    if inline.trim().is_empty() {
        inline.clear();
        return None;
    }
    let text = model::normalize_space(inline);
    inline.clear();
    Some(match pending_item.take() {
        Some(item) => ItemKind::ListItem {
            ordered: item.ordered,
            marker: item.marker,
            level: item.level,
            text,
        },
        None => ItemKind::Paragraph { text },
    })
}
