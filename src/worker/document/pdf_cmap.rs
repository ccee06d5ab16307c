//! PDF ToUnicode CMaps (`bfchar`, `bfrange` with offsets or arrays), read here because
//! lopdf 0.34 refuses many real ones (`UnsupportedCodeSpaceRange`). Entries are bounded.

use std::collections::HashMap;

/// A ToUnicode CMap: character codes (1 to 4 bytes) to text.
pub(crate) struct ToUnicode {
    pub(crate) code_bytes: usize,
    map: HashMap<u32, String>,
}

/// The most entries read from one CMap (a hostile `bfrange` could name four billion).
const MAX_CMAP_ENTRIES: usize = 1 << 17;
/// The most codes one CMap may expand, counted over every range (a range repeated 20,000
/// times cost 20,000 x 65,536 insertions when only distinct keys were counted): the rest of
/// the CMap is not read.
const MAX_CMAP_WORK: u64 = 1 << 18;

/// The document's budget of codes expanded from ToUnicode CMaps, shared by every font.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CmapBudget {
    left: u64,
}

/// The document's CMaps expanded more codes than its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CmapBudgetExceeded;

impl CmapBudget {
    pub(crate) fn new(max_codes: u64) -> Self {
        CmapBudget { left: max_codes }
    }
}

/// Counts one CMap's work: its own cap (stops reading), and the document's (an error).
struct Work<'b> {
    done: u64,
    budget: &'b mut CmapBudget,
}

impl Work<'_> {
    /// Counts one expanded code; `Ok(false)` when this CMap's cap is reached.
    fn step(&mut self) -> Result<bool, CmapBudgetExceeded> {
        if self.done >= MAX_CMAP_WORK {
            return Ok(false);
        }
        self.budget.left = self.budget.left.checked_sub(1).ok_or(CmapBudgetExceeded)?;
        self.done += 1;
        Ok(true)
    }
}

