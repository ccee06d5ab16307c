//! Plain text: one block per item, list items with their markers, table rows tab-separated.

use crate::worker::document::{Document, ItemKind};

/// The document as plain text.
pub fn to_text(doc: &Document) -> String {
    super::write_blocks(doc, false, write_item)
}

fn write_item(out: &mut String, kind: &ItemKind) {
    match kind {
        ItemKind::ListItem {
            marker,
            level,
            text,
            ..
        } => {
            for _ in 0..*level {
                out.push_str("  ");
            }
            out.push_str(marker);
            out.push(' ');
            out.push_str(text);
        }
        ItemKind::Table(table) => {
            for (index, row) in table.grid().iter().enumerate() {
                if index > 0 {
                    out.push('\n');
                }
                for (col, cell) in row.iter().enumerate() {
                    if col > 0 {
                        out.push('\t');
                    }
                    out.push_str(cell);
                }
            }
        }
        ItemKind::Picture { caption, .. } => out.push_str(caption.as_deref().unwrap_or("[image]")),
        ItemKind::Title { text }
        | ItemKind::SectionHeader { text, .. }
        | ItemKind::Paragraph { text }
        | ItemKind::Code { text, .. }
        | ItemKind::Formula { text } => out.push_str(text),
    }
}
