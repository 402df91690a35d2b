#!/usr/bin/env bash
# Diffs what two builds of nagare print on the benchmark corpora: the
# guard for changes that must not change any output (a refactor, a speed-up).
#
#   benches/same_output.sh REV [SIZE]      # REV: the commit to compare with (e.g. HEAD~3)
#   BEFORE=path/to/nagare benches/same_output.sh - [SIZE]   # a binary built elsewhere
#
# REV is built in a temporary worktree (release profile, its own target
# dir); the working tree is built as it is. Every command's stdout and exit
# status are compared byte for byte; stderr too, with timings stripped.
# Corpora are generated deterministically into bench-data/ (default 50MB).
set -euo pipefail
cd "$(dirname "$0")/.."

REV="${1:?usage: benches/same_output.sh REV [SIZE]}"
SIZE="${2:-50MB}"
DATA=bench-data
mkdir -p "$DATA"

cargo build --release --quiet --bin nagare --bin nagare-corpus
AFTER=target/release/nagare
. benches/rev_binary.sh
BEFORE=$(rev_binary "$REV")

corpus() { # format -> path
  local f="$DATA/$1-$SIZE.log"
  [[ -s "$f" ]] || target/release/nagare-corpus --bytes "$SIZE" --seed 42 --format "$1" -o "$f"
  echo "$f"
}
STRUCTLOG=$(corpus structlog)
FLY=$(corpus fly)
NGINX=$(corpus nginx)
GZ="$DATA/structlog-$SIZE.log.gz"
[[ -s "$GZ" ]] || gzip -c "$STRUCTLOG" > "$GZ"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
today=$(date -u +%Y-%m-%d)
# What may differ from run to run, masked: the arrival time of lines with
# no time of their own (today's date), the time stamps of -v log lines, and
# the last digits of float sums (their addition order varies between runs).
norm() {
  sed -E -e "s/${today}T[0-9:.]+Z/<arrival>/g" -e 's/^[0-9-]+T[0-9:.]+Z +//' "$1" |
    awk '/^[a-z_]+(\{.*\})? -?[0-9.e+-]+$/ { v = $NF; $NF = sprintf("%.10g", v) } { print }'
}
same=0 differ=0 unstable=0 expected=0
run() { # which bin args...
  local which=$1 bin=$2; shift 2
  if [[ "$1" == query ]]; then
    shift
    set -- query $(unlimited "$bin") "$@"
  fi
  set +e
  if [[ -n "${STDIN:-}" ]]; then
    "$bin" "$@" < "$STDIN" > "$out/$which.out" 2> "$out/$which.err"
  else
    "$bin" "$@" > "$out/$which.out" 2> "$out/$which.err"
  fi
  echo "exit $?" >> "$out/$which.out"
  set -e
  norm "$out/$which.out" > "$out/$which.n.out"
  norm "$out/$which.err" > "$out/$which.n.err"
}
check() { # name, then the arguments to nagare (stdin from $STDIN when set;
          # EXPECT="why" when this change is meant to alter the output)
  local name=$1; shift
  run before "$BEFORE" "$@"
  run after "$AFTER" "$@"
  if cmp -s "$out/before.n.out" "$out/after.n.out" && cmp -s "$out/before.n.err" "$out/after.n.err"; then
    same=$((same + 1))
    printf '  same      %-58s %s\n' "$name" "$(wc -c < "$out/after.out") bytes"
    return
  fi
  if [[ -n "${EXPECT:-}" ]]; then
    expected=$((expected + 1))
    local what="stdout differs"
    cmp -s "$out/before.n.out" "$out/after.n.out" && what="stdout same, stderr differs"
    printf '  expected  %-58s %s: %s\n' "$name" "$what" "$EXPECT"
    return
  fi
  run again "$BEFORE" "$@"
  if ! cmp -s "$out/before.n.out" "$out/again.n.out" || ! cmp -s "$out/before.n.err" "$out/again.n.err"; then
    unstable=$((unstable + 1))
    printf '  unstable  %-58s (the same build differs from itself)\n' "$name"
    return
  fi
  differ=$((differ + 1))
  printf '  DIFFER    %s\n' "$name"
  diff <(head -c 2000 "$out/before.n.out") <(head -c 2000 "$out/after.n.out") | head -10 || true
  diff "$out/before.n.err" "$out/after.n.err" | head -10 || true
}

q_count='sum by (path) (count_over_time({job="app"} | json | __error__="" [5m]))'
q_p95='quantile_over_time(0.95, {job="app"} | json | __error__="" | unwrap latency_ms [5m]) by (path)'
q_ratio='sum(count_over_time({job="app"} |= "\"status\":5" [1h])) / sum(count_over_time({job="app"} |= "\"status\"" [1h]))'

echo "before: $BEFORE"
echo "after:  $AFTER"
echo "corpora: $STRUCTLOG $FLY $NGINX ($SIZE each)"
for c in "$STRUCTLOG" "$FLY" "$NGINX"; do
  check "filter '| json | status >= 500' $(basename "$c")" filter '| json | status >= 500' "$c"
  check "filter --output jsonl '| json | status >= 500' $(basename "$c")" filter --output jsonl '| json | status >= 500' "$c"
  check "filter --count '|= \"database is locked\"' $(basename "$c")" filter --count '|= "database is locked"' "$c"
  check "filter -v --count '|~ \"lock(ed)?\"' $(basename "$c")" filter -v --count '|~ "lock(ed)?"' "$c"
  check "metrics --output json $(basename "$c")" metrics --output json "$c"
  check "metrics --output prom $(basename "$c")" metrics --output prom "$c"
  check "metrics --output table $(basename "$c")" metrics "$c"
done
check "metrics --window 1h --output json" metrics --window 1h --output json "$STRUCTLOG"
check "filter --malformed" filter --malformed "$STRUCTLOG"
check "filter jsonl line_format" filter --output jsonl '| json | line_format "{{.path}} {{.status}}"' "$STRUCTLOG"
check "query count by path (table)" query --label job=app "$q_count" "$STRUCTLOG"
check "query count by path (json)" query --label job=app --output json "$q_count" "$STRUCTLOG"
check "query p95 by path (json)" query --label job=app --output json "$q_p95" "$STRUCTLOG"
EXPECT="the fix: one pass, so each truncated line is reported once, not once per aggregation" \
  check "query 5xx ratio (two range aggregations)" query --label job=app --output json "$q_ratio" "$STRUCTLOG"
EXPECT="as above" check "query 5xx ratio, gzip" query --label job=app --output json "$q_ratio" "$GZ"
check "query log, newest 100 (records only)" query --label job=app --limit 100 '{job="app"} | json | __error__="" | status >= 500' "$STRUCTLOG"
check "query log, newest 100" query --label job=app --limit 100 '{job="app"} | json | status >= 500' "$STRUCTLOG"
check "query log, oldest 100 jsonl" query --label job=app --forward --limit 100 --output json '{job="app"} | json | status >= 500' "$STRUCTLOG"
check "query bad query" query 'sum(count_over_time({job="app"}[5m])' "$STRUCTLOG"
STDIN="$STRUCTLOG" check "filter on stdin" filter '| json | status >= 500'
STDIN="$STRUCTLOG" check "query count by path on stdin" query --label job=app "$q_count"
STDIN="$STRUCTLOG" EXPECT="the fix: stdin used to be read once per range aggregation, so the second found nothing" \
  check "query 5xx ratio on stdin" query --label job=app --output json "$q_ratio"
echo "$same same, $expected differ as expected, $unstable unstable (not comparable), $differ differ"
[[ $differ -eq 0 ]]
