#!/usr/bin/env bash
# jemalloc's own heap profiler against our sampler (issue 14, item 2), side by side,
# interleaved (every round runs every mode once, in a rotated order), on the seed at 100 jobs
# (`repeat: 100`, as benches/sites_on_off.sh) and on seed-20-jobs.json:
#
#   a  default build, no sites                      target/release/docling-memprof
#   b  default build, --sites sampled               (our sampler, 64 KiB mean)
#   c  profiling build, no sites                    target/prof/release/docling-memprof
#      (jemalloc's profiler compiled in, inactive)  (--features jemalloc-profiling)
#   d16 profiling build, --sites jemalloc, lg_prof_sample 16 (64 KiB, our mean)
#   d19 profiling build, --sites jemalloc, lg_prof_sample 19 (512 KiB, jemalloc's default)
#
# Median replay wall time (run.json), its ratio to (a), the worker's own peak RSS (max VmHWM of
# its after-job snapshots) and, for (d), the dumps written per run.
#
#   bash benches/jemalloc_prof.sh [ROUNDS]        # default 3
#   JEPROF_NO_BUILD=1 ...                         # use the binaries already built
#   JEPROF_CALLGRIND=1 ...                        # also: instructions of (a) and (c) under
#                                                 # callgrind, whole child and jemalloc's own
#   JEPROF_CHURN=1 ...                            # also: instructions of a churn loop, built
#                                                 # without and with profiling (crates-notes)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
if [ -z "${JEPROF_NO_BUILD:-}" ]; then
    cargo build --release --locked --quiet
    CARGO_TARGET_DIR=target/prof cargo build --release --locked --quiet --features jemalloc-profiling
fi
DEF="$PWD/target/release/docling-memprof"
PROF="$PWD/target/prof/release/docling-memprof"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
# shellcheck source=benches/common.sh
. benches/common.sh
seed_100_workload "$OUT"

