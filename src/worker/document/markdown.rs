//! Markdown (CommonMark + tables) with pulldown-cmark's event stream. Embedded HTML blocks go
//! through the HTML parser, as docling does. Page breaks: an `<!-- page-break -->` comment.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::model::{normalize_space, Document, ItemKind, TableBuilder};
use super::{
    html, next_list_item, plain_pages, take_inline, DocumentError, DocumentFormat, Limits,
    ListContext, PendingItem,
};

struct State<'a> {
    name: &'a str,
    limits: &'a Limits,
    doc: Document,
    page_no: u32,
    inline: String,
    lists: Vec<ListContext>,
    pending_item: Option<PendingItem>,
    /// Open container blocks (lists, items, quotes): bounded by the nesting limit.
    depth: usize,
    code: Option<(Option<String>, String)>,
    html_block: Option<String>,
    table: Option<TableBuilder>,
    in_table_head: bool,
    cell: String,
    /// Inside an image: its alt text collects here instead of the inline text.
    image: Option<(String, String)>,
}

/// Parses a Markdown document.
pub fn parse(name: &str, text: &str, limits: &Limits) -> Result<Document, DocumentError> {
    let mut state = State {
        name,
        limits,
        doc: Document::new(name, DocumentFormat::Markdown),
        page_no: 1,
        inline: String::new(),
        lists: Vec::new(),
        pending_item: None,
        depth: 0,
        code: None,
        html_block: None,
        table: None,
        in_table_head: false,
        cell: String::new(),
        image: None,
    };
    if table_grid_estimate(text) > limits.max_table_cells as u64 {
        return Err(DocumentError::too_large(
            name,
            format!(
                "a table spans more than {} cells (rows x columns; max_table_cells)",
                limits.max_table_cells
            ),
        ));
    }
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    for event in Parser::new_ext(text, options) {
        state.event(event)?;
    }
    state.flush();
    state.doc.pages = plain_pages(state.page_no);
    Ok(state.doc)
}

/// The largest grid a GFM table of the text could span, found in one pass before
/// pulldown-cmark parses (its first pass holds every cell of the document: 5 M cells cost
/// 800 MB before the cell bound saw the first one). A table is a delimiter row (`|---|:-:|`)
/// under a header; its width is the delimiter row's cell count, its rows run to the next
/// blank line (an upper bound: a table may end sooner).
fn table_grid_estimate(text: &str) -> u64 {
    let mut largest = 0u64;
    let mut lines = text.lines().peekable();
    let mut previous_blank = true;
    while let Some(line) = lines.next() {
        let columns = delimiter_row_cells(line);
        if columns == 0 || previous_blank {
            previous_blank = line.trim().is_empty();
            continue;
        }
        let mut rows = 1u64;
        while lines.peek().is_some_and(|l| !l.trim().is_empty()) {
            lines.next();
            rows += 1;
        }
        largest = largest.max(rows.saturating_mul(columns));
        previous_blank = true;
    }
    largest
}

/// The number of cells of a GFM delimiter row (`| --- | :-: |`), 0 when the line is not one.
fn delimiter_row_cells(line: &str) -> u64 {
    let trimmed = line.trim();
    if !trimmed.contains('-') || !trimmed.contains('|') {
        return 0;
    }
    let inner = trimmed.strip_prefix('|').unwrap_or(trimmed);
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = 0u64;
    for cell in inner.split('|') {
        let cell = cell.trim();
        let dashes = cell.trim_start_matches(':').trim_end_matches(':');
        if dashes.is_empty() || !dashes.bytes().all(|b| b == b'-') {
            return 0;
        }
        cells += 1;
    }
    cells
}

