//! PDF streams decoded within a budget of decompressed bytes, and lopdf's load made safe.
//!
//! lopdf 0.34 inflates without a bound in three places: cross-reference streams (while it
//! reads the trailer, before any hook), object streams (at load, right after the load
//! filter), and whatever `decompressed_content` / `get_plain_content` is asked for later
//! (page contents, ToUnicode CMaps). So:
//! - [`check_xref_streams`] decodes, within the budget, every cross-reference stream lopdf
//!   will read (the `startxref` chain through `/Prev` and `/XRefStm`) before lopdf does, and
//!   refuses a predictor row longer than the data (lopdf allocates it unchecked);
//! - [`load`] passes a filter to lopdf's reader that decodes each object stream within the
//!   budget and checks the nesting of its objects before lopdf's recursive parser sees them
//!   (a deep object stream overflowed the worker's stack), then leaves it plain;
//! - [`decode`] is the bounded decoder used for everything read later.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::Read;

use lopdf::xref::XrefEntry;
use lopdf::{Document as PdfDocument, Object, ObjectId, Reader, Stream};

use super::pdf_nesting::max_nesting;

/// What is left of the document's decompressed bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub(crate) left: u64,
}

impl Budget {
    pub(crate) fn new(max: u64) -> Budget {
        Budget { left: max }
    }

    pub(crate) fn take(&mut self, bytes: usize) -> Result<(), DecodeError> {
        match self.left.checked_sub(bytes as u64) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(DecodeError::OverBudget),
        }
    }
}

/// Why a stream was not decoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DecodeError {
    /// Decoding would pass the document's budget of decompressed bytes.
    OverBudget,
    /// A filter this reader does not decode (images, DCT, JBIG2, ...): the content stays raw.
    Unsupported,
    Corrupt(String),
}

/// Why a PDF was refused while loading.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LoadFailure {
    OverBudget,
    TooDeep,
    Malformed(String),
}

/// The stream's content with its filters decoded, the output counted against `budget`.
/// A stream without filters is copied, and the copy counted too (a page listing one stream
/// a million times must not copy it a million times).
pub(crate) fn decode(stream: &Stream, budget: &mut Budget) -> Result<Vec<u8>, DecodeError> {
    let filters = match stream.filters() {
        Ok(filters) if !filters.is_empty() => filters,
        _ => return counted(stream.content.clone(), budget),
    };
    if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Image") {
        return Err(DecodeError::Unsupported);
    }
    let params = stream
        .dict
        .get(b"DecodeParms")
        .and_then(Object::as_dict)
        .ok();
    let mut data = stream.content.clone();
    for filter in filters {
        data = match filter.as_str() {
            "FlateDecode" | "Fl" => inflate(&data, budget)?,
            "LZWDecode" | "LZW" => lzw(&data, params, budget)?,
            "ASCII85Decode" | "A85" => counted(ascii85(&data), budget)?,
            "ASCIIHexDecode" | "AHx" => ascii_hex(&data),
            _ => return Err(DecodeError::Unsupported),
        };
        if matches!(filter.as_str(), "FlateDecode" | "Fl" | "LZWDecode" | "LZW") {
            data = predictor(data, params)?;
        }
    }
    Ok(data)
}

fn counted(data: Vec<u8>, budget: &mut Budget) -> Result<Vec<u8>, DecodeError> {
    budget.take(data.len())?;
    Ok(data)
}

/// zlib, stopped as soon as the output passes the budget. A corrupt tail keeps what was
/// inflated before it (as lopdf does).
fn inflate(input: &[u8], budget: &mut Budget) -> Result<Vec<u8>, DecodeError> {
    let mut decoder = flate2::read::ZlibDecoder::new(input);
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match decoder.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                budget.take(n)?;
                out.extend_from_slice(&chunk[..n]);
            }
        }
    }
    Ok(out)
}

