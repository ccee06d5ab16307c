//! The document model every parser produces and every exporter reads: docling-like, plain types.
//!
//! A [`Document`] has pages (1-based `page_no`, size in points when known) and an ordered list
//! of [`Item`]s, each with a provenance (page and optional box). Geometry is `f32` so that the
//! JSON export reads back bit-for-bit equal.

use serde::{Deserialize, Serialize};

use super::format::DocumentFormat;
use crate::census::Tally;

/// A parsed document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// The source's file name.
    pub name: String,
    pub format: DocumentFormat,
    /// Pages in order, `page_no` 1, 2, ... (after a page range: the kept pages' numbers).
    pub pages: Vec<Page>,
    /// The content in reading order.
    pub items: Vec<Item>,
    /// Live-instance census token (see `crate::census`).
    #[serde(skip)]
    pub census: Tally<Self>,
}

/// One page of a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// 1-based page number in the source document.
    pub page_no: u32,
    /// The page size in points (PDF MediaBox); `None` for formats without a page geometry.
    pub size: Option<PageSize>,
}

/// A page size in points (1/72 inch).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PageSize {
    pub width_pt: f32,
    pub height_pt: f32,
}

/// Where an item comes from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub page_no: u32,
    pub bbox: Option<BoundingBox>,
}

/// A box in points, origin at the page's bottom-left corner (PDF convention).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    pub left_pt: f32,
    pub bottom_pt: f32,
    pub right_pt: f32,
    pub top_pt: f32,
}

/// One piece of content with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub kind: ItemKind,
    pub prov: Provenance,
    /// Live-instance census token (see `crate::census`).
    #[serde(skip)]
    pub census: Tally<Self>,
}

/// What an item is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemKind {
    Title {
        text: String,
    },
    /// A heading; `level` 1 is the highest level below the title (Markdown `##`).
    SectionHeader {
        level: u8,
        text: String,
    },
    Paragraph {
        text: String,
    },
    ListItem {
        ordered: bool,
        /// `-` for bullets, `3.` for the third item of an ordered list.
        marker: String,
        /// Nesting level, 0 for a top-level item.
        level: u8,
        text: String,
    },
    Code {
        language: Option<String>,
        text: String,
    },
    Formula {
        text: String,
    },
    Table(Table),
    Picture {
        caption: Option<String>,
        /// What the source says about the image (file name, alt text), when anything.
        placeholder: Option<String>,
    },
}

impl ItemKind {
    /// The item's text (a table's cells joined by spaces, a picture's caption).
    pub fn text(&self) -> String {
        match self {
            ItemKind::Title { text }
            | ItemKind::SectionHeader { text, .. }
            | ItemKind::Paragraph { text }
            | ItemKind::ListItem { text, .. }
            | ItemKind::Code { text, .. }
            | ItemKind::Formula { text } => text.clone(),
            ItemKind::Table(table) => {
                let mut out = String::new();
                for cell in &table.cells {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push_str(&cell.text);
                }
                out
            }
            ItemKind::Picture { caption, .. } => caption.clone().unwrap_or_default(),
        }
    }
}

/// A table: a grid of `num_rows` x `num_cols` with the cells that start in it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Table {
    pub num_rows: u32,
    pub num_cols: u32,
    /// One entry per source cell (a spanning cell appears once), in row-major order.
    pub cells: Vec<TableCell>,
    /// Live-instance census token (see `crate::census`).
    #[serde(skip)]
    pub census: Tally<Self>,
}

/// One cell of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableCell {
    pub row: u32,
    pub col: u32,
    pub row_span: u32,
    pub col_span: u32,
    pub text: String,
    pub column_header: bool,
    pub row_header: bool,
    /// Live-instance census token (see `crate::census`).
    #[serde(skip)]
    pub census: Tally<Self>,
}

