//! Hostile documents and sources (synthetic, from [`super::gen`]), one case per failure of
//! issue 15 and a few of each class around it.

use std::path::Path;

use super::gen;
use super::probe::Kind::{Document, Source};
use super::{run_all, slow_enabled, write, Case, Expect};

const MIB: u64 = super::MIB;
const DECOMPRESSED: &[&str] = &["more than 536870912 bytes (max_pdf_decompressed_bytes)"];
const TOO_DEEP: &[&str] = &["nesting deeper than 256 levels"];
const CELLS: &[&str] = &["a table spans more than 4000000 cells", "max_table_cells"];

fn doc(
    name: &'static str,
    file_name: &'static str,
    bytes: impl Fn() -> Vec<u8> + 'static,
    expect: Expect,
) -> Case {
    Case::new(
        name,
        Document,
        file_name,
        move |dir: &Path| write(dir, file_name, &bytes()),
        expect,
    )
}

fn pdf_cases() -> Vec<Case> {
    vec![
        // 1.9 KB compressed; was 240 s per page.
        doc(
            "pdf_cmap_range_repeated_20000_times",
            "cmap.pdf",
            || gen::pdf_cmap_repeated_range(3),
            Expect::Success("3 pages"),
        )
        .within(10, 512),
        doc(
            "pdf_cmap_range_repeated_20000_times_200_pages",
            "cmap200.pdf",
            || gen::pdf_cmap_repeated_range(200),
            Expect::Success("200 pages"),
        )
        .within(30, 512)
        .slow(),
        // A few KB on disk, 2 GiB inflated; was recorded as a success at 8.3 GB.
        doc(
            "pdf_flate_content_inflates_without_limit",
            "bomb.pdf",
            || gen::pdf_flate_bomb_content(600 * MIB),
            Expect::Error(DECOMPRESSED),
        )
        .within(30, 1300),
        doc(
            "pdf_flate_content_inflates_without_limit_2gib",
            "bomb.pdf",
            || gen::pdf_flate_bomb_content(2048 * MIB),
            Expect::Error(DECOMPRESSED),
        )
        .within(60, 1300)
        .slow(),
        doc(
            "pdf_object_stream_inflates_without_limit",
            "objstm-bomb.pdf",
            || gen::pdf_object_stream_bomb(600 * MIB),
            Expect::Error(DECOMPRESSED),
        )
        .within(30, 1300),
        doc(
            "pdf_object_stream_inflates_without_limit_2gib",
            "objstm-bomb.pdf",
            || gen::pdf_object_stream_bomb(2048 * MIB),
            Expect::Error(DECOMPRESSED),
        )
        .within(60, 1300)
        .slow(),
        doc(
            "pdf_xref_stream_inflates_without_limit",
            "xref-bomb.pdf",
            || gen::pdf_xref_stream_bomb(600 * MIB),
            Expect::Error(DECOMPRESSED),
        )
        .within(30, 1300),
        doc(
            "pdf_xref_stream_inflates_without_limit_2gib",
            "xref-bomb.pdf",
            || gen::pdf_xref_stream_bomb(2048 * MIB),
            Expect::Error(DECOMPRESSED),
        )
        .within(60, 1300)
        .slow(),
        doc(
            "pdf_one_content_stream_listed_100000_times",
            "contents.pdf",
            || gen::pdf_content_listed_many_times(100_000),
            Expect::Error(DECOMPRESSED),
        )
        .within(30, 1300),
        // Was a stack overflow that killed the worker.
        doc(
            "pdf_object_stream_deep_nesting_overflows_the_stack",
            "objstm-deep.pdf",
            || gen::pdf_object_stream_deep(1_000_000),
            Expect::Error(TOO_DEEP),
        ),
        doc(
            "pdf_object_hidden_in_stream_data_overflows_the_stack",
            "hidden.pdf",
            || gen::pdf_object_hidden_in_stream(1_000_000),
            Expect::Error(TOO_DEEP),
        ),
        doc(
            "pdf_truncated_in_half",
            "half.pdf",
            || {
                let full = gen::pdf_cmap_repeated_range(1);
                full[..full.len() / 2].to_vec()
            },
            Expect::Error(&["half.pdf", "malformed pdf"]),
        ),
        doc(
            "pdf_with_a_nul_tail",
            "nul.pdf",
            || {
                let mut bytes = gen::pdf_cmap_repeated_range(1);
                bytes.extend(std::iter::repeat_n(0u8, 1 << 20));
                bytes
            },
            Expect::Error(&["nul.pdf"]),
        ),
    ]
}

