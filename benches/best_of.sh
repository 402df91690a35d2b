# Sourced by the benchmark scripts (needs $RUNS).
#
# best_of CMD...: the fastest wall time of $RUNS runs, in seconds; the peak
# resident set of that run goes to $RSS_FILE (command substitution runs in a
# subshell, so a variable would not survive).
RSS_FILE=$(mktemp)
trap 'rm -f "$RSS_FILE"' EXIT
best_of() {
  local best="" rss=0 t m tf
  tf=$(mktemp)
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -o "$tf" -f "%e %M" "$@" > /dev/null 2> /dev/null || true
    read -r t m < "$tf"
    if [[ -z "$best" ]] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$t rss=$m
    fi
  done
  rm -f "$tf"
  echo "$rss" > "$RSS_FILE"
  echo "$best"
}
