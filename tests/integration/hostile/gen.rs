//! A generator of hostile inputs. Everything here is synthetic: built by these functions to
//! hit one bound each (the failures of issue 15), never taken from a real document or log.

use std::io::Write;

/// zlib of `len` zero bytes, written in 1 MiB chunks (fast level: a bomb, not an archive).
pub fn zlib_zeros(len: u64) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let chunk = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        encoder.write_all(&chunk[..n]).expect("in memory");
        left -= n as u64;
    }
    encoder.finish().expect("in memory")
}

pub fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).expect("in memory");
    encoder.finish().expect("in memory")
}

/// A PDF from numbered objects (`(number, body)`; a body holding `stream` keeps its bytes),
/// with a classic cross-reference table.
pub fn pdf(objects: &[(u32, Vec<u8>)], root: u32) -> Vec<u8> {
    let mut out = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (number, body) in objects {
        offsets.push((*number, out.len()));
        out.extend_from_slice(format!("{number} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let size = objects.iter().map(|(n, _)| *n).max().unwrap_or(0) + 1;
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for number in 1..size {
        match offsets.iter().find(|(n, _)| *n == number) {
            Some((_, offset)) => {
                out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes())
            }
            None => out.extend_from_slice(b"0000000000 00000 f \n"),
        }
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {size} /Root {root} 0 R >>\nstartxref\n{xref}\n%%EOF\n")
            .as_bytes(),
    );
    out
}

/// A stream object's body.
pub fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

/// Catalog (1), pages (2), `pages` pages (10..) sharing one content stream (3) and one font (4).
pub fn pdf_with(
    content: Vec<u8>,
    font: Vec<u8>,
    extra: Vec<(u32, Vec<u8>)>,
    pages: u32,
) -> Vec<u8> {
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 10 + i)).collect();
    let mut objects = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
        (
            2,
            format!(
                "<< /Type /Pages /Kids [{}] /Count {pages} >>",
                kids.join(" ")
            )
            .into_bytes(),
        ),
        (3, content),
        (4, font),
    ];
    for i in 0..pages {
        objects.push((
            10 + i,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R /Resources << /Font << /F1 4 0 R >> >> >>".to_vec(),
        ));
    }
    objects.extend(extra);
    pdf(&objects, 1)
}

fn plain_font() -> Vec<u8> {
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec()
}

fn text_content() -> Vec<u8> {
    stream(
        "",
        b"BT /F1 12 Tf 72 700 Td (Synthetic hostile test page) Tj ET",
    )
}

/// The ToUnicode CMap that repeats one full range 20,000 times (1.9 KB compressed), on
/// `pages` pages sharing the font.
pub fn pdf_cmap_repeated_range(pages: u32) -> Vec<u8> {
    let mut cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n1 begincodespacerange <00> <FF> endcodespacerange\n20000 beginbfrange\n".to_vec();
    for _ in 0..20_000 {
        cmap.extend_from_slice(b"<0000> <FFFF> <0041>\n");
    }
    cmap.extend_from_slice(
        b"endbfrange endcmap CMapName currentdict /CMap defineresource pop end end\n",
    );
    let font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 5 0 R >>".to_vec();
    let cmap_stream = stream("/Filter /FlateDecode", &zlib(&cmap));
    pdf_with(text_content(), font, vec![(5, cmap_stream)], pages)
}

/// A page content stream that inflates to `len` bytes, compressed twice (a few KB on disk).
pub fn pdf_flate_bomb_content(len: u64) -> Vec<u8> {
    let twice = zlib(&zlib_zeros(len));
    let content = stream("/Filter [/FlateDecode /FlateDecode]", &twice);
    pdf_with(content, plain_font(), vec![], 1)
}

/// One page whose `Contents` lists one plain 1 MiB stream `times` times.
pub fn pdf_content_listed_many_times(times: usize) -> Vec<u8> {
    let mut text = b"BT /F1 12 Tf 72 700 Td (synthetic) Tj ET\n".to_vec();
    text.resize(1 << 20, b' ');
    let contents = vec!["3 0 R"; times].join(" ");
    let page = format!(
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents [{contents}] /Resources << /Font << /F1 4 0 R >> >> >>"
    );
    let objects = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
        (2, b"<< /Type /Pages /Kids [10 0 R] /Count 1 >>".to_vec()),
        (3, stream("", &text)),
        (4, plain_font()),
        (10, page.into_bytes()),
    ];
    pdf(&objects, 1)
}

/// An object stream whose one object is an array nested `depth` deep.
pub fn pdf_object_stream_deep(depth: usize) -> Vec<u8> {
    let mut object = "[".repeat(depth).into_bytes();
    object.extend(std::iter::repeat_n(b']', depth));
    let header = b"20 0 ".to_vec();
    let mut data = header.clone();
    data.extend_from_slice(&object);
    let dict = format!(
        "/Type /ObjStm /N 1 /First {} /Filter /FlateDecode",
        header.len()
    );
    let objstm = stream(&dict, &zlib(&data));
    pdf_with(text_content(), plain_font(), vec![(6, objstm)], 1)
}

