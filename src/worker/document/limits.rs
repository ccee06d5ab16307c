//! Bounds that keep hostile input from exhausting the worker (zip bombs, deep nesting, huge PDFs).

use serde::{Deserialize, Serialize};

/// Resource bounds applied while parsing one document. Every bound is checked before or while
/// the work is done (declared zip sizes before inflating, actual sizes while inflating).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The largest input accepted, in bytes.
    pub max_input_bytes: u64,
    /// The most entries a zip container (DOCX) may list.
    pub max_zip_entries: usize,
    /// The most uncompressed bytes a zip container may declare in total, and the most the
    /// parser inflates in total.
    pub max_zip_uncompressed_bytes: u64,
    /// The deepest element / list / container nesting accepted (HTML, XML, Markdown).
    pub max_nesting_depth: usize,
    /// The most objects a PDF may hold.
    pub max_pdf_objects: usize,
    /// The most pages a PDF may hold.
    pub max_pdf_pages: usize,
    /// The most grid positions (rows x columns, spans included) one table may span, in every
    /// table reader (HTML, Markdown, DOCX, CSV), counted as cells are added.
    pub max_table_cells: usize,
    /// The most bytes a PDF's streams may decompress to in all (cross-reference and object
    /// streams at load, ToUnicode CMaps, the read pages' contents), counted while inflating.
    pub max_pdf_decompressed_bytes: u64,
    /// The most character codes a PDF's ToUnicode CMaps may expand in all (ranges expanded,
    /// not distinct codes: a range repeated 20,000 times counts 20,000 times).
    pub max_pdf_cmap_codes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 256 * 1024 * 1024,
            max_zip_entries: 10_000,
            max_zip_uncompressed_bytes: 512 * 1024 * 1024,
            max_nesting_depth: 256,
            max_pdf_objects: 2_000_000,
            max_pdf_pages: 10_000,
            max_table_cells: 4_000_000,
            max_pdf_decompressed_bytes: 512 * 1024 * 1024,
            max_pdf_cmap_codes: 2_000_000,
        }
    }
}
