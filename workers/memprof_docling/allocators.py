"""The allocator really in the process, read from inside (the protocol's ``allocator`` part).

``--allocator jemalloc`` preloads Debian's ``libjemalloc.so.2`` and ``--allocator mimalloc``
Debian's ``libmimalloc.so.2`` (``LD_PRELOAD``, set by the parent); without a preload the
process runs on glibc's malloc. :func:`open_allocator` checks that the library asked for is the
one mapped (``/proc/self/maps``) and returns a reader:

- jemalloc: ``mallctl("epoch")`` then ``stats.allocated/active/resident/retained/mapped/
  metadata`` (the values refresh only after the epoch write);
- mimalloc: ``mi_process_info`` (its ``current_rss`` is the commit charge on Linux, so RSS still
  comes from ``/proc``);
- glibc: ``mallinfo2``.

With ``PYTHONMALLOC`` unset (production's pymalloc), small objects live in pymalloc's 1 MiB
arenas, which come from ``mmap`` and are invisible to every malloc's statistics.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any, Callable

Reader = Callable[[bool], dict[str, Any]]


class AllocatorError(RuntimeError):
    """The allocator asked for is not the one in the process."""


def mapped_library(fragment: str, maps: str = "/proc/self/maps") -> str | None:
    """The path of the first mapped file whose name contains ``fragment``."""
    try:
        with open(maps, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.split(maxsplit=5)
                if len(parts) == 6 and fragment in os.path.basename(parts[5].strip()):
                    return parts[5].strip()
    except OSError:
        return None
    return None


def _jemalloc(lib: ctypes.CDLL) -> Reader:
    mallctl = lib.mallctl
    mallctl.restype = ctypes.c_int
    mallctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t),
                        ctypes.c_void_p, ctypes.c_size_t]

    def read_u64(name: str) -> int:
        value = ctypes.c_uint64(0)
        size = ctypes.c_size_t(8)
        if mallctl(name.encode(), ctypes.byref(value), ctypes.byref(size), None, 0) != 0:
            raise AllocatorError(f"mallctl {name} failed")
        return value.value

    def stats() -> dict[str, Any]:
        epoch = ctypes.c_uint64(1)
        size = ctypes.c_size_t(8)
        mallctl(b"epoch", ctypes.byref(epoch), ctypes.byref(size), ctypes.byref(epoch), 8)
        out = {f"{n}_bytes": read_u64(f"stats.{n}")
               for n in ("allocated", "active", "resident", "retained", "mapped", "metadata")}
        out["dirty_bytes"] = None
        out["muzzy_bytes"] = None
        return out

    def read(purge: bool) -> dict[str, Any]:
        before = stats()
        after = None
        if purge:
            mallctl(b"arena.4096.purge", None, None, None, 0)  # MALLCTL_ARENAS_ALL
            after = stats()
        return {"allocator": "jemalloc", "before_purge": before, "after_purge": after}

    read_u64("stats.allocated")  # fails now, at start, when stats are not compiled in
    return read


class _MiProcessInfo(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("elapsed_msecs", "user_msecs", "system_msecs", "current_rss", "peak_rss",
                 "current_commit", "peak_commit", "page_faults")]


def _mimalloc(lib: ctypes.CDLL) -> Reader:
    info = lib.mi_process_info
    info.restype = None
    info.argtypes = [ctypes.POINTER(ctypes.c_size_t)] * 8
    collect = lib.mi_collect
    collect.argtypes = [ctypes.c_bool]

    def read(purge: bool) -> dict[str, Any]:
        if purge:
            collect(True)
        v = _MiProcessInfo()
        fields = [ctypes.cast(ctypes.byref(v, getattr(_MiProcessInfo, n).offset),
                              ctypes.POINTER(ctypes.c_size_t)) for n, _ in v._fields_]
        info(*fields)
        return {"allocator": "mimalloc", "current_commit_bytes": v.current_commit,
                "peak_commit_bytes": v.peak_commit, "page_faults": v.page_faults,
                "version": int(lib.mi_version())}

    return read


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


def _glibc() -> Reader:
    libc = ctypes.CDLL("libc.so.6")
    mallinfo2 = libc.mallinfo2
    mallinfo2.restype = _MallInfo2
    trim = libc.malloc_trim
    trim.argtypes = [ctypes.c_size_t]

    def read(purge: bool) -> dict[str, Any]:
        if purge:
            trim(0)
        m = mallinfo2()
        return {"allocator": "system", "arena_bytes": m.arena, "hblkhd_bytes": m.hblkhd,
                "uordblks_bytes": m.uordblks, "fordblks_bytes": m.fordblks,
                "keepcost_bytes": m.keepcost}

    return read


def open_allocator(kind: str) -> tuple[str, str | None, Reader]:
    """(allocator name, mapped library path, reader) for ``jemalloc``, ``mimalloc`` or ``system``."""
    if kind == "system":
        return "system", mapped_library("libc.so"), _glibc()
    fragment = {"jemalloc": "libjemalloc", "mimalloc": "libmimalloc"}.get(kind)
    if fragment is None:
        raise AllocatorError(f"unknown allocator {kind!r} (jemalloc, mimalloc or system)")
    path = mapped_library(fragment)
    if path is None:
        raise AllocatorError(
            f"{kind} is not mapped in this process: LD_PRELOAD={os.environ.get('LD_PRELOAD')!r}")
    lib = ctypes.CDLL(path)  # the mapped one: loading a second copy would crash
    return kind, path, _jemalloc(lib) if kind == "jemalloc" else _mimalloc(lib)
