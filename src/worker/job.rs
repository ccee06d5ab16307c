//! The job loop: a [`Worker`] runs tasks one after another in its own process, like RQ's
//! SimpleWorker under docling-serve's instrumented worker, and logs the seed's lines.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::converter::{ConverterManager, ManagerCounts};
use super::document::{Document, Limits};
use super::loglines::{current_rss_bytes, rss_mb, LogLine, TARGET};
use super::scenarios::{RetainedResults, WorkerManagerRegistry};
use super::task::{ConversionResult, JobReport, Source, Task, TaskType};
use super::{LeakScenario, WorkerError, WorkerSettings};
use crate::census::Tally;
use crate::record::{CacheClear, DocumentResult, WorkerState};

/// Something that sees every log line the worker emits (besides the `log` facade).
pub type LineObserver = Box<dyn FnMut(&str) + Send>;

/// The worker core's job loop and caches.
pub struct Worker {
    settings: WorkerSettings,
    /// The converter manager the cache clear reaches.
    pub(crate) manager: ConverterManager,
    /// `uncleared_worker_managers`: the per-worker managers jobs convert through.
    pub(crate) worker_managers: Option<WorkerManagerRegistry>,
    /// `retain_results`: every finished result.
    pub(crate) retained: RetainedResults,
    limits: Limits,
    jobs_total: u64,
    jobs_since_clear: u64,
    observer: Option<LineObserver>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("settings", &self.settings)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// What one task produced before the job's bookkeeping.
struct TaskOutcome {
    documents: Vec<DocumentResult>,
    results: Vec<ConversionResult>,
}

impl Worker {
    /// Start a worker: checks the settings, creates the scratch folder, logs `[WORKER START]`.
    pub fn new(settings: WorkerSettings) -> Result<Worker, WorkerError> {
        Worker::with_observer(settings, None)
    }

    /// As [`Worker::new`], with an observer that sees every line (from `[WORKER START]` on).
    pub fn with_observer(
        settings: WorkerSettings,
        observer: Option<LineObserver>,
    ) -> Result<Worker, WorkerError> {
        settings.validate()?;
        std::fs::create_dir_all(&settings.scratch_dir).map_err(|source| WorkerError::Io {
            context: format!(
                "creating the scratch folder {}",
                settings.scratch_dir.display()
            ),
            source,
        })?;
        let worker_managers = settings
            .has(LeakScenario::UnclearedWorkerManagers)
            .then(|| WorkerManagerRegistry::new(&settings));
        let mut worker = Worker {
            manager: ConverterManager::new(&settings),
            worker_managers,
            retained: RetainedResults::default(),
            limits: Limits::default(),
            jobs_total: 0,
            jobs_since_clear: 0,
            observer,
            settings,
        };
        let line = LogLine::WorkerStart {
            name: worker.settings.name.clone(),
            queues: worker.settings.queue.clone(),
            config: worker.config_repr(),
        };
        worker.emit(line);
        Ok(worker)
    }

    pub fn settings(&self) -> &WorkerSettings {
        &self.settings
    }

    /// The worker's configuration as the seed prints it (a Python dict repr).
    fn config_repr(&self) -> String {
        let s = &self.settings;
        let scenarios: Vec<String> = s
            .scenarios
            .iter()
            .map(|sc| format!("'{}'", sc.as_str()))
            .collect();
        format!(
            "{{'jobs_between_cache_clear': {}, 'scratch_dir': '{}', 'options_cache_size': {}, 'max_jobs': {}, \
             'model_scale': {:?}, 'leak_scenarios': [{}]}}",
            s.jobs_between_cache_clear,
            s.scratch_dir.display(),
            s.options_cache_size,
            s.max_jobs,
            s.model_scale,
            scenarios.join(", ")
        )
    }

    fn emit(&mut self, line: LogLine) {
        let text = line.to_string();
        log::info!(target: TARGET, "{text}");
        if let Some(observer) = self.observer.as_mut() {
            observer(&text);
        }
    }

