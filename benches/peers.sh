#!/usr/bin/env bash
# Peers benchmark (issue 14): the same worker-core child on the same workload, run plainly,
# with our site modes, under heaptrack and under valgrind's DHAT, interleaved (every round runs
# every mode once, in a rotated order), reporting ratios of median wall times against the plain
# run and the worker's own peak RSS (VmHWM of the child, from its snapshots).
#
#   bash benches/peers.sh [ROUNDS] [WORKLOAD]      # defaults: 3, fixtures/workloads/seed-20-jobs.json
#
# Every mode runs the child through `--worker-cmd` so that the wrapped and the plain runs start
# the same way. heaptrack and valgrind are installed with apt when missing (a peer that cannot
# be installed is skipped with a message). Prints a Markdown table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
WORKLOAD="${2:-fixtures/workloads/seed-20-jobs.json}"
BIN="$PWD/target/release/docling-memprof"
[ -n "${PEERS_NO_BUILD:-}" ] || cargo build --release --locked --quiet
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

have() { command -v "$1" >/dev/null 2>&1; }
install_if_missing() { # tool package
    have "$1" && return 0
    if have apt-get; then
        (apt-get install -y -q "$2" >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$2" >/dev/null 2>&1; }) || true
    fi
    have "$1"
}

# name | replay flags | worker command
MODES=(
    "plain (jemalloc, no sites)||env DOCLING_MEMPROF_ALLOCATOR=jemalloc $BIN child"
    "--sites sampled (jemalloc)|--sites sampled|env DOCLING_MEMPROF_ALLOCATOR=jemalloc $BIN child"
    "--sites exact (dhat crate)|--sites exact|env DOCLING_MEMPROF_ALLOCATOR=dhat $BIN child"
    "plain (system allocator)||env DOCLING_MEMPROF_ALLOCATOR=system $BIN child"
)
if install_if_missing heaptrack heaptrack; then
    MODES+=("heaptrack (system allocator, every allocation)||env DOCLING_MEMPROF_ALLOCATOR=system heaptrack -o $OUT/heaptrack $BIN child")
else
    echo "peers: heaptrack skipped (apt-get install heaptrack failed)" >&2
fi
if install_if_missing valgrind valgrind; then
    MODES+=("valgrind DHAT (system allocator)||env DOCLING_MEMPROF_ALLOCATOR=system valgrind --tool=dhat --dhat-out-file=$OUT/dhat.out.%p $BIN child")
else
    echo "peers: valgrind skipped (apt-get install valgrind failed)" >&2
fi

n=${#MODES[@]}
for ((round = 0; round < ROUNDS; round++)); do
    for ((k = 0; k < n; k++)); do
        i=$(((k + round) % n))
        IFS='|' read -r name flags cmd <<<"${MODES[$i]}"
        dir="$OUT/m$i-r$round"
        # shellcheck disable=SC2086
        "$BIN" replay "$WORKLOAD" --out "$dir" --quiet --no-charts $flags --worker-cmd "$cmd" >/dev/null 2>"$dir.err" \
            || echo "peers: $name round $round failed (see below)" >&2
        echo "$i $round $dir" >>"$OUT/runs"
    done
    echo "peers: round $((round + 1))/$ROUNDS done" >&2
done

python3 - "$OUT/runs" "$WORKLOAD" "$ROUNDS" "${MODES[@]}" <<'EOF'
import json, statistics, sys
runs_file, workload, rounds, *modes = sys.argv[1:]
names = [m.split("|")[0] for m in modes]
wall, hwm = {}, {}
for line in open(runs_file):
    i, _, d = line.split()
    i = int(i)
    try:
        run = json.load(open(f"{d}/run.json"))
        jobs = [json.loads(l) for l in open(f"{d}/jobs.jsonl") if l.strip()]
    except OSError:
        continue
    if run.get("status") != "completed" or run.get("wall_time_secs") is None:
        continue
    wall.setdefault(i, []).append(run["wall_time_secs"])
    peaks = [((j.get("after_job") or {}).get("process") or {}).get("vm_hwm_bytes") for j in jobs]
    peaks = [p for p in peaks if p]
    if peaks:
        hwm.setdefault(i, []).append(max(peaks))
base = statistics.median(wall[0]) if 0 in wall else None
print(f"Workload `{workload}`, {rounds} interleaved rounds; wall time is run.json's `wall_time_secs` (the whole replay, the child wrapped by `--worker-cmd`); peak RSS is the worker's own VmHWM.\n")
print("| mode | median wall time | ratio to plain jemalloc | worker peak RSS (median) |")
print("|---|---|---|---|")
for i, name in enumerate(names):
    if i not in wall:
        print(f"| {name} | failed | | |")
        continue
    m = statistics.median(wall[i])
    ratio = f"{m / base:.2f}" if base else "?"
    peak = f"{statistics.median(hwm[i]) / 2**20:.1f} MiB" if i in hwm else "n/a"
    print(f"| {name} | {m:.2f} s | {ratio} | {peak} |")
EOF
