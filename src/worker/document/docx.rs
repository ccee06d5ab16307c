//! DOCX: a bounded zip reader (entry count, declared and actual uncompressed sizes), the style
//! and numbering parts, then the body walk in [`super::docx_body`].
//!
//! Paragraph styles named `Title` / `Heading N` give titles and section headers; numbering
//! (`w:numPr`, directly or through the style) gives list items, bullets or ordered by the
//! level's `w:numFmt`; tables keep `w:gridSpan` and `w:vMerge` spans; drawings become
//! pictures; Office Math becomes formulas. Page breaks: `w:br w:type="page"` and
//! `w:pageBreakBefore`; the page size comes from the section's `w:pgSz`.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::model::Document;
use super::{DocumentError, DocumentFormat, Limits};

/// Parses a DOCX document.
pub fn parse(name: &str, bytes: &[u8], limits: &Limits) -> Result<Document, DocumentError> {
    let mut container = Container::open(name, bytes, limits)?;
    let document_xml = container.read("word/document.xml")?.ok_or_else(|| {
        DocumentError::malformed(name, DocumentFormat::Docx, "no word/document.xml part")
    })?;
    let styles = match container.read("word/styles.xml")? {
        Some(xml) => parse_styles(name, &xml, limits)?,
        None => HashMap::new(),
    };
    let numbering = match container.read("word/numbering.xml")? {
        Some(xml) => parse_numbering(name, &xml, limits)?,
        None => Numbering::default(),
    };
    super::docx_body::parse_body(name, &document_xml, &styles, &numbering, limits)
}

/// A zip archive read within the limits.
struct Container<'a> {
    name: &'a str,
    archive: zip::ZipArchive<Cursor<&'a [u8]>>,
    limits: &'a Limits,
    inflated_bytes: u64,
}

impl<'a> Container<'a> {
    fn open(name: &'a str, bytes: &'a [u8], limits: &'a Limits) -> Result<Self, DocumentError> {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
            DocumentError::malformed(
                name,
                DocumentFormat::Docx,
                format!("not a readable zip: {e}"),
            )
        })?;
        if archive.len() > limits.max_zip_entries {
            return Err(DocumentError::too_large(
                name,
                format!(
                    "{} zip entries, more than the {} allowed",
                    archive.len(),
                    limits.max_zip_entries
                ),
            ));
        }
        let mut declared_bytes = 0u64;
        for index in 0..archive.len() {
            let entry = archive.by_index_raw(index).map_err(|e| {
                DocumentError::malformed(
                    name,
                    DocumentFormat::Docx,
                    format!("zip entry {index}: {e}"),
                )
            })?;
            declared_bytes = declared_bytes.saturating_add(entry.size());
        }
        if declared_bytes > limits.max_zip_uncompressed_bytes {
            return Err(DocumentError::too_large(
                name,
                format!(
                    "zip entries declare {declared_bytes} uncompressed bytes, more than the {} allowed",
                    limits.max_zip_uncompressed_bytes
                ),
            ));
        }
        Ok(Container {
            name,
            archive,
            limits,
            inflated_bytes: 0,
        })
    }

    /// The entry's content as text, `None` when absent. Stops as soon as the inflated bytes
    /// pass what the entry declared or what the total budget has left.
    fn read(&mut self, entry_name: &str) -> Result<Option<String>, DocumentError> {
        let name = self.name;
        let mut entry = match self.archive.by_name(entry_name) {
            Ok(entry) => entry,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => {
                return Err(DocumentError::malformed(
                    name,
                    DocumentFormat::Docx,
                    format!("{entry_name}: {e}"),
                ))
            }
        };
        let budget = self
            .limits
            .max_zip_uncompressed_bytes
            .saturating_sub(self.inflated_bytes);
        let declared = entry.size();
        if declared > budget {
            return Err(DocumentError::too_large(
                name,
                format!("{entry_name} declares {declared} bytes, over the zip budget"),
            ));
        }
        let mut content = Vec::with_capacity(declared.min(64 * 1024 * 1024) as usize);
        // One byte more than allowed tells an overrun from an exact fit.
        let cap = declared.min(budget);
        (&mut entry)
            .take(cap + 1)
            .read_to_end(&mut content)
            .map_err(|e| {
                DocumentError::malformed(name, DocumentFormat::Docx, format!("{entry_name}: {e}"))
            })?;
        if content.len() as u64 > cap {
            return Err(DocumentError::too_large(
                name,
                format!(
                    "{entry_name} inflates past its declared {declared} bytes or the zip budget"
                ),
            ));
        }
        self.inflated_bytes += content.len() as u64;
        let text = String::from_utf8(content).map_err(|e| {
            DocumentError::malformed(
                name,
                DocumentFormat::Docx,
                format!("{entry_name}: not UTF-8: {e}"),
            )
        })?;
        Ok(Some(text))
    }
}

/// What a paragraph style means for the model.
#[derive(Debug, Clone, Default)]
pub(crate) struct Style {
    /// The style's name, lower case (`heading 1`, `title`, `list paragraph`, ...).
    pub name: String,
    pub based_on: Option<String>,
    pub num_id: Option<String>,
    pub ilvl: Option<u8>,
    pub outline_level: Option<u8>,
}

