#!/usr/bin/env bash
# Speed of long inputs (issue 11, item 6), on SYNTHETIC inputs (benches/gen_scale_inputs.py):
#
#  1. `logs FILE --no-charts --no-report --json` on a 10-million-line docling-serve worker log
#     against `grep -c MEMORY FILE` on the same file (page cache warm), interleaved: every round
#     runs both, in alternating order; the ratio is taken per round and its median reported
#     (target: within 3x). Peak RSS of each (ru_maxrss of the child, from wait4). Beside them,
#     `logs FILE --no-charts --no-report` (the verdict on the terminal, no JSON of every job) and
#     `logs FILE --out DIR` (the default: the report folder with its charts).
#  2. `report RUN` of a 100,000-job run folder (run.json + jobs.jsonl): wall time and peak RSS
#     (target: seconds), beside `wc -l` of its jobs.jsonl.
#
#   bash benches/logs_scale.sh [ROUNDS] [LINES] [JOBS]     # defaults: 5, 10000000, 100000
#
# With SCALE_BASE_BIN=/path/to/an/older/docling-memprof, every round of 1. also runs that
# binary's `logs` (the before beside the after, in the same rounds), and the two JSON outputs
# are compared byte for byte at the end. SCALE_NO_BUILD=1 skips the build.
#
# Prints Markdown tables for BENCHMARKS.md. The inputs are written under $SCALE_DIR (default a
# temporary folder, removed at the end; ~1 GB for the log).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-5}"
LINES="${2:-10000000}"
JOBS="${3:-100000}"
BIN="$PWD/target/release/docling-memprof"
[ -n "${SCALE_NO_BUILD:-}" ] || cargo build --release --locked --quiet
if [ -n "${SCALE_DIR:-}" ]; then
    DIR="$SCALE_DIR"
    mkdir -p "$DIR"
else
    DIR="$(mktemp -d)"
    trap 'rm -rf "$DIR"' EXIT
fi
LOG="$DIR/worker-$LINES.log"
RUN="$DIR/run-$JOBS"
[ -s "$LOG" ] || python3 benches/gen_scale_inputs.py log "$LOG" "$LINES"
[ -s "$RUN/jobs.jsonl" ] || python3 benches/gen_scale_inputs.py run "$RUN" "$JOBS"

python3 - "$BIN" "$LOG" "$RUN" "$ROUNDS" "${SCALE_BASE_BIN:-}" "$DIR" <<'PY'
import filecmp, os, statistics, subprocess, sys, time

binary, log, run, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
base, out_dir = sys.argv[5], sys.argv[6]

def timed(cmd, keep=False):
    """Wall seconds, peak RSS (MiB), CPU seconds (user + system) and, with `keep`, stdout of
    one command. Output not kept goes to /dev/null, so that this process stays small (a
    child's ru_maxrss counts what it shared with its parent before exec)."""
    start = time.perf_counter()
    out = subprocess.PIPE if keep else subprocess.DEVNULL
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
    text = p.stdout.read() if keep else b""
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{cmd}: exit {code}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, text

with open(log, "rb") as f:  # warm the page cache
    while f.read(1 << 24):
        pass
grep = ["grep", "-c", "MEMORY", log]
logs = [binary, "logs", log, "--no-charts", "--no-report", "--json"]
# The operator's view: the verdict on the terminal, no JSON of every job.
term = [binary, "logs", log, "--no-charts", "--no-report"]
# The default: the report folder with its charts (and the terminal verdict).
folder = [binary, "logs", log, "--out", os.path.join(out_dir, "logs-report")]
runs = [("grep", grep), ("logs", logs), ("term", term), ("folder", folder)] + (
    [("base", [base] + logs[1:])] if base else [])
rows = []
load = os.getloadavg()[0]
for r in range(rounds):
    order = runs if r % 2 == 0 else runs[::-1]
    got = {name: timed(cmd, keep=name == "grep") for name, cmd in order}
    rows.append(got)
ratios = [g["logs"][0] / g["grep"][0] for g in rows]
cpu_ratios = [g["logs"][2] / g["grep"][2] for g in rows]
size = os.path.getsize(log)
lines = int(subprocess.run(["wc", "-l", log], capture_output=True, text=True).stdout.split()[0])
memory = rows[0]["grep"][3].decode().strip()
print(f"log: {lines} lines, {size / 1e6:.0f} MB, {memory} [MEMORY] lines; load average {load:.1f} at the start, "
      f"{os.getloadavg()[0]:.1f} at the end\n")
