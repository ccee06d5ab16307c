//! Fixtures for the worker core's tests (used by `tests/integration/worker_core.rs` and
//! `tests/worker_clear_jemalloc.rs`): small documents, settings and per-scenario job plans.
#![allow(dead_code)]

use std::path::Path;

use docling_memprof::worker::{
    ConversionOptions, LeakScenario, OcrEngine, OutputFormat, Source, Task, WorkerSettings,
};

/// A text PDF of `pages` Letter pages with a heading and `lines` lines of text each.
pub fn pdf_bytes(pages: usize, lines: usize) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids = Vec::new();
    for page in 0..pages {
        let mut operations = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 18.into()]),
            Operation::new("Td", vec![72.into(), 720.into()]),
            Operation::new(
                "Tj",
                vec![Object::string_literal(format!("Section {}", page + 1))],
            ),
            Operation::new("Tf", vec!["F1".into(), 11.into()]),
        ];
        for line in 0..lines {
            operations.push(Operation::new("Td", vec![0.into(), (-16).into()]));
            operations.push(Operation::new(
                "Tj",
                vec![Object::string_literal(format!(
                    "Line {line} of page {} says something plain.",
                    page + 1
                ))],
            ));
        }
        operations.push(Operation::new("ET", vec![]));
        let content = Content { operations };
        let content_id = doc.add_object(Stream::new(
            dictionary! {},
            content.encode().expect("content encodes"),
        ));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        });
        kids.push(page_id.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).expect("pdf saves");
    bytes
}

/// A Markdown document of about `paragraphs` paragraphs (~100 bytes each).
pub fn markdown_bytes(paragraphs: usize) -> Vec<u8> {
    let mut text = String::from("# Report\n\n");
    for i in 0..paragraphs {
        if i % 5 == 0 {
            text.push_str(&format!("## Part {i}\n\n"));
        }
        text.push_str(&format!(
            "Paragraph {i} has a few words in it, enough to look like prose in a report.\n\n"
        ));
    }
    text.into_bytes()
}

/// Settings for tests: tiny models, scratch in `scratch`, the given scenarios.
pub fn settings(scratch: &Path, scenarios: Vec<LeakScenario>) -> WorkerSettings {
    WorkerSettings {
        model_scale: 0.001,
        scratch_dir: scratch.to_path_buf(),
        scenarios,
        log_prefix: false,
        ..WorkerSettings::default()
    }
}

/// Options without OCR and tables: only the layout model loads.
pub fn light_options() -> ConversionOptions {
    ConversionOptions {
        images_scale: 0.5,
        ..ConversionOptions::default()
    }
}

/// How a scenario's growth is provoked: the clear interval and the task of job `i`. The same
/// plan runs on a default worker, which must level off.
pub struct ScenarioPlan {
    pub jobs_between_cache_clear: u32,
    pub task: fn(usize) -> Task,
}

fn task(id: String, source: Source, options: ConversionOptions) -> Task {
    Task {
        task_id: id,
        task_type: docling_memprof::worker::TaskType::Convert,
        sources: vec![source],
        options,
    }
}

pub fn plan(scenario: LeakScenario) -> ScenarioPlan {
    match scenario {
        // A new option set per job (a new OCR language), PDFs so models load; no clears.
        LeakScenario::UnboundedConverterCache => ScenarioPlan {
            jobs_between_cache_clear: 0,
            task: |i| {
                let options = ConversionOptions {
                    ocr_lang: Some(vec![format!("l{i}")]),
                    ..light_options()
                };
                task(
                    format!("t{i}"),
                    Source::from_bytes("doc.pdf", &pdf_bytes(1, 3)),
                    options,
                )
            },
        },
        // Same options, a Markdown document exported to three formats; results kept.
        LeakScenario::RetainResults => ScenarioPlan {
            jobs_between_cache_clear: 1,
            task: |i| {
                let options = ConversionOptions {
                    to_formats: vec![OutputFormat::Md, OutputFormat::Json, OutputFormat::Text],
                    ..light_options()
                };
                task(
                    format!("t{i}"),
                    Source::from_bytes("doc.md", &markdown_bytes(100)),
                    options,
                )
            },
        },
        // Same options, PDFs, a clear every 2 jobs that does not reach the worker's manager.
        LeakScenario::UnclearedWorkerManagers => ScenarioPlan {
            jobs_between_cache_clear: 2,
            task: |i| {
                task(
                    format!("t{i}"),
                    Source::from_bytes("doc.pdf", &pdf_bytes(1, 3)),
                    light_options(),
                )
            },
        },
        // Same options, 2-page PDFs at images_scale 0.5.
        LeakScenario::PageImages => ScenarioPlan {
            jobs_between_cache_clear: 3,
            task: |i| {
                task(
                    format!("t{i}"),
                    Source::from_bytes("doc.pdf", &pdf_bytes(2, 3)),
                    light_options(),
                )
            },
        },
        // A new option set per job, Markdown (no models), clears every 3 jobs.
        LeakScenario::OptionsSideMap => ScenarioPlan {
            jobs_between_cache_clear: 3,
            task: |i| {
                let options = ConversionOptions {
                    ocr_lang: Some(vec![format!("l{i}"), "en".into()]),
                    ocr_engine: OcrEngine::Easyocr,
                    ..light_options()
                };
                task(
                    format!("t{i}"),
                    Source::from_bytes("doc.md", &markdown_bytes(2)),
                    options,
                )
            },
        },
    }
}
