//! Markdown close to docling's export: `# Title`, `## Section`, `- item` (4 spaces per level),
//! pipe tables with a `| - |` separator after the first row, `<!-- image -->` for pictures,
//! fenced code, `$$ $$` formulas; blocks separated by a blank line.

use crate::worker::document::{Document, ItemKind, Table};

/// The document as Markdown.
pub fn to_markdown(doc: &Document) -> String {
    // An item that writes nothing (an empty table) takes its separator back.
    super::write_blocks(doc, true, write_item)
}

fn write_item(out: &mut String, kind: &ItemKind) {
    match kind {
        ItemKind::Title { text } => {
            out.push_str("# ");
            push_text(out, text);
        }
        ItemKind::SectionHeader { level, text } => {
            for _ in 0..=(*level).clamp(1, 5) {
                out.push('#');
            }
            out.push(' ');
            push_text(out, text);
        }
        ItemKind::Paragraph { text } => push_text(out, text),
        ItemKind::ListItem {
            ordered,
            marker,
            level,
            text,
        } => {
            for _ in 0..*level {
                out.push_str("    ");
            }
            out.push_str(if *ordered { marker } else { "-" });
            out.push(' ');
            push_text(out, text);
        }
        ItemKind::Code { text, .. } => {
            out.push_str("```\n");
            out.push_str(text);
            out.push_str("\n```");
        }
        ItemKind::Formula { text } => {
            out.push_str("$$");
            out.push_str(text);
            out.push_str("$$");
        }
        ItemKind::Table(table) => write_table(out, table),
        ItemKind::Picture { caption, .. } => {
            if let Some(caption) = caption {
                out.push_str(caption);
                out.push_str("\n\n");
            }
            out.push_str("<!-- image -->");
        }
    }
}

fn write_table(out: &mut String, table: &Table) {
    let grid = table.grid();
    for (index, row) in grid.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        out.push('|');
        for cell in row {
            out.push(' ');
            push_cell(out, cell);
            out.push_str(" |");
        }
        if index == 0 {
            out.push_str("\n|");
            for _ in row {
                out.push_str(" - |");
            }
        }
    }
}

/// Body text with `& < >` escaped as HTML entities, as docling's Markdown export does.
fn push_text(out: &mut String, text: &str) {
    if !text.contains(['&', '<', '>']) {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// A cell's text on one line, with `|` escaped.
fn push_cell(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::document::{DocumentFormat, Table};

    #[test]
    fn docling_style() {
        let mut doc = Document::new("x.md", DocumentFormat::Markdown);
        doc.push(1, ItemKind::Title { text: "T".into() });
        doc.push(
            1,
            ItemKind::SectionHeader {
                level: 1,
                text: "S".into(),
            },
        );
        doc.push(
            1,
            ItemKind::ListItem {
                ordered: false,
                marker: "-".into(),
                level: 0,
                text: "a".into(),
            },
        );
        doc.push(
            1,
            ItemKind::ListItem {
                ordered: true,
                marker: "2.".into(),
                level: 1,
                text: "b".into(),
            },
        );
        doc.push(
            1,
            ItemKind::Table(Table::from_rows(
                vec![vec!["h".into(), "i|j".into()], vec!["1".into(), "2".into()]],
                1,
            )),
        );
        doc.push(
            1,
            ItemKind::Picture {
                caption: None,
                placeholder: None,
            },
        );
        assert_eq!(
            to_markdown(&doc),
            "# T\n\n## S\n\n- a\n    2. b\n\n| h | i\\|j |\n| - | - |\n| 1 | 2 |\n\n<!-- image -->"
        );
    }
}
