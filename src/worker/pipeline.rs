//! Pipelines: docling's standard (PDF) pipeline with its models, and the simple pipeline.
//!
//! A [`Pipeline`] is built from [`PipelineOptions`] (the part of the conversion options that
//! shapes it) and holds its loaded models for its lifetime. The standard pipeline renders each
//! page to an RGB image at `images_scale`, runs every model over it (layout, table structure,
//! OCR) and drops the image when the page is done, unless the caller asks to keep it (the
//! `page_images` leak scenario). The simple pipeline parses and loads nothing.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::document::{self, Document, DocumentError, DocumentFormat, Limits, Page};
use super::models::{Model, ModelKind};
use super::options::{ConversionOptions, ImageExportMode, OcrEngine, PipelineKind, TableMode};
use super::WorkerError;
use crate::census::Tally;

/// The options that shape one pipeline (docling's `PdfPipelineOptions`), hashed with MD5 for
/// the converter's pipeline cache key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineOptions {
    pub kind: PipelineKind,
    /// The effective OCR engine (`none` when OCR is off).
    pub ocr_engine: OcrEngine,
    pub ocr_lang: Option<Vec<String>>,
    pub force_ocr: bool,
    pub do_table_structure: bool,
    pub table_mode: TableMode,
    pub table_cell_matching: bool,
    pub images_scale: f64,
    pub image_export_mode: ImageExportMode,
    pub document_timeout: Option<f64>,
    pub artifacts_path: Option<PathBuf>,
    pub model_scale: f64,
}

impl PipelineOptions {
    /// The options of the `kind` pipeline under `options`. The simple pipeline takes only what
    /// it uses (the timeout), so every converter's simple pipeline has the same key.
    pub fn new(
        kind: PipelineKind,
        options: &ConversionOptions,
        artifacts_path: Option<&Path>,
        model_scale: f64,
    ) -> Self {
        let standard = kind == PipelineKind::Standard;
        PipelineOptions {
            kind,
            ocr_engine: if standard {
                options.effective_ocr_engine()
            } else {
                OcrEngine::None
            },
            ocr_lang: if standard {
                options.ocr_lang.clone()
            } else {
                None
            },
            force_ocr: standard && options.force_ocr,
            do_table_structure: standard && options.do_table_structure,
            table_mode: options.table_mode,
            table_cell_matching: standard && options.table_cell_matching,
            images_scale: if standard { options.images_scale } else { 1.0 },
            image_export_mode: options.image_export_mode,
            document_timeout: options.document_timeout,
            artifacts_path: if standard {
                artifacts_path.map(Path::to_path_buf)
            } else {
                None
            },
            model_scale: if standard { model_scale } else { 1.0 },
        }
    }

    /// MD5 (hex) of the options' JSON: the pipeline cache key's second half.
    pub fn md5_hex(&self) -> String {
        use md5::{Digest, Md5};
        let json = serde_json::to_string(self).unwrap_or_default();
        hex::encode(Md5::digest(json.as_bytes()))
    }

    /// The models this pipeline loads, in stage order.
    pub fn models_needed(&self) -> Vec<ModelKind> {
        if self.kind == PipelineKind::Simple {
            return Vec::new();
        }
        let mut models = vec![ModelKind::Layout];
        if self.do_table_structure {
            models.push(match self.table_mode {
                TableMode::Fast => ModelKind::TableformerFast,
                TableMode::Accurate => ModelKind::TableformerAccurate,
            });
        }
        match self.ocr_engine {
            OcrEngine::Easyocr | OcrEngine::Auto => {
                models.extend([ModelKind::EasyocrDetector, ModelKind::EasyocrRecognizer]);
            }
            OcrEngine::Tesseract => {
                models.extend([ModelKind::TesseractEng, ModelKind::TesseractOsd])
            }
            OcrEngine::Rapidocr => models.extend([
                ModelKind::RapidocrDetector,
                ModelKind::RapidocrClassifier,
                ModelKind::RapidocrRecognizer,
            ]),
            OcrEngine::None => {}
        }
        models
    }
}

/// Why one document could not be converted (it fails its job, never the worker).
#[derive(Debug, thiserror::Error)]
pub enum ConversionError {
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("{name}: document_timeout of {timeout_secs}s exceeded after {pages_done} page(s)")]
    Timeout {
        name: String,
        timeout_secs: f64,
        pages_done: usize,
    },
    #[error("{name}: images_scale {images_scale} is not a positive number")]
    BadImageScale { name: String, images_scale: f64 },
    #[error("loading the pipeline's models: {0}")]
    Models(#[from] WorkerError),
}

