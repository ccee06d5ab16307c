"""The driver's job loop: init -> ready, jobs through docling-jobkit, clears, shutdown.

Environment (set by ``docling-memprof replay --worker docling``):

- ``DOCLING_MEMPROF_ALLOCATOR``: ``jemalloc``, ``mimalloc`` (preloaded by the parent) or
  ``system``; checked against ``/proc/self/maps``;
- ``DOCLING_MEMPROF_ARTIFACTS``: the model folder when the workload names none (a folder
  ``standin`` generated carries ``STANDIN.json``: its weights are synthetic);
- ``DOCLING_MEMPROF_CENSUS``: ``auto`` (default), ``every`` or ``off`` (see ``pycensus``);
- ``PYTHONMALLOC``: as production, unset (pymalloc) unless ``--python-malloc malloc``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from memprof_worker import protocol
from memprof_worker.loglines import Log

from memprof_docling import allocators, owners, pycensus, tracing
from memprof_docling.snapshots import Snapshots

MIB = 1024 * 1024
OWNER_SECONDS = 12.0


def artifacts(settings: dict[str, Any]) -> str | None:
    """The model folder: the workload's, else the parent's (``run.json`` says whether its
    weights are stand-ins: the parent reads ``STANDIN.json``)."""
    return settings.get("artifacts_path") or os.environ.get("DOCLING_MEMPROF_ARTIFACTS") or None


class Driver:
    """One worker process: the manager, the stubbed RQ job, the snapshots."""

    def __init__(self, init: dict[str, Any]) -> None:
        self.settings = init["settings"]
        self.measure = init["measure"]
        kind = os.environ.get("DOCLING_MEMPROF_ALLOCATOR", "system")
        self.allocator, self.allocator_path, read = allocators.open_allocator(kind)
        self.python_malloc = os.environ.get("PYTHONMALLOC") or "pymalloc"
        if self.measure.get("sites") == "tracemalloc":
            tracing.start()
        census_mode = os.environ.get("DOCLING_MEMPROF_CENSUS") or (
            "auto" if self.measure.get("census") else "off")
        if census_mode == "off" and self.measure.get("sites") == "tracemalloc":
            census_mode = "auto"  # the schedule of tracemalloc's site tables; no gc census
        self.policy = pycensus.CensusPolicy(census_mode)
        self.snaps = Snapshots(self.measure, read, self.python_malloc)
        self.log = Log()
        self._start_jobkit()

    def _start_jobkit(self) -> None:
        import docling_jobkit.orchestrators.rq.worker as w
        from docling_jobkit.convert.manager import (DoclingConverterManager,
                                                    DoclingConverterManagerConfig)
        from docling_jobkit.orchestrators.rq.orchestrator import RQOrchestratorConfig

        from memprof_docling import clearing, task

        self.worker_module = w
        self.artifacts_path = artifacts(self.settings)
        self.manager = DoclingConverterManager(DoclingConverterManagerConfig(
            artifacts_path=self.artifacts_path,
            options_cache_size=int(self.settings.get("options_cache_size", 2))))
        self.orchestrator_config = RQOrchestratorConfig()
        self.stub = task.install_stub(w)
        scenarios = set(self.settings.get("scenarios") or [])
        self.watch = task.DocumentWatch(w, retain="retain_results" in scenarios)
        self.tracker = clearing.ConverterTracker(self.manager)
        scratch = self.settings.get("scratch_dir")
        self.scratch = Path(scratch) if scratch else Path(tempfile.mkdtemp(prefix="docling_"))
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.jobs_total = 0
        self.jobs_since_clear = 0
        self.last_job = 0
        self.log.worker_start(int(self.settings.get("jobs_between_cache_clear", 0)))

    def state(self) -> dict[str, Any]:
        from memprof_docling.task import RETAINED

        retain = self.watch.retain
        return {"converters": self.tracker.cached_converters(),
                "pipelines": self.tracker.pipelines(), "models_loaded": None,
                "model_bytes": None, "options_side_map": self.tracker.options_side_map(),
                "retained_results": len(RETAINED.documents) if retain else None,
                "jobs_total": self.jobs_total, "jobs_since_clear": self.jobs_since_clear}

    def snapshot(self, kind: str, census_reason: str | None) -> dict[str, Any]:
        suffix = "_after_clear" if kind == "after_clear" else ""
        smaps = bool(self.measure.get("smaps" + suffix))
        purge = bool(self.measure.get("purge" + suffix))
        snap = self.snaps.take(kind, self.state(), census_reason, self.policy.every_k(),
                               smaps, purge)
        python = snap["python"]
        if python["census_duration_secs"] is not None:
            self.policy.observed(python["census_duration_secs"])
        return snap

    def baseline(self) -> dict[str, Any] | None:
        if not self.measure.get("snapshots", True):
            return None
        return self.snapshot("baseline", None)

    def run_job(self, job: dict[str, Any]) -> dict[str, Any]:
        from memprof_docling.jobrun import run_one

        return run_one(self, job)

    def write_owners(self) -> None:
        """At shutdown: owner chains of the growing types into ``profile.jsonl``."""
        run_dir = self.measure.get("run_dir")
        censuses = self.snaps.censuses
        if not run_dir or len(censuses) < 3 or self.last_job == 0:
            return
        first = censuses[len(censuses) // 5]
        growing = owners.growing_types(first, censuses[-1])
        if not growing:
            return
        tree = owners.owner_tree(growing, OWNER_SECONDS)
        record = {"job": self.last_job, "kind": "after_job", "worker_pid": os.getpid(),
                  "owners": tree}
        with open(os.path.join(run_dir, "profile.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(record, separators=(",", ":")) + "\n")


def memory_detail(log: Log, snap: dict[str, Any], before: list[dict[str, Any]]) -> None:
    """The seed's ``[MEMORY DETAIL]`` lines (profiling on)."""
    allocator = snap.get("allocator") or {}
    heap = (allocator.get("before_purge") or {}).get("allocated_bytes") \
        or allocator.get("uordblks_bytes")
    if heap is not None:
        log.line(f"[MEMORY DETAIL] heap={heap / MIB:.1f}MB")
    python = snap.get("python") or {}
    if python.get("tracemalloc_traced_bytes") is not None:
        log.line(f"[MEMORY DETAIL] tracemalloc_tracked={python['tracemalloc_traced_bytes'] / MIB:.1f}MB")
        log.line("[MEMORY DETAIL] Top allocations:")
        for site in (snap.get("sites") or {}).get("sites", [])[:5]:
            log.out.write(f"  {site['live_bytes'] / MIB:.1f}MB ({site['live_blocks']} objects) "
                          f"at {site['site']}\n")
    if snap.get("census"):
        log.line("[MEMORY DETAIL] Object growth since last snapshot:")
        for name, growth, now in pycensus.growth(before, snap["census"])[:5]:
            log.out.write(f"  {name}: +{growth} (now {now})\n")
    counts = python.get("gc_counts")
    if counts:
        log.line(f"[MEMORY DETAIL] gc_counts=({', '.join(str(c) for c in counts)})")
    log.out.flush()


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    channel = protocol.open_channel()
    messages = channel.messages()
    init = next(messages, None)
    if init is None or init.get("type") != "init":
        return 0
    try:
        driver = Driver(init)
        baseline = driver.baseline()
        ready = protocol.ready(os.getpid(), "memprof_docling", baseline)
        ready["allocator"] = driver.allocator if driver.python_malloc == "malloc" \
            else f"pymalloc+{driver.allocator}"
    except Exception as e:
        channel.send({"type": "fatal", "message": f"the docling driver could not start: "
                                                  f"{type(e).__name__}: {e}"})
        return 1
    channel.send(ready)
    for message in messages:
        if message.get("type") == "job":
            channel.send(driver.run_job(message))
        elif message.get("type") == "shutdown":
            break
    driver.write_owners()
    return 0
