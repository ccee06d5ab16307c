//! HTML: a standalone HTML5 page; lists nested by level, tables with their spans.

use crate::worker::document::{Document, ItemKind, Table};

/// The document as an HTML page.
pub fn to_html(doc: &Document) -> String {
    let mut out = String::with_capacity(super::capacity_hint(doc) * 2 + 256);
    out.push_str("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>");
    escape_into(&mut out, &doc.name);
    out.push_str("</title>\n</head>\n<body>\n");
    // Open lists: (ordered, level).
    let mut open_lists: Vec<bool> = Vec::new();
    for item in &doc.items {
        if let ItemKind::ListItem {
            ordered,
            level,
            text,
            marker,
        } = &item.kind
        {
            let depth = *level as usize + 1;
            while open_lists.len() > depth {
                close_list(&mut out, &mut open_lists);
            }
            if open_lists.len() == depth && open_lists.last() != Some(ordered) {
                close_list(&mut out, &mut open_lists);
            }
            while open_lists.len() < depth {
                if *ordered {
                    let start = marker.trim_end_matches('.').parse::<u64>().unwrap_or(1);
                    if start == 1 {
                        out.push_str("<ol>\n");
                    } else {
                        out.push_str(&format!("<ol start=\"{start}\">\n"));
                    }
                } else {
                    out.push_str("<ul>\n");
                }
                open_lists.push(*ordered);
            }
            out.push_str("<li>");
            escape_into(&mut out, text);
            out.push_str("</li>\n");
            continue;
        }
        while !open_lists.is_empty() {
            close_list(&mut out, &mut open_lists);
        }
        match &item.kind {
            ItemKind::Title { text } => element(&mut out, "h1", text),
            ItemKind::SectionHeader { level, text } => {
                let tag = ["h2", "h3", "h4", "h5", "h6"][((*level).clamp(1, 5) - 1) as usize];
                element(&mut out, tag, text);
            }
            ItemKind::Paragraph { text } => element(&mut out, "p", text),
            ItemKind::Code { language, text } => {
                out.push_str("<pre><code");
                if let Some(language) = language {
                    out.push_str(" class=\"language-");
                    escape_into(&mut out, language);
                    out.push('"');
                }
                out.push('>');
                escape_into(&mut out, text);
                out.push_str("</code></pre>\n");
            }
            ItemKind::Formula { text } => {
                out.push_str("<div class=\"formula\">");
                escape_into(&mut out, text);
                out.push_str("</div>\n");
            }
            ItemKind::Table(table) => write_table(&mut out, table),
            ItemKind::Picture {
                caption,
                placeholder,
            } => {
                out.push_str("<figure>");
                if let Some(src) = placeholder {
                    out.push_str("<img src=\"");
                    escape_into(&mut out, src);
                    out.push_str("\" alt=\"\">");
                }
                if let Some(caption) = caption {
                    out.push_str("<figcaption>");
                    escape_into(&mut out, caption);
                    out.push_str("</figcaption>");
                }
                out.push_str("</figure>\n");
            }
            ItemKind::ListItem { .. } => {}
        }
    }
    while !open_lists.is_empty() {
        close_list(&mut out, &mut open_lists);
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn close_list(out: &mut String, open_lists: &mut Vec<bool>) {
    if let Some(ordered) = open_lists.pop() {
        out.push_str(if ordered { "</ol>\n" } else { "</ul>\n" });
    }
}

fn element(out: &mut String, tag: &str, text: &str) {
    out.push('<');
    out.push_str(tag);
    out.push('>');
    escape_into(out, text);
    out.push_str("</");
    out.push_str(tag);
    out.push_str(">\n");
}

fn write_table(out: &mut String, table: &Table) {
    out.push_str("<table>\n");
    let mut row = None;
    for cell in &table.cells {
        if row != Some(cell.row) {
            if row.is_some() {
                out.push_str("</tr>\n");
            }
            out.push_str("<tr>");
            row = Some(cell.row);
        }
        let tag = if cell.column_header || cell.row_header {
            "th"
        } else {
            "td"
        };
        out.push('<');
        out.push_str(tag);
        if cell.row_span > 1 {
            out.push_str(&format!(" rowspan=\"{}\"", cell.row_span));
        }
        if cell.col_span > 1 {
            out.push_str(&format!(" colspan=\"{}\"", cell.col_span));
        }
        out.push('>');
        escape_into(out, &cell.text);
        out.push_str("</");
        out.push_str(tag);
        out.push('>');
    }
    if row.is_some() {
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// Appends `text` with `& < > " '` escaped, for HTML content and attributes alike (both
/// quotes, like Python's `html.escape`). The report writer (`crate::render::html`) uses it too.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::document::{parse, Limits};

    #[test]
    fn html_export_reads_back_the_same_items() {
        let md =
            "# T\n\n- a\n    - b\n- c\n\n1. d\n\n| x | y |\n|---|---|\n| 1 | <2> |\n\nText & more";
        let doc = parse("a.md", md.as_bytes(), &Limits::default()).expect("parses");
        let html = to_html(&doc);
        let back = parse("a.html", html.as_bytes(), &Limits::default()).expect("reparses");
        let texts = |d: &Document| d.items.iter().map(|i| i.kind.text()).collect::<Vec<_>>();
        assert_eq!(texts(&doc), texts(&back));
    }
}