    /// Run one job (one task) and log its lines through `[MEMORY]`. Never panics: a failed
    /// document or a panic inside the task makes a FAILED job with the error recorded.
    pub fn run_job(&mut self, job_id: &str, task: Task) -> JobReport {
        let trace_id = uuid::Uuid::new_v4().simple().to_string();
        for start in [false, true] {
            self.emit(LogLine::Job {
                start,
                job_id: job_id.into(),
                task_id: task.task_id.clone(),
                queue: self.settings.queue.clone(),
                trace_id: trace_id.clone(),
            });
        }
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| self.run_task(&task)));
        let (documents, results, error) = match outcome {
            Ok(Ok(TaskOutcome { documents, results })) => {
                let errors: Vec<&str> = documents
                    .iter()
                    .filter_map(|d| d.error.as_deref())
                    .collect();
                let error = (!errors.is_empty()).then(|| errors.join("; "));
                (documents, results, error)
            }
            Ok(Err(err)) => (Vec::new(), Vec::new(), Some(err.to_string())),
            Err(panic) => (
                Vec::new(),
                Vec::new(),
                Some(format!("panic in task: {}", panic_message(panic.as_ref()))),
            ),
        };
        let duration_secs = started.elapsed().as_secs_f64();
        let success = error.is_none();
        self.emit(LogLine::JobEnd {
            success,
            job_id: job_id.into(),
            task_id: task.task_id.clone(),
            duration_secs,
        });
        if let Some(error) = &error {
            let error = error.replace(['\n', '\r'], " ");
            self.emit(LogLine::JobError {
                job_id: job_id.into(),
                error,
            });
        }
        self.jobs_total += 1;
        self.jobs_since_clear += 1;
        if self.settings.has(LeakScenario::RetainResults) {
            self.retained.keep(&results);
        }
        let rss_after_bytes = current_rss_bytes().unwrap_or(0);
        self.emit(LogLine::Memory {
            job_id: job_id.into(),
            rss_mb: rss_mb(rss_after_bytes),
            jobs_total: self.jobs_total,
        });
        JobReport {
            job_id: job_id.into(),
            task_id: task.task_id,
            success,
            error,
            duration_secs,
            documents,
            results,
            rss_after_bytes,
        }
    }

    /// The task: scratch folder, sources, one conversion per document, task lines.
    fn run_task(&mut self, task: &Task) -> Result<TaskOutcome, WorkerError> {
        let started = Instant::now();
        // Removed when dropped: after the task, on failure and on unwinding alike.
        let scratch = tempfile::Builder::new()
            .prefix(&format!("{}-", safe_file_name(&task.task_id)))
            .tempdir_in(&self.settings.scratch_dir)
            .map_err(|source| WorkerError::Io {
                context: format!(
                    "creating a task folder in {}",
                    self.settings.scratch_dir.display()
                ),
                source,
            })?;
        let loaded: Vec<(String, Result<Vec<u8>, String>)> = task
            .sources
            .iter()
            .map(|source| {
                let loaded = load_source(source, scratch.path(), self.limits.max_input_bytes);
                (source.name(), loaded)
            })
            .collect();
        let total_size_bytes: u64 = loaded
            .iter()
            .map(|(_, b)| b.as_ref().map_or(0, |b| b.len() as u64))
            .sum();
        let options = &task.options;
        self.emit(LogLine::TaskStart {
            task_id: task.task_id.clone(),
            task_type: task.task_type.as_str().into(),
            documents: loaded.len(),
            total_size_bytes,
            pipeline: Some(pipeline_name(options.pipeline).into()),
            ocr: Some(ocr_name(options.effective_ocr_engine()).into()),
            formats: Some(
                options
                    .to_formats
                    .iter()
                    .map(|f| f.as_str().to_string())
                    .collect(),
            ),
        });
        for (index, (name, bytes)) in loaded.iter().enumerate() {
            self.emit(LogLine::TaskSource {
                index: index + 1,
                total: loaded.len(),
                kind: "file".into(),
                name: name.clone(),
                size_bytes: bytes.as_ref().map_or(0, |b| b.len() as u64),
            });
        }

        let mut documents = Vec::with_capacity(loaded.len());
        let mut results = Vec::new();
        let mut aborted = false;
        for (name, bytes) in loaded {
            let doc_started = Instant::now();
            let size_bytes = bytes.as_ref().map_or(0, |b| b.len() as u64);
            let converted = match (&bytes, aborted) {
                (_, true) => {
                    Err("skipped: an earlier document failed and abort_on_error is set".to_string())
                }
                (Err(e), false) => Err(e.clone()),
                (Ok(bytes), false) => self.convert_document(task, &name, bytes),
            };
            let duration_secs = doc_started.elapsed().as_secs_f64();
            let report = match converted {
                Ok((result, pages)) => {
                    results.push(result);
                    DocumentResult {
                        name,
                        size_bytes,
                        pages,
                        success: true,
                        error: None,
                        duration_secs,
                    }
                }
                Err(error) => {
                    aborted |= options.abort_on_error;
                    DocumentResult {
                        name,
                        size_bytes,
                        pages: 0,
                        success: false,
                        error: Some(error),
                        duration_secs,
                    }
                }
            };
            self.emit(LogLine::Doc {
                ok: report.success,
                name: report.name.clone(),
                status: if report.success { "success" } else { "failure" }.into(),
                size_bytes: report.size_bytes,
                pages: report.pages,
                time_secs: Some(report.duration_secs),
                errors: (!report.success).then_some(1),
            });
            documents.push(report);
        }

        let succeeded = documents.iter().filter(|d| d.success).count();
        let pages: u64 = documents.iter().map(|d| d.pages as u64).sum();
        let time_secs = started.elapsed().as_secs_f64();
        self.emit(LogLine::TaskEnd {
            success: succeeded == documents.len(),
            task_id: task.task_id.clone(),
            time_secs,
            succeeded,
            documents: documents.len(),
            size_bytes: total_size_bytes,
            pages,
            pages_per_sec: if time_secs > 0.0 {
                pages as f64 / time_secs
            } else {
                0.0
            },
        });
        drop(scratch);
        Ok(TaskOutcome { documents, results })
    }

    /// Convert one document and export it; the error is the text the job records.
    fn convert_document(
        &mut self,
        task: &Task,
        name: &str,
        bytes: &[u8],
    ) -> Result<(ConversionResult, u32), String> {
        let keep_images = self.settings.has(LeakScenario::PageImages);
        let manager = match self.worker_managers.as_mut() {
            Some(registry) => registry.active(&self.settings),
            None => &mut self.manager,
        };
        let converted = manager
            .convert(&task.options, name, bytes, &self.limits, keep_images)
            .map_err(|e| e.to_string())?;
        std::hint::black_box(converted.inference_checksum);
        let document = converted.document;
        let pages = document.pages.len() as u32;
        let outputs = task
            .options
            .to_formats
            .iter()
            .map(|format| (*format, super::export::export(&document, *format)))
            .collect();
        let chunks = match task.task_type {
            TaskType::Convert => Vec::new(),
            TaskType::Chunk => chunk(&document),
        };
        let mut result = ConversionResult {
            name: name.to_string(),
            pages,
            outputs,
            chunks,
            census: Tally::new(),
        };
        // The census counts a result with the text it holds.
        result.census = Tally::with_bytes(result.text_bytes() as usize);
        Ok((result, pages))
    }

    /// Whether the cache clear is due (every `jobs_between_cache_clear` jobs, failed ones
    /// included; 0 = never).
    pub fn clear_is_due(&self) -> bool {
        let every = self.settings.jobs_between_cache_clear as u64;
        every > 0 && self.jobs_since_clear >= every
    }

    /// Drop every cached converter, pipeline and model (and the side map unless the
    /// `options_side_map` scenario keeps it); logs `[CACHE CLEAR]`.
    pub fn clear_caches(&mut self) -> CacheClear {
        let rss_before_bytes = current_rss_bytes().unwrap_or(0);
        let ManagerCounts {
            converters,
            pipelines,
            models,
            model_bytes,
        } = self.manager.clear();
        if let Some(registry) = self.worker_managers.as_mut() {
            registry.start_generation(&self.settings);
        }
        let rss_after_bytes = current_rss_bytes().unwrap_or(0);
        let jobs_since_last_clear = self.jobs_since_clear;
        self.jobs_since_clear = 0;
        self.emit(LogLine::CacheClear {
            jobs_since_last_clear,
            converters,
            pipelines,
            memory_mb: rss_mb(rss_after_bytes),
            freed_mb: rss_mb(rss_before_bytes) as i64 - rss_mb(rss_after_bytes) as i64,
        });
        CacheClear {
            jobs_since_last_clear,
            converters,
            pipelines,
            models,
            model_bytes: Some(model_bytes),
            rss_before_bytes: (rss_before_bytes > 0).then_some(rss_before_bytes),
            rss_after_bytes: (rss_after_bytes > 0).then_some(rss_after_bytes),
            after_clear: None,
        }
    }

    /// Run a job, then clear the caches when due.
    pub fn process(&mut self, job_id: &str, task: Task) -> (JobReport, Option<CacheClear>) {
        let report = self.run_job(job_id, task);
        let clear = self.clear_is_due().then(|| self.clear_caches());
        (report, clear)
    }

    /// Whether the worker has run `max_jobs` jobs and wants to be recycled (0 = never).
    pub fn wants_recycle(&self) -> bool {
        self.settings.max_jobs > 0 && self.jobs_total >= self.settings.max_jobs as u64
    }

    /// The caches' state, for snapshots.
    pub fn state(&self) -> WorkerState {
        let mut counts = self.manager.counts();
        let mut side_map = self.manager.side_map_len();
        if let Some(registry) = &self.worker_managers {
            let extra = registry.counts();
            counts.converters += extra.converters;
            counts.pipelines += extra.pipelines;
            counts.models += extra.models;
            counts.model_bytes += extra.model_bytes;
            side_map += registry
                .managers()
                .iter()
                .map(ConverterManager::side_map_len)
                .sum::<u64>();
        }
        WorkerState {
            converters: counts.converters,
            pipelines: counts.pipelines,
            models_loaded: Some(counts.models),
            model_bytes: Some(counts.model_bytes),
            options_side_map: Some(side_map),
            retained_results: Some(self.retained.len()),
            jobs_total: self.jobs_total,
            jobs_since_clear: self.jobs_since_clear,
        }
    }

    /// Page images kept by the `page_images` scenario (count, bytes), over every manager.
    pub fn kept_page_images(&self) -> (u64, u64) {
        let mut managers: Vec<&ConverterManager> = vec![&self.manager];
        if let Some(registry) = &self.worker_managers {
            managers.extend(registry.managers());
        }
        managers.iter().fold((0, 0), |(n, b), m| {
            (n + m.kept_page_images(), b + m.kept_page_image_bytes())
        })
    }

    /// Bytes of text held by the `retain_results` store.
    pub fn retained_result_bytes(&self) -> u64 {
        self.retained.text_bytes()
    }
}

