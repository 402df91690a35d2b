# The baseline for `nagare metrics`: requests and 5xx per route, in jq.
# Routes are normalized as nagare does (query string dropped; digit, UUID and
# long hex segments become {id}) so the two compute the same table.
# Run as: jq -nR -f benches/requests_per_route.jq FILE
def route:
  (.route // .path // .endpoint // .url // "_unknown_")
  | split("?")[0]
  | split("/")
  | map(if test("^[0-9]+$") or test("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$") or test("^[0-9a-fA-F]{16,}$") then "{id}" else . end)
  | join("/");
reduce (inputs | fromjson? | select(type == "object" and (.status | type) == "number")) as $r
  ({};
   ($r | route) as $p
   | .[$p].requests += 1
   | if $r.status >= 500 then .[$p].errors_5xx += 1 else . end)
