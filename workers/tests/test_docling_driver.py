"""Tests of the docling driver's parts that need no docling (run with pytest): the census
policy, the owner chains, the task it builds for jobkit, the allocator check, the Python
check. The driver with the real docling is tested from Rust (tests/integration/docling.rs)."""

from __future__ import annotations

import base64
import io
import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

WORKERS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(WORKERS))

from memprof_docling import allocators, owners, pycensus, task  # noqa: E402


def test_census_every_job_while_it_costs_under_five_percent() -> None:
    policy = pycensus.CensusPolicy("auto")
    assert policy.after_job(1, 1.0) == "first"
    policy.observed(0.02)  # 2% of a 1 s job
    assert [policy.after_job(n, 1.0) for n in range(2, 6)] == ["under_budget"] * 4


def test_census_every_kth_job_when_it_costs_more() -> None:
    policy = pycensus.CensusPolicy("auto")
    policy.after_job(1, 0.1)
    policy.observed(0.2)  # twice the job: 200% / 5% -> about every 40th job
    k = policy.every_k()
    assert 40 <= k <= 41
    taken = [n for n in range(2, 100) if policy.after_job(n, 0.1)]
    # k is recomputed from the running means (float rounding moves it by one)
    assert len(taken) == 2 and 40 <= taken[0] <= 41 and 80 <= taken[1] <= 82
    assert policy.after_clear() == "clear"


def test_census_policy_every_and_off() -> None:
    every, off = pycensus.CensusPolicy("every"), pycensus.CensusPolicy("off")
    every.observed(10.0)
    assert every.after_job(2, 0.01) == "every"
    assert off.after_job(1, 1.0) is None and off.after_clear() is None
    with pytest.raises(ValueError):
        pycensus.CensusPolicy("sometimes")


def test_census_counts_every_type() -> None:
    class Marker:
        pass

    keep = [Marker() for _ in range(123)]
    types, objects, secs = pycensus.census()
    counts = {t["type_name"]: t["live_count"] for t in types}
    assert counts["Marker"] == 123
    assert objects >= len(keep) and secs >= 0
    assert counts["Marker"] and all(t["live_bytes"] is None or t["live_bytes"] >= 0 for t in types)
    sizes = {t["type_name"]: t["live_bytes"] for t in types}
    assert sizes["Marker"] >= 123 * 16


class Held:
    def __init__(self) -> None:
        self.payload = [bytearray(64) for _ in range(3)]


class Holder:
    def __init__(self) -> None:
        self.kept: list[Held] = []


HOLDER = Holder()


def test_owner_chain_leads_from_the_module_to_the_retained_objects() -> None:
    HOLDER.kept.extend(Held() for _ in range(40))
    tree = owners.owner_tree([("Held", 40)], seconds=10.0)
    module = next(c for c in tree["children"] if c["name"] == __name__)
    holder = next(c for c in module["children"] if c["name"] == "HOLDER")
    assert holder["type_name"] == "Holder"
    kept = next(c for c in holder["children"] if c["name"] == "kept")
    held = next(c for c in kept["children"] if c["type_name"] == "Held")
    assert held["count"] == 40  # 8 sampled, each standing for 40 / 8
    assert tree["bytes"] > 0


def test_growing_types_are_ordered_by_growth() -> None:
    first = [{"type_name": "a", "live_count": 10}, {"type_name": "b", "live_count": 5}]
    last = [{"type_name": "a", "live_count": 11}, {"type_name": "b", "live_count": 50},
            {"type_name": "c", "live_count": 3}]
    assert owners.growing_types(first, last) == [("b", 50), ("c", 3), ("a", 11)]


def test_task_data_is_what_docling_serve_enqueues(tmp_path: Path) -> None:
    doc = tmp_path / "a.html"
    doc.write_bytes(b"<p>hi</p>")
    job = {"task_id": "t-1", "task_type": "convert",
           "documents": [{"kind": "path", "name": "a.html", "path": str(doc)},
                         {"kind": "base64", "name": "b.md",
                          "base64": base64.b64encode(b"# b").decode()}],
           "options": {"to_formats": ["md"], "page_range": None, "do_ocr": False}}
    sources = [task.read_source(d) for d in job["documents"]]
    data = task.task_data(job, sources)
    assert data["task_id"] == "t-1" and data["target"] == {"kind": "inbody"}
    assert [s["filename"] for s in data["sources"]] == ["a.html", "b.md"]
    assert base64.b64decode(data["sources"][1]["base64_string"]) == b"# b"
    # null is "not set": jobkit's own default applies
    assert data["convert_options"] == {"to_formats": ["md"], "do_ocr": False}