/// One page rendered to RGB pixels (docling's page image at `images_scale`).
#[derive(Debug)]
pub struct PageImage {
    pub page_no: u32,
    pub width_px: usize,
    pub height_px: usize,
    pub rgb: Vec<u8>,
    /// Live-instance census token (see `crate::census`).
    pub census: Tally<Self>,
}

/// Letter size, for pages whose size is unknown.
const DEFAULT_PAGE_PT: (f32, f32) = (612.0, 792.0);
/// The largest page side the PDF format allows (14 400 pt), and a cap on pixels per image so
/// that a hostile page size cannot allocate without bound.
const MAX_PAGE_SIDE_PT: f32 = 14_400.0;
const MAX_IMAGE_PIXELS: f64 = 64.0 * 1024.0 * 1024.0;
/// Page features handed to the models: this many samples of the page image.
const FEATURES_PER_PAGE: usize = 64;

impl PageImage {
    /// Render `page` at `scale`: a white page with a gray band per item on it.
    pub fn render(page: &Page, items_on_page: usize, scale: f64) -> PageImage {
        let (w_pt, h_pt) = page
            .size
            .map(|s| (s.width_pt, s.height_pt))
            .unwrap_or(DEFAULT_PAGE_PT);
        let side = |pt: f32| {
            if pt.is_finite() {
                pt.clamp(1.0, MAX_PAGE_SIDE_PT) as f64
            } else {
                DEFAULT_PAGE_PT.0 as f64
            }
        };
        let (mut w, mut h) = (side(w_pt) * scale, side(h_pt) * scale);
        if w * h > MAX_IMAGE_PIXELS {
            let shrink = (MAX_IMAGE_PIXELS / (w * h)).sqrt();
            w *= shrink;
            h *= shrink;
        }
        let (width_px, height_px) = ((w.round() as usize).max(1), (h.round() as usize).max(1));
        let row_bytes = width_px * 3;
        let mut rgb = vec![0xFFu8; row_bytes * height_px];
        // "Ink": one gray band per item, spread down the page.
        let bands = items_on_page.min(height_px / 2);
        for band in 0..bands {
            let row = (band * 2 + 1) * height_px / (bands * 2 + 1).max(1);
            let start = row * row_bytes;
            if let Some(line) = rgb.get_mut(start..start + row_bytes) {
                line.fill(0x40 + (band % 64) as u8);
            }
        }
        PageImage {
            page_no: page.page_no,
            width_px,
            height_px,
            census: Tally::with_bytes(rgb.len()),
            rgb,
        }
    }

    /// Evenly spaced samples of the image, as the models' input.
    pub fn features(&self) -> Vec<u32> {
        let step = (self.rgb.len() / FEATURES_PER_PAGE).max(1);
        self.rgb
            .iter()
            .step_by(step)
            .take(FEATURES_PER_PAGE)
            .map(|b| *b as u32 + self.page_no)
            .collect()
    }

    pub fn size_bytes(&self) -> u64 {
        self.rgb.len() as u64
    }
}

/// A converted document and what the pipeline computed on it.
#[derive(Debug)]
pub struct Converted {
    pub document: Document,
    /// A checksum of the models' outputs over every page (keeps the work observable).
    pub inference_checksum: u32,
}

/// A pipeline with its loaded models.
#[derive(Debug)]
pub struct Pipeline {
    pub options: PipelineOptions,
    models: Vec<Model>,
    /// Live-instance census token (see `crate::census`).
    pub census: Tally<Self>,
}

