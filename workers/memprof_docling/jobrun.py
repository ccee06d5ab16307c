"""One job of the driver: the log lines, ``docling_task``, the snapshots, the clear."""

from __future__ import annotations

import os
import signal
import time
from typing import TYPE_CHECKING, Any

from memprof_worker import snapshot as proc

from memprof_docling import task

if TYPE_CHECKING:
    from memprof_docling.driver import Driver

MIB = 1024 * 1024


def _documents(driver: Driver, sources: list[tuple[str, bytes]],
               failed: str | None) -> list[dict[str, Any]]:
    """Per document: what jobkit exported (in order), or the job's error for the rest."""
    out = []
    for i, (name, content) in enumerate(sources):
        seen = driver.watch.seen[i] if i < len(driver.watch.seen) else None
        ok = seen is not None and seen["status"] in ("success", "partial_success")
        error = None if ok else (seen or {}).get("error") or failed or "not converted"
        out.append({"name": name, "size_bytes": len(content),
                    "pages": (seen or {}).get("pages", 0), "success": ok, "error": error,
                    "duration_secs": (seen or {}).get("duration_secs", 0.0)})
    return out


KILL_AT_JOB_ENV = "DOCLING_MEMPROF_TEST_KILL_AT_JOB"
"""For the tests of a driver killed mid-job: SIGKILL itself when this job starts."""


def run_one(driver: Driver, job: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    if os.environ.get(KILL_AT_JOB_ENV) == str(job["job"]):
        os.kill(os.getpid(), signal.SIGKILL)
    log = driver.log
    log.job_start(job["job_id"], job["task_id"])
    error: str | None = None
    sources: list[tuple[str, bytes]] = []
    try:
        sources = [task.read_source(d) for d in job["documents"]]
    except (OSError, ValueError, KeyError) as e:
        error = f"reading the job's documents: {e}"
    formats = list((job.get("options") or {}).get("to_formats") or ["md"])
    log.task_start(job["task_id"], [(n, len(c)) for n, c in sources], formats)
    driver.watch.start()
    if error is None:
        data = task.task_data(job, sources)
        try:
            driver.worker_module.docling_task(data, driver.manager,
                                              driver.orchestrator_config, driver.scratch)
        except Exception as e:  # the job fails, the worker lives (as RQ records it)
            error = f"{type(e).__name__}: {e}"[:2000]
        del data
    task.RETAINED_BYTES.keep(int(driver.settings.get("retain_bytes_per_job") or 0))
    documents = _documents(driver, sources, error)
    del sources
    for d in documents:
        log.doc(d["name"], d["success"], d["size_bytes"], d["pages"], d["duration_secs"])
    ok = error is None and all(d["success"] for d in documents)
    driver.jobs_total += 1
    driver.jobs_since_clear += 1
    driver.last_job = int(job["job"])
    duration = time.monotonic() - started
    rss = proc.rss_bytes()
    log.job_end(job["job_id"], job["task_id"], ok, duration,
                None if rss is None else round(rss / MIB), driver.jobs_total)
    after_job = None
    if driver.measure.get("snapshots", True):
        before = driver.snaps.last_census
        after_job = driver.snapshot("after_job", driver.policy.after_job(driver.jobs_total,
                                                                          duration))
        if driver.measure.get("census") or driver.measure.get("sites"):
            from memprof_docling.driver import memory_detail

            memory_detail(log, after_job, before)
    if ok:
        outcome: dict[str, Any] = {"status": "success"}
    else:
        outcome = {"status": "failed", "error": error or next(
            (d["error"] for d in documents if d["error"]), "a document failed")}
    max_jobs = int(driver.settings.get("max_jobs", 0))
    return {"type": "job_done", "job": job["job"], "outcome": outcome,
            "duration_secs": duration, "documents": documents, "after_job": after_job,
            "cache_clear": clear_if_due(driver, rss), "worker_jobs_total": driver.jobs_total,
            "recycle_requested": max_jobs > 0 and driver.jobs_total >= max_jobs}


def clear_if_due(driver: Driver, rss_before: int | None) -> dict[str, Any] | None:
    every = int(driver.settings.get("jobs_between_cache_clear", 0))
    if every <= 0 or driver.jobs_since_clear < every:
        return None
    converters, pipelines = driver.tracker.clear()
    jobs, driver.jobs_since_clear = driver.jobs_since_clear, 0
    rss_after = proc.rss_bytes()
    if rss_before is not None and rss_after is not None:
        driver.log.cache_clear(jobs, converters, pipelines, round(rss_after / MIB),
                               round(rss_before / MIB) - round(rss_after / MIB))
    after_clear = driver.snapshot("after_clear", driver.policy.after_clear())
    return {"jobs_since_last_clear": jobs, "converters": converters, "pipelines": pipelines,
            "models": pipelines, "rss_before_bytes": rss_before,
            "rss_after_bytes": rss_after, "after_clear": after_clear}
