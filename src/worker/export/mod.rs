//! Exporters: the document model to Markdown (docling's style), lossless JSON, plain text and
//! HTML. Each writes into one pre-sized `String` (no quadratic building).

pub mod html;
pub mod json;
pub mod markdown;
pub mod text;

pub use json::from_json;

use super::document::Document;
use super::options::OutputFormat;

/// Exports a document to the requested output format.
pub fn export(doc: &Document, format: OutputFormat) -> String {
    match format {
        OutputFormat::Md => markdown::to_markdown(doc),
        OutputFormat::Json => json::to_json(doc),
        OutputFormat::Text => text::to_text(doc),
        OutputFormat::Html => html::to_html(doc),
    }
}

/// A capacity guess for an export: the text it holds plus some markup per item.
pub(crate) fn capacity_hint(doc: &Document) -> usize {
    doc.items
        .iter()
        .map(|item| item_text_len(&item.kind) + 16)
        .sum::<usize>()
        + 64
}

fn item_text_len(kind: &super::document::ItemKind) -> usize {
    use super::document::ItemKind;
    match kind {
        ItemKind::Table(table) => table.cells.iter().map(|c| c.text.len() + 3).sum(),
        ItemKind::Title { text }
        | ItemKind::SectionHeader { text, .. }
        | ItemKind::Paragraph { text }
        | ItemKind::ListItem { text, .. }
        | ItemKind::Code { text, .. }
        | ItemKind::Formula { text } => text.len(),
        ItemKind::Picture { caption, .. } => caption.as_ref().map_or(0, String::len),
    }
}