def test_stub_connection_counts_and_keeps_nothing() -> None:
    class Module:
        pass

    module = Module()
    job = task.install_stub(module)
    assert module.get_current_job() is job
    job.connection.setex("k", 10, b"x" * 100)
    assert job.connection.result_bytes == 100
    assert job.connection.publish("c", "m") == 0


def test_allocator_check_refuses_a_library_that_is_not_mapped() -> None:
    with pytest.raises(allocators.AllocatorError, match="not mapped"):
        allocators.open_allocator("mimalloc" if allocators.mapped_library("libmimalloc")
                                  is None else "jemalloc")
    name, _, read = allocators.open_allocator("system")
    layers = read(False)
    assert name == "system" and layers["allocator"] == "system"
    assert layers["uordblks_bytes"] > 0


def test_check_names_what_is_missing() -> None:
    # This Python (the tests') has no docling: the check says so, in JSON, exit 1.
    pytest.importorskip("json")
    try:
        import docling_jobkit  # noqa: F401
        pytest.skip("this Python has docling-jobkit")
    except ImportError:
        pass
    out = subprocess.run([sys.executable, "-m", "memprof_docling.check"], cwd=WORKERS,
                         capture_output=True, text=True, timeout=60)
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert out.returncode == 1 and answer["ok"] is False
    assert "docling-jobkit" in answer["missing"]
    gc.collect()


class FakeJobkit:
    """``docling_task`` that converts nothing (the driver's job loop without docling)."""

    def docling_task(self, data: object, manager: object, config: object, scratch: object) -> None:
        return None


def fake_driver(settings: dict[str, object]) -> object:
    from types import SimpleNamespace

    from memprof_worker.loglines import Log

    watch = SimpleNamespace(seen=[], start=lambda: None)
    return SimpleNamespace(settings=settings, measure={"snapshots": False}, log=Log(io.StringIO()),
                           watch=watch, worker_module=FakeJobkit(), manager=None,
                           orchestrator_config=None, scratch=None, jobs_total=0,
                           jobs_since_clear=0, last_job=0)


def test_retain_bytes_per_job_keeps_exactly_that_many_resident_bytes(tmp_path: Path) -> None:
    from memprof_docling import jobrun
    from memprof_worker import snapshot as proc

    doc = tmp_path / "a.md"
    doc.write_bytes(b"# a")
    size = 2 * 1024 * 1024
    driver = fake_driver({"retain_bytes_per_job": size, "jobs_between_cache_clear": 0})
    task.RETAINED_BYTES.blocks.clear()
    gc.collect()
    before = proc.rss_bytes()
    for n in range(1, 11):
        job = {"job": n, "job_id": f"j{n}", "task_id": f"t{n}", "options": {"to_formats": ["md"]},
               "documents": [{"kind": "path", "name": "a.md", "path": str(doc)}]}
        jobrun.run_one(driver, job)
    after = proc.rss_bytes()
    assert len(task.RETAINED_BYTES.blocks) == 10
    assert task.RETAINED_BYTES.total() == 10 * size
    assert all(b[0] == 0xA5 and b[-1] == 0xA5 for b in task.RETAINED_BYTES.blocks)
    assert before is not None and after is not None
    # written, so resident: the process grew by the 20 MiB kept (give or take the allocator)
    assert 0.9 * 10 * size <= after - before <= 1.5 * 10 * size
    task.RETAINED_BYTES.blocks.clear()


def test_no_retain_bytes_by_default(tmp_path: Path) -> None:
    from memprof_docling import jobrun

    doc = tmp_path / "a.md"
    doc.write_bytes(b"# a")
    driver = fake_driver({})
    task.RETAINED_BYTES.blocks.clear()
    job = {"job": 1, "job_id": "j1", "task_id": "t1", "options": {},
           "documents": [{"kind": "path", "name": "a.md", "path": str(doc)}]}
    answer = jobrun.run_one(driver, job)
    assert answer["job"] == 1 and task.RETAINED_BYTES.blocks == []


def test_the_census_store_is_bounded_and_keeps_the_first_and_the_newest() -> None:
    from memprof_docling.snapshots import MAX_KEPT_CENSUSES, Snapshots

    snaps = Snapshots({"census": True}, lambda purge: {}, "pymalloc")
    for n in range(500):
        snaps.keep_census([{"type_name": "t", "live_count": n}])
        assert len(snaps.censuses) <= MAX_KEPT_CENSUSES
    counts = [c[0]["live_count"] for c in snaps.censuses]
    assert counts[0] == 0 and counts[-1] == 499 and counts == sorted(counts)
    # a census near a fifth of the run is still there for the owner chains
    fifth = counts[len(counts) // 5]
    assert 20 <= fifth <= 200, counts
