//! `sites.heap`, the jemalloc heap profile the parent writes from the sampled sites, read by a
//! real tool: Debian's `jeprof` (package `libjemalloc-dev`). Missing `jeprof` fails the test
//! under `CI=true` (`.ci/run` installs it); elsewhere the test is skipped with a message.

use std::path::PathBuf;
use std::process::Command;

use docling_memprof::engine::folder::read_run;
use docling_memprof::symbols::heap_profile::SITES_HEAP;

use crate::util::{binary, project_root};

fn jeprof() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("jeprof"))
        .find(|p| p.is_file());
    if found.is_some() {
        return found;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("jeprof is needed and CI=true: apt-get install -y libjemalloc-dev");
    }
    eprintln!("SKIPPED: jeprof not found (install it: apt-get install -y libjemalloc-dev)");
    None
}

/// `jeprof --text`'s rows: (flat MB, function), in its order (flat bytes, largest first).
fn text_rows(report: &str) -> Vec<(f64, String)> {
    report
        .lines()
        .skip_while(|l| !l.starts_with("Total:"))
        .skip(1)
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let flat: f64 = parts.next()?.parse().ok()?;
            // flat%, sum%, cum, cum%, then the function name (may contain spaces).
            let rest: Vec<&str> = parts.skip(4).collect();
            Some((flat, rest.join(" ")))
        })
        .collect()
}

#[test]
fn jeprof_reads_sites_heap_and_ranks_the_known_leak_first() {
    let Some(jeprof) = jeprof() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let status = Command::new(binary())
        .arg("replay")
        .arg(project_root().join("fixtures/workloads/leak-page-images.json"))
        .arg("--out")
        .arg(&out)
        .args(["--quiet", "--no-charts", "--sites", "sampled"])
        .status()
        .expect("run docling-memprof");
    assert!(status.success(), "replay failed: {status:?}");
    let heap = out.join(SITES_HEAP);
    let text = std::fs::read_to_string(&heap).expect("sites.heap written");
    assert!(
        text.starts_with("heap_v2/"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(text.contains("\nMAPPED_LIBRARIES:\n"));

    let output = Command::new(&jeprof)
        .arg("--text")
        .arg(binary())
        .arg(&heap)
        .output()
        .expect("run jeprof");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "jeprof failed: {}\n{report}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows = text_rows(&report);
    let (top_mb, top) = rows.first().expect("jeprof lists entries");
    assert!(
        top.contains("PageImage::render"),
        "the page images' allocation is the top entry:\n{report}"
    );

    // jeprof scales the same samples the site table estimates from: the same bytes.
    let (_, records) = read_run(&out).expect("run reads back");
    // sites.heap is the run's last snapshot: the last job's clear, or its after-job one.
    let last = records.last().expect("records");
    let table = last
        .cache_clear
        .as_ref()
        .and_then(|c| c.after_clear.as_ref())
        .or(last.after_job.as_ref())
        .and_then(|s| s.sites.as_ref())
        .expect("a site table");
    let site = table
        .sites
        .iter()
        .find(|s| {
            s.site
                .starts_with("docling_memprof::worker::pipeline::PageImage::render")
        })
        .expect("the page image site");
    let estimate_mb = site.live_bytes as f64 / (1024.0 * 1024.0);
    assert!(
        (top_mb - estimate_mb).abs() <= 0.1 + 0.01 * estimate_mb,
        "jeprof {top_mb} MB, site table {estimate_mb:.2} MB\n{report}"
    );
}
