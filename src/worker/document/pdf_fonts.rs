//! PDF fonts and how their string bytes become text, read once per font object (not once per
//! page: a hostile CMap parsed again for every page multiplied its cost by the page count).
//!
//! ToUnicode streams are decoded within the document's budget before lopdf sees them (its
//! `get_font_encoding` inflates them without a bound), and our CMap reader shares one budget of
//! expanded codes across the document.

use std::collections::{BTreeMap, HashMap, HashSet};

use lopdf::{Dictionary, Document as PdfDocument, Encoding, Object, ObjectId};

use super::pdf_cmap::{CmapBudget, ToUnicode};
use super::pdf_streams::{decode, Budget, DecodeError};

/// How a font's string bytes become text: its ToUnicode CMap (read here, as lopdf refuses
/// many real ones), else lopdf's encoding tables.
pub(crate) struct Decoder<'a> {
    cmap: Option<ToUnicode>,
    encoding: Option<Encoding<'a>>,
}

/// The budgets ran out while reading fonts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FontFailure {
    /// ToUnicode streams passed the budget of decompressed bytes.
    OverBudget,
    /// ToUnicode CMaps expanded to more codes than the document's bound.
    TooManyCodes,
}

/// Decodes every ToUnicode stream once, within `budget`, and leaves it plain (a stream that
/// does not decode is emptied, so that lopdf does not inflate it either).
pub(crate) fn decode_to_unicode_streams(
    pdf: &mut PdfDocument,
    budget: &mut Budget,
) -> Result<(), FontFailure> {
    let mut ids = HashSet::new();
    for object in pdf.objects.values() {
        collect_to_unicode(object, &mut ids);
    }
    for id in ids {
        let Some(Object::Stream(stream)) = pdf.objects.get_mut(&id) else {
            continue;
        };
        match decode(stream, budget) {
            Ok(plain) => stream.set_plain_content(plain),
            Err(DecodeError::OverBudget) => return Err(FontFailure::OverBudget),
            Err(_) => stream.set_plain_content(Vec::new()),
        }
    }
    Ok(())
}

/// `ToUnicode` references anywhere in the object (an explicit stack: no recursion).
fn collect_to_unicode(object: &Object, ids: &mut HashSet<ObjectId>) {
    let mut stack = vec![object];
    while let Some(object) = stack.pop() {
        match object {
            Object::Dictionary(dict) => push_dict(dict, &mut stack, ids),
            Object::Stream(stream) => push_dict(&stream.dict, &mut stack, ids),
            Object::Array(items) => stack.extend(items.iter()),
            _ => {}
        }
    }
}

fn push_dict<'o>(dict: &'o Dictionary, stack: &mut Vec<&'o Object>, ids: &mut HashSet<ObjectId>) {
    for (key, value) in dict.iter() {
        match value {
            Object::Reference(id) if key == b"ToUnicode" => {
                ids.insert(*id);
            }
            Object::Dictionary(_) | Object::Array(_) => stack.push(value),
            _ => {}
        }
    }
}

/// Decoders built once per font object (by reference; a direct font dictionary once per page).
pub(crate) struct Fonts<'a> {
    pdf: &'a PdfDocument,
    by_id: HashMap<ObjectId, Option<usize>>,
    decoders: Vec<Decoder<'a>>,
    cmap_budget: CmapBudget,
}

impl<'a> Fonts<'a> {
    pub(crate) fn new(pdf: &'a PdfDocument, max_cmap_codes: u64) -> Self {
        Fonts {
            pdf,
            by_id: HashMap::new(),
            decoders: Vec::new(),
            cmap_budget: CmapBudget::new(max_cmap_codes),
        }
    }

    pub(crate) fn decoder(&self, index: usize) -> Option<&Decoder<'a>> {
        self.decoders.get(index)
    }

    /// The page's fonts by resource name (the first definition of a name wins, as in lopdf's
    /// `get_page_fonts`): indexes into the cache.
    pub(crate) fn page_fonts(
        &mut self,
        page_id: ObjectId,
    ) -> Result<BTreeMap<Vec<u8>, usize>, FontFailure> {
        let pdf = self.pdf;
        let mut fonts = BTreeMap::new();
        let Ok((resource_dict, resource_ids)) = pdf.get_page_resources(page_id) else {
            return Ok(fonts);
        };
        let resources = resource_dict.into_iter().chain(
            resource_ids
                .iter()
                .filter_map(|id| pdf.get_dictionary(*id).ok()),
        );
        for resources in resources {
            let font_dict = match resources.get(b"Font") {
                Ok(Object::Reference(id)) => pdf.get_dictionary(*id).ok(),
                Ok(Object::Dictionary(dict)) => Some(dict),
                _ => None,
            };
            for (name, value) in font_dict.into_iter().flat_map(Dictionary::iter) {
                if fonts.contains_key(name) {
                    continue;
                }
                let index = match value {
                    Object::Reference(id) => self.by_reference(*id)?,
                    Object::Dictionary(font) => self.build(font)?,
                    _ => None,
                };
                if let Some(index) = index {
                    fonts.insert(name.clone(), index);
                }
            }
        }
        Ok(fonts)
    }

    fn by_reference(&mut self, id: ObjectId) -> Result<Option<usize>, FontFailure> {
        if let Some(index) = self.by_id.get(&id) {
            return Ok(*index);
        }
        let index = match self.pdf.get_dictionary(id) {
            Ok(font) => self.build(font)?,
            Err(_) => None,
        };
        self.by_id.insert(id, index);
        Ok(index)
    }

    fn build(&mut self, font: &'a Dictionary) -> Result<Option<usize>, FontFailure> {
        if !matches!(font.get(b"Type").and_then(Object::as_name), Ok(b"Font")) {
            return Ok(None);
        }
        let pdf = self.pdf;
        let cmap_bytes = font
            .get(b"ToUnicode")
            .ok()
            .and_then(|o| o.as_reference().ok())
            .and_then(|id| pdf.get_object(id).ok())
            .and_then(|o| o.as_stream().ok())
            // Plain by now: decoded within the budget by `decode_to_unicode_streams`.
            .filter(|stream| stream.filters().map_or(true, |f| f.is_empty()))
            .map(|stream| stream.content.as_slice());
        let cmap = match cmap_bytes {
            Some(bytes) => ToUnicode::parse(bytes, &mut self.cmap_budget)
                .map_err(|_| FontFailure::TooManyCodes)?,
            None => None,
        };
        let cmap = cmap.map(|mut cmap| {
            // Simple fonts use one-byte codes whatever their CMap's code space claims.
            if !matches!(font.get(b"Subtype").and_then(Object::as_name), Ok(b"Type0")) {
                cmap.code_bytes = 1;
            }
            cmap
        });
        let encoding = font.get_font_encoding(pdf).ok();
        if cmap.is_none() && encoding.is_none() {
            return Ok(None);
        }
        self.decoders.push(Decoder { cmap, encoding });
        Ok(Some(self.decoders.len() - 1))
    }
}

pub(crate) fn show_text(out: &mut String, encoding: Option<&Decoder>, operands: &[Object]) {
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
