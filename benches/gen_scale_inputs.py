#!/usr/bin/env python3
"""SYNTHETIC inputs for benches/logs_scale.sh (deterministic; nothing here is recorded data).

    gen_scale_inputs.py log PATH LINES      a docling-serve worker log of LINES lines
    gen_scale_inputs.py run DIR JOBS        a run folder (run.json + jobs.jsonl) of JOBS jobs

The log is in the instrumented worker's format (shared/reference/docling-serve-worker.md, as
fixtures/logs/make_logs.py writes it) with what else a real worker's stderr holds around each
job: RQ's own lines, docling's INFO lines (some with `[...]` in them), an EasyOCR warning,
uvicorn health-check access lines. 40 lines per job, 9 of them the worker's tags (one
`[MEMORY]`), a `[CACHE CLEAR]` every 3 jobs; RSS in whole MB, a sawtooth whose floor creeps
0.01 MB per job.

The run folder copies fixtures/reports/synthetic-sawtooth (a SYNTHETIC fixture) record by
record, renumbered, its RSS and live bytes shifted by a 0.5 MB/job leak.
"""
import json
import os
import sys

PREFIX = "INFO:docling_serve.rq_worker_instrumented:"
KINDS = [("report.pdf", "442.9 KB", 10), ("page.html", "18.4 KB", 1),
         ("letter.docx", "41.7 KB", 2), ("table.csv", "3.1 KB", 1)]


def job_block(n):
    jid = f"{n:08x}-1111-4111-8111-{n:012x}"
    tid = f"{n:08x}-2222-4222-8222-{n:012x}"
    name, size, pages = KINDS[n % len(KINDS)]
    since = (n - 1) % 3
    rss = round(860 + 0.01 * n + 80 * (since + 1) + (n * 7919 % 5) - 2)
    t = f"{(n // 3600) % 24:02d}:{(n // 60) % 60:02d}:{n % 60:02d}"
    lines = [
        f"{t} convert: docling_jobkit.convert.tasks.process_task(task_id='{tid}') ({jid})",
        f"{PREFIX}[JOB EXEC] job_id={jid} | task_id={tid} | queue=convert | trace_id={n:032x}",
        f"{PREFIX}[JOB START] job_id={jid} | task_id={tid} | queue=convert | trace_id={n:032x}",
        f"{PREFIX}[TASK START] task_id={tid} | type=convert | documents=1 | total_size={size} | pipeline=standard | ocr=easyocr | formats=md,json",
        f"{PREFIX}  [1/1] file: {name} ({size})",
        "INFO:docling.document_converter:Going to convert document batch...",
        "INFO:docling.document_converter:Initializing pipeline for StandardPdfPipeline with options hash 5f1a9c0e2b7d4f3a8c6e1b0d9a2f4e7c",
        "INFO:docling.models.factories.base_factory:Loading plugin 'docling_defaults'",
        "INFO:docling.models.factories:Registered ocr engines: ['easyocr', 'ocrmac', 'rapidocr', 'tesserocr', 'tesseract']",
        "INFO:docling.utils.accelerator_utils:Accelerator device: 'cpu'",
        "WARNING:easyocr.easyocr:Using CPU. Note: This module is much faster with a GPU.",
        "INFO:docling.utils.accelerator_utils:Accelerator device: 'cpu'",
        "INFO:docling.models.factories:Registered layout engines: ['docling_layout_default']",
        "INFO:docling.models.factories:Registered table structure engines: ['docling_tableformer']",
        f"INFO:docling.pipeline.base_pipeline:Processing document {name}",
        f'INFO:     10.42.0.1:{40000 + n % 20000} - "GET /health HTTP/1.1" 200 OK',
    ]
    for page in range(1, 11):
        lines.append(f"INFO:docling.pipeline.standard_pdf_pipeline:page {page}/{pages if pages > 1 else 1}: layout, table structure and OCR done in {0.8 + page * 0.01:.2f} s")
    lines += [
        f'INFO:     10.42.0.1:{40001 + n % 20000} - "GET /health HTTP/1.1" 200 OK',
        f"INFO:docling.document_converter:Finished converting document {name} in 12.34 sec.",
        f"{PREFIX}[DOC OK] {name} | status=success | size={size} | pages={pages} | time=12.34s",
        f"{PREFIX}[TASK SUCCESS] task_id={tid} | time=12.40s | documents=1/1 succeeded | size={size} | pages={pages} | throughput=0.8 pages/sec",
        f"{PREFIX}[JOB SUCCESS] job_id={jid} | task_id={tid} | duration=12.41s",
        f"{PREFIX}[MEMORY] job_id={jid} | rss={rss}MB | jobs_total={n}",
        f"{t} convert: Job OK ({jid})",
        f"{t} Result is kept for 14400 seconds",
        f'INFO:     10.42.0.1:{40002 + n % 20000} - "GET /ready HTTP/1.1" 200 OK',
    ]
    if since == 2:
        lines.append(f"{PREFIX}[CACHE CLEAR] jobs_since_last_clear=3 | converters=1 | pipelines=1 | memory={rss - 240}MB (freed 240MB)")
    else:
        lines.append("DEBUG:urllib3.connectionpool:Resetting dropped connection: redis")
    return lines


