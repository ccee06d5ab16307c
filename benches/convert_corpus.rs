//! Document conversion throughput: the shared corpus's HTML, Markdown, CSV and DOCX files
//! parsed and exported to Markdown, one after another in one process (what Python docling
//! does at ~26 documents per second on this kind of machine).
//!
//! `cargo bench --bench convert_corpus` prints documents per second (the median of several
//! passes of at least `PASS_SECS` each, after a warm-up pass) and writes the
//! "Document conversion" section of BENCHMARKS.md. Skips with a message when the corpus is
//! absent (set `DOCLING_MEMPROF_CORPUS` to point elsewhere).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use docling_memprof::worker::document::{parse, Limits};
use docling_memprof::worker::export::export;
use docling_memprof::worker::OutputFormat;

const FOLDERS: [&str; 4] = ["html", "md", "csv", "docx"];
const PASSES: usize = 7;
const PASS_SECS: f64 = 0.6;
const PYTHON_DOCLING_DOCS_PER_SEC: f64 = 26.0;
const TARGET_SPEEDUP: f64 = 50.0;

fn corpus_dir() -> PathBuf {
    std::env::var_os("DOCLING_MEMPROF_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/docling-tests")
        })
}

fn load(corpus: &Path) -> Vec<(&'static str, String, Vec<u8>)> {
    let mut files = Vec::new();
    for folder in FOLDERS {
        let Ok(dir) = std::fs::read_dir(corpus.join(folder)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = dir
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Ok(bytes) = std::fs::read(&path) {
                files.push((folder, name, bytes));
            }
        }
    }
    files
}

/// Converts every file once; returns the Markdown bytes produced (kept live so the work counts).
fn convert_all(files: &[(&str, String, Vec<u8>)], limits: &Limits) -> usize {
    let mut produced = 0;
    for (_, name, bytes) in files {
        match parse(name, bytes, limits) {
            Ok(doc) => produced += export(&doc, OutputFormat::Md).len(),
            Err(err) => eprintln!("warning: {err}"),
        }
    }
    produced
}

fn main() {
    let corpus = corpus_dir();
    if !corpus.is_dir() {
        println!(
            "SKIPPED: corpus not found at {} (set DOCLING_MEMPROF_CORPUS)",
            corpus.display()
        );
        return;
    }
    let files = load(&corpus);
    if files.is_empty() {
        println!(
            "SKIPPED: no HTML, Markdown, CSV or DOCX files under {}",
            corpus.display()
        );
        return;
    }
    let limits = Limits::default();
    let warm_up_bytes = convert_all(&files, &limits);
    let mut rates = Vec::with_capacity(PASSES);
    for _ in 0..PASSES {
        let start = Instant::now();
        let mut documents = 0usize;
        let mut sink = 0usize;
        while start.elapsed() < Duration::from_secs_f64(PASS_SECS) {
            sink = sink.wrapping_add(convert_all(&files, &limits));
            documents += files.len();
        }
        std::hint::black_box(sink);
        rates.push(documents as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    // Per format: documents per second over one shorter pass each.
    let mut per_format = String::new();
    for folder in FOLDERS {
        let subset: Vec<_> = files.iter().filter(|f| f.0 == folder).cloned().collect();
        if subset.is_empty() {
            continue;
        }
        let start = Instant::now();
        let mut documents = 0usize;
        while start.elapsed() < Duration::from_secs_f64(PASS_SECS / 2.0) {
            std::hint::black_box(convert_all(&subset, &limits));
            documents += subset.len();
        }
        let rate = documents as f64 / start.elapsed().as_secs_f64();
        per_format.push_str(&format!(
            "{folder} {rate:.0} docs/s ({} files); ",
            subset.len()
        ));
    }
    let per_format = per_format.trim_end_matches("; ").to_string();
    println!("per format: {per_format}");
    let median = rates[rates.len() / 2];
    let speedup = median / PYTHON_DOCLING_DOCS_PER_SEC;
    let verdict = if speedup >= TARGET_SPEEDUP {
        "meets"
    } else {
        "MISSES"
    };
    println!(
        "convert_corpus: {} files ({warm_up_bytes} bytes of Markdown per pass), median {median:.0} docs/s over {PASSES} passes \
         (min {:.0}, max {:.0}); {speedup:.0}x Python docling's {PYTHON_DOCLING_DOCS_PER_SEC} docs/s, {verdict} the {TARGET_SPEEDUP}x target",
        files.len(),
        rates[0],
        rates[rates.len() - 1],
    );
    let section = format!(
        "## Document conversion\n\n\
         Command: `cargo bench --bench convert_corpus` (release build).\n\n\
         Parse + Markdown export of the shared corpus's HTML, Markdown, CSV and DOCX files \
         ({} files), one after another in one process, after a warm-up pass; median of {PASSES} \
         passes of at least {PASS_SECS} s each.\n\n\
         | converter | documents per second |\n|---|---|\n\
         | docling-memprof worker core (Rust) | {median:.0} (min {:.0}, max {:.0}) |\n\
         | Python docling, same files (reference) | ~{PYTHON_DOCLING_DOCS_PER_SEC} |\n\n\
         Per format: {per_format}.\n\n\
         Speed-up: {speedup:.0}x ({verdict} the >= {TARGET_SPEEDUP}x target, i.e. >= {:.0} docs/s). \
         Machine: {} logical CPUs, load average {} while measuring (other builds share the \
         machine; +-30% run to run).\n",
        files.len(),
        rates[0],
        rates[rates.len() - 1],
        PYTHON_DOCLING_DOCS_PER_SEC * TARGET_SPEEDUP,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_string))
            .unwrap_or_else(|| "unknown".into()),
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md");
    match update_section(&path, "## Document conversion", &section) {
        Ok(()) => println!("updated {}", path.display()),
        Err(err) => eprintln!("could not update {}: {err}", path.display()),
    }
}

/// Replaces the section starting with `heading` (up to the next `## ` heading) or appends it.
fn update_section(path: &Path, heading: &str, section: &str) -> std::io::Result<()> {
    let current = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => "# Benchmarks\n".to_string(),
        Err(err) => return Err(err),
    };
    let updated = match current.find(heading) {
        Some(start) => {
            let after = start + heading.len();
            let end = current[after..]
                .find("\n## ")
                .map_or(current.len(), |i| after + i + 1);
            format!(
                "{}{}{}",
                &current[..start],
                section,
                &current[end..].trim_start_matches('\n').to_string().as_str()
            )
            .replace(&format!("{section}##"), &format!("{section}\n##"))
        }
        None => format!(
            "{}\n{}",
            current.trim_end_matches('\n').to_string() + "\n",
            section
        ),
    };
    std::fs::write(path, updated)
}