impl Table {
    /// The grid with every spanned position filled with its cell's text (`""` when empty).
    pub fn grid(&self) -> Vec<Vec<&str>> {
        let rows = self.num_rows as usize;
        let cols = self.num_cols as usize;
        let mut grid = vec![vec![""; cols]; rows];
        for cell in &self.cells {
            let row_end = (cell.row + cell.row_span.max(1)).min(self.num_rows) as usize;
            let col_end = (cell.col + cell.col_span.max(1)).min(self.num_cols) as usize;
            for row in grid.iter_mut().take(row_end).skip(cell.row as usize) {
                for slot in row.iter_mut().take(col_end).skip(cell.col as usize) {
                    *slot = cell.text.as_str();
                }
            }
        }
        grid
    }

    /// Builds a table from rows of cell texts (no spans); the first `header_rows` rows are
    /// column headers. Short rows are padded with empty cells to the widest row.
    pub fn from_rows(rows: Vec<Vec<String>>, header_rows: usize) -> Table {
        // The caller bounds the rows (CSV counts its cells while reading).
        let mut builder = TableBuilder::with_max_cells(usize::MAX);
        for (index, row) in rows.into_iter().enumerate() {
            builder.start_row();
            for text in row {
                // Cannot fail: no cell bound.
                let _ = builder.add_cell(text, 1, 1, index < header_rows, false);
            }
        }
        builder.finish()
    }
}

/// Builds a table row by row, placing cells around earlier row spans (as HTML does). The grid
/// the table spans (rows x columns, what the exports fill) is bounded as cells are added.
#[derive(Debug)]
pub struct TableBuilder {
    cells: Vec<TableCell>,
    /// For each column, the row index up to which (exclusive) it is taken by a row span.
    taken_until_row: Vec<u32>,
    row: Option<u32>,
    next_col: u32,
    num_cols: u32,
    /// Rows the cells reach so far (the largest `row + row_span`).
    rows_reached: u32,
    max_cells: usize,
}

/// A table grew past the cell bound ([`super::Limits::max_table_cells`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a table spans more than {max_cells} cells (rows x columns; max_table_cells)")]
pub struct TooManyCells {
    pub max_cells: usize,
}

impl Default for TableBuilder {
    fn default() -> Self {
        TableBuilder::with_max_cells(super::Limits::default().max_table_cells)
    }
}

/// Spans are clamped to this many rows/columns so that a hostile `colspan` cannot blow up the grid.
pub const MAX_TABLE_SPAN: u32 = 1000;
/// A table never gets wider than this; cells beyond it join the row's last cell.
pub const MAX_TABLE_COLS: u32 = 1000;

impl TableBuilder {
    /// A builder whose grid may span at most `max_cells` positions.
    pub fn with_max_cells(max_cells: usize) -> Self {
        TableBuilder {
            cells: Vec::new(),
            taken_until_row: Vec::new(),
            row: None,
            next_col: 0,
            num_cols: 0,
            rows_reached: 0,
            max_cells,
        }
    }

    /// Counts the grid the cells span so far against the bound.
    fn check_grid(&mut self, row_end: u32) -> Result<(), TooManyCells> {
        self.rows_reached = self.rows_reached.max(row_end);
        let grid = u64::from(self.rows_reached) * u64::from(self.num_cols);
        if grid > self.max_cells as u64 {
            return Err(TooManyCells {
                max_cells: self.max_cells,
            });
        }
        Ok(())
    }

    pub fn start_row(&mut self) {
        self.row = Some(self.row.map_or(0, |r| r + 1));
        self.next_col = 0;
    }