/// An object stream that inflates to `len` bytes.
pub fn pdf_object_stream_bomb(len: u64) -> Vec<u8> {
    let dict = "/Type /ObjStm /N 1 /First 5 /Filter [/FlateDecode /FlateDecode]";
    let objstm = stream(dict, &zlib(&zlib_zeros(len)));
    pdf_with(text_content(), plain_font(), vec![(6, objstm)], 1)
}

/// A PDF whose `startxref` points at a cross-reference stream that inflates to `len` bytes.
pub fn pdf_xref_stream_bomb(len: u64) -> Vec<u8> {
    let mut out = pdf_with(text_content(), plain_font(), vec![], 1);
    let cut = out
        .windows(4)
        .rposition(|w| w == b"xref")
        .expect("has an xref");
    out.truncate(cut);
    let xref_offset = out.len();
    let body = stream(
        "/Type /XRef /Size 11 /W [1 4 2] /Root 1 0 R /Filter [/FlateDecode /FlateDecode]",
        &zlib(&zlib_zeros(len)),
    );
    out.extend_from_slice(b"99 0 obj\n");
    out.extend_from_slice(&body);
    out.extend_from_slice(format!("\nendobj\nstartxref\n{xref_offset}\n%%EOF\n").as_bytes());
    out
}

/// An object hidden inside stream data (where the file scan skips), nested `depth` deep, that
/// the cross-reference table points at.
pub fn pdf_object_hidden_in_stream(depth: usize) -> Vec<u8> {
    let mut hidden = b"7 0 obj\n".to_vec();
    hidden.extend(std::iter::repeat_n(b'[', depth));
    let carrier = stream("", &hidden);
    let mut out = pdf_with(text_content(), plain_font(), vec![(6, carrier)], 1);
    // Point object 7's entry at the hidden header (the table lists 0..=10 by now: rebuild).
    let hidden_at = out
        .windows(8)
        .position(|w| w == b"7 0 obj\n")
        .expect("hidden object");
    let table = out
        .windows(6)
        .rposition(|w| w == b"\nxref\n")
        .expect("xref")
        + 1;
    let entry_at = table + b"xref\n0 11\n".len() + 20 * 7;
    out[entry_at..entry_at + 20].copy_from_slice(format!("{hidden_at:010} 00000 n \n").as_bytes());
    out
}

/// `n` nested `<div>` elements.
pub fn html_nested_divs(n: usize) -> String {
    let mut html = String::with_capacity(n * 11 + 32);
    html.push_str("<html><body>");
    for _ in 0..n {
        html.push_str("<div>");
    }
    html.push('x');
    for _ in 0..n {
        html.push_str("</div>");
    }
    html
}

/// A table whose first row spans `colspan` columns, then `rows` one-cell rows.
pub fn html_wide_table(colspan: u32, rows: usize) -> String {
    let mut html = format!("<table><tr><td colspan={colspan}>wide</td></tr>");
    for _ in 0..rows {
        html.push_str("<tr><td>x</td></tr>");
    }
    html.push_str("</table>");
    html
}

/// A Markdown table of `cols` columns and `rows` rows.
pub fn markdown_wide_table(cols: usize, rows: usize) -> String {
    let mut md = String::new();
    md.push_str(&"|h".repeat(cols));
    md.push_str("|\n");
    md.push_str(&"|-".repeat(cols));
    md.push_str("|\n");
    let row = format!("{}|\n", "|x".repeat(cols));
    for _ in 0..rows {
        md.push_str(&row);
    }
    md
}

/// `n` nested block quotes.
pub fn markdown_nested_quotes(n: usize) -> String {
    format!("{} deep\n", ">".repeat(n))
}

/// A DOCX (zip) with `word/document.xml` as given.
pub fn docx(document_xml: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("word/document.xml", options)
        .expect("in memory");
    zip.write_all(document_xml.as_bytes()).expect("in memory");
    zip.finish().expect("in memory").into_inner()
}

/// A DOCX table row spanning `span` grid columns, then `rows` one-cell rows.
pub fn docx_wide_table(span: u32, rows: usize) -> Vec<u8> {
    let mut xml = String::from(r#"<w:document xmlns:w="w"><w:body><w:tbl>"#);
    xml.push_str(&format!(
        r#"<w:tr><w:tc><w:tcPr><w:gridSpan w:val="{span}"/></w:tcPr><w:p><w:r><w:t>wide</w:t></w:r></w:p></w:tc></w:tr>"#
    ));
    for _ in 0..rows {
        xml.push_str("<w:tr><w:tc><w:p><w:r><w:t>x</w:t></w:r></w:p></w:tc></w:tr>");
    }
    xml.push_str("</w:tbl></w:body></w:document>");
    docx(&xml)
}

/// A log of `jobs` plausible jobs, then the given tail lines.
pub fn log_with(jobs: usize, tail: &str) -> String {
    let mut log = String::new();
    for job in 1..=jobs {
        log.push_str(&format!(
            "[JOB EXEC] job_id=j{job} | task_id=t{job}\n[MEMORY] job_id=j{job} | rss={}MB | jobs_total={job}\n",
            1000 + job
        ));
    }
    log.push_str(tail);
    log
}