fn lzw(
    input: &[u8],
    params: Option<&lopdf::Dictionary>,
    budget: &mut Budget,
) -> Result<Vec<u8>, DecodeError> {
    use weezl::{decode::Decoder, BitOrder, LzwStatus};
    let early_change = params
        .and_then(|p| p.get(b"EarlyChange").ok())
        .and_then(|p| p.as_i64().ok())
        .is_none_or(|v| v != 0);
    let mut decoder = if early_change {
        Decoder::with_tiff_size_switch(BitOrder::Msb, 8)
    } else {
        Decoder::new(BitOrder::Msb, 8)
    };
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut rest = input;
    loop {
        let result = decoder.decode_bytes(rest, &mut chunk);
        rest = &rest[result.consumed_in..];
        budget.take(result.consumed_out)?;
        out.extend_from_slice(&chunk[..result.consumed_out]);
        match result.status {
            Ok(LzwStatus::Ok) if result.consumed_in + result.consumed_out > 0 => {}
            _ => break,
        }
    }
    Ok(out)
}

fn ascii85(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut buffer, mut count) = (0u32, 0usize);
    for &ch in input {
        if ch == b'z' && count == 0 {
            out.extend_from_slice(&[0, 0, 0, 0]);
            continue;
        }
        if ch.is_ascii_whitespace() {
            continue;
        }
        if !(b'!'..=b'u').contains(&ch) {
            break;
        }
        buffer = buffer.wrapping_mul(85).wrapping_add(u32::from(ch - b'!'));
        count += 1;
        if count == 5 {
            out.extend_from_slice(&buffer.to_be_bytes());
            (buffer, count) = (0, 0);
        }
    }
    if count > 0 {
        for _ in count..5 {
            buffer = buffer.wrapping_mul(85).wrapping_add(84);
        }
        out.extend_from_slice(&buffer.to_be_bytes()[..count - 1]);
    }
    out
}

fn ascii_hex(input: &[u8]) -> Vec<u8> {
    let digits: Vec<u8> = input
        .iter()
        .take_while(|&&b| b != b'>')
        .filter_map(|&b| (b as char).to_digit(16).map(|d| d as u8))
        .collect();
    digits
        .chunks(2)
        .map(|p| (p[0] << 4) | p.get(1).copied().unwrap_or(0))
        .collect()
}

/// The PNG predictors (10 to 15), refusing a row longer than the data (lopdf would allocate
/// it: `Columns` 2^40 aborts the process).
fn predictor(data: Vec<u8>, params: Option<&lopdf::Dictionary>) -> Result<Vec<u8>, DecodeError> {
    let Some(row) = predictor_row(params) else {
        return Ok(data);
    };
    let (bytes_per_pixel, pixels_per_row) = row?;
    if bytes_per_pixel.saturating_mul(pixels_per_row) > data.len().max(1) {
        return Err(DecodeError::Corrupt(
            "a predictor row is longer than the stream".into(),
        ));
    }
    lopdf::filters::png::decode_frame(&data, bytes_per_pixel, pixels_per_row)
        .map_err(|e| DecodeError::Corrupt(e.to_string()))
}

/// `Some((bytes per pixel, pixels per row))` when a PNG predictor applies.
fn predictor_row(
    params: Option<&lopdf::Dictionary>,
) -> Option<Result<(usize, usize), DecodeError>> {
    let params = params?;
    let get =
        |key: &[u8], default: i64| params.get(key).and_then(Object::as_i64).unwrap_or(default);
    if !(10..=15).contains(&get(b"Predictor", 1)) {
        return None;
    }
    let positive = |v: i64, min: i64| usize::try_from(v.max(min)).ok();
    let columns = positive(get(b"Columns", 1), 1);
    let colors = positive(get(b"Colors", 1), 1);
    let bits = positive(get(b"BitsPerComponent", 8), 8);
    Some(match (columns, colors, bits) {
        (Some(c), Some(k), Some(b)) if k <= 64 && b <= 64 => Ok((k * b / 8, c)),
        _ => Err(DecodeError::Corrupt(
            "predictor parameters out of range".into(),
        )),
    })
}

