//! The report on a terminal: comfy-table tables, coloured only when stdout is a terminal and
//! `NO_COLOR` is unset, fitted to the terminal's width ([`DEFAULT_WIDTH`] columns when it is
//! unknown): text columns wrap, numbers never do, and when even that is too wide the rightmost
//! columns are left out (named under the table; `report.md` keeps every column).

use std::io::IsTerminal;

use comfy_table::{
    presets, Attribute, Cell as ComfyCell, CellAlignment, Color, ColumnConstraint,
    ContentArrangement, Table, Width,
};

use super::doc::{Block, Document, Span};
use super::table::{TableData, Tone};
use super::ReportInput;

/// The width tables are fitted to when the terminal reports none (a pipe, a file) and
/// `COLUMNS` is unset.
pub const DEFAULT_WIDTH: u16 = 100;

/// Narrowest width a text column is squeezed to before columns are left out (more when a
/// word is longer, up to [`WORD_MAX`]: words are not cut when it can be helped).
const TEXT_MIN: usize = 10;
/// Longest word a text column keeps whole.
const WORD_MAX: usize = 24;

/// Where the terminal output goes and what it can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    /// Use colours and bold.
    pub color: bool,
    /// Width limit; `None` means never wrap (tests of the full tables).
    pub width: Option<u16>,
}

impl Terminal {
    /// Colours when stdout is a terminal and `NO_COLOR` is unset or empty. The width: `COLUMNS`
    /// when set, else the terminal's when it reports one, else [`DEFAULT_WIDTH`] (a width under
    /// 20 is not believed: never one character per column).
    pub fn detect() -> Self {
        let tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let reported = if tty { Table::new().width() } else { None };
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|v| v.trim().parse::<u16>().ok());
        let width = columns
            .filter(|w| *w >= 20)
            .or(reported.filter(|w| *w >= 20))
            .unwrap_or(DEFAULT_WIDTH);
        Terminal {
            color: tty && !no_color,
            width: Some(width),
        }
    }

    /// No colours, no width limit (pipes, files, tests).
    pub fn plain() -> Self {
        Terminal {
            color: false,
            width: None,
        }
    }
}

fn tone_color(tone: Tone) -> Option<Color> {
    match tone {
        Tone::Good => Some(Color::Green),
        Tone::Bad => Some(Color::Red),
        Tone::Warn => Some(Color::Yellow),
        Tone::Muted => Some(Color::DarkGrey),
        Tone::Plain | Tone::Strong => None,
    }
}

