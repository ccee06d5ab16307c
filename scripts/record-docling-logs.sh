#!/usr/bin/env bash
# Records the real-docling log fixtures of fixtures/logs/ (see fixtures/logs/README.md):
#
#   docling-real-plateau-360-jobs.log   fixtures/workloads/docling-plateau-360-jobs.json
#     (recorded before the driver's census store was bounded, this run crept +0.17 MB/job:
#     committed as docling-real-census-creep-360-jobs.log; recorded again with the bounded
#     store: slow_growth, +0.017 MB/job)
#   docling-real-leak-2mb-360-jobs.log  fixtures/workloads/docling-retain-2mb-360-jobs.json
#
# Both run the real Python docling (docling-jobkit's docling_task, scripts/setup-docling.sh's
# pinned environment, stand-in layout weights) through `replay --worker docling`, glibc malloc,
# pymalloc, the census on its default schedule (`auto`). The second adds the driver's synthetic
# leak of a known size (worker.retain_bytes_per_job = 2 MiB, written, kept after every job).
#
# With --corpus, a third run replays every non-PDF document of the corpus
# (CORPUS, default /work/shared/corpus/docling-tests) 6 times (378 jobs, clear every 3), for the
# creep finding of docs/verdict-method.md; its log is not a fixture (the corpus stays outside the
# repository).
#
# Usage: scripts/record-docling-logs.sh [--corpus] [OUT]   (OUT default: /tmp/docling-recordings)
# A run takes 5-15 minutes on a shared 2-core machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
corpus_run=0
if [ "${1:-}" = "--corpus" ]; then
    corpus_run=1
    shift
fi
out=${1:-/tmp/docling-recordings}
corpus=${CORPUS:-/work/shared/corpus/docling-tests}
mkdir -p "$out"
cargo build --release --quiet
bin=target/release/docling-memprof

record() { # name workload
    rm -rf "$out/$1"
    echo "recording $1 from $2 ..."
    "$bin" replay "$2" --worker docling --out "$out/$1" --quiet
    echo "$1: $(grep -c '\[MEMORY\] ' "$out/$1/worker.log") jobs in $out/$1/worker.log"
}

# The lines `logs` reads, in the order written: the job lines, the clears, the census lines.
# Nothing else is dropped (no line is edited).
keep_log_lines() { # src dst
    grep -E '\[(WORKER START|JOB EXEC|JOB START|TASK START|DOC OK|DOC FAILED|TASK SUCCESS|TASK FAILED|JOB SUCCESS|JOB FAILED|MEMORY|MEMORY DETAIL|CACHE CLEAR)\]|\] file: ' "$1" >"$2"
}

record plateau fixtures/workloads/docling-plateau-360-jobs.json
keep_log_lines "$out/plateau/worker.log" fixtures/logs/docling-real-plateau-360-jobs.log
record leak-2mb fixtures/workloads/docling-retain-2mb-360-jobs.json
keep_log_lines "$out/leak-2mb/worker.log" fixtures/logs/docling-real-leak-2mb-360-jobs.log

if [ "$corpus_run" = 1 ]; then
    python3 - "$corpus" "$out/corpus-378-jobs.json" <<'EOF'
import json, pathlib, sys
corpus, dest = pathlib.Path(sys.argv[1]), sys.argv[2]
files = sorted(p for p in corpus.glob("*/*") if p.is_file() and p.suffix in (".md", ".html", ".csv", ".docx"))
docs = [{"id": f"{p.parent.name}-{p.stem}", "path": str(p)} for p in files]
jobs = [{"name": p.suffix[1:], "options": {"do_ocr": False, "do_table_structure": False,
         "to_formats": ["md", "json"]}, "documents": [d["id"]]} for p, d in zip(files, docs)]
json.dump({"schema_version": 1, "name": "corpus-378-jobs",
           "description": f"every non-PDF document of {corpus} ({len(files)}), 6 times",
           "worker": {"jobs_between_cache_clear": 3, "options_cache_size": 2},
           "documents": docs, "jobs": jobs, "repeat": 6}, open(dest, "w"), indent=1)
print(f"{len(files)} documents, {6 * len(files)} jobs")
EOF
    record corpus "$out/corpus-378-jobs.json"
fi
ls -l fixtures/logs/docling-real-*.log
