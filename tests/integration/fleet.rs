//! Integration tests: `logs` over many logs (a fleet report, docs/fleet.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{binary, project_root};

fn fixture(name: &str) -> PathBuf {
    project_root().join("fixtures/logs").join(name)
}

const LEAK: &str = "docling-leak-2mb-400-jobs";
const PLATEAU: &str = "docling-plateau-400-jobs";
const RESTART: &str = "worker-restart-90-jobs";

struct Run {
    code: i32,
    json: serde_json::Value,
    stdout: String,
    stderr: String,
}

fn logs(args: &[&Path], extra: &[&str]) -> Run {
    let out = Command::new(binary())
        .arg("logs")
        .args(args)
        .args(extra)
        .output()
        .expect("run the binary");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn names(json: &serde_json::Value) -> Vec<String> {
    json["workers"]
        .as_array()
        .expect("a workers array")
        .iter()
        .map(|w| w["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The rank of a row in docs/fleet.md's order (0 is the worst).
fn rank(worker: &serde_json::Value) -> u8 {
    if !worker["error"].is_null() {
        return 3;
    }
    match worker["call"].as_str() {
        Some("leak") => 0,
        Some("slow_growth") => 1,
        Some("inconclusive") => 2,
        Some("no_leak") => 4,
        other => panic!("unknown call {other:?}"),
    }
}

fn worker<'a>(json: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    json["workers"]
        .as_array()
        .and_then(|ws| ws.iter().find(|w| w["name"] == name))
        .unwrap_or_else(|| panic!("no worker {name} in {json}"))
}

#[test]
fn three_workers_are_judged_alone_and_listed_worst_first() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("fleet");
    let paths = [
        fixture(&format!("{PLATEAU}.log")),
        fixture(&format!("{RESTART}.log")),
        fixture(&format!("{LEAK}.log")),
    ];
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let run = logs(&refs, &["--json", "--out", out.to_str().expect("utf-8")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = &run.json;
    let order = names(json);
    assert_eq!(order.len(), 3, "{order:?}");
    // The leaking workers first (the one that died and leaks 8 MB/job, then 2 MB/job); every
    // row no better than the one before it.
    assert_eq!(order, [RESTART, LEAK, PLATEAU], "{order:?}");
    let ws = json["workers"].as_array().expect("workers");
    for pair in ws.windows(2) {
        let (a, b) = (rank(&pair[0]), rank(&pair[1]));
        let slope = |w: &serde_json::Value| w["slope_mb_per_job"].as_f64().unwrap_or(0.0);
        assert!(
            a < b || (a == b && slope(&pair[0]) >= slope(&pair[1])),
            "order broken: {order:?}"
        );
    }
    // Each row is what `logs` says of that log alone.
    for name in [LEAK, PLATEAU, RESTART] {
        let single = logs(
            &[&fixture(&format!("{name}.log"))],
            &["--json", "--no-report"],
        );
        assert_eq!(single.code, 0, "{}", single.stderr);
        assert!(single.json["workers"].is_null(), "one log is not a fleet");
        let row = worker(json, name);
        assert_eq!(row["call"], single.json["verdict"]["call"], "{name}");
        assert_eq!(
            row["slope_mb_per_job"], single.json["verdict"]["slope_mb_per_job"],
            "{name}"
        );
        assert_eq!(row["jobs"], single.json["jobs"], "{name}");
        assert_eq!(
            row["cache_clears"].as_u64(),
            single.json["cache_clears"]
                .as_array()
                .map(|c| c.len() as u64),
            "{name}"
        );
        let report = out.join(row["report_dir"].as_str().expect("report_dir"));
        assert!(report.join("report.md").is_file(), "{}", report.display());
    }
    assert_eq!(worker(json, LEAK)["call"], "leak");
    assert_eq!(
        worker(json, RESTART)["call"],
        "leak",
        "a death is not a clear"
    );
    // The restarted worker: one job died (no [MEMORY] line), one restart.
    let restart = worker(json, RESTART);
    assert_eq!(restart["deaths"], 1, "{restart}");
    assert_eq!(restart["restarts"], 1, "{restart}");
    assert_eq!(worker(json, LEAK)["deaths"], 0);
    // fleet.md lists the rows in the same order, and fleet.json is the --json object.
    let md = std::fs::read_to_string(out.join("fleet.md")).expect("fleet.md");
    let at: Vec<usize> = order
        .iter()
        .map(|n| {
            md.find(&format!("| {n} |"))
                .unwrap_or_else(|| panic!("{n} row in\n{md}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "fleet.md order {at:?}");
    assert!(md.contains("charts/fleet.png"), "{md}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("fleet.json")).expect("fleet.json"))
            .expect("fleet.json parses");
    assert_eq!(&saved, json);
    assert!(out.join("fleet.html").is_file());
}

#[test]
fn a_folder_is_every_log_in_it_sorted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("pods");
    std::fs::create_dir(&dir).expect("mkdir");
    for (to, from) in [
        ("pod-c.log", RESTART),
        ("pod-a.log", PLATEAU),
        ("pod-b.log", LEAK),
    ] {
        std::fs::copy(fixture(&format!("{from}.log")), dir.join(to)).expect("copy");
    }
    std::fs::write(dir.join("notes.txt"), "not a log").expect("write");
    let run = logs(&[&dir], &["--json", "--no-report"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut got = names(&run.json);
    assert_eq!(
        got,
        ["pod-c", "pod-b", "pod-a"],
        "the worst leak first: {got:?}"
    );
    got.sort();
    assert_eq!(got, ["pod-a", "pod-b", "pod-c"]);
    assert_eq!(run.json["judged"], 3);
    // The terminal table has one row per worker.
    let term = logs(&[&dir], &["--no-report"]);
    assert_eq!(term.code, 0, "{}", term.stderr);
    for name in ["pod-a", "pod-b", "pod-c"] {
        assert!(term.stdout.contains(name), "{name} in\n{}", term.stdout);
    }
    // A folder without logs is bad input, named.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let run = logs(&[&empty], &["--json", "--no-report"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("empty") && run.stderr.contains("no *.log"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_bad_log_among_good_ones_is_a_row_and_the_exit_is_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let not_a_log = tmp.path().join("notes.log");
    std::fs::write(&not_a_log, "hello\nworld\n").expect("write");
    let impossible = tmp.path().join("negative.log");
    std::fs::write(
        &impossible,
        "[JOB START] job_id=a\n[MEMORY] job_id=a | rss=100MB\n[JOB START] job_id=b\n[MEMORY] job_id=b | rss=-5MB\n",
    )
    .expect("write");
    let missing = tmp.path().join("gone.log");
    let out = tmp.path().join("fleet");
    let leak = fixture(&format!("{LEAK}.log"));
    let plateau = fixture(&format!("{PLATEAU}.log"));
    let run = logs(
        &[&leak, &not_a_log, &plateau, &impossible, &missing],
        &["--json", "--out", out.to_str().expect("utf-8")],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let json = &run.json;
    assert_eq!(json["judged"], 2, "{json}");
    assert_eq!(json["unreadable"], 3, "{json}");
    let order = names(json);
    assert_eq!(order[0], LEAK, "{order:?}");
    // The plateau's slow growth ranks above the unreadable rows (docs/fleet.md).
    assert_eq!(order[1], PLATEAU, "{order:?}");
    for (name, path, place) in [
        ("notes", &not_a_log, "file"),
        ("negative", &impossible, "line 4"),
        ("gone", &missing, "file"),
    ] {
        let row = worker(json, name);
        assert!(row["call"].is_null(), "{row}");
        let err = &row["error"];
        assert_eq!(err["file"], path.display().to_string(), "{row}");
        assert_eq!(err["place"], place, "{row}");
        assert!(
            run.stderr.contains(&path.display().to_string()),
            "stderr names {}: {}",
            path.display(),
            run.stderr
        );
    }
    // The report was written all the same, the errors in it.
    let md = std::fs::read_to_string(out.join("fleet.md")).expect("fleet.md");
    assert!(md.contains("unreadable log"), "{md}");
    assert!(md.contains("gone.log"), "{md}");
    assert!(out.join("workers").join(LEAK).join("report.md").is_file());
    assert!(!out.join("workers").join("notes").exists());
}

#[test]
fn the_fleet_chart_decodes_as_png_and_parses_as_svg() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("fleet");
    let paths = [
        fixture(&format!("{LEAK}.log")),
        fixture(&format!("{RESTART}.log")),
    ];
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let run = logs(&refs, &["--out", out.to_str().expect("utf-8")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let png_path = out.join("charts/fleet.png");
    let file = std::fs::File::open(&png_path).expect("fleet.png");
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("fleet.png decodes");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    assert_eq!((info.width, info.height), (800, 480));
    let first = &buf[..3];
    assert!(buf.chunks(3).any(|px| px != first), "blank chart");
    let svg = std::fs::read_to_string(out.join("charts/fleet.svg")).expect("fleet.svg");
    let doc = roxmltree::Document::parse(&svg).expect("fleet.svg parses");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    for name in [LEAK, RESTART] {
        assert!(
            texts.iter().any(|t| t.contains(name)),
            "legend names {name}: {texts:?}"
        );
    }
    // The HTML embeds the same PNG.
    let html = std::fs::read_to_string(out.join("fleet.html")).expect("fleet.html");
    assert!(html.contains("data:image/png;base64,"), "chart embedded");
}
