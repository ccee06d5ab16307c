//! The DOCX body walk: `word/document.xml` as a stream of XML events into items.

use std::collections::HashMap;

use quick_xml::events::Event;

use super::docx::{attr, BoundedXml, Numbering, Style};
use super::model::{normalize_space, Document, ItemKind, Page, PageSize, TableBuilder};
use super::{DocumentError, DocumentFormat, Limits};

#[derive(Default)]
struct Paragraph {
    text: String,
    style_id: Option<String>,
    num_id: Option<String>,
    ilvl: Option<u8>,
    pictures: u32,
    display_math: bool,
    /// Text outside Office Math.
    plain_chars: usize,
    break_after: bool,
}

struct TableState {
    builder: TableBuilder,
    cell_text: String,
    cell_span: u32,
    /// `Some(true)`: restarts a vertical merge; `Some(false)`: continues the one above.
    vmerge: Option<bool>,
    header_row: bool,
}

struct Walk<'a> {
    name: &'a str,
    max_cells: usize,
    styles: &'a HashMap<String, Style>,
    numbering: &'a Numbering,
    doc: Document,
    page_no: u32,
    paragraphs: Vec<Paragraph>,
    tables: Vec<TableState>,
    in_text: bool,
    math_depth: usize,
    counters: HashMap<(String, u8), u64>,
    page_size: Option<PageSize>,
}

/// Walks `word/document.xml` into a document.
pub(crate) fn parse_body(
    name: &str,
    xml: &str,
    styles: &HashMap<String, Style>,
    numbering: &Numbering,
    limits: &Limits,
) -> Result<Document, DocumentError> {
    let mut walk = Walk {
        name,
        max_cells: limits.max_table_cells,
        styles,
        numbering,
        doc: Document::new(name, DocumentFormat::Docx),
        page_no: 1,
        paragraphs: Vec::new(),
        tables: Vec::new(),
        in_text: false,
        math_depth: 0,
        counters: HashMap::new(),
        page_size: None,
    };
    let mut reader = BoundedXml::new(xml, limits);
    loop {
        match reader.next(name)? {
            Event::Start(e) => walk.start(&e, false),
            Event::Empty(e) => walk.start(&e, true),
            Event::End(e) => walk.end(e.local_name().as_ref())?,
            Event::Text(t) if walk.in_text => {
                let text = t.unescape().map_err(|e| {
                    DocumentError::malformed(name, DocumentFormat::Docx, format!("text: {e}"))
                })?;
                walk.push_text(&text);
            }
            Event::CData(t) if walk.in_text => walk.push_text(&String::from_utf8_lossy(&t)),
            Event::Eof => break,
            _ => {}
        }
    }
    let size = walk.page_size;
    walk.doc.pages = (1..=walk.page_no)
        .map(|page_no| Page { page_no, size })
        .collect();
    Ok(walk.doc)
}

