//! `nagare filter` agrees, line for line, with an independent oracle written
//! in jq that encodes Grafana Loki's LogQL semantics, on the generated corpus
//! in every input form (structlog JSON, Fly envelopes, gzip of both, `flyctl
//! logs` plain output, nginx combined).
//!
//! How the oracle works: the harness reads the corpus, cuts lines at
//! nagare's 1 MiB default limit (as nagare does) and hands jq one line per
//! corpus line, prefixed with `V` when the line is valid UTF-8 and `I`
//! (followed by the lossy text) when it is not. jq -R would otherwise turn
//! invalid bytes into U+FFFD and parse such lines, while `| json` must flag
//! them (`JSONParserErr`); raw line filters still see the text. One jq pass
//! evaluates every query of a test on every line and prints, per selected
//! line, `{"q": query index, "n": 1-based line number, "line": text or null
//! for "the raw line n", …}`; the harness maps that back to bytes and
//! compares it with nagare's stdout.
//!
//! The oracle's rules (Loki's): `| json` accepts exactly one valid UTF-8
//! JSON object; nested keys flatten with `_`, arrays and nulls are not
//! extracted, U+FFFD in a string becomes a space (Loki's
//! `unescapeJSONString`), a key equal to a stream label gets `_extracted`;
//! numeric label filters drop lines without the label, error lines too
//! (Loki 3, grafana/loki#12378), pass a value that is not a number,
//! compare numerically otherwise; string filters read a missing
//! label as ""; regex label matchers are anchored, line-filter regexes are
//! not; `and` binds tighter than `or`. On a JSON error line Loki keeps the
//! fields extracted before the error, which the oracle cannot know, so every
//! string filter here comes after `| __error__=""`. Fields a format decodes
//! (nginx, the Fly envelope's inner JSON, NDJSON) are labels without a parser
//! stage; a line its format cannot decode has none (ARCHITECTURE.md, contract: "Records").

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// Corpus size: big enough for every kind of malformed line (with seed 7:
/// truncated JSON at 304, invalid UTF-8 at 1361, the 2 MiB line at 1419,
/// about 30 malformed lines in all), small enough for debug builds.
const LINES: usize = 6_000;
const SEED: u64 = 7;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Default output: one line per record.
    Raw,
    /// `--output jsonl`.
    Jsonl,
    /// `--count`.
    Count,
}

/// One query, nagare's flags for it, and the oracle's jq expression.
///
/// The jq expression gets the record object `R` (see `PRELUDE`) as input,
/// already decoded by the form's decoder and by the `| json` stage (which
/// every JSON-form query that reads fields writes), and `$q` (the query's
/// index) bound; it emits `out($q)`,
/// `out_text($q; TEXT)` or `out_jsonl($q; LABELS)` for a selected line.
#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    query: &'static str,
    flags: &'static [&'static str],
    mode: Mode,
    /// Also pass a decoy input (`decoy.log`, the corpus's first lines) that
    /// the query's stream selector must rule out.
    decoy: bool,
    jq: &'static str,
}

const fn case(name: &'static str, query: &'static str, jq: &'static str) -> Case {
    Case {
        name,
        query,
        flags: &[],
        mode: Mode::Raw,
        decoy: false,
        jq,
    }
}

/// jq definitions shared by every form. `R`, the record of one line:
/// `n` line number, `valid` UTF-8?, `t` the line the query sees (the app's
/// line for envelopes), `line` text to print (null: the raw input line),
/// `S` stream labels, `j` the JSON object or null, `L` labels after the
/// parser (stream + extracted), `err` `__error__` or null, `ts` event time.
const PRELUDE: &str = r#"
def sanitize: gsub("[^A-Za-z0-9_]"; "_") | if test("^[0-9]") then "_" + . else . end;

# Loki's json stage on an object: nested objects flatten with "_", arrays
# and nulls are skipped, U+FFFD in a string becomes a space, names that are
# stream labels take the _extracted suffix.
def flat($S; $prefix):
  reduce to_entries[] as $e ({};
    ($e.key | if test("^[A-Za-z_][A-Za-z0-9_]*$") then . else sanitize end) as $k0
    | (if $prefix == "" then $k0 else $prefix + "_" + $k0 end) as $k
    | (if $S | has($k) then $k + "_extracted" else $k end) as $name
    | ($e.value | type) as $t
    | if $t == "object" then . + ($e.value | flat($S; $k))
      elif $t == "string" then .[$name] = ($e.value | gsub("\ufffd"; " "))
      elif $t == "number" or $t == "boolean" then .[$name] = $e.value
      else . end);

