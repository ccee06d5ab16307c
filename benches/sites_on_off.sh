#!/usr/bin/env bash
# Sampled sites on vs off (issue 14 targets): `replay W --sites off` against
# `replay W --sites sampled`, alternating which goes first each round, on the seed at 100 jobs
# (`repeat: 100`) and on seed-20-jobs.json. Prints, per workload, the median wall time
# (run.json) of each mode, the ratio of the medians, the median and range of the per-round
# (paired) ratios, the CPU time of the replay and its worker (user + system, from
# /usr/bin/time) with its paired ratios, and the worker's own peak RSS (max VmHWM of its
# after-job snapshots); and the load average before and after (the machine is shared: read
# ratios, not seconds).
#
#   bash benches/sites_on_off.sh [ROUNDS]     # default 3 (about 2 minutes on a quiet machine)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
[ -n "${SITES_NO_BUILD:-}" ] || cargo build --release --locked --quiet
BIN="$PWD/target/release/docling-memprof"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
# shellcheck source=benches/common.sh
. benches/common.sh
seed_100_workload "$OUT"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= ROUNDS; r++)); do
    for w in "$OUT/seed-100.json" fixtures/workloads/seed-20-jobs.json; do
        n=$(basename "$w" .json)
        if ((r % 2)); then order="off sampled"; else order="sampled off"; fi
        for m in $order; do
            /usr/bin/time -f "%U %S" -o "$OUT/$n-$m-$r.cpu" \
                "$BIN" replay "$w" --out "$OUT/$n-$m-$r" --quiet --no-charts --sites "$m" >/dev/null
        done
    done
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$OUT" "$ROUNDS" "$LOAD_BEFORE" "$LOAD_AFTER" <<'P'
import json, statistics, sys
out, rounds, before, after = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
print(f"{rounds} rounds; load average before: {before}, after: {after}\n")
print("| workload | wall time off / sampled (medians) | ratio of medians | paired wall ratios: median (min-max) | CPU time off / sampled (medians) | paired CPU ratios: median (min-max) | worker peak RSS off / sampled |")
print("|---|---|---|---|---|---|---|")
for n in ["seed-100", "seed-20-jobs"]:
    wall, hwm, cpu = {}, {}, {}
    for m in ["off", "sampled"]:
        for r in range(1, rounds + 1):
            d = f"{out}/{n}-{m}-{r}"
            wall[m, r] = json.load(open(d + "/run.json"))["wall_time_secs"]
            cpu[m, r] = sum(map(float, open(d + ".cpu").read().split()[-2:]))
            jobs = [json.loads(l) for l in open(d + "/jobs.jsonl") if l.strip()]
            hwm[m, r] = max(j["after_job"]["process"]["vm_hwm_bytes"] for j in jobs)
    med = {m: statistics.median(wall[m, r] for r in range(1, rounds + 1)) for m in ["off", "sampled"]}
    peak = {m: statistics.median(hwm[m, r] for r in range(1, rounds + 1)) / 2**20 for m in ["off", "sampled"]}
    paired = sorted(wall["sampled", r] / wall["off", r] for r in range(1, rounds + 1))
    cmed = {m: statistics.median(cpu[m, r] for r in range(1, rounds + 1)) for m in ["off", "sampled"]}
    cpaired = sorted(cpu["sampled", r] / cpu["off", r] for r in range(1, rounds + 1))
    cpu_cols = f"{cmed['off']:.2f} / {cmed['sampled']:.2f} s | {statistics.median(cpaired):.3f} ({cpaired[0]:.2f}-{cpaired[-1]:.2f})"
    a, b = med["off"], med["sampled"]
    ha, hb = peak["off"], peak["sampled"]
    print(f"| {n} | {a:.2f} / {b:.2f} s | {b / a:.3f} | {statistics.median(paired):.3f} ({paired[0]:.2f}-{paired[-1]:.2f}) | {cpu_cols} | {ha:.1f} / {hb:.1f} MiB ({hb - ha:+.1f} MiB) |")
P
