//! `report.html`: the report's blocks as one self-contained page (charts embedded as base64
//! PNG, styles inline, no network).

use base64::Engine;

use super::chart::ChartFile;
use super::doc::{Block, Document, Span};
use super::table::{TableData, Tone};
use crate::Result;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;\
padding:0 1rem;color:#222;line-height:1.45}h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}th,td{border:1px solid #ddd;padding:.25rem .6rem;\
vertical-align:top}th{background:#f4f4f4;text-align:left}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\
.good{color:#08783e}.bad{color:#b3261e;font-weight:600}.warn{color:#9a6700}.muted{color:#777}.strong{font-weight:600}\
figure{margin:1rem 0}figure img{max-width:100%;border:1px solid #eee}figcaption{color:#555;font-size:.9rem}";

/// Escape text for HTML content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    crate::worker::export::html::escape_into(&mut out, text);
    out
}

fn class(tone: Tone) -> &'static str {
    match tone {
        Tone::Plain => "",
        Tone::Good => "good",
        Tone::Bad => "bad",
        Tone::Warn => "warn",
        Tone::Muted => "muted",
        Tone::Strong => "strong",
    }
}

/// A table as HTML.
pub fn table(data: &TableData) -> String {
    let mut out = String::from("<table>\n<thead><tr>");
    for (i, h) in data.headers.iter().enumerate() {
        let num = if data.numeric.get(i).copied().unwrap_or(false) {
            " class=\"num\""
        } else {
            ""
        };
        out.push_str(&format!("<th{num}>{}</th>", escape(h)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &data.rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let mut classes = Vec::new();
            if data.numeric.get(i).copied().unwrap_or(false) {
                classes.push("num");
            }
            if !class(cell.tone).is_empty() {
                classes.push(class(cell.tone));
            }
            let attr = if classes.is_empty() {
                String::new()
            } else {
                format!(" class=\"{}\"", classes.join(" "))
            };
            out.push_str(&format!("<td{attr}>{}</td>", escape(&cell.text)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

fn spans(spans: &[Span]) -> String {
    spans
        .iter()
        .map(|s| {
            let text = escape(&s.text);
            let mut classes = Vec::new();
            if s.strong {
                classes.push("strong");
            }
            if !class(s.tone).is_empty() {
                classes.push(class(s.tone));
            }
            if classes.is_empty() {
                text
            } else {
                format!("<span class=\"{}\">{text}</span>", classes.join(" "))
            }
        })
        .collect()
}

/// Render the document as a self-contained page; the charts' PNGs are embedded.
pub fn render(document: &Document, charts: &[ChartFile]) -> Result<String> {
    let title = escape(&document.title);
    let mut body = format!("<h1>{title}</h1>\n");
    for block in &document.blocks {
        match block {
            Block::Heading(level, text) => {
                let level = (*level).clamp(2, 6);
                body.push_str(&format!("<h{level}>{}</h{level}>\n", escape(text)));
            }
            Block::Paragraph(s) => body.push_str(&format!("<p>{}</p>\n", spans(s))),
            Block::Table(t) => body.push_str(&table(t)),
            Block::Chart(index) => {
                if let Some(chart) = charts.get(*index) {
                    let data = base64::engine::general_purpose::STANDARD.encode(&chart.png);
                    body.push_str(&format!(
                        "<figure><img alt=\"{alt}\" width=\"800\" height=\"480\" src=\"data:image/png;base64,{data}\">\
<figcaption>{alt}</figcaption></figure>\n",
                        alt = escape(&chart.title)
                    ));
                }
            }
        }
    }
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n\
<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("<a & 'b'>"), "&lt;a &amp; &#39;b&#39;&gt;");
    }
}
