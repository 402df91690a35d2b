#!/usr/bin/env bash
# Times two builds of nagare on the same generated corpus, in one run: the
# figures a change that must not be slower quotes (filter, metrics, and the
# two metric queries of compare.sh).
#
#   benches/before_after.sh REV [SIZE]                     # REV: the commit before the change
#   BEFORE=path/to/nagare benches/before_after.sh - [SIZE]
#
# Each command runs RUNS times (default 7), before and after alternating so
# drift in the machine's load hits both alike; the figure is the median
# wall time, measured with a nanosecond clock, and the peak RSS of the
# median run. The corpus (default 300MB) is generated into bench-data/.
set -euo pipefail
cd "$(dirname "$0")/.."

REV="${1:?usage: benches/before_after.sh REV [SIZE]}"
SIZE="${2:-300MB}"
RUNS="${RUNS:-7}"
DATA=bench-data
CORPUS="$DATA/structlog-$SIZE.log"
mkdir -p "$DATA"

cargo build --release --quiet --bin nagare --bin nagare-corpus
AFTER=target/release/nagare
. benches/rev_binary.sh
BEFORE=$(rev_binary "$REV")
[[ -s "$CORPUS" ]] || target/release/nagare-corpus --bytes "$SIZE" --seed 42 -o "$CORPUS"
cat "$CORPUS" > /dev/null   # warm the page cache
echo "corpus: $CORPUS, $(wc -l < "$CORPUS") lines; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "before: $BEFORE"
echo "after:  $AFTER"
echo

tf=$(mktemp)
trap 'rm -f "$tf"' EXIT
# one BIN ARGS...: "seconds rss_kb" of one run.
one() {
  local t0 t1
  if [[ "$2" == query ]]; then
    local bin=$1; shift 2
    set -- "$bin" query $(unlimited "$bin") "$@"
  fi
  t0=$(date +%s%N)
  /usr/bin/time -o "$tf" -f "%M" "$@" > /dev/null 2>&1 || true
  t1=$(date +%s%N)
  echo "$(( t1 - t0 )) $(cat "$tf")"
}
# median of "ns rss" lines: prints "seconds rss_mb"
median() {
  sort -n | awk '{ t[NR] = $1; m[NR] = $2 } END { i = int((NR + 1) / 2); printf "%.3f %d\n", t[i] / 1e9, m[i] / 1024 }'
}
compare() { # name, then nagare's arguments
  local name=$1; shift
  local b a
  b=$(mktemp) a=$(mktemp)
  for _ in $(seq "$RUNS"); do
    one "$BEFORE" "$@" >> "$b"
    one "$AFTER" "$@" >> "$a"
  done
  read -r tb mb < <(median < "$b")
  read -r ta ma < <(median < "$a")
  rm -f "$b" "$a"
  printf "  %-52s before %7.3fs %5s MB   after %7.3fs %5s MB   after/before %.3f\n" \
    "$name" "$tb" "$mb" "$ta" "$ma" "$(awk -v a="$ta" -v b="$tb" 'BEGIN { print (b > 0 ? a / b : 0) }')"
}

q1='sum by (path) (count_over_time({job="app"} | json | __error__="" [5m]))'
q2='quantile_over_time(0.95, {job="app"} | json | __error__="" | unwrap latency_ms [5m]) by (path)'
compare "filter '| json | status >= 500'" filter '| json | status >= 500' "$CORPUS"
compare "filter '|= \"database is locked\"'" filter '|= "database is locked"' "$CORPUS"
compare "metrics --output json" metrics --output json "$CORPUS"
compare "query sum by (path) (count_over_time(…[5m]))" query --label job=app "$q1" "$CORPUS"
compare "query quantile_over_time(0.95, …) by (path)" query --label job=app "$q2" "$CORPUS"
echo "median of $RUNS runs each; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
