#!/usr/bin/env bash
# The wall time of one 12-policy sweep at --parallel 1 and at --parallel 2, back to back in one
# run, and the replays `minimize` needs on the synthetic one-leaking-kind fixture.
# Usage: benches/sweep_parallel.sh [WORKLOAD]   (from the repository root, after cargo build --release)
set -euo pipefail
bin=target/release/docling-memprof
workload=${1:-fixtures/workloads/seed-20-jobs-page-images.json}
axes=(--clear-every 1,2,3,10 --max-jobs 0,5,10 --memory-limit 1GiB)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| --parallel | policies | sweep wall time | sum of the replays' own wall times | recommended |"
echo "|---|---|---|---|---|"
for n in 1 2; do
  start=$(date +%s.%N)
  "$bin" sweep "$workload" "${axes[@]}" --parallel "$n" --no-charts --quiet --out "$tmp/p$n"
  end=$(date +%s.%N)
  python3 - "$tmp/p$n/sweep.json" "$n" "$start" "$end" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
walls = [p["metrics"]["wall_time_secs"] or 0 for p in r["policies"] if p["metrics"]]
wall = float(sys.argv[4]) - float(sys.argv[3])
print(f"| {sys.argv[2]} | {len(r['policies'])} | {wall:.2f} s | {sum(walls):.2f} s | {r['recommendation']['policy']} |")
PY
done
"$bin" minimize fixtures/workloads/synthetic-one-leaking-kind.json --quiet --out "$tmp/min"
python3 - "$tmp/min/steps.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"minimize synthetic-one-leaking-kind.json: {r['replays']} replays "
      f"({len(r['steps'])} steps incl. the original), {r['wall_time_secs']:.2f} s: {r['summary']}")
PY
