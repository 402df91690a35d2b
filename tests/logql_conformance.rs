//! LogQL grammar conformance: nagare's parser against Grafana Loki.
//!
//! `CASES` is a table of queries with Loki's answer (`loki_valid`). The
//! authority is Loki's own source (grafana/loki):
//!
//! * `pkg/logql/syntax/parser_test.go` — `TestParse` (cited as "PT"),
//!   `TestParseLogSelectorExpr_equalityMatcher` / `TestParseSampleExpr_equalityMatcher`
//!   (cited as "PT-eq") and `TestIsParseError`;
//! * `pkg/logql/syntax/expr.y` — the grammar (cited as "expr.y: <rule>");
//! * `pkg/logql/syntax/lex.go` — the lexer (case-insensitive keywords, `#`
//!   comments, durations via Prometheus `model.ParseDuration` for ranges,
//!   strings via `strutil.Unquote`);
//! * `pkg/logql/syntax/ast.go` — AST validation: `RangeAggregationExpr.validate`
//!   (which range aggregations need/forbid `unwrap`, which allow grouping),
//!   `mustNewVectorAggregationExpr` (k required, integer, > 0),
//!   `mustNewBinOpExpr` (log-query legs, literal legs of and/or/unless),
//!   `mustNewLabelReplaceExpr` (regex), `mustNewMatcher` (regex);
//! * `pkg/logql/syntax/parser.go` — `validateMatchers` (at least one
//!   non-empty-matching matcher) and `validateSortGrouping`;
//! * `pkg/logql/log/*` — the stages Loki builds before reading any data
//!   (`NewRegexpParser` "at least one named capture must be supplied",
//!   pattern parser, line/label templates, regex line filters). Such queries
//!   get HTTP 400 from Loki, so they count as invalid here even though
//!   `ParseExpr` alone accepts them; nagare rejects them when compiling the
//!   pipeline (`CompiledQuery::compile`), which this test also runs.
//!
//! "valid" therefore means: Loki accepts the query (parse, validation and
//! pipeline construction succeed).
//!
//! Cases marked `ext` are nagare extensions (the stream selector may be
//! omitted: `| json`, `|= "x"`); Loki rejects them, nagare accepts them by
//! design. They are checked to be accepted by nagare but are excluded from
//! the Loki agreement count.
//!
//! `lezer_logql_agrees_with_loki_or_is_listed` cross-checks the same table
//! against Grafana's grammar package `@grafana/lezer-logql` (see
//! `tests/lezer/`); every query where the package disagrees with Loki is
//! listed in `LEZER_KNOWN_DIFFERENCES` with the reason.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use assert_cmd::Command as AssertCommand;
use nagare::logql::ast::Expr;
use nagare::logql::pipeline::CompiledQuery;

struct Case {
    q: &'static str,
    loki_valid: bool,
    /// nagare-only extension: Loki rejects it, nagare accepts it by design.
    ext: bool,
    note: &'static str,
}

const fn v(q: &'static str, note: &'static str) -> Case {
    Case {
        q,
        loki_valid: true,
        ext: false,
        note,
    }
}

const fn i(q: &'static str, note: &'static str) -> Case {
    Case {
        q,
        loki_valid: false,
        ext: false,
        note,
    }
}

const fn x(q: &'static str, note: &'static str) -> Case {
    Case {
        q,
        loki_valid: false,
        ext: true,
        note,
    }
}

