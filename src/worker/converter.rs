//! The converter manager (docling-serve's `DoclingConverterManager`) and converters
//! (docling's `DocumentConverter`).
//!
//! - The manager caches converters by [`ConversionOptions::cache_key`] in an LRU of
//!   `DOCLING_SERVE_OPTIONS_CACHE_SIZE` entries, and keeps a side map from that key to the
//!   options. By default an evicted converter's side-map entry goes with it and the clear
//!   empties the map; with the `options_side_map` scenario the map is never pruned, as in the
//!   real service.
//! - With the `unbounded_converter_cache` scenario the LRU is a plain map (docling-serve before
//!   0.6): every new option set builds a converter and loads all its models again, nothing is
//!   evicted. Decision: the cache clear still empties that map, because the seed's clear reaches
//!   the manager's dict whatever its type; the growth shows between clears and in workers
//!   without clears (`DOCLING_SERVE_JOBS_BETWEEN_CACHE_CLEAR=0`, the default before the seed).
//! - A converter caches pipelines by (pipeline kind, MD5 of the pipeline options): PDF and
//!   image inputs share the standard pipeline, every other format the simple one.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use lru::LruCache;

use super::document::{DocumentError, DocumentFormat, Limits};
use super::options::{ConversionOptions, PipelineKind};
use super::pipeline::{ConversionError, Converted, PageImage, Pipeline, PipelineOptions};
use super::{LeakScenario, WorkerSettings};
use crate::census::Tally;

/// A converter: the options it was built for and its pipelines.
#[derive(Debug)]
pub struct Converter {
    pub key: String,
    pub options: ConversionOptions,
    artifacts_path: Option<PathBuf>,
    model_scale: f64,
    pub(crate) pipelines: HashMap<(PipelineKind, String), Pipeline>,
    /// Live-instance census token (see `crate::census`).
    pub census: Tally<Self>,
}

impl Converter {
    pub fn new(
        options: ConversionOptions,
        artifacts_path: Option<PathBuf>,
        model_scale: f64,
    ) -> Converter {
        Converter {
            key: options.cache_key(),
            options,
            artifacts_path,
            model_scale,
            pipelines: HashMap::new(),
            census: Tally::new(),
        }
    }

    pub fn pipeline_count(&self) -> u64 {
        self.pipelines.len() as u64
    }

    pub fn model_count(&self) -> u64 {
        self.pipelines
            .values()
            .map(|p| p.models().len() as u64)
            .sum()
    }

    pub fn model_bytes(&self) -> u64 {
        self.pipelines.values().map(Pipeline::model_bytes).sum()
    }

    /// The pipeline kind a format goes through under this converter's options.
    pub fn pipeline_kind_for(&self, format: DocumentFormat) -> PipelineKind {
        if format.needs_models() {
            self.options.pipeline
        } else {
            PipelineKind::Simple
        }
    }

    /// The pipeline for `kind`, built (models loaded) on first use.
    pub fn pipeline(&mut self, kind: PipelineKind) -> Result<&Pipeline, ConversionError> {
        let options = PipelineOptions::new(
            kind,
            &self.options,
            self.artifacts_path.as_deref(),
            self.model_scale,
        );
        let key = (kind, options.md5_hex());
        let pipeline = match self.pipelines.entry(key) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(Pipeline::build(options)?),
        };
        Ok(pipeline)
    }

    /// Convert one document with the pipeline its format needs. `page_range` is the job's (it
    /// is not in the cache key, so a cached converter must not keep the first job's range).
    pub fn convert(
        &mut self,
        name: &str,
        bytes: &[u8],
        limits: &Limits,
        page_range: Option<(u32, u32)>,
        kept_images: Option<&mut Vec<PageImage>>,
    ) -> Result<Converted, ConversionError> {
        // docling-jobkit calls `initialize_pipeline(PDF)` on every job whatever the input
        // format: the PDF pipeline (layout, and TableFormer / OCR as the options say) is loaded
        // even by a worker that only converts HTML (built once, then cached).
        self.pipeline(self.options.pipeline)?;
        let format =
            DocumentFormat::detect(name, bytes).ok_or_else(|| DocumentError::Unsupported {
                name: name.to_string(),
                detail: "neither the file name nor the content names a known format".into(),
            })?;
        let pipeline = self.pipeline(self.pipeline_kind_for(format))?;
        pipeline.convert(name, format, bytes, limits, page_range, kept_images)
    }
}