impl Walk<'_> {
    fn push_text(&mut self, text: &str) {
        let in_math = self.math_depth > 0;
        if let Some(p) = self.paragraphs.last_mut() {
            p.text.push_str(text);
            if !in_math {
                p.plain_chars += text.trim().len();
            }
        } else if let Some(t) = self.tables.last_mut() {
            t.cell_text.push_str(text);
        }
    }

    fn start(&mut self, e: &quick_xml::events::BytesStart<'_>, empty: bool) {
        let local = e.local_name();
        match local.as_ref() {
            b"p" if !empty => self.paragraphs.push(Paragraph::default()),
            b"t" if !empty => self.in_text = true,
            b"tab" | b"cr" | b"noBreakHyphen" => self.push_text(" "),
            b"br" => {
                if attr(e, b"type").as_deref() == Some("page") {
                    match self.paragraphs.last_mut() {
                        Some(p) if p.text.trim().is_empty() && p.pictures == 0 => self.page_no += 1,
                        Some(p) => p.break_after = true,
                        None => self.page_no += 1,
                    }
                } else {
                    self.push_text(" ");
                }
            }
            b"pStyle" => {
                if let Some(p) = self.paragraphs.last_mut() {
                    p.style_id = attr(e, b"val");
                }
            }
            b"numId" => {
                if let Some(p) = self.paragraphs.last_mut() {
                    p.num_id = attr(e, b"val");
                }
            }
            b"ilvl" => {
                if let Some(p) = self.paragraphs.last_mut() {
                    p.ilvl = attr(e, b"val").and_then(|v| v.parse().ok());
                }
            }
            b"pageBreakBefore" => {
                let on = !matches!(attr(e, b"val").as_deref(), Some("0" | "false" | "off"));
                if on && self.paragraphs.len() == 1 && !self.doc.items.is_empty() {
                    self.page_no += 1;
                }
            }
            b"drawing" | b"pict" | b"object" if !empty => {
                if let Some(p) = self.paragraphs.last_mut() {
                    p.pictures += 1;
                }
            }
            b"oMathPara" if !empty => {
                if let Some(p) = self.paragraphs.last_mut() {
                    p.display_math = true;
                }
            }
            b"oMath" if !empty => {
                self.math_depth += 1;
                self.push_text(" ");
            }
            b"tbl" if !empty => self.tables.push(TableState {
                builder: TableBuilder::with_max_cells(self.max_cells),
                cell_text: String::new(),
                cell_span: 1,
                vmerge: None,
                header_row: false,
            }),
            b"tr" if !empty => {
                if let Some(t) = self.tables.last_mut() {
                    t.builder.start_row();
                    t.header_row = false;
                }
            }
            b"tblHeader" => {
                if let Some(t) = self.tables.last_mut() {
                    t.header_row =
                        !matches!(attr(e, b"val").as_deref(), Some("0" | "false" | "off"));
                }
            }
            b"tc" if !empty => {
                if let Some(t) = self.tables.last_mut() {
                    t.cell_text.clear();
                    t.cell_span = 1;
                    t.vmerge = None;
                }
            }
            b"gridSpan" => {
                if let Some(t) = self.tables.last_mut() {
                    t.cell_span = attr(e, b"val").and_then(|v| v.parse().ok()).unwrap_or(1);
                }
            }
            b"vMerge" => {
                if let Some(t) = self.tables.last_mut() {
                    t.vmerge = Some(attr(e, b"val").as_deref() == Some("restart"));
                }
            }
            b"pgSz" => {
                let twips = |key: &[u8]| attr(e, key).and_then(|v| v.parse::<f32>().ok());
                if let (Some(w), Some(h)) = (twips(b"w"), twips(b"h")) {
                    self.page_size = Some(PageSize {
                        width_pt: w / 20.0,
                        height_pt: h / 20.0,
                    });
                }
            }
            _ => {}
        }
    }

    fn end(&mut self, local: &[u8]) -> Result<(), DocumentError> {
        match local {
            b"t" => self.in_text = false,
            b"oMath" => {
                self.math_depth = self.math_depth.saturating_sub(1);
                self.push_text(" ");
            }
            b"p" => {
                if let Some(p) = self.paragraphs.pop() {
                    self.finish_paragraph(p);
                }
            }
            b"tc" => {
                if let Some(t) = self.tables.last_mut() {
                    let text = normalize_space(&t.cell_text);
                    t.cell_text.clear();
                    match t.vmerge {
                        Some(false) => t.builder.continue_row_span(t.cell_span),
                        _ => t
                            .builder
                            .add_cell(text, 1, t.cell_span, t.header_row, false),
                    }
                    .map_err(|e| DocumentError::too_large(self.name, e.to_string()))?;
                }
            }
            b"tbl" => {
                if let Some(t) = self.tables.pop() {
                    let table = t.builder.finish();
                    match self.tables.last_mut() {
                        // A nested table's text joins the enclosing cell.
                        Some(outer) => {
                            for cell in &table.cells {
                                outer.cell_text.push(' ');
                                outer.cell_text.push_str(&cell.text);
                            }
                        }
                        None if !table.cells.is_empty() => {
                            self.doc.push(self.page_no, ItemKind::Table(table))
                        }
                        None => {}
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The style and its ancestors (bounded, cycles cut).
    fn style_chain(&self, style_id: Option<&str>) -> Vec<&Style> {
        let mut chain = Vec::new();
        let mut next = style_id;
        while let Some(id) = next {
            let Some(style) = self.styles.get(id) else {
                break;
            };
            chain.push(style);
            if chain.len() >= 16 {
                break;
            }
            next = style.based_on.as_deref();
        }
        chain
    }

    fn finish_paragraph(&mut self, p: Paragraph) {
        let text = normalize_space(&p.text);
        // Paragraphs inside a table cell (and not in a text box inside it) feed the cell.
        if self.paragraphs.is_empty() {
            if let Some(t) = self.tables.last_mut() {
                if !t.cell_text.is_empty() {
                    t.cell_text.push(' ');
                }
                t.cell_text.push_str(&text);
                return;
            }
        }
        let page_no = self.page_no;
        if !text.is_empty() {
            let kind = self.classify(&p, text);
            self.doc.push(page_no, kind);
        }
        for _ in 0..p.pictures {
            self.doc.push(
                page_no,
                ItemKind::Picture {
                    caption: None,
                    placeholder: None,
                },
            );
        }
        if p.break_after {
            self.page_no += 1;
        }
    }

    fn classify(&mut self, p: &Paragraph, text: String) -> ItemKind {
        let chain = self.style_chain(p.style_id.as_deref());
        let style_name = chain.first().map(|s| s.name.as_str()).unwrap_or("");
        if style_name == "title" {
            return ItemKind::Title { text };
        }
        if let Some(level) = style_name
            .strip_prefix("heading ")
            .and_then(|l| l.trim().parse::<u8>().ok())
        {
            return ItemKind::SectionHeader {
                level: level.max(1),
                text,
            };
        }
        if style_name == "subtitle" {
            return ItemKind::SectionHeader { level: 1, text };
        }
        if let Some(outline) = chain
            .iter()
            .find_map(|s| s.outline_level)
            .filter(|&l| l < 9)
        {
            return ItemKind::SectionHeader {
                level: outline + 1,
                text,
            };
        }
        let num_id = p
            .num_id
            .clone()
            .or_else(|| chain.iter().find_map(|s| s.num_id.clone()));
        if let Some(num_id) = num_id.filter(|n| n != "0") {
            let ilvl = p
                .ilvl
                .or_else(|| chain.iter().find_map(|s| s.ilvl))
                .unwrap_or(0)
                .min(8);
            let (ordered, start) = self.numbering.level_format(&num_id, ilvl);
            self.counters
                .retain(|(n, l), _| !(n == &num_id && *l > ilvl));
            let counter = self
                .counters
                .entry((num_id, ilvl))
                .and_modify(|c| *c += 1)
                .or_insert(start);
            let marker = if ordered {
                format!("{counter}.")
            } else {
                "-".to_string()
            };
            return ItemKind::ListItem {
                ordered,
                marker,
                level: ilvl,
                text,
            };
        }
        if p.display_math && p.plain_chars == 0 {
            return ItemKind::Formula { text };
        }
        if style_name.contains("code") || style_name == "html preformatted" {
            return ItemKind::Code {
                language: None,
                text: p.text.trim().to_string(),
            };
        }
        ItemKind::Paragraph { text }
    }
}
