//! The document layer against the shared docling corpus (token F1 of our Markdown against
//! docling's groundtruth, JSON round trips), generated documents, and hostile input.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use docling_memprof::worker::document::{
    self, parse, parse_pages, DocumentError, DocumentFormat, Limits,
};
use docling_memprof::worker::export::{export, from_json};
use docling_memprof::worker::OutputFormat;
use docling_memprof::workload::generate::generate;

use crate::util::corpus_dir;

/// Lower-cased alphanumeric tokens (punctuation and whitespace separate and vanish).
fn tokens(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for token in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
    {
        *counts.entry(token.to_lowercase()).or_insert(0) += 1;
    }
    counts
}

/// Token multiset F1 between a candidate and a reference text.
fn token_f1(candidate: &str, reference: &str) -> f64 {
    let (c, r) = (tokens(candidate), tokens(reference));
    let (c_total, r_total) = (c.values().sum::<usize>(), r.values().sum::<usize>());
    if c_total == 0 && r_total == 0 {
        return 1.0;
    }
    let common: usize = c
        .iter()
        .map(|(t, n)| (*n).min(*r.get(t).unwrap_or(&0)))
        .sum();
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / c_total as f64;
    let recall = common as f64 / r_total as f64;
    2.0 * precision * recall / (precision + recall)
}

/// The corpus documents of one format folder with their groundtruth Markdown (when present).
fn corpus_files(corpus: &Path, folder: &str) -> Vec<(PathBuf, Option<PathBuf>)> {
    let mut files: Vec<_> = std::fs::read_dir(corpus.join(folder))
        .map(|dir| {
            dir.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let file_name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let stem = path
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let truth = [format!("{file_name}.md"), format!("{stem}.md")]
                .into_iter()
                .map(|n| corpus.join(folder).join("groundtruth").join(n))
                .find(|p| p.is_file());
            (path, truth)
        })
        .collect()
}

/// Floors of the mean token F1 per format, set after measuring (see BENCHMARKS.md).
const F1_FLOORS: [(&str, f64); 5] = [
    ("md", 0.93),
    ("html", 0.90),
    ("csv", 0.97),
    ("docx", 0.90),
    ("pdf", 0.88),
];

#[test]
fn corpus_converts_with_docling_like_markdown_and_lossless_json() {
    let Some(corpus) = corpus_dir() else { return };
    let limits = Limits::default();
    let mut report = String::new();
    let mut failures = Vec::new();
    for (folder, floor) in F1_FLOORS {
        let mut scores = Vec::new();
        for (path, truth) in corpus_files(&corpus, folder) {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = std::fs::read(&path).expect("corpus file reads");
            let doc = match parse(&name, &bytes, &limits) {
                Ok(doc) => doc,
                Err(err) => panic!("{name}: {err}"),
            };
            let markdown = export(&doc, OutputFormat::Md);
            let json = export(&doc, OutputFormat::Json);
            let back =
                from_json(&json).unwrap_or_else(|e| panic!("{name}: JSON does not read back: {e}"));
            assert_eq!(back, doc, "{name}: JSON round trip changed the document");
            assert!(
                !export(&doc, OutputFormat::Html).is_empty()
                    && !export(&doc, OutputFormat::Text).is_empty()
                    || doc.items.is_empty()
            );
            if let Some(truth) = truth {
                let reference = std::fs::read_to_string(&truth).expect("groundtruth reads");
                let f1 = token_f1(&markdown, &reference);
                report.push_str(&format!("  {folder:5} {f1:.3} {name}\n"));
                scores.push(f1);
            }
        }
        assert!(
            !scores.is_empty(),
            "no {folder} documents with groundtruth in the corpus"
        );
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        report.push_str(&format!(
            "{folder}: mean token F1 {mean:.3} over {} documents (floor {floor})\n",
            scores.len()
        ));
        if mean < floor {
            failures.push(format!("{folder}: mean token F1 {mean:.3} < {floor}"));
        }
    }
    eprintln!("{report}");
    assert!(failures.is_empty(), "{failures:?}\n{report}");
}