# name | binary | replay flags | lg_prof_sample
MODES=(
    "a default, no sites|$DEF|--sites off|"
    "b default, --sites sampled|$DEF|--sites sampled|"
    "c profiling build, no sites|$PROF|--sites off|"
    "d16 profiling, --sites jemalloc lg 16|$PROF|--sites jemalloc|16"
    "d19 profiling, --sites jemalloc lg 19|$PROF|--sites jemalloc|19"
)
n=${#MODES[@]}
touch "$OUT/runs"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((round = 0; round < ROUNDS; round++)); do
    for w in "$OUT/seed-100.json" fixtures/workloads/seed-20-jobs.json; do
        wn=$(basename "$w" .json)
        for ((k = 0; k < n; k++)); do
            i=$(((k + round) % n))
            IFS='|' read -r name bin flags lg <<<"${MODES[$i]}"
            dir="$OUT/$wn-m$i-r$round"
            # shellcheck disable=SC2086
            env ${lg:+DOCLING_MEMPROF_JEMALLOC_LG_SAMPLE=$lg} "$bin" replay "$w" --out "$dir" \
                --quiet --no-charts $flags >/dev/null 2>"$dir.err" \
                || echo "jemalloc_prof: $name $wn round $round failed: $(tail -3 "$dir.err")" >&2
            echo "$wn $i $dir" >>"$OUT/runs"
        done
    done
    echo "jemalloc_prof: round $((round + 1))/$ROUNDS done, load $(cut -d' ' -f1 /proc/loadavg)" >&2
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$OUT/runs" "$ROUNDS" "${MODES[@]}" <<'EOF'
import glob, json, os, statistics, sys
runs_file, rounds, *modes = sys.argv[1:]
names = [m.split("|")[0] for m in modes]
res = {}
for line in open(runs_file):
    wn, i, d = line.split()
    try:
        run = json.load(open(f"{d}/run.json"))
        jobs = [json.loads(l) for l in open(f"{d}/jobs.jsonl") if l.strip()]
    except OSError:
        continue
    if run.get("status") != "completed":
        continue
    peaks = [((j.get("after_job") or {}).get("process") or {}).get("vm_hwm_bytes") for j in jobs]
    dumps = glob.glob(f"{d}/sites/jemalloc-*.heap")
    r = res.setdefault((wn, int(i)), {"wall": [], "hwm": [], "dumps": [], "dump_bytes": []})
    r["wall"].append(run["wall_time_secs"])
    r["hwm"].append(max(p for p in peaks if p) / 2**20)
    r["dumps"].append(len(dumps))
    r["dump_bytes"].append(sum(os.path.getsize(p) for p in dumps))
med = statistics.median
print(f"{rounds} rounds per mode, interleaved; ratios of medians against (a)\n")
print("| workload | mode | runs | median wall (min-max) | ratio to (a) | worker peak RSS, median (min-max) | dumps per run (total size) |")
print("|---|---|---|---|---|---|---|")
for wn in ["seed-100", "seed-20-jobs"]:
    base = res.get((wn, 0))
    for i, name in enumerate(names):
        r = res.get((wn, i))
        if not r:
            print(f"| {wn} | {name} | 0 | failed | | | |")
            continue
        ratio = f"{med(r['wall']) / med(base['wall']):.3f}" if base else "?"
        dumps = f"{med(r['dumps']):.0f} ({med(r['dump_bytes']) / 2**20:.1f} MiB)" if med(r["dumps"]) else ""
        print(f"| {wn} | {name} | {len(r['wall'])} | {med(r['wall']):.2f} s ({min(r['wall']):.2f}-{max(r['wall']):.2f}) | {ratio} | {med(r['hwm']):.1f} MiB ({min(r['hwm']):.1f}-{max(r['hwm']):.1f}) | {dumps} |")
EOF

if [ -n "${JEPROF_CALLGRIND:-}" ]; then
# Instructions (callgrind's Ir: exact, whatever the machine's load) of the core child alone on
# the 20-job seed, every mode: the whole child and jemalloc's own functions (code from
# jemalloc's sources, or `_rjem_*` symbols). The parent (and its symbolisation) is not counted.
for ((i = 0; i < n; i++)); do
    IFS='|' read -r name bin flags lg <<<"${MODES[$i]}"
    # shellcheck disable=SC2086
    env ${lg:+DOCLING_MEMPROF_JEMALLOC_LG_SAMPLE=$lg} "$bin" replay fixtures/workloads/seed-20-jobs.json \
        --out "$OUT/cg-$i" --quiet --no-charts $flags \
        --worker-cmd "valgrind --tool=callgrind --callgrind-out-file=$OUT/cg-$i.out $bin child" \
        >/dev/null 2>"$OUT/cg-$i.err" || echo "callgrind $name failed: $(tail -3 "$OUT/cg-$i.err")" >&2
    callgrind_annotate --threshold=100 "$OUT/cg-$i.out" >"$OUT/cg-$i.txt" 2>/dev/null || true
    echo "jemalloc_prof: callgrind $name done" >&2
done
python3 - "$OUT" "${MODES[@]}" <<'PY'
import re, sys
out, *modes = sys.argv[1:]
def read(path):
    total = alloc = 0
    try:
        lines = open(path).readlines()
    except OSError:
        return None
    for line in lines:
        m = re.match(r"\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(.*)", line)
        if not m:
            continue
        ir, what = int(m.group(1).replace(",", "")), m.group(2)
        if "PROGRAM TOTALS" in what:
            total = ir
        elif "_rjem_" in what or "jemalloc-sys" in what or "/jemalloc/src/" in what:
            alloc += ir
    return total, alloc
rows = [read(f"{out}/cg-{i}.txt") for i in range(len(modes))]
base = rows[0]
print("\n| callgrind, core child alone, seed-20-jobs | instructions | ratio to (a) | in jemalloc's functions | ratio to (a) |")
print("|---|---|---|---|---|")
for m, r in zip(modes, rows):
    if not r or not base:
        print(f"| {m.split('|')[0]} | failed | | | |")
        continue
    print(f"| {m.split('|')[0]} | {r[0]:,} | {r[0] / base[0]:.3f} | {r[1]:,} | {r[1] / max(base[1], 1):.3f} |")
PY

fi

[ -n "${JEPROF_CHURN:-}" ] || exit 0
# crates-notes.md's claim (+75% instructions on allocation churn with profiling compiled in,
# even inactive), checked on its own terms: a throwaway crate of 2,000,000 small vec alloc/free
# pairs on tikv-jemallocator 0.7, built without and with `profiling` (offline, from the cargo
# registry cache; two more builds of jemalloc's C code), instructions under callgrind.
CHURN="$PWD/target/jeprof-churn"
mkdir -p "$CHURN/src"
cat >"$CHURN/Cargo.toml" <<'TOML'
[package]
name = "churn"
version = "0.1.0"
edition = "2021"
[workspace]
[dependencies]
tikv-jemallocator = { version = "0.7", features = ["stats"] }
[features]
profiling = ["tikv-jemallocator/profiling"]
TOML
cat >"$CHURN/src/main.rs" <<'RS'
#[global_allocator]
static A: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2_000_000);
    let mut sum = 0usize;
    for i in 0..n {
        sum += std::hint::black_box(vec![0u8; 16 + (i % 256)]).len();
    }
    println!("{sum}");
}
RS
(cd "$CHURN" && cargo build --release --offline --quiet \
    && CARGO_TARGET_DIR=target-prof cargo build --release --offline --quiet --features profiling)
ir() { env ${2:+_RJEM_MALLOC_CONF=$2} valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" 2000000 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
base=$(ir "$CHURN/target/release/churn")
echo
echo "| churn, 2,000,000 alloc/free pairs | instructions | ratio |"
echo "|---|---|---|"
echo "| default build | $base | 1.000 |"
for conf in "" "prof:true,prof_active:false" "prof:true,lg_prof_sample:19" "prof:true,lg_prof_sample:16"; do
    n=$(ir "$CHURN/target-prof/release/churn" "$conf")
    echo "| profiling build ${conf:-(prof off)} | $n | $(python3 -c "print(f'{$n / $base:.3f}')") |"
done
