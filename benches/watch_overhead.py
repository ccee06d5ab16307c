#!/usr/bin/env python3
"""What watching costs (issue 11): the watched worker's job durations watched and unwatched,
side by side, and the watcher's own CPU and peak RSS per sample.

    cargo build --release && python3 benches/watch_overhead.py [--jobs 40] [--rounds 2]

The worker is CPU-bound (each job squares numbers for ~0.2 s and keeps 1 MiB) and prints the
docling-serve worker's log lines with its own measured durations. `watch --pid` runs in its
own process, measured with wait4 (user + system CPU, max RSS).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "docling-memprof")
P = "INFO:docling_serve.rq_worker_instrumented:"
WORKER = r'''
import sys, time, os
P = "INFO:docling_serve.rq_worker_instrumented:"
kept = []
time.sleep(float(sys.argv[2]))
for n in range(1, int(sys.argv[1]) + 1):
    print(f"{P}[JOB START] job_id=j{n} | task_id=t{n}", file=sys.stderr, flush=True)
    t = time.perf_counter()
    s = 0
    for i in range(1_500_000):
        s += i * i
    kept.append(bytearray(1 << 20))
    d = time.perf_counter() - t
    rss = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") >> 20
    print(f"{P}[JOB SUCCESS] job_id=j{n} | task_id=t{n} | duration={d:.4f}s", file=sys.stderr, flush=True)
    print(f"{P}[MEMORY] job_id=j{n} | rss={rss}MB | jobs_total={n}", file=sys.stderr, flush=True)
'''


def durations(log):
    out = []
    for line in open(log):
        if "[JOB SUCCESS]" in line:
            out.append(float(line.split("duration=")[1].strip().rstrip("s")))
    return out


def run(jobs, interval, tmp, tag):
    log = os.path.join(tmp, f"{tag}.log")
    with open(log, "w") as f:
        worker = subprocess.Popen([sys.executable, "-c", WORKER, str(jobs), "0.5"], stderr=f)
    watch = None
    if interval is not None:
        watch = subprocess.Popen([BIN, "watch", "--pid", str(worker.pid), "--log", log,
                                  "--interval", str(interval), "--quiet", "--no-charts",
                                  "--out", os.path.join(tmp, tag)])
    worker.wait()
    usage = None
    if watch is not None:
        _, _, usage = os.wait4(watch.pid, 0)
        watch.returncode = 0
    return durations(log), usage, tmp


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    rows = {"unwatched": [], "watch --interval 1": [], "watch --interval 0.1": []}
    usage = {"watch --interval 1": [], "watch --interval 0.1": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, interval in [("unwatched", None), ("watch --interval 1", 1.0),
                                   ("watch --interval 0.1", 0.1)]:
                tag = f"{name.replace(' ', '_').replace('-', '')}-{r}"
                started = time.monotonic()
                d, u, _ = run(args.jobs, interval, tmp, tag)
                wall = time.monotonic() - started
                rows[name].extend(d)
                if u is not None:
                    samples = max(1.0, wall / interval)
                    usage[name].append((u.ru_utime + u.ru_stime, u.ru_maxrss, samples, wall))
    print(f"| run | jobs | median job (s) | p90 job (s) |")
    print("|---|---|---|---|")
    for name, d in rows.items():
        d = sorted(d)
        print(f"| {name} | {len(d)} | {statistics.median(d):.4f} | {d[int(0.9 * (len(d) - 1))]:.4f} |")
    print()
    print("| watcher | CPU (s) over the run | run (s) | CPU per sample (ms) | max RSS (MiB) |")
    print("|---|---|---|---|---|")
    for name, us in usage.items():
        for cpu, maxrss, samples, wall in us:
            print(f"| {name} | {cpu:.3f} | {wall:.1f} | {1000 * cpu / samples:.2f} | {maxrss / 1024:.1f} |")


if __name__ == "__main__":
    main()
