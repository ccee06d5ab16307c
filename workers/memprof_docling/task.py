"""One protocol job through docling-jobkit's real ``docling_task``, without RQ or Redis.

``docling_task(task_data, conversion_manager, orchestrator_config, scratch_dir)`` is what the
RQ worker runs for each job. It asks ``rq.get_current_job()`` for the job and uses
``job.connection`` (a ``redis.Redis``) to ``publish`` status updates and ``setex`` the packed
result. :func:`install_stub` replaces the module's ``get_current_job`` with a stub whose
connection does nothing (the result bytes are counted, not kept), so the job runs the exact
jobkit code: validation, source expansion (the double base64 decode), the converter cache,
``initialize_pipeline(PDF)``, conversion, export, ``model_dump``, msgpack and the scratch
clean-up. What is left out: RQ's job bookkeeping, the heartbeat thread and its Redis
connection, the Redis client's buffers.

:class:`DocumentWatch` wraps ``ExportableDocument.from_conversion_result`` (called once per
converted document, lazily, right after docling converts it) to learn each document's outcome,
pages and time without keeping anything, unless the ``retain_results`` leak is on: then it
keeps every converted ``DoclingDocument`` in ``RETAINED``, as docling-jobkit's results store
did before 1.9.

:class:`RetainedBytes` is the ``retain_bytes_per_job`` setting: a **synthetic** leak of a known
size (N bytes written and kept after every job), to calibrate the verdict on the real worker.
"""

from __future__ import annotations

import base64
import os
import time
from typing import Any


class RetainedResults:
    """The ``retain_results`` leak: every converted document, never dropped."""

    def __init__(self) -> None:
        self.documents: list[Any] = []


RETAINED = RetainedResults()


class RetainedBytes:
    """The ``retain_bytes_per_job`` leak (synthetic): one block of exactly N bytes per job, every
    byte written (so its pages are resident), never dropped."""

    def __init__(self) -> None:
        self.blocks: list[bytearray] = []

    def keep(self, size: int) -> None:
        if size <= 0:
            return
        block = bytearray(size)
        block[:] = b"\xa5" * size  # written, not only reserved: resident whatever the allocator
        self.blocks.append(block)

    def total(self) -> int:
        return sum(len(b) for b in self.blocks)


RETAINED_BYTES = RetainedBytes()


class StubConnection:
    """``job.connection`` without Redis: ``publish`` and ``setex`` do nothing."""

    def __init__(self) -> None:
        self.result_bytes: int | None = None

    def publish(self, channel: str, message: Any) -> int:
        return 0

    def setex(self, key: str, ttl: Any, value: bytes) -> bool:
        self.result_bytes = len(value)
        return True


class StubJob:
    id = "docling-memprof-replay"

    def __init__(self) -> None:
        self.connection = StubConnection()


def install_stub(worker_module: Any) -> StubJob:
    """Make ``worker_module.get_current_job()`` return a stub job (looked up at call time)."""
    job = StubJob()
    worker_module.get_current_job = lambda *args, **kwargs: job
    return job


class DocumentWatch:
    """Per-document outcomes of the running job, seen as jobkit exports each one."""

    def __init__(self, worker_module: Any, retain: bool) -> None:
        original = worker_module.ExportableDocument
        watch = self
        self.retain = retain
        self.seen: list[dict[str, Any]] = []
        self.mark = time.monotonic()

        class Watched(original):  # type: ignore[misc, valid-type]
            @classmethod
            def from_conversion_result(cls, conversion_result: Any, **kwargs: Any) -> Any:
                watch.saw(conversion_result)
                return original.from_conversion_result(conversion_result, **kwargs)

        worker_module.ExportableDocument = Watched

    def start(self) -> None:
        self.seen = []
        self.mark = time.monotonic()

    def saw(self, result: Any) -> None:
        now = time.monotonic()
        status = str(getattr(result.status, "value", result.status))
        document = getattr(result, "document", None)
        pages = len(getattr(result, "pages", []) or [])
        if not pages and document is not None:
            try:
                pages = int(document.num_pages())
            except Exception:
                pages = 0
        errors = [str(getattr(e, "error_message", e)) for e in (result.errors or [])]
        self.seen.append({"name": result.input.file.name, "status": status,
                          "pages": pages, "error": "; ".join(errors) or None,
                          "duration_secs": now - self.mark})
        self.mark = now
        if self.retain and document is not None:
            RETAINED.documents.append(document)


def read_source(document: dict[str, Any]) -> tuple[str, bytes]:
    """(name, bytes) of a protocol document (``path`` or ``base64``)."""
    name = document["name"]
    if document["kind"] == "base64":
        return name, base64.b64decode(document["base64"], validate=True)
    with open(document["path"], "rb") as f:
        return name, f.read()


def task_data(job: dict[str, Any], sources: list[tuple[str, bytes]]) -> dict[str, Any]:
    """The RQ job's ``task_data``, as docling-serve's orchestrator enqueues it."""
    return {
        "task_id": job["task_id"],
        "task_type": job.get("task_type") or "convert",
        "sources": [{"kind": "file", "filename": os.path.basename(name) or "document",
                     "base64_string": base64.b64encode(content).decode("ascii")}
                    for name, content in sources],
        # null is "not set" in the protocol: jobkit's defaults apply (page_range takes no null)
        "convert_options": {k: v for k, v in (job.get("options") or {}).items() if v is not None},
        "target": {"kind": "inbody"},
        "callbacks": [],
        "metadata": {},
    }
