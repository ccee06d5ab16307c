//! A linear pre-scan of HTML's element nesting, run before html5ever builds the tree: the tree
//! builder's scope checks walk the stack of open elements for each tag, so 10^5 nested
//! `<div>` took 48 s (and 10^6 hung) before the walk's depth check saw the tree.
//!
//! The scan follows the tokenizer closely enough to bound what the tree builder can nest:
//! comments, doctypes and raw-text elements (`script`, `style`, ...) are skipped, void
//! elements do not nest, elements whose end tag is optional (`p`, `li`, `td`, ...) do not
//! count (a new one closes the previous one), an end tag closes up to its open element and is
//! ignored when nothing matches, and `/>` closes only inside SVG and MathML. The walk over the
//! built tree still checks the exact depth.

/// Elements without content.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "frame", "basefont", "bgsound",
];

/// Elements whose end tag may be left out: a sibling start tag closes them, so they do not
/// add nesting of their own.
const OPTIONAL_END: &[&str] = &[
    "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody", "tfoot",
    "colgroup", "caption", "rb", "rt", "rp", "rtc", "html", "head", "body",
];

/// Elements whose content is text up to their end tag.
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript",
];

/// Whether the element nesting may pass `max_depth` (checked in one pass; the stack of open
/// elements it keeps never holds more than `max_depth + 1` names).
pub(crate) fn too_deep(html: &str, max_depth: usize) -> bool {
    let bytes = html.as_bytes();
    let mut open: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(lt) = memchr(b'<', &bytes[i..]) {
        i += lt + 1;
        match bytes.get(i) {
            Some(b'!') => i = skip_markup_declaration(bytes, i),
            Some(b'?') => i = skip_past(bytes, i, b">"),
            Some(b'/') => {
                let (name, end) = tag_name(bytes, i + 1);
                i = skip_tag(bytes, end).0;
                if !name.is_empty() {
                    if let Some(pos) = open.iter().rposition(|n| *n == name) {
                        open.truncate(pos);
                    }
                }
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let (name, end) = tag_name(bytes, i);
                let (after, self_closing) = skip_tag(bytes, end);
                i = after;
                let foreign = open.iter().any(|n| n == "svg" || n == "math");
                if RAW_TEXT.contains(&name.as_str()) {
                    i = skip_raw_text(bytes, i, &name);
                    continue;
                }
                if VOID.contains(&name.as_str())
                    || OPTIONAL_END.contains(&name.as_str())
                    || (self_closing && foreign)
                {
                    continue;
                }
                open.push(name);
                if open.len() > max_depth {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| from + p)
}

/// The index just past `needle` (or the end of the input).
fn skip_past(bytes: &[u8], from: usize, needle: &[u8]) -> usize {
    find(bytes, from, needle).map_or(bytes.len(), |p| p + needle.len())
}

/// `<!-- ... -->`, `<!DOCTYPE ...>`, `<![CDATA[ ... ]]>`.
fn skip_markup_declaration(bytes: &[u8], i: usize) -> usize {
    if bytes[i..].starts_with(b"!--") {
        skip_past(bytes, i + 3, b"-->")
    } else if bytes[i..].starts_with(b"![CDATA[") {
        skip_past(bytes, i + 8, b"]]>")
    } else {
        skip_past(bytes, i, b">")
    }
}

/// The lower-case tag name starting at `i`, and the index after it.
fn tag_name(bytes: &[u8], i: usize) -> (String, usize) {
    let end = bytes[i.min(bytes.len())..]
        .iter()
        .position(|b| b.is_ascii_whitespace() || *b == b'/' || *b == b'>')
        .map_or(bytes.len(), |p| i + p);
    let name = String::from_utf8_lossy(&bytes[i.min(end)..end]).to_ascii_lowercase();
    (name, end)
}

/// Skips attributes (quoted values may hold `>`) to just past the tag's `>`; whether the tag
/// ended with `/>`.
fn skip_tag(bytes: &[u8], mut i: usize) -> (usize, bool) {
    let mut quote: Option<u8> = None;
    let mut last = 0u8;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'>' => return (i + 1, last == b'/'),
            None => {}
        }
        if !b.is_ascii_whitespace() {
            last = b;
        }
        i += 1;
    }
    (bytes.len(), false)
}

/// Skips a raw-text element's content up to and past its end tag.
fn skip_raw_text(bytes: &[u8], from: usize, name: &str) -> usize {
    let closing = format!("</{name}");
    match find(bytes, from, closing.as_bytes()) {
        Some(p) => skip_tag(bytes, p + closing.len()).0,
        None => bytes.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_the_tree_builder_nests() {
        let deep = "<div>".repeat(300);
        assert!(too_deep(&deep, 256));
        assert!(!too_deep(&"<div></div>".repeat(10_000), 256));
        // Siblings that close each other, void and self-closed SVG elements do not nest.
        assert!(!too_deep(&"<p>text".repeat(10_000), 256));
        assert!(!too_deep(&"<li>item<br>".repeat(10_000), 256));
        let svg = format!("<svg>{}</svg>", "<path d='M0>0'/>".repeat(1000));
        assert!(!too_deep(&svg, 256));
        // Unmatched end tags do not close anything; comments and scripts hide tags.
        assert!(too_deep(&"<div></x>".repeat(300), 256));
        let hidden = format!(
            "<!--{}--><script>{}</script>",
            "<b>".repeat(300),
            "<i>".repeat(300)
        );
        assert!(!too_deep(&hidden, 256));
    }
}
