#!/usr/bin/env bash
# The parent's own peak RSS (VmHWM of the `replay` process, not its worker) when a job sends
# one big source inline (`"sources": "base64"`), for two builds side by side in one run.
# The source is synthetic: SIZE_MB of generated text named big.pdf. The worker decodes it and
# refuses it as a PDF (the job fails): the parent's part (read, encode, send) is the same as
# for a real PDF, and the worker does not spend gigabytes parsing it.
# Usage: benches/parent_base64_rss.sh BEFORE_BINARY [AFTER_BINARY] [SIZE_MB] [ROUNDS]
#   (from the repository root; AFTER_BINARY defaults to target/release/docling-memprof)
set -euo pipefail
before=${1:?the binary to compare against (e.g. a build of main)}
after=${2:-target/release/docling-memprof}
size_mb=${3:-200}
rounds=${4:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/big.pdf" "$size_mb" <<'PY'
import sys
line = b"A paragraph of synthetic text for the inline-source benchmark, line %d.\n\n"
with open(sys.argv[1], "wb") as f:
    target, i, n = int(sys.argv[2]) * 1000 * 1000, 0, 0
    while n < target:
        chunk = b"".join(line % (i + k) for k in range(1000))
        f.write(chunk); n += len(chunk); i += 1000
PY
cat > "$tmp/w.json" <<JSON
{"schema_version": 1, "name": "big-inline-source",
 "worker": {"model_scale": 0.002},
 "documents": [{"id": "big", "path": "$tmp/big.pdf"}],
 "jobs": [{"name": "inline", "sources": "base64", "options": {"to_formats": ["md"]},
           "documents": ["big"]}],
 "repeat": 2}
JSON
# Binaries whose default is sampled sites (the parent then holds the debug info, ~140 MB):
# SITES_OFF="--sites off" (binaries before --sites off existed do not take it).
SITES_OFF="${SITES_OFF:-}"
# The parent's VmHWM, read every 20 ms until it exits (the last reading is its peak).
peak() {
  local bin=$1 out=$2 hwm=0 line
  "$bin" replay "$tmp/w.json" --out "$out" --quiet --no-charts $SITES_OFF >/dev/null 2>"$out.err" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    line=$(grep VmHWM "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$line" ] && hwm=$(echo "$line" | awk '{print $2}')
    sleep 0.02
  done
  wait "$pid" || true
  echo "$hwm"
}
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); source $(du -m "$tmp/big.pdf" | cut -f1) MiB"
echo "| round | before: parent peak RSS | after: parent peak RSS | after / before |"
echo "|---|---:|---:|---:|"
for r in $(seq 1 "$rounds"); do
  b=$(peak "$before" "$tmp/b$r")
  a=$(peak "$after" "$tmp/a$r")
  python3 -c "import sys; b,a=int(sys.argv[2]),int(sys.argv[3]); print(f'| {sys.argv[1]} | {b/1024:.1f} MiB | {a/1024:.1f} MiB | {a/b:.3f} |')" "$r" "$b" "$a"
  rm -rf "$tmp/b$r" "$tmp/a$r"
done
