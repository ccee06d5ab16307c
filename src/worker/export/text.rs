//! Plain text: one block per item, list items with their markers, table rows tab-separated.

use crate::worker::document::{Document, ItemKind};

/// The document as plain text.
pub fn to_text(doc: &Document) -> String {
    let mut out = String::with_capacity(super::capacity_hint(doc));
    let mut previous_was_list = false;
    for item in &doc.items {
        let is_list = matches!(item.kind, ItemKind::ListItem { .. });
        if !out.is_empty() {
            out.push_str(if is_list && previous_was_list {
                "\n"
            } else {
                "\n\n"
            });
        }
        match &item.kind {
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
            ItemKind::Picture { caption, .. } => {
                out.push_str(caption.as_deref().unwrap_or("[image]"))
            }
            ItemKind::Title { text }
            | ItemKind::SectionHeader { text, .. }
            | ItemKind::Paragraph { text }
            | ItemKind::Code { text, .. }
            | ItemKind::Formula { text } => out.push_str(text),
        }
        previous_was_list = is_list;
    }
    out
}
