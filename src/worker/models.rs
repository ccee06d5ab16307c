//! Synthetic stand-ins for the ML models docling's standard pipeline loads.
//!
//! The real weights (RT-DETR layout model, TableFormer, EasyOCR, ...) cannot be downloaded
//! here, so each [`Model`] is a buffer of weights of the real file size times a scale factor:
//! read from `DOCLING_SERVE_ARTIFACTS_PATH` (safetensors) when the file is there, otherwise
//! generated deterministically (ChaCha seeded by the model's name). They compute nothing
//! meaningful: what they reproduce is memory. Each stage *uses* its model on every page
//! ([`Model::infer`] reads the weights with a cache-line stride and mixes them with the page's
//! features), so the weights stay resident and a page costs more with a bigger model.

use std::path::{Path, PathBuf};

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::WorkerError;
use crate::census::Tally;

/// The models of docling's standard pipeline (and its OCR engines).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Layout analysis, RT-DETR "heron" (42.9 M parameters, fp32).
    Layout,
    TableformerFast,
    TableformerAccurate,
    /// EasyOCR text detector (CRAFT, `craft_mlt_25k.pth`).
    EasyocrDetector,
    /// EasyOCR English recognizer (`english_g2.pth`).
    EasyocrRecognizer,
    /// Tesseract English LSTM model (`eng.traineddata`).
    TesseractEng,
    /// Tesseract orientation and script detection (`osd.traineddata`).
    TesseractOsd,
    /// RapidOCR PP-OCRv4 detector (ONNX).
    RapidocrDetector,
    /// RapidOCR direction classifier (ONNX).
    RapidocrClassifier,
    /// RapidOCR PP-OCRv4 recognizer (ONNX).
    RapidocrRecognizer,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Layout => "layout",
            ModelKind::TableformerFast => "tableformer_fast",
            ModelKind::TableformerAccurate => "tableformer_accurate",
            ModelKind::EasyocrDetector => "easyocr_detector",
            ModelKind::EasyocrRecognizer => "easyocr_recognizer",
            ModelKind::TesseractEng => "tesseract_eng",
            ModelKind::TesseractOsd => "tesseract_osd",
            ModelKind::RapidocrDetector => "rapidocr_detector",
            ModelKind::RapidocrClassifier => "rapidocr_classifier",
            ModelKind::RapidocrRecognizer => "rapidocr_recognizer",
        }
    }

    /// The real model file's size in bytes.
    ///
    /// Sources: layout, TableFormer and EasyOCR from the reference (docling-serve worker notes:
    /// Hugging Face `ds4sd/docling-layout-heron`, `ds4sd/docling-models`, EasyOCR's model hub).
    /// Tesseract: `eng.traineddata` of tessdata_fast (4.1 MB, Debian `tesseract-ocr-eng`) and
    /// `osd.traineddata` (10.6 MB, `tesseract-ocr-osd`), both loaded by docling's tesserocr
    /// model. RapidOCR: the PP-OCRv4 ONNX files bundled in the `rapidocr_onnxruntime` wheel
    /// (`ch_PP-OCRv4_det_infer.onnx` 4.7 MB, `ch_ppocr_mobile_v2.0_cls_infer.onnx` 0.6 MB,
    /// `ch_PP-OCRv4_rec_infer.onnx` 10.9 MB). File sizes, not resident sizes: the maintainers
    /// quote far more resident memory for the engines' runtimes (reference, "Models").
    pub fn real_size_bytes(self) -> u64 {
        match self {
            ModelKind::Layout => 172_000_000,
            ModelKind::TableformerFast => 145_000_000,
            ModelKind::TableformerAccurate => 213_000_000,
            ModelKind::EasyocrDetector => 83_200_000,
            ModelKind::EasyocrRecognizer => 15_100_000,
            ModelKind::TesseractEng => 4_100_000,
            ModelKind::TesseractOsd => 10_600_000,
            ModelKind::RapidocrDetector => 4_700_000,
            ModelKind::RapidocrClassifier => 600_000,
            ModelKind::RapidocrRecognizer => 10_900_000,
        }
    }

    /// Where the weights are looked for under the artifacts folder, first match wins: docling's
    /// own layout where the model ships as safetensors, then `<name>.safetensors`.
    pub fn artifact_candidates(self) -> Vec<PathBuf> {
        let docling_path = match self {
            ModelKind::Layout => Some("ds4sd--docling-layout-heron/model.safetensors"),
            ModelKind::TableformerFast => {
                Some("ds4sd--docling-models/model_artifacts/tableformer/fast/tableformer_fast.safetensors")
            }
            ModelKind::TableformerAccurate => {
                Some("ds4sd--docling-models/model_artifacts/tableformer/accurate/tableformer_accurate.safetensors")
            }
            _ => None,
        };
        docling_path
            .map(PathBuf::from)
            .into_iter()
            .chain(std::iter::once(PathBuf::from(format!(
                "{}.safetensors",
                self.name()
            ))))
            .collect()
    }
}