struct LoadGuard {
    budget: Budget,
    max_depth: usize,
    failure: Option<LoadFailure>,
}

thread_local! {
    static GUARD: RefCell<Option<LoadGuard>> = const { RefCell::new(None) };
}

/// lopdf's load filter: object streams decoded within the budget and their nesting checked,
/// then left plain (lopdf's own, unbounded decompression finds nothing to do). An object
/// stream that cannot be decoded is emptied, so that lopdf never parses its raw bytes.
fn object_stream_filter(id: ObjectId, object: &mut Object) -> Option<(ObjectId, Object)> {
    let Object::Stream(stream) = object else {
        // Objects of object streams are taken from the returned value.
        return Some((id, object.clone()));
    };
    if stream.dict.type_is(b"ObjStm") {
        GUARD.with(|cell| {
            let mut guard = cell.borrow_mut();
            let Some(guard) = guard.as_mut() else { return };
            if guard.failure.is_some() {
                stream.set_plain_content(Vec::new());
                return;
            }
            match decode(stream, &mut guard.budget) {
                Ok(plain) if max_nesting(&plain) > guard.max_depth => {
                    guard.failure = Some(LoadFailure::TooDeep);
                    stream.set_plain_content(Vec::new());
                }
                Ok(plain) => stream.set_plain_content(plain),
                Err(DecodeError::OverBudget) => {
                    guard.failure = Some(LoadFailure::OverBudget);
                    stream.set_plain_content(Vec::new());
                }
                Err(_) => stream.set_plain_content(Vec::new()),
            }
        });
    }
    // A top-level object is kept from `object`; the returned value is not used.
    Some((id, Object::Null))
}

/// Loads the PDF with lopdf, object streams decoded within `budget` (updated) and checked
/// for nesting deeper than `max_depth`.
pub(crate) fn load(
    bytes: &[u8],
    budget: &mut Budget,
    max_depth: usize,
) -> Result<PdfDocument, LoadFailure> {
    GUARD.with(|cell| {
        *cell.borrow_mut() = Some(LoadGuard {
            budget: *budget,
            max_depth,
            failure: None,
        })
    });
    let reader = Reader {
        buffer: bytes,
        document: PdfDocument::new(),
    };
    let loaded = reader.read(Some(object_stream_filter));
    let guard = GUARD.with(|cell| cell.borrow_mut().take());
    if let Some(guard) = guard {
        *budget = guard.budget;
        if let Some(failure) = guard.failure {
            return Err(failure);
        }
    }
    loaded.map_err(|e| LoadFailure::Malformed(e.to_string()))
}

/// Decodes, within `budget`, each cross-reference stream lopdf will read: the object at
/// `startxref`, then the `/Prev` and `/XRefStm` chain (at most 256 of them).
pub(crate) fn check_xref_streams(bytes: &[u8], budget: &mut Budget) -> Result<(), LoadFailure> {
    let Some(first) = startxref(bytes) else {
        return Ok(());
    };
    let mut queue = vec![first];
    let mut seen = HashSet::new();
    while let Some(offset) = queue.pop() {
        if offset >= bytes.len() || !seen.insert(offset) || seen.len() > 256 {
            continue;
        }
        let at = &bytes[offset..];
        let text_start = at
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(0);
        if at[text_start..].starts_with(b"xref") {
            queue.extend(classic_trailer_offsets(&at[text_start..]));
            continue;
        }
        let Some(stream) = stream_at(bytes, offset) else {
            continue;
        };
        match decode(&stream, budget) {
            Ok(_) | Err(DecodeError::Unsupported) => {}
            Err(DecodeError::OverBudget) => return Err(LoadFailure::OverBudget),
            Err(DecodeError::Corrupt(detail)) => {
                return Err(LoadFailure::Malformed(format!(
                    "cross-reference stream at byte {offset}: {detail}"
                )))
            }
        }
        for key in [&b"Prev"[..], b"XRefStm"] {
            if let Ok(next) = stream.dict.get(key).and_then(Object::as_i64) {
                queue.extend(usize::try_from(next).ok());
            }
        }
    }
    Ok(())
}

