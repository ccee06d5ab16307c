//! CSV (and TSV, `;`- or `|`-separated): one table, the first row as the header, short rows
//! padded to the widest one. The delimiter is sniffed from the first lines.

use super::model::{Document, ItemKind, Table};
use super::{plain_pages, DocumentError, DocumentFormat, Limits};

/// Parses a delimited text file into a one-table document.
pub fn parse(name: &str, bytes: &[u8], limits: &Limits) -> Result<Document, DocumentError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let delimiter = sniff_delimiter(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut cell_count = 0usize;
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) => return Err(DocumentError::malformed(name, DocumentFormat::Csv, err)),
        }
        cell_count += record.len();
        if cell_count > limits.max_table_cells {
            return Err(DocumentError::too_large(
                name,
                format!("more than {} table cells", limits.max_table_cells),
            ));
        }
        rows.push(
            record
                .iter()
                .map(|field| String::from_utf8_lossy(field).trim().to_string())
                .collect(),
        );
    }
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    if width.saturating_mul(rows.len()) > limits.max_table_cells {
        return Err(DocumentError::too_large(
            name,
            format!("more than {} table cells", limits.max_table_cells),
        ));
    }
    for row in &mut rows {
        row.resize(width, String::new());
    }
    let mut doc = Document::new(name, DocumentFormat::Csv);
    doc.pages = plain_pages(1);
    if !rows.is_empty() {
        doc.push(1, ItemKind::Table(Table::from_rows(rows, 1)));
    }
    Ok(doc)
}

/// The delimiter among `,` `;` tab `|` that appears most consistently in the first lines
/// (quoted fields are skipped); `,` when none does.
fn sniff_delimiter(bytes: &[u8]) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b'\t', b';', b'|'];
    let head = &bytes[..bytes.len().min(16 * 1024)];
    let lines: Vec<&[u8]> = head
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .take(20)
        .collect();
    let mut best = (b',', 0usize, 0usize);
    for candidate in CANDIDATES {
        let counts: Vec<usize> = lines
            .iter()
            .map(|line| {
                let mut quoted = false;
                line.iter()
                    .filter(|&&b| {
                        if b == b'"' {
                            quoted = !quoted;
                        }
                        !quoted && b == candidate
                    })
                    .count()
            })
            .collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        if first == 0 {
            continue;
        }
        let consistent = counts.iter().filter(|&&c| c == first).count();
        if (consistent, first) > (best.1, best.2) {
            best = (candidate, consistent, first);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_rows_and_sniffs_tabs() {
        let doc = parse("a.tsv", b"a\tb\n1\t2\t3\n", &Limits::default()).expect("parses");
        let ItemKind::Table(t) = &doc.items[0].kind else {
            panic!("not a table")
        };
        assert_eq!(t.grid(), vec![vec!["a", "b", ""], vec!["1", "2", "3"]]);
        assert!(t.cells[0].column_header && !t.cells[3].column_header);
    }

    #[test]
    fn quoted_commas_stay_in_cells() {
        let doc = parse("q.csv", b"x,y\n\"a, b\",c\n", &Limits::default()).expect("parses");
        let ItemKind::Table(t) = &doc.items[0].kind else {
            panic!("not a table")
        };
        assert_eq!(t.grid()[1], vec!["a, b", "c"]);
    }

    #[test]
    fn cell_limit_holds() {
        let limits = Limits {
            max_table_cells: 10,
            ..Limits::default()
        };
        let bytes = b"1,2,3,4\n".repeat(10);
        assert!(matches!(
            parse("big.csv", &bytes, &limits),
            Err(DocumentError::TooLarge { .. })
        ));
    }
}
