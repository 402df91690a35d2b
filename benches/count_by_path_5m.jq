# Baseline for: sum by (path) (count_over_time({job="app"} | json | __error__="" [5m]))
# Records that are JSON objects, counted per path in 5-minute windows (T-5m, T].
# Run as: jq -nR -f benches/count_by_path_5m.jq FILE
reduce (inputs | fromjson? | select(type == "object" and (.timestamp | type) == "string")) as $r
  ({};
   ($r.timestamp | capture("^(?<s>[^.Z]+)(?<f>\\.[0-9]+)?Z$")
    | (.s + "Z" | fromdate) + ((.f // "0") | tonumber)) as $secs
   | (($secs / 300 | ceil) * 300 | tostring) as $t
   | .[$t][$r.path // ""] += 1)