impl ToUnicode {
    /// Reads a CMap; `Ok(None)` when it maps nothing. The codes expanded are counted against
    /// this CMap's cap and the document's `budget`.
    pub(crate) fn parse(
        bytes: &[u8],
        budget: &mut CmapBudget,
    ) -> Result<Option<ToUnicode>, CmapBudgetExceeded> {
        let mut work = Work { done: 0, budget };
        let tokens = cmap_tokens(bytes);
        let mut code_bytes = 0usize;
        let mut map = HashMap::new();
        let mut i = 0;
        let hex_value = |h: &[u8]| {
            h.iter()
                .take(4)
                .fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
        };
        while i < tokens.len() {
            match &tokens[i] {
                CMapToken::Word(w) if w == b"begincodespacerange" => {
                    if let Some(CMapToken::Hex(lo)) = tokens.get(i + 1) {
                        code_bytes = code_bytes.max(lo.len().clamp(1, 4));
                    }
                }
                CMapToken::Word(w) if w == b"beginbfchar" => {
                    i += 1;
                    while let (Some(CMapToken::Hex(src)), Some(CMapToken::Hex(dst))) =
                        (tokens.get(i), tokens.get(i + 1))
                    {
                        if !work.step()? {
                            break;
                        }
                        if map.len() < MAX_CMAP_ENTRIES {
                            map.insert(hex_value(src), utf16_text(dst));
                        }
                        i += 2;
                    }
                    continue;
                }
                CMapToken::Word(w) if w == b"beginbfrange" => {
                    i += 1;
                    while let (Some(CMapToken::Hex(lo)), Some(CMapToken::Hex(hi))) =
                        (tokens.get(i), tokens.get(i + 1))
                    {
                        let (lo, hi) = (hex_value(lo), hex_value(hi));
                        match tokens.get(i + 2) {
                            Some(CMapToken::Hex(dst)) => {
                                let mut units: Vec<u16> = dst
                                    .chunks(2)
                                    .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                                    .collect();
                                for code in lo..=hi.min(lo.saturating_add(0xffff)) {
                                    if map.len() >= MAX_CMAP_ENTRIES || !work.step()? {
                                        break;
                                    }
                                    map.insert(code, String::from_utf16_lossy(&units));
                                    if let Some(last) = units.last_mut() {
                                        *last = last.wrapping_add(1);
                                    }
                                }
                                i += 3;
                            }
                            Some(CMapToken::Open) => {
                                let mut j = i + 3;
                                let mut code = lo;
                                while let Some(CMapToken::Hex(dst)) = tokens.get(j) {
                                    if !work.step()? {
                                        break;
                                    }
                                    if code <= hi && map.len() < MAX_CMAP_ENTRIES {
                                        map.insert(code, utf16_text(dst));
                                    }
                                    code = code.saturating_add(1);
                                    j += 1;
                                }
                                i = j + 1;
                            }
                            _ => break,
                        }
                    }
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        Ok((!map.is_empty()).then_some(ToUnicode {
            code_bytes: code_bytes.max(1),
            map,
        }))
    }

    pub(crate) fn decode(&self, bytes: &[u8], out: &mut String) {
        for chunk in bytes.chunks(self.code_bytes) {
            let code = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
            if let Some(text) = self.map.get(&code) {
                out.extend(text.chars().filter(|c| !c.is_control() || *c == ' '));
            }
        }
    }
}

fn utf16_text(hex: &[u8]) -> String {
    let units: Vec<u16> = hex
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
        .collect();
    String::from_utf16_lossy(&units)
}

enum CMapToken {
    Hex(Vec<u8>),
    Word(Vec<u8>),
    Open,
    Close,
}

fn cmap_tokens(bytes: &[u8]) -> Vec<CMapToken> {
    let mut tokens = Vec::new();
    let mut i = 0;
    let hex_digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    while i < bytes.len() {
        match bytes[i] {
            b'<' if bytes.get(i + 1) != Some(&b'<') => {
                let mut digits = Vec::new();
                i += 1;
                while i < bytes.len() && bytes[i] != b'>' {
                    if let Some(d) = hex_digit(bytes[i]) {
                        digits.push(d);
                    }
                    i += 1;
                }
                if digits.len() % 2 == 1 {
                    digits.push(0);
                }
                tokens.push(CMapToken::Hex(
                    digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect(),
                ));
            }
            b'[' => tokens.push(CMapToken::Open),
            b']' => tokens.push(CMapToken::Close),
            b'%' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b if b.is_ascii_alphanumeric() => {
                let start = i;
                while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                    i += 1;
                }
                tokens.push(CMapToken::Word(bytes[start..i].to_vec()));
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_unicode_cmaps_decode() {
        let cmap = b"1 begincodespacerange <0000> <FFFF> endcodespacerange 2 beginbfchar <0003> <0020> <0014> <0031> endbfchar 1 beginbfrange <0024> <0026> <0041> <0030> <0031> [<0078> <0079>] endbfrange";
        let cmap = ToUnicode::parse(cmap, &mut CmapBudget::new(1000))
            .expect("within the budget")
            .expect("maps codes");
        let mut out = String::new();
        cmap.decode(
            &[0, 0x24, 0, 0x26, 0, 3, 0, 0x14, 0, 0x31, 0, 0x99],
            &mut out,
        );
        assert_eq!(out, "AC 1y");
    }

    #[test]
    fn a_range_repeated_20000_times_is_bounded_work() {
        let mut cmap =
            b"1 begincodespacerange <0000> <FFFF> endcodespacerange 20000 beginbfrange ".to_vec();
        for _ in 0..20_000 {
            cmap.extend_from_slice(b"<0000> <FFFF> <0041> ");
        }
        cmap.extend_from_slice(b"endbfrange");
        let started = std::time::Instant::now();
        let mut budget = CmapBudget::new(u64::MAX);
        let parsed = ToUnicode::parse(&cmap, &mut budget).expect("within the budget");
        assert!(parsed.is_some());
        assert_eq!(u64::MAX - budget.left, MAX_CMAP_WORK);
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
        let mut small = CmapBudget::new(1000);
        assert_eq!(
            ToUnicode::parse(&cmap, &mut small).err(),
            Some(CmapBudgetExceeded)
        );
    }
}