impl State<'_> {
    fn push(&mut self, kind: ItemKind) {
        self.doc.push(self.page_no, kind);
    }

    /// Emits the inline text as the pending list item, or as a paragraph.
    fn flush(&mut self) {
        if let Some(kind) = take_inline(&mut self.inline, &mut self.pending_item) {
            self.push(kind);
        }
    }

    fn enter(&mut self) -> Result<(), DocumentError> {
        self.depth += 1;
        if self.depth > self.limits.max_nesting_depth {
            return Err(DocumentError::too_deep(
                self.name,
                self.limits.max_nesting_depth,
            ));
        }
        Ok(())
    }

    fn text_sink(&mut self) -> &mut String {
        if let Some((_, alt)) = self.image.as_mut() {
            alt
        } else if let Some((_, code)) = self.code.as_mut() {
            code
        } else if self.table.is_some() {
            &mut self.cell
        } else {
            &mut self.inline
        }
    }

    fn event(&mut self, event: Event<'_>) -> Result<(), DocumentError> {
        match event {
            Event::Start(tag) => self.start(tag)?,
            Event::End(tag) => self.end(tag)?,
            Event::Text(text) | Event::Code(text) | Event::InlineMath(text) => {
                self.text_sink().push_str(&text)
            }
            Event::DisplayMath(text) => {
                self.flush();
                self.push(ItemKind::Formula {
                    text: text.trim().to_string(),
                });
            }
            Event::Html(text) => match self.html_block.as_mut() {
                Some(block) => block.push_str(&text),
                None => self.append_html(&text)?,
            },
            Event::InlineHtml(text) => {
                if text.trim_start().starts_with("<br") {
                    self.text_sink().push(' ');
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                let separator = if self.code.is_some() { '\n' } else { ' ' };
                self.text_sink().push(separator);
            }
            Event::Rule => self.flush(),
            Event::FootnoteReference(label) => {
                let sink = self.text_sink();
                sink.push('[');
                sink.push_str(&label);
                sink.push(']');
            }
            Event::TaskListMarker(done) => {
                self.text_sink()
                    .push_str(if done { "[x] " } else { "[ ] " })
            }
        }
        Ok(())
    }

    fn start(&mut self, tag: Tag<'_>) -> Result<(), DocumentError> {
        match tag {
            Tag::Paragraph if self.pending_item.is_none() => self.flush(),
            Tag::Heading { .. } => self.flush(),
            Tag::BlockQuote(_) => {
                self.enter()?;
                self.flush();
            }
            Tag::CodeBlock(kind) => {
                self.flush();
                let language = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split_whitespace()
                        .next()
                        .map(str::to_string)
                        .filter(|l| !l.is_empty()),
                    CodeBlockKind::Indented => None,
                };
                self.code = Some((language, String::new()));
            }
            Tag::HtmlBlock => {
                self.flush();
                self.html_block = Some(String::new());
            }
            Tag::List(start) => {
                self.enter()?;
                self.flush();
                self.lists.push(ListContext {
                    ordered: start.is_some(),
                    next_number: start.unwrap_or(1),
                });
            }
            Tag::Item => {
                self.enter()?;
                self.flush();
                self.pending_item = Some(next_list_item(&mut self.lists));
            }
            Tag::Table(_) => {
                self.flush();
                self.table = Some(TableBuilder::with_max_cells(self.limits.max_table_cells));
            }
            Tag::TableHead => {
                self.in_table_head = true;
                if let Some(table) = self.table.as_mut() {
                    table.start_row();
                }
            }
            Tag::TableRow => {
                if let Some(table) = self.table.as_mut() {
                    table.start_row();
                }
            }
            Tag::TableCell => self.cell.clear(),
            Tag::Image { dest_url, .. } => {
                self.image = Some((dest_url.to_string(), String::new()));
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, tag: TagEnd) -> Result<(), DocumentError> {
        match tag {
            TagEnd::Paragraph => self.flush(),
            TagEnd::Heading(level) => {
                let text = normalize_space(&self.inline);
                self.inline.clear();
                if !text.is_empty() {
                    self.push(match level {
                        HeadingLevel::H1 => ItemKind::Title { text },
                        other => ItemKind::SectionHeader {
                            level: other as u8 - 1,
                            text,
                        },
                    });
                }
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.depth = self.depth.saturating_sub(1);
            }
            TagEnd::CodeBlock => {
                if let Some((language, text)) = self.code.take() {
                    let text = text.trim_end_matches('\n').to_string();
                    if !text.trim().is_empty() {
                        self.push(ItemKind::Code { language, text });
                    }
                }
            }
            TagEnd::HtmlBlock => {
                if let Some(block) = self.html_block.take() {
                    self.append_html(&block)?;
                }
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
                self.depth = self.depth.saturating_sub(1);
            }
            TagEnd::Item => {
                self.flush();
                self.pending_item = None;
                self.depth = self.depth.saturating_sub(1);
            }
            TagEnd::TableHead => self.in_table_head = false,
            TagEnd::TableCell => {
                let text = normalize_space(&self.cell);
                self.cell.clear();
                let header = self.in_table_head;
                if let Some(table) = self.table.as_mut() {
                    table
                        .add_cell(text, 1, 1, header, false)
                        .map_err(|e| DocumentError::too_large(self.name, e.to_string()))?;
                }
            }
            TagEnd::Table => {
                if let Some(table) = self.table.take() {
                    self.push(ItemKind::Table(table.finish()));
                }
            }
            TagEnd::Image => {
                if let Some((url, alt)) = self.image.take() {
                    self.flush();
                    let alt = normalize_space(&alt);
                    self.push(ItemKind::Picture {
                        caption: (!alt.is_empty()).then_some(alt),
                        placeholder: (!url.is_empty()).then_some(url),
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn append_html(&mut self, fragment: &str) -> Result<(), DocumentError> {
        let trimmed = fragment.trim();
        if let Some(comment) = trimmed
            .strip_prefix("<!--")
            .and_then(|c| c.strip_suffix("-->"))
        {
            if html::is_page_break_comment(comment) {
                self.flush();
                self.page_no += 1;
            }
            return Ok(());
        }
        self.flush();
        html::append_fragment(
            self.name,
            &mut self.doc,
            &mut self.page_no,
            fragment,
            self.limits,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_items() {
        let md = "# T\n\nSome *text*\n\n## S\n\n- a\n  - b\n1. c\n\n```rust\nfn x() {}\n```\n\n| h1 | h2 |\n|---|---|\n| x | y |\n\n![alt](i.png)\n\n<!-- page-break -->\n\n<p>html para</p>\n";
        let doc = parse("t.md", md, &Limits::default()).expect("parses");
        let kinds: Vec<_> = doc.items.iter().map(|i| &i.kind).collect();
        assert_eq!(kinds[0], &ItemKind::Title { text: "T".into() });
        assert_eq!(
            kinds[1],
            &ItemKind::Paragraph {
                text: "Some text".into()
            }
        );
        assert_eq!(
            kinds[2],
            &ItemKind::SectionHeader {
                level: 1,
                text: "S".into()
            }
        );
        assert!(matches!(kinds[3], ItemKind::ListItem { level: 0, text, .. } if text == "a"));
        assert!(matches!(kinds[4], ItemKind::ListItem { level: 1, text, .. } if text == "b"));
        assert!(
            matches!(kinds[5], ItemKind::ListItem { ordered: true, marker, .. } if marker == "1.")
        );
        assert!(
            matches!(kinds[6], ItemKind::Code { language: Some(l), text } if l == "rust" && text == "fn x() {}")
        );
        let ItemKind::Table(t) = kinds[7] else {
            panic!("not a table")
        };
        assert_eq!(t.grid(), vec![vec!["h1", "h2"], vec!["x", "y"]]);
        assert!(matches!(kinds[8], ItemKind::Picture { caption: Some(c), .. } if c == "alt"));
        assert_eq!(
            kinds[9],
            &ItemKind::Paragraph {
                text: "html para".into()
            }
        );
        assert_eq!(doc.pages.len(), 2);
        assert_eq!(doc.items[9].prov.page_no, 2);
    }

    #[test]
    fn wide_tables_are_refused_before_parsing() {
        let md = format!(
            "{}|\n{}|\n{}",
            "|h".repeat(100),
            "|-".repeat(100),
            format!("{}|\n", "|x".repeat(100)).repeat(200)
        );
        assert_eq!(table_grid_estimate(&md), 100 * 201);
        let limits = Limits {
            max_table_cells: 10_000,
            ..Limits::default()
        };
        assert!(matches!(
            parse("wide.md", &md, &limits),
            Err(DocumentError::TooLarge { .. })
        ));
        assert!(parse("wide.md", &md, &Limits::default()).is_ok());
        assert_eq!(delimiter_row_cells("| --- | :-: |"), 2);
        assert_eq!(delimiter_row_cells("- a list item"), 0);
        assert_eq!(delimiter_row_cells("---"), 0);
    }

    #[test]
    fn deep_lists_are_refused() {
        let mut md = String::new();
        for depth in 0..400 {
            md.push_str(&" ".repeat(depth * 2));
            md.push_str("- x\n");
        }
        let limits = Limits {
            max_nesting_depth: 64,
            ..Limits::default()
        };
        assert!(matches!(
            parse("deep.md", &md, &limits),
            Err(DocumentError::TooDeep { .. })
        ));
    }
}