def write_log(path, total):
    head = [f"{PREFIX}[WORKER START] name=docling-worker | queues=convert | config={{'jobs_between_cache_clear': 3, 'scratch_dir': '/data/scratch'}}",
            "12:00:00 Worker rq:worker:docling-worker started with PID 7, version 1.16.2",
            "12:00:00 *** Listening on convert..."]
    written = 0
    n = 0
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as f:
        f.write("\n".join(head) + "\n")
        written += len(head)
        while written < total:
            n += 1
            block = job_block(n)
            block = block[: total - written]
            f.write("\n".join(block) + "\n")
            written += len(block)
    print(f"{path}: {written} lines, {n} jobs", file=sys.stderr)


def write_run(folder, jobs):
    here = os.path.dirname(os.path.abspath(__file__))
    src = os.path.join(here, "..", "fixtures", "reports", "synthetic-sawtooth")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(src, "run.json"), encoding="utf-8") as f:
        run = json.load(f)
    run["workload_name"] = f"SYNTHETIC {jobs}-job run (benches/gen_scale_inputs.py)"
    with open(os.path.join(folder, "run.json"), "w", encoding="utf-8") as f:
        json.dump(run, f)
    with open(os.path.join(src, "jobs.jsonl"), encoding="utf-8") as f:
        templates = [json.loads(line) for line in f if line.strip()]
    leak = 512 * 1024  # bytes per job

    def shift(snapshot, add):
        if not snapshot:
            return
        proc = snapshot.get("process") or {}
        if proc.get("rss_bytes") is not None:
            proc["rss_bytes"] += add
        alloc = (snapshot.get("allocator") or {}).get("before_purge") or {}
        for key in ("allocated_bytes", "active_bytes", "resident_bytes", "mapped_bytes"):
            if alloc.get(key) is not None:
                alloc[key] += add

    with open(os.path.join(folder, "jobs.jsonl"), "w", encoding="utf-8", buffering=1 << 20) as f:
        for j in range(1, jobs + 1):
            rec = json.loads(json.dumps(templates[(j - 1) % len(templates)]))
            rec["job"] = j
            rec["worker_jobs_total"] = j
            rec["job_id"] = f"00000000-0000-4000-8000-{j:012d}"
            rec["task_id"] = f"10000000-0000-4000-8000-{j:012d}"
            add = leak * j
            shift(rec.get("after_job"), add)
            if rec.get("peak_rss_bytes") is not None:
                rec["peak_rss_bytes"] += add
            clear = rec.get("cache_clear")
            if clear:
                shift(clear.get("after_clear"), add)
                for key in ("rss_before_bytes", "rss_after_bytes"):
                    if clear.get(key) is not None:
                        clear[key] += add
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")
    print(f"{folder}: {jobs} jobs", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("log", "run"):
        sys.exit(__doc__)
    if sys.argv[1] == "log":
        write_log(sys.argv[2], int(sys.argv[3]))
    else:
        write_run(sys.argv[2], int(sys.argv[3]))