/// The numbering part: numId -> abstract definition -> per-level format and start.
#[derive(Debug, Clone, Default)]
pub(crate) struct Numbering {
    pub num_to_abstract: HashMap<String, String>,
    /// (abstractNumId, ilvl) -> (numFmt, start)
    pub levels: HashMap<(String, u8), (String, u64)>,
}

impl Numbering {
    /// Whether the list level is ordered, and its start number.
    pub fn level_format(&self, num_id: &str, ilvl: u8) -> (bool, u64) {
        let level = self
            .num_to_abstract
            .get(num_id)
            .and_then(|a| self.levels.get(&(a.clone(), ilvl)));
        match level {
            Some((format, start)) => (format != "bullet" && format != "none", *start),
            None => (false, 1),
        }
    }
}

pub(crate) fn attr(element: &BytesStart<'_>, local: &[u8]) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// An XML reader that refuses nesting beyond the limit.
pub(crate) struct BoundedXml<'x> {
    pub reader: Reader<&'x [u8]>,
    depth: usize,
    max_depth: usize,
}

impl<'x> BoundedXml<'x> {
    pub fn new(xml: &'x str, limits: &Limits) -> Self {
        let mut reader = Reader::from_str(xml);
        reader.config_mut().check_end_names = false;
        BoundedXml {
            reader,
            depth: 0,
            max_depth: limits.max_nesting_depth,
        }
    }

    pub fn next(&mut self, name: &str) -> Result<Event<'x>, DocumentError> {
        let event = self.reader.read_event().map_err(|e| {
            DocumentError::malformed(
                name,
                DocumentFormat::Docx,
                format!("XML at byte {}: {e}", self.reader.buffer_position()),
            )
        })?;
        match &event {
            Event::Start(_) => {
                self.depth += 1;
                if self.depth > self.max_depth {
                    return Err(DocumentError::too_deep(name, self.max_depth));
                }
            }
            Event::End(_) => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        Ok(event)
    }
}

fn parse_styles(
    name: &str,
    xml: &str,
    limits: &Limits,
) -> Result<HashMap<String, Style>, DocumentError> {
    let mut styles = HashMap::new();
    let mut xml = BoundedXml::new(xml, limits);
    let mut current: Option<(String, Style)> = None;
    loop {
        match xml.next(name)? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"style" => {
                    if let Some((id, style)) = current.take() {
                        styles.insert(id, style);
                    }
                    current = attr(&e, b"styleId").map(|id| (id, Style::default()));
                }
                b"name" => {
                    if let (Some((_, style)), Some(v)) = (current.as_mut(), attr(&e, b"val")) {
                        style.name = v.to_lowercase();
                    }
                }
                b"basedOn" => {
                    if let Some((_, style)) = current.as_mut() {
                        style.based_on = attr(&e, b"val");
                    }
                }
                b"numId" => {
                    if let Some((_, style)) = current.as_mut() {
                        style.num_id = attr(&e, b"val");
                    }
                }
                b"ilvl" => {
                    if let Some((_, style)) = current.as_mut() {
                        style.ilvl = attr(&e, b"val").and_then(|v| v.parse().ok());
                    }
                }
                b"outlineLvl" => {
                    if let Some((_, style)) = current.as_mut() {
                        style.outline_level = attr(&e, b"val").and_then(|v| v.parse().ok());
                    }
                }
                _ => {}
            },
            Event::End(e) if e.local_name().as_ref() == b"style" => {
                if let Some((id, style)) = current.take() {
                    styles.insert(id, style);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(styles)
}

fn parse_numbering(name: &str, xml: &str, limits: &Limits) -> Result<Numbering, DocumentError> {
    let mut numbering = Numbering::default();
    let mut xml = BoundedXml::new(xml, limits);
    let mut abstract_id: Option<String> = None;
    let mut level: Option<(u8, String, u64)> = None;
    let mut num_id: Option<String> = None;
    loop {
        match xml.next(name)? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"abstractNum" => abstract_id = attr(&e, b"abstractNumId"),
                b"lvl" => {
                    level = attr(&e, b"ilvl")
                        .and_then(|v| v.parse().ok())
                        .map(|ilvl| (ilvl, "decimal".into(), 1))
                }
                b"numFmt" => {
                    if let (Some(level), Some(v)) = (level.as_mut(), attr(&e, b"val")) {
                        level.1 = v;
                    }
                }
                b"start" => {
                    if let (Some(level), Some(v)) = (
                        level.as_mut(),
                        attr(&e, b"val").and_then(|v| v.parse().ok()),
                    ) {
                        level.2 = v;
                    }
                }
                b"num" => num_id = attr(&e, b"numId"),
                b"abstractNumId" => {
                    if let (Some(num), Some(v)) = (num_id.as_ref(), attr(&e, b"val")) {
                        numbering.num_to_abstract.insert(num.clone(), v);
                    }
                }
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                b"lvl" => {
                    if let (Some(abstract_id), Some((ilvl, format, start))) =
                        (abstract_id.as_ref(), level.take())
                    {
                        numbering
                            .levels
                            .insert((abstract_id.clone(), ilvl), (format, start));
                    }
                }
                b"abstractNum" => abstract_id = None,
                b"num" => num_id = None,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(numbering)
}
