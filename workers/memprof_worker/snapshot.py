"""What a Python worker can measure of itself, as the protocol's snapshot (all optional).

Process memory comes from ``/proc/self/status`` (and ``smaps_rollup`` for PSS/USS when
asked); the census is objgraph's: live objects by type from ``gc.get_objects()`` (counts
only: Python does not know the bytes an object holds, so ``live_bytes`` is null).
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from typing import Any

_STATUS_FIELDS = {
    "VmRSS": "rss_bytes",
    "RssAnon": "rss_anon_bytes",
    "RssFile": "rss_file_bytes",
    "RssShmem": "rss_shmem_bytes",
    "VmSize": "vm_size_bytes",
    "VmHWM": "vm_hwm_bytes",
}
_STARTED = time.monotonic()


def _kib_lines(path: str) -> dict[str, int]:
    values: dict[str, int] = {}
    with open(path, encoding="ascii", errors="replace") as f:
        for line in f:
            key, _, rest = line.partition(":")
            parts = rest.split()
            if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
                values[key.strip()] = int(parts[0]) * 1024
    return values


def process_memory(smaps: bool) -> dict[str, Any] | None:
    """RSS and its parts; None when ``/proc`` cannot be read (unknown, never 0)."""
    try:
        status = _kib_lines("/proc/self/status")
    except OSError:
        return None
    if "VmRSS" not in status:
        return None
    out: dict[str, Any] = {name: status.get(key) for key, name in _STATUS_FIELDS.items()}
    out["pss_bytes"] = None
    out["uss_bytes"] = None
    if smaps:
        try:
            rollup = _kib_lines("/proc/self/smaps_rollup")
            out["pss_bytes"] = rollup.get("Pss")
            if "Private_Clean" in rollup and "Private_Dirty" in rollup:
                out["uss_bytes"] = rollup["Private_Clean"] + rollup["Private_Dirty"]
        except OSError:
            pass
    return out


def rss_bytes() -> int | None:
    memory = process_memory(False)
    return None if memory is None else memory["rss_bytes"]


def census(top: int = 50) -> list[dict[str, Any]]:
    """Live objects by type name, the ``top`` most numerous (objgraph's ``most_common_types``)."""
    counts = Counter(type(o).__name__ for o in gc.get_objects())
    return [
        {"type_name": name, "live_count": count, "live_bytes": None}
        for name, count in counts.most_common(top)
    ]


def snapshot(
    kind: str,
    worker_state: dict[str, Any] | None,
    smaps: bool = False,
    with_census: bool = False,
) -> dict[str, Any]:
    """One snapshot (``baseline``, ``after_job`` or ``after_clear``)."""
    begin = time.monotonic()
    out: dict[str, Any] = {
        "kind": kind,
        "taken_at_secs": begin - _STARTED,
        "process": process_memory(smaps),
        "allocator": None,
        "worker": worker_state,
        "census": census() if with_census else [],
    }
    out["snapshot_duration_secs"] = time.monotonic() - begin
    return out
