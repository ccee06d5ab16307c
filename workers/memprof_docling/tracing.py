"""``--sites tracemalloc``: Python's allocation sites in each snapshot.

tracemalloc starts before docling is imported (so the models' Python-side allocations are
traced) with ``FRAMES`` frames per trace. Each snapshot gets the top sites by live bytes
(``file:line``) on the census policy's schedule, the traced and peak bytes in every snapshot. It
slows the worker several times (8.7x on an allocation-heavy micro workload with one frame; a
site table of a docling worker takes 35-45 s) and numpy buffers are traced while torch's and
onnx's native buffers are not: off by default.
"""

from __future__ import annotations

import os
import tracemalloc
from typing import Any

FRAMES = 1
TOP = 50


def start(frames: int = FRAMES) -> None:
    if not tracemalloc.is_tracing():
        tracemalloc.start(frames)


def _site(frame: tracemalloc.Frame) -> str:
    parts = frame.filename.split(os.sep)
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1:]
    return f"{'/'.join(parts[-4:])}:{frame.lineno}"


def traced() -> dict[str, int]:
    """tracemalloc's traced and peak bytes (cheap)."""
    current, peak = tracemalloc.get_traced_memory()
    return {"tracemalloc_traced_bytes": current, "tracemalloc_peak_bytes": peak}


def sites(top: int = TOP) -> dict[str, Any]:
    """The snapshot's ``sites`` part: the top ``file:line`` sites by live bytes. It snapshots
    every trace: 35-45 s on a docling worker with the layout model loaded."""
    snapshot = tracemalloc.take_snapshot()
    stats = snapshot.statistics("lineno")
    table = {"mode": "tracemalloc", "sample_interval_bytes": None,
             "sites": [{"site": _site(s.traceback[0]), "live_bytes": s.size,
                        "live_blocks": s.count, "live_bytes_stderr": None,
                        "job_live_bytes": None} for s in stats[:top]]}
    del snapshot, stats
    return table