head = ("| round | grep -c MEMORY wall (CPU) | logs --json wall (CPU) | wall ratio | CPU ratio | grep peak RSS | logs peak RSS "
        "| logs (terminal) wall (CPU) | its wall ratio | logs (report folder) wall | its peak RSS |")
if base:
    head += " before: logs wall (CPU) | before: wall ratio | before: peak RSS |"
print(head)
print("|---" * (head.count("|") - 1) + "|")
for i, g in enumerate(rows):
    row = (f"| {i + 1} | {g['grep'][0]:.2f} s ({g['grep'][2]:.2f} s) | {g['logs'][0]:.2f} s ({g['logs'][2]:.2f} s) "
           f"| {ratios[i]:.1f}x | {cpu_ratios[i]:.1f}x | {g['grep'][1]:.0f} MiB | {g['logs'][1]:.0f} MiB "
           f"| {g['term'][0]:.2f} s ({g['term'][2]:.2f} s) | {g['term'][0] / g['grep'][0]:.1f}x "
           f"| {g['folder'][0]:.2f} s | {g['folder'][1]:.0f} MiB |")
    if base:
        row += (f" {g['base'][0]:.2f} s ({g['base'][2]:.2f} s) | {g['base'][0] / g['grep'][0]:.1f}x "
                f"| {g['base'][1]:.0f} MiB |")
    print(row)
print(f"\nmedian ratio logs / grep: wall {statistics.median(ratios):.1f}x, CPU {statistics.median(cpu_ratios):.1f}x "
      f"(median logs {statistics.median(g['logs'][0] for g in rows):.2f} s, "
      f"grep {statistics.median(g['grep'][0] for g in rows):.2f} s); logs (terminal) / grep: wall "
      f"{statistics.median(g['term'][0] / g['grep'][0] for g in rows):.1f}x "
      f"(median {statistics.median(g['term'][0] for g in rows):.2f} s)")
if base:
    base_ratios = [g["base"][0] / g["grep"][0] for g in rows]
    print(f"before (SCALE_BASE_BIN): median wall ratio {statistics.median(base_ratios):.1f}x, "
          f"median logs {statistics.median(g['base'][0] for g in rows):.2f} s")
    outs = []
    for name, cmd in [r for r in runs if r[0] in ("logs", "base")]:
        path = os.path.join(out_dir, f"logs-{name}.json")
        with open(path, "wb") as f:
            subprocess.run(cmd, stdout=f, stderr=subprocess.DEVNULL, check=True)
        outs.append(path)
    same = filecmp.cmp(outs[0], outs[1], shallow=False)
    print(f"JSON of logs and of the before binary byte for byte identical: {'yes' if same else 'NO'}")
report_dir = os.path.join(out_dir, "logs-report")
sizes = {name: os.path.getsize(os.path.join(report_dir, name))
         for name in ["report.md", "report.html", "charts/trajectory.svg", "charts/trajectory.png"]}
print("report folder: " + ", ".join(f"{k} {v / 1e3:.0f} KB" for k, v in sizes.items()))
print()

jobs = os.path.join(run, "jobs.jsonl")
with open(jobs, "rb") as f:
    while f.read(1 << 24):
        pass
report = [binary, "report", run, "--no-charts", "--quiet"]
count = ["wc", "-l", jobs]
print("| round | wc -l jobs.jsonl | report RUN --no-charts | report RUN (charts) | peak RSS (charts) |")
print("|---|---|---|---|---|")
for r in range(max(1, rounds // 2)):
    wc = timed(count, keep=True)
    plain = timed(report)
    charts = timed([binary, "report", run, "--quiet"])
    print(f"| {r + 1} | {wc[0]:.2f} s | {plain[0]:.2f} s (CPU {plain[2]:.2f} s) | {charts[0]:.2f} s (CPU {charts[2]:.2f} s) | {charts[1]:.0f} MiB |")
print(f"\nrun folder: {os.path.getsize(jobs) / 1e6:.0f} MB of jobs.jsonl, {wc[3].decode().split()[0]} records")
PY
