//! Shared by the document targets: small limits (so that one input stays fast), and the one
//! property every reader keeps: an error, never a panic (the readers catch panics and return
//! them as `DocumentError::Panicked`, which the targets turn back into a crash).

use docling_memprof::worker::document::{parse_as, DocumentError, DocumentFormat, Limits};

pub fn limits() -> Limits {
    Limits {
        max_input_bytes: 1 << 20,
        max_zip_entries: 64,
        max_zip_uncompressed_bytes: 8 << 20,
        max_pdf_objects: 10_000,
        max_pdf_pages: 100,
        max_table_cells: 100_000,
        max_pdf_decompressed_bytes: 16 << 20,
        max_pdf_cmap_codes: 100_000,
        ..Limits::default()
    }
}

pub fn check(name: &str, format: DocumentFormat, data: &[u8]) {
    if let Err(DocumentError::Panicked { detail, .. }) =
        parse_as(name, format, data, &limits(), None)
    {
        panic!("the {format:?} reader panicked: {detail}");
    }
}
