"""Helpers for workers that speak docling-memprof's worker protocol (docs/protocol.md).

Standard library only. A worker uses three pieces:

- ``protocol``: the private protocol channel (stdin/stdout JSON lines, with the process's
  own stdout moved to stderr so that libraries' prints never corrupt it);
- ``snapshot``: what a Python process can measure of itself (``/proc/self``, ``gc``);
- ``loglines``: docling-serve's instrumented log lines, which docling-memprof's ``logs``
  command reads.
"""

PROTOCOL_VERSION = 1
