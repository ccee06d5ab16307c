//! `report.md`: the report's blocks as GitHub-flavoured Markdown.

use super::chart::ChartFile;
use super::doc::{Block, Document, Span};
use super::table::TableData;

/// Escape text for a Markdown table cell or paragraph.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// A table as GitHub-flavoured Markdown (numbers right-aligned).
pub fn table(data: &TableData) -> String {
    let mut out = String::new();
    out.push('|');
    for h in &data.headers {
        out.push_str(&format!(" {} |", escape(h)));
    }
    out.push_str("\n|");
    for i in 0..data.headers.len() {
        out.push_str(if data.numeric.get(i).copied().unwrap_or(false) {
            "---:|"
        } else {
            "---|"
        });
    }
    out.push('\n');
    for row in &data.rows {
        out.push('|');
        for cell in row {
            out.push_str(&format!(" {} |", escape(&cell.text)));
        }
        out.push('\n');
    }
    out
}

fn spans(spans: &[Span]) -> String {
    spans
        .iter()
        .map(|s| {
            let text = escape(&s.text);
            if s.strong && !text.trim().is_empty() {
                // Keep the spaces outside the emphasis, as Markdown requires.
                let lead = &text[..text.len() - text.trim_start().len()];
                let trail = &text[text.trim_end().len()..];
                format!("{lead}**{}**{trail}", text.trim())
            } else {
                text
            }
        })
        .collect()
}

/// Render the document; `charts` are the files the document's chart blocks point at, linked
/// relative to the report's folder.
pub fn render(document: &Document, charts: &[ChartFile]) -> String {
    let mut out = format!("# {}\n\n", escape(&document.title));
    for block in &document.blocks {
        match block {
            Block::Heading(level, text) => {
                out.push_str(&format!(
                    "{} {}\n\n",
                    "#".repeat(usize::from(*level)),
                    escape(text)
                ));
            }
            Block::Paragraph(s) => {
                out.push_str(&spans(s));
                out.push_str("\n\n");
            }
            Block::Table(t) => {
                out.push_str(&table(t));
                out.push('\n');
            }
            Block::Chart(index) => {
                if let Some(chart) = charts.get(*index) {
                    out.push_str(&format!(
                        "![{}]({}) ([SVG]({}))\n\n",
                        escape(&chart.title),
                        chart.relative_png(),
                        chart.relative_svg()
                    ));
                }
            }
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::table::{Cell, TableData};

    #[test]
    fn cells_are_escaped() {
        let data = TableData {
            headers: vec!["A|B".into()],
            numeric: vec![true],
            rows: vec![vec![Cell::new("x|y")]],
        };
        assert_eq!(table(&data), "| A\\|B |\n|---:|\n| x\\|y |\n");
    }
}
