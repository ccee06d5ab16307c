//! The text formats: Markdown and HTML from [`Content`], CSV as one table.

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
