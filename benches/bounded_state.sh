#!/usr/bin/env bash
# Memory of a long `metrics -f` run on hostile input: RSS must stay flat.
#
#   benches/bounded_state.sh [LINES]      # default 10000000
#
# The repository's generator writes LINES hostile lines (`--format hostile`:
# random routes, methods, statuses, levels, events, queries, Convex functions
# and statuses, DB lock events up to 30 minutes out of order) into a pipe;
# `nagare metrics -f --output prom` follows it (stdin) while /metrics is
# served. Every 2 s the script prints the bytes nagare has read so far
# (/proc/PID/io, about 165 bytes a line), its RSS and the size of the
# exposition; at the end the peak RSS, the final exposition size and the
# series per family. Nothing is written to disk but the final exposition.
set -euo pipefail
cd "$(dirname "$0")/.."

LINES="${1:-10000000}"
PORT="${PORT:-19464}"
cargo build --release --quiet --bin nagare --bin nagare-corpus
out=$(mktemp -d)
trap 'rm -rf "$out"; kill $(jobs -p) 2>/dev/null || true' EXIT
echo "$(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); $LINES hostile lines"

target/release/nagare-corpus --format hostile --lines "$LINES" --seed 11 \
  | target/release/nagare metrics -f --output prom --listen "127.0.0.1:$PORT" \
      > "$out/final.prom" 2> "$out/stderr" &
pid=$(pgrep -n -f "nagare metrics -f --output prom --listen 127.0.0.1:$PORT")

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
peak=0
printf '%8s %10s %10s %14s\n' seconds read_MB rss_MB exposition_KB
start=$(date +%s)
while kill -0 "$pid" 2>/dev/null; do
  sleep 2
  r=$(rss_kb "$pid"); (( r > peak )) && peak=$r
  if curl -s -o "$out/scrape" "http://127.0.0.1:$PORT/metrics"; then
    read_mb=$(awk '/^rchar/ {printf "%.0f", $2 / 1048576}' "/proc/$pid/io" 2>/dev/null || echo 0)
    printf '%8d %10d %10.1f %14.1f\n' $(( $(date +%s) - start )) "$read_mb" \
      "$(echo "$r / 1024" | bc -l)" "$(echo "$(stat -c %s "$out/scrape") / 1024" | bc -l)"
  fi
done
wait "$pid" || true
echo
echo "peak RSS: $(echo "$peak / 1024" | bc -l | xargs printf '%.1f') MB (sampled every 2 s)"
echo "final exposition: $(stat -c %s "$out/final.prom") bytes"
echo "series per family (top 8):"
grep -v '^#' "$out/final.prom" | sed 's/[{ ].*//; s/_bucket$//; s/_sum$//; s/_count$//' \
  | sort | uniq -c | sort -rn | head -8
grep -E '^(series_folded_total|db_lock_late_events_total|db_lock_bursts_total|log_malformed_lines_total)' "$out/final.prom"
if [[ -s "$out/stderr" ]]; then echo "stderr:"; head -5 "$out/stderr"; fi
