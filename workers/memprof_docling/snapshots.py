"""The driver's snapshots: process, allocator, Python (``gc``, census, tracemalloc), sites."""

from __future__ import annotations

import time
from typing import Any, Callable

from memprof_worker import snapshot as proc

from memprof_docling import pycensus, tracing


MAX_KEPT_CENSUSES = 16
"""Censuses kept in the driver for the owner chains (see :meth:`Snapshots.keep_census`)."""


class Snapshots:
    """Takes the protocol's snapshots for one driver process."""

    def __init__(self, measure: dict[str, Any], read_allocator: Callable[[bool], dict[str, Any]],
                 python_malloc: str) -> None:
        self.measure = measure
        self.read_allocator = read_allocator
        self.python_malloc = python_malloc
        self.tracemalloc = measure.get("sites") == "tracemalloc"
        self.census_on = bool(measure.get("census"))
        self.last_census: list[dict[str, Any]] = []
        self.censuses: list[list[dict[str, Any]]] = []
        self.kept_index: list[int] = []  # which census (0-based) each kept one was
        self.censuses_taken = 0
        self.stride = 1  # kept: every stride-th census, and the newest

    def keep_census(self, types: list[dict[str, Any]]) -> None:
        """Keep a census for the owner chains (which need the one at a fifth of the run and the
        last) in a bounded store: every ``stride``-th census and the newest, the stride doubling
        whenever more than ``MAX_KEPT_CENSUSES`` would be kept. Keeping every census was the driver's own leak: about
        0.5 MB per census (2,240 types), +0.17 MB/job on a 360-job run with a census every
        clear (docs/verdict-method.md)."""
        n = self.censuses_taken
        self.censuses_taken += 1
        kept = [(i, c) for i, c in zip(self.kept_index, self.censuses) if i % self.stride == 0]
        kept.append((n, types))
        while len(kept) > MAX_KEPT_CENSUSES:
            self.stride *= 2
            kept = [(i, c) for i, c in kept[:-1] if i % self.stride == 0] + [kept[-1]]
        self.kept_index = [i for i, _ in kept]
        self.censuses = [c for _, c in kept]

    def take(self, kind: str, worker: dict[str, Any], census_reason: str | None,
             every_k: int | None, smaps: bool, purge: bool) -> dict[str, Any]:
        begin = time.monotonic()
        out: dict[str, Any] = {
            "kind": kind,
            "taken_at_secs": begin - proc._STARTED,
            "process": proc.process_memory(smaps),
            "allocator": self.read_allocator(purge),
            "worker": worker,
            "census": [],
        }
        python: dict[str, Any] = {"python_malloc": self.python_malloc, **pycensus.gc_state(),
                                  "census_taken": census_reason is not None and self.census_on,
                                  "census_reason": census_reason, "census_every_k": every_k,
                                  "census_duration_secs": None, "objects": None}
        if census_reason is not None and self.census_on:
            types, objects, secs = pycensus.census()
            out["census"] = types
            python.update(census_duration_secs=secs, objects=objects)
            self.last_census = types
            self.keep_census(types)
        if self.tracemalloc:
            # traced/peak bytes every time (cheap); the site table (tracemalloc's snapshot of
            # every trace: 35-45 s on a docling worker) on the census policy's schedule
            python.update(tracing.traced())
            if census_reason is not None:
                begin_sites = time.monotonic()
                out["sites"] = tracing.sites()
                secs = time.monotonic() - begin_sites
                python["census_duration_secs"] = (python["census_duration_secs"] or 0.0) + secs
        out["python"] = python
        out["snapshot_duration_secs"] = time.monotonic() - begin
        return out
