#!/usr/bin/env python3
"""The reference worker of docling-memprof's protocol (docs/protocol.md): standard library only.

It imitates docling-serve's RQ worker where memory is concerned: a converter cache keyed by
the options that shape the pipeline (each converter holds "models": plain buffers), cleared
every ``jobs_between_cache_clear`` jobs with ``gc.collect()``; one "conversion" per document
(it reads the bytes and builds a text result that is dropped after the job); the seed's log
lines on stderr. It leaks on request:

    python3 workers/reference_worker.py --leak-kb-per-job 2048

keeps 2 MiB per job in a list no clear reaches (docling-jobkit's kept results). It is the
protocol's conformance test and the example for anyone writing a worker:

    docling-memprof replay fixtures/workloads/seed-20-jobs.json \
        --worker-cmd 'python3 workers/reference_worker.py'
"""

from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import json
import os
import re
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from memprof_worker import protocol, snapshot  # noqa: E402
from memprof_worker.loglines import Log  # noqa: E402

# Options that do not shape the pipeline (docling-serve leaves them out of the cache key).
NOT_IN_KEY = {"to_formats", "from_formats", "page_range", "abort_on_error"}
MIB = 1024 * 1024
PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


class ReferenceWorker:
    """One worker process: settings from ``init``, a converter cache, the job loop."""

    def __init__(self, init: dict[str, Any], leak_kb_per_job: int, model_mb: float) -> None:
        self.settings = init["settings"]
        self.measure = init["measure"]
        self.leak_kb_per_job = leak_kb_per_job
        self.model_bytes = int(model_mb * MIB * float(self.settings.get("model_scale", 1.0)))
        self.converters: dict[str, list[bytearray]] = {}
        self.kept: list[bytes] = []  # the leak: results nobody deletes
        self.jobs_total = 0
        self.jobs_since_clear = 0
        self.log = Log()
        self.work_secs = 0.0
        self.log.worker_start(self.settings.get("jobs_between_cache_clear", 0))

    def state(self) -> dict[str, Any]:
        return {
            "converters": len(self.converters),
            "pipelines": len(self.converters),
            "models_loaded": len(self.converters),
            "model_bytes": self.model_bytes * len(self.converters),
            "options_side_map": None,
            "retained_results": len(self.kept),
            "jobs_total": self.jobs_total,
            "jobs_since_clear": self.jobs_since_clear,
        }

    def snap(self, kind: str, smaps: bool) -> dict[str, Any] | None:
        if not self.measure.get("snapshots", True) and kind != "after_clear":
            return None
        census = bool(self.measure.get("census"))
        return snapshot.snapshot(kind, self.state(), smaps=smaps, with_census=census)

    def converter(self, options: dict[str, Any]) -> list[bytearray]:
        shaping = {k: v for k, v in sorted(options.items()) if k not in NOT_IN_KEY}
        key = hashlib.sha1(json.dumps(shaping, sort_keys=True).encode()).hexdigest()
        if key not in self.converters:
            # Loading the models: touch every page so they are resident, as real weights are.
            self.converters[key] = [bytearray(b"\x01" * self.model_bytes)]
            while len(self.converters) > int(self.settings.get("options_cache_size", 2)):
                self.converters.pop(next(iter(self.converters)))
        return self.converters[key]

    def run_job(self, job: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        self.log.job_start(job["job_id"], job["task_id"])
        if self.work_secs:
            time.sleep(self.work_secs)  # --standalone: the job takes this long
        documents, ok = [], True
        options = job.get("options") or {}
        self.converter(options)
        contents = [(d["name"], read_document(d)) for d in job["documents"]]
        self.log.task_start(job["task_id"], [(n, len(c or b"")) for n, c in contents],
                            list(options.get("to_formats") or ["md"]))
        for name, content in contents:
            doc_started = time.monotonic()
            error = None if content is not None else "the document could not be read"
            pages = 0
            if content is not None:
                result = convert(content)
                pages = count_pages(name, content)
                del result
            secs = time.monotonic() - doc_started
            size = len(content or b"")
            self.log.doc(name, error is None, size, pages, secs)
            documents.append({"name": name, "size_bytes": size, "pages": pages,
                              "success": error is None, "error": error, "duration_secs": secs})
            ok = ok and error is None
        if self.leak_kb_per_job:
            self.kept.append(b"\x02" * (self.leak_kb_per_job * 1024))
        self.jobs_total += 1
        self.jobs_since_clear += 1
        duration = time.monotonic() - started
        rss = snapshot.rss_bytes()
        self.log.job_end(job["job_id"], job["task_id"], ok, duration,
                         None if rss is None else round(rss / MIB), self.jobs_total)
        after_job = self.snap("after_job", bool(self.measure.get("smaps")))
        outcome = {"status": "success"} if ok else {"status": "failed",
                                                    "error": "a document failed"}
        return {"type": "job_done", "job": job["job"], "outcome": outcome,
                "duration_secs": duration, "documents": documents, "after_job": after_job,
                "cache_clear": self.clear_if_due(rss), "worker_jobs_total": self.jobs_total,
                "recycle_requested": self.wants_recycle()}

    def clear_if_due(self, rss_before: int | None) -> dict[str, Any] | None:
        every = int(self.settings.get("jobs_between_cache_clear", 0))
        if every <= 0 or self.jobs_since_clear < every:
            return None
        converters = len(self.converters)
        self.converters.clear()
        gc.collect()
        jobs, self.jobs_since_clear = self.jobs_since_clear, 0
        rss_after = snapshot.rss_bytes()
        if rss_before is not None and rss_after is not None:
            self.log.cache_clear(jobs, converters, converters, round(rss_after / MIB),
                                 round(rss_before / MIB) - round(rss_after / MIB))
        return {"jobs_since_last_clear": jobs, "converters": converters,
                "pipelines": converters, "models": converters,
                "model_bytes": converters * self.model_bytes,
                "rss_before_bytes": rss_before, "rss_after_bytes": rss_after,
                "after_clear": self.snap("after_clear",
                                         bool(self.measure.get("smaps_after_clear")))}

    def wants_recycle(self) -> bool:
        max_jobs = int(self.settings.get("max_jobs", 0))
        return max_jobs > 0 and self.jobs_total >= max_jobs


def read_document(document: dict[str, Any]) -> bytes | None:
    """The document's bytes; None when it cannot be read (the job fails, the worker lives)."""
    try:
        if document["kind"] == "base64":
            return base64.b64decode(document["base64"], validate=True)
        with open(document["path"], "rb") as f:
            return f.read()
    except (OSError, ValueError):
        return None


def convert(content: bytes) -> str:
    """A stand-in conversion: the document's printable text, as Markdown paragraphs."""
    text = content.decode("utf-8", errors="ignore")
    return "\n\n".join(line.strip() for line in text.splitlines() if line.strip())


def count_pages(name: str, content: bytes) -> int:
    """PDF pages by their page objects; one page for every other format."""
    if name.lower().endswith(".pdf"):
        return max(1, len(PAGE_OBJECT.findall(content)))
    return 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leak-kb-per-job", type=int, default=0,
                        help="keep this many KiB per job where no clear reaches them")
    parser.add_argument("--model-mb", type=float, default=16.0,
                        help="size of one converter's models (times settings.model_scale)")
    parser.add_argument("--standalone", type=int, default=0, metavar="JOBS",
                        help="no protocol: run JOBS jobs of its own, as an RQ worker taking "
                             "jobs from its queue (for docling-memprof watch), then exit")
    parser.add_argument("--job-secs", type=float, default=None,
                        help="how long each job takes at least (default: 0.5 s with "
                             "--standalone, else no wait)")
    parser.add_argument("--clear-every", type=int, default=3,
                        help="with --standalone: jobs_between_cache_clear")
    args = parser.parse_args(argv)
    if args.standalone:
        return standalone(args)
    channel = protocol.open_channel()
    messages = channel.messages()
    init = next(messages, None)
    if init is None or init.get("type") != "init":
        return 0
    worker = ReferenceWorker(init, args.leak_kb_per_job, args.model_mb)
    worker.work_secs = args.job_secs or 0.0
    baseline = worker.snap("baseline", bool(init["measure"].get("smaps")))
    channel.send(protocol.ready(os.getpid(), "reference_worker.py", baseline))
    for message in messages:
        if message.get("type") == "job":
            channel.send(worker.run_job(message))
        elif message.get("type") == "shutdown":
            break
    return 0


def standalone(args: argparse.Namespace) -> int:
    """Run jobs without the protocol: what a watched docling-serve worker does on its own."""
    init = {"settings": {"jobs_between_cache_clear": args.clear_every, "model_scale": 1.0},
            "measure": {}}
    worker = ReferenceWorker(init, args.leak_kb_per_job, args.model_mb)
    worker.work_secs = 0.5 if args.job_secs is None else args.job_secs
    document = base64.b64encode(b"# A document\n\nSome text.\n" * 200).decode()
    for n in range(1, args.standalone + 1):
        worker.run_job({"job": n, "job_id": f"job-{n:04d}", "task_id": f"task-{n:04d}",
                        "options": {}, "documents": [{"name": f"doc-{n}.md", "kind": "base64",
                                                      "base64": document}]})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