#[test]
fn pdf_pages_sizes_and_page_range() {
    let Some(corpus) = corpus_dir() else { return };
    let bytes = std::fs::read(corpus.join("pdf/normal_4pages.pdf")).expect("reads");
    let doc = parse("normal_4pages.pdf", &bytes, &Limits::default()).expect("parses");
    assert_eq!(doc.pages.len(), 4);
    for page in &doc.pages {
        let size = page.size.expect("a PDF page has a MediaBox");
        assert!(size.width_pt > 100.0 && size.height_pt > 100.0, "{size:?}");
        assert!(
            doc.items_on_page(page.page_no).count() > 0,
            "page {} has no text",
            page.page_no
        );
    }
    let middle = parse_pages(
        "normal_4pages.pdf",
        &bytes,
        &Limits::default(),
        Some((2, 3)),
    )
    .expect("parses");
    assert_eq!(
        middle.pages.iter().map(|p| p.page_no).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert!(
        middle
            .items
            .iter()
            .all(|i| (2..=3).contains(&i.prov.page_no))
            && !middle.items.is_empty()
    );
    let past = parse_pages(
        "normal_4pages.pdf",
        &bytes,
        &Limits::default(),
        Some((9, 9)),
    );
    assert!(
        matches!(past, Err(DocumentError::BadPageRange { page_count: 4, .. })),
        "{past:?}"
    );
}

#[test]
fn generated_seed_workload_pdf_is_ten_pages_and_about_443_kb() {
    let bytes = generate(DocumentFormat::Pdf, 10, 443_000, 42).expect("generates");
    assert_eq!(
        bytes,
        generate(DocumentFormat::Pdf, 10, 443_000, 42).expect("generates")
    );
    let size_ratio = bytes.len() as f64 / 443_000.0;
    assert!((0.95..1.05).contains(&size_ratio), "{} bytes", bytes.len());
    let doc = parse("seed.pdf", &bytes, &Limits::default()).expect("parses back");
    assert_eq!(doc.pages.len(), 10);
    for page_no in 1..=10 {
        assert!(
            doc.items_on_page(page_no).count() >= 3,
            "page {page_no} lacks text"
        );
    }
    let markdown = export(&doc, OutputFormat::Md);
    assert!(
        markdown.starts_with("## Memory report") || markdown.contains("Memory report"),
        "{}",
        &markdown[..200.min(markdown.len())]
    );
    assert!(markdown.len() > 10 * 1000);
}

#[test]
fn generated_documents_of_every_format_read_back() {
    for format in [
        DocumentFormat::Docx,
        DocumentFormat::Html,
        DocumentFormat::Markdown,
        DocumentFormat::Csv,
    ] {
        for (pages, size_bytes) in [(1, 5_000), (7, 120_000)] {
            let bytes = generate(format, pages, size_bytes, 3).expect("generates");
            assert_eq!(
                bytes,
                generate(format, pages, size_bytes, 3).expect("generates"),
                "{format}"
            );
            let doc = parse(
                &format!("g.{}", format.extension()),
                &bytes,
                &Limits::default(),
            )
            .expect("parses back");
            let expected_pages = if format == DocumentFormat::Csv {
                1
            } else {
                pages as usize
            };
            assert_eq!(doc.pages.len(), expected_pages, "{format} {pages}");
            let ratio = bytes.len() as f64 / size_bytes as f64;
            assert!(
                (0.8..1.3).contains(&ratio),
                "{format}: {} bytes for {size_bytes}",
                bytes.len()
            );
        }
    }
}

fn zip_with(entries: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, data) in entries {
        writer.start_file(*name, options).expect("zip entry");
        writer.write_all(data).expect("zip write");
    }
    writer.finish().expect("zip finish").into_inner()
}

#[test]
fn zip_bomb_is_refused_by_declared_and_actual_sizes() {
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let bomb = zip_with(
        &[("word/document.xml", &zeros)],
        zip::CompressionMethod::Deflated,
    );
    assert!(
        bomb.len() < 64 * 1024,
        "the bomb compresses: {} bytes",
        bomb.len()
    );
    let limits = Limits {
        max_zip_uncompressed_bytes: 1024 * 1024,
        ..Limits::default()
    };
    let err = parse("bomb.docx", &bomb, &limits).unwrap_err();
    assert!(matches!(err, DocumentError::TooLarge { .. }), "{err}");
    assert!(err.to_string().starts_with("bomb.docx:"), "{err}");

    // A lying header: the central directory declares 100 bytes for an entry that inflates to
    // 8 MiB. The declared-size check passes; the actual-size check while inflating stops it.
    let mut lying = bomb.clone();
    patch_declared_sizes(&mut lying, 100);
    let err = parse("lying.docx", &lying, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            DocumentError::TooLarge { .. } | DocumentError::Malformed { .. }
        ),
        "{err}"
    );

    let many: Vec<(String, Vec<u8>)> = (0..50).map(|i| (format!("f{i}"), vec![])).collect();
    let refs: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let crowded = zip_with(&refs, zip::CompressionMethod::Stored);
    let err = parse(
        "many.docx",
        &crowded,
        &Limits {
            max_zip_entries: 10,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, DocumentError::TooLarge { .. }), "{err}");
}

