#!/usr/bin/env bash
# Times nagare against jq and ripgrep on the same generated corpus, in one
# run, and prints MB/s and ratios (the figures quoted in closing notes).
#
#   benches/compare.sh [SIZE]        # default 300MB
#   ONLY="1 6" benches/compare.sh    # only some sections
#
# Needs jq and rg on PATH (apt-get install -y jq ripgrep). The corpus is
# generated deterministically into bench-data/ (git-ignored) and reused.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE="${1:-300MB}"
RUNS="${RUNS:-3}"
DATA=bench-data
CORPUS="$DATA/structlog-$SIZE.log"

for tool in jq rg; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is not installed" >&2; exit 1; }
done

cargo build --release --quiet --bin nagare --bin nagare-corpus
NAGARE=target/release/nagare
mkdir -p "$DATA"
if [[ ! -s "$CORPUS" ]]; then
  echo "generating $CORPUS ..."
  target/release/nagare-corpus --bytes "$SIZE" --seed 42 -o "$CORPUS"
fi
BYTES=$(stat -c %s "$CORPUS")
MB=$(awk -v b="$BYTES" 'BEGIN { printf "%.1f", b / 1e6 }')
cat "$CORPUS" > /dev/null   # warm the page cache: every tool reads from memory
echo "corpus: $CORPUS, $MB MB, $(wc -l < "$CORPUS") lines, $(nproc) cores"
echo

. benches/best_of.sh  # (the script runs from the repository root)

row() { # name seconds
  local mbs RSS_KB
  RSS_KB=$(cat "$RSS_FILE")
  mbs=$(awk -v b="$BYTES" -v t="$2" 'BEGIN { printf "%.0f", (t > 0 ? b / 1e6 / t : 0) }')
  printf "  %-58s %7.2fs %7s MB/s %6s MB RSS\n" "$1" "$2" "$mbs" "$((RSS_KB / 1024))"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
want() { [[ -z "${ONLY:-}" || " $ONLY " == *" $1 "* ]]; }

if want 1; then
echo "1. | json | status >= 500"
t_n=$(best_of "$NAGARE" filter '| json | status >= 500' "$CORPUS"); row "nagare filter '| json | status >= 500'" "$t_n"
t_jq=$(best_of jq -cR 'fromjson? | select(.status >= 500)' "$CORPUS"); row "jq -cR 'fromjson? | select(.status >= 500)'" "$t_jq"
t_rg=$(best_of rg -c '"status":5[0-9][0-9]' "$CORPUS"); row "rg -c '\"status\":5[0-9][0-9]'" "$t_rg"
echo "   nagare is $(ratio "$t_jq" "$t_n")x jq (target >= 20x); rg is $(ratio "$t_n" "$t_rg")x faster than nagare (target <= 5x)"
echo

fi
if want 2; then
echo "2. |= \"database is locked\""
t_n2=$(best_of "$NAGARE" filter '|= "database is locked"' "$CORPUS"); row "nagare filter '|= \"database is locked\"'" "$t_n2"
t_rg2=$(best_of rg -F 'database is locked' "$CORPUS"); row "rg -F 'database is locked'" "$t_rg2"
echo "   nagare takes $(ratio "$t_n2" "$t_rg2")x rg's time (target <= 1.5x)"
echo

fi
if want 3; then
echo "3. counts agree"
n_count=$("$NAGARE" filter --count '|= "database is locked"' "$CORPUS" 2>/dev/null)
rg_count=$(rg -c -F 'database is locked' "$CORPUS")
echo "   nagare --count: $n_count, rg -c: $rg_count"
echo

fi
if want 4; then
echo "4. metrics report vs jq (requests and 5xx per route)"
t_m=$(best_of "$NAGARE" metrics --output json "$CORPUS"); row "nagare metrics --output json" "$t_m"; rss_m=$(cat "$RSS_FILE")
RUNS_SAVED=$RUNS; RUNS=1
t_jqm=$(best_of jq -nR -f benches/requests_per_route.jq "$CORPUS"); row "jq -nR -f benches/requests_per_route.jq" "$t_jqm"
RUNS=$RUNS_SAVED
echo "   nagare is $(ratio "$t_jqm" "$t_m")x jq (target >= 30x); nagare peak RSS $((rss_m / 1024)) MB"
echo

fi
if want 5; then
echo "5. memory: 10 million distinct search queries through a stream (stdin)"
out=$( { seq 10000000 | awk '{print "{\"event\":\"request\",\"path\":\"/v1/search\",\"status\":200,\"latency_ms\":3.5,\"q\":\"query number " $1 "\"}"}' \
  | /usr/bin/time -f "%e %M" "$NAGARE" metrics --output json > /dev/null; } 2>&1 | tail -1)
echo "   ${out% *} s, peak RSS $(( ${out#* } / 1024 )) MB (target < 100 MB)"
echo

fi
if want 6; then
echo "6. metric queries over files vs jq computing the same numbers (5-minute windows by path)"
q1='sum by (path) (count_over_time({job="app"} | json | __error__="" [5m]))'
q2='quantile_over_time(0.95, {job="app"} | json | __error__="" | unwrap latency_ms [5m]) by (path)'
t_q1=$(best_of "$NAGARE" query --max-series 0 --label job=app "$q1" "$CORPUS"); row "nagare query 'sum by (path) (count_over_time(…[5m]))'" "$t_q1"
t_q2=$(best_of "$NAGARE" query --max-series 0 --label job=app "$q2" "$CORPUS"); row "nagare query 'quantile_over_time(0.95, … unwrap latency_ms [5m]) by (path)'" "$t_q2"
RUNS_SAVED=$RUNS; RUNS=1
t_j1=$(best_of jq -nR -f benches/count_by_path_5m.jq "$CORPUS"); row "jq -nR -f benches/count_by_path_5m.jq" "$t_j1"
t_j2=$(best_of jq -nR -f benches/p95_by_path_5m.jq "$CORPUS"); row "jq -nR -f benches/p95_by_path_5m.jq" "$t_j2"
RUNS=$RUNS_SAVED
echo "   count: nagare is $(ratio "$t_j1" "$t_q1")x jq; p95: $(ratio "$t_j2" "$t_q2")x jq (target >= 20x)"
echo "   (jq reads invalid UTF-8 as U+FFFD and lines over 1 MiB whole; nagare counts those as malformed)"
fi
