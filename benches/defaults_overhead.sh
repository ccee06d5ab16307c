#!/usr/bin/env bash
# What a replay's defaults cost (issue 14's targets): the same workload
#   bare      --no-snapshots --no-census --sites off
#   census    snapshots + census, --sites off          (target: <= 1.02x bare at 100 jobs)
#   default   snapshots + census + sampled sites (the jemalloc core's defaults)
# in a rotated order each round, on the seed at 100 jobs (`repeat: 100`) and seed-20-jobs.json.
# Prints per workload and mode the median wall time (run.json), the median of the per-round
# ratios to `bare` with their range, the median CPU time (user + system of the replay and its
# worker) and the load average before and after.
#
#   bash benches/defaults_overhead.sh [ROUNDS]     # default 6 (about 2 minutes on a quiet machine)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-6}"
[ -n "${DEFAULTS_NO_BUILD:-}" ] || cargo build --release --locked --quiet
BIN="$PWD/target/release/docling-memprof"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
# shellcheck source=benches/common.sh
. benches/common.sh
seed_100_workload "$OUT"
flags() {
    case "$1" in
        bare) echo "--no-snapshots --no-census --sites off" ;;
        census) echo "--sites off" ;;
        default) echo "" ;;
    esac
}
MODES=(bare census default)
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= ROUNDS; r++)); do
    for w in "$OUT/seed-100.json" fixtures/workloads/seed-20-jobs.json; do
        n=$(basename "$w" .json)
        for ((k = 0; k < 3; k++)); do
            m=${MODES[$(((r + k) % 3))]}
            # shellcheck disable=SC2046
            /usr/bin/time -f "%U %S" -o "$OUT/$n-$m-$r.cpu" \
                "$BIN" replay "$w" --out "$OUT/$n-$m-$r" --quiet --no-charts $(flags "$m") >/dev/null
        done
    done
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$OUT" "$ROUNDS" "$LOAD_BEFORE" "$LOAD_AFTER" <<'P'
import json, statistics, sys
out, rounds, before, after = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
print(f"{rounds} rounds; load average before: {before}, after: {after}\n")
print("| workload | mode | median wall | paired ratio to bare: median (min-max) | median CPU | paired CPU ratio |")
print("|---|---|---|---|---|---|")
for n in ["seed-100", "seed-20-jobs"]:
    wall = {m: [json.load(open(f"{out}/{n}-{m}-{r}/run.json"))["wall_time_secs"] for r in range(1, rounds + 1)]
            for m in ["bare", "census", "default"]}
    cpu = {m: [sum(map(float, open(f"{out}/{n}-{m}-{r}.cpu").read().split()[-2:])) for r in range(1, rounds + 1)]
           for m in ["bare", "census", "default"]}
    for m in ["bare", "census", "default"]:
        ratios = [a / b for a, b in zip(wall[m], wall["bare"])]
        cpu_ratios = [a / b for a, b in zip(cpu[m], cpu["bare"])]
        print(f"| {n} | {m} | {statistics.median(wall[m]):.2f} s | {statistics.median(ratios):.3f} "
              f"({min(ratios):.2f}-{max(ratios):.2f}) | {statistics.median(cpu[m]):.2f} s | {statistics.median(cpu_ratios):.3f} |")
P