/// What a side-map entry holds: the options and their canonical JSON (as the real map holds
/// the pipeline options object).
#[derive(Debug, Clone)]
pub struct SideMapEntry {
    pub options: ConversionOptions,
    pub canonical_json: String,
    /// Live-instance census token (see `crate::census`).
    pub census: Tally<Self>,
}

#[derive(Debug)]
enum ConverterCache {
    Lru(LruCache<String, Converter>),
    Unbounded(HashMap<String, Converter>),
}

/// Counts of what a manager held when it was cleared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ManagerCounts {
    pub converters: u64,
    pub pipelines: u64,
    pub models: u64,
    pub model_bytes: u64,
}

/// The converter manager: converter cache, options side map and (with the `page_images`
/// scenario) the store of kept page images.
#[derive(Debug)]
pub struct ConverterManager {
    cache: ConverterCache,
    pub(crate) side_map: HashMap<String, SideMapEntry>,
    prune_side_map: bool,
    artifacts_path: Option<PathBuf>,
    model_scale: f64,
    /// Page images kept by the `page_images` scenario: never emptied, not even by a clear.
    pub(crate) page_image_store: Vec<PageImage>,
    /// Live-instance census token (see `crate::census`).
    pub census: Tally<Self>,
}

impl ConverterManager {
    /// A manager following `settings` (cache size, artifacts, scale and scenarios).
    pub fn new(settings: &WorkerSettings) -> ConverterManager {
        let capacity = NonZeroUsize::new(settings.options_cache_size).unwrap_or(NonZeroUsize::MIN);
        let cache = if settings.has(LeakScenario::UnboundedConverterCache) {
            ConverterCache::Unbounded(HashMap::new())
        } else {
            ConverterCache::Lru(LruCache::new(capacity))
        };
        ConverterManager {
            cache,
            side_map: HashMap::new(),
            prune_side_map: !settings.has(LeakScenario::OptionsSideMap),
            artifacts_path: settings.artifacts_path.clone(),
            model_scale: settings.model_scale,
            page_image_store: Vec::new(),
            census: Tally::new(),
        }
    }

    /// The converter for `options`, and whether it came from the cache.
    pub fn get_or_create(&mut self, options: &ConversionOptions) -> (&mut Converter, bool) {
        let key = options.cache_key();
        let hit = match &self.cache {
            ConverterCache::Lru(lru) => lru.contains(&key),
            ConverterCache::Unbounded(map) => map.contains_key(&key),
        };
        if !hit {
            self.side_map.insert(
                key.clone(),
                SideMapEntry {
                    options: options.clone(),
                    canonical_json: options.pipeline_shaping_json(),
                    census: Tally::new(),
                },
            );
            if let ConverterCache::Lru(lru) = &mut self.cache {
                if lru.len() >= lru.cap().get() {
                    if let Some((evicted, _converter)) = lru.pop_lru() {
                        if self.prune_side_map {
                            self.side_map.remove(&evicted);
                        }
                    }
                }
            }
        }
        let (artifacts_path, model_scale) = (self.artifacts_path.clone(), self.model_scale);
        let create = || Converter::new(options.clone(), artifacts_path, model_scale);
        let converter = match &mut self.cache {
            ConverterCache::Lru(lru) => lru.get_or_insert_mut(key, create),
            ConverterCache::Unbounded(map) => map.entry(key).or_insert_with(create),
        };
        (converter, hit)
    }

    /// Convert one document with the converter for `options`.
    pub fn convert(
        &mut self,
        options: &ConversionOptions,
        name: &str,
        bytes: &[u8],
        limits: &Limits,
        keep_page_images: bool,
    ) -> Result<Converted, ConversionError> {
        // Split borrows: the store is a different field from the cache.
        let mut kept = keep_page_images.then(Vec::new);
        let result = self.get_or_create(options).0.convert(
            name,
            bytes,
            limits,
            options.page_range,
            kept.as_mut(),
        );
        if let Some(mut images) = kept {
            self.page_image_store.append(&mut images);
        }
        result
    }

