//! PDF: real US Letter pages with a Helvetica text layer, padded with one image XObject per
//! page (random pixels) to about the asked size.

use super::*;
use lopdf::content::{Content as PdfContent, Operation};
use lopdf::{dictionary, Document, Object, Stream};

const WIDTH_PT: i64 = 612;
const HEIGHT_PT: i64 = 792;
const CHARS_PER_LINE: usize = 85;

fn wrap(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > CHARS_PER_LINE {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The page's text operations: lines placed with `Td`, a larger gap between blocks.
fn page_operations(blocks: &[Block]) -> Vec<Operation> {
    let mut ops = vec![
        Operation::new("BT", vec![]),
        Operation::new("Td", vec![72.into(), (HEIGHT_PT - 72).into()]),
    ];
    let mut first = true;
    let mut line = |ops: &mut Vec<Operation>, size: i64, dy: i64, text: &str| {
        ops.push(Operation::new("Tf", vec!["F1".into(), size.into()]));
        if !first {
            ops.push(Operation::new("Td", vec![0.into(), (-dy).into()]));
        }
        first = false;
        ops.push(Operation::new("Tj", vec![Object::string_literal(text)]));
    };
    for block in blocks {
        match block {
            Block::Title(t) => line(&mut ops, 20, 30, t),
            Block::Heading(t) => line(&mut ops, 15, 30, t),
            Block::Paragraph(t) => {
                for (i, l) in wrap(t).iter().enumerate() {
                    line(&mut ops, 11, if i == 0 { 26 } else { 14 }, l);
                }
            }
            Block::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    line(
                        &mut ops,
                        11,
                        if i == 0 { 26 } else { 16 },
                        &format!("- {item}"),
                    );
                }
            }
            Block::Table(rows) => {
                for (i, row) in rows.iter().enumerate() {
                    line(
                        &mut ops,
                        11,
                        if i == 0 { 26 } else { 16 },
                        &row.join("    "),
                    );
                }
            }
        }
    }
    ops.push(Operation::new("ET", vec![]));
    ops
}

fn build(
    content: &Content,
    image_bytes_per_page: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<u8>, String> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let mut kids: Vec<Object> = Vec::with_capacity(content.pages.len());
    for blocks in &content.pages {
        let mut ops = page_operations(blocks);
        let mut resources = dictionary! { "Font" => dictionary! { "F1" => font_id } };
        if image_bytes_per_page > 0 {
            // Random RGB pixels, 64 wide: does not compress, so the file size is predictable.
            let height = image_bytes_per_page.div_ceil(64 * 3).max(1);
            let mut pixels = vec![0u8; 64 * 3 * height];
            rng.fill(pixels.as_mut_slice());
            let image = Stream::new(
                dictionary! {
                    "Type" => "XObject", "Subtype" => "Image", "Width" => 64, "Height" => height as i64,
                    "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8,
                },
                pixels,
            );
            let image_id = doc.add_object(image);
            resources.set("XObject", dictionary! { "Im1" => image_id });
            ops.extend([
                Operation::new("q", vec![]),
                Operation::new(
                    "cm",
                    vec![
                        128.into(),
                        0.into(),
                        0.into(),
                        96.into(),
                        420.into(),
                        40.into(),
                    ],
                ),
                Operation::new("Do", vec!["Im1".into()]),
                Operation::new("Q", vec![]),
            ]);
        }
        let stream = PdfContent { operations: ops }
            .encode()
            .map_err(|e| e.to_string())?;
        let content_id = doc.add_object(Stream::new(dictionary! {}, stream));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id, "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), WIDTH_PT.into(), HEIGHT_PT.into()],
        });
        kids.push(page_id.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

pub fn write(content: &Content, size_bytes: u64, rng: &mut ChaCha8Rng) -> Result<Vec<u8>, String> {
    // The text-only size first (with its own generator state, so the pixels stay
    // deterministic), then images to make up the difference.
    let text_only = build(content, 0, &mut rng.clone())?;
    let pages = content.pages.len().max(1) as u64;
    const IMAGE_OVERHEAD_BYTES: u64 = 260;
    let missing = size_bytes.saturating_sub(text_only.len() as u64);
    let per_page = (missing / pages).saturating_sub(IMAGE_OVERHEAD_BYTES);
    if per_page < 64 * 3 {
        return Ok(text_only);
    }
    build(content, per_page as usize, rng)
}
