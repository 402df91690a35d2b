#!/usr/bin/env bash
# Format decoding speed, in one run on generated data (figures for notes):
#  1. the built-in nginx decoder and a custom `pattern` format describing the
#     same lines (benches/parsers/nginx-bench.toml), against jq -R capture()
#     extracting the same fields, all printing one JSON object per line;
#  2. python logging lines: multi-line records (tracebacks joined) against
#     single-line ones, in MB/s.
#
#   benches/formats.sh [SIZE]        # default 100MB
#
# Needs jq on PATH. Data is generated deterministically into bench-data/.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE="${1:-100MB}"
RUNS="${RUNS:-3}"
DATA=bench-data
ACCESS="$DATA/nginx-$SIZE.log"
PY1="$DATA/python-single-$SIZE.log"
PYM="$DATA/python-multi-$SIZE.log"

command -v jq >/dev/null || { echo "formats.sh: jq is not installed" >&2; exit 1; }
cargo build --release --quiet --bin nagare --bin nagare-corpus
NAGARE=target/release/nagare
mkdir -p "$DATA"
[[ -s "$ACCESS" ]] || target/release/nagare-corpus --format nginx --no-malformed --bytes "$SIZE" --seed 42 -o "$ACCESS"

# Python logging lines from a fixed LCG: the same records in both files;
# the multi-line file gives every 10th record (an ERROR) a 6-line traceback.
python_log() { # FILE TRACEBACKS(0|1)
  awk -v size="$SIZE" -v tb="$2" 'BEGIN {
    n = size; sub(/[A-Za-z]+$/, "", n); unit = size; sub(/^[0-9.]+/, "", unit)
    limit = n * (unit == "GB" ? 1e9 : unit == "MB" ? 1e6 : unit == "KB" ? 1e3 : 1)
    split("app.api app.db app.search app.auth", loggers, " ")
    split("GET POST PUT DELETE", methods, " ")
    x = 42; bytes = 0; i = 0
    while (bytes < limit) {
      x = (x * 1103515245 + 12345) % 2147483648
      s = i % 86400; ms = x % 1000
      ts = sprintf("2026-05-06 %02d:%02d:%02d,%03d", int(s / 3600), int(s % 3600 / 60), s % 60, ms)
      lg = loggers[x % 4 + 1]
      if (i % 10 == 9) {
        line = sprintf("%s - %s - ERROR - database is locked while handling %s /v1/items/%d", ts, lg, methods[x % 4 + 1], x % 100000)
        if (tb) line = line "\nTraceback (most recent call last):\n  File \"/app/api/items.py\", line 42, in update_item\n    db.execute(stmt, params)\n  File \"/app/db.py\", line 88, in execute\n    return self.conn.execute(sql, params)\nsqlite3.OperationalError: database is locked"
      } else {
        line = sprintf("%s - %s - INFO - request %s /v1/items/%d status=200 latency_ms=%d.%d", ts, lg, methods[x % 4 + 1], x % 100000, x % 500, x % 10)
      }
      print line; bytes += length(line) + 1; i++
    }
  }' > "$1"
}
[[ -s "$PY1" ]] || python_log "$PY1" 0
[[ -s "$PYM" ]] || python_log "$PYM" 1
cat "$ACCESS" "$PY1" "$PYM" > /dev/null

. benches/best_of.sh  # (the script runs from the repository root)
row() { # name seconds bytes
  local mbs
  mbs=$(awk -v b="$3" -v t="$2" 'BEGIN { printf "%.0f", (t > 0 ? b / 1e6 / t : 0) }')
  printf "  %-62s %7.2fs %6s MB/s %5s MB RSS\n" "$1" "$2" "$mbs" "$(( $(cat "$RSS_FILE") / 1024 ))"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }

A_BYTES=$(stat -c %s "$ACCESS")
echo "## 1. access log decoding: $ACCESS, $(awk -v b="$A_BYTES" 'BEGIN{printf "%.1f", b/1e6}') MB, $(wc -l < "$ACCESS") lines, $(nproc) cores"
RE='^(?<remote_addr>\S+) - (?<remote_user>\S+) \[(?<time_local>[^\]]+)\] "(?<method>\S+) (?<path>\S+) (?<protocol>[^"]+)" (?<status>\d+) (?<bytes>\d+|-) "(?<referer>[^"]*)" "(?<user_agent>[^"]*)" (?<request_time>\S+)$'
T_JQ=$(RUNS=1 best_of jq -cR --arg re "$RE" 'capture($re)' "$ACCESS"); row "jq -cR capture(...)  (11 fields)" "$T_JQ" "$A_BYTES"
T_NG=$(best_of "$NAGARE" filter --format nginx --output jsonl "$ACCESS"); row "nagare filter --format nginx --output jsonl" "$T_NG" "$A_BYTES"
T_PAT=$(best_of "$NAGARE" filter --parsers benches/parsers --format nginx-bench --output jsonl "$ACCESS"); row "nagare filter --format nginx-bench (pattern) --output jsonl" "$T_PAT" "$A_BYTES"
echo "  ratios: nginx decoder $(ratio "$T_JQ" "$T_NG")x jq, pattern format $(ratio "$T_JQ" "$T_PAT")x jq (target >= 20x)"
echo

S_BYTES=$(stat -c %s "$PY1"); M_BYTES=$(stat -c %s "$PYM")
echo "## 2. python logging: single-line $S_BYTES bytes, multi-line $M_BYTES bytes"
T_S=$(best_of "$NAGARE" filter --format python --count '| level = "ERROR"' "$PY1"); row "single-line: --format python --count '| level = \"ERROR\"'" "$T_S" "$S_BYTES"
T_M=$(best_of "$NAGARE" filter --format python --count '| level = "ERROR"' "$PYM"); row "multi-line (tracebacks joined): same query" "$T_M" "$M_BYTES"
echo "  multi-line throughput is $(awk -v sb="$S_BYTES" -v ts="$T_S" -v mb="$M_BYTES" -v tm="$T_M" 'BEGIN { printf "%.2f", (sb / ts) / (mb / tm) }')x slower than single-line (target <= 2x)"
echo "  error records: $("$NAGARE" filter --format python --count '| level = "ERROR"' "$PY1") single, $("$NAGARE" filter --format python --count '| level = "ERROR"' "$PYM") multi"
