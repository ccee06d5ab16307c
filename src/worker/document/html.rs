//! HTML: html5ever (through scraper) builds the tree; a bounded recursive walk turns block
//! elements into items. Page breaks: CSS `page-break-before/after: always` or
//! `break-before/after: page` on an element, and `<!-- page-break -->` comments.

use ego_tree::NodeRef;
use scraper::{Html, Node};

use super::model::{normalize_space, Document, ItemKind, TableBuilder};
use super::{
    next_list_item, plain_pages, take_inline, DocumentError, DocumentFormat, Limits, ListContext,
    PendingItem,
};

/// Parses a whole HTML document.
pub fn parse(name: &str, text: &str, limits: &Limits) -> Result<Document, DocumentError> {
    let mut doc = Document::new(name, DocumentFormat::Html);
    let mut page_no = 1;
    check_depth(name, text, limits)?;
    let html = Html::parse_document(text);
    let mut walker = Walker::new(name, &mut doc, &mut page_no, limits);
    walker.walk(html.tree.root(), 0)?;
    walker.flush();
    doc.pages = plain_pages(page_no);
    Ok(doc)
}

/// Appends the items of an HTML fragment (as embedded in Markdown) to `doc`.
pub(crate) fn append_fragment(
    name: &str,
    doc: &mut Document,
    page_no: &mut u32,
    fragment: &str,
    limits: &Limits,
) -> Result<(), DocumentError> {
    check_depth(name, fragment, limits)?;
    let html = Html::parse_fragment(fragment);
    let mut walker = Walker::new(name, doc, page_no, limits);
    walker.walk(html.tree.root(), 0)?;
    walker.flush();
    Ok(())
}

/// Refuses nesting past the limit in one linear pass, before html5ever builds the tree.
fn check_depth(name: &str, text: &str, limits: &Limits) -> Result<(), DocumentError> {
    if super::html_depth::too_deep(text, limits.max_nesting_depth) {
        return Err(DocumentError::too_deep(name, limits.max_nesting_depth));
    }
    Ok(())
}

/// Whether an HTML comment marks a page break.
pub(crate) fn is_page_break_comment(comment: &str) -> bool {
    let c = comment.trim();
    c.eq_ignore_ascii_case("page-break") || c.eq_ignore_ascii_case("pagebreak")
}

struct Walker<'a> {
    name: &'a str,
    doc: &'a mut Document,
    page_no: &'a mut u32,
    limits: &'a Limits,
    inline: String,
    pending_item: Option<PendingItem>,
    lists: Vec<ListContext>,
}

type ElementNode<'t> = NodeRef<'t, Node>;

impl<'a> Walker<'a> {
    fn new(name: &'a str, doc: &'a mut Document, page_no: &'a mut u32, limits: &'a Limits) -> Self {
        Walker {
            name,
            doc,
            page_no,
            limits,
            inline: String::new(),
            pending_item: None,
            lists: Vec::new(),
        }
    }

    fn push(&mut self, kind: ItemKind) {
        self.doc.push(*self.page_no, kind);
    }

    /// Emits the collected inline text as the pending list item or as a paragraph.
    fn flush(&mut self) {
        if let Some(kind) = take_inline(&mut self.inline, &mut self.pending_item) {
            self.push(kind);
        }
    }

    fn new_page(&mut self) {
        self.flush();
        *self.page_no += 1;
    }

    fn walk(&mut self, node: ElementNode<'_>, depth: usize) -> Result<(), DocumentError> {
        if depth > self.limits.max_nesting_depth {
            return Err(DocumentError::too_deep(
                self.name,
                self.limits.max_nesting_depth,
            ));
        }
        match node.value() {
            Node::Text(text) => self.inline.push_str(text),
            Node::Comment(comment) if is_page_break_comment(comment) => self.new_page(),
            Node::Element(element) => {
                let style = element.attr("style").unwrap_or("");
                let (break_before, break_after) = page_breaks(style);
                if break_before && !self.doc.items.is_empty() {
                    self.new_page();
                }
                self.element(node, element.name(), depth)?;
                if break_after {
                    self.new_page();
                }
            }
            Node::Document | Node::Fragment => self.children(node, depth)?,
            _ => {}
        }
        Ok(())
    }

    fn children(&mut self, node: ElementNode<'_>, depth: usize) -> Result<(), DocumentError> {
        for child in node.children() {
            self.walk(child, depth + 1)?;
        }
        Ok(())
    }

