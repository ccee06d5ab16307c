//! PDF: the text layer with lopdf. Pages and their MediaBox sizes; per page, the text
//! operators (`Tj`, `TJ`, `'`, `"`) placed on lines by the text-positioning operators, lines
//! grouped into paragraphs by vertical gaps, larger-than-body lines as section headers.
//!
//! Hostile input: the nesting of arrays and dictionaries is checked before lopdf's recursive
//! parser sees the bytes (file and content streams), object and page counts are bounded.

use std::collections::BTreeMap;

use lopdf::content::Content;
use lopdf::{Dictionary, Document as PdfDocument, Encoding, Object, ObjectId};

use super::model::{Document, ItemKind, Page, PageSize};
use super::pdf_cmap::ToUnicode;
use super::{DocumentError, DocumentFormat, Limits};

/// Parses a PDF's text layer; only the pages in `page_range` get their text extracted.
pub fn parse(
    name: &str,
    bytes: &[u8],
    limits: &Limits,
    page_range: Option<(u32, u32)>,
) -> Result<Document, DocumentError> {
    let depth = max_nesting(bytes);
    if depth > limits.max_nesting_depth {
        return Err(DocumentError::too_deep(name, limits.max_nesting_depth));
    }
    let pdf = PdfDocument::load_mem(bytes)
        .map_err(|e| DocumentError::malformed(name, DocumentFormat::Pdf, e))?;
    if pdf.objects.len() > limits.max_pdf_objects {
        return Err(DocumentError::too_large(
            name,
            format!(
                "{} PDF objects, more than the {} allowed",
                pdf.objects.len(),
                limits.max_pdf_objects
            ),
        ));
    }
    let page_ids: BTreeMap<u32, ObjectId> = pdf.get_pages();
    if page_ids.len() > limits.max_pdf_pages {
        return Err(DocumentError::too_large(
            name,
            format!(
                "{} pages, more than the {} allowed",
                page_ids.len(),
                limits.max_pdf_pages
            ),
        ));
    }
    if page_ids.is_empty() {
        return Err(DocumentError::malformed(
            name,
            DocumentFormat::Pdf,
            "no pages",
        ));
    }
    let mut doc = Document::new(name, DocumentFormat::Pdf);
    let mut page_lines = Vec::new();
    for (&page_no, &page_id) in &page_ids {
        doc.pages.push(Page {
            page_no,
            size: media_box(&pdf, page_id),
        });
        let wanted = page_range.is_none_or(|(first, last)| (first..=last).contains(&page_no));
        if wanted {
            page_lines.push((page_no, page_text_lines(name, &pdf, page_id, limits)?));
        }
    }
    let body_size = body_font_size(page_lines.iter().flat_map(|(_, lines)| lines.iter()));
    for (page_no, lines) in page_lines {
        lines_to_items(&mut doc, page_no, &lines, body_size);
    }
    Ok(doc)
}

/// The page's MediaBox (inherited through `Parent`), in points.
fn media_box(pdf: &PdfDocument, page_id: ObjectId) -> Option<PageSize> {
    let mut dict = pdf.get_dictionary(page_id).ok()?;
    for _ in 0..32 {
        if let Ok(object) = dict.get(b"MediaBox") {
            let array = match object {
                Object::Reference(id) => pdf.get_object(*id).ok()?.as_array().ok()?,
                other => other.as_array().ok()?,
            };
            let numbers: Vec<f32> = array.iter().filter_map(|o| o.as_float().ok()).collect();
            if numbers.len() == 4 {
                return Some(PageSize {
                    width_pt: (numbers[2] - numbers[0]).abs(),
                    height_pt: (numbers[3] - numbers[1]).abs(),
                });
            }
            return None;
        }
        let parent = dict.get(b"Parent").ok()?.as_reference().ok()?;
        dict = pdf.get_dictionary(parent).ok()?;
    }
    None
}

/// One line of text on a page.
#[derive(Debug)]
struct Line {
    /// The baseline's vertical position in text space (larger is higher on the page).
    y: f32,
    size: f32,
    text: String,
}

fn is_font(dict: &Dictionary) -> bool {
    matches!(dict.get(b"Type").and_then(Object::as_name), Ok(b"Font"))
}