    /// The cached converters (for the census walk).
    pub(crate) fn converters(&self) -> Box<dyn Iterator<Item = &Converter> + '_> {
        match &self.cache {
            ConverterCache::Lru(lru) => Box::new(lru.iter().map(|(_, c)| c)),
            ConverterCache::Unbounded(map) => Box::new(map.values()),
        }
    }

    pub fn counts(&self) -> ManagerCounts {
        self.converters()
            .fold(ManagerCounts::default(), |acc, c| ManagerCounts {
                converters: acc.converters + 1,
                pipelines: acc.pipelines + c.pipeline_count(),
                models: acc.models + c.model_count(),
                model_bytes: acc.model_bytes + c.model_bytes(),
            })
    }

    /// Whether a converter for `options` is cached (without touching the LRU order).
    pub fn contains(&self, options: &ConversionOptions) -> bool {
        let key = options.cache_key();
        match &self.cache {
            ConverterCache::Lru(lru) => lru.contains(&key),
            ConverterCache::Unbounded(map) => map.contains_key(&key),
        }
    }

    pub fn side_map_len(&self) -> u64 {
        self.side_map.len() as u64
    }

    pub fn kept_page_images(&self) -> u64 {
        self.page_image_store.len() as u64
    }

    pub fn kept_page_image_bytes(&self) -> u64 {
        self.page_image_store
            .iter()
            .map(PageImage::size_bytes)
            .sum()
    }

    /// Drop every cached converter with its pipelines and models, and (unless the
    /// `options_side_map` scenario is on) the side map. Returns what was dropped.
    pub fn clear(&mut self) -> ManagerCounts {
        let counts = self.counts();
        match &mut self.cache {
            ConverterCache::Lru(lru) => lru.clear(),
            ConverterCache::Unbounded(map) => map.clear(),
        }
        if self.prune_side_map {
            self.side_map.clear();
            self.side_map.shrink_to_fit();
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::options::{OcrEngine, OutputFormat};

    fn settings(scenarios: Vec<LeakScenario>) -> WorkerSettings {
        WorkerSettings {
            model_scale: 0.0001,
            scenarios,
            ..WorkerSettings::default()
        }
    }

    #[test]
    fn lru_hits_evicts_and_prunes_the_side_map() {
        let mut manager = ConverterManager::new(&settings(vec![]));
        let a = ConversionOptions::default();
        let b = ConversionOptions {
            to_formats: vec![OutputFormat::Json],
            ..a.clone()
        };
        let c = ConversionOptions {
            ocr_engine: OcrEngine::Tesseract,
            ..a.clone()
        };
        let d = ConversionOptions {
            ocr_engine: OcrEngine::Rapidocr,
            ..a.clone()
        };
        assert!(!manager.get_or_create(&a).1);
        assert!(manager.get_or_create(&a).1);
        assert!(manager.get_or_create(&b).1, "to_formats is not in the key");
        assert!(!manager.get_or_create(&c).1);
        assert!(!manager.get_or_create(&d).1);
        assert_eq!(manager.counts().converters, 2);
        assert!(!manager.contains(&a), "least recently used is evicted");
        assert_eq!(manager.side_map_len(), 2);
        assert_eq!(manager.clear().converters, 2);
        assert_eq!(
            (manager.counts().converters, manager.side_map_len()),
            (0, 0)
        );
    }

    #[test]
    fn scenarios_change_the_manager() {
        let mut manager = ConverterManager::new(&settings(vec![
            LeakScenario::UnboundedConverterCache,
            LeakScenario::OptionsSideMap,
        ]));
        for engine in [
            OcrEngine::Easyocr,
            OcrEngine::Tesseract,
            OcrEngine::Rapidocr,
            OcrEngine::None,
        ] {
            manager.get_or_create(&ConversionOptions {
                ocr_engine: engine,
                ..ConversionOptions::default()
            });
        }
        assert_eq!(manager.counts().converters, 4);
        assert_eq!(manager.clear().converters, 4);
        assert_eq!(manager.counts().converters, 0);
        assert_eq!(manager.side_map_len(), 4, "the side map survives the clear");
    }
}
