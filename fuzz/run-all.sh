#!/bin/sh
# Runs every fuzz target for SECS seconds (default 240), one after another (one core each).
# Usage: fuzz/run-all.sh [SECS]   (from the repository root or fuzz/; TARGETS="a b" for some)
cd "$(dirname "$0")"
SECS=${1:-240}
for t in ${TARGETS:-log_parser workload budget run_folder html markdown csv docx pdf}; do
  mkdir -p corpus/$t artifacts/$t
  case $t in pdf|docx) LEN=65536 ;; *) LEN=16384 ;; esac
  RUSTC_BOOTSTRAP=1 nice -n 10 cargo fuzz run -O $t corpus/$t -- \
    -max_total_time=$SECS -max_len=$LEN -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix=artifacts/$t/ -print_final_stats=1 > logs-$t.txt 2>&1
  echo "$t exit=$?"
done