    /// Adds a cell to the current row (starting a row when none is open).
    pub fn add_cell(
        &mut self,
        text: String,
        row_span: u32,
        col_span: u32,
        column_header: bool,
        row_header: bool,
    ) -> Result<(), TooManyCells> {
        if self.row.is_none() {
            self.start_row();
        }
        let row = self.row.unwrap_or(0);
        let row_span = row_span.clamp(1, MAX_TABLE_SPAN);
        let col_span = col_span.clamp(1, MAX_TABLE_SPAN);
        let mut col = self.next_col;
        while (col as usize) < self.taken_until_row.len()
            && self.taken_until_row[col as usize] > row
        {
            col += 1;
        }
        if col >= MAX_TABLE_COLS {
            if let Some(last) = self.cells.last_mut().filter(|c| c.row == row) {
                if !text.is_empty() {
                    last.text.push(' ');
                    last.text.push_str(&text);
                }
            }
            return self.check_grid(row + 1);
        }
        let end = (col + col_span).min(MAX_TABLE_COLS);
        let col_span = end - col;
        if self.taken_until_row.len() < end as usize {
            self.taken_until_row.resize(end as usize, 0);
        }
        for slot in &mut self.taken_until_row[col as usize..end as usize] {
            *slot = row + row_span;
        }
        self.next_col = end;
        self.num_cols = self.num_cols.max(end);
        self.cells.push(TableCell {
            row,
            col,
            row_span,
            col_span,
            text,
            column_header,
            row_header,
            census: Tally::new(),
        });
        self.check_grid(row + row_span)
    }

    /// Continues the row span of the cell above the current row's next free column by one row
    /// (DOCX `w:vMerge` without `restart`); adds an empty cell when there is none above.
    pub fn continue_row_span(&mut self, col_span: u32) -> Result<(), TooManyCells> {
        if self.row.is_none() {
            self.start_row();
        }
        let row = self.row.unwrap_or(0);
        let mut col = self.next_col;
        while (col as usize) < self.taken_until_row.len()
            && self.taken_until_row[col as usize] > row
        {
            col += 1;
        }
        let above = self
            .cells
            .iter_mut()
            .rev()
            .find(|c| c.col == col && c.row + c.row_span == row);
        match above {
            Some(cell) if cell.row_span < MAX_TABLE_SPAN => {
                cell.row_span += 1;
                let end = (col + cell.col_span) as usize;
                if self.taken_until_row.len() < end {
                    self.taken_until_row.resize(end, 0);
                }
                for slot in &mut self.taken_until_row[col as usize..end] {
                    *slot = row + 1;
                }
                self.next_col = end as u32;
                self.check_grid(row + 1)
            }
            _ => self.add_cell(String::new(), 1, col_span, false, false),
        }
    }

    /// Whether the current row is empty so far.
    pub fn row_is_empty(&self) -> bool {
        self.cells.last().is_none_or(|c| Some(c.row) != self.row)
    }

    pub fn finish(self) -> Table {
        let rows_from_cells = self
            .cells
            .iter()
            .map(|c| c.row + c.row_span)
            .max()
            .unwrap_or(0);
        let num_rows = rows_from_cells.max(self.row.map_or(0, |r| r + 1));
        Table {
            num_rows: if self.cells.is_empty() { 0 } else { num_rows },
            num_cols: self.num_cols,
            cells: self.cells,
            census: Tally::new(),
        }
    }
}

