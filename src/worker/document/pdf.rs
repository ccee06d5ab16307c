//! PDF: the text layer with lopdf. Pages and their MediaBox sizes; per page, the text
//! operators (`Tj`, `TJ`, `'`, `"`) placed on lines by the text-positioning operators, lines
//! grouped into paragraphs by vertical gaps, larger-than-body lines as section headers.
//!
//! Hostile input: the nesting of arrays and dictionaries is checked before lopdf's recursive
//! parser sees the bytes (file and content streams), object and page counts are bounded.

use std::collections::BTreeMap;

use lopdf::content::Content;
use lopdf::{Document as PdfDocument, Object, ObjectId};

use super::model::{Document, ItemKind, Page, PageSize};
use super::pdf_fonts::{decode_to_unicode_streams, show_text, FontFailure, Fonts};
use super::pdf_nesting::{max_nesting, max_object_nesting};
use super::pdf_streams::{check_xref_streams, decode, load, Budget, DecodeError, LoadFailure};
use super::{DocumentError, DocumentFormat, Limits};

/// Parses a PDF's text layer; only the pages in `page_range` get their text extracted.
pub fn parse(
    name: &str,
    bytes: &[u8],
    limits: &Limits,
    page_range: Option<(u32, u32)>,
) -> Result<Document, DocumentError> {
    check_nesting(name, bytes, limits)?;
    let mut budget = Budget::new(limits.max_pdf_decompressed_bytes);
    let loaded = check_xref_streams(bytes, &mut budget)
        .and_then(|()| load(bytes, &mut budget, limits.max_nesting_depth));
    let mut pdf = loaded.map_err(|failure| load_error(name, failure, limits))?;
    if pdf.objects.len() > limits.max_pdf_objects {
        return Err(DocumentError::too_large(
            name,
            format!(
                "{} PDF objects, more than the {} allowed (max_pdf_objects)",
                pdf.objects.len(),
                limits.max_pdf_objects
            ),
        ));
    }
    decode_to_unicode_streams(&mut pdf, &mut budget)
        .map_err(|failure| font_error(name, failure, limits))?;
    let page_ids: BTreeMap<u32, ObjectId> = pdf.get_pages();
    if page_ids.len() > limits.max_pdf_pages {
        return Err(DocumentError::too_large(
            name,
            format!(
                "{} pages, more than the {} allowed (max_pdf_pages)",
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
    let mut fonts = Fonts::new(&pdf, limits.max_pdf_cmap_codes);
    let mut page_lines = Vec::new();
    for (&page_no, &page_id) in &page_ids {
        doc.pages.push(Page {
            page_no,
            size: media_box(&pdf, page_id),
        });
        let wanted = page_range.is_none_or(|(first, last)| (first..=last).contains(&page_no));
        if wanted {
            let page = PageSource {
                name,
                pdf: &pdf,
                page_id,
                limits,
            };
            page_lines.push((page_no, page.text_lines(&mut fonts, &mut budget)?));
        }
    }
    let body_size = body_font_size(page_lines.iter().flat_map(|(_, lines)| lines.iter()));
    for (page_no, lines) in page_lines {
        lines_to_items(&mut doc, page_no, &lines, body_size);
    }
    Ok(doc)
}

/// The nesting lopdf's recursive parser would meet: the file as a whole, and every object a
/// cross-reference entry could point at.
fn check_nesting(name: &str, bytes: &[u8], limits: &Limits) -> Result<(), DocumentError> {
    let max_depth = limits.max_nesting_depth;
    if max_nesting(bytes) > max_depth {
        return Err(DocumentError::too_deep(name, max_depth));
    }
    let max_work = bytes.len().saturating_mul(2).saturating_add(1 << 20);
    match max_object_nesting(bytes, max_depth, max_work) {
        Some(depth) if depth > max_depth => Err(DocumentError::too_deep(name, max_depth)),
        Some(_) => Ok(()),
        None => Err(DocumentError::malformed(
            name,
            DocumentFormat::Pdf,
            "objects overlap each other (more than twice the file's bytes to scan)",
        )),
    }
}

fn over_budget(name: &str, limits: &Limits) -> DocumentError {
    DocumentError::too_large(
        name,
        format!(
            "PDF streams decompress to more than {} bytes (max_pdf_decompressed_bytes)",
            limits.max_pdf_decompressed_bytes
        ),
    )
}

fn load_error(name: &str, failure: LoadFailure, limits: &Limits) -> DocumentError {
    match failure {
        LoadFailure::OverBudget => over_budget(name, limits),
        LoadFailure::TooDeep => DocumentError::too_deep(name, limits.max_nesting_depth),
        LoadFailure::Malformed(detail) => {
            DocumentError::malformed(name, DocumentFormat::Pdf, detail)
        }
    }
}

fn font_error(name: &str, failure: FontFailure, limits: &Limits) -> DocumentError {
    match failure {
        FontFailure::OverBudget => over_budget(name, limits),
        FontFailure::TooManyCodes => DocumentError::too_large(
            name,
            format!(
                "ToUnicode CMaps expand to more than {} codes (max_pdf_cmap_codes)",
                limits.max_pdf_cmap_codes
            ),
        ),
    }
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

fn number(object: Option<&Object>) -> f32 {
    object
        .and_then(|o| o.as_float().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

/// One page to read text from.
struct PageSource<'p> {
    name: &'p str,
    pdf: &'p PdfDocument,
    page_id: ObjectId,
    limits: &'p Limits,
}

impl PageSource<'_> {
    /// The page's content streams, decoded within the budget (a stream whose filter is not
    /// decoded is taken raw, as lopdf does).
    fn content(&self, budget: &mut Budget) -> Result<Vec<u8>, DocumentError> {
        let mut content = Vec::new();
        for id in self.pdf.get_page_contents(self.page_id) {
            let Ok(stream) = self.pdf.get_object(id).and_then(Object::as_stream) else {
                continue;
            };
            match decode(stream, budget) {
                Ok(data) => content.extend_from_slice(&data),
                Err(DecodeError::OverBudget) => return Err(over_budget(self.name, self.limits)),
                Err(_) => {
                    budget
                        .take(stream.content.len())
                        .map_err(|_| over_budget(self.name, self.limits))?;
                    content.extend_from_slice(&stream.content);
                }
            }
        }
        Ok(content)
    }

    fn text_lines(
        &self,
        fonts: &mut Fonts<'_>,
        budget: &mut Budget,
    ) -> Result<Vec<Line>, DocumentError> {
        let encodings = fonts
            .page_fonts(self.page_id)
            .map_err(|failure| font_error(self.name, failure, self.limits))?;
        let content_bytes = self.content(budget)?;
        if max_nesting(&content_bytes) > self.limits.max_nesting_depth {
            return Err(DocumentError::too_deep(
                self.name,
                self.limits.max_nesting_depth,
            ));
        }
        let Ok(content) = Content::decode(&content_bytes) else {
            return Ok(Vec::new());
        };
        Ok(content_lines(&content, &encodings, fonts))
    }
}

/// The text lines the content's operators show.
fn content_lines(
    content: &Content,
    encodings: &BTreeMap<Vec<u8>, usize>,
    fonts: &Fonts<'_>,
) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut current = Line {
        y: 0.0,
        size: 0.0,
        text: String::new(),
    };
    let (mut font_size, mut scale, mut leading, mut line_y) = (12.0f32, 1.0f32, 0.0f32, 0.0f32);
    let mut encoding = None;
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
                    .and_then(|n| encodings.get(n))
                    .and_then(|&index| fonts.decoder(index));
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
    lines
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

#[cfg(test)]
mod tests {
    use super::*;

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
