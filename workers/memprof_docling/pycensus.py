"""Python's side of a snapshot: the ``gc`` census of every type and when to take it.

The census is objgraph's ``typestats``: every object ``gc`` tracks, counted by its type's short
name (``dict``, ``DoclingDocument``), with the objects' shallow ``sys.getsizeof`` bytes. It walks every object, which costs about 0.2 s after a
real DOCX job (653,099 objects of 2,249 types), more than a small job itself. So by default
(``auto``) it is taken:

- after the first job, to measure its cost;
- after every job while its mean cost stays under ``BUDGET_SHARE`` (5 %) of the mean job time;
- otherwise every ``k``-th job, with ``k = ceil(share / BUDGET_SHARE)`` (at most ``MAX_EVERY``),
  and in the snapshot after every cache clear.

``every`` takes it after every job whatever it costs; ``off`` never. Whether it was taken, why,
and what it cost are recorded in each snapshot's ``python`` part.
"""

from __future__ import annotations

import gc
import math
import sys
import time
from collections import Counter
from typing import Any

BUDGET_SHARE = 0.05
MAX_EVERY = 50


def census() -> tuple[list[dict[str, Any]], int, float]:
    """(every type's live count and shallow bytes, objects walked, seconds it took).

    ``live_bytes`` is the sum of ``sys.getsizeof`` over the type's objects: what they hold
    themselves (a dict's table, a list's array, a str's characters), not what they refer to.
    It shows containers that grow while their count stays flat (a cache dict filling up)."""
    begin = time.monotonic()
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    getsizeof = sys.getsizeof
    for o in gc.get_objects():
        name = type(o).__name__
        counts[name] += 1
        try:
            sizes[name] += getsizeof(o)
        except Exception:  # a broken __sizeof__ in some extension type
            pass
    types = [{"type_name": name, "live_count": count, "live_bytes": sizes.get(name)}
             for name, count in counts.most_common()]
    return types, sum(counts.values()), time.monotonic() - begin


class CensusPolicy:
    """Decides, job by job, whether the after-job snapshot carries a census."""

    def __init__(self, mode: str) -> None:
        if mode not in ("auto", "every", "off"):
            raise ValueError(f"census policy {mode!r}: expected auto, every or off")
        self.mode = mode
        self.census_secs: list[float] = []
        self.job_secs: list[float] = []

    def every_k(self) -> int:
        """Take the census every k-th job (1: every job)."""
        if self.mode == "every" or not self.census_secs or not self.job_secs:
            return 1
        share = (sum(self.census_secs) / len(self.census_secs)) / max(
            sum(self.job_secs) / len(self.job_secs), 1e-9)
        if share <= BUDGET_SHARE:
            return 1
        return min(MAX_EVERY, math.ceil(share / BUDGET_SHARE))

    def after_job(self, job_number: int, job_secs: float) -> str | None:
        """Why the census is taken after this job (None: it is not)."""
        self.job_secs.append(job_secs)
        if self.mode == "off":
            return None
        if self.mode == "every":
            return "every"
        if not self.census_secs:
            return "first"
        k = self.every_k()
        if k == 1:
            return "under_budget"
        return f"every_{k}th" if job_number % k == 0 else None

    def after_clear(self) -> str | None:
        """Why the census is taken after a clear (auto: always, unless it is cheap anyway)."""
        if self.mode == "off":
            return None
        return "clear"

    def observed(self, census_secs: float) -> None:
        self.census_secs.append(census_secs)


def growth(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    """(type, growth, live count now) of the types that grew from ``before`` to ``after``,
    most growth first."""
    counts = {t["type_name"]: t["live_count"] for t in before}
    grown = [(t["type_name"], t["live_count"] - counts.get(t["type_name"], 0), t["live_count"])
             for t in after]
    grown = [g for g in grown if g[1] > 0]
    grown.sort(key=lambda g: -g[1])
    return grown


def gc_state() -> dict[str, Any]:
    """``gc`` generation counts and collections so far."""
    return {"gc_counts": list(gc.get_count()),
            "gc_collections": [s.get("collections", 0) for s in gc.get_stats()]}