/// The offset after the last `startxref` (as lopdf finds it).
fn startxref(bytes: &[u8]) -> Option<usize> {
    let pos = bytes.windows(9).rposition(|w| w == b"startxref")?;
    let digits: Vec<u8> = bytes[pos + 9..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .take(20)
        .copied()
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// `/Prev N` and `/XRefStm N` in a classic trailer (after `trailer`, within 64 KiB).
fn classic_trailer_offsets(at: &[u8]) -> Vec<usize> {
    let Some(start) = at.windows(7).position(|w| w == b"trailer") else {
        return Vec::new();
    };
    let trailer = &at[start..at.len().min(start + 64 * 1024)];
    let mut out = Vec::new();
    for key in [&b"/Prev"[..], b"/XRefStm"] {
        for pos in (0..trailer.len()).filter(|&i| trailer[i..].starts_with(key)) {
            let digits: String = trailer[pos + key.len()..]
                .iter()
                .skip_while(|b| b.is_ascii_whitespace())
                .take_while(|b| b.is_ascii_digit())
                .take(20)
                .map(|&b| b as char)
                .collect();
            out.extend(digits.parse::<usize>().ok());
        }
    }
    out
}

/// The stream object at `offset`, parsed by lopdf's own parser (not decoded), as lopdf's
/// reader sees it while it reads the cross-reference chain.
fn stream_at(bytes: &[u8], offset: usize) -> Option<Stream> {
    let id = object_header(&bytes[offset..])?;
    let mut reader = Reader {
        buffer: bytes,
        document: PdfDocument::new(),
    };
    let offset = u32::try_from(offset).ok()?;
    reader.document.reference_table.insert(
        id.0,
        XrefEntry::Normal {
            offset,
            generation: id.1,
        },
    );
    match reader.get_object(id, &mut HashSet::new()) {
        Ok(Object::Stream(stream)) => Some(stream),
        _ => None,
    }
}

/// `N G obj` at the start of `at`.
fn object_header(at: &[u8]) -> Option<ObjectId> {
    let text = std::str::from_utf8(&at[..at.len().min(64)])
        .unwrap_or_else(|e| std::str::from_utf8(&at[..e.valid_up_to()]).unwrap_or_default());
    let mut words = text.split_ascii_whitespace();
    let number = words.next()?.parse().ok()?;
    let generation = words.next()?.parse().ok()?;
    words
        .next()?
        .starts_with("obj")
        .then_some((number, generation))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flate(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(data).expect("in memory");
        encoder.finish().expect("in memory")
    }

    #[test]
    fn inflation_stops_at_the_budget() {
        let mut dict = lopdf::Dictionary::new();
        dict.set("Filter", "FlateDecode");
        let stream = Stream::new(dict, flate(&vec![0u8; 1 << 20]));
        let mut small = Budget::new(1000);
        assert_eq!(decode(&stream, &mut small), Err(DecodeError::OverBudget));
        let mut enough = Budget::new(2 << 20);
        assert_eq!(decode(&stream, &mut enough).expect("fits").len(), 1 << 20);
        assert_eq!(enough.left, 1 << 20);
    }

    #[test]
    fn a_hostile_predictor_row_is_refused() {
        let mut dict = lopdf::Dictionary::new();
        dict.set("Filter", "FlateDecode");
        let mut params = lopdf::Dictionary::new();
        params.set("Predictor", 12);
        params.set("Columns", 1i64 << 40);
        dict.set("DecodeParms", params);
        let stream = Stream::new(dict, flate(b"0123456789"));
        let got = decode(&stream, &mut Budget::new(1 << 20));
        assert!(matches!(got, Err(DecodeError::Corrupt(_))), "{got:?}");
    }
}