/// Overwrites the uncompressed size in every local and central header.
fn patch_declared_sizes(zip: &mut [u8], size: u32) {
    let mut i = 0;
    while i + 4 <= zip.len() {
        match &zip[i..i + 4] {
            b"PK\x03\x04" if i + 26 <= zip.len() => {
                zip[i + 22..i + 26].copy_from_slice(&size.to_le_bytes())
            }
            b"PK\x01\x02" if i + 28 <= zip.len() => {
                zip[i + 24..i + 28].copy_from_slice(&size.to_le_bytes())
            }
            _ => {}
        }
        i += 1;
    }
}

#[test]
fn truncated_docx_and_garbage_pdf_are_errors() {
    let docx = generate(DocumentFormat::Docx, 2, 10_000, 1).expect("generates");
    for cut in [10, docx.len() / 2, docx.len() - 30] {
        let err = parse("cut.docx", &docx[..cut], &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("cut.docx"), "{err}");
    }
    let mut seed = 0x9e3779b97f4a7c15u64;
    let garbage: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect();
    for bytes in [
        garbage.clone(),
        [b"%PDF-1.7\n".as_slice(), &garbage].concat(),
        b"%PDF-".to_vec(),
    ] {
        let err = document::parse_as(
            "garbage.pdf",
            DocumentFormat::Pdf,
            &bytes,
            &Limits::default(),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("garbage.pdf:"), "{err}");
    }
    let pdf = generate(DocumentFormat::Pdf, 3, 0, 1).expect("generates");
    for cut in [pdf.len() / 3, pdf.len() - 40] {
        // A truncated PDF may still read (lopdf rebuilds what it can) but must not panic.
        let _ = parse("cut.pdf", &pdf[..cut], &Limits::default());
    }
    let deep_pdf = [
        b"%PDF-1.4\n1 0 obj\n".as_slice(),
        &b"[".repeat(100_000),
        b"\nendobj\n",
    ]
    .concat();
    let err = parse("deep.pdf", &deep_pdf, &Limits::default()).unwrap_err();
    assert!(matches!(err, DocumentError::TooDeep { .. }), "{err}");
}

#[test]
fn deeply_nested_html_is_refused_not_overflowed() {
    let deep = format!(
        "<html><body>{}x{}</body></html>",
        "<div>".repeat(50_000),
        "</div>".repeat(50_000)
    );
    let err = parse("deep.html", deep.as_bytes(), &Limits::default()).unwrap_err();
    assert!(
        matches!(err, DocumentError::TooDeep { max_depth: 256, .. }),
        "{err}"
    );
    let lists = "<ul><li>".repeat(5_000);
    assert!(parse("lists.html", lists.as_bytes(), &Limits::default()).is_err());
    let ok = format!("{}x{}", "<div>".repeat(100), "</div>".repeat(100));
    assert!(parse("ok.html", ok.as_bytes(), &Limits::default()).is_ok());
    let deep_md = "> ".repeat(10_000) + "quote";
    assert!(matches!(
        parse("deep.md", deep_md.as_bytes(), &Limits::default()),
        Err(DocumentError::TooDeep { .. })
    ));
    let deep_xml = [
        b"<w:document xmlns:w=\"x\"><w:body>".as_slice(),
        &b"<w:p>".repeat(10_000),
    ]
    .concat();
    let docx = zip_with(
        &[("word/document.xml", &deep_xml)],
        zip::CompressionMethod::Deflated,
    );
    assert!(matches!(
        parse("deep.docx", &docx, &Limits::default()),
        Err(DocumentError::TooDeep { .. })
    ));
}
