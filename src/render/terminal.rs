//! The report on a terminal: comfy-table tables, coloured only when stdout is a terminal and
//! `NO_COLOR` is unset, never squeezed when the terminal reports no width.

use std::io::IsTerminal;

use comfy_table::{
    presets, Attribute, Cell as ComfyCell, CellAlignment, Color, ContentArrangement, Table,
};

use super::doc::{Block, Document, Span};
use super::table::{TableData, Tone};
use super::ReportInput;

/// Where the terminal output goes and what it can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    /// Use colours and bold.
    pub color: bool,
    /// Width limit; `None` means never wrap (a pipe, or a terminal that reports no width).
    pub width: Option<u16>,
}

impl Terminal {
    /// Colours when stdout is a terminal and `NO_COLOR` is unset or empty; the terminal's width
    /// when it reports one (a reported width of 0 means no limit, never one character per column).
    pub fn detect() -> Self {
        let tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let width = if tty {
            Table::new().width().filter(|w| *w >= 20)
        } else {
            None
        };
        Terminal {
            color: tty && !no_color,
            width,
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

/// Render a table for a terminal.
pub fn render_terminal(data: &TableData, term: &Terminal) -> String {
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
    table.to_string()
}

/// Jobs shown on a terminal before the middle of the job table is elided.
const TERMINAL_JOB_ROWS: usize = 40;

/// The report for a terminal: the same headline, tables and notes as `report.md`, without
/// charts, and with the job table elided in the middle for long runs.
pub fn terminal_report(input: &ReportInput, term: &Terminal) -> String {
    let document = super::doc::build(input, &[]);
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
                    table.elided(TERMINAL_JOB_ROWS / 2, TERMINAL_JOB_ROWS / 2)
                } else {
                    table.clone()
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
