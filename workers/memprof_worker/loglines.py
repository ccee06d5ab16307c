"""docling-serve's instrumented worker log lines (the seed's format), on stderr.

docling-memprof's ``logs`` command reads these lines; the formats follow
``docs/protocol.md`` and the real worker (sizes ``N B``/``%.1f KB``/``%.1f MB``/``%.2f GB``,
durations ``N ms``/``%.2fs``/``Xm Y.Ys``).
"""

from __future__ import annotations

import sys
from typing import TextIO

PREFIX = "INFO:docling_serve.rq_worker_instrumented:"


def format_size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024**2:
        return f"{n / 1024:.1f} KB"
    if n < 1024**3:
        return f"{n / 1024**2:.1f} MB"
    return f"{n / 1024**3:.2f} GB"


def format_duration(secs: float) -> str:
    if secs < 1:
        return f"{round(secs * 1000)} ms"
    if secs < 60:
        return f"{secs:.2f}s"
    minutes, rest = divmod(secs, 60)
    return f"{int(minutes)}m {rest:.1f}s"


def clean(text: str) -> str:
    """A field value on one line: control characters (a newline in a file name) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Log:
    """Writes one line per event, with docling-serve's logger prefix."""

    def __init__(self, out: TextIO = sys.stderr) -> None:
        self.out = out

    def line(self, text: str) -> None:
        self.out.write(PREFIX + text + "\n")
        self.out.flush()

    def worker_start(self, jobs_between_cache_clear: int) -> None:
        self.line(
            "[WORKER START] name=docling-worker | queues=convert | "
            f"config={{'jobs_between_cache_clear': {jobs_between_cache_clear}}}"
        )

    def job_start(self, job_id: str, task_id: str) -> None:
        self.line(
            f"[JOB START] job_id={job_id} | task_id={task_id} | queue=convert | "
            f"trace_id={job_id.replace('-', '')}"
        )

    def task_start(self, task_id: str, sizes: list[tuple[str, int]], formats: list[str]) -> None:
        total = sum(size for _, size in sizes)
        self.line(
            f"[TASK START] task_id={task_id} | type=convert | documents={len(sizes)} | "
            f"total_size={format_size(total)} | formats={','.join(formats)}"
        )
        for i, (name, size) in enumerate(sizes, 1):
            self.line(f"  [{i}/{len(sizes)}] file: {clean(name)} ({format_size(size)})")

    def doc(self, name: str, ok: bool, size: int, pages: int, secs: float) -> None:
        tag, status = ("OK", "success") if ok else ("FAILED", "failure")
        self.line(
            f"[DOC {tag}] {clean(name)} | status={status} | size={format_size(size)} | "
            f"pages={pages} | time={format_duration(secs)}"
        )

    def job_end(self, job_id: str, task_id: str, ok: bool, secs: float, rss_mb: int | None,
                jobs_total: int) -> None:
        tag = "JOB SUCCESS" if ok else "JOB FAILED"
        self.line(f"[{tag}] job_id={job_id} | task_id={task_id} | duration={format_duration(secs)}")
        if rss_mb is not None:
            self.line(f"[MEMORY] job_id={job_id} | rss={rss_mb}MB | jobs_total={jobs_total}")

    def cache_clear(self, jobs: int, converters: int, pipelines: int, after_mb: int,
                    freed_mb: int) -> None:
        self.line(
            f"[CACHE CLEAR] jobs_since_last_clear={jobs} | converters={converters} | "
            f"pipelines={pipelines} | memory={after_mb}MB (freed {freed_mb}MB)"
        )