fn number(object: Option<&Object>) -> f32 {
    object
        .and_then(|o| o.as_float().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

fn page_text_lines(
    name: &str,
    pdf: &PdfDocument,
    page_id: ObjectId,
    limits: &Limits,
) -> Result<Vec<Line>, DocumentError> {
    let encodings: BTreeMap<Vec<u8>, Decoder> = pdf
        .get_page_fonts(page_id)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, font)| is_font(font))
        .filter_map(|(font_name, font)| decoder(pdf, font).map(|d| (font_name, d)))
        .collect();
    let Ok(content_bytes) = pdf.get_page_content(page_id) else {
        return Ok(Vec::new());
    };
    if max_nesting(&content_bytes) > limits.max_nesting_depth {
        return Err(DocumentError::too_deep(name, limits.max_nesting_depth));
    }
    let Ok(content) = Content::decode(&content_bytes) else {
        return Ok(Vec::new());
    };
    let mut lines = Vec::new();
    let mut current = Line {
        y: 0.0,
        size: 0.0,
        text: String::new(),
    };
    let (mut font_size, mut scale, mut leading, mut line_y) = (12.0f32, 1.0f32, 0.0f32, 0.0f32);
    let mut encoding: Option<&Decoder> = None;
    let finish_line = |current: &mut Line, lines: &mut Vec<Line>, y: f32, size: f32| {
        if !current.text.trim().is_empty() {
            lines.push(std::mem::replace(
                current,
                Line {
                    y,
                    size,
                    text: String::new(),
                },
            ));
        } else {
            current.text.clear();
        }
        current.y = y;
        current.size = size;
    };
    for op in &content.operations {
        let operands = &op.operands;
        match op.operator.as_str() {
            "BT" => {
                scale = 1.0;
                line_y = 0.0;
            }
            "ET" => finish_line(&mut current, &mut lines, line_y, font_size * scale),
            "Tf" => {
                encoding = operands
                    .first()
                    .and_then(|o| o.as_name().ok())
                    .and_then(|n| encodings.get(n));
                font_size = number(operands.get(1)).abs();
            }
            "TL" => leading = number(operands.first()),
            "Td" | "TD" => {
                let ty = number(operands.get(1)) * scale;
                if op.operator == "TD" {
                    leading = -number(operands.get(1));
                }
                line_y += ty;
                if ty.abs() > 0.01 {
                    finish_line(&mut current, &mut lines, line_y, font_size * scale);
                } else if !current.text.ends_with(' ') && !current.text.is_empty() {
                    current.text.push(' ');
                }
            }
            "Tm" => {
                let d = number(operands.get(3));
                scale = if d.abs() > 0.0 { d.abs() } else { 1.0 };
                let y = number(operands.get(5));
                if (y - line_y).abs() > 0.01 {
                    line_y = y;
                    finish_line(&mut current, &mut lines, line_y, font_size * scale);
                } else if !current.text.ends_with(' ') && !current.text.is_empty() {
                    current.text.push(' ');
                }
            }
            "T*" | "'" | "\"" => {
                line_y -= leading * scale;
                finish_line(&mut current, &mut lines, line_y, font_size * scale);
                if op.operator != "T*" {
                    show_text(
                        &mut current.text,
                        encoding,
                        operands.last().map(std::slice::from_ref).unwrap_or(&[]),
                    );
                }
            }
            "Tj" | "TJ" => {
                if current.text.is_empty() {
                    current.y = line_y;
                    current.size = font_size * scale;
                }
                show_text(&mut current.text, encoding, operands);
            }
            _ => {}
        }
    }
    finish_line(&mut current, &mut lines, line_y, font_size * scale);
    Ok(lines)
}

/// How a font's string bytes become text: its ToUnicode CMap (read here, as lopdf refuses
/// many real ones), else lopdf's encoding tables.
struct Decoder<'a> {
    cmap: Option<ToUnicode>,
    encoding: Option<Encoding<'a>>,
}

fn decoder<'a>(pdf: &'a PdfDocument, font: &'a Dictionary) -> Option<Decoder<'a>> {
    let cmap = font
        .get(b"ToUnicode")
        .ok()
        .and_then(|o| o.as_reference().ok())
        .and_then(|id| pdf.get_object(id).ok())
        .and_then(|o| o.as_stream().ok())
        .and_then(|stream| {
            stream
                .decompressed_content()
                .ok()
                .or_else(|| Some(stream.content.clone()))
        })
        .and_then(|bytes| ToUnicode::parse(&bytes))
        .map(|mut cmap| {
            // Simple fonts use one-byte codes whatever their CMap's code space claims.
            if !matches!(font.get(b"Subtype").and_then(Object::as_name), Ok(b"Type0")) {
                cmap.code_bytes = 1;
            }
            cmap
        });
    let encoding = font.get_font_encoding(pdf).ok();
    (cmap.is_some() || encoding.is_some()).then_some(Decoder { cmap, encoding })
}

fn show_text(out: &mut String, encoding: Option<&Decoder>, operands: &[Object]) {
    for operand in operands {
        match operand {
            Object::String(bytes, _) => {
                let Some(decoder) = encoding else {
                    push_ascii(out, bytes);
                    continue;
                };
                // lopdf's encoding when it reads the font (its CMap reader is the more complete
                // where it works); else our CMap reader; else printable ASCII.
                if let Some(text) = decoder
                    .encoding
                    .as_ref()
                    .and_then(|e| PdfDocument::decode_text(e, bytes).ok())
                {
                    out.push_str(&text);
                } else if let Some(cmap) = &decoder.cmap {
                    cmap.decode(bytes, out);
                } else {
                    push_ascii(out, bytes);
                }
            }
            Object::Array(items) => show_text(out, encoding, items),
            Object::Integer(i) if *i < -200 => out.push(' '),
            Object::Real(r) if *r < -200.0 => out.push(' '),
            _ => {}
        }
    }
}