def base($n; $raw):
  {n: $n, valid: ($raw[0:1] == "V"), t: $raw[1:], line: null,
   S: {filename: $filename}, j: null, L: {}, err: null, ts: null};

# Fly log-shipper envelope: the app's line is the inner message.
def fly_envelope:
  (if .valid then (.t | try fromjson catch null) else null end) as $env
  | if ($env | type) == "object" and ($env.message | type) == "string" then
      .t = $env.message | .line = $env.message
      | .S = (.S + ({app: ($env.fly.app.name? // null),
                     instance: ($env.fly.app.instance? // $env.instance),
                     region: ($env.fly.region? // $env.region),
                     provider: ($env.event.provider? // $env.meta.event.provider?)}
                    | with_entries(select(.value != null))))
      | .ts = $env.timestamp
    else . end;

# flyctl logs plain output: <time> <provider>[<instance>] <region> [<level>] <message>
# (the provider, `app`, `proxy` or `runner`, is not the app's name)
def flyctl_plain:
  ([.t | capture("^(?<time>[^ ]+) (?<provider>[^ \\[]+)\\[(?<instance>[^ ]*)\\] (?<region>[^ ]+) \\[(?<level>[^ ]*)\\] (?<msg>.*)$")]
   | .[0]) as $m
  | if $m != null then
      .t = $m.msg | .line = $m.msg
      | .S += {provider: $m.provider, instance: $m.instance, region: $m.region}
      | .ts = $m.time
    else . end;

# The json stage (and the json format's own decoding, which extracts the
# same fields from a valid object and nothing from anything else).
def parse_json:
  (if .valid then (.t | try fromjson catch null) else null end) as $j
  | if ($j | type) == "object"
    then .j = $j | .L = (.S + ($j | flat(.S; ""))) | .err = null
    else .j = null | .L = .S | .err = "JSONParserErr" end
  | if (.j.timestamp | type) == "string" then .ts = .j.timestamp else . end;

def hexval: explode | map(if . >= 97 then . - 87 elif . >= 65 then . - 55 else . - 48 end) | .[0] * 16 + .[1];
def utf8decode:
  reduce .[] as $b ({out: [], cp: 0, need: 0};
    if .need > 0 then .cp = .cp * 64 + ($b % 64) | .need -= 1
                      | if .need == 0 then .out += [.cp] else . end
    elif $b < 128 then .out += [$b]
    elif $b >= 240 then .cp = $b % 8 | .need = 3
    elif $b >= 224 then .cp = $b % 16 | .need = 2
    else .cp = $b % 32 | .need = 1 end)
  | .out | implode;
def urldecode:
  gsub("\\+"; " ") | [scan("%[0-9A-Fa-f]{2}|%|[^%]")]
  | map(if length == 3 then (.[1:] | hexval) else explode[0] end) | utf8decode;
def clf_to_rfc3339:
  capture("^(?<d>[0-9]{2})/(?<mon>[A-Za-z]{3})/(?<y>[0-9]{4}):(?<hms>[0-9:]{8}) \\+0000$")
  | "\(.y)-\({"Jan":"01","Feb":"02","Mar":"03","Apr":"04","May":"05","Jun":"06",
             "Jul":"07","Aug":"08","Sep":"09","Oct":"10","Nov":"11","Dec":"12"}[.mon])-\(.d)T\(.hms)Z";
def own_fields: ["remote_addr","method","path","query","protocol","status","bytes",
                 "referer","user_agent","request_time","latency_ms"];

# nginx combined (+ optional $request_time): fields come from the format.
def nginx:
  ([.t | capture("^(?<remote_addr>[^ ]+) [^ ]+ [^ ]+ \\[(?<time_local>[^\\]]*)\\] \"(?<request>(?:[^\"\\\\]|\\\\.)*)\" (?<status>[0-9]{3}) (?<bytes>[0-9]+|-) \"(?<referer>(?:[^\"\\\\]|\\\\.)*)\" \"(?<user_agent>(?:[^\"\\\\]|\\\\.)*)\"(?: (?<request_time>[0-9.]+))?$")]
   | .[0]) as $m
  | if $m == null then .L = .S
    else ($m.request | split(" ")) as $rq
      | ($rq[1] // "") as $target
      | ($target | index("?")) as $qi
      | ({remote_addr: $m.remote_addr, method: $rq[0],
          path: (if $qi != null then $target[:$qi] else $target end),
          protocol: ($rq[2:] | join(" ")), status: $m.status,
          bytes: (if $m.bytes == "-" then "0" else $m.bytes end),
          referer: $m.referer, user_agent: $m.user_agent}
         + (if $qi != null then {query: $target[$qi + 1:]} else {} end)
         + (if $m.request_time != null
            then {request_time: $m.request_time, latency_ms: (($m.request_time | tonumber) * 1000)}
            else {} end)) as $f
      | (if $qi != null then
           ($target[$qi + 1:] | split("&")
            | map(index("=") as $e
                  | (if $e != null then [.[:$e], .[$e + 1:]] else [., ""] end)
                  | [(.[0] | urldecode | sanitize), (.[1] | urldecode)])
            | map(select(.[0] != "" and (.[0] as $k | any(own_fields[]; . == $k) | not)))
            | map({key: .[0], value: .[1]}) | from_entries)
         else {} end) as $params
      | .j = $f
      | .L = (.S + $params + $f)
      | .ts = ($m.time_local | clf_to_rfc3339)
    end;

# Label filters, as Loki evaluates them.
def sv($k):
  if $k == "__error__" then (.err // "")
  elif (.L | has($k)) then (.L[$k] | if type == "string" then . else tojson end)
  else "" end;
def re($k; $re): sv($k) | test("^(?:" + $re + ")$");
def numf($k; f):
  if (.L | has($k)) | not then false
  else (.L[$k] | if type == "number" then . else (tonumber? // null) end)
    | if . == null then true else f end end;

def rfc3339nano: sub("(?<a>\\.[0-9]*[1-9])0+Z$"; "\(.a)Z") | sub("\\.0+Z$"; "Z");

def out($q): {q: $q, n: .n, line: .line, lossy: (.valid | not)};
def out_text($q; $s): {q: $q, n: .n, line: $s, lossy: false};
def out_jsonl($q; $labels):
  {q: $q, n: .n, line: .line, lossy: (.valid | not), labels: $labels,
   ts: (if .ts == null then null else (.ts | rfc3339nano) end)};
"#;

/// The queries run on every JSON form (structlog, Fly envelopes, gzip).
const JSON_CASES: &[Case] = &[
    case(
        "line filter |=",
        r#"|= "database is locked""#,
        r#"select(.t | contains("database is locked")) | out($q)"#,
    ),
    case(
        "line filter != with or, then |=",
        r#"!= "/healthz" or "/v1/items" |= "GET""#,
        r#"select((.t | contains("/healthz") | not) and (.t | contains("/v1/items") | not)
                  and (.t | contains("GET"))) | out($q)"#,
    ),
    case(
        "line filter |~ unanchored (raw string)",
        r#"|~ `"status":5\d\d,`"#,
        r#"select(.t | test("\"status\":5[0-9][0-9],")) | out($q)"#,
    ),
    case(
        "line filter |~ with or, then !~",
        r#"|~ "database is locked" or "bad signature" !~ "(?i)SQLITE""#,
        r#"select((.t | test("database is locked")) or (.t | test("bad signature")))
           | select(.t | test("(?i)sqlite") | not) | out($q)"#,
    ),
    case(
        "json numeric filter",
        r#"| json | status >= 500"#,
        r#"select(numf("status"; . >= 500)) | out($q)"#,
    ),
    case(
        "json error lines",
        r#"| json | __error__=~"JSON.*""#,
        r#"select(re("__error__"; "JSON.*")) | out($q)"#,
    ),
    case(
        "string filters with or",
        r#"| json | __error__="" | level="error" or level="warning""#,
        r#"select(sv("__error__") == "")
           | select(sv("level") == "error" or sv("level") == "warning") | out($q)"#,
    ),
    case(
        "regex and parenthesised or",
        r#"| json | __error__="" | path=~"/v1/items/.*" and (status >= 400 or latency_ms > 250)"#,
        r#"select(sv("__error__") == "")
           | select(re("path"; "/v1/items/.*")
                    and (numf("status"; . >= 400) or numf("latency_ms"; . > 250))) | out($q)"#,
    ),
    case(
        "comma is and",
        r#"| json | __error__="" | status >= 400, method!="GET""#,
        r#"select(sv("__error__") == "")
           | select(numf("status"; . >= 400) and sv("method") != "GET") | out($q)"#,
    ),
    case(
        "and binds tighter than or",
        r#"| json | __error__="" | method="POST" or status=404 and tier="free""#,
        r#"select(sv("__error__") == "")
           | select(sv("method") == "POST" or (numf("status"; . == 404) and sv("tier") == "free"))
           | out($q)"#,
    ),
    case(
        "missing label reads as empty",
        r#"| json | __error__="" | path="/v1/search" | q="""#,
        r#"select(sv("__error__") == "") | select(sv("path") == "/v1/search")
           | select(sv("q") == "") | out($q)"#,
    ),
    case(
        "anchored case-insensitive regex on q",
        r#"| json | __error__="" | q=~"(?i)caf.*""#,
        r#"select(sv("__error__") == "") | select(re("q"; "(?i)caf.*")) | out($q)"#,
    ),
    case(
        "flattened nested field",
        r#"| json | __error__="" | http_client_ip=~`1\d\..*`"#,
        r#"select(sv("__error__") == "") | select(re("http_client_ip"; "1[0-9]\\..*"))
           | out($q)"#,
    ),
    case(
        "line filters after parser stages",
        r#"| json | __error__="" |~ "(?i)laptop" | path="/v1/search" != "LAPTOP""#,
        r#"select(sv("__error__") == "") | select(.t | test("(?i)laptop"))
           | select(sv("path") == "/v1/search") | select(.t | contains("LAPTOP") | not) | out($q)"#,
    ),
    case(
        "__error__ filter after a numeric filter",
        r#"| json | latency_ms > 1000 | __error__="""#,
        r#"select(numf("latency_ms"; . > 1000)) | select(sv("__error__") == "")
           | out($q)"#,
    ),
    case(
        "line_format with a function",
        r#"| json | __error__="" | status >= 500 | line_format "{{ .method | lower }} {{.status}} {{.path}}""#,
        r#"select(sv("__error__") == "") | select(numf("status"; . >= 500))
           | out_text($q; "\(sv("method") | ascii_downcase) \(sv("status")) \(sv("path"))")"#,
    ),
    Case {
        mode: Mode::Jsonl,
        ..case(
            "drop, jsonl",
            r#"| json | __error__="" | event="request" | drop http_user_agent, request_id, api_key_hash_prefix"#,
            r#"select(sv("__error__") == "") | select(sv("event") == "request")
               | out_jsonl($q; .L | del(.http_user_agent, .request_id, .api_key_hash_prefix))"#,
        )
    },
    Case {
        mode: Mode::Jsonl,
        ..case(
            "keep, jsonl",
            r#"| json | __error__="" | status >= 400 | keep method, status, path"#,
            r#"select(sv("__error__") == "") | select(numf("status"; . >= 400))
               | out_jsonl($q; .L | with_entries(select(.key == "method" or .key == "status" or .key == "path")))"#,
        )
    },
    Case {
        decoy: true,
        ..case(
            "stream selector on filename",
            r#"{filename=~".+/corpus[^/]*"} |= "POST""#,
            r#"select(.t | contains("POST")) | out($q)"#,
        )
    },
    Case {
        flags: &["--since", "{since}", "--until", "{until}"],
        ..case(
            "--since/--until on event time",
            r#"| json | __error__="" | method="DELETE" or status=503"#,
            r#"select(sv("__error__") == "")
               | select(.ts >= $since and .ts < $until)
               | select(sv("method") == "DELETE" or numf("status"; . == 503)) | out($q)"#,
        )
    },
    Case {
        mode: Mode::Count,
        ..case(
            "--count",
            r#"| json | status >= 500"#,
            r#"select(numf("status"; . >= 500)) | out($q)"#,
        )
    },
    case(
        "format fields without a parser stage (malformed lines have none)",
        r#"| status >= 400"#,
        r#"select(.j != null and numf("status"; . >= 400)) | out($q)"#,
    ),
];

/// Queries for Fly forms only (stream labels from each line).
const FLY_CASES: &[Case] = &[
    case(
        "fly line labels in the selector",
        r#"{region=~"ams|sin"} | json | __error__="" | status >= 400 | line_format "{{.region}} {{.status}} {{.path}}""#,
        r#"select(.S.region == "ams" or .S.region == "sin")
           | select(sv("__error__") == "") | select(numf("status"; . >= 400))
           | out_text($q; "\(sv("region")) \(sv("status")) \(sv("path"))")"#,
    ),
    Case {
        mode: Mode::Jsonl,
        ..case(
            "fly labels in jsonl",
            r#"{app="api"} | json | __error__="" | event="db.error""#,
            r#"select(.S.app == "api") | select(sv("__error__") == "")
               | select(sv("event") == "db.error") | out_jsonl($q; .L)"#,
        )
    },
];

/// Queries for `flyctl logs` plain output.
const FLYCTL_CASES: &[Case] = &[
    case(
        "flyctl: json numeric filter",
        r#"| json | status >= 500"#,
        r#"select(numf("status"; . >= 500)) | out($q)"#,
    ),
    case(
        "flyctl: region selector and line_format",
        r#"{region=~"ams|sin"} | json | __error__="" | status >= 400 | line_format "{{.region}} {{.status}} {{.path}}""#,
        r#"select(.S.region == "ams" or .S.region == "sin")
           | select(sv("__error__") == "") | select(numf("status"; . >= 400))
           | out_text($q; "\(sv("region")) \(sv("status")) \(sv("path"))")"#,
    ),
    case(
        "flyctl: line filter on the app line",
        r#"|~ `^\{"timestamp"` |= "bad signature""#,
        r#"select(.t | test("^\\{\"timestamp\"")) | select(.t | contains("bad signature")) | out($q)"#,
    ),
];

/// Queries for nginx combined logs: fields come from the format.
const NGINX_CASES: &[Case] = &[
    case(
        "nginx: numeric filter on a format field",
        r#"| status >= 500"#,
        r#"select(numf("status"; . >= 500)) | out($q)"#,
    ),
    case(
        "nginx: URL-decoded query parameter",
        r#"| path="/v1/search" | q=~"caf.*""#,
        r#"select(sv("path") == "/v1/search") | select(re("q"; "caf.*")) | out($q)"#,
    ),
    case(
        "nginx: raw line filter",
        r#"|= "POST""#,
        r#"select(.t | contains("POST")) | out($q)"#,
    ),
    case(
        "nginx: or and line_format",
        r#"| method="DELETE" or status=404 | line_format "{{.remote_addr}} {{.method}} {{.status}}""#,
        r#"select(sv("method") == "DELETE" or numf("status"; . == 404))
           | out_text($q; "\(sv("remote_addr")) \(sv("method")) \(sv("status"))")"#,
    ),
    case(
        "nginx: missing parameter reads as empty",
        r#"| path="/v1/search" | q="""#,
        r#"select(sv("path") == "/v1/search") | select(sv("q") == "") | out($q)"#,
    ),
    case(
        "nginx: latency_ms from request_time, bytes",
        r#"| latency_ms > 99.5 and bytes < 1000"#,
        r#"select(numf("latency_ms"; . > 99.5) and numf("bytes"; . < 1000)) | out($q)"#,
    ),
    Case {
        mode: Mode::Jsonl,
        ..case(
            "nginx: keep, jsonl",
            r#"| path="/v1/search" | keep q, page, status"#,
            r#"select(sv("path") == "/v1/search")
               | out_jsonl($q; .L | with_entries(select(.key == "q" or .key == "page" or .key == "status")))"#,
        )
    },
    Case {
        mode: Mode::Count,
        ..case(
            "nginx: --count",
            r#"| user_agent=~"curl.*""#,
            r#"select(re("user_agent"; "curl.*")) | out($q)"#,
        )
    },
];

/// What a form's records look like to the oracle.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Form {
    Structlog,
    Fly,
    Flyctl,
    Nginx,
}

impl Form {
    fn corpus_format(self) -> &'static str {
        match self {
            Form::Structlog => "structlog",
            Form::Fly => "fly",
            Form::Flyctl => "flyctl",
            Form::Nginx => "nginx",
        }
    }

    /// jq that turns `base` into the record the queries see.
    fn record(self) -> &'static str {
        match self {
            Form::Structlog => "parse_json",
            Form::Fly => "fly_envelope | parse_json",
            Form::Flyctl => "flyctl_plain | parse_json",
            Form::Nginx => "nginx",
        }
    }
}

/// One selected line as the oracle describes it.
#[derive(Debug)]
struct Expect {
    n: usize,
    line: Option<String>,
    lossy: bool,
    labels: Option<serde_json::Map<String, Value>>,
    ts: Option<String>,
}

struct Fixture {
    _dir: tempfile::TempDir,
    /// The plain corpus the oracle reads.
    plain: PathBuf,
    /// The file nagare reads (the plain corpus or its gzip).
    input: PathBuf,
    decoy: PathBuf,
    /// Raw lines of the plain corpus, cut at nagare's default limit.
    raw: Vec<Vec<u8>>,
    since: String,
    until: String,
}

fn fixture(form: Form, gzip: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let plain = gen_corpus(dir.path(), form.corpus_format(), LINES, SEED, false);
    let input = if gzip {
        gen_corpus(dir.path(), form.corpus_format(), LINES, SEED, true)
    } else {
        plain.clone()
    };
    let data = std::fs::read(&plain).unwrap();
    let raw: Vec<Vec<u8>> = split_lines(&data)
        .into_iter()
        .map(|l| l[..l.len().min(MAX_LINE)].to_vec())
        .collect();
    assert!(raw.len() >= LINES / 2, "corpus too short: {}", raw.len());
    // The decoy: the corpus's first lines under another name.
    let decoy = dir.path().join("decoy.log");
    let head: Vec<u8> = raw[..300]
        .iter()
        .flat_map(|l| [&l[..], b"\n"].concat())
        .collect();
    std::fs::write(&decoy, head).unwrap();
    // --since/--until: the exact event times of two records the time-range
    // case selects (DELETE requests), so the inclusive and the exclusive
    // bound are both exercised (and, for Fly, the app record's own time is
    // told apart from the envelope's, a few ms later).
    let structlog = if form == Form::Structlog {
        data
    } else {
        let p = gen_corpus(dir.path(), "structlog", LINES, SEED, false);
        std::fs::read(p).unwrap()
    };
    let ts_of = |from: usize| -> String {
        split_lines(&structlog)[from..]
            .iter()
            .find_map(|l| {
                let s = std::str::from_utf8(l).ok()?;
                if !s.contains(r#""method":"DELETE""#) || !s.ends_with('}') {
                    return None;
                }
                let rest = s.strip_prefix("{\"timestamp\":\"")?;
                let end = rest.find('"')?;
                (end == 27).then(|| rest[..end].to_string())
            })
            .expect("a record with a timestamp")
    };
    let since = ts_of(LINES / 5);
    let until = ts_of(LINES * 7 / 10);
    Fixture {
        _dir: dir,
        plain,
        input,
        decoy,
        raw,
        since,
        until,
    }
}

/// Runs the oracle for all `cases` over the fixture's plain corpus.
fn oracle(fx: &Fixture, form: Form, cases: &[Case], filename: &Path) -> Vec<Vec<Expect>> {
    let dir = fx.plain.parent().unwrap();
    let input = dir.join(format!("jq-input-{}.txt", std::process::id()));
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        for l in &fx.raw {
            match std::str::from_utf8(l) {
                Ok(s) => {
                    w.write_all(b"V").unwrap();
                    w.write_all(s.as_bytes()).unwrap();
                }
                Err(_) => {
                    w.write_all(b"I").unwrap();
                    w.write_all(String::from_utf8_lossy(l).as_bytes()).unwrap();
                }
            }
            w.write_all(b"\n").unwrap();
        }
        w.flush().unwrap();
    }
    let mut prog = String::from(PRELUDE);
    prog.push_str(&format!(
        "\nforeach inputs as $raw (0; . + 1; base(.; $raw) | {} | (",
        form.record()
    ));
    for (i, c) in cases.iter().enumerate() {
        if i > 0 {
            prog.push_str(",\n");
        }
        prog.push_str(&format!("({i} as $q | {})", c.jq));
    }
    prog.push_str("))\n");
    let prog_path = dir.join("oracle.jq");
    std::fs::write(&prog_path, &prog).unwrap();
    let out = Command::new(jq())
        .args(["-nRc", "--arg", "filename"])
        .arg(filename)
        .args(["--arg", "since", &fx.since, "--arg", "until", &fx.until])
        .arg("-f")
        .arg(&prog_path)
        .arg(&input)
        .output()
        .expect("running jq");
    assert!(
        out.status.success(),
        "the jq oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut per_case: Vec<Vec<Expect>> = (0..cases.len()).map(|_| Vec::new()).collect();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let q = v["q"].as_u64().unwrap() as usize;
        per_case[q].push(Expect {
            n: v["n"].as_u64().unwrap() as usize,
            line: v["line"].as_str().map(str::to_string),
            lossy: v["lossy"].as_bool().unwrap_or(false),
            labels: v.get("labels").and_then(|l| l.as_object().cloned()),
            ts: v.get("ts").and_then(|t| t.as_str().map(str::to_string)),
        });
    }
    per_case
}

fn run_nagare(fx: &Fixture, c: &Case, extra: &[&str]) -> (Vec<String>, std::process::Output) {
    let mut args: Vec<String> = Vec::new();
    args.extend(extra.iter().map(|s| s.to_string()));
    for f in c.flags {
        args.push(match *f {
            "{since}" => fx.since.clone(),
            "{until}" => fx.until.clone(),
            f => f.to_string(),
        });
    }
    match c.mode {
        Mode::Raw => {}
        Mode::Jsonl => args.extend(["--output".to_string(), "jsonl".to_string()]),
        Mode::Count => args.push("--count".to_string()),
    }
    args.push(c.query.to_string());
    args.push(fx.input.display().to_string());
    if c.decoy {
        args.push(fx.decoy.display().to_string());
    }
    let out = filter(&args);
    (args, out)
}

/// Compares nagare's output with the oracle's for one case; returns a
/// description of every difference.
fn compare(fx: &Fixture, c: &Case, expected: &[Expect], out: &std::process::Output) -> Vec<String> {
    let mut problems = Vec::new();
    if out.status.code() != Some(0) {
        problems.push(format!(
            "exit status {:?} (expected 0); stderr: {}",
            out.status.code(),
            show(&out.stderr)
        ));
    }
    let actual = stdout_lines(out);
    match c.mode {
        Mode::Count => {
            let want = expected.len().to_string();
            let got: Vec<String> = actual
                .iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect();
            if got != [want.clone()] {
                problems.push(format!("--count printed {got:?}, oracle counts {want}"));
            }
        }
        Mode::Raw => {
            let matches = |e: &Expect, a: &[u8]| match &e.line {
                Some(s) if e.lossy => String::from_utf8_lossy(a) == *s,
                Some(s) => a == s.as_bytes(),
                None => a == &fx.raw[e.n - 1][..],
            };
            let want_bytes = |e: &Expect| -> Vec<u8> {
                match &e.line {
                    Some(s) => s.as_bytes().to_vec(),
                    None => fx.raw[e.n - 1].clone(),
                }
            };
            if actual.len() != expected.len() {
                problems.push(format!(
                    "{} lines printed, oracle selects {}",
                    actual.len(),
                    expected.len()
                ));
            }
            let first_diff = expected
                .iter()
                .zip(&actual)
                .position(|(e, a)| !matches(e, a));
            if let Some(i) = first_diff {
                problems.push(format!(
                    "first difference at output line {}: oracle (input line {}): {}\n      nagare: {}",
                    i + 1,
                    expected[i].n,
                    show(&want_bytes(&expected[i])),
                    show(&actual[i])
                ));
            }
            if !problems.is_empty() {
                // Which lines are missing and which are extra.
                let want: BTreeSet<Vec<u8>> = expected.iter().map(want_bytes).collect();
                let got: BTreeSet<Vec<u8>> = actual
                    .iter()
                    .map(|a| {
                        if expected.iter().any(|e| e.lossy) {
                            String::from_utf8_lossy(a).into_owned().into_bytes()
                        } else {
                            a.clone()
                        }
                    })
                    .collect();
                for e in expected
                    .iter()
                    .filter(|e| !got.contains(&want_bytes(e)))
                    .take(5)
                {
                    problems.push(format!(
                        "missing: input line {}: {}",
                        e.n,
                        show(&want_bytes(e))
                    ));
                }
                for a in actual.iter().filter(|a| !want.contains(*a)).take(5) {
                    let n = fx
                        .raw
                        .iter()
                        .position(|r| r == a)
                        .map_or("?".to_string(), |i| (i + 1).to_string());
                    problems.push(format!("extra: (input line {n}) {}", show(a)));
                }
            }
        }
        Mode::Jsonl => {
            if actual.len() != expected.len() {
                problems.push(format!(
                    "{} records printed, oracle selects {}",
                    actual.len(),
                    expected.len()
                ));
            }
            for (i, (e, a)) in expected.iter().zip(&actual).enumerate() {
                let v: Value = match serde_json::from_slice(a) {
                    Ok(v) => v,
                    Err(err) => {
                        problems.push(format!(
                            "output line {} is not JSON ({err}): {}",
                            i + 1,
                            show(a)
                        ));
                        break;
                    }
                };
                let want_line = match &e.line {
                    Some(s) => s.clone(),
                    None => String::from_utf8_lossy(&fx.raw[e.n - 1]).into_owned(),
                };
                let mut diffs = Vec::new();
                if v["line"].as_str() != Some(want_line.as_str()) {
                    diffs.push(format!(
                        "line: oracle {} / nagare {}",
                        show(want_line.as_bytes()),
                        show(v["line"].to_string().as_bytes())
                    ));
                }
                if v["timestamp"].as_str() != e.ts.as_deref() {
                    diffs.push(format!(
                        "timestamp: oracle {:?} / nagare {}",
                        e.ts, v["timestamp"]
                    ));
                }
                let empty = serde_json::Map::new();
                let got = v["labels"].as_object().unwrap_or(&empty);
                diffs.extend(label_diffs(e.labels.as_ref().unwrap_or(&empty), got));
                if !diffs.is_empty() {
                    problems.push(format!(
                        "output record {} (input line {}): {}",
                        i + 1,
                        e.n,
                        diffs.join("; ")
                    ));
                    if problems.len() > 6 {
                        break;
                    }
                }
            }
        }
    }
    problems
}

/// Label sets compared as Loki users see them: a label whose value is ""
/// is the same as no label; a value the oracle has as a JSON number is
/// compared as a number (jq prints `4.0` as `4`).
fn label_diffs(
    want: &serde_json::Map<String, Value>,
    got: &serde_json::Map<String, Value>,
) -> Vec<String> {
    let norm = |m: &serde_json::Map<String, Value>| -> BTreeMap<String, Value> {
        m.iter()
            .filter(|(_, v)| v.as_str() != Some(""))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let (want, got) = (norm(want), norm(got));
    let mut diffs = Vec::new();
    for k in want.keys().chain(got.keys()).collect::<BTreeSet<_>>() {
        match (want.get(k), got.get(k)) {
            (Some(w), Some(g)) => {
                let same = match (w, g) {
                    (Value::Number(n), Value::String(s)) => s.parse::<f64>().ok() == n.as_f64(),
                    (Value::Bool(b), Value::String(s)) => s == &b.to_string(),
                    (w, g) => w == g,
                };
                if !same {
                    diffs.push(format!("label {k}: oracle {w} / nagare {g}"));
                }
            }
            (Some(w), None) => diffs.push(format!("label {k}={w} missing")),
            (None, Some(g)) => diffs.push(format!("extra label {k}={g}")),
            (None, None) => {}
        }
    }
    diffs
}

/// Runs every case on one form and fails with a report of all differences.
fn check(form: Form, gzip: bool, cases: &[Case], extra: &[&str]) {
    let fx = fixture(form, gzip);
    let expected = oracle(&fx, form, cases, &fx.input);
    let mut report = Vec::new();
    for (c, exp) in cases.iter().zip(&expected) {
        let (args, out) = run_nagare(&fx, c, extra);
        let problems = compare(&fx, c, exp, &out);
        if !problems.is_empty() {
            report.push(format!(
                "[{form:?}{}] {} — nagare filter {}\n    {}",
                if gzip { " gzip" } else { "" },
                c.name,
                args.iter()
                    .map(|a| format!("'{a}'"))
                    .collect::<Vec<_>>()
                    .join(" "),
                problems.join("\n    ")
            ));
        }
    }
    // The oracle must select something for most cases, or the comparison
    // proves little.
    let empty: Vec<&str> = cases
        .iter()
        .zip(&expected)
        .filter(|(_, e)| e.is_empty())
        .map(|(c, _)| c.name)
        .collect();
    assert!(
        empty.len() <= cases.len() / 4,
        "the oracle selects nothing for too many cases: {empty:?}"
    );
    assert!(
        report.is_empty(),
        "nagare disagrees with the jq oracle in {} of {} cases:\n\n{}",
        report.len(),
        cases.len(),
        report.join("\n\n")
    );
}

#[test]
fn structlog() {
    check(Form::Structlog, false, JSON_CASES, &[]);
}

/// The cases re-run on gzip input: the decompression path must not change
/// any answer (every case runs on the plain forms).
const GZIP_SUBSET: &[&str] = &[
    "line filter |=",
    "json numeric filter",
    "json error lines",
    "and binds tighter than or",
    "line_format with a function",
    "keep, jsonl",
    "stream selector on filename",
    "--since/--until on event time",
    "fly line labels in the selector",
];

fn pick(cases: &[Case], names: &[&str]) -> Vec<Case> {
    let picked: Vec<Case> = cases
        .iter()
        .filter(|c| names.contains(&c.name))
        .copied()
        .collect();
    assert!(!picked.is_empty());
    picked
}

#[test]
fn structlog_gzip() {
    check(Form::Structlog, true, &pick(JSON_CASES, GZIP_SUBSET), &[]);
}

#[test]
fn fly_envelope() {
    let cases: Vec<Case> = JSON_CASES.iter().chain(FLY_CASES).copied().collect();
    check(Form::Fly, false, &cases, &[]);
}

#[test]
fn fly_envelope_gzip() {
    let cases: Vec<Case> = JSON_CASES.iter().chain(FLY_CASES).copied().collect();
    check(Form::Fly, true, &pick(&cases, GZIP_SUBSET), &[]);
}

#[test]
fn flyctl_plain() {
    check(Form::Flyctl, false, FLYCTL_CASES, &[]);
}

#[test]
fn nginx() {
    check(Form::Nginx, false, NGINX_CASES, &[]);
}

/// `--format NAME` given explicitly gives the same answers as detection.
#[test]
fn explicit_format_matches_auto() {
    check(
        Form::Structlog,
        false,
        &pick(
            JSON_CASES,
            &["json numeric filter", "line_format with a function"],
        ),
        &["--format", "json"],
    );
    check(
        Form::Fly,
        true,
        &pick(
            JSON_CASES,
            &["json numeric filter", "--since/--until on event time"],
        ),
        &["--format", "fly"],
    );
    check(
        Form::Flyctl,
        false,
        &pick(FLYCTL_CASES, &["flyctl: json numeric filter"]),
        &["--format", "fly"],
    );
    check(
        Form::Nginx,
        false,
        &pick(
            NGINX_CASES,
            &[
                "nginx: numeric filter on a format field",
                "nginx: URL-decoded query parameter",
            ],
        ),
        &["--format", "nginx"],
    );
}