/// Where a model's weights came from.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightsSource {
    Generated { scale: f64 },
    Artifact(PathBuf),
}

/// A loaded model: its weights (held in memory for the pipeline's lifetime).
#[derive(Debug)]
pub struct Model {
    pub kind: ModelKind,
    pub source: WeightsSource,
    weights: Vec<u8>,
    /// Live-instance census token (see `crate::census`).
    pub census: Tally<Self>,
}

/// Bytes between two weights read by [`Model::infer`]: one read per cache line.
const INFER_STRIDE_BYTES: usize = 64;
/// Bytes produced by the ChaCha stream per model; the rest is derived from it cheaply.
const SEED_BLOCK_BYTES: usize = 64 * 1024;
/// The smallest generated model (a scale near 0 still allocates something).
const MIN_MODEL_BYTES: usize = 4096;

impl Model {
    /// Load `kind` from `artifacts` when its file is there, else generate it at `scale`.
    pub fn load(
        kind: ModelKind,
        artifacts: Option<&Path>,
        scale: f64,
    ) -> Result<Model, WorkerError> {
        if let Some(dir) = artifacts {
            for candidate in kind.artifact_candidates() {
                let path = dir.join(candidate);
                if path.is_file() {
                    return Model::from_safetensors(kind, &path);
                }
            }
        }
        Ok(Model::generate(kind, scale))
    }

    /// Deterministic weights of `real_size_bytes * scale` bytes, the same for the same name.
    pub fn generate(kind: ModelKind, scale: f64) -> Model {
        let size = ((kind.real_size_bytes() as f64 * scale).round() as usize).max(MIN_MODEL_BYTES);
        let mut rng = ChaCha8Rng::seed_from_u64(fnv1a(kind.name().as_bytes()));
        let mut block = vec![0u8; SEED_BLOCK_BYTES.min(size)];
        rng.fill_bytes(&mut block);
        let mut weights = Vec::with_capacity(size);
        let mut chunk_index: u8 = 0;
        while weights.len() < size {
            let take = (size - weights.len()).min(block.len());
            // Each copy of the seed block is shifted by the chunk index so that chunks differ.
            weights.extend(block[..take].iter().map(|b| b.wrapping_add(chunk_index)));
            chunk_index = chunk_index.wrapping_add(1);
        }
        Model {
            kind,
            source: WeightsSource::Generated { scale },
            census: Tally::with_bytes(weights.len()),
            weights,
        }
    }

