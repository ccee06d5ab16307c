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

/// The walk the Markdown and text exporters share: items one after another, a blank line
/// between blocks and a single newline between consecutive list items. `write_item` appends
/// one item; with `drop_empty`, the separator before an item that wrote nothing is taken back.
pub(crate) fn write_blocks(
    doc: &Document,
    drop_empty: bool,
    mut write_item: impl FnMut(&mut String, &super::document::ItemKind),
) -> String {
    let mut out = String::with_capacity(capacity_hint(doc));
    let mut previous_was_list = false;
    for item in &doc.items {
        let is_list = matches!(item.kind, super::document::ItemKind::ListItem { .. });
        if !out.is_empty() {
            out.push_str(if is_list && previous_was_list {
                "\n"
            } else {
                "\n\n"
            });
        }
        let start = out.len();
        write_item(&mut out, &item.kind);
        if drop_empty && out.len() == start {
            out.truncate(out.trim_end_matches('\n').len());
        }
        previous_was_list = is_list;
    }
    out
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