fn markup_cases() -> Vec<Case> {
    vec![
        // 10^5 took 48 s before the depth check, 10^6 hung.
        doc(
            "html_nested_divs_100000_before_the_depth_check",
            "divs.html",
            || gen::html_nested_divs(100_000).into_bytes(),
            Expect::Error(TOO_DEEP),
        )
        .within(10, 256),
        doc(
            "html_nested_divs_1000000_hang",
            "divs6.html",
            || gen::html_nested_divs(1_000_000).into_bytes(),
            Expect::Error(TOO_DEEP),
        )
        .within(10, 256),
        doc(
            "html_table_colspan_1000_and_300000_rows",
            "table.html",
            || gen::html_wide_table(1000, 300_000).into_bytes(),
            Expect::Error(CELLS),
        )
        .within(60, 1024)
        .slow(),
        doc(
            "html_table_colspan_1000_and_5000_rows",
            "table5k.html",
            || gen::html_wide_table(1000, 5000).into_bytes(),
            Expect::Error(CELLS),
        ),
        doc(
            "html_invalid_utf8_and_nul_bytes",
            "bad.html",
            || {
                let mut bytes = b"<p>caf\xe9 \xff\xfe</p>".to_vec();
                bytes.extend(std::iter::repeat_n(0u8, 4096));
                bytes
            },
            Expect::Success("1 pages"),
        ),
        doc(
            "markdown_table_cell_limit_applied_to_csv_only",
            "wide.md",
            || gen::markdown_wide_table(1000, 5000).into_bytes(),
            Expect::Error(CELLS),
        )
        .within(60, 1024),
        doc(
            "markdown_nested_quotes_100000",
            "quotes.md",
            || gen::markdown_nested_quotes(100_000).into_bytes(),
            Expect::Error(TOO_DEEP),
        )
        .within(20, 512),
        doc(
            "docx_table_cell_limit_applied_to_csv_only",
            "wide.docx",
            || gen::docx_wide_table(1000, 5000),
            Expect::Error(CELLS),
        ),
        doc(
            "docx_truncated",
            "cut.docx",
            || {
                let full = gen::docx_wide_table(2, 10);
                full[..full.len() - 30].to_vec()
            },
            Expect::Error(&["cut.docx", "docx"]),
        ),
        doc(
            "csv_over_the_cell_limit",
            "big.csv",
            || "1,2,3,4,5,6,7,8,9,10\n".repeat(500_000).into_bytes(),
            Expect::Error(&["more than 4000000 table cells"]),
        ),
    ]
}

fn source_cases() -> Vec<Case> {
    vec![
        // Was read whole (4.1 GB) before the 256 MiB check.
        Case::new(
            "input_limit_checked_after_reading_the_whole_file",
            Source,
            "sparse.pdf",
            |dir: &Path| {
                let path = dir.join("sparse.pdf");
                let file = std::fs::File::create(&path).expect("create");
                file.set_len(4 << 30).expect("sparse 4 GiB");
                path
            },
            Expect::Error(&["sparse.pdf", "268435456-byte bound", "max_input_bytes"]),
        )
        .within(5, 64),
        Case::new(
            "source_fifo_is_refused_not_blocking",
            Source,
            "pipe.md",
            |dir: &Path| {
                let path = dir.join("pipe.md");
                let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
                // SAFETY: mkfifo with a valid C string.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
                path
            },
            Expect::Error(&["pipe.md: is a FIFO (named pipe), not a regular file"]),
        )
        .within(5, 64),
        Case::new(
            "source_dev_zero_is_refused",
            Source,
            "zero",
            |_: &Path| "/dev/zero".into(),
            Expect::Error(&["/dev/zero: is a character device"]),
        )
        .within(5, 64),
        Case::new(
            "source_directory_is_not_file_not_found",
            Source,
            "dir",
            |dir: &Path| dir.to_path_buf(),
            Expect::Error(&["is a directory, not a regular file"]),
        )
        .within(5, 64),
        Case::new(
            "source_symlink_loop",
            Source,
            "loop.pdf",
            |dir: &Path| {
                let (a, b) = (dir.join("loop.pdf"), dir.join("b.pdf"));
                std::os::unix::fs::symlink(&b, &a).expect("symlink");
                std::os::unix::fs::symlink(&a, &b).expect("symlink");
                a
            },
            Expect::Error(&["loop.pdf: cannot open", "symbolic links"]),
        )
        .within(5, 64),
    ]
}

fn all_cases() -> Vec<Case> {
    let mut cases = pdf_cases();
    cases.extend(markup_cases());
    cases.extend(source_cases());
    cases
}

#[test]
fn hostile_documents_and_sources_fail_cleanly_within_bounds() {
    run_all(all_cases().into_iter().filter(|c| !c.slow).collect());
}

#[test]
fn hostile_documents_slow_cases() {
    if !slow_enabled() {
        eprintln!("SKIPPED: set DOCLING_MEMPROF_SLOW_TESTS=1 for the slow hostile documents");
        return;
    }
    run_all(all_cases().into_iter().filter(|c| c.slow).collect());
}