fn push_ascii(out: &mut String, bytes: &[u8]) {
    out.extend(
        bytes
            .iter()
            .filter(|b| b.is_ascii_graphic() || **b == b' ')
            .map(|&b| b as char),
    );
}

/// The font size carrying the most characters.
fn body_font_size<'l>(lines: impl Iterator<Item = &'l Line>) -> f32 {
    let mut chars_by_size: BTreeMap<u32, usize> = BTreeMap::new();
    for line in lines {
        *chars_by_size
            .entry((line.size * 10.0).round() as u32)
            .or_default() += line.text.len();
    }
    chars_by_size
        .into_iter()
        .max_by_key(|&(_, chars)| chars)
        .map_or(12.0, |(size, _)| size as f32 / 10.0)
}

fn lines_to_items(doc: &mut Document, page_no: u32, lines: &[Line], body_size: f32) {
    let mut paragraph = String::new();
    let mut previous: Option<&Line> = None;
    for line in lines {
        let text = logical_order(&line.text.split_whitespace().collect::<Vec<_>>().join(" "));
        let is_heading = line.size > body_size * 1.15 && text.len() < 160;
        let gap_break = previous.is_some_and(|p| {
            let gap = (p.y - line.y).abs();
            gap > p.size.max(line.size) * 1.9 || (p.size - line.size).abs() > 0.5
        });
        if is_heading || gap_break {
            flush_paragraph(doc, page_no, &mut paragraph);
        }
        if is_heading {
            let level = if line.size > body_size * 1.6 { 1 } else { 2 };
            doc.push(page_no, ItemKind::SectionHeader { level, text });
        } else {
            if paragraph.ends_with('-') && text.starts_with(|c: char| c.is_lowercase()) {
                paragraph.pop();
            } else if !paragraph.is_empty() {
                paragraph.push(' ');
            }
            paragraph.push_str(&text);
        }
        previous = Some(line);
    }
    flush_paragraph(doc, page_no, &mut paragraph);
}

fn is_rtl(c: char) -> bool {
    matches!(c as u32, 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF)
}

/// A line shown in visual order (right-to-left scripts reversed by the PDF's glyph order)
/// back in logical order: when most letters are right-to-left, reverse the line, then put
/// each left-to-right run (Latin words, numbers) back the right way round.
fn logical_order(line: &str) -> String {
    let (rtl, letters) = line
        .chars()
        .filter(|c| c.is_alphabetic())
        .fold((0, 0), |(r, l), c| (r + usize::from(is_rtl(c)), l + 1));
    if rtl * 2 <= letters {
        return line.to_string();
    }
    let reversed: Vec<char> = line.chars().rev().collect();
    let mut out = String::with_capacity(line.len());
    let mut run: Vec<char> = Vec::new();
    for c in reversed {
        if is_rtl(c) || c.is_whitespace() {
            out.extend(run.drain(..).rev());
            out.push(c);
        } else {
            run.push(c);
        }
    }
    out.extend(run.drain(..).rev());
    out
}

fn flush_paragraph(doc: &mut Document, page_no: u32, paragraph: &mut String) {
    if !paragraph.trim().is_empty() {
        doc.push(
            page_no,
            ItemKind::Paragraph {
                text: std::mem::take(paragraph),
            },
        );
    }
    paragraph.clear();
}

/// The deepest nesting of `[` and `<<` outside literal strings, comments and streams.
pub(crate) fn max_nesting(bytes: &[u8]) -> usize {
    let (mut depth, mut max_depth, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'[' => {
                depth += 1;
                max_depth = max_depth.max(depth);
            }
            b'<' if bytes.get(i + 1) == Some(&b'<') => {
                depth += 1;
                max_depth = max_depth.max(depth);
                i += 1;
            }
            b']' => depth = depth.saturating_sub(1),
            b'>' if bytes.get(i + 1) == Some(&b'>') => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'%' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'(' => {
                // A literal string: balanced parentheses, backslash escapes.
                let mut parens = 1usize;
                i += 1;
                while i < bytes.len() && parens > 0 {
                    match bytes[i] {
                        b'\\' => i += 1,
                        b'(' => parens += 1,
                        b')' => parens -= 1,
                        _ => {}
                    }
                    i += 1;
                }
                continue;
            }
            b's' if bytes[i..].starts_with(b"stream")
                && (i == 0 || !bytes[i - 1].is_ascii_alphabetic()) =>
            {
                if let Some(end) = find(&bytes[i + 6..], b"endstream") {
                    i += 6 + end + 9;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    max_depth
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_skips_strings_and_streams() {
        assert_eq!(max_nesting(b"<< /A [1 [2]] >>"), 3);
        assert_eq!(max_nesting(b"(a[[[[\\)) [1]"), 1);
        assert_eq!(max_nesting(b"stream\n[[[[[[\nendstream [x]"), 1);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let err = parse(
            "g.pdf",
            b"%PDF-1.4\n\x00\x01garbage",
            &Limits::default(),
            None,
        )
        .unwrap_err();
        assert!(matches!(err, DocumentError::Malformed { .. }), "{err}");
    }
}