    /// Read every tensor of a safetensors file into one weight buffer.
    pub fn from_safetensors(kind: ModelKind, path: &Path) -> Result<Model, WorkerError> {
        let model_error = |message: String| WorkerError::Model {
            model: kind.name().into(),
            message,
        };
        let bytes =
            std::fs::read(path).map_err(|e| model_error(format!("{}: {e}", path.display())))?;
        let tensors = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| {
            model_error(format!("{}: not a safetensors file: {e:?}", path.display()))
        })?;
        let total: usize = tensors.iter().map(|(_, t)| t.data().len()).sum();
        let mut weights = Vec::with_capacity(total.max(1));
        for (_, tensor) in tensors.iter() {
            weights.extend_from_slice(tensor.data());
        }
        if weights.is_empty() {
            return Err(model_error(format!("{}: holds no weights", path.display())));
        }
        Ok(Model {
            kind,
            source: WeightsSource::Artifact(path.to_path_buf()),
            census: Tally::with_bytes(weights.len()),
            weights,
        })
    }

    /// Write generated weights of `kind` at `scale` as a one-tensor safetensors file (u8 data),
    /// to build an artifacts folder for tests and demos.
    pub fn write_safetensors(kind: ModelKind, scale: f64, path: &Path) -> Result<(), WorkerError> {
        let model = Model::generate(kind, scale);
        let view = safetensors::tensor::TensorView::new(
            safetensors::Dtype::U8,
            vec![model.weights.len()],
            &model.weights,
        )
        .map_err(|e| WorkerError::Model {
            model: kind.name().into(),
            message: format!("{e:?}"),
        })?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| WorkerError::Io {
                context: format!("creating {}", parent.display()),
                source,
            })?;
        }
        safetensors::serialize_to_file([("weights", view)], &None, path).map_err(|e| {
            WorkerError::Model {
                model: kind.name().into(),
                message: format!("{}: {e:?}", path.display()),
            }
        })
    }

    /// Bytes of weights held.
    pub fn size_bytes(&self) -> u64 {
        self.weights.len() as u64
    }

    /// Run the model over one page's features: a strided pass over every weight mixed with the
    /// features. The result only feeds a checksum; the point is that the whole model is read.
    pub fn infer(&self, features: &[u32]) -> u32 {
        let mut acc: u32 = 0x811c_9dc5;
        let n = features.len().max(1);
        for (i, w) in self.weights.iter().step_by(INFER_STRIDE_BYTES).enumerate() {
            let feature = features.get(i % n).copied().unwrap_or(0);
            acc = (acc ^ (*w as u32).wrapping_add(feature)).wrapping_mul(0x0100_0193);
        }
        acc
    }
}

/// FNV-1a: a stable seed from a model's name.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_models_have_scaled_real_sizes_and_are_deterministic() {
        let a = Model::generate(ModelKind::Layout, 0.001);
        assert_eq!(a.size_bytes(), 172_000);
        let b = Model::generate(ModelKind::Layout, 0.001);
        assert_eq!(a.weights, b.weights);
        let c = Model::generate(ModelKind::TableformerFast, 0.001);
        assert_ne!(a.weights[..64], c.weights[..64]);
        assert_eq!(a.infer(&[1, 2, 3]), b.infer(&[1, 2, 3]));
        assert_ne!(a.infer(&[1, 2, 3]), a.infer(&[4, 5, 6]));
        assert_eq!(
            Model::generate(ModelKind::RapidocrClassifier, 1e-9).size_bytes(),
            MIN_MODEL_BYTES as u64
        );
    }

    #[test]
    fn artifacts_are_read_when_present_and_bad_files_fail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir
            .path()
            .join("ds4sd--docling-layout-heron/model.safetensors");
        Model::write_safetensors(ModelKind::Layout, 0.0005, &path).expect("writes");
        let loaded = Model::load(ModelKind::Layout, Some(dir.path()), 0.5).expect("loads");
        assert_eq!(loaded.source, WeightsSource::Artifact(path));
        assert_eq!(loaded.size_bytes(), 86_000);
        assert_eq!(
            loaded.weights,
            Model::generate(ModelKind::Layout, 0.0005).weights
        );

        // Missing file: generated at the scale.
        let generated =
            Model::load(ModelKind::TableformerFast, Some(dir.path()), 0.001).expect("generates");
        assert_eq!(generated.source, WeightsSource::Generated { scale: 0.001 });

        std::fs::write(dir.path().join("tableformer_fast.safetensors"), b"garbage").expect("write");
        let err = Model::load(ModelKind::TableformerFast, Some(dir.path()), 0.001).unwrap_err();
        assert!(err.to_string().contains("tableformer_fast"), "{err}");
    }
}