/// Read a source's bytes; base64 sources are decoded and written to the task's scratch
/// folder, as docling-serve stages uploads before converting them.
fn load_source(source: &Source, scratch: &Path, max_bytes: u64) -> Result<Vec<u8>, String> {
    // Read with the input bound applied while reading (a 4 GiB file is refused, not read).
    let bytes = source.read_bounded(max_bytes)?;
    if let Source::Base64 { filename, .. } = source {
        let staged: PathBuf = scratch.join(safe_file_name(filename));
        std::fs::write(&staged, &bytes)
            .map_err(|e| format!("{filename}: staging in {}: {e}", scratch.display()))?;
    }
    Ok(bytes)
}

/// A name safe as one path component.
fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if cleaned.trim_matches('.').is_empty() {
        "document".into()
    } else {
        cleaned
    }
}

fn pipeline_name(kind: super::PipelineKind) -> &'static str {
    match kind {
        super::PipelineKind::Standard => "standard",
        super::PipelineKind::Simple => "simple",
    }
}

fn ocr_name(engine: super::OcrEngine) -> &'static str {
    match engine {
        super::OcrEngine::Auto => "auto",
        super::OcrEngine::Easyocr => "easyocr",
        super::OcrEngine::Tesseract => "tesseract",
        super::OcrEngine::Rapidocr => "rapidocr",
        super::OcrEngine::None => "none",
    }
}

/// Words per chunk of a chunk task.
const CHUNK_WORDS: usize = 256;

/// Split a document into chunks: items in order, a new chunk at each heading or when the
/// chunk reaches [`CHUNK_WORDS`] words (a simple stand-in for docling's hybrid chunker).
fn chunk(document: &Document) -> Vec<String> {
    use super::document::ItemKind;
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut words = 0;
    for item in &document.items {
        let heading = matches!(
            item.kind,
            ItemKind::Title { .. } | ItemKind::SectionHeader { .. }
        );
        let text = item.kind.text();
        let item_words = text.split_whitespace().count();
        if !current.is_empty() && (heading || words + item_words > CHUNK_WORDS) {
            chunks.push(std::mem::take(&mut current));
            words = 0;
        }
        if text.trim().is_empty() {
            continue;
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(text.trim());
        words += item_words;
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_made_safe() {
        assert_eq!(safe_file_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(safe_file_name(".."), "document");
        assert_eq!(safe_file_name("report 1.pdf"), "report_1.pdf");
    }
}
