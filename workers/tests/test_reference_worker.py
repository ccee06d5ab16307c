"""Tests of the reference worker and its helpers, through the protocol (run with pytest)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

WORKERS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(WORKERS))

from memprof_worker import loglines, snapshot  # noqa: E402

NOTES = WORKERS.parent / "fixtures" / "documents" / "release-notes.md"


def init(clear_every: int = 2, max_jobs: int = 0) -> dict:
    return {
        "type": "init", "protocol_version": 1, "worker_index": 0,
        "settings": {"jobs_between_cache_clear": clear_every, "options_cache_size": 2,
                     "max_jobs": max_jobs, "model_scale": 0.01, "scenarios": []},
        "measure": {"snapshots": True, "purge": False, "purge_after_clear": False,
                    "smaps": False, "smaps_after_clear": True, "census": True},
    }


def job(n: int, documents: list[dict] | None = None, options: dict | None = None) -> dict:
    return {"type": "job", "job": n, "job_id": f"j{n}", "task_id": f"t{n}",
            "workload_job": "test", "task_type": "convert",
            "documents": documents or [{"kind": "path", "name": NOTES.name, "path": str(NOTES)}],
            "options": options or {"to_formats": ["md"]}}


def converse(messages: list[dict], *flags: str) -> tuple[list[dict], str]:
    """Run the worker on these messages; its protocol answers and its log."""
    text = "".join(json.dumps(m) + "\n" for m in messages)
    done = subprocess.run([sys.executable, str(WORKERS / "reference_worker.py"), *flags],
                          input=text, capture_output=True, text=True, timeout=60, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def test_ready_then_one_job_done_per_job() -> None:
    answers, log = converse([init(), job(1), job(2), job(3), {"type": "shutdown"}])
    assert [a["type"] for a in answers] == ["ready", "job_done", "job_done", "job_done"]
    assert [a["job"] for a in answers[1:]] == [1, 2, 3]
    assert answers[0]["baseline"]["process"]["rss_bytes"] > 0
    assert "[WORKER START]" in log and log.count("[JOB SUCCESS]") == 3


def test_clears_every_n_jobs_and_reports_them() -> None:
    answers, log = converse([init(clear_every=2), job(1), job(2), job(3), job(4)])
    clears = [a["job"] for a in answers[1:] if a["cache_clear"]]
    assert clears == [2, 4]
    clear = answers[2]["cache_clear"]
    assert clear["converters"] == 1 and clear["after_clear"]["kind"] == "after_clear"
    assert clear["after_clear"]["worker"]["converters"] == 0
    assert log.count("[CACHE CLEAR]") == 2


def test_the_leak_flag_keeps_memory_no_clear_reaches() -> None:
    jobs = [job(n) for n in range(1, 9)]
    answers, _ = converse([init(clear_every=2), *jobs], "--leak-kb-per-job", "8192")
    after = [a["cache_clear"]["after_clear"]["process"]["rss_bytes"]
             for a in answers[1:] if a["cache_clear"]]
    assert len(after) == 4
    # 8 MiB per job, two jobs per clear cycle: each floor is at least ~12 MiB above the last.
    assert all(b - a > 12 * 1024 * 1024 for a, b in zip(after, after[1:])), after
    assert answers[-1]["after_job"]["worker"]["retained_results"] == 8


def test_a_document_that_cannot_be_read_fails_the_job_not_the_worker() -> None:
    missing = [{"kind": "path", "name": "gone.pdf", "path": "/nonexistent/gone.pdf"}]
    broken = [{"kind": "base64", "name": "x.md", "base64": "not base64!"}]
    answers, _ = converse([init(), job(1, missing), job(2, broken), job(3)])
    assert answers[1]["outcome"]["status"] == "failed"
    assert answers[2]["outcome"]["status"] == "failed"
    assert answers[3]["outcome"] == {"status": "success"}


def test_base64_documents_are_decoded() -> None:
    content = base64.b64encode(NOTES.read_bytes()).decode()
    answers, _ = converse([init(), job(1, [{"kind": "base64", "name": "n.md", "base64": content}])])
    assert answers[1]["documents"][0]["size_bytes"] == NOTES.stat().st_size


def test_recycling_is_requested_after_max_jobs() -> None:
    answers, _ = converse([init(max_jobs=2), job(1), job(2)])
    assert [a["recycle_requested"] for a in answers[1:]] == [False, True]


def test_library_prints_never_reach_the_protocol_channel() -> None:
    """Anything printed after the channel opened goes to stderr (worker.log)."""
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "from memprof_worker import protocol\n"
        "c = protocol.open_channel()\n"
        "print('a library prints this')\n"
        "import os; os.write(1, b'and C code writes this\\n')\n"
        "c.send({'type': 'fatal', 'message': 'done'})\n"
    ) % str(WORKERS)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30, check=True)
    assert done.stdout.splitlines() == ['{"type":"fatal","message":"done"}']
    assert "a library prints this" in done.stderr and "and C code" in done.stderr


@pytest.mark.parametrize("size,text", [(0, "0 B"), (1536, "1.5 KB"), (443 * 1024, "443.0 KB"),
                                       (5 * 1024**2, "5.0 MB"), (3 * 1024**3, "3.00 GB")])
def test_sizes_print_as_docling_serve_prints_them(size: int, text: str) -> None:
    assert loglines.format_size(size) == text


def test_a_newline_in_a_file_name_cannot_inject_a_log_line() -> None:
    assert "\n" not in loglines.clean("a.pdf\n[MEMORY] rss=99999MB")


def test_process_memory_reads_proc_self() -> None:
    memory = snapshot.process_memory(smaps=True)
    assert memory is not None and memory["rss_bytes"] > 0
    assert memory["pss_bytes"] is None or memory["pss_bytes"] > 0


def test_the_census_counts_objects_by_type_without_bytes() -> None:
    counts = {t["type_name"]: t for t in snapshot.census(top=500)}
    assert counts["dict"]["live_count"] > 0 and counts["dict"]["live_bytes"] is None