    fn element(
        &mut self,
        node: ElementNode<'_>,
        tag: &str,
        depth: usize,
    ) -> Result<(), DocumentError> {
        match tag {
            "head" | "script" | "style" | "noscript" | "template" | "title" | "meta" | "link" => {}
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush();
                let level = tag.as_bytes()[1] - b'0';
                let text = collect_text(node);
                if !text.is_empty() {
                    self.push(if level == 1 {
                        ItemKind::Title { text }
                    } else {
                        ItemKind::SectionHeader {
                            level: level - 1,
                            text,
                        }
                    });
                }
            }
            "br" => self.inline.push('\n'),
            "ul" | "ol" | "dl" => {
                self.flush();
                let ordered = tag == "ol";
                let start = node_attr(node, "start")
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .unwrap_or(1);
                self.lists.push(ListContext {
                    ordered,
                    next_number: start,
                });
                let result = self.children(node, depth);
                self.lists.pop();
                result?;
            }
            "li" | "dt" | "dd" => {
                self.flush();
                self.pending_item = Some(next_list_item(&mut self.lists));
                self.children(node, depth)?;
                self.flush();
                self.pending_item = None;
            }
            "table" => {
                self.flush();
                let table = self.table(node, depth)?;
                if !table.cells.is_empty() {
                    self.push(ItemKind::Table(table));
                }
            }
            "pre" => {
                self.flush();
                let language = node
                    .descendants()
                    .filter_map(|n| n.value().as_element())
                    .filter_map(|e| e.attr("class"))
                    .flat_map(|c| c.split_whitespace())
                    .find_map(|c| {
                        c.strip_prefix("language-")
                            .or_else(|| c.strip_prefix("lang-"))
                    })
                    .map(str::to_string);
                let text = raw_text(node);
                let text = text.trim_matches('\n').to_string();
                if !text.is_empty() {
                    self.push(ItemKind::Code { language, text });
                }
            }
            "img" => {
                self.flush();
                let alt = node_attr(node, "alt")
                    .map(normalize_space)
                    .filter(|a| !a.is_empty());
                let src = node_attr(node, "src").map(str::to_string);
                self.push(ItemKind::Picture {
                    caption: alt,
                    placeholder: src,
                });
            }
            "figure" => {
                self.flush();
                let mut caption = None;
                let mut src = None;
                for descendant in node.descendants() {
                    if let Some(e) = descendant.value().as_element() {
                        match e.name() {
                            "figcaption" if caption.is_none() => {
                                caption = Some(collect_text(descendant))
                            }
                            "img" if src.is_none() => src = e.attr("src").map(str::to_string),
                            _ => {}
                        }
                    }
                }
                self.push(ItemKind::Picture {
                    caption: caption.filter(|c| !c.is_empty()),
                    placeholder: src,
                });
            }
            "p" | "div" | "section" | "article" | "main" | "header" | "footer" | "nav"
            | "aside" | "blockquote" | "address" | "form" | "fieldset" | "body" | "html"
            | "details" | "summary" | "center" | "hr" | "caption" | "figcaption" => {
                self.flush();
                self.children(node, depth)?;
                self.flush();
            }
            _ => self.children(node, depth)?,
        }
        Ok(())
    }

    /// Reads a table's rows (`thead`/`tbody`/`tfoot`/`tr`, not nested tables' rows).
    fn table(
        &mut self,
        node: ElementNode<'_>,
        depth: usize,
    ) -> Result<super::model::Table, DocumentError> {
        let mut builder = TableBuilder::with_max_cells(self.limits.max_table_cells);
        let mut rows = Vec::new();
        for child in node.children() {
            match child.value().as_element().map(|e| e.name()) {
                Some("tr") => rows.push((child, false)),
                Some(section @ ("thead" | "tbody" | "tfoot")) => {
                    for row in child.children() {
                        if row.value().as_element().is_some_and(|e| e.name() == "tr") {
                            rows.push((row, section == "thead"));
                        }
                    }
                }
                Some("caption") => {
                    let caption = collect_text(child);
                    if !caption.is_empty() {
                        self.push(ItemKind::Paragraph { text: caption });
                    }
                }
                _ => {}
            }
        }
        if depth + 2 > self.limits.max_nesting_depth {
            return Err(DocumentError::too_deep(
                self.name,
                self.limits.max_nesting_depth,
            ));
        }
        for (row, in_head) in rows {
            builder.start_row();
            for cell in row.children() {
                let Some(element) = cell.value().as_element() else {
                    continue;
                };
                let is_header = match element.name() {
                    "th" => true,
                    "td" => false,
                    _ => continue,
                };
                let span = |attr: &str| {
                    element
                        .attr(attr)
                        .and_then(|v| v.trim().parse::<u32>().ok())
                        .unwrap_or(1)
                };
                builder
                    .add_cell(
                        collect_text(cell),
                        span("rowspan"),
                        span("colspan"),
                        is_header || in_head,
                        false,
                    )
                    .map_err(|e| DocumentError::too_large(self.name, e.to_string()))?;
            }
        }
        Ok(builder.finish())
    }
}

