#!/usr/bin/env bash
# Sampled sites on vs off (issue 14 targets): `replay W` against `replay W --sites sampled`,
# alternating which goes first each round, on the seed at 100 jobs (`repeat: 100`) and on
# seed-20-jobs.json; median wall time (run.json) and the worker's own peak RSS (max VmHWM of
# its after-job snapshots).
#
#   bash benches/sites_on_off.sh [ROUNDS]     # default 3 (about 2 minutes on a quiet machine)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
[ -n "${SITES_NO_BUILD:-}" ] || cargo build --release --quiet
BIN="$PWD/target/release/docling-memprof"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
python3 -c "
import json; w = json.load(open('fixtures/workloads/seed-20-jobs.json'))
w['repeat'] = 100; w['name'] = 'seed-100'
json.dump(w, open('$OUT/seed-100.json', 'w'))"
for ((r = 1; r <= ROUNDS; r++)); do
    for w in "$OUT/seed-100.json" fixtures/workloads/seed-20-jobs.json; do
        n=$(basename "$w" .json)
        if ((r % 2)); then order="off sampled"; else order="sampled off"; fi
        for m in $order; do
            flags=()
            [ "$m" = sampled ] && flags=(--sites sampled)
            "$BIN" replay "$w" --out "$OUT/$n-$m-$r" --quiet --no-charts "${flags[@]}" >/dev/null
        done
    done
done
python3 - "$OUT" <<'P'
import glob, json, statistics, sys
out = sys.argv[1]
print("| workload | wall time off / sampled | ratio | worker peak RSS off / sampled |")
print("|---|---|---|---|")
for n in ["seed-100", "seed-20-jobs"]:
    res = {}
    for m in ["off", "sampled"]:
        walls, hwms = [], []
        for d in glob.glob(f"{out}/{n}-{m}-*"):
            walls.append(json.load(open(d + "/run.json"))["wall_time_secs"])
            jobs = [json.loads(l) for l in open(d + "/jobs.jsonl") if l.strip()]
            hwms.append(max(j["after_job"]["process"]["vm_hwm_bytes"] for j in jobs))
        res[m] = (statistics.median(walls), statistics.median(hwms) / 2**20)
    (a, ha), (b, hb) = res["off"], res["sampled"]
    print(f"| {n} | {a:.2f} / {b:.2f} s | {b / a:.2f} | {ha:.1f} / {hb:.1f} MiB ({hb - ha:+.1f} MiB) |")
P
