"""The protocol channel: one JSON object per line (docs/protocol.md).

The parent writes to the worker's stdin and reads the worker's stdout. Python libraries (and C
libraries under them) print to file descriptor 1, so :func:`open_channel` duplicates the
original stdout for the protocol and points fd 1 (and ``sys.stdout``) at stderr, which the
parent copies into ``worker.log``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Iterator, TextIO


class Channel:
    """Reads parent messages and writes worker messages."""

    def __init__(self, reader: TextIO, writer: TextIO) -> None:
        self._reader = reader
        self._writer = writer

    def messages(self) -> Iterator[dict[str, Any]]:
        """Every message from the parent, until end of input."""
        for line in self._reader:
            line = line.strip()
            if line:
                yield json.loads(line)

    def send(self, message: dict[str, Any]) -> None:
        """Write one message as a JSON line and flush it."""
        self._writer.write(json.dumps(message, separators=(",", ":")) + "\n")
        self._writer.flush()


def open_channel() -> Channel:
    """The process's protocol channel; from now on fd 1 and ``sys.stdout`` go to stderr."""
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    writer = os.fdopen(protocol_fd, "w", encoding="utf-8", buffering=1)
    return Channel(sys.stdin, writer)


def ready(pid: int, worker: str, baseline: dict[str, Any] | None) -> dict[str, Any]:
    """The ``ready`` message."""
    from . import PROTOCOL_VERSION

    return {
        "type": "ready",
        "protocol_version": PROTOCOL_VERSION,
        "pid": pid,
        "worker": worker,
        "allocator": "pymalloc",
        "baseline": baseline,
    }
