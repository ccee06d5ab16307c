//! Conversion options with docling-serve's names and defaults, and the cache key they give.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineKind {
    /// The PDF pipeline: layout, table structure and OCR models.
    Standard,
    /// Declarative formats (Markdown, HTML, CSV, DOCX): no models.
    Simple,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OcrEngine {
    /// docling-serve's `auto`; resolves to EasyOCR as the real default install does.
    Auto,
    Easyocr,
    Tesseract,
    Rapidocr,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableMode {
    Fast,
    Accurate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageExportMode {
    Placeholder,
    Embedded,
    Referenced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    Md,
    Json,
    Text,
    Html,
}

impl OutputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Md => "md",
            OutputFormat::Json => "json",
            OutputFormat::Text => "text",
            OutputFormat::Html => "html",
        }
    }
}

/// The options of one conversion task, as docling-serve's `ConvertDocumentsOptions`.
/// Unknown fields are rejected; every field has docling-serve's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConversionOptions {
    pub pipeline: PipelineKind,
    pub do_ocr: bool,
    pub force_ocr: bool,
    pub ocr_engine: OcrEngine,
    pub ocr_lang: Option<Vec<String>>,
    pub do_table_structure: bool,
    pub table_mode: TableMode,
    pub table_cell_matching: bool,
    pub image_export_mode: ImageExportMode,
    pub images_scale: f64,
    pub to_formats: Vec<OutputFormat>,
    /// Inclusive 1-based page range `[first, last]`.
    pub page_range: Option<(u32, u32)>,
    pub document_timeout: Option<f64>,
    pub abort_on_error: bool,
}

impl Default for ConversionOptions {
    fn default() -> Self {
        ConversionOptions {
            pipeline: PipelineKind::Standard,
            do_ocr: true,
            force_ocr: false,
            ocr_engine: OcrEngine::Auto,
            ocr_lang: None,
            do_table_structure: true,
            table_mode: TableMode::Accurate,
            table_cell_matching: true,
            image_export_mode: ImageExportMode::Embedded,
            images_scale: 2.0,
            to_formats: vec![OutputFormat::Md],
            page_range: None,
            document_timeout: None,
            abort_on_error: false,
        }
    }
}

impl ConversionOptions {
    /// The OCR engine actually used (`auto` resolves to EasyOCR; `do_ocr = false` to none).
    pub fn effective_ocr_engine(&self) -> OcrEngine {
        match (self.do_ocr, self.ocr_engine) {
            (false, _) | (_, OcrEngine::None) => OcrEngine::None,
            (true, OcrEngine::Auto) => OcrEngine::Easyocr,
            (true, engine) => engine,
        }
    }

    /// The canonical JSON of the options that shape the pipeline (sorted keys): everything but
    /// `to_formats`, `page_range` and `abort_on_error`, as docling-serve's converter cache key.
    pub fn pipeline_shaping_json(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            for key in ["to_formats", "page_range", "abort_on_error"] {
                map.remove(key);
            }
        }
        // serde_json's Map is a BTreeMap without the preserve_order feature: keys come sorted.
        value.to_string()
    }

    /// SHA-1 of [`Self::pipeline_shaping_json`], hex: the converter cache key.
    pub fn cache_key(&self) -> String {
        use sha1::{Digest, Sha1};
        hex::encode(Sha1::digest(self.pipeline_shaping_json().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_docling_serves() {
        let o: ConversionOptions = serde_json::from_str("{}").expect("empty options parse");
        assert_eq!(o.pipeline, PipelineKind::Standard);
        assert!(o.do_ocr && !o.force_ocr && o.do_table_structure && o.table_cell_matching);
        assert_eq!(o.table_mode, TableMode::Accurate);
        assert_eq!(o.to_formats, vec![OutputFormat::Md]);
        assert_eq!(o.images_scale, 2.0);
        assert_eq!(o.effective_ocr_engine(), OcrEngine::Easyocr);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = serde_json::from_str::<ConversionOptions>(r#"{"do_orc": true}"#).unwrap_err();
        assert!(err.to_string().contains("do_orc"), "{err}");
    }

    #[test]
    fn cache_key_ignores_output_only_fields() {
        let a = ConversionOptions::default();
        let b = ConversionOptions {
            to_formats: vec![OutputFormat::Md, OutputFormat::Json],
            page_range: Some((1, 3)),
            abort_on_error: true,
            ..a.clone()
        };
        assert_eq!(a.cache_key(), b.cache_key());
        let c = ConversionOptions {
            ocr_engine: OcrEngine::Tesseract,
            ..a.clone()
        };
        assert_ne!(a.cache_key(), c.cache_key());
    }
}