impl Pipeline {
    /// Build the pipeline, loading every model it needs.
    pub fn build(options: PipelineOptions) -> Result<Pipeline, WorkerError> {
        let models = options
            .models_needed()
            .into_iter()
            .map(|kind| Model::load(kind, options.artifacts_path.as_deref(), options.model_scale))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pipeline {
            options,
            models,
            census: Tally::new(),
        })
    }

    pub fn kind(&self) -> PipelineKind {
        self.options.kind
    }

    pub fn models(&self) -> &[Model] {
        &self.models
    }

    pub fn model_bytes(&self) -> u64 {
        self.models.iter().map(Model::size_bytes).sum()
    }

    /// Parse and process one document. With `kept_images`, every page image is kept (pushed
    /// there) instead of being dropped after its page: the `page_images` scenario.
    pub fn convert(
        &self,
        name: &str,
        format: DocumentFormat,
        bytes: &[u8],
        limits: &Limits,
        page_range: Option<(u32, u32)>,
        kept_images: Option<&mut Vec<PageImage>>,
    ) -> Result<Converted, ConversionError> {
        let started = Instant::now();
        let document = document::parse_as(name, format, bytes, limits, page_range)?;
        if self.options.kind == PipelineKind::Simple {
            return Ok(Converted {
                document,
                inference_checksum: 0,
            });
        }
        let scale = self.options.images_scale;
        if !(scale.is_finite() && scale > 0.0) {
            return Err(ConversionError::BadImageScale {
                name: name.into(),
                images_scale: scale,
            });
        }
        let mut checksum: u32 = 0;
        // Images of this document's pages while it is processed (only kept with the scenario).
        let mut document_images = Vec::new();
        let keep = kept_images.is_some();
        for (done, page) in document.pages.iter().enumerate() {
            if let Some(timeout_secs) = self.options.document_timeout {
                if started.elapsed().as_secs_f64() > timeout_secs {
                    return Err(ConversionError::Timeout {
                        name: name.into(),
                        timeout_secs,
                        pages_done: done,
                    });
                }
            }
            let items = document.items_on_page(page.page_no).count();
            let image = PageImage::render(page, items, scale);
            let features = image.features();
            for model in &self.models {
                checksum = checksum.rotate_left(5) ^ model.infer(&features);
            }
            if keep {
                document_images.push(image);
            }
        }
        if let Some(store) = kept_images {
            store.append(&mut document_images);
        }
        Ok(Converted {
            document,
            inference_checksum: checksum,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::document::PageSize;

    #[test]
    fn standard_pipeline_models_follow_the_options() {
        let mut options = ConversionOptions::default();
        let kinds =
            |o: &ConversionOptions, k| PipelineOptions::new(k, o, None, 1.0).models_needed();
        assert_eq!(
            kinds(&options, PipelineKind::Standard),
            vec![
                ModelKind::Layout,
                ModelKind::TableformerAccurate,
                ModelKind::EasyocrDetector,
                ModelKind::EasyocrRecognizer
            ]
        );
        options.table_mode = TableMode::Fast;
        options.ocr_engine = OcrEngine::Tesseract;
        assert_eq!(
            kinds(&options, PipelineKind::Standard),
            vec![
                ModelKind::Layout,
                ModelKind::TableformerFast,
                ModelKind::TesseractEng,
                ModelKind::TesseractOsd
            ]
        );
        options.do_ocr = false;
        options.do_table_structure = false;
        assert_eq!(
            kinds(&options, PipelineKind::Standard),
            vec![ModelKind::Layout]
        );
        assert!(kinds(&ConversionOptions::default(), PipelineKind::Simple).is_empty());
        let full: u64 = kinds(&ConversionOptions::default(), PipelineKind::Standard)
            .iter()
            .map(|k| k.real_size_bytes())
            .sum();
        assert_eq!(full, 483_300_000);
    }

    #[test]
    fn simple_pipeline_key_ignores_pdf_options() {
        let a = ConversionOptions::default();
        let b = ConversionOptions {
            ocr_engine: OcrEngine::Rapidocr,
            images_scale: 3.0,
            ..a.clone()
        };
        let simple = |o: &ConversionOptions| {
            PipelineOptions::new(PipelineKind::Simple, o, None, 0.1).md5_hex()
        };
        let standard = |o: &ConversionOptions| {
            PipelineOptions::new(PipelineKind::Standard, o, None, 0.1).md5_hex()
        };
        assert_eq!(simple(&a), simple(&b));
        assert_ne!(standard(&a), standard(&b));
        assert_eq!(standard(&a).len(), 32);
    }

    #[test]
    fn page_images_have_the_scaled_page_size_and_are_bounded() {
        let page = Page {
            page_no: 1,
            size: Some(PageSize {
                width_pt: 612.0,
                height_pt: 792.0,
            }),
        };
        let image = PageImage::render(&page, 5, 2.0);
        assert_eq!((image.width_px, image.height_px), (1224, 1584));
        assert_eq!(image.size_bytes(), 1224 * 1584 * 3);
        assert_eq!(image.features().len(), FEATURES_PER_PAGE);
        let huge = Page {
            page_no: 1,
            size: Some(PageSize {
                width_pt: 1e9,
                height_pt: f32::NAN,
            }),
        };
        let image = PageImage::render(&huge, 0, 8.0);
        assert!((image.width_px * image.height_px) as f64 <= MAX_IMAGE_PIXELS * 1.01);
    }
}
