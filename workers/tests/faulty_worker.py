#!/usr/bin/env python3
"""The reference worker with one fault at one job, for docling-memprof's protocol-error tests.

    faulty_worker.py KIND JOB [reference worker flags]

KIND: ``bad-json`` (a line that claims to be a message but is not JSON), ``missing-field``
(a job_done without ``job``), ``exit`` (exit 7 in the middle of the job), ``hang`` (never
answer), ``wrong-job`` (answer for another job), ``stray`` (print a non-protocol line on the
protocol channel first, then answer normally: the parent must log it and go on).
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import reference_worker  # noqa: E402
from memprof_worker import protocol  # noqa: E402


def main(argv: list[str]) -> int:
    kind, at_job = argv[0], int(argv[1])
    channel = protocol.open_channel()
    original_send = channel.send

    def send(message: dict) -> None:
        if message.get("type") != "job_done" or message.get("job") != at_job:
            original_send(message)
            return
        writer = channel._writer  # the raw protocol stream, to write what a broken worker writes
        if kind == "bad-json":
            writer.write('{"type": "job_done", "job": \n')
            writer.flush()
            time.sleep(60)
        elif kind == "missing-field":
            del message["job"]
            original_send(message)
            time.sleep(60)
        elif kind == "exit":
            os._exit(7)
        elif kind == "hang":
            time.sleep(3600)
        elif kind == "wrong-job":
            message["job"] = at_job + 100
            original_send(message)
            time.sleep(60)
        elif kind == "stray":
            writer.write("a library printed this on the protocol channel\n")
            writer.flush()
            original_send(message)

    channel.send = send  # type: ignore[method-assign]
    protocol.open_channel = lambda: channel  # the reference worker opens it once
    return reference_worker.main(argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