const CASES: &[Case] = &[
    // ----------------------------------------------------------------- selectors
    v(r#"{foo="bar"}"#, "PT"),
    v(r#"{ foo = "bar" }"#, "PT"),
    v(r#"{ namespace="buzz", foo != "bar" }"#, "PT"),
    v(r#"{ foo =~ "bar" }"#, "PT"),
    v(r#"{ namespace="buzz", foo !~ "bar" }"#, "PT"),
    v(r#"{app=~".+"}"#, "PT-eq: regex that cannot match empty"),
    v(r#"{foo=~"bar|baz"}"#, "PT-eq"),
    v(r#"{app="baz", foo!="bar"}"#, "PT-eq"),
    v(r#"{_foo="x", app="y"}"#, "lex.go: identifiers may start with _"),
    v(r#"{foo="a\"b"}"#, "lex.go: strutil.Unquote handles \\\" escapes"),
    v(r#"{foo=~`bar\w+`}"#, "PT: raw (backquoted) string"),
    v(r#"{app="foo"} # |= "bar" | json"#, "PT: # starts a comment"),
    v(r##"{app="#"}"##, "PT: # inside a string is not a comment"),
    i(r#"{foo!="bar"}"#, "PT-eq: only a negative matcher (validateMatchers)"),
    i(r#"{app=~".*"}"#, "PT-eq: regex matching the empty string"),
    i(r#"{foo!~"bar|baz"}"#, "PT-eq: only a negative regex"),
    i(r#"{}"#, "expr.y accepts `{}`, parser.go validateMatchers rejects it"),
    i(r#"{app=""}"#, "parser.go validateMatchers: app=\"\" matches the empty value"),
    i(r#"{foo="bar}"#, "PT: literal not terminated"),
    i(r#"{foo="bar""#, "PT: unexpected $end, expecting } or ,"),
    i(r#"{foo"#, "TestIsParseError"),
    i(r#"{foo=bar}"#, "expr.y matcher: value must be STRING"),
    i(r#"{foo=~"("}"#, "ast.go mustNewMatcher: regex does not compile"),
    i(r#"{foo="bar",}"#, "expr.y: matchers COMMA matcher; trailing comma is an error"),
    i(r#"{1foo="x"}"#, "lex.go: 1 lexes as NUMBER, expr.y matcher needs IDENTIFIER"),
    i(r#"{foo="\q"}"#, "lex.go: strutil.Unquote rejects the escape \\q"),
    i(r#"{foo="bar"} "foo""#, "PT: unexpected STRING"),
    i(r#"{foo="bar"} foo"#, "PT: unexpected IDENTIFIER"),
    i(r##"#{app="foo"} | json"##, "PT: whole query commented out"),
    i(r#"{a="b"} }"#, "trailing garbage: unexpected }"),
    i("", "empty query: syntax error, unexpected $end"),
    // -------------------------------------------------------------- line filters
    v(r#"{foo="bar"} |= "baz""#, "PT"),
    v(
        r#"{foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap""#,
        "PT: all four classic line filter ops",
    ),
    v(r#"{foo="bar"} |> "<_> error <_>""#, "expr.y filter: PIPE_PATTERN"),
    v(r#"{foo="bar"} !> "<_> debug <_>""#, "expr.y filter: NPA"),
    v(r#"{foo="bar"} |= "a" or "b""#, "expr.y lineFilter: filter STRING OR orFilter"),
    v(r#"{foo="bar"} |~ "a" or "b" or "c""#, "expr.y orFilter: STRING OR orFilter"),
    v(r#"{foo="bar"} |= ip("123.123.123.123")"#, "PT"),
    v(r#"{foo="bar"} != ip("123.123.123.123")|= "baz""#, "PT"),
    v(r#"{foo="bar"} |= "baz" |= ip("123.123.123.123")"#, "PT"),
    v(r#"{foo="bar"} |= ip("192.168.0.1-192.168.0.23")"#, "ip.go getMatcher: netipx range"),
    v(r#"{foo="bar"} != ip("2001:db8::/32")"#, "ip.go getMatcher: IPv6 prefix"),
    i(r#"{foo="bar"} |= ip("192.168.0.0/33")"#, "ip.go getMatcher: ErrIPFilterInvalidPattern when the pipeline is built"),
    i(r#"{foo="bar"} |= ip("foo")"#, "ip.go getMatcher: ErrIPFilterInvalidPattern"),
    i(r#"{foo="bar"} |~ ip("1.2.3.4")"#, "ip.go NewIPLineFilter: ErrIPFilterInvalidOperation for regex ops"),
    v(r##"{app="foo"} |= "#""##, "PT"),
    v(r#"{foo="bar"} |~ `\d+ms`"#, "raw string regex"),
    i(r#"{foo="bar"} |~"#, "PT: expecting STRING or ip"),
    i(r#"{foo="bar"} |="#, "expr.y lineFilter: filter needs STRING"),
    i(r#"{foo="bar"} |= baz"#, "expr.y lineFilter: unquoted value"),
    i(r#"{foo="bar"} |= 5"#, "expr.y lineFilter: NUMBER is not STRING"),
    i(r#"{foo="bar"} |= "a" or"#, "expr.y orFilter: `or` needs a STRING"),
    i(r#"{foo="bar"} |= "\q""#, "lex.go: strutil.Unquote rejects \\q"),
    i(
        r#"{foo="bar"} |~ "(""#,
        "log.NewFilter: regexp does not compile (rejected when Loki builds the pipeline)",
    ),
    // ------------------------------------------------------------------ parsers
    v(r#"{foo="bar"} | json"#, "expr.y labelParser: JSON"),
    v(r#"{app="foo"} | json bob="top.sub[\"index\"]""#, "PT"),
    v(r#"{app="foo"} | json bob="top.params[0]""#, "PT"),
    v(
        r#"{app="foo"} | json response_code="response.code", api_key="request.headers[\"X-API-KEY\"]""#,
        "PT",
    ),
    v(
        r#"{app="foo"} | json status, method"#,
        "expr.y labelExtractionExpression: bare IDENTIFIER",
    ),
    v(r#"{app="foo"} | logfmt"#, "expr.y logfmtParser"),
    v(r#"{app="foo"} | logfmt --strict"#, "expr.y logfmtParser parserFlags; lex.go parserFlags"),
    v(r#"{app="foo"} | logfmt --keep-empty --strict"#, "expr.y parserFlags PARSER_FLAG"),
    v(
        r#"{app="foo"} | logfmt --strict host, lvl="level""#,
        "expr.y logfmtExpressionParser: LOGFMT parserFlags labelExtractionExpressionList",
    ),
    v(
        r#"{app="foo"} | regexp "(?P<method>\\w+) (?P<path>\\S+)""#,
        "expr.y labelParser: REGEXP STRING",
    ),
    v(
        r#"{app="foo"} | pattern "<ip> - - <_> \"<method> <uri> <_>\" <status>""#,
        "expr.y labelParser: PATTERN STRING",
    ),
    v(r#"{app="foo"} | unpack"#, "expr.y labelParser: UNPACK"),
    v(r#"{app="foo"} | decolorize"#, "expr.y decolorizeExpr"),
    v(r#"{app="foo"} | json | logfmt | unpack"#, "expr.y pipelineExpr: any number of stages"),
    v(
        r#"{app="foo"} |= "bar" | unpack | json | latency >= 250ms or ( status_code < 500 and status_code > 200)"#,
        "PT",
    ),
    v(
        r#"{app="foo"} |= "bar" | pattern "<foo> bar <buzz>" | (duration > 1s or status!= 200) and method!="POST""#,
        "PT",
    ),
    i(r#"{app="foo"} | json bob="#, "expr.y labelExtractionExpression: IDENTIFIER EQ STRING"),
    i(r#"{app="foo"} | logfmt --foo"#, "lex.go tryScanFlag: only --strict and --keep-empty"),
    i(
        r#"{app="foo"} | regexp "(.*)""#,
        "log.NewRegexpParser: at least one named capture must be supplied",
    ),
    i(r#"{app="foo"} | regexp"#, "expr.y labelParser: REGEXP needs STRING"),
    i(r#"{app="foo"} | regexp "(?P<x>""#, "log.NewRegexpParser: regexp does not compile"),
    i(r#"{app="foo"} | pattern "<_>""#, "log/pattern: at least one named capture is required"),
    i(r#"{app="foo"} | pattern "<a><b>""#, "log/pattern: consecutive captures are not allowed"),
    i(r#"{app="foo"} | pattern"#, "expr.y labelParser: PATTERN needs STRING"),
    i(r#"{app="foo"} | json |"#, "expr.y: trailing pipe"),
    i(r#"{app="foo"} | xml"#, "expr.y: unknown parser is a bare IDENTIFIER"),
    // ------------------------------------------------------------ label filters
    v(r#"{app="foo"} | logfmt | level="error""#, "expr.y labelFilter: matcher EQ"),
    v(r#"{app="foo"} | logfmt | level!="debug""#, "expr.y labelFilter: matcher NEQ"),
    v(r#"{app="foo"} | logfmt | level=~"err.*""#, "expr.y labelFilter: matcher RE"),
    v(r#"{app="foo"} | logfmt | level!~"debug|info""#, "expr.y labelFilter: matcher NRE"),
    v(r#"{app="foo"} | logfmt | status >= 400"#, "expr.y numberFilter GTE"),
    v(r#"{app="foo"} | logfmt | status == 200"#, "expr.y numberFilter CMP_EQ"),
    v(r#"{app="foo"} | logfmt | status != 200"#, "expr.y numberFilter NEQ"),
    v(r#"{app="foo"} | logfmt | status < 300.5"#, "expr.y numberFilter LT with float"),
    v(r#"{app="foo"} | logfmt | duration > 1s"#, "expr.y durationFilter GT"),
    v(r#"{app="foo"} | logfmt | duration <= 1h30m"#, "expr.y durationFilter LTE"),
    v(
        r#"{app="foo"} |= "bar" | json |  status_code < 500 or status_code > 200 and size >= 2.5KiB "#,
        "PT: bytesFilter",
    ),
    v(r#"{app="foo"} | logfmt | size < 20MB"#, "expr.y bytesFilter LT"),
    v(
        r#"{app="foo"} |= "bar" | json | (duration > 1s or status!= 200) and method!="POST""#,
        "PT: parens, or, and",
    ),
    v(
        r#"{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)"#,
        "PT",
    ),
    v(
        r#"{app="foo"} |= "bar" | json | foo="bar" buzz!="blip", blop=~"boop" or fuzz==5"#,
        "PT: space, comma, or",
    ),
    v(r#"{ foo = "bar" }|logfmt|addr=ip("1.2.3.4")"#, "PT: ipLabelFilter"),
    v(r#"{ foo = "bar" }|logfmt|addr!=ip("1.2.3.4")"#, "PT: ipLabelFilter NEQ"),
    i(r#"{ foo = "bar" }|logfmt|addr=ip("10.0.0.300")"#, "ip.go IPLabelFilter.PatternError, returned by labelFilter.Stage"),
    v(r#"{ foo = "bar" }|logfmt|rate="a""#, "PT: `rate` usable as a label name"),
    v(r#"{ foo = "bar" }|logfmt|ip="2.3.4.5""#, "PT: `ip` usable as a label name"),
    v(r#"{app="foo"} | json | __error__="""#, "expr.y matcher on __error__"),
    v(r#"{app="foo"} | json | __error__!="JSONParserErr""#, "expr.y matcher on __error__"),
    i(r#"{ foo = "bar" }|logfmt|addr>=ip("1.2.3.4")"#, "PT: expecting BYTES or NUMBER or DURATION"),
    i(r#"{ foo = "bar" }|logfmt|addr<ip("1.2.3.4")"#, "PT"),
    i(r#"{app="foo"} | logfmt | status > "400""#, "expr.y: GT needs a number, duration or bytes"),
    i(r#"{app="foo"} | logfmt | status >"#, "expr.y numberFilter: missing value"),
    i(r#"{app="foo"} | logfmt | level="error" |"#, "expr.y: trailing pipe"),
    i(r#"{app="foo"} | logfmt | (level="error""#, "expr.y labelFilter: unbalanced ("),
    i(r#"{app="foo"} | logfmt | level=~"(""#, "ast.go mustNewMatcher: regex does not compile"),
    i(
        r#"{app="foo"} | logfmt | duration > 5minutes"#,
        "lex.go tryScanDuration: 5minutes is not a duration",
    ),
    // ---------------------------------------------------- line_format / label_format
    v(r#"{app="foo"} |= "bar" | line_format "blip{{ .foo }}blop""#, "PT"),
    v(
        r#"{app="foo"} |= "bar" | json | line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}""#,
        "PT",
    ),
    v(r#"{app="foo"} | logfmt | label_format dst=src"#, "expr.y labelFormat: IDENTIFIER EQ IDENTIFIER"),
    v(r#"{app="foo"} | logfmt | line_format `{{.level}}: {{.msg}}`"#, "expr.y lineFormatExpr with raw string"),
    i(r#"{app="foo"} | line_format "{{.foo""#, "log.NewFormatter: template does not parse"),
    i(r#"{app="foo"} | line_format"#, "expr.y lineFormatExpr: LINE_FMT STRING"),
    i(r#"{app="foo"} | line_format foo"#, "expr.y lineFormatExpr: value must be STRING"),
    i(r#"{app="foo"} | label_format foo="{{.bar""#, "log.NewLabelsFormatter: template does not parse"),
    i(r#"{app="foo"} | label_format foo"#, "expr.y labelFormat: needs = value"),
    i(r#"{app="foo"} | label_format foo=bar,"#, "expr.y labelsFormat COMMA error"),
    i(
        r#"{app="foo"} | label_format foo=bar,foo="x""#,
        "log.NewLabelsFormatter: multiple label name 'foo' not allowed in a single format operation",
    ),
    // -------------------------------------------------------------- drop / keep
    v(r#"{app="foo"} | json | drop level, method"#, "expr.y dropLabelsExpr"),
    v(r#"{app="foo"} | json | drop level="debug", __error__"#, "expr.y dropLabel: matcher"),
    v(r#"{app="foo"} | json | keep level, method"#, "expr.y keepLabelsExpr"),
    v(r#"{app="foo"} | json | keep level, status=~"5..""#, "expr.y keepLabel: matcher"),
    v(
        r#"{app="foo"} | json | line_format "{{.msg}}" | label_format lvl=level | drop foo | keep lvl, msg"#,
        "expr.y pipelineExpr: every stage kind chained",
    ),
    i(r#"{app="foo"} | json | drop"#, "expr.y dropLabels: at least one label"),
    i(r#"{app="foo"} | json | keep level,"#, "expr.y keepLabels: trailing comma"),
    // ------------------------------------------------------------------- unwrap
    v(
        r#"sum_over_time({namespace="tns"} |= "level=error" | json |foo>=5,bar<25ms| unwrap bytes(foo) [5m])"#,
        "PT: unwrap bytes()",
    ),
    v(
        r#"sum_over_time({namespace="tns"} |= "level=error" | json |foo>=5,bar<25ms| unwrap latency [5m])"#,
        "PT: plain unwrap",
    ),
    v(
        r#"avg_over_time({app="foo"} | logfmt | unwrap duration(latency) [5m]) by (host)"#,
        "PT-style: unwrap duration()",
    ),
    v(
        r#"avg_over_time({app="foo"} | logfmt | unwrap duration_seconds(latency) [5m])"#,
        "PT: unwrap duration_seconds()",
    ),
    v(
        r#"quantile_over_time(0.99998,{app="foo"} |= "bar" | json | unwrap foo | __error__ !~".+"[5m]) by (namespace,instance)"#,
        "PT: unwrap post filter",
    ),
    v(
        r#"sum_over_time({app="foo"} | unwrap foo | foo > 1 and foo < 10 [5m])"#,
        "expr.y unwrapExpr PIPE labelFilter",
    ),
    v(
        r#"sum_over_time({app="foo"}[5m] | unwrap foo)"#,
        "expr.y logRangeExpr: selector RANGE unwrapExpr",
    ),
    v(
        r#"max_over_time(({app="foo"} |= "bar" | json | unwrap foo )[5m])"#,
        "PT: parenthesised log range with unwrap",
    ),
    i(r#"sum_over_time({app="foo"} | unwrap [5m])"#, "expr.y unwrapExpr: needs IDENTIFIER"),
    i(r#"sum_over_time({app="foo"} | unwrap seconds(foo) [5m])"#, "expr.y convOp: only bytes/duration/duration_seconds"),
    i(r#"sum_over_time({app="foo"} | unwrap foo | json [5m])"#, "expr.y: only label filters after unwrap"),
    i(r#"{app="foo"} | json | unwrap foo"#, "expr.y: unwrap only inside a log range"),
    // ------------------------------------------------------- range aggregations
    v(r#"count_over_time({ foo = "bar" }[12m])"#, "PT"),
    v(r#"bytes_over_time({ foo = "bar" }[12m])"#, "PT"),
    v(r#"bytes_rate({ foo = "bar" }[12m])"#, "PT"),
    v(r#"rate({ foo = "bar" }[5h])"#, "PT"),
    v(r#"rate({ foo = "bar" }[5d])"#, "PT: d unit"),
    v(r#"count_over_time({ foo = "bar" }[1w])"#, "PT: w unit"),
    v(r#"absent_over_time({ foo = "bar" }[1w])"#, "PT"),
    v(r#"count_over_time({ foo = "bar" }[1h30m])"#, "lex.go: model.ParseDuration compound"),
    v(r#"count_over_time({foo=~`bar\w+`}[12h] |~ `error\\`)"#, "PT: raw strings"),
    v(r#"count_over_time({foo="bar"}[12h] |= "error")"#, "PT: range before filter"),
    v(r#"count_over_time({foo="bar"} |= "error" [12h])"#, "PT: range after filter"),
    v(
        r#"count_over_time(({foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap")[5m])"#,
        "PT: parenthesised log range",
    ),
    v(
        r#"bytes_over_time(({foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap" | unpack)[5m])"#,
        "PT",
    ),
    v(r#"rate(({a="b"})[5m])"#, "expr.y logRangeExpr: ( selector ) RANGE"),
    v(r#"rate({a="b"} | unwrap foo [5m])"#, "ast.go validate: rate allows unwrap"),
    v(r#"rate_counter({a="b"} | unwrap foo [5m])"#, "ast.go validate: rate_counter with unwrap"),
    v(r#"stddev_over_time({app="foo"} |= "bar" | unwrap bar [5m])"#, "PT"),
    v(r#"stdvar_over_time({app="foo"} | unwrap bar [5m])"#, "ast.go validate"),
    v(r#"min_over_time({app="foo"} | unwrap bar [5m])"#, "PT"),
    v(r#"min_over_time({app="foo"} | unwrap bar [5m]) by ()"#, "PT"),
    v(r#"max_over_time({app="foo"} | unwrap bar [5m]) without (foo,bar)"#, "PT"),
    v(r#"first_over_time({app="foo"} | unwrap bar [5m]) by (host)"#, "ast.go validate: grouping allowed"),
    v(r#"last_over_time({app="foo"} | unwrap bar [5m])"#, "ast.go validate"),
    v(r#"absent_over_time({app="foo"} | unwrap bar [5m])"#, "ast.go validate: absent allows unwrap"),
    v(
        r#"quantile_over_time(.99998,{app="foo"} | json | unwrap duration(foo) [5m]) by (namespace,instance)"#,
        "PT: quantile with .99998",
    ),
    i(r#"sum_over_time({app="foo"} |= "bar" | json [5m])"#, "PT: invalid aggregation sum_over_time without unwrap"),
    i(r#"avg_over_time({app="foo"}[5m])"#, "ast.go validate: without unwrap"),
    i(r#"last_over_time({app="foo"}[5m])"#, "ast.go validate: without unwrap"),
    i(r#"rate_counter({app="foo"}[5m])"#, "ast.go validate: rate_counter without unwrap"),
    i(r#"count_over_time({app="foo"} |= "foo" | json | unwrap foo [5m])"#, "PT: count_over_time with unwrap"),
    i(r#"bytes_over_time({app="foo"} | unwrap foo [5m])"#, "ast.go validate: with unwrap"),
    i(r#"bytes_rate({app="foo"} | unwrap foo [5m])"#, "ast.go validate: with unwrap"),
    i(r#"quantile_over_time({namespace="tns"} | json | unwrap latency [5m])"#, "PT: parameter required"),
    i(r#"quantile_over_time(foo,{namespace="tns"} | unwrap latency [5m])"#, "PT: unexpected IDENTIFIER"),
    i(r#"sum_over_time(50,{namespace="tns"} | json | unwrap latency [5m])"#, "PT: parameter 50 not supported"),
    i(
        r#"sum_over_time({namespace="tns"} | json |foo>=5,bar<25ms| unwrap latency [5m]) by (foo)"#,
        "PT: grouping not allowed for sum_over_time",
    ),
    i(r#"absent_over_time({ foo = "bar" }[5h]) by (foo)"#, "PT: grouping not allowed"),
    i(r#"count_over_time({ foo = "bar" }[5h]) by (foo)"#, "ast.go validate: grouping not allowed"),
    i(r#"rate({ foo = "bar" }[5minutes])"#, "PT: not a valid duration"),
    i(r#"rate({ foo = "bar" }[5)"#, "PT: missing closing ']'"),
    i(r#"rate({ foo = "bar" }[1.5m])"#, "lex.go: model.ParseDuration has no fractions"),
    i(r#"rate({ foo = "bar" }[])"#, "lex.go: empty duration string"),
    i(r#"rate({ foo = "bar" })"#, "expr.y logRangeExpr: RANGE required"),
    i(r#"rate({foo="bar"}[5m]"#, "unbalanced parenthesis"),
    i(r#"rate({a="b"} [5m] [5m])"#, "expr.y: one range only"),
    i(r#"count_over_time({app=~".*"}[5m])"#, "PT-eq: empty-compatible matcher in a metric query"),
    i(r#"count_over_time({foo!="bar"}[5m])"#, "PT-eq"),
    i(r#"unk({ foo = "bar" }[5m])"#, "PT: unknown function"),
    i(r#"min({ foo = "bar" }[5m])"#, "PT: unexpected RANGE"),
    i(r#"stddev({ foo = "bar" })"#, "PT"),
    // ----------------------------------------------------------------- offset
    v(r#"rate({ foo = "bar" }[5m] offset 1h)"#, "expr.y logRangeExpr: selector RANGE offsetExpr"),
    v(
        r#"count_over_time({app="foo"} | json [5m] offset 10m)"#,
        "expr.y: selector pipelineExpr RANGE offsetExpr",
    ),
    v(
        r#"sum_over_time({namespace="tns"} |= "level=error" | json |foo>=5,bar<25ms| unwrap bytes(foo) [5m] offset 5m)"#,
        "PT: offset after an unwrapped range",
    ),
    v(
        r#"max_over_time({app="foo"} | unwrap bar [5m] offset 5m) without (foo,bar)"#,
        "PT: offset after an unwrapped range",
    ),
    i(r#"rate({ foo = "bar" }[5m] offset)"#, "expr.y offsetExpr: OFFSET DURATION"),
    i(r#"rate({ foo = "bar" }[5m] offset 5)"#, "lex.go: 5 is a NUMBER, not a DURATION"),
    i(r#"count_over_time({a="b"}[5m]) offset 5m"#, "expr.y: offset only inside the range aggregation"),
    // ------------------------------------------------------ case-insensitivity
    v(r#"COUNT_OVER_TIME({foo="bar"}[5m])"#, "lex.go: tokens matched lower-cased"),
    v(r#"Sum By (app) (Rate({foo="bar"}[5m]))"#, "lex.go: tokens matched lower-cased"),
    v(r#"{foo="bar"} | JSON | Level="error""#, "lex.go: keywords lower-cased, identifiers kept"),
    // ------------------------------------------------------ vector aggregations
    v(r#"sum(rate({ foo = "bar" }[5h]))"#, "PT"),
    v(r#"sum(rate({ foo ="bar" }[1y]))"#, "PT: y unit"),
    v(r#"avg(count_over_time({ foo = "bar" }[5h])) by (bar,foo)"#, "PT: grouping after"),
    v(r#"avg(count_over_time({ foo = "bar" }[5h])) by ()"#, "PT: empty grouping"),
    v(r#"max without (bar) (count_over_time({ foo = "bar" }[5h]))"#, "PT: grouping before"),
    v(r#"max without () (count_over_time({ foo = "bar" }[5h]))"#, "PT"),
    v(r#"topk(10,count_over_time({ foo = "bar" }[5h])) without (bar)"#, "PT"),
    v(r#"bottomk(30 ,sum(rate({ foo = "bar" }[5h])) by (foo))"#, "PT"),
    v(
        r#"max( sum(count_over_time({ foo = "bar" }[5h])) without (foo,bar) ) by (foo)"#,
        "PT: nesting",
    ),
    v(r#"min by (app) (rate({foo="bar"}[5m]))"#, "expr.y vectorOp MIN"),
    v(r#"count(rate({foo="bar"}[5m]))"#, "expr.y vectorOp COUNT"),
    v(r#"stddev(rate({foo="bar"}[5m]))"#, "expr.y vectorOp STDDEV"),
    v(r#"stdvar by (app) (rate({foo="bar"}[5m]))"#, "expr.y vectorOp STDVAR"),
    v(r#"topk by (app) (3, rate({foo="bar"}[5m]))"#, "expr.y: vectorOp grouping ( NUMBER , metricExpr )"),
    v(r#"sort(rate({foo="bar"}[5m]))"#, "expr.y vectorOp SORT"),
    v(r#"sort_desc(sum by (app) (rate({foo="bar"}[5m])))"#, "expr.y vectorOp SORT_DESC"),
    v(
        r#"topk(5,sum(rate({foo="bar"}[5m] |= "baz" |~ "blip" != "flip" !~ "flap")) by (app))"#,
        "PT",
    ),
    i(r#"sum(3 ,count_over_time({ foo = "bar" }[5h]))"#, "PT: unsupported parameter"),
    i(r#"topk(count_over_time({ foo = "bar" }[5h]))"#, "PT: parameter required for topk"),
    i(r#"bottomk(he,count_over_time({ foo = "bar" }[5h]))"#, "PT: unexpected IDENTIFIER"),
    i(r#"bottomk(1.2,count_over_time({ foo = "bar" }[5h]))"#, "PT: invalid parameter"),
    i(r#"topk(0, rate({foo="bar"}[5m]))"#, "ast.go mustNewVectorAggregationExpr: must be greater than 0"),
    i(r#"sort by (app) (rate({foo="bar"}[5m]))"#, "parser.go validateSortGrouping"),
    i(
        r#"sum by (a) (rate({foo="bar"}[5m])) without (b)"#,
        "expr.y vectorAggregationExpr: one grouping only",
    ),
    i(r#"sum by (app (rate({foo="bar"}[5m]))"#, "unbalanced parenthesis in grouping"),
    i(r#"sum by app (rate({foo="bar"}[5m]))"#, "expr.y grouping: BY ( labels )"),
    i(r#"sum()"#, "expr.y: vector aggregation needs a metric expression"),
    i(r#"sum({foo="bar"})"#, "expr.y: log query is not a metricExpr"),
    i(r#"sum(rate({a="b"}[5m])))"#, "trailing )"),
    // ------------------------------------------------------- binary operations
    v(
        r#"sum(count_over_time({foo="bar"}[5m])) by (foo) / sum(count_over_time({foo="bar"}[5m])) by (foo) / sum(count_over_time({foo="bar"}[5m])) by (foo)"#,
        "PT: left associativity",
    ),
    v(
        r#"sum(count_over_time({foo="bar"}[5m])) by (foo) ^ sum(count_over_time({foo="bar"}[5m])) by (foo) / sum(count_over_time({foo="bar"}[5m])) by (foo)"#,
        "PT: pow precedence",
    ),
    v(
        r#"sum(count_over_time({foo="bar"}[5m])) by (foo) + sum(count_over_time({foo="bar"}[5m])) by (foo) / sum(count_over_time({foo="bar"}[5m])) by (foo)"#,
        "PT: precedence before associativity",
    ),
    v(
        r#"sum by (job) (count_over_time({namespace="tns"} |= "level=error"[5m]) / count_over_time({namespace="tns"}[5m])) * 100"#,
        "PT",
    ),
    v(r#"sum(count_over_time({foo="bar"}[5m])) by (foo) + 1 / 2"#, "PT"),
    v(r#"1 + -2 / 1"#, "PT: signs"),
    v(r#"1 + 1 - -1"#, "PT"),
    v(r#"1 + 1 + 1"#, "PT"),
    v(r#"1 >= 1 > 1"#, "PT"),
    v(r#"1 > 1 > bool 1"#, "PT: bool"),
    v(r#"1 + 2 * 3 ^ 2 % 5"#, "expr.y precedence"),
    v(r#"count_over_time({ foo = "bar" }[12m]) > count_over_time({ foo = "bar" }[12m])"#, "PT"),
    v(r#"count_over_time({ foo = "bar" }[12m]) > 1"#, "PT"),
    v(
        r#"count_over_time({ foo = "bar" }[12m]) or count_over_time({ foo = "bar" }[12m]) > 1"#,
        "PT: or",
    ),
    v(r#"rate({a="b"}[5m]) and rate({c="d"}[5m])"#, "expr.y binOpExpr AND"),
    v(r#"rate({a="b"}[5m]) unless on (app) rate({c="d"}[5m])"#, "expr.y UNLESS with on()"),
    v(r#"rate({a="b"}[5m]) == bool 1"#, "expr.y boolModifier"),
    v(r#"rate({a="b"}[5m]) != 0"#, "expr.y NEQ"),
    v(r#"rate({a="b"}[5m]) <= 2 and rate({a="b"}[5m]) >= 1"#, "expr.y: and below comparisons"),
    v(
        r#"sum by (app,machine) (count_over_time({app="foo"}[1m])) > bool on () group_right (app) sum by (app) (count_over_time({app="foo"}[1m]))"#,
        "PT: on () group_right (app)",
    ),
    v(
        r#"sum by (app,machine) (count_over_time({app="foo"}[1m])) > bool on () group_right sum by (app) (count_over_time({app="foo"}[1m]))"#,
        "PT: group_right without labels",
    ),
    v(
        r#"sum by (a,b) (rate({app="foo"}[1m])) + ignoring (b) group_left (c) sum by (a) (rate({app="foo"}[1m]))"#,
        "PT: ignoring + group_left (labels)",
    ),
    v(
        r#"sum by (a) (rate({app="foo"}[1m])) * on (a) group_left sum by (a) (rate({app="foo"}[1m]))"#,
        "expr.y binOpModifier: on (..) group_left",
    ),
    v(r#"rate({a="b"}[5m]) * -1"#, "expr.y literalExpr: SUB NUMBER"),
    v(r#"rate({a="b"}[5m]) or vector(0)"#, "expr.y vectorExpr as set-op leg"),
    v(r#"(rate({a="b"}[5m]))"#, "expr.y metricExpr: parens"),
    v(r#"((1))"#, "expr.y: parenthesised literal"),
    i(r#"bool 1 > 1 > bool 1"#, "PT: cannot lead with bool"),
    i(r#"{foo="bar"} + {foo="bar"}"#, "PT: log query as binop leg"),
    i(r#"sum(count_over_time({foo="bar"}[5m])) by (foo) - {foo="bar"}"#, "PT"),
    i(r#"count_over_time({ foo = "bar" }[12m]) > { foo = "bar" }"#, "PT"),
    i(r#"sum(count_over_time({foo="bar"}[5m])) by (foo) or 1"#, "PT: literal leg of or"),
    i(r#"1 unless sum(count_over_time({foo="bar"}[5m])) by (foo)"#, "PT: literal leg of unless"),
    i(r#"sum(count_over_time({foo="bar"}[5m])) by (foo) + 1 or 1"#, "PT"),
    i(r#"rate({a="b"}[5m]) +"#, "expr.y: missing right operand"),
    i(r#"rate({a="b"}[5m]) group_left rate({a="b"}[5m])"#, "expr.y: group_left needs on/ignoring"),
    i(r#"rate({a="b"}[5m]) * on rate({a="b"}[5m])"#, "expr.y onOrIgnoringModifier: ON ( labels )"),
    i(r#"rate({a="b"}[5m]) foo"#, "trailing garbage"),
    // ------------------------------------------------- literals, vector(), label_replace
    v(r#"-1"#, "expr.y literalExpr"),
    v(r#"+1"#, "expr.y literalExpr: ADD NUMBER"),
    v(r#"1.5e3"#, "lex.go: scanner.Float"),
    v(r#"vector(1)"#, "expr.y vectorExpr"),
    v(r#"vector(1) + rate({a="b"}[5m])"#, "expr.y vectorExpr in a binop"),
    i(r#"vector("a")"#, "expr.y vectorExpr: NUMBER"),
    i(r#"vector()"#, "expr.y vectorExpr: NUMBER"),
    v(
        r#"label_replace(rate({ foo = "bar" }[5m]),"foo","$1","bar","(.*)")"#,
        "expr.y labelReplaceExpr",
    ),
    v(
        r#"avg(label_replace(count_over_time({ foo = "bar" }[5h]),"bar","$1$2","foo","(.*).(.*)")) by (bar,foo)"#,
        "PT",
    ),
    i(r#"label_replace(rate({ foo = "bar" }[5m]),"")"#, "PT: expecting ,"),
    i(
        r#"label_replace(rate({ foo = "bar" }[5m]),"foo","$1","bar","^^^^x43\\q")"#,
        "PT: invalid regex in label_replace",
    ),
    i(r#"label_replace(rate({a="b"}[5m]), "dst", "$1", "src")"#, "expr.y labelReplaceExpr: 4 strings"),
    i(r#"label_replace({a="b"}, "dst", "$1", "src", "(.*)")"#, "expr.y: log query is not a metricExpr"),
    // ------------------------------------------------------- nesting, log parens
    v(r#"({a="b"} |= "x")"#, "expr.y logExpr: ( logExpr )"),
    v(
        r#"sum without (foo) (quantile_over_time(0.99998,{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200) | line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m]) by (namespace,instance))"#,
        "PT: deep nesting",
    ),
    v(
        r#"topk(10, quantile_over_time(0.99998,{app="foo"} | json | unwrap foo [5m]) by (namespace,instance))"#,
        "PT",
    ),
    // -------------------------------------------------- nagare extensions
    x(r#"| json"#, "nagare extension: selector omitted (log query)"),
    x(r#"|= "error""#, "nagare extension: selector omitted, line filter first"),
    x(r#"| logfmt | level="error" | line_format "{{.msg}}""#, "nagare extension: selector omitted"),
    x(r#"count_over_time(|= "error" [5m])"#, "nagare extension: selector omitted in a log range"),
    x(
        r#"sum by (level) (count_over_time(| logfmt [1m]))"#,
        "nagare extension: selector omitted in a log range",
    ),
];

/// Queries where `@grafana/lezer-logql` (pinned in tests/lezer/package.json)
/// disagrees with Loki. The grammar package only checks syntax, so it
/// accepts everything Loki rejects during validation or pipeline
/// construction (matchers, regexes, templates, patterns, unwrap and grouping
/// rules, aggregation parameters, binop leg types); it lexes strings without
/// Go's escape rules. It is stricter in a few places: function names are
/// case-sensitive, label filters cannot be joined by a space, and some
/// log ranges with pipeline stages before `unwrap` are rejected (with
/// `offset`, or inside parentheses).
const LEZER_KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        r#"{foo="bar"} |= ip("192.168.0.0/33")"#,
        "lezer lenient: ip() patterns are checked when Loki builds the filter (ip.go getMatcher)",
    ),
    (
        r#"{foo="bar"} |= ip("foo")"#,
        "lezer lenient: ip() patterns are checked when Loki builds the filter (ip.go getMatcher)",
    ),
    (
        r#"{foo="bar"} |~ ip("1.2.3.4")"#,
        "lezer lenient: the operator of an ip() line filter is checked by ip.go NewIPLineFilter",
    ),
    (
        r#"{ foo = "bar" }|logfmt|addr=ip("10.0.0.300")"#,
        "lezer lenient: ip() label filter patterns are checked by Loki's labelFilter.Stage",
    ),
    (
        r#"{foo!="bar"}"#,
        "lezer lenient: no matcher validation (Loki parser.go validateMatchers)",
    ),
    (
        r#"{app=~".*"}"#,
        "lezer lenient: no matcher validation (Loki parser.go validateMatchers)",
    ),
    (
        r#"{foo!~"bar|baz"}"#,
        "lezer lenient: no matcher validation (Loki parser.go validateMatchers)",
    ),
    (
        r#"{app=""}"#,
        "lezer lenient: no matcher validation (Loki parser.go validateMatchers)",
    ),
    (
        r#"{foo=~"("}"#,
        "lezer lenient: regexes are not compiled (ast.go mustNewMatcher: regex does not compile)",
    ),
    (
        r#"{foo="\q"}"#,
        "lezer lenient: string escapes are not checked (Loki: strutil.Unquote rejects \\q)",
    ),
    (
        r#"{foo="bar"} |= "\q""#,
        "lezer lenient: string escapes are not checked (Loki: strutil.Unquote rejects \\q)",
    ),
    (
        r#"{foo="bar"} |~ "(""#,
        "lezer lenient: regexes are not compiled (log.NewFilter: regexp does not compile (rejected when Loki builds the pipeline))",
    ),
    (
        r#"{app="foo"} | regexp "(.*)""#,
        "lezer lenient: regexes are not compiled (log.NewRegexpParser: at least one named capture must be supplied)",
    ),
    (
        r#"{app="foo"} | regexp "(?P<x>""#,
        "lezer lenient: regexes are not compiled (log.NewRegexpParser: regexp does not compile)",
    ),
    (
        r#"{app="foo"} | pattern "<_>""#,
        "lezer lenient: pattern expressions are not checked (log/pattern: at least one named capture is required)",
    ),
    (
        r#"{app="foo"} | pattern "<a><b>""#,
        "lezer lenient: pattern expressions are not checked (log/pattern: consecutive captures are not allowed)",
    ),
    (
        r#"{app="foo"} |= "bar" | json | foo="bar" buzz!="blip", blop=~"boop" or fuzz==5"#,
        "lezer stricter: no implicit `and` between space-separated label filters (expr.y labelFilter labelFilter)",
    ),
    (
        r#"{app="foo"} | logfmt | level=~"(""#,
        "lezer lenient: regexes are not compiled (ast.go mustNewMatcher: regex does not compile)",
    ),
    (
        r#"{app="foo"} | line_format "{{.foo""#,
        "lezer lenient: templates/label_format are not checked (log.NewFormatter: template does not parse)",
    ),
    (
        r#"{app="foo"} | label_format foo="{{.bar""#,
        "lezer lenient: templates/label_format are not checked (log.NewLabelsFormatter: template does not parse)",
    ),
    (
        r#"{app="foo"} | label_format foo=bar,foo="x""#,
        "lezer lenient: templates/label_format are not checked (log.NewLabelsFormatter: multiple label name 'foo' not allowed in a single format operation)",
    ),
    (
        r#"max_over_time(({app="foo"} |= "bar" | json | unwrap foo )[5m])"#,
        "lezer stricter: rejects `( selector pipeline | unwrap … )[range]` (expr.y logRangeExpr allows it)",
    ),
    (
        r#"sum_over_time({app="foo"} |= "bar" | json [5m])"#,
        "lezer lenient: no range-aggregation validation (PT: invalid aggregation sum_over_time without unwrap)",
    ),
    (
        r#"avg_over_time({app="foo"}[5m])"#,
        "lezer lenient: no range-aggregation validation (ast.go validate: without unwrap)",
    ),
    (
        r#"last_over_time({app="foo"}[5m])"#,
        "lezer lenient: no range-aggregation validation (ast.go validate: without unwrap)",
    ),
    (
        r#"rate_counter({app="foo"}[5m])"#,
        "lezer lenient: no range-aggregation validation (ast.go validate: rate_counter without unwrap)",
    ),
    (
        r#"count_over_time({app="foo"} |= "foo" | json | unwrap foo [5m])"#,
        "lezer lenient: no range-aggregation validation (PT: count_over_time with unwrap)",
    ),
    (
        r#"bytes_over_time({app="foo"} | unwrap foo [5m])"#,
        "lezer lenient: no range-aggregation validation (ast.go validate: with unwrap)",
    ),
    (
        r#"bytes_rate({app="foo"} | unwrap foo [5m])"#,
        "lezer lenient: no range-aggregation validation (ast.go validate: with unwrap)",
    ),
    (
        r#"quantile_over_time({namespace="tns"} | json | unwrap latency [5m])"#,
        "lezer lenient: parameters of aggregations are not validated (PT: parameter required)",
    ),
    (
        r#"sum_over_time(50,{namespace="tns"} | json | unwrap latency [5m])"#,
        "lezer lenient: parameters of aggregations are not validated (PT: parameter 50 not supported)",
    ),
    (
        r#"sum_over_time({namespace="tns"} | json |foo>=5,bar<25ms| unwrap latency [5m]) by (foo)"#,
        "lezer lenient: no range-aggregation grouping validation (PT: grouping not allowed for sum_over_time)",
    ),
    (
        r#"absent_over_time({ foo = "bar" }[5h]) by (foo)"#,
        "lezer lenient: no range-aggregation grouping validation (PT: grouping not allowed)",
    ),
    (
        r#"count_over_time({ foo = "bar" }[5h]) by (foo)"#,
        "lezer lenient: no range-aggregation grouping validation (ast.go validate: grouping not allowed)",
    ),
    (
        r#"rate({ foo = "bar" }[1.5m])"#,
        "lezer lenient: range durations are not validated (model.ParseDuration has no fractions)",
    ),
    (
        r#"count_over_time({app=~".*"}[5m])"#,
        "lezer lenient: no matcher validation (Loki parser.go validateMatchers)",
    ),
    (
        r#"count_over_time({foo!="bar"}[5m])"#,
        "lezer lenient: no matcher validation (Loki parser.go validateMatchers)",
    ),
    (
        r#"sum_over_time({namespace="tns"} |= "level=error" | json |foo>=5,bar<25ms| unwrap bytes(foo) [5m] offset 5m)"#,
        "lezer stricter: rejects `offset` after a range whose unwrap follows pipeline stages (expr.y: selector pipelineExpr unwrapExpr RANGE offsetExpr)",
    ),
    (
        r#"COUNT_OVER_TIME({foo="bar"}[5m])"#,
        "lezer stricter: function names are case-sensitive (Loki's lex.go lower-cases tokens)",
    ),
    (
        r#"Sum By (app) (Rate({foo="bar"}[5m]))"#,
        "lezer stricter: function names are case-sensitive (Loki's lex.go lower-cases tokens)",
    ),
    (
        r#"sum(3 ,count_over_time({ foo = "bar" }[5h]))"#,
        "lezer lenient: parameters of aggregations are not validated (PT: unsupported parameter)",
    ),
    (
        r#"topk(count_over_time({ foo = "bar" }[5h]))"#,
        "lezer lenient: parameters of aggregations are not validated (PT: parameter required for topk)",
    ),
    (
        r#"bottomk(1.2,count_over_time({ foo = "bar" }[5h]))"#,
        "lezer lenient: parameters of aggregations are not validated (PT: invalid parameter)",
    ),
    (
        r#"topk(0, rate({foo="bar"}[5m]))"#,
        "lezer lenient: parameters of aggregations are not validated (ast.go mustNewVectorAggregationExpr: must be greater than 0)",
    ),
    (
        r#"sort by (app) (rate({foo="bar"}[5m]))"#,
        "lezer lenient: no sort grouping validation (parser.go validateSortGrouping)",
    ),
    (
        r#"{foo="bar"} + {foo="bar"}"#,
        "lezer lenient: binop legs are not type-checked (ast.go mustNewBinOpExpr)",
    ),
    (
        r#"sum(count_over_time({foo="bar"}[5m])) by (foo) - {foo="bar"}"#,
        "lezer lenient: binop legs are not type-checked (ast.go mustNewBinOpExpr)",
    ),
    (
        r#"count_over_time({ foo = "bar" }[12m]) > { foo = "bar" }"#,
        "lezer lenient: PT",
    ),
    (
        r#"sum(count_over_time({foo="bar"}[5m])) by (foo) or 1"#,
        "lezer lenient: binop legs are not type-checked (ast.go mustNewBinOpExpr)",
    ),
    (
        r#"1 unless sum(count_over_time({foo="bar"}[5m])) by (foo)"#,
        "lezer lenient: binop legs are not type-checked (ast.go mustNewBinOpExpr)",
    ),
    (
        r#"sum(count_over_time({foo="bar"}[5m])) by (foo) + 1 or 1"#,
        "lezer lenient: binop legs are not type-checked (ast.go mustNewBinOpExpr)",
    ),
    (
        r#"label_replace(rate({ foo = "bar" }[5m]),"foo","$1","bar","^^^^x43\\q")"#,
        "lezer lenient: regexes are not compiled (PT: invalid regex in label_replace)",
    ),
];

/// nagare's answer: parse, then, for log queries, compile the pipeline
/// (some checks, like bad regexes and templates, happen at compile time).
fn nagare_accepts(q: &str) -> Result<(), String> {
    let expr = nagare::logql::parse(q).map_err(|e| {
        let col = e.column();
        let len = q.chars().count();
        assert!(
            (1..=len + 1).contains(&col),
            "error column {col} outside 1..={} for {q:?}: {e}",
            len + 1
        );
        e.to_string()
    })?;
    // As `nagare explain` does: log queries are compiled too, so regexes,
    // templates and parser patterns are checked.
    if let Expr::Log(log) = &expr {
        compile(q, log)?;
    }
    Ok(())
}

fn compile(q: &str, log: &nagare::logql::ast::LogExpr) -> Result<(), String> {
    CompiledQuery::compile(log, Default::default())
        .map(|_| ())
        .map_err(|e| {
            let e = e.into_query_error(q);
            let col = e.column();
            let len = q.chars().count();
            assert!(
                (1..=len + 1).contains(&col),
                "compile error column {col} outside 1..={} for {q:?}: {e}",
                len + 1
            );
            format!("compile: {e}")
        })
}

#[test]
fn table_is_large_and_unique() {
    let mut seen = std::collections::HashSet::new();
    for c in CASES {
        assert!(seen.insert(c.q), "duplicate case {:?}", c.q);
        assert!(!c.note.is_empty(), "case {:?} has no source note", c.q);
    }
    let valid = CASES.iter().filter(|c| !c.ext && c.loki_valid).count();
    let invalid = CASES.iter().filter(|c| !c.ext && !c.loki_valid).count();
    let ext = CASES.iter().filter(|c| c.ext).count();
    eprintln!("conformance table: {valid} valid, {invalid} invalid, {ext} nagare extensions");
    assert!(valid + invalid >= 170, "need at least 170 Loki cases");
    assert!(valid >= 60 && invalid >= 60, "need plenty of both");
}

#[test]
fn nagare_agrees_with_loki() {
    let mut total = 0usize;
    let mut agree = 0usize;
    let mut report = String::new();
    for c in CASES {
        let got = nagare_accepts(c.q);
        if c.ext {
            assert!(
                got.is_ok(),
                "nagare extension case rejected: {:?}: {}",
                c.q,
                got.unwrap_err()
            );
            continue;
        }
        total += 1;
        if got.is_ok() == c.loki_valid {
            agree += 1;
        } else {
            report.push_str(&format!(
                "DISAGREE: {:?}\n  Loki: {} ({})\n  nagare: {}\n",
                c.q,
                if c.loki_valid { "valid" } else { "invalid" },
                c.note,
                match &got {
                    Ok(()) => "valid".to_string(),
                    Err(e) => format!("invalid: {e}"),
                }
            ));
        }
    }
    let pct = 100.0 * agree as f64 / total as f64;
    eprint!("{report}");
    eprintln!("nagare agrees with Loki on {agree}/{total} queries ({pct:.1} %)");
    assert!(pct >= 97.0, "agreement {pct:.1} % < 97 %");
}

#[test]
fn explain_binary_exit_codes() {
    let valid = [
        r#"{app="foo"} | json | level="error""#,
        r#"sum by (app) (rate({app="foo"}[5m]))"#,
        r#"quantile_over_time(0.99, {app="foo"} | logfmt | unwrap duration(latency) [5m]) by (host)"#,
        r#"| json"#,
    ];
    for q in valid {
        AssertCommand::cargo_bin("nagare")
            .unwrap()
            .args(["explain", q])
            .assert()
            .code(0);
    }
    let invalid = [
        r#"{app="foo""#,
        r#"sum_over_time({app="foo"}[5m])"#,
        r#"topk(rate({app="foo"}[5m]))"#,
        r#"{app="foo"} | json |"#,
        r#"{app="foo"} | regexp "(.*)""#,
    ];
    for q in invalid {
        let out = AssertCommand::cargo_bin("nagare")
            .unwrap()
            .args(["explain", q])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "exit code for {q:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("col "), "no column for {q:?}: {stderr}");
    }
}

#[test]
fn lezer_logql_agrees_with_loki_or_is_listed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lezer");
    if !dir.join("node_modules/@grafana/lezer-logql").exists() {
        eprintln!(
            "lezer-logql check skipped: {} is missing (run `cd tests/lezer && npm install --no-audit --no-fund`)",
            dir.join("node_modules/@grafana/lezer-logql").display()
        );
        return;
    }
    let mut child = match Command::new("node")
        .arg("check.mjs")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lezer-logql check skipped: cannot run `node` ({e})");
            return;
        }
    };
    let queries: Vec<&str> = CASES.iter().map(|c| c.q).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&queries).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "node check.mjs failed");
    let got: Vec<bool> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got.len(), CASES.len());

    let mut unlisted = Vec::new();
    let mut listed_seen = std::collections::HashSet::new();
    for (c, lezer_ok) in CASES.iter().zip(got) {
        if lezer_ok == c.loki_valid {
            continue;
        }
        match LEZER_KNOWN_DIFFERENCES.iter().find(|(q, _)| *q == c.q) {
            Some((q, _)) => {
                listed_seen.insert(*q);
            }
            None => unlisted.push(format!(
                "    ({:?}, \"lezer {} / Loki {}: {}\"),",
                c.q,
                if lezer_ok { "accepts" } else { "rejects" },
                if c.loki_valid { "accepts" } else { "rejects" },
                c.note
            )),
        }
    }
    let stale: Vec<&str> = LEZER_KNOWN_DIFFERENCES
        .iter()
        .map(|(q, _)| *q)
        .filter(|q| !listed_seen.contains(q))
        .collect();
    assert!(
        unlisted.is_empty(),
        "lezer-logql disagrees with Loki on unlisted queries:\n{}",
        unlisted.join("\n")
    );
    assert!(
        stale.is_empty(),
        "LEZER_KNOWN_DIFFERENCES lists queries where lezer now agrees with Loki: {stale:?}"
    );
}
