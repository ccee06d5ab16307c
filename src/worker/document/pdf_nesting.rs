//! The nesting of PDF arrays and dictionaries, measured before lopdf's recursive parser sees
//! the bytes (it has no depth bound: a deep array overflows the stack).
//!
//! Two measures: [`max_nesting`] scans the bytes as a whole, skipping literal strings,
//! comments and stream data (binary data holds random brackets); [`max_object_nesting`]
//! measures, from every `obj` and `trailer` keyword, the object that follows as lopdf would
//! parse it from there, because a cross-reference entry may point into what the first scan
//! skipped (stream data, a string) and lopdf would parse an object there.

/// The deepest nesting of `[` and `<<` outside literal strings, comments and stream data.
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
            b'%' => i = skip_comment(bytes, i),
            b'(' => {
                i = skip_string(bytes, i);
                continue;
            }
            b's' if is_stream_keyword(bytes, i) => {
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

/// The deepest object that starts after an `obj` or `trailer` keyword anywhere in the bytes
/// (inside strings and stream data too); `None` when measuring would take more than
/// `max_work` bytes of scanning in all (objects overlapping on purpose).
pub(crate) fn max_object_nesting(bytes: &[u8], limit: usize, max_work: usize) -> Option<usize> {
    let mut work = 0usize;
    let mut deepest = 0usize;
    let mut i = 0usize;
    while i + 3 <= bytes.len() {
        let keyword = if bytes[i..].starts_with(b"obj") {
            3
        } else if bytes[i..].starts_with(b"trailer") {
            7
        } else {
            i += 1;
            continue;
        };
        let (depth, scanned) = object_depth(&bytes[i + keyword..], limit);
        work += scanned;
        deepest = deepest.max(depth);
        if deepest > limit {
            return Some(deepest);
        }
        if work > max_work {
            return None;
        }
        i += keyword;
    }
    Some(deepest)
}

/// The nesting of the one object at the start of `bytes` (after whitespace and comments),
/// measured until it closes or passes `limit`; and the bytes scanned.
fn object_depth(bytes: &[u8], limit: usize) -> (usize, usize) {
    let mut i = 0;
    while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'%') {
        i = if bytes[i] == b'%' {
            skip_comment(bytes, i) + 1
        } else {
            i + 1
        };
    }
    let opens = |i: usize| bytes.get(i) == Some(&b'[') || bytes[i..].starts_with(b"<<");
    if i >= bytes.len() || !opens(i) {
        return (0, i);
    }
    let (mut depth, mut max_depth) = (0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'[' => depth += 1,
            b'<' if bytes.get(i + 1) == Some(&b'<') => {
                depth += 1;
                i += 1;
            }
            b']' => depth = depth.saturating_sub(1),
            b'>' if bytes.get(i + 1) == Some(&b'>') => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'%' => i = skip_comment(bytes, i),
            b'(' => {
                i = skip_string(bytes, i);
                continue;
            }
            _ => {}
        }
        max_depth = max_depth.max(depth);
        i += 1;
        if depth == 0 || max_depth > limit {
            break;
        }
    }
    (max_depth, i)
}

/// The index of the end of line that ends the comment at `i`.
fn skip_comment(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
        i += 1;
    }
    i
}

/// The index just past the literal string opening at `i` (balanced parentheses, escapes).
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
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
    i
}

/// `stream` as lopdf reads it: after a dictionary's `>>` (and whitespace), before an end of
/// line. (`/stream` as a name, or the word in a string, is not one.)
fn is_stream_keyword(bytes: &[u8], i: usize) -> bool {
    if !bytes[i..].starts_with(b"stream") {
        return false;
    }
    let before = bytes[..i]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map(|p| &bytes[..=p]);
    let after_dict = before.is_some_and(|b| b.ends_with(b">>"));
    let eol = matches!(bytes.get(i + 6), Some(b'\n' | b'\r'));
    after_dict && eol
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
        assert_eq!(max_nesting(b"<< >> stream\n[[[[[[\nendstream [x]"), 1);
        // A name `/stream` does not start stream data.
        assert_eq!(max_nesting(b"<< /stream [[[[ ]]]] /x (endstream) >>"), 5);
    }

    #[test]
    fn objects_hidden_in_stream_data_or_strings_are_measured() {
        let mut pdf = b"1 0 obj << /Length 9 >> stream\n".to_vec();
        pdf.extend_from_slice(b"2 0 obj ");
        pdf.extend(std::iter::repeat_n(b'[', 500));
        pdf.extend_from_slice(b"\nendstream endobj 3 0 obj (4 0 obj [[[[) endobj");
        assert!(max_nesting(&pdf) < 10);
        assert_eq!(max_object_nesting(&pdf, 256, 1 << 20), Some(257));
        let strings = b"3 0 obj (4 0 obj [[[[) endobj";
        assert_eq!(max_object_nesting(strings, 256, 1 << 20), Some(4));
    }

    #[test]
    fn overlapping_objects_are_bounded_in_work() {
        // Each `obj [` inside a string starts an array that only the last `]` closes.
        let mut hostile = b"1 0 obj [ ".to_vec();
        hostile.extend(b"(obj [) ".repeat(20_000));
        hostile.push(b']');
        assert_eq!(max_object_nesting(&hostile, 256, 1 << 20), None);
        // The same objects side by side are linear work.
        let side_by_side = b"1 0 obj [ (x) ] endobj ".repeat(20_000);
        assert_eq!(max_object_nesting(&side_by_side, 256, 1 << 20), Some(1));
    }
}
