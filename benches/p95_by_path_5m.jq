# Baseline for: quantile_over_time(0.95, {job="app"} | json | __error__="" | unwrap latency_ms [5m]) by (path)
# Prometheus's interpolated 0.95-quantile of latency_ms per path per 5-minute window.
# Run as: jq -nR -f benches/p95_by_path_5m.jq FILE
def q95: sort | ((length - 1) * 0.95) as $r | ($r | floor) as $lo | ($r | ceil) as $hi
  | .[$lo] * (1 - ($r - $lo)) + .[$hi] * ($r - $lo);
reduce (inputs | fromjson? | select(type == "object" and (.latency_ms | type) == "number")) as $r
  ({};
   ($r.timestamp | capture("^(?<s>[^.Z]+)(?<f>\\.[0-9]+)?Z$")
    | (.s + "Z" | fromdate) + ((.f // "0") | tonumber)) as $secs
   | (($secs / 300 | ceil) * 300 | tostring) as $t
   | .[$t][$r.path // ""] += [$r.latency_ms])
| map_values(map_values(q95))