/// Characters a cell's text needs on one line (its longest line).
fn text_width(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// What a column needs: `min`, the narrowest it can be (a number's full width: numbers never
/// wrap, the header may; a text column's content up to [`TEXT_MIN`] or its longest word; at
/// least the header's longest word); `data`, its cells on one line each (the header may wrap);
/// `full`, cells and header on one line. The `… N rows …` gap row (muted) is left out.
#[derive(Debug, Clone, Copy)]
struct Need {
    min: usize,
    data: usize,
    full: usize,
}

fn needs(data: &TableData) -> Vec<Need> {
    (0..data.headers.len())
        .map(|i| {
            let cells = || {
                data.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .filter(|c| c.tone != Tone::Muted)
            };
            let content = cells().map(|c| text_width(&c.text)).max().unwrap_or(0);
            let longest_word = cells()
                .flat_map(|c| c.text.split_whitespace().map(|w| w.chars().count()))
                .max()
                .unwrap_or(0);
            let header = &data.headers[i];
            let word = header
                .split_whitespace()
                .map(|w| w.chars().count())
                .max()
                .unwrap_or(0);
            let numeric = data.numeric.get(i).copied().unwrap_or(false);
            let narrowest = if numeric {
                content
            } else {
                content.min(TEXT_MIN.max(longest_word.min(WORD_MAX)))
            };
            let min = narrowest.max(word);
            let data_width = content.max(word);
            Need {
                min,
                data: data_width,
                full: data_width.max(text_width(header)),
            }
        })
        .collect()
}

fn min_widths(data: &TableData) -> Vec<usize> {
    needs(data).iter().map(|n| n.min).collect()
}

/// Content widths of the `shown` columns within `width`: every column at its narrowest, then
/// the space left first to unwrapping cells, then headers, the smallest shortfalls first (so
/// that as many columns as can stay on one line do).
fn allot(needs: &[Need], shown: &[usize], width: usize) -> Vec<usize> {
    let mut widths: Vec<usize> = needs.iter().map(|n| n.min).collect();
    let mut spare = width.saturating_sub(needed_width(&widths, shown));
    for target in [|n: &Need| n.data, |n: &Need| n.full] {
        let mut order: Vec<usize> = shown.to_vec();
        order.sort_by_key(|&i| target(&needs[i]).saturating_sub(widths[i]));
        for i in order {
            let grow = target(&needs[i]).saturating_sub(widths[i]).min(spare);
            widths[i] += grow;
            spare -= grow;
        }
    }
    widths
}

/// Whether a column says nothing: every cell empty or `-`.
fn is_empty_column(data: &TableData, i: usize) -> bool {
    data.rows
        .iter()
        .filter_map(|r| r.get(i))
        .all(|c| matches!(c.text.trim(), "" | super::format::MISSING))
}

/// The width the table needs with its columns at their narrowest: each column's content, one
/// space of padding either side and one border.
fn needed_width(mins: &[usize], shown: &[usize]) -> usize {
    1 + shown.iter().map(|&i| mins[i] + 3).sum::<usize>()
}

/// The columns to leave out so that the table fits `width`: none when it fits; else the
/// columns that say nothing, then the rightmost ones (never the first).
fn columns_to_drop(data: &TableData, width: usize) -> Vec<usize> {
    let mins = min_widths(data);
    let needed = |shown: &[usize]| needed_width(&mins, shown);
    let mut shown: Vec<usize> = (0..mins.len()).collect();
    let mut dropped = Vec::new();
    let empty: Vec<usize> = (1..mins.len())
        .filter(|&i| is_empty_column(data, i))
        .collect();
    for i in empty.into_iter().rev() {
        if needed(&shown) <= width {
            break;
        }
        shown.retain(|&s| s != i);
        dropped.push(i);
    }
    while needed(&shown) > width && shown.len() > 1 {
        if let Some(i) = shown.pop() {
            dropped.push(i);
        }
    }
    dropped.sort_unstable();
    dropped
}

/// Render a table for a terminal, fitted to its width (see the module docs).
pub fn render_terminal(data: &TableData, term: &Terminal) -> String {
    let dropped = term
        .width
        .map(|w| columns_to_drop(data, usize::from(w)))
        .unwrap_or_default();
    let mut text = render_fitted(data, term, &dropped);
    if !dropped.is_empty() {
        let names: Vec<&str> = dropped.iter().map(|&i| data.headers[i].as_str()).collect();
        let all: Vec<usize> = (0..data.headers.len()).collect();
        let width = term.width.unwrap_or(DEFAULT_WIDTH);
        let note = format!(
            "(left out to fit {width} columns: {}; COLUMNS={} shows them)",
            names.join(", "),
            needed_width(&min_widths(data), &all)
        );
        for line in wrap_words(&note, usize::from(width)) {
            text.push('\n');
            text.push_str(&line);
        }
    }
    text
}

/// `text` cut at spaces into lines of at most `width` characters (a longer word keeps a
/// line of its own).
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

fn render_fitted(data: &TableData, term: &Terminal, dropped: &[usize]) -> String {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    if term.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    match term.width {
        Some(width) => {
            table
                .set_width(width)
                .set_content_arrangement(ContentArrangement::Dynamic);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    table.set_header(data.headers.iter().map(|h| {
        let cell = ComfyCell::new(h);
        if term.color {
            cell.add_attribute(Attribute::Bold)
        } else {
            cell
        }
    }));
    for row in &data.rows {
        table.add_row(row.iter().enumerate().map(|(i, c)| {
            let mut cell = ComfyCell::new(&c.text);
            if data.numeric.get(i).copied().unwrap_or(false) {
                cell = cell.set_alignment(CellAlignment::Right);
            }
            if term.color {
                if let Some(color) = tone_color(c.tone) {
                    cell = cell.fg(color);
                }
                if matches!(c.tone, Tone::Strong | Tone::Bad) {
                    cell = cell.add_attribute(Attribute::Bold);
                }
            }
            cell
        }));
    }
    if let Some(width) = term.width {
        let needs = needs(data);
        let shown: Vec<usize> = (0..needs.len()).filter(|i| !dropped.contains(i)).collect();
        let full: Vec<usize> = needs.iter().map(|n| n.full).collect();
        if needed_width(&full, &shown) > usize::from(width) {
            let widths = allot(&needs, &shown, usize::from(width));
            for (i, column) in table.column_iter_mut().enumerate() {
                let constraint = if dropped.contains(&i) {
                    ColumnConstraint::Hidden
                } else {
                    // the width counts the padding
                    let w = u16::try_from(widths[i] + 2).unwrap_or(u16::MAX);
                    ColumnConstraint::Absolute(Width::Fixed(w))
                };
                column.set_constraint(constraint);
            }
        } else {
            for &i in dropped {
                if let Some(column) = table.column_mut(i) {
                    column.set_constraint(ColumnConstraint::Hidden);
                }
            }
        }
    }
    table.to_string()
}

/// Jobs shown on a terminal before the middle of the job table is elided.
const TERMINAL_JOB_ROWS: usize = 40;

/// The report for a terminal: the same headline, tables and notes as `report.md`, without
/// charts, and with the job table elided in the middle for long runs.
pub fn terminal_report(input: &ReportInput, term: &Terminal) -> String {
    // The jobs and clears of a long run: the first and last rows only (report.md has all).
    let document = super::doc::build_shown(input, &[], Some(TERMINAL_JOB_ROWS));
    render_document(&document, term)
}

fn paint(text: &str, tone: Tone, strong: bool, term: &Terminal) -> String {
    if !term.color {
        return text.to_string();
    }
    let color = match tone {
        Tone::Good => "32",
        Tone::Bad => "31",
        Tone::Warn => "33",
        Tone::Muted => "90",
        Tone::Plain | Tone::Strong => "",
    };
    let bold = strong || tone == Tone::Strong;
    let codes: Vec<&str> = [if bold { "1" } else { "" }, color]
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect();
    if codes.is_empty() {
        text.to_string()
    } else {
        format!("\x1b[{}m{text}\x1b[0m", codes.join(";"))
    }
}

pub(crate) fn render_document(document: &Document, term: &Terminal) -> String {
    let mut out = String::new();
    out.push_str(&paint(&document.title, Tone::Strong, true, term));
    out.push_str("\n\n");
    for block in &document.blocks {
        match block {
            Block::Heading(_, text) => {
                out.push_str(&paint(text, Tone::Strong, true, term));
                out.push('\n');
            }
            Block::Paragraph(spans) => {
                let line: String = spans
                    .iter()
                    .map(|s: &Span| paint(&s.text, s.tone, s.strong, term))
                    .collect();
                out.push_str(&line);
                out.push_str("\n\n");
            }
            Block::Table(table) => {
                let shown = if table.headers.first().is_some_and(|h| h == "Job") {
                    std::borrow::Cow::Owned(
                        table.elided(TERMINAL_JOB_ROWS / 2, TERMINAL_JOB_ROWS / 2),
                    )
                } else {
                    std::borrow::Cow::Borrowed(table)
                };
                out.push_str(&render_terminal(&shown, term));
                out.push_str("\n\n");
            }
            Block::Chart(_) => {}
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::table::Cell;

    #[test]
    fn no_width_means_no_squeezing() {
        let mut data = TableData::new(&[("Name", false), ("Value", true)]);
        data.rows.push(vec![
            Cell::new("a rather long name that must stay on one line"),
            Cell::new("12.5"),
        ]);
        let text = render_terminal(
            &data,
            &Terminal {
                color: false,
                width: None,
            },
        );
        assert!(
            text.contains("a rather long name that must stay on one line"),
            "{text}"
        );
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn a_wide_table_fits_100_columns_numbers_whole_and_names_what_it_left_out() {
        let headers: Vec<(String, bool)> = (0..12)
            .map(|i| (format!("Column number {i}"), i > 0))
            .collect();
        let refs: Vec<(&str, bool)> = headers.iter().map(|(h, n)| (h.as_str(), *n)).collect();
        let mut data = TableData::new(&refs);
        for r in 0..3 {
            let mut row = vec![Cell::new(format!("a text cell that can wrap {r}"))];
            row.extend((1..12).map(|i| Cell::new(format!("{}.{r}5 MB", 1000 * i))));
            data.rows.push(row);
        }
        let term = Terminal {
            color: false,
            width: Some(100),
        };
        let text = render_terminal(&data, &term);
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        assert!(
            text.contains("1000.05 MB") && text.contains("2000.25 MB"),
            "{text}"
        );
        assert!(text.contains("left out to fit 100 columns: "), "{text}");
        assert!(
            text.contains("Column number 11"),
            "the dropped column is named: {text}"
        );
        // a table that fits is left as it is
        let mut small = TableData::new(&[("Name", false), ("Value", true)]);
        small.rows.push(vec![Cell::new("a"), Cell::new("12.5")]);
        assert_eq!(
            render_terminal(&small, &term),
            render_terminal(&small, &Terminal::plain())
        );
    }

    #[test]
    fn colour_only_when_asked() {
        let mut data = TableData::new(&[("Verdict", false)]);
        data.rows.push(vec![Cell::tone("LEAK", Tone::Bad)]);
        let coloured = render_terminal(
            &data,
            &Terminal {
                color: true,
                width: Some(80),
            },
        );
        assert!(coloured.contains('\x1b'), "{coloured}");
        let plain = render_terminal(&data, &Terminal::plain());
        assert!(!plain.contains('\x1b'));
    }
}