fn node_attr<'t>(node: ElementNode<'t>, name: &str) -> Option<&'t str> {
    node.value().as_element().and_then(|e| e.attr(name))
}

/// Whether a style attribute asks for a page break before / after the element.
fn page_breaks(style: &str) -> (bool, bool) {
    if style.is_empty() {
        return (false, false);
    }
    let style = style.to_ascii_lowercase().replace(' ', "");
    let before = style.contains("page-break-before:always") || style.contains("break-before:page");
    let after = style.contains("page-break-after:always") || style.contains("break-after:page");
    (before, after)
}

/// The element's text with whitespace collapsed, skipping scripts and styles (iterative).
fn collect_text(node: ElementNode<'_>) -> String {
    normalize_space(&raw_text(node))
}

fn raw_text(node: ElementNode<'_>) -> String {
    use ego_tree::iter::Edge;
    let mut out = String::new();
    let mut skipping = 0usize;
    for edge in node.traverse() {
        match edge {
            Edge::Open(n) => match n.value() {
                Node::Element(e) if matches!(e.name(), "script" | "style" | "template") => {
                    skipping += 1
                }
                Node::Element(e)
                    if matches!(e.name(), "br" | "p" | "li" | "div" | "tr" | "td" | "th") =>
                {
                    out.push(if e.name() == "br" { '\n' } else { ' ' })
                }
                Node::Text(t) if skipping == 0 => out.push_str(t),
                _ => {}
            },
            Edge::Close(n) => {
                if let Node::Element(e) = n.value() {
                    if matches!(e.name(), "script" | "style" | "template") {
                        skipping = skipping.saturating_sub(1);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_lists_tables_and_pictures() {
        let html = r#"<html><body><h1>T</h1><h2>S</h2><p>Hello <b>world</b></p>
            <ul><li>a<ul><li>b</li></ul></li></ul><ol start="3"><li>c</li></ol>
            <table><tr><th>x</th><th>y</th></tr><tr><td colspan="2">z</td></tr></table>
            <img src="i.png" alt="An image"></body></html>"#;
        let doc = parse("t.html", html, &Limits::default()).expect("parses");
        let kinds: Vec<_> = doc.items.iter().map(|i| &i.kind).collect();
        assert_eq!(kinds[0], &ItemKind::Title { text: "T".into() });
        assert_eq!(
            kinds[1],
            &ItemKind::SectionHeader {
                level: 1,
                text: "S".into()
            }
        );
        assert_eq!(
            kinds[2],
            &ItemKind::Paragraph {
                text: "Hello world".into()
            }
        );
        assert!(matches!(kinds[3], ItemKind::ListItem { level: 0, text, .. } if text == "a"));
        assert!(matches!(kinds[4], ItemKind::ListItem { level: 1, text, .. } if text == "b"));
        assert!(
            matches!(kinds[5], ItemKind::ListItem { ordered: true, marker, .. } if marker == "3.")
        );
        let ItemKind::Table(t) = kinds[6] else {
            panic!("not a table: {:?}", kinds[6])
        };
        assert_eq!(t.grid(), vec![vec!["x", "y"], vec!["z", "z"]]);
        assert!(matches!(kinds[7], ItemKind::Picture { caption: Some(c), .. } if c == "An image"));
    }

    #[test]
    fn css_page_breaks_make_pages() {
        let html = r#"<p>one</p><div style="page-break-after: always"></div><p>two</p><!-- page-break --><p>three</p>"#;
        let doc = parse("p.html", html, &Limits::default()).expect("parses");
        assert_eq!(doc.pages.len(), 3);
        assert_eq!(
            doc.items.iter().map(|i| i.prov.page_no).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    }
}