impl Document {
    /// An empty document with no pages.
    pub fn new(name: impl Into<String>, format: DocumentFormat) -> Document {
        Document {
            name: name.into(),
            format,
            pages: Vec::new(),
            items: Vec::new(),
            census: Tally::new(),
        }
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Appends an item on `page_no` (no box).
    pub fn push(&mut self, page_no: u32, kind: ItemKind) {
        self.items.push(Item {
            kind,
            prov: Provenance {
                page_no,
                bbox: None,
            },
            census: Tally::new(),
        });
    }

    /// The items whose provenance is on `page_no`.
    pub fn items_on_page(&self, page_no: u32) -> impl Iterator<Item = &Item> {
        self.items
            .iter()
            .filter(move |item| item.prov.page_no == page_no)
    }

    /// Keeps only the pages in the inclusive 1-based range `[first, last]` and their items.
    pub fn retain_pages(&mut self, first: u32, last: u32) {
        self.pages
            .retain(|page| (first..=last).contains(&page.page_no));
        self.items
            .retain(|item| (first..=last).contains(&item.prov.page_no));
    }

    /// The approximate heap bytes the document holds (strings and vectors), for census hooks.
    pub fn heap_bytes(&self) -> usize {
        let mut total = self.name.capacity()
            + self.pages.capacity() * std::mem::size_of::<Page>()
            + self.items.capacity() * std::mem::size_of::<Item>();
        for item in &self.items {
            total += match &item.kind {
                ItemKind::Title { text }
                | ItemKind::SectionHeader { text, .. }
                | ItemKind::Paragraph { text }
                | ItemKind::Formula { text } => text.capacity(),
                ItemKind::ListItem { marker, text, .. } => marker.capacity() + text.capacity(),
                ItemKind::Code { language, text } => {
                    language.as_ref().map_or(0, String::capacity) + text.capacity()
                }
                ItemKind::Table(table) => {
                    table.cells.capacity() * std::mem::size_of::<TableCell>()
                        + table.cells.iter().map(|c| c.text.capacity()).sum::<usize>()
                }
                ItemKind::Picture {
                    caption,
                    placeholder,
                } => {
                    caption.as_ref().map_or(0, String::capacity)
                        + placeholder.as_ref().map_or(0, String::capacity)
                }
            };
        }
        total
    }
}

/// Collapses runs of whitespace to one space and trims the ends.
pub fn normalize_space(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_builder_places_cells_around_row_spans() {
        let mut b = TableBuilder::default();
        b.start_row();
        b.add_cell("a".into(), 2, 1, true, false).expect("fits");
        b.add_cell("b".into(), 1, 2, true, false).expect("fits");
        b.start_row();
        b.add_cell("c".into(), 1, 1, false, false).expect("fits");
        b.add_cell("d".into(), 1, 1, false, false).expect("fits");
        let t = b.finish();
        assert_eq!((t.num_rows, t.num_cols), (2, 3));
        assert_eq!(t.grid(), vec![vec!["a", "b", "b"], vec!["a", "c", "d"]]);
    }

    #[test]
    fn hostile_spans_are_clamped() {
        let mut b = TableBuilder::default();
        b.add_cell("x".into(), u32::MAX, u32::MAX, false, false)
            .expect("1000 x 1000 fits the default bound");
        for _ in 0..5 {
            b.add_cell("y".into(), 1, u32::MAX, false, false)
                .expect("joins the last cell");
        }
        let t = b.finish();
        assert_eq!(t.num_cols, MAX_TABLE_COLS);
        assert_eq!(t.num_rows, MAX_TABLE_SPAN);
        assert_eq!(t.cells.len(), 1);
        assert_eq!(t.cells[0].text, "x y y y y y");
    }

    #[test]
    fn the_cell_bound_counts_the_spanned_grid_as_cells_are_added() {
        let mut b = TableBuilder::with_max_cells(10_000);
        b.add_cell("wide".into(), 1, 1000, false, false)
            .expect("1 x 1000");
        let mut refused_at = None;
        for row in 1..300_000u32 {
            b.start_row();
            if b.add_cell("x".into(), 1, 1, false, false).is_err() {
                refused_at = Some(row);
                break;
            }
        }
        assert_eq!(
            refused_at,
            Some(10),
            "refused at the 11th row of a 1000-wide table"
        );
    }

    #[test]
    fn retain_pages_keeps_the_range() {
        let mut d = Document::new("x.pdf", DocumentFormat::Pdf);
        for page_no in 1..=4 {
            d.pages.push(Page {
                page_no,
                size: None,
            });
            d.push(
                page_no,
                ItemKind::Paragraph {
                    text: format!("p{page_no}"),
                },
            );
        }
        d.retain_pages(2, 3);
        assert_eq!(
            d.pages.iter().map(|p| p.page_no).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert_eq!(d.items.len(), 2);
    }
}
